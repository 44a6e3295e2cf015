/* mem.h -- memory hints for bulk work in one process.
 *
 * An import of 100,000 rows allocates about 120 MB in small pieces (parsed
 * records, their strings, LMDB's dirty pages). Each first touch of a 4 KiB
 * page is a page fault, and on a virtual machine a fault is dear: perf put
 * a third of a 100,000-row CSV import in the kernel's fault path. Where the
 * kernel offers transparent huge pages on request (the usual "madvise"
 * setting), one fault maps 2 MiB instead.
 *
 * These are hints: nothing depends on them for correctness, and they do
 * nothing where the C library or kernel offers no such control (another
 * malloc, a sanitizer build, THP "never").
 */
#ifndef SCSMS_MEM_H
#define SCSMS_MEM_H

#include <stddef.h>

/* About `expect` bytes (at most a quarter of the machine's memory) are
 * about to be allocated in small pieces: grow the heap by that much at
 * once and ask for huge pages on it. For a process that does one bulk job
 * and exits (scsms-agent import): the settings stay. Freed memory stays in
 * the process (up to twice `expect` bytes, so that the grown heap's own
 * free top is never trimmed at the first free()) rather than going back to
 * the kernel a page run at a time: a trim and a regrowth fault the same pages in again,
 * and freeing LMDB's 14,000 dirty pages after a large import spent a tenth
 * of the import in brk() trimming. With glibc, setting these thresholds
 * also ends its own adjustment of the mmap threshold, and a top pad the
 * environment set is replaced by the default afterwards. Does nothing
 * below MEM_BULK_MIN. */
#define MEM_BULK_MIN ((size_t)8 << 20)
void mem_bulk_begin(size_t expect);

/* The same for about `expect` bytes allocated on a thread of its own: the
 * C library gives a second thread an arena of its own, mapped apart from
 * the main heap; its first heap is made that large at once (up to 48 MiB)
 * and gets huge pages on request. Call on that thread before it allocates
 * anything, after mem_bulk_begin(). */
void mem_bulk_thread(size_t expect);

/* The main heap's next `bytes` (at most what mem_bulk_begin grew it by,
 * still free) are about to be allocated on this thread, which will be
 * busy meanwhile while another core is not: fault them in on a thread of
 * its own now (MADV_POPULATE_WRITE, which maps zeroed pages and writes no
 * byte, so the allocator can hand them out at any time). On a virtual
 * machine whose host takes back the memory a guest frees, a fresh page is
 * dear: an import after a few idle seconds spent 0.15 s of its 0.5 s in
 * the kernel providing memory, against 0.03 s when run again at once, and
 * LMDB's dirty pages, allocated by the writer while the helper thread has
 * time to spare, are most of it. Returns the prefaulting, which the caller
 * ends with mem_prefault_end(), or NULL when nothing was started (too
 * little, no free top, no such kernel or allocator: only a hint). */
struct mem_prefault;
struct mem_prefault *mem_prefault_start(size_t bytes);

/* Wait for pf's thread, free it and set *pf to NULL; NULL is fine. */
void mem_prefault_end(struct mem_prefault **pf);

/* p[0, n) is one large region about to be filled (the heaps the two calls
 * above grow): ask for huge pages on the whole 2 MiB pages inside it. */
void mem_advise_huge(void *p, size_t n);

/* For a process whose work allocates and frees the same large buffers
 * over and over (an agent's sync round: each upload packed, ZeroMQ's copy
 * of it, CURVE's ciphertext on ZeroMQ's thread, about 350 KiB apiece with
 * batches of 1000): `bytes` is the most it holds at once. Blocks up to
 * that size (at most 32 MiB) come from the heap, and freed memory up to
 * twice that stays in the process, so the next buffer reuses pages
 * already mapped. By default glibc maps such a block apart and unmaps it
 * when freed, or trims the heap top it left, and every upload's pages were
 * fresh: on this virtual machine, a backlog of 100,000 entries took 8,000
 * page faults and half the agent's CPU time; kept, 2,000 and half the
 * time. What is kept is at most the largest the work needed at once; call
 * mem_trim_idle() between rounds to give it back. A hint: nothing depends
 * on it, and it does nothing where the C library has no such control. */
void mem_keep_freed(size_t bytes);

/* Give the free memory of every heap back to the kernel (glibc's
 * malloc_trim), whatever mem_keep_freed() set: for a server gone quiet
 * after a burst. Unlike mem_trim_idle() it leaves every mapping alone, so
 * it is safe while other threads allocate. Does nothing off glibc. */
void mem_trim_heap(void);

/* For a daemon going idle until its next round: give back the pages it is
 * not using. Resident set size counts every page of a shared library or
 * file this process has mapped in, and the kernel maps in up to 16 cached
 * pages around each one touched: libcrypto, libc, libstdc++ and libzmq
 * alone come to 7 MB of an idle agent's 10 MB, though it runs little of
 * them between rounds. Unmapping them frees nothing another process shares
 * and nothing is lost: the pages are clean (never written) file pages that
 * stay in the page cache, and the next touch maps them in again (a minor
 * fault, no disk read). Only read-only file mappings that hold no private
 * copy of a page are dropped; relocated data (RELRO) and writable data
 * stay, and so do pages swapped out, locked or of a device. Free heap
 * memory goes back to the kernel too. Returns the bytes of mappings given
 * back; never fails (off Linux, nothing happens). It reads the mappings
 * and then drops them: call it when no other thread maps or unmaps files
 * (in the agent, ZeroMQ's threads map none). */
size_t mem_trim_idle(void);

#endif

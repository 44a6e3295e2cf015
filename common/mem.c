/* mem.c -- memory hints for bulk work; see mem.h. */
#include "mem.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)
#define PROBE 64                      /* blocks tried to make the heap grow */
#define PROBE_SIZE ((size_t)64 << 10) /* under glibc's mmap threshold: from the heap */
#define DEFAULT_TOP_PAD ((size_t)128 << 10)

/* Allocate small blocks until the program break moves (the heap grew by
 * the pad mallopt asked for), then give them back: they merge into the
 * heap's free top, which later allocations use first. */
static void grow_heap(void)
{
    void *blocks[PROBE];
    size_t n = 0;
    void *before = sbrk(0);
    while (n < PROBE && sbrk(0) == before && (blocks[n] = malloc(PROBE_SIZE)))
        n++;
    while (n)
        free(blocks[--n]);
}

/* A quarter of the machine's memory: what one bulk job may set aside. */
static size_t bulk_cap(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (size_t)pages * (size_t)size / 4 : (size_t)256 << 20;
}

void mem_bulk_begin(size_t expect)
{
    if (expect > bulk_cap())
        expect = bulk_cap();
    if (expect < MEM_BULK_MIN)
        return;
#if defined(M_TOP_PAD) && defined(M_TRIM_THRESHOLD) && defined(MADV_HUGEPAGE)
    void *before = sbrk(0);
    if (before == (void *)-1)
        return;
    /* the trim threshold is above what the heap grows by (mem.h): at
     * `expect`, the grown heap's free top was itself over it, and the
     * first free() gave it all back (a CSV import: 24,000 page faults
     * instead of 1,400) */
    size_t keep = expect < INT32_MAX / 2 ? 2 * expect : INT32_MAX;
    if (!mallopt(M_TOP_PAD, (int)(expect < INT32_MAX ? expect : INT32_MAX)) ||
        !mallopt(M_TRIM_THRESHOLD, (int)keep))
        return;
    grow_heap();
    mallopt(M_TOP_PAD, DEFAULT_TOP_PAD); /* later growth as usual */
    mem_advise_huge(before, (size_t)((uintptr_t)sbrk(0) - (uintptr_t)before));
#endif
}

/* glibc's largest mmap threshold on a 64-bit machine */
#define MMAP_THRESHOLD_MAX ((size_t)32 << 20)

void mem_keep_freed(size_t bytes)
{
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    if (bytes > MMAP_THRESHOLD_MAX)
        bytes = MMAP_THRESHOLD_MAX;
    /* fixed thresholds also end glibc's own adjustment of them */
    if (mallopt(M_MMAP_THRESHOLD, (int)bytes))
        mallopt(M_TRIM_THRESHOLD, (int)(2 * bytes));
#else
    (void)bytes;
#endif
}

struct mem_prefault {
    pthread_t thread;
    char *from;
    size_t len;
};

static void *prefault_main(void *arg)
{
    struct mem_prefault *pf = arg;
    /* a huge page at a time, in the order the allocator hands them out */
    for (size_t off = 0; off < pf->len; off += HUGE_PAGE) {
        size_t n = pf->len - off < HUGE_PAGE ? pf->len - off : HUGE_PAGE;
        if (madvise(pf->from + off, n, MADV_POPULATE_WRITE) != 0)
            break; /* a kernel without it (EINVAL), or no memory: only a hint */
    }
    return NULL;
}

struct mem_prefault *mem_prefault_start(size_t bytes)
{
#if defined(__GLIBC__) && defined(MADV_POPULATE_WRITE)
    if (bytes < MEM_BULK_MIN)
        return NULL;
    /* the main arena's free top, what it allocates from once its free
     * lists are used up: the last keepcost bytes below the break */
    struct mallinfo2 mi = mallinfo2();
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t end = (uintptr_t)sbrk(0), mask = (uintptr_t)page - 1;
    uintptr_t from = (end - mi.keepcost + mask) & ~mask;
    if (page <= 0 || end == (uintptr_t)-1 || mi.keepcost == 0 || from >= end)
        return NULL;
    struct mem_prefault *pf = malloc(sizeof *pf);
    if (!pf)
        return NULL;
    pf->from = (char *)from;
    pf->len = end - from < bytes ? end - from : bytes;
    if (pthread_create(&pf->thread, NULL, prefault_main, pf) != 0) {
        free(pf);
        return NULL;
    }
    return pf;
#else
    (void)bytes;
    return NULL;
#endif
}

void mem_prefault_end(struct mem_prefault **pf)
{
    if (!pf || !*pf)
        return;
    pthread_join((*pf)->thread, NULL);
    free(*pf);
    *pf = NULL;
}

void mem_advise_huge(void *p, size_t n)
{
#if defined(MADV_HUGEPAGE)
    uintptr_t from = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t to = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (to > from)
        (void)madvise((void *)from, to - from, MADV_HUGEPAGE); /* a hint: refusal is fine */
#else
    (void)p;
    (void)n;
#endif
}

/* fgets a whole line, or its first sizeof-1 bytes and skip the rest (a
 * long path): the rest must not be read as a line of its own. */
static char *read_line(char *line, int size, FILE *f)
{
    if (!fgets(line, size, f))
        return NULL;
    if (!strchr(line, '\n')) {
        int c;
        while ((c = fgetc(f)) != EOF && c != '\n')
            ;
    }
    return line;
}

/* A mapping's line of /proc/self/maps (or header of /proc/self/smaps):
 * "lo-hi perms offset dev inode [path]". *path0 is the path's first
 * character: '/' for a file, '[' for "[heap]" and the like, 0 for an
 * anonymous mapping. 0 when line is such a line. */
static int map_header(const char *line, uintptr_t *lo, uintptr_t *hi, char perms[8], char *path0)
{
    unsigned long l, h;
    char path[2] = "";
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %1s", &l, &h, perms, path) < 3)
        return -1;
    *lo = l;
    *hi = h;
    *path0 = path[0];
    return 0;
}

/* Find in /proc/self/maps the mapping holding p and the span of it and of
 * the anonymous reserve right after it ("---p", no file): [*from, *to).
 * 0 when found. The main heap ("[heap]") is not a thread's: -1. */
static int heap_span(const void *p, uintptr_t *from, uintptr_t *to)
{
    char line[512];
    uintptr_t a = (uintptr_t)p, start = 0, end = 0;
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    while (read_line(line, sizeof line, f)) {
        char perms[8] = "", path0;
        uintptr_t s, e;
        if (map_header(line, &s, &e, perms, &path0))
            continue;
        if (!found && a >= s && a < e) {
            if (path0) /* "[heap]", or a file: not a thread's arena */
                break;
            start = s;
            end = e;
            found = 1;
        } else if (found) {
            if (s == end && !path0 && strncmp(perms, "---p", 4) == 0)
                end = e;
            break;
        }
    }
    fclose(f);
    if (!found)
        return -1;
    *from = start;
    *to = end;
    return 0;
}

/* The largest heap the C library maps for a thread's arena (glibc: 64 MiB);
 * asking for a little less keeps the first heap in one mapping. */
#define THREAD_HEAP_PAD ((size_t)48 << 20)

void mem_bulk_thread(size_t expect)
{
    if (expect < MEM_BULK_MIN)
        return;
#if defined(M_TOP_PAD)
    /* a thread's first allocation makes its arena, whose first heap is
     * made writable as far as the top pad reaches: all of it then lies in
     * one mapping that whole huge pages fit in (grown page by page, a 2
     * MiB page never fits) */
    size_t pad = expect < THREAD_HEAP_PAD ? expect : THREAD_HEAP_PAD;
    mallopt(M_TOP_PAD, (int)pad);
    void *probe = malloc(64);
    mallopt(M_TOP_PAD, DEFAULT_TOP_PAD);
    uintptr_t from, to;
    if (probe && heap_span(probe, &from, &to) == 0)
        mem_advise_huge((void *)from, (size_t)(to - from));
    free(probe);
#endif
}

/* One mapping of /proc/self/smaps: its header and the fields that decide. */
struct mapping {
    uintptr_t lo, hi;
    char perms[8];
    int file;          /* backed by a file (its path starts with '/') */
    long rss_kb, anon_kb, swap_kb;
    char flags[128];   /* VmFlags: two letters each */
};

static int has_flag(const struct mapping *m, const char *flag)
{
    for (const char *p = m->flags; (p = strstr(p, flag)); p += 2)
        if ((p == m->flags || p[-1] == ' ') && (p[2] == ' ' || p[2] == 0 || p[2] == '\n'))
            return 1;
    return 0;
}

/* A mapping whose pages are all clean file pages nobody here can write:
 * no private copy of a page in memory (Anonymous) nor swapped out (Swap:
 * relocated data of an idle process is what gets swapped), not locked,
 * not device memory (io, pf) or huge TLB pages. Its page table entries
 * can go, and a read maps the same bytes in again. */
static int clean_file_mapping(const struct mapping *m)
{
    return m->file && m->perms[1] != 'w' && m->rss_kb > 0 && m->anon_kb == 0 &&
           m->swap_kb == 0 && m->hi > m->lo && !has_flag(m, "lo") && !has_flag(m, "io") &&
           !has_flag(m, "pf") && !has_flag(m, "ht");
}

static size_t drop_if_clean(const struct mapping *m)
{
#if defined(MADV_DONTNEED)
    if (clean_file_mapping(m) && madvise((void *)m->lo, m->hi - m->lo, MADV_DONTNEED) == 0)
        return (size_t)m->rss_kb << 10;
#else
    (void)m;
#endif
    return 0;
}

void mem_trim_heap(void)
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

size_t mem_trim_idle(void)
{
    size_t given = 0;
    mem_trim_heap();
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return 0;
    char line[512];
    struct mapping m = {0};
    int have = 0;
    /* a mapping is judged once all its fields are read: at the next
     * header, or at the end */
    while (read_line(line, sizeof line, f)) {
        uintptr_t lo, hi;
        char perms[8], path0;
        long kb;
        if (map_header(line, &lo, &hi, perms, &path0) == 0) {
            if (have)
                given += drop_if_clean(&m);
            m = (struct mapping){.lo = lo, .hi = hi, .file = path0 == '/', .rss_kb = -1,
                                 .anon_kb = -1, .swap_kb = 0};
            memcpy(m.perms, perms, sizeof m.perms);
            have = 1;
        } else if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
            m.rss_kb = kb;
        } else if (sscanf(line, "Anonymous: %ld kB", &kb) == 1) {
            m.anon_kb = kb;
        } else if (sscanf(line, "Swap: %ld kB", &kb) == 1) {
            m.swap_kb = kb;
        } else if (strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(m.flags, sizeof m.flags, "%.127s", line + 8);
        }
    }
    if (have)
        given += drop_if_clean(&m);
    fclose(f);
    return given;
}

/* mem.c -- memory hints for bulk work; see mem.h. */
#include "mem.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
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

void mem_bulk_begin(size_t expect)
{
    if (expect < MEM_BULK_MIN)
        return;
#if defined(M_TOP_PAD) && defined(M_TRIM_THRESHOLD) && defined(MADV_HUGEPAGE)
    void *before = sbrk(0);
    if (before == (void *)-1)
        return;
    if (!mallopt(M_TOP_PAD, (int)(expect < INT32_MAX ? expect : INT32_MAX)) ||
        !mallopt(M_TRIM_THRESHOLD, (int)(expect < INT32_MAX ? expect : INT32_MAX)))
        return;
    grow_heap();
    mallopt(M_TOP_PAD, DEFAULT_TOP_PAD); /* later growth as usual */
    mem_advise_huge(before, (size_t)((uintptr_t)sbrk(0) - (uintptr_t)before));
#endif
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

/* arena.c -- bump allocation for decoding; see arena.h. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

/* Enough for an entry and its decoded record of usual size in one block. */
#define ARENA_BLOCK_MIN ((size_t)16 << 10)
#define ARENA_BLOCK_GROWTH_MAX ((size_t)16 << 20)

struct arena_block {
    struct arena_block *next;
    size_t cap;
    alignas(max_align_t) unsigned char data[];
};

static void *arena_alloc(void *ctx, size_t n)
{
    struct arena *a = ctx;
    const size_t align = alignof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    if (n == 0)
        n = align;
    struct arena_block *b = a->blocks;
    if (!b || b->cap - a->used < n) {
        /* each new block twice the last (up to ARENA_BLOCK_GROWTH_MAX): a
         * use of many megabytes takes a few blocks, and after a reset
         * the largest, kept, holds the next use of that size whole */
        size_t cap = b ? (b->cap < ARENA_BLOCK_GROWTH_MAX ? 2 * b->cap : b->cap) : ARENA_BLOCK_MIN;
        if (cap < n)
            cap = n;
        if (!(b = malloc(sizeof *b + cap)))
            return NULL;
        b->cap = cap;
        b->next = a->blocks;
        a->blocks = b;
        a->used = 0;
    }
    void *p = b->data + a->used;
    a->used += n;
    return p;
}

static void arena_nofree(void *ctx, void *p)
{
    (void)ctx;
    (void)p;
}

ProtobufCAllocator *arena_allocator(struct arena *a)
{
    a->allocator.alloc = arena_alloc;
    a->allocator.free = arena_nofree;
    a->allocator.allocator_data = a;
    return &a->allocator;
}

void arena_reset(struct arena *a)
{
    struct arena_block *keep = NULL, *b = a->blocks;
    while (b) {
        struct arena_block *next = b->next;
        if (!keep || b->cap > keep->cap) {
            free(keep);
            keep = b;
        } else {
            free(b);
        }
        b = next;
    }
    if (keep)
        keep->next = NULL;
    a->blocks = keep;
    a->used = 0;
}

size_t arena_blocks(const struct arena *a)
{
    size_t n = 0;
    for (const struct arena_block *b = a->blocks; b; b = b->next)
        n++;
    return n;
}

void arena_free(struct arena *a)
{
    arena_reset(a);
    free(a->blocks);
    a->blocks = NULL;
    a->used = 0;
}

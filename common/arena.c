/* arena.c -- bump allocation for decoding; see arena.h. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

struct arena_block {
    struct arena_block *next;
    size_t cap;
    alignas(max_align_t) unsigned char data[];
};

static struct arena_block *block_new(struct arena_block *next, size_t cap)
{
    struct arena_block *b = malloc(sizeof *b + cap);
    if (b) {
        b->next = next;
        b->cap = cap;
    }
    return b;
}

static void *arena_alloc(void *ctx, size_t n)
{
    struct arena *a = ctx;
    const size_t align = alignof(max_align_t);
    if (n > SIZE_MAX / 2) { /* no such piece; and the rounding below must not wrap */
        a->failed = 1;
        return NULL;
    }
    n = n ? (n + align - 1) & ~(align - 1) : align;
    if (n > ARENA_LARGE) {
        struct arena_block *b = block_new(a->large, n);
        if (!b) {
            a->failed = 1;
            return NULL;
        }
        a->large = b;
        return b->data;
    }
    struct arena_block *b = a->blocks;
    if (!b || b->cap - a->used < n) {
        /* each new block twice the last, up to ARENA_BLOCK_MAX: a round
         * of many pieces takes a few blocks, and the largest, kept at a
         * reset, holds the next round of that size */
        size_t cap = !b ? ARENA_BLOCK_MIN : b->cap < ARENA_BLOCK_MAX / 2 ? 2 * b->cap
                                                                         : ARENA_BLOCK_MAX;
        while (cap < n) /* n <= ARENA_LARGE < ARENA_BLOCK_MAX */
            cap *= 2;
        if (!(b = block_new(a->blocks, cap))) {
            a->failed = 1;
            return NULL;
        }
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

static void free_list(struct arena_block *b)
{
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
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
    free_list(a->large);
    a->large = NULL;
    a->failed = 0;
}

size_t arena_blocks(const struct arena *a)
{
    size_t n = 0;
    for (const struct arena_block *b = a->blocks; b; b = b->next)
        n++;
    for (const struct arena_block *b = a->large; b; b = b->next)
        n++;
    return n;
}

void arena_free(struct arena *a)
{
    arena_reset(a);
    free(a->blocks);
    a->blocks = NULL;
}

/* test_arena.c -- Check suite for common/arena.{h,c}: bump allocation for
 * protobuf-c decoding. */
#include "arena.h"
#include "scsms.pb-c.h"
#include "testutil.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

static void *take(struct arena *a, size_t n)
{
    ProtobufCAllocator *al = arena_allocator(a);
    void *p = al->alloc(al->allocator_data, n);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % alignof(max_align_t), 0);
    return p;
}

/* Pieces are aligned and apart: each keeps what was written to it. */
START_TEST(pieces_are_aligned_and_apart)
{
    struct arena a = {0};
    enum { N = 2000 };
    unsigned char *p[N];
    size_t len[N];
    for (size_t i = 0; i < N; i++) {
        /* one larger than the block it would go in, one of its own */
        len[i] = i % 97 + (i == 500 ? 100000 : 0) + (i == 900 ? ARENA_LARGE : 0);
        p[i] = take(&a, len[i]);
        memset(p[i], (int)(i & 0xff), len[i]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < len[i]; k++)
            ck_assert_uint_eq(p[i][k], i & 0xff);
    /* free does nothing: the piece is still there */
    ProtobufCAllocator *al = arena_allocator(&a);
    al->free(al->allocator_data, p[7]);
    ck_assert_uint_eq(p[7][0], 7);
    arena_free(&a);
    ck_assert_uint_eq(arena_blocks(&a), 0);
}
END_TEST

/* A reset gives everything back and keeps one block, the largest: the
 * next use takes the same memory again, from its start. */
START_TEST(reset_reuses_the_largest_block)
{
    struct arena a = {0};
    take(&a, 64);
    for (int i = 0; i < 100; i++) /* 16, 32 and 64 KiB blocks */
        take(&a, 1000);
    ck_assert_uint_eq(arena_blocks(&a), 3);
    arena_reset(&a);
    ck_assert_uint_eq(arena_blocks(&a), 1);
    void *again = take(&a, 64);
    void *more = take(&a, 60000); /* the kept block is the 64 KiB one */
    ck_assert_uint_eq(arena_blocks(&a), 1);
    ck_assert_ptr_eq((char *)more, (char *)again + 64);
    arena_reset(&a);
    ck_assert_ptr_eq(take(&a, 8), again);
    arena_free(&a);
    arena_free(&a); /* twice: harmless */
    arena_reset(&a); /* empty: harmless */
    ck_assert_uint_eq(arena_blocks(&a), 0);
}
END_TEST

/* A piece above ARENA_LARGE has a block of its own, gone at the reset;
 * small pieces never make a block above ARENA_BLOCK_MAX, so a reset never
 * keeps more than that. One huge message leaves nothing huge behind. */
START_TEST(large_pieces_go_at_the_reset)
{
    struct arena a = {0};
    take(&a, 64);
    unsigned char *big = take(&a, ARENA_LARGE + 1);
    memset(big, 0x5a, ARENA_LARGE + 1);
    ck_assert_uint_eq(arena_blocks(&a), 2);
    unsigned char *small = take(&a, 100); /* still from the first block */
    ck_assert_uint_eq(arena_blocks(&a), 2);
    memset(small, 1, 100);
    ck_assert_uint_eq(big[ARENA_LARGE], 0x5a);
    arena_reset(&a);
    ck_assert_uint_eq(arena_blocks(&a), 1);

    for (int i = 0; i < 8000; i++) /* 8 MB in small pieces */
        take(&a, 1000);
    arena_reset(&a);
    ck_assert_uint_eq(arena_blocks(&a), 1);
    size_t fits = 0; /* how much the kept block holds */
    while (arena_blocks(&a) == 1) {
        take(&a, 1008);
        fits += 1008;
    }
    ck_assert_uint_le(fits, ARENA_BLOCK_MAX + 1008);
    ck_assert_uint_ge(fits, ARENA_BLOCK_MAX / 2);
    arena_free(&a);
}
END_TEST

/* A size no memory could hold is refused, not wrapped round to a small
 * piece, and the arena says it failed until the next reset. */
START_TEST(impossible_sizes_are_refused)
{
    struct arena a = {0};
    ProtobufCAllocator *al = arena_allocator(&a);
    ck_assert_int_eq(a.failed, 0);
    ck_assert_ptr_null(al->alloc(al->allocator_data, SIZE_MAX - 7));
    ck_assert_int_eq(a.failed, 1);
    ck_assert_ptr_null(al->alloc(al->allocator_data, SIZE_MAX / 2 + 1));
    take(&a, 10); /* the arena still works */
    arena_reset(&a);
    ck_assert_int_eq(a.failed, 0);
    arena_free(&a);
}
END_TEST

/* protobuf-c decodes into it and "frees" into it. */
START_TEST(protobuf_decodes_into_it)
{
    struct arena a = {0};
    uint8_t prev[32] = {1, 2, 3}, rec[] = {0x0a, 0x01, 'x'};
    Scsms__LogEntry e = SCSMS__LOG_ENTRY__INIT;
    e.owner = "SITE-A";
    e.seq = 42;
    e.prev_hash.data = prev;
    e.prev_hash.len = sizeof prev;
    e.record.data = rec;
    e.record.len = sizeof rec;
    uint8_t buf[128];
    size_t len = scsms__log_entry__pack(&e, buf);
    for (int i = 0; i < 1000; i++) {
        Scsms__LogEntry *back = scsms__log_entry__unpack(arena_allocator(&a), len, buf);
        ck_assert_ptr_nonnull(back);
        ck_assert_str_eq(back->owner, "SITE-A");
        ck_assert_uint_eq(back->seq, 42);
        ck_assert_mem_eq(back->prev_hash.data, prev, sizeof prev);
        ck_assert_mem_eq(back->record.data, rec, sizeof rec);
        scsms__log_entry__free_unpacked(back, arena_allocator(&a));
        arena_reset(&a);
    }
    ck_assert_uint_eq(arena_blocks(&a), 1); /* a thousand decodes in one block */
    arena_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("arena");
    tcase_add_test(tc, pieces_are_aligned_and_apart);
    tcase_add_test(tc, reset_reuses_the_largest_block);
    tcase_add_test(tc, large_pieces_go_at_the_reset);
    tcase_add_test(tc, impossible_sizes_are_refused);
    tcase_add_test(tc, protobuf_decodes_into_it);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

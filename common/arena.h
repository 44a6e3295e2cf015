/* arena.h -- a bump allocator for decoding many small messages in a row.
 *
 * Head office takes in each uploaded entry by decoding it and its record
 * with protobuf-c: some twenty allocations an entry, each freed at the end
 * of the entry. malloc and free were a seventh of the server's work during
 * a backlog sync. Decoded into an arena, an entry's memory is taken by a
 * pointer bump and all of it given back at once, by a reset, and the same
 * few kilobytes serve every entry, still in cache. The review pack decodes
 * every record of head office's store the same way.
 *
 * Small pieces come from blocks that grow by doubling up to
 * ARENA_BLOCK_MAX; a reset keeps the largest for the next use and frees
 * the rest. A piece above ARENA_LARGE gets a block of its own, freed at
 * the reset: one huge message does not leave a huge block behind.
 *
 * What is decoded into an arena must not be freed or reallocated by
 * anything else (protobuf_c_message_free_unpacked with the arena's
 * allocator does nothing; record_set_string on such a record would free
 * arena memory): decode into one only what is read, not changed.
 */
#ifndef SCSMS_ARENA_H
#define SCSMS_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#define ARENA_BLOCK_MIN ((size_t)16 << 10)
#define ARENA_BLOCK_MAX ((size_t)1 << 20)
#define ARENA_LARGE ((size_t)256 << 10)

struct arena_block;

/* A zeroed struct arena is an empty arena. Not for use by two threads. */
struct arena {
    ProtobufCAllocator allocator; /* for protobuf-c; set by arena_allocator() */
    struct arena_block *blocks;   /* the newest first */
    size_t used;                  /* of the newest block */
    struct arena_block *large;    /* pieces above ARENA_LARGE, one a block */
    int failed;                   /* an allocation failed since the last reset:
                                     tells "out of memory" from "not a message" */
};

/* The allocator protobuf-c takes: its alloc takes from the arena (NULL
 * when out of memory, as protobuf-c expects), its free does nothing. */
ProtobufCAllocator *arena_allocator(struct arena *a);

/* Give back everything taken since the last reset, keeping the largest
 * block of small pieces for the next use. */
void arena_reset(struct arena *a);

/* How many blocks of memory the arena holds now, its own large pieces
 * included. */
size_t arena_blocks(const struct arena *a);

/* Free all the arena holds; it is empty afterwards. */
void arena_free(struct arena *a);

#endif

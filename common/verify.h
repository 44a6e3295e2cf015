/* verify.h -- re-check everything a store claims.
 *
 * For every owner's log: entries numbered 1..head without gaps, each
 * decoding, each linking to the SHA-256 of the one before, the last one
 * matching the recorded head; every signed checkpoint valid under the
 * owner's key and matching the entry it names, the head covered by one;
 * every record's indices pointing at exactly its entry, and no index
 * holding more than the log accounts for; every sealed record (seal.h),
 * in a log or received outside one, valid under its issuer's key. The
 * first failure is named.
 */
#ifndef SCSMS_VERIFY_H
#define SCSMS_VERIFY_H

#include <stdint.h>

#include "error.h"
#include "store.h"

struct verify_report {
    int code;             /* 0, or the failure's code */
    char owner[RECORD_MAX_ID + 1]; /* whose log failed */
    uint64_t seq;         /* the first bad entry; 0 when no entry is to blame */
    char message[512];    /* one line: "entry 7 of SITE-A: ..." */
    uint64_t owners, entries, checkpoints, records, due;
    uint64_t received;    /* sealed records received outside any chain */
};

/* Walk the whole store as of one moment (writers may go on). Returns 0
 * when everything holds; SCSMS_ETAMPER (or the error met) with rep naming
 * the first bad entry otherwise.
 *
 * Each owner's log is checked in pieces of VERIFY_PIECE entries, two
 * pieces at a time on two threads, each with a read transaction on the
 * same snapshot (when a writer commits between their starts, one thread
 * does it all). A piece starts from the hash of the stored entry before
 * it, so each is checked alone; the failure told is the one in the
 * earliest piece, which is the first a walk in order would meet. The
 * counts in rep are the store's when it returns 0; after a failure they are
 * only the failing piece's. */
int verify_store(store_t *s, struct verify_report *rep) SCSMS_MUST_CHECK;

#define VERIFY_PIECE ((uint64_t)32768)

/* verify_store with pieces of `piece` entries (0: VERIFY_PIECE). For
 * tests, which check that wherever the log is cut the same first bad entry
 * is named with the same words. */
int verify_store_pieces(store_t *s, uint64_t piece, struct verify_report *rep) SCSMS_MUST_CHECK;

#endif

/* chain.h -- the hash chain and its signed checkpoints.
 *
 * Each owner's log is a chain: entry n is a LogEntry holding the exact
 * Record bytes and the SHA-256 of entry n-1's exact bytes (32 zero bytes
 * for entry 1). The owner signs the head of the chain with Ed25519 after
 * each commit; the signed bytes are a short text note
 *     "scsms-checkpoint/v1\n" owner "\n" seq "\n" hex(head) "\n"
 * in the manner of a C2SP signed note, so anyone holding the owner's public
 * key can check what the owner stood behind, and a receipt can be kept.
 *
 * Decoders here take untrusted bytes (from disk or the network) and check
 * them fully; each has a fuzz harness in tests/fuzz/.
 */
#ifndef SCSMS_CHAIN_H
#define SCSMS_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "scsms.pb-c.h"

#define CHAIN_NOTE_MAX 256
#define CHAIN_ENTRY_MAX ((1u << 20) + 1024) /* a record plus the entry header */

/* Hash of an entry's exact stored bytes. */
void chain_entry_hash(const uint8_t *bytes, size_t len, uint8_t out[CRYPTO_HASH_LEN]);

/* Build the signed note; returns its length, or 0 if owner is too long. */
size_t chain_note(const char *owner, uint64_t seq, const uint8_t head[CRYPTO_HASH_LEN],
                  char buf[CHAIN_NOTE_MAX]);

/* Build the note the owner of a store signs over the list of every log
 * it holds (its "store head", see store_internal.h):
 *     "scsms-store-head/v1\n" owner "\n" logs "\n" hex(digest) "\n"
 * Returns its length, or 0 if owner is too long. */
size_t chain_heads_note(const char *owner, uint64_t logs, const uint8_t digest[CRYPTO_HASH_LEN],
                        char buf[CHAIN_NOTE_MAX]);

/* Decode a LogEntry and check its shape: owner set, seq >= 1, prev_hash 32
 * bytes, record within limits. Caller frees *out with
 * scsms__log_entry__free_unpacked(*out, NULL). SCSMS_ECORRUPT otherwise. */
int chain_entry_decode(const uint8_t *bytes, size_t len, Scsms__LogEntry **out) SCSMS_MUST_CHECK;

/* The same, with memory from `with` (NULL: malloc); free *out with
 * scsms__log_entry__free_unpacked(*out, with), or the arena's reset. */
int chain_entry_decode_with(ProtobufCAllocator *with, const uint8_t *bytes, size_t len,
                            Scsms__LogEntry **out) SCSMS_MUST_CHECK;

/* Sign owner's head and pack a Checkpoint into a malloc'd buffer. Caller
 * frees *out. */
int chain_checkpoint_make(const crypto_key_t *key, const char *owner, uint64_t seq,
                          const uint8_t head[CRYPTO_HASH_LEN], const char *signed_at,
                          uint8_t **out, size_t *out_len) SCSMS_MUST_CHECK;

/* 1 when cp, as chain_checkpoint_check() gave it, names entry seq of
 * owner's log with head hash head; else 0. */
int chain_checkpoint_names(const Scsms__Checkpoint *cp, const char *owner, uint64_t seq,
                           const uint8_t head[CRYPTO_HASH_LEN]);

/* Decode a Checkpoint and verify its signature against pub. SCSMS_ECORRUPT
 * when the bytes are not a checkpoint, SCSMS_ETAMPER when the signature
 * does not verify. Caller frees *out with
 * scsms__checkpoint__free_unpacked(*out, NULL). */
int chain_checkpoint_check(const uint8_t pub[CRYPTO_PUB_LEN], const uint8_t *bytes,
                           size_t len, Scsms__Checkpoint **out) SCSMS_MUST_CHECK;

#endif

/* store_internal.h -- what store.c shares with verify.c. Not for other
 * modules: they use store.h. */
#ifndef SCSMS_STORE_INTERNAL_H
#define SCSMS_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>

#include "config.h"
#include "store.h"

#define STORE_LOGKEY_LEN 12 /* owner index (4) | seq (8) */
#define STORE_OWNER_LEN 44  /* owner index (4) | head seq (8) | head hash (32) */
#define STORE_LATEST_LEN 16 /* version (4) | log key (12) */
#define STORE_HEADS_LEN (8 + CRYPTO_HASH_LEN + CRYPTO_SIG_LEN) /* the store head, below */
#define STORE_SEALED_OK 64  /* identities' seals remembered as verified */
#define STORE_TAIL_MAX 512  /* LMDB's longest key is 511 bytes */

/* The last key of an index table as the write transaction under way left
 * it, once looked up (put_index in batch.c): a key after it is appended, any
 * other put as usual, with no append tried first that LMDB refuses. It
 * belongs to the thread that holds the store's write transaction, and is
 * forgotten when one begins and when a nested one is given up (which may
 * have looked it up after deleting the table's last key). Otherwise keys
 * only follow it or are deleted before it: it is never earlier than the
 * table's true last key, so a key after it sorts last (and LMDB refuses an
 * append that does not, which put_index then puts as usual). */
struct store_tail {
    enum { STORE_TAIL_UNKNOWN, STORE_TAIL_KNOWN, STORE_TAIL_EMPTY } state;
    size_t len;
    uint8_t key[STORE_TAIL_MAX];
};

struct store {
    MDB_env *env;
    MDB_dbi meta, owners, log, checkpoints, versions, latest, by_status, by_due, identities,
        received;
    char *dir;
    char owner[RECORD_MAX_ID + 1];
    char author[RECORD_MAX_ID + 1];
    enum store_role role;
    crypto_key_t *key; /* NULL when opened read-only without a key */
    uint8_t pub[CRYPTO_PUB_LEN];
    int lock_fd;
    int read_only;
    struct scsms_config cfg; /* from DIR/scsms.ini */
    char *cfg_refused;       /* why it could not be used (settings_optional); NULL */
    /* Identities whose seal verified here, by the SHA-256 of their stored
     * bytes (slot: the hash's first byte): head office reads the sender's
     * identity at every request, and an Ed25519 check each time (~60 us,
     * twice an upload) was a large part of taking in a small upload.
     * Bytes altered since hash elsewhere and are checked again. All-zero
     * is an empty slot. Guarded by seal_mu: verify reads on two threads. */
    uint8_t sealed_ok[STORE_SEALED_OK][CRYPTO_HASH_LEN];
    pthread_mutex_t seal_mu;
    struct store_tail tail_latest, tail_status, tail_due; /* in the write transaction */
    int heads_moved;     /* the write transaction under way moved a log's head */
    uint8_t *heads_buf;  /* the writer's list of heads, as hashed */
    size_t heads_cap;
    /* the last store head this process signed or saw verify: the same
     * bytes need no Ed25519 check (~60 us) again. Guarded by seal_mu. */
    uint8_t heads_ok[STORE_HEADS_LEN];
    int heads_ok_set;    /* heads_ok holds one: none at first */
    void *memo;          /* the write transaction's (store_txn_memo) */
    const struct store_memo_ops *memo_ops;
};

struct store_owner_state {
    uint32_t idx;
    uint64_t seq;
    uint8_t head[CRYPTO_HASH_LEN];
};

/* Translate an LMDB return code (never 0) into scsms_fail(); what names the
 * operation for the message. */
int store_lmdb_fail(int mrc, const char *what);

/* Whether rc ends a whole write transaction rather than one record's or
 * one upload's part of it: the map or the disk is full, memory or the
 * disk or the crypto library failed, or the store itself is damaged
 * (nothing more is written to a damaged store in that transaction). */
int store_error_fatal(int rc);

/* Make *buf (of *cap bytes, malloc'd or NULL) at least need bytes long,
 * doubling; its contents are kept. SCSMS_ENOMEM, *buf unchanged. */
int store_reserve(uint8_t **buf, size_t *cap, size_t need) SCSMS_MUST_CHECK;

/* Begin a transaction, following a map another process has grown. */
int store_txn_begin(store_t *s, unsigned flags, MDB_txn **txn);

/* Forget what the write transaction under way remembered: the index
 * tables' tails (struct store_tail) and the memo (below). At a write
 * transaction's start and end, and when a nested one is given up. */
void store_txn_forget(store_t *s);

/* A memo the write transaction under way keeps for one caller (rules.c:
 * the business partners, read once a transaction rather than once a
 * record): ops->written is told of every record version the store writes
 * while it is kept, so that it stays true of the transaction; it is freed
 * with ops->free by store_txn_forget(). NULL when none is kept. Like the
 * tails, it belongs to the one thread that writes through this store_t
 * (store_write_txn forgets it after the commit, the writer's lock given
 * back). */
struct store_memo_ops {
    void (*written)(void *memo, const Scsms__Record *rec, const char *id);
    void (*free)(void *memo);
};
void *store_txn_memo(store_t *s, const struct store_memo_ops *ops);
void store_txn_memo_keep(store_t *s, void *memo, const struct store_memo_ops *ops);

/* End child, a transaction nested in this thread's write transaction:
 * commit it into its parent (0, or the LMDB error translated, `what`
 * naming the write), or abort it. A nested transaction given up, aborted
 * or failing its commit, takes the tails with it: it may have looked them
 * up after deleting a table's last key. Every nested write transaction
 * ends through one of these two. */
int store_txn_commit_nested(store_t *s, MDB_txn *child, const char *what) SCSMS_MUST_CHECK;
void store_txn_abort_nested(store_t *s, MDB_txn *child);

void store_put_be32(uint8_t *p, uint32_t v);
void store_put_be64(uint8_t *p, uint64_t v);
uint32_t store_get_be32(const uint8_t *p);
uint64_t store_get_be64(const uint8_t *p);

void store_owner_decode(const MDB_val *v, struct store_owner_state *st);
void store_owner_encode(const struct store_owner_state *st, uint8_t buf[STORE_OWNER_LEN]);
void store_log_key(uint32_t idx, uint64_t seq, uint8_t buf[STORE_LOGKEY_LEN]);
size_t store_versions_key(const char *id, uint32_t version, uint8_t *buf);

/* The head of owner's log, read in txn. */
int store_owner_load(store_t *s, MDB_txn *txn, const char *owner,
                     struct store_owner_state *st);

/* The same, creating an empty log (a new owner index) when owner has none
 * yet; for the logs of other owners a store receives. */
int store_owner_ensure(store_t *s, MDB_txn *txn, const char *owner,
                       struct store_owner_state *st);

/* 1 when st's log is the last in the log table (or, still empty, would
 * be: every other log has a lower index), so that its next entries
 * can be put with MDB_APPEND (no search, pages filled whole); 0 when not;
 * negative on error. MDB_APPEND still refuses a key not greater than the
 * last, so it guards the chain as MDB_NOOVERWRITE does. */
int store_log_is_last(store_t *s, MDB_txn *txn, const struct store_owner_state *st);

/* The store head. Each owner signs its own log's head (chain.h), which
 * shows what was altered inside a log but not a log removed whole, nor
 * one cut back to an earlier checkpoint with what came after it: what is
 * left is a log its owner signed. So the store's own owner also signs the
 * list of every log the store holds, each with its head (sequence and
 * hash), at the end of every write transaction that moves a head, and
 * keeps only the last such signature (meta "heads": logs (8,
 * big-endian) | SHA-256 of the list (32) | Ed25519 signature (64) over
 * chain_heads_note()). Taking logs away, or cutting one back, needs a
 * list the owner signed when the store held just that: only an old copy
 * of the whole store has one, and restoring such a copy is what a restore
 * does. The list is hashed whole, twice a commit (checked before the
 * first head moves, then signed): O(logs), about 40 us per thousand logs
 * (head office's store of 1,001 logs), at a commit that already waits for
 * the disk. */

/* 0 when the store head in txn is signed by the store's owner and names
 * exactly the logs txn holds, with their heads; SCSMS_ETAMPER (message
 * set) when not, or missing; SCSMS_ECORRUPT on a malformed owners table. */
int store_heads_check(store_t *s, MDB_txn *txn) SCSMS_MUST_CHECK;

/* Write owner's head (and mark the transaction's store head to be
 * signed again). */
int store_owner_save(store_t *s, MDB_txn *txn, const char *owner,
                     const struct store_owner_state *st);

/* Put one version's entry (exact bytes) and its indices at the next
 * sequence of st and advance st. create: the id must be new. The previous
 * version, for an update, must have been moved away first
 * (store_supersede). */
int store_put_version(store_t *s, MDB_txn *txn, const Scsms__Record *rec, const char *id,
                      uint32_t version, int create, const uint8_t *entry, size_t elen,
                      const uint8_t hash[CRYPTO_HASH_LEN], struct store_owner_state *st,
                      unsigned log_flags);

/* Move the current version of rec->id (which must be rec->version - 1,
 * owned by owner, of the same type, and not a disposal's tombstone) from
 * `latest` to `versions` and drop its index entries: for a version another
 * store wrote, the checks its writer's store made of the one before. */
int store_supersede(store_t *s, MDB_txn *txn, const Scsms__Record *rec, const char *owner);

/* An identity by id in txn; SCSMS_ENOTFOUND when none. Caller frees. */
int store_identity_read(store_t *s, MDB_txn *txn, const char *id, Scsms__Identity **out);

/* The current version of id and the log key of its entry. */
int store_latest_get(store_t *s, MDB_txn *txn, const char *id, uint32_t *version,
                     uint8_t ref[STORE_LOGKEY_LEN]);

/* store_get_bytes() in a transaction the caller holds: the exact bytes of
 * version `version` (0: the latest) of record id. Caller frees *out. */
int store_version_bytes(store_t *s, MDB_txn *txn, const char *id, uint32_t version,
                        uint8_t **out, size_t *len);

/* Decode the record in the log entry at ref. Caller frees with record_free. */
int store_load_record(store_t *s, MDB_txn *txn, const uint8_t ref[STORE_LOGKEY_LEN],
                      Scsms__Record **out);

/* Visit the current version of every record whose by_status key starts
 * with prefix (type byte, then optionally status and NUL). A non-zero
 * return of fn stops the scan and is returned. */
int store_scan_status(store_t *s, MDB_txn *txn, const uint8_t *prefix, size_t plen,
                      store_visit_fn fn, void *ctx);

typedef int (*store_txn_body_fn)(store_t *s, MDB_txn *txn, void *ctx);

/* Run body in one write transaction and commit it durably. On a full map
 * the transaction is dropped, the map grown and body run again from the
 * start, so body must derive everything from what it reads in txn. */
int store_write_txn(store_t *s, store_txn_body_fn body, void *ctx);

/* by_status and by_due keys of a record; lengths returned. buf must hold
 * 2 * RECORD_MAX_ID + 8 bytes. */
size_t store_status_key(const Scsms__Record *rec, const char *id, uint8_t *buf);
size_t store_due_key(int64_t day, const char *id, uint8_t *buf);

#endif

/* store.h -- a site's (or head office's) registers in one LMDB environment.
 *
 * Layout of a store directory:
 *   data.mdb, lock.mdb   the LMDB environment
 *   keys/sign.key        Ed25519 private key, mode 0600 (made by store_create)
 *   keys/sign.pub        the public key, hex
 *   keys/curve.key       CURVE secret key for ZeroMQ (Z85), mode 0600
 *   keys/curve.pub       CURVE public key (Z85)
 *   scsms.lock           shared by every process using the store, taken
 *                        exclusively by restore
 *   scsms.ini            settings (config.h), written with defaults by create
 *   serve.lock           head office: held by the one `scsms-server run`
 *                        serving the store (server/serve.c)
 *   run.lock             a site or partner: held by the one `scsms-agent run`
 *                        syncing the store (agent/cmd_run.c)
 *
 * Named sub-databases (keys big-endian so cursors scan in order):
 *   meta        "format", "owner", "role", "sign_pub", "next_owner"
 *   owners      owner name -> owner index, head sequence, head hash
 *   log         owner index | seq -> LogEntry bytes, exactly as hashed
 *   checkpoints owner index | seq -> Checkpoint bytes (signed chain head)
 *   latest      id -> version | owner index | seq   (the current version)
 *   versions    id NUL version -> owner index | seq (superseded versions)
 *   by_status   body case | status NUL id -> ""
 *   by_due      due day | id -> ""
 *   identities  id -> Identity bytes
 *   received    id NUL version -> exact Record bytes of a sealed record
 *               (seal.h) another identity sent outside any chain: head
 *               office's credibility reviews, at a partner
 *
 * Every logical change (a record version, its indices, its log entry and
 * the signed checkpoint over the new head) is one write transaction: all of
 * it commits or none does. Commits are durable (fsync) unless the caller
 * batches. The map grows on MDB_MAP_FULL after a free-disk check.
 *
 * All functions return 0 or a negative enum scsms_err with a message (see
 * error.h). Records passed to callbacks are borrowed for the callback only.
 */
#ifndef SCSMS_STORE_H
#define SCSMS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "error.h"
#include "record.h"

typedef struct store store_t;
typedef struct store_batch store_batch_t;

enum store_role {
    STORE_ROLE_SITE = 1,
    STORE_ROLE_HQ = 2,
    STORE_ROLE_PARTNER = 3,
};

/* The enum record_issuer bit of a role: which types it may issue is
 * record_type.issuers & record_issuer_bit(role). */
static inline unsigned record_issuer_bit(enum store_role role)
{
    return 1u << (role - 1);
}

struct store_options {
    size_t map_size;      /* initial map size in bytes; 0 = 64 MiB */
    const char *key_path; /* private key; NULL = DIR/keys/sign.key */
    int read_only;        /* open without write access (verify a backup) */
    const char *server;     /* store_create: head office's endpoint and CURVE key */
    const char *server_key; /* for scsms.ini's [sync], checked first (config.h);
                               NULL = left empty */
    uint64_t (*restore_reach)(const char *dir); /* store_restore: the entry
                               the backup's own log must reach (one head office
                               acknowledged), asked once the store is locked,
                               so that no sync lands between; NULL: none */
    int restore_drop_newer; /* store_restore: the backup may end before the
                               store; its later entries are given up */
    int settings_optional;  /* store_open: a scsms.ini that cannot be used
                               gives its defaults instead of SCSMS_ECONFIG,
                               the reason kept (store_settings_refused) */
};

/* Create a new store in dir (created if missing; must not hold a store)
 * for identity owner, with a fresh signing key. opts may be NULL. On
 * failure nothing of a half-made store is left behind in dir. */
int store_create(const char *dir, const char *owner, enum store_role role,
                 const struct store_options *opts) SCSMS_MUST_CHECK;

/* Open an existing store. Refused: a missing store (SCSMS_ENOTFOUND), a key
 * that is not the store's (SCSMS_EKEY), a truncated or damaged data file
 * (SCSMS_ECORRUPT). opts may be NULL. Caller closes with store_close(). */
int store_open(const char *dir, const struct store_options *opts,
               store_t **out) SCSMS_MUST_CHECK;

/* Close and set *s to NULL. Accepts NULL. */
void store_close(store_t **s);

/* LMDB checks some invariants of the pages it reads with assertions, and
 * ends the process with abort() when one fails: on a damaged data file.
 * fn (process-wide; NULL: none) is called first with LMDB's one-line
 * description, so that a program can say so in its own words and exit
 * with its own code; if fn returns, abort() follows. */
void store_on_damage(void (*fn)(const char *what));

/* The store's identity (borrowed, lives as long as s), role and key. */
const char *store_owner(const store_t *s);
enum store_role store_role(const store_t *s);
void store_public_key(const store_t *s, uint8_t pub[CRYPTO_PUB_LEN]);
const char *store_dir(const store_t *s);

/* The settings read from DIR/scsms.ini at open (borrowed). */
const struct scsms_config *store_config(const store_t *s);

/* Why the store's scsms.ini could not be used, when it was opened with
 * settings_optional and its defaults were taken instead; NULL otherwise.
 * Borrowed: valid until store_close(). */
const char *store_settings_refused(const store_t *s);

/* Name recorded as author of the versions this process writes; the owner
 * when never set. Copied. */
int store_set_author(store_t *s, const char *author) SCSMS_MUST_CHECK;

/* ---------------------------------------------------------------- writes */

/* A batch collects records and commits them in one transaction under one
 * signed checkpoint (group commit). Records are borrowed: each must stay
 * alive and unchanged until commit or destroy. A record with an empty id
 * is new; one with an id is the next version of that record. */
int store_batch_new(store_t *s, store_batch_t **out) SCSMS_MUST_CHECK;

/* Queue rec. The commit validates it (normalising it in place, see
 * record_validate()) and refuses a type this store's role may not issue
 * (rule 8); a failure there names the record's position in the batch.
 * A link whose target is "@N" names the record queued at position N
 * (from 0) of the same batch, before this one: the commit replaces it by
 * that record's id, so records that link to one another commit together. */
int store_batch_add(store_batch_t *b, Scsms__Record *rec) SCSMS_MUST_CHECK;

/* Queue rec to be restored as it was exported: with its own id, version,
 * created_at, updated_at and author (rebuilding a site's store from its
 * export). The id must be this store's and not yet in it. New ids given
 * afterwards are numbered above every restored one. */
int store_batch_add_preserved(store_batch_t *b, Scsms__Record *rec) SCSMS_MUST_CHECK;

/* Make room for n records in all, so that queueing them never moves the
 * queue: an import knows its size before it queues 100,000 records. */
int store_batch_reserve(store_batch_t *b, size_t n) SCSMS_MUST_CHECK;

/* Call fn(ctx, done, total) every few thousand records while committing. */
void store_batch_on_progress(store_batch_t *b, void (*fn)(void *ctx, size_t done, size_t total),
                             void *ctx);

struct store_batch_error {
    size_t index;        /* position in the batch, from 0 */
    const char *message; /* one line */
};

/* Every record the last failed commit refused: all records failing
 * validation or the rules that need no store, and the first failing those
 * that do (nothing is written after it). At most 1000. Borrowed. */
const struct store_batch_error *store_batch_errors(const store_batch_t *b, size_t *n);

/* Commit every queued record durably, in one transaction under one signed
 * checkpoint. Large batches are validated and packed on a second thread
 * while this one writes. On failure nothing of the batch is stored.
 * Afterwards store_batch_id() gives each record's id. */
int store_batch_commit(store_batch_t *b) SCSMS_MUST_CHECK;

/* Everything store_batch_commit() checks, in a transaction that is then
 * dropped: 0 when the batch would commit; otherwise the errors are in
 * store_batch_errors(). Writes nothing. */
int store_batch_check(store_batch_t *b) SCSMS_MUST_CHECK;

/* The id given to the i-th record by the last successful commit; borrowed,
 * lives as long as the batch. */
const char *store_batch_id(const store_batch_t *b, size_t i);

/* What the rules wrote besides the queued records in the last successful
 * commit (rule 3 and 4 follow-ups), one line each: "rule 4: item 2
 * nonconforming: raised nonconformity X". Borrowed, lives as long as b. */
const char *const *store_batch_raised(const store_batch_t *b, size_t *n);

/* Free the batch (not the records) and set *b to NULL. Accepts NULL. */
void store_batch_destroy(store_batch_t **b);

/* One record in its own durable transaction; the id is copied to id_out
 * (RECORD_MAX_ID + 1 bytes) unless it is NULL. */
int store_put(store_t *s, Scsms__Record *rec, char *id_out) SCSMS_MUST_CHECK;

/* Dispose of record id after its retention period (created_at plus
 * retention_days): writes its last version, a tombstone with the envelope,
 * no content, status "disposed" and the reason. Refused before the period
 * ends (SCSMS_ERULE) and for an author not named in disposal_authorised
 * (SCSMS_EPERM). Earlier versions stay in the hash-chained log, which
 * cannot drop bytes without breaking; list, show and export no longer
 * serve their content. */
int store_dispose(store_t *s, const char *id, const char *reason) SCSMS_MUST_CHECK;

/* ----------------------------------------------------------------- reads */

/* Callback for scans; a non-zero return stops the scan and is returned. */
typedef int (*store_visit_fn)(const Scsms__Record *rec, void *ctx);

/* Version `version` of record id (0 = latest). Caller frees with
 * record_free(). SCSMS_ENOTFOUND when there is no such record or version. */
int store_get(store_t *s, const char *id, uint32_t version,
              Scsms__Record **out) SCSMS_MUST_CHECK;

/* The exact stored bytes of version `version` (0 = latest) of record id,
 * as written and hashed: malloc'd into *out, caller frees. */
int store_get_bytes(store_t *s, const char *id, uint32_t version, uint8_t **out,
                    size_t *len) SCSMS_MUST_CHECK;

/* Every version of id, oldest first. SCSMS_ENOTFOUND when none. */
int store_history(store_t *s, const char *id, store_visit_fn fn, void *ctx) SCSMS_MUST_CHECK;

struct store_filter {
    const char *type;   /* NULL = every type */
    const char *status; /* NULL = every status; needs type */
};

/* The latest version of every record matching filter (may be NULL), by
 * type then id. Uses the by_status index when a type is given. */
int store_list(store_t *s, const struct store_filter *filter, store_visit_fn fn,
               void *ctx) SCSMS_MUST_CHECK;

/* Latest versions with a due day at or before until_day, soonest first. */
int store_due(store_t *s, int64_t until_day, store_visit_fn fn, void *ctx) SCSMS_MUST_CHECK;

/* The current version of one record as stored, for scans that decode
 * only what they need (reports over millions of records). Borrowed from
 * the read transaction: valid for the callback only. */
struct store_current {
    const char *id;         /* not NUL-terminated: id_len bytes */
    size_t id_len;
    uint32_t owner;         /* owner index, see store_owners() */
    const uint8_t *record;  /* the packed Record, exactly as in the log */
    size_t record_len;
};

typedef int (*store_current_fn)(const struct store_current *cur, void *ctx);

/* Visit the current version of every record with start <= id < end, in
 * id order, in one read transaction (start NULL: from the first; end
 * NULL: to the last). No record is decoded here: the log entry is parsed
 * with protobuf-c into a scratch arena reused from entry to entry, so the
 * scan allocates nothing per record. Safe to run from several threads at
 * once over disjoint ranges (each has its own transaction). A non-zero
 * return of fn stops the scan and is returned. Every `every` records
 * (0 = never) progress(ctx, done) is called. The pages of the store read
 * are given back as the scan goes (madvise), so its resident memory stays
 * a few MB however large the store. */
int store_scan_current(store_t *s, const char *start, const char *end, store_current_fn fn,
                       void (*progress)(void *ctx, uint64_t done), uint64_t every,
                       void *ctx) SCSMS_MUST_CHECK;

/* Every owner with a log here, by name: its owner index (as in struct
 * store_current) and head sequence. A non-zero return of fn stops. */
int store_owners(store_t *s, int (*fn)(const char *owner, uint32_t idx, uint64_t head, void *ctx),
                 void *ctx) SCSMS_MUST_CHECK;

struct store_stats {
    uint64_t records;     /* distinct ids */
    uint64_t entries;     /* log entries, all owners */
    uint64_t checkpoints;
    uint64_t head_seq;    /* this store's owner */
    uint8_t head_hash[CRYPTO_HASH_LEN];
    size_t map_size;
    size_t map_used;
};

int store_stats(store_t *s, struct store_stats *out) SCSMS_MUST_CHECK;

/* ------------------------------------------------------------ identities */

/* Write an identity (a site, partner or head-office user this store syncs
 * with, or head office at a site), new or updated: its role, CURVE key and
 * signing key. A revoked identity stays, flagged. Durable. To enrol a new
 * one, use store_identity_enrol(). */
int store_identity_put(store_t *s, const Scsms__Identity *id) SCSMS_MUST_CHECK;

/* Enrol a new identity, as store_identity_put() writes one, but never over
 * another: SCSMS_EEXIST, nothing written, when its id is enrolled already
 * (revoked or not: an enrolment would un-revoke it, and new signing keys
 * would make its log verify no more) or its CURVE key is another
 * identity's (the server could not tell the two apart). */
int store_identity_enrol(store_t *s, const Scsms__Identity *id) SCSMS_MUST_CHECK;

/* 1 when name can be an identity (a site, partner or head office): 1 to
 * 64 letters, digits, '-', '_' or '.'. */
int store_valid_identity(const char *name);

/* Caller frees *out with scsms__identity__free_unpacked(*out, NULL). */
int store_identity_get(store_t *s, const char *id, Scsms__Identity **out) SCSMS_MUST_CHECK;

/* Every identity, by id; a non-zero return of fn stops and is returned. */
int store_identity_list(store_t *s, int (*fn)(const Scsms__Identity *id, void *ctx),
                        void *ctx) SCSMS_MUST_CHECK;

/* ------------------------------------------------------------ received */

/* Keep a sealed record another identity sent outside any chain (exact
 * bytes; the caller has checked its seal with seal_check()). Durable.
 * Idempotent by (id, version): the same bytes again set *added to 0;
 * other bytes for the same id and version are refused (SCSMS_ETAMPER). */
int store_received_put(store_t *s, const Scsms__Record *rec, const uint8_t *bytes, size_t len,
                       int *added) SCSMS_MUST_CHECK;

/* fn gets each received record (decoded) and its bytes, by id then
 * version; both borrowed for the call. A non-zero return stops. */
typedef int (*store_received_fn)(const Scsms__Record *rec, const uint8_t *bytes, size_t len,
                                 void *ctx);
int store_received_list(store_t *s, store_received_fn fn, void *ctx) SCSMS_MUST_CHECK;

/* ---------------------------------------------------------------- backup */

/* Online compacted copy into dest_dir (created if missing; must not hold a
 * data.mdb), then verified. Writers may go on meanwhile. */
int store_backup(store_t *s, const char *dest_dir) SCSMS_MUST_CHECK;

/* Replace the store in dir by the backup in src_dir, only after the backup
 * verifies in full against this store's key and owner; refused while
 * another process has the store open (SCSMS_EBUSY), and when the backup's
 * own log ends before the store's (entries would be dropped: a store that
 * does not open is not asked; opts->restore_drop_newer allows it) or before
 * what opts->restore_reach answers (SCSMS_ERULE:
 * the next record would reuse a number head office holds, a fork). opts
 * may be NULL. */
int store_restore(const char *dir, const char *src_dir,
                  const struct store_options *opts) SCSMS_MUST_CHECK;

#endif

/* sync.h -- the store's side of synchronisation: a log read as an outbox,
 * and other owners' logs taken in, verified, exactly once.
 *
 * The log itself is the durable outbox: nothing leaves it, and a sender
 * resends from the receiver's head after any failure. The receiver applies
 * a batch in one transaction or not at all, and idempotently by (owner,
 * sequence): an entry it holds already, byte for byte, is skipped, so
 * delivery at least once has the effect of exactly once.
 */
#ifndef SCSMS_SYNC_H
#define SCSMS_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "store.h"

/* who as enrolled here, when it may sync: SCSMS_EPERM when it is not
 * enrolled ("'WH-1' is not enrolled here") or has been revoked ("'WH-1'
 * has been revoked"). The server asks at every request, not only at the
 * handshake: a session outlives the check that admitted it. Caller frees
 * *out with scsms__identity__free_unpacked(*out, NULL). */
int sync_admitted(store_t *s, const char *who, Scsms__Identity **out) SCSMS_MUST_CHECK;

/* The head of owner's log here: sequence 0 and 32 zero bytes when none. */
int sync_head(store_t *s, const char *owner, uint64_t *seq,
              uint8_t hash[CRYPTO_HASH_LEN]) SCSMS_MUST_CHECK;

typedef int (*sync_entry_fn)(const uint8_t *bytes, size_t len, uint64_t seq, void *ctx);

/* Call fn with the exact stored bytes of owner's entries from seq `from`,
 * at most max of them, in order (borrowed for the call). */
int sync_read_log(store_t *s, const char *owner, uint64_t from, size_t max, sync_entry_fn fn,
                  void *ctx) SCSMS_MUST_CHECK;

/* The largest message of the sync protocol either way (WIRE.md): head
 * office's ZMQ_MAXMSGSIZE. ZeroMQ drops a larger one unanswered and closes
 * the connection, so a sender must never build one. */
#define SYNC_MESSAGE_MAX ((size_t)64 << 20)

/* A batch's entries in bytes, at most (sync_batch_read), bar a first entry
 * alone, which is never larger than a record and a few fields: half of
 * SYNC_MESSAGE_MAX, the rest room for each entry's protobuf framing and
 * the checkpoint. Records may be 1 MiB each, so 1000 of them can be far
 * larger than a message: a batch is limited by count and by bytes. */
#define SYNC_BATCH_MAX_BYTES ((size_t)32 << 20)

/* A batch of this store's own log, ready to send without a copy of its
 * entries: v[0..n-1] are the stored bytes themselves, in the store's map,
 * borrowed from a read transaction that sync_batch_end() ends (before the
 * next write on the same thread); cp is a checkpoint signed now over the
 * last, whose sequence is `last` (0 when none). Reading into owned copies
 * first cost a copy and an allocation per entry, and then the message a
 * copy of them all. A zeroed struct is empty; v is kept for the next read. */
struct sync_batch {
    ProtobufCBinaryData *v;
    size_t n, cap;
    uint64_t last;
    uint8_t *cp;
    size_t cp_len;
    void *txn;                   /* the read transaction v lives in */
};

/* Read at most max entries of this store's log from seq `from` into b,
 * and no more than SYNC_BATCH_MAX_BYTES of them (at least one, when there
 * is one), ending b's previous read first. SCSMS_EKEY when the store is
 * open without its key. */
int sync_batch_read(store_t *s, uint64_t from, size_t max, struct sync_batch *b) SCSMS_MUST_CHECK;

/* End b's read: v no longer points anywhere; cp is freed. */
void sync_batch_end(struct sync_batch *b);

/* End b's read and free all it holds. */
void sync_batch_free(struct sync_batch *b);

/* A checkpoint signed now by this store's key over its own log at seq
 * (1 <= seq <= head), for the receiver of a batch ending there. Caller
 * frees *out. */
int sync_checkpoint_at(store_t *s, uint64_t seq, uint8_t **out, size_t *len) SCSMS_MUST_CHECK;

/* The check of a round's uploads. Its entries go under checkpoints
 * signed now (sync_batch_read); it makes sure they are the ones this store
 * signed when it wrote them, else signing now would put this site's
 * signature on bytes altered on disk. */
struct sync_outbox {
    store_t *s;                    /* borrowed, for the life of the round */
    uint64_t after;                /* the walk began after this entry */
    uint64_t checked;              /* entries after+1..checked are checked */
    uint64_t sent;                 /* the last entry sync_outbox_sent() passed */
    uint8_t hash[CRYPTO_HASH_LEN]; /* of entry `checked`, when have */
    int have;
    uint8_t (*hashes)[CRYPTO_HASH_LEN]; /* of entries after+1..kept, in order */
    uint64_t kept;                 /* hashes are kept up to here (<= checked) */
    size_t cap;                    /* entries hashes holds room for */
    size_t keep_max;               /* hashes kept at most; 0: SYNC_OUTBOX_KEEP_MAX
                                      (kept across begin and end) */
};

/* Hashes an outbox keeps at most (32 MiB): an upload past them, in a commit
 * longer than that (one import of millions of rows), walks it again. */
#define SYNC_OUTBOX_KEEP_MAX ((size_t)1 << 20)

/* Begin the check after entry `after` (0: none), which head office holds
 * and whose hash it gave back (so it is not checked again). Ends what o
 * held before; a zeroed o holds nothing. */
void sync_outbox_begin(struct sync_outbox *o, store_t *s, uint64_t after);

/* Make entries first..*last ready to send: checked (sync_outbox_check_to),
 * the walk begun again after first - 1 when first is before its start
 * (head office went back). When the check of the rest fails, *last is
 * lowered to the end of what is checked and 0 returned, so that what was
 * checked goes; the failure is returned only when nothing from first on
 * can go (it then names first as the first entry not sent). */
int sync_outbox_ready(struct sync_outbox *o, uint64_t first, uint64_t *last) SCSMS_MUST_CHECK;

/* Free what o holds; it is then as zeroed. */
void sync_outbox_end(struct sync_outbox *o);

/* Before an upload ending at entry `last` is signed: that entry, as read
 * for it (hash), hashes as the check found it. The check and the read are
 * two reads of the data file: bytes rewritten in between, a chain altered
 * from some entry to the upload's end, would go under this site's
 * signature otherwise. (An entry altered inside the upload without its end
 * breaks the chain, which head office refuses.) Past the hashes kept
 * (SYNC_OUTBOX_KEEP_MAX), the stretch is walked again first. SCSMS_ETAMPER
 * naming the entry, and `first`, the upload's first entry, as the first
 * not sent. */
int sync_outbox_sent(struct sync_outbox *o, uint64_t first, uint64_t last,
                     const uint8_t hash[CRYPTO_HASH_LEN]) SCSMS_MUST_CHECK;

/* sync_batch_read() for an upload of the round o checks: the checkpoint is
 * signed only once sync_outbox_sent(o, from, ...) passes the entry it
 * signs. */
int sync_batch_read_checked(store_t *s, uint64_t from, size_t max, struct sync_batch *b,
                            struct sync_outbox *o) SCSMS_MUST_CHECK;

/* Check, before entries up to `to` are sent, what is not checked yet: each
 * entry links to the one before it, as far as the first checkpoint stored
 * at or after `to` (a commit's last entry has one), and that checkpoint,
 * this store's signature from when it was written, signed the head
 * reached. So a round checks one commit's stretch at a time, between its
 * uploads, rather than all of its backlog before its first (a backlog's
 * check costs a SHA-256 and a decode an entry). 0 when `to` is checked
 * already; SCSMS_ETAMPER naming the entry, as verify would, and the first
 * entry not sent, o->checked unchanged. */
int sync_outbox_check_to(struct sync_outbox *o, uint64_t to) SCSMS_MUST_CHECK;

struct sync_result {
    uint64_t applied;    /* entries written */
    uint64_t duplicates; /* entries held already, skipped */
    uint64_t head_seq;   /* owner's head here afterwards (or still) */
    uint8_t head[CRYPTO_HASH_LEN];
};

/* Take in a batch of owner's log entries (exact bytes, consecutive) and
 * the owner's checkpoint over the last. Refused, with nothing written:
 * an owner not enrolled or revoked, or entries that are not all the
 * owner's own or of types its role may issue (SCSMS_EPERM); entries that
 * do not decode, do not link, differ from ones accepted before (a fork)
 * or a checkpoint that does not verify (SCSMS_ETAMPER); entries after a
 * gap (SCSMS_EGAP: res->head_seq says where to resume). */
struct sync_seen;

/* seen, when not NULL, is written in the same transaction (the server
 * notes who it heard from without a write of its own). */
int sync_ingest(store_t *s, const char *owner, const ProtobufCBinaryData *entries, size_t n,
                const uint8_t *checkpoint, size_t cp_len, const struct sync_seen *seen,
                struct sync_result *res) SCSMS_MUST_CHECK;

/* One upload of a group: what sync_ingest takes, and what became of it.
 * Everything in is borrowed for the call. */
struct sync_upload {
    const char *owner;
    const ProtobufCBinaryData *entries;
    size_t n;
    const uint8_t *checkpoint;
    size_t cp_len;
    const struct sync_seen *seen;
    struct sync_result res; /* out: as sync_ingest's */
    int rc;                 /* out: 0, or why it was refused (nothing of it written) */
    char *message;          /* out: the refusal's one line; free with sync_upload_clear() */
    struct sync_pre *pre;   /* its checks made ahead (sync_upload_precheck), or NULL;
                               owned: free with sync_upload_clear() */
    void *caller;           /* the caller's own (for a step hook): never touched here */
};

/* Decode an upload's entries and their records and make every check of
 * them that needs no store (each record's own rules, the SHA-256 of each
 * entry), keeping the outcome in u->pre for sync_ingest_group(), which
 * otherwise does this itself. Refuses nothing: a failure found is kept
 * and named by sync_ingest_group() in its place among the checks that
 * need the store (the link to the stored head, the sender's role and
 * key, an older version), so the refusal is the same either way. It
 * touches nothing but u (the entries borrowed, read only) and memory of
 * its own, so another thread may run it while this one writes: head
 * office checks the next uploads while its last commit waits for the
 * disk. store_role: that of the store that will take u in. 0, or
 * SCSMS_ENOMEM. Nothing done when u->pre was made for u already; one made
 * for other entries, another owner or another store role is made again. */
int sync_upload_precheck(struct sync_upload *u, enum store_role store_role) SCSMS_MUST_CHECK;

/* Take in n uploads in one transaction and one durable commit (group
 * commit: every upload waiting at once costs one disk flush, not one
 * each). Each upload is applied whole or not at all, in order, exactly as
 * sync_ingest() would apply it (a nested transaction each), and a refused
 * upload leaves the others be. Returns 0 when the group was committed,
 * whatever each upload's rc; otherwise nothing was written and every
 * upload's rc is the error. */
int sync_ingest_group(store_t *s, struct sync_upload *ups, size_t n) SCSMS_MUST_CHECK;

/* sync_ingest_group(), calling step(arg, u) while its write transaction
 * is open: before each upload u is taken in, and with u NULL after the
 * last, before the commit, which waits for the disk. For head office: to
 * read the requests that arrived meanwhile and hand their uploads to a
 * thread that checks them ahead (precheck.h), and to give u the checks
 * that thread made (u->pre) only when u is next, so that the thread
 * checks one upload while this one writes the one before. With a step,
 * an upload it leaves without u->pre is checked in the transaction, when
 * its turn comes (without one, every upload's checks that need no store
 * are made before the transaction begins). step must not touch the store
 * (the transaction is this thread's), and may be called again for the
 * same upload if the group is written again (after the map grows, or one
 * by one). */
int sync_ingest_group_then(store_t *s, struct sync_upload *ups, size_t n,
                           void (*step)(void *arg, struct sync_upload *next),
                           void *arg) SCSMS_MUST_CHECK;

/* Free what sync_ingest_group() left in each of ups[0, n). */
void sync_upload_clear(struct sync_upload *ups, size_t n);

/* Records are dated by the clock of the machine that writes them: a clock
 * this far from head office's, either way, is said to be wrong (by the
 * agent and by head office, both in their logs). Five minutes, as Kerberos
 * allows: far beyond what NTP keeps, and far below a wrong time zone. */
#define SYNC_CLOCK_TOLERANCE_S 300
#define SYNC_CLOCK_UNKNOWN INT64_MIN

/* A clock said to be wrong is said to be right again only once it is a
 * minute nearer than that: measured to the second, a clock at the limit
 * would otherwise be said wrong and right at every round. */
#define SYNC_CLOCK_MARGIN_S 60

/* 1 when offset (seconds, a clock minus head office's) is known and
 * beyond SYNC_CLOCK_TOLERANCE_S either way. */
int sync_clock_wrong(int64_t offset);

/* 1 when offset is known and within SYNC_CLOCK_TOLERANCE_S less
 * SYNC_CLOCK_MARGIN_S either way. */
int sync_clock_right(int64_t offset);

/* theirs - ours, two clocks in Unix seconds; SYNC_CLOCK_UNKNOWN when
 * either is outside the years 1900-9999 (0, not said, among them): a
 * value from the wire may be anything, INT64_MIN included. */
int64_t sync_clock_offset(int64_t theirs, int64_t ours);

/* When an identity was last heard from, the backlog it reported, and how
 * far its clock was from head office's at its last Hello: kept by the
 * server, written a few at a time. */
struct sync_seen {
    char id[RECORD_MAX_ID + 1];
    int64_t last_seen; /* seconds since the epoch; 0 = never */
    uint64_t backlog;
    int64_t clock_offset; /* its clock minus head office's, s; SYNC_CLOCK_UNKNOWN */
};

/* Write n records of who was seen, in one transaction. */
int sync_seen_put(store_t *s, const struct sync_seen *v, size_t n) SCSMS_MUST_CHECK;

/* Read one; last_seen 0 when never seen, clock_offset SYNC_CLOCK_UNKNOWN
 * when never said (or kept by a server from before it was). */
int sync_seen_get(store_t *s, const char *id, struct sync_seen *out) SCSMS_MUST_CHECK;

#endif

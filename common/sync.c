/* sync.c -- outbox reading and verified ingest; see sync.h. */
#include "sync.h"
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "chain.h"
#include "isotime.h"
#include "rules.h"
#include "seal.h"

int sync_head(store_t *s, const char *owner, uint64_t *seq, uint8_t hash[CRYPTO_HASH_LEN])
{
    MDB_txn *txn;
    MDB_val k = {strlen(owner), (void *)owner}, v;
    struct store_owner_state st = {0};
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    int mrc = mdb_get(txn, s->owners, &k, &v);
    if (mrc == 0 && v.mv_size == STORE_OWNER_LEN)
        store_owner_decode(&v, &st);
    else if (mrc == 0)
        rc = scsms_fail(SCSMS_ECORRUPT, "log head of %s is malformed", owner);
    else if (mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read log head");
    mdb_txn_abort(txn);
    *seq = st.seq;
    memcpy(hash, st.head, CRYPTO_HASH_LEN);
    return rc;
}

/* sync_read_log in a read transaction the caller holds. */
static int read_log_in(store_t *s, MDB_txn *txn, const char *owner, uint64_t from, size_t max,
                       sync_entry_fn fn, void *ctx)
{
    MDB_cursor *cur;
    struct store_owner_state st;
    uint8_t key[STORE_LOGKEY_LEN];
    int rc = store_owner_load(s, txn, owner, &st);
    if (rc)
        return rc;
    int mrc = mdb_cursor_open(txn, s->log, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "read log");
    store_log_key(st.idx, from, key);
    MDB_val k = {sizeof key, key}, v;
    size_t n = 0;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == 0 && n < max;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
        if (k.mv_size != STORE_LOGKEY_LEN || store_get_be32(k.mv_data) != st.idx)
            break;
        uint64_t seq = store_get_be64((uint8_t *)k.mv_data + 4);
        if (seq != from + n)
            rc = scsms_fail(SCSMS_ECORRUPT, "log of %s lacks entry %llu; run verify", owner,
                            (unsigned long long)(from + n));
        else
            rc = fn(v.mv_data, v.mv_size, seq, ctx);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read log");
    mdb_cursor_close(cur);
    return rc;
}

int sync_read_log(store_t *s, const char *owner, uint64_t from, size_t max, sync_entry_fn fn,
                  void *ctx)
{
    MDB_txn *txn;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = read_log_in(s, txn, owner, from, max, fn, ctx);
    mdb_txn_abort(txn);
    return rc;
}

/* This store's checkpoint over its own head at seq, signed now. */
static int sign_now(store_t *s, uint64_t seq, const uint8_t head[CRYPTO_HASH_LEN], uint8_t **out,
                    size_t *len)
{
    char now[ISOTIME_INSTANT_LEN + 1];
    isotime_format_instant(isotime_now(), now);
    return chain_checkpoint_make(s->key, s->owner, seq, head, now, out, len);
}

/* A full batch fits a message: its entries, each one's framing (a tag and
 * a length, at most 6 bytes; an agent's --batch allows 100,000 entries),
 * and a record's worth for the checkpoint and the other fields. */
_Static_assert(SYNC_BATCH_MAX_BYTES + (size_t)100000 * 6 + RECORD_MAX_BYTES < SYNC_MESSAGE_MAX,
               "a batch of SYNC_BATCH_MAX_BYTES does not fit in a message");

#define BATCH_FULL 1 /* view_entry: the next entry would not fit; no error */

struct batch_view {
    struct sync_batch *b;
    size_t bytes; /* of the entries taken */
};

static int view_entry(const uint8_t *bytes, size_t len, uint64_t seq, void *ctx)
{
    struct batch_view *w = ctx;
    struct sync_batch *b = w->b;
    if (b->n && w->bytes + len > SYNC_BATCH_MAX_BYTES)
        return BATCH_FULL;
    b->v[b->n].data = (uint8_t *)bytes;
    b->v[b->n].len = len;
    b->n++;
    b->last = seq;
    w->bytes += len;
    return 0;
}

/* o: the round's outbox check, which must pass the last entry before it
 * is signed; NULL: none. */
static int batch_read(store_t *s, uint64_t from, size_t max, struct sync_batch *b,
                      struct sync_outbox *o)
{
    MDB_txn *txn;
    uint8_t hash[CRYPTO_HASH_LEN];
    sync_batch_end(b);
    b->n = 0;
    b->last = 0;
    if (!s->key)
        return scsms_fail(SCSMS_EKEY, "store '%s' is open without its key", s->dir);
    if (max > b->cap) {
        ProtobufCBinaryData *v = realloc(b->v, max * sizeof *v);
        if (!v)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        b->v = v;
        b->cap = max;
    }
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    b->txn = txn;
    struct batch_view w = {b, 0};
    if ((rc = read_log_in(s, txn, s->owner, from, max, view_entry, &w)) == BATCH_FULL)
        rc = 0;
    if (rc == 0 && b->n) {
        chain_entry_hash(b->v[b->n - 1].data, b->v[b->n - 1].len, hash);
        if (o)
            rc = sync_outbox_sent(o, from, b->last, hash);
        if (rc == 0)
            rc = sign_now(s, b->last, hash, &b->cp, &b->cp_len);
    }
    if (rc)
        sync_batch_end(b);
    return rc;
}

int sync_batch_read(store_t *s, uint64_t from, size_t max, struct sync_batch *b)
{
    return batch_read(s, from, max, b, NULL);
}

int sync_batch_read_checked(store_t *s, uint64_t from, size_t max, struct sync_batch *b,
                            struct sync_outbox *o)
{
    return batch_read(s, from, max, b, o);
}

void sync_batch_end(struct sync_batch *b)
{
    if (b->txn)
        mdb_txn_abort(b->txn);
    b->txn = NULL;
    free(b->cp);
    b->cp = NULL;
    b->cp_len = 0;
}

void sync_batch_free(struct sync_batch *b)
{
    sync_batch_end(b);
    free(b->v);
    memset(b, 0, sizeof *b);
}

struct hash_at {
    uint8_t hash[CRYPTO_HASH_LEN];
    int found;
};

static int take_hash(const uint8_t *bytes, size_t len, uint64_t seq, void *ctx)
{
    struct hash_at *h = ctx;
    (void)seq;
    chain_entry_hash(bytes, len, h->hash);
    h->found = 1;
    return 0;
}

int sync_checkpoint_at(store_t *s, uint64_t seq, uint8_t **out, size_t *len)
{
    struct hash_at h = {0};
    if (!s->key)
        return scsms_fail(SCSMS_EKEY, "store '%s' is open without its key", s->dir);
    int rc = sync_read_log(s, s->owner, seq, 1, take_hash, &h);
    if (rc)
        return rc;
    if (!h.found || seq == 0)
        return scsms_fail(SCSMS_ENOTFOUND, "%s has no log entry %llu", s->owner,
                          (unsigned long long)seq);
    return sign_now(s, seq, h.hash, out, len);
}

struct outbox_walk {
    struct sync_outbox *o;
    uint64_t first;   /* the first entry this walk checks */
    uint64_t last;    /* the last entry it read */
    uint64_t keep_to; /* the last whose hash it keeps */
    struct arena arena;
};

/* Keep entry seq's hash (after < seq; room made by the walk's caller). */
static void outbox_keep(struct sync_outbox *o, uint64_t seq, const uint8_t h[CRYPTO_HASH_LEN])
{
    memcpy(o->hashes[seq - o->after - 1], h, CRYPTO_HASH_LEN);
}

/* Drop the hashes of entries already sent (the walk's start moves up to
 * the last of them) and make room for entries up to `end`, or as many as
 * SYNC_OUTBOX_KEEP_MAX: the stretch of one commit and one upload, 32 bytes
 * each. *keep_to: the last entry whose hash there is room for. */
static int outbox_room(struct sync_outbox *o, uint64_t end, uint64_t *keep_to)
{
    if (o->sent > o->after && o->sent <= o->kept) {
        size_t drop = (size_t)(o->sent - o->after), keep = (size_t)(o->kept - o->sent);
        memmove(o->hashes, o->hashes + drop, keep * sizeof *o->hashes);
        o->after = o->sent;
    }
    uint64_t span = end - o->after;
    size_t most = o->keep_max ? o->keep_max : SYNC_OUTBOX_KEEP_MAX;
    size_t need = span < most ? (size_t)span : most;
    *keep_to = o->after + need;
    if (need <= o->cap)
        return 0;
    void *h = realloc(o->hashes, need * sizeof *o->hashes);
    if (!h)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    o->hashes = h;
    o->cap = need;
    return 0;
}

static int outbox_entry(const uint8_t *bytes, size_t len, uint64_t seq, void *ctx)
{
    struct outbox_walk *w = ctx;
    struct sync_outbox *o = w->o;
    if (o->have) {
        Scsms__LogEntry *e = NULL;
        int ok = chain_entry_decode_with(arena_allocator(&w->arena), bytes, len, &e) == 0 &&
                 e->prev_hash.len == CRYPTO_HASH_LEN &&
                 memcmp(e->prev_hash.data, o->hash, CRYPTO_HASH_LEN) == 0;
        int no_memory = w->arena.failed; /* not the entry's fault */
        arena_reset(&w->arena);
        if (no_memory)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        if (!ok)
            return scsms_fail(SCSMS_ETAMPER, "entry %llu or the one before it was altered on "
                              "disk (it does not link to it): nothing from entry %llu on was "
                              "sent; run verify", (unsigned long long)seq,
                              (unsigned long long)w->first);
    }
    chain_entry_hash(bytes, len, o->hash);
    o->have = 1;
    w->last = seq;
    if (seq >= w->first && seq <= w->keep_to)
        outbox_keep(o, seq, o->hash);
    return 0;
}

void sync_outbox_end(struct sync_outbox *o)
{
    size_t keep_max = o->keep_max;
    free(o->hashes);
    memset(o, 0, sizeof *o);
    o->keep_max = keep_max;
}

void sync_outbox_begin(struct sync_outbox *o, store_t *s, uint64_t after)
{
    sync_outbox_end(o);
    o->s = s;
    o->after = after;
    o->checked = after;
    o->sent = after;
    o->kept = after;
}

int sync_outbox_ready(struct sync_outbox *o, uint64_t first, uint64_t *last)
{
    if (first - 1 < o->after)
        sync_outbox_begin(o, o->s, first - 1);
    int rc = sync_outbox_check_to(o, *last);
    if (rc == SCSMS_ETAMPER && o->checked >= first) {
        *last = o->checked; /* an earlier walk reached a checkpoint past first */
        rc = 0;
    }
    return rc;
}

int sync_outbox_sent(struct sync_outbox *o, uint64_t first, uint64_t last,
                     const uint8_t hash[CRYPTO_HASH_LEN])
{
    if (last <= o->after || last > o->checked)
        return scsms_fail(SCSMS_ETAMPER, "entry %llu of %s was not checked before it was sent: "
                          "nothing from entry %llu on was sent", (unsigned long long)last,
                          store_owner(o->s), (unsigned long long)first);
    if (last > o->kept) { /* past the hashes kept: walk from the last sent again */
        o->checked = o->kept = o->sent;
        o->have = 0;
        int rc = sync_outbox_check_to(o, last);
        if (rc)
            return rc;
    }
    if (memcmp(o->hashes[last - o->after - 1], hash, CRYPTO_HASH_LEN) != 0)
        return scsms_fail(SCSMS_ETAMPER, "entry %llu of %s changed on disk while it was being "
                          "sent: nothing from entry %llu on was sent; run verify",
                          (unsigned long long)last, store_owner(o->s),
                          (unsigned long long)first);
    o->sent = last;
    return 0;
}

/* The sequence of the first checkpoint of this store's own log stored at
 * or after entry `to`: a commit's last entry has one. */
static int checkpoint_from(store_t *s, MDB_txn *txn, uint32_t idx, uint64_t to, uint64_t *seq,
                           MDB_val *cp)
{
    MDB_cursor *cur;
    uint8_t key[STORE_LOGKEY_LEN];
    store_log_key(idx, to, key);
    MDB_val k = {sizeof key, key};
    int mrc = mdb_cursor_open(txn, s->checkpoints, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "read checkpoint");
    mrc = mdb_cursor_get(cur, &k, cp, MDB_SET_RANGE);
    int found = mrc == 0 && k.mv_size == STORE_LOGKEY_LEN && store_get_be32(k.mv_data) == idx;
    if (found)
        *seq = store_get_be64((uint8_t *)k.mv_data + 4);
    mdb_cursor_close(cur);
    if (mrc && mrc != MDB_NOTFOUND)
        return store_lmdb_fail(mrc, "read checkpoint");
    return found ? 0 : SCSMS_ENOTFOUND;
}

int sync_outbox_check_to(struct sync_outbox *o, uint64_t to)
{
    store_t *s = o->s;
    struct outbox_walk w = {.o = o, .first = o->checked + 1};
    struct store_owner_state st;
    uint64_t end = 0;
    MDB_val v;
    MDB_txn *txn;
    if (to <= o->checked)
        return 0;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    if ((rc = store_owner_load(s, txn, s->owner, &st)) == 0 &&
        (rc = checkpoint_from(s, txn, st.idx, to, &end, &v)) == 0)
        rc = outbox_room(o, end, &w.keep_to);
    else if (rc == SCSMS_ENOTFOUND)
        rc = scsms_fail(SCSMS_ETAMPER, "%s's log has no checkpoint its owner signed at or after "
                        "entry %llu: nothing from entry %llu on was sent; run verify", s->owner,
                        (unsigned long long)to, (unsigned long long)w.first);
    /* from the entry head office holds (none: the first links to nothing
     * this walk checks), or the last one checked, every entry once */
    uint64_t from = o->have ? o->checked + 1 : o->checked ? o->checked : 1;
    if (rc == 0)
        rc = read_log_in(s, txn, s->owner, from, (size_t)(end - from + 1), outbox_entry, &w);
    if (rc == 0) {
        Scsms__Checkpoint *cp = NULL;
        if (w.last != end || chain_checkpoint_check(s->pub, v.mv_data, v.mv_size, &cp) != 0 ||
            !chain_checkpoint_names(cp, s->owner, end, o->hash))
            rc = scsms_fail(SCSMS_ETAMPER, "entry %llu of %s does not match the chain head its "
                            "owner signed: nothing from entry %llu on was sent; run verify",
                            (unsigned long long)end, s->owner, (unsigned long long)w.first);
        if (cp)
            scsms__checkpoint__free_unpacked(cp, NULL);
    }
    mdb_txn_abort(txn);
    arena_free(&w.arena);
    if (rc == 0) {
        o->checked = end;
        o->kept = w.keep_to < end ? w.keep_to : end;
    } else {
        o->have = 0; /* o->hash may be a later entry's: check again from o->checked */
    }
    return rc;
}

/* ------------------------------------------------------------ ingest */


static int seen_body(store_t *s, MDB_txn *txn, void *ctx);

static enum store_role store_role_of(Scsms__Identity__Role role)
{
    return role == SCSMS__IDENTITY__ROLE__HQ        ? STORE_ROLE_HQ
           : role == SCSMS__IDENTITY__ROLE__PARTNER ? STORE_ROLE_PARTNER
                                                    : STORE_ROLE_SITE;
}

/* The entry at seq already here is byte for byte these bytes? */
static int same_as_stored(store_t *s, MDB_txn *txn, uint32_t idx, uint64_t seq,
                          const ProtobufCBinaryData *b)
{
    uint8_t key[STORE_LOGKEY_LEN];
    store_log_key(idx, seq, key);
    MDB_val k = {sizeof key, key}, v;
    return mdb_get(txn, s->log, &k, &v) == 0 && v.mv_size == b->len &&
           memcmp(v.mv_data, b->data, b->len) == 0;
}

/* ------------------------------------------------------------ checks ahead
 *
 * What an entry's checks need of no store (decoding it and its record,
 * the record's own rules, the SHA-256 of its bytes) is done for a whole
 * upload at once, before the transaction that writes it, and may be done
 * on another thread meanwhile (sync_upload_precheck). The checks that read
 * the store or the sender's enrolment (the link to the stored head, the
 * role, a seal, an older version) are made in the transaction, and in the
 * order take_entry() has always made them: the first check to fail is the
 * one named, wherever it was made. */

/* Where an entry's first failed check ahead falls among all its checks. */
enum pre_stage {
    PRE_PASSED = 0,
    PRE_ENTRY,       /* the entry does not decode, or is not the sender's */
    PRE_OWNER,       /* its record does not decode, or is not the sender's */
    PRE_RECORD,      /* no version, or a rule the record breaks by itself */
    PRE_CREDIBILITY, /* a verdict on a partner, uploaded to head office */
};

struct pre_entry {
    Scsms__LogEntry *e;    /* decoded, unless stage is PRE_ENTRY */
    Scsms__Record *rec;    /* decoded, when stage is not PRE_ENTRY or PRE_OWNER */
    uint8_t hash[CRYPTO_HASH_LEN]; /* of the entry's bytes */
    enum pre_stage stage;
    int rc;                /* the failure's code and one line */
    char *message;
};

/* The first entries of an upload, decoded and checked ahead: v[0, n),
 * n at most PRECHECK_MAX and ending at the first that failed (the rest
 * are checked in the transaction, one at a time: a failure ends an
 * upload unless the entry is one held already, which is rare). Made for
 * that owner's entries and that store role (sync_upload_precheck checks
 * it was before taking it).
 * Everything in ar. */
struct sync_pre {
    struct arena ar;
    struct pre_entry *v;
    size_t n;
    const char *owner;
    const ProtobufCBinaryData *entries;
    size_t upload_n;
    enum store_role role;
};

/* Entries of one upload checked ahead, at most: the memory they take
 * (about 1.5 KiB an entry decoded, against some 350 bytes sent) stays
 * near the batches agents send (1000), whatever the upload holds. */
#define PRECHECK_MAX 4096

/* Note p's failure `rc` (scsms_errmsg() says it) at `stage`, in ar. */
static void pre_fail(struct arena *ar, struct pre_entry *p, enum pre_stage stage, int rc)
{
    const char *m = scsms_errmsg();
    size_t len = strlen(m) + 1;
    ProtobufCAllocator *al = arena_allocator(ar);
    p->stage = stage;
    p->rc = rc;
    p->message = al->alloc(al->allocator_data, len);
    if (p->message)
        memcpy(p->message, m, len);
}

/* The failure noted by pre_fail, raised again on this thread. */
static int pre_raise(const struct pre_entry *p)
{
    return scsms_fail(p->rc, "%s", p->message ? p->message : scsms_strerror(p->rc));
}

/* The checks ahead of entry i, in the order they fall among all its
 * checks: 0, or the first failure's code (scsms_errmsg() says it) with
 * *stage where it falls. */
static int checks_ahead(const struct sync_upload *in, enum store_role store_role,
                        ProtobufCAllocator *al, size_t i, struct pre_entry *p,
                        enum pre_stage *stage)
{
    const ProtobufCBinaryData *b = &in->entries[i];
    *stage = PRE_ENTRY;
    if (chain_entry_decode_with(al, b->data, b->len, &p->e))
        return scsms_fail(SCSMS_ETAMPER, "entry %zu of the batch from %s: %s", i + 1, in->owner,
                          scsms_errmsg());
    const Scsms__LogEntry *e = p->e;
    if (strcmp(e->owner, in->owner) != 0)
        return scsms_fail(SCSMS_EPERM, "entry %llu belongs to %s, not to %s: an identity sends "
                          "only its own log (rule 8)", (unsigned long long)e->seq, e->owner,
                          in->owner);
    *stage = PRE_OWNER;
    if (record_unpack_with(al, e->record.data, e->record.len, &p->rec))
        return scsms_fail(SCSMS_ETAMPER, "entry %llu of %s: %s", (unsigned long long)e->seq,
                          in->owner, scsms_errmsg());
    const Scsms__Record *rec = p->rec;
    if (strcmp(rec->owner, in->owner) != 0 || !record_id_is_owners(rec->id, in->owner))
        return scsms_fail(SCSMS_EPERM, "entry %llu: record '%.128s' of %s sent by %s: an "
                          "identity sends only its own records (rule 8)",
                          (unsigned long long)e->seq, rec->id, rec->owner, in->owner);
    *stage = PRE_RECORD;
    if (rec->version < 1)
        return scsms_fail(SCSMS_ETAMPER, "entry %llu: record without a version",
                          (unsigned long long)e->seq);
    /* what its writer's store would have refused is refused here too, and
     * what it would have normalised comes normalised: a modified agent
     * gains nothing, and the bytes stored are the bytes sent */
    if (record_check(rec) || rules_check_received(rec))
        return scsms_fail_context(SCSMS_EINVAL, "entry %llu: record '%.128s'",
                                  (unsigned long long)e->seq, rec->id);
    *stage = PRE_CREDIBILITY;
    /* a verdict on a partner is head office's own act, written on its own
     * store; none is taken from an upload, whoever sends it */
    if (store_role == STORE_ROLE_HQ && rec->body_case == SCSMS__RECORD__BODY_CREDIBILITY_REVIEW)
        return scsms_fail(SCSMS_EPERM, "entry %llu: credibility reviews are written at head "
                          "office's own store, not uploaded", (unsigned long long)e->seq);
    *stage = PRE_PASSED;
    return 0;
}

/* Check entry i of in ahead into p, its memory from ar. 0 when it passed. */
static int precheck_entry(const struct sync_upload *in, enum store_role store_role,
                          struct arena *ar, size_t i, struct pre_entry *p)
{
    enum pre_stage stage;
    memset(p, 0, sizeof *p);
    int rc = checks_ahead(in, store_role, arena_allocator(ar), i, p, &stage);
    if (rc)
        pre_fail(ar, p, stage, rc);
    else
        chain_entry_hash(in->entries[i].data, in->entries[i].len, p->hash);
    return rc;
}

static void pre_free(struct sync_pre **pre)
{
    if (!*pre)
        return;
    arena_free(&(*pre)->ar);
    free((*pre)->v);
    free(*pre);
    *pre = NULL;
}

/* pre was made for in's entries, sent by in's owner, to a store of role. */
static int pre_is_for(const struct sync_pre *pre, const struct sync_upload *in,
                      enum store_role role)
{
    return pre && pre->entries == in->entries && pre->upload_n == in->n && pre->role == role &&
           pre->owner && in->owner && strcmp(pre->owner, in->owner) == 0;
}

int sync_upload_precheck(struct sync_upload *u, enum store_role store_role)
{
    if (pre_is_for(u->pre, u, store_role))
        return 0;
    pre_free(&u->pre); /* made for another upload or store: made again */
    size_t ahead = u->n < PRECHECK_MAX ? u->n : PRECHECK_MAX;
    struct sync_pre *pre = calloc(1, sizeof *pre);
    if (pre)
        pre->v = calloc(ahead ? ahead : 1, sizeof *pre->v);
    if (!pre || !pre->v) {
        free(pre);
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    }
    size_t i = 0;
    while (i < ahead && precheck_entry(u, store_role, &pre->ar, i, &pre->v[i]) == 0)
        i++;
    pre->n = i < ahead ? i + 1 : ahead; /* the failed one included */
    pre->owner = u->owner;
    pre->entries = u->entries;
    pre->upload_n = u->n;
    pre->role = store_role;
    u->pre = pre;
    return 0;
}

/* Check one new entry against the store and the sender's enrolment, in
 * the order of all its checks (those made ahead included), and write it. */
static int take_entry(store_t *s, MDB_txn *txn, const struct sync_upload *in,
                      const Scsms__Identity *who, const struct pre_entry *p,
                      const ProtobufCBinaryData *b, struct store_owner_state *st,
                      unsigned log_flags)
{
    const Scsms__LogEntry *e = p->e;
    if (memcmp(e->prev_hash.data, st->head, CRYPTO_HASH_LEN) != 0)
        return scsms_fail(SCSMS_ETAMPER, "entry %llu of %s does not link to entry %llu: altered "
                          "in transit, or a fork", (unsigned long long)e->seq, in->owner,
                          (unsigned long long)st->seq);
    if (p->stage == PRE_OWNER)
        return pre_raise(p);
    Scsms__Record *rec = p->rec;
    const struct record_type *t = record_type_of(rec);
    int rc;
    if (!(t->issuers & record_issuer_bit(store_role_of(who->role))))
        return scsms_fail(SCSMS_EPERM, "entry %llu: %s may not issue %s records (rule 8)",
                          (unsigned long long)e->seq, in->owner, t->name);
    if (p->stage == PRE_RECORD)
        return pre_raise(p);
    if ((rc = rules_check_subject(rec, in->owner, store_role_of(who->role))))
        return scsms_fail_context(rc, "entry %llu", (unsigned long long)e->seq);
    if (p->stage == PRE_CREDIBILITY)
        return pre_raise(p);
    /* a sealed record must carry its issuer's signature over its exact
     * bytes: checked here, where they arrive, with the enrolled key */
    if (seal_is_sealed(rec) &&
        (rc = seal_check(rec, e->record.data, e->record.len, who->sign_key.data)))
        return scsms_fail_context(rc == SCSMS_ENOMEM ? rc : SCSMS_ETAMPER, "entry %llu",
                                  (unsigned long long)e->seq);
    if (rec->version > 1 && (rc = store_supersede(s, txn, rec, in->owner)))
        return rc;
    return store_put_version(s, txn, rec, rec->id, rec->version, rec->version == 1, b->data,
                             b->len, p->hash, st, log_flags);
}

/* The checkpoint must be the owner's signature over the new head. */
static int take_checkpoint(store_t *s, MDB_txn *txn, const struct sync_upload *in,
                           const Scsms__Identity *who, const struct store_owner_state *st)
{
    Scsms__Checkpoint *cp = NULL;
    uint8_t key[STORE_LOGKEY_LEN];
    if (!in->checkpoint || !in->cp_len)
        return scsms_fail(SCSMS_ETAMPER, "%s sent entries without a signed checkpoint", in->owner);
    int rc = chain_checkpoint_check(who->sign_key.data, in->checkpoint, in->cp_len, &cp);
    if (rc)
        return scsms_fail(SCSMS_ETAMPER, "checkpoint from %s: %s", in->owner, scsms_errmsg());
    if (!chain_checkpoint_names(cp, in->owner, st->seq, st->head))
        rc = scsms_fail(SCSMS_ETAMPER, "checkpoint from %s names %s at %llu, not the head %llu "
                        "the entries make", in->owner, cp->owner, (unsigned long long)cp->seq,
                        (unsigned long long)st->seq);
    scsms__checkpoint__free_unpacked(cp, NULL);
    if (rc)
        return rc;
    store_log_key(st->idx, st->seq, key);
    MDB_val k = {sizeof key, key}, v = {in->cp_len, (void *)in->checkpoint};
    int mrc = mdb_put(txn, s->checkpoints, &k, &v, 0);
    return mrc ? store_lmdb_fail(mrc, "write checkpoint") : 0;
}

/* sync_admitted in a transaction the caller holds. */
static int admitted_in(store_t *s, MDB_txn *txn, const char *who, Scsms__Identity **out)
{
    int rc = store_identity_read(s, txn, who, out);
    if (rc)
        return rc == SCSMS_ENOTFOUND ? scsms_fail(SCSMS_EPERM, "'%.64s' is not enrolled here", who)
                                     : rc;
    if ((*out)->revoked || (*out)->sign_key.len != CRYPTO_PUB_LEN) {
        scsms__identity__free_unpacked(*out, NULL);
        *out = NULL;
        return scsms_fail(SCSMS_EPERM, "'%.64s' has been revoked", who);
    }
    return 0;
}

int sync_admitted(store_t *s, const char *who, Scsms__Identity **out)
{
    MDB_txn *txn;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = admitted_in(s, txn, who, out);
    mdb_txn_abort(txn);
    return rc;
}

static int ingest_body(store_t *s, MDB_txn *txn, void *ctx)
{
    struct sync_upload *in = ctx;
    struct store_owner_state st = {0}; /* reported as the head even when never loaded */
    Scsms__Identity *who = NULL;
    struct pre_entry late;        /* an entry beyond those checked ahead */
    struct arena late_ar = {0};   /* and its decoded copies */
    /* read again in the transaction that writes: revoked since the
     * request was admitted means refused */
    int rc = admitted_in(s, txn, in->owner, &who);
    if (rc)
        return rc;
    if ((rc = store_owner_ensure(s, txn, in->owner, &st)) ||
        (rc = store_log_is_last(s, txn, &st)) < 0)
        goto out;
    /* a site whose log sorts last in the table appends its entries: the
     * site taken in for the first time most recently (owner indices are
     * given in that order), while it catches up */
    unsigned log_flags = rc == 1 ? MDB_APPEND : MDB_NOOVERWRITE;
    if ((rc = sync_upload_precheck(in, s->role)))
        goto out;
    memset(&in->res, 0, sizeof in->res);
    for (size_t i = 0; i < in->n && rc == 0; i++) {
        const struct pre_entry *p = &late;
        if (i < in->pre->n) {
            p = &in->pre->v[i];
        } else { /* beyond those checked ahead: here, one at a time */
            arena_reset(&late_ar);
            precheck_entry(in, s->role, &late_ar, i, &late);
        }
        if (p->stage == PRE_ENTRY) {
            rc = pre_raise(p);
            break;
        }
        const Scsms__LogEntry *e = p->e;
        if (e->seq <= st.seq) { /* held already: the same bytes, or a fork */
            if (same_as_stored(s, txn, st.idx, e->seq, &in->entries[i]))
                in->res.duplicates++;
            else
                rc = scsms_fail(SCSMS_ETAMPER, "entry %llu of %s differs from the one accepted "
                                "before: a fork", (unsigned long long)e->seq, in->owner);
        } else if (e->seq != st.seq + 1)
            rc = scsms_fail(SCSMS_EGAP, "entries %llu to %llu of %s are missing: send from %llu",
                            (unsigned long long)st.seq + 1, (unsigned long long)e->seq - 1,
                            in->owner, (unsigned long long)st.seq + 1);
        else if ((rc = take_entry(s, txn, in, who, p, &in->entries[i], &st, log_flags)) == 0)
            in->res.applied++;
    }
    if (rc == 0 && in->res.applied)
        rc = take_checkpoint(s, txn, in, who, &st);
    if (rc == 0)
        rc = store_owner_save(s, txn, in->owner, &st);
    if (rc == 0 && in->seen) {
        struct { const struct sync_seen *v; size_t n; } one = {in->seen, 1};
        rc = seen_body(s, txn, &one);
    }
out:
    in->res.head_seq = st.seq;
    memcpy(in->res.head, st.head, CRYPTO_HASH_LEN);
    scsms__identity__free_unpacked(who, NULL);
    arena_free(&late_ar);
    return rc;
}

int sync_ingest(store_t *s, const char *owner, const ProtobufCBinaryData *entries, size_t n,
                const uint8_t *checkpoint, size_t cp_len, const struct sync_seen *seen,
                struct sync_result *res)
{
    /* a group of one: the same checks and writes, one code path */
    struct sync_upload u = {.owner = owner, .entries = entries, .n = n,
                            .checkpoint = checkpoint, .cp_len = cp_len, .seen = seen};
    int rc = sync_ingest_group(s, &u, 1);
    if (rc == 0 && u.rc)
        rc = scsms_fail(u.rc, "%s", u.message ? u.message : scsms_strerror(u.rc));
    *res = u.res;
    sync_upload_clear(&u, 1);
    return rc;
}

/* ------------------------------------------------------------ group */

struct group {
    struct sync_upload *ups;
    size_t n;
    void (*step)(void *, struct sync_upload *); /* before each upload and the commit */
    void *arg;
};

/* The head as it stands, for an upload that wrote nothing. */
static void report_head(store_t *s, struct sync_upload *u)
{
    uint64_t seq;
    uint8_t head[CRYPTO_HASH_LEN];
    u->res.applied = 0;
    if (sync_head(s, u->owner, &seq, head) == 0) {
        u->res.head_seq = seq;
        memcpy(u->res.head, head, CRYPTO_HASH_LEN);
    }
}

static void refuse(struct sync_upload *u, int rc)
{
    free(u->message);
    u->rc = rc;
    u->message = strdup(scsms_errmsg());
}

static int group_body(store_t *s, MDB_txn *txn, void *ctx)
{
    struct group *g = ctx;
    for (size_t i = 0; i < g->n; i++) {
        struct sync_upload *u = &g->ups[i];
        MDB_txn *child;
        if (g->step)
            g->step(g->arg, u);
        u->rc = 0;
        free(u->message);
        u->message = NULL;
        int mrc = mdb_txn_begin(s->env, txn, 0, &child);
        if (mrc)
            return store_lmdb_fail(mrc, "begin an upload's transaction");
        int rc = ingest_body(s, child, u);
        if (rc == 0) {
            if ((rc = store_txn_commit_nested(s, child, "apply an upload")))
                return rc;
            continue;
        }
        store_txn_abort_nested(s, child);
        /* the map or the disk full (the group is retried after the map
         * grows, or each upload alone), or a failure or damage of the
         * store: the group ends. Anything else, a bad record of one site
         * among them, is that upload's refusal alone. */
        if (store_error_fatal(rc))
            return rc;
        refuse(u, rc);
    }
    if (g->step)
        g->step(g->arg, NULL);
    return 0;
}

/* The group failed as a whole: each upload in a transaction of its own,
 * so that those that fit alone still go in. 0 when any did. */
static int ingest_one_by_one(store_t *s, struct sync_upload *ups, size_t n,
                             const struct group *all)
{
    int any = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        struct group one = {&ups[i], 1, all->step, all->arg};
        int rc = store_write_txn(s, group_body, &one);
        if (rc == 0 && ups[i].rc == 0)
            any = 1;
        if (rc) {
            refuse(&ups[i], rc);
            last = rc;
        }
        if (ups[i].rc)
            report_head(s, &ups[i]);
    }
    return any || !last ? 0 : scsms_fail(last, "no upload of the group could be taken in");
}

int sync_ingest_group(store_t *s, struct sync_upload *ups, size_t n)
{
    return sync_ingest_group_then(s, ups, n, NULL, NULL);
}

int sync_ingest_group_then(store_t *s, struct sync_upload *ups, size_t n,
                           void (*step)(void *arg, struct sync_upload *next), void *arg)
{
    struct group g = {ups, n, step, arg};
    for (size_t i = 0; i < n; i++) {
        memset(&ups[i].res, 0, sizeof ups[i].res);
        ups[i].rc = 0;
        ups[i].message = NULL;
    }
    if (n == 0)
        return 0;
    /* the checks that need no store, before the writer's lock is taken
     * (those not made already; out of memory, the rest are tried again
     * in the transaction); with a step, the caller gives them in turn */
    for (size_t i = 0; !step && i < n; i++)
        if (sync_upload_precheck(&ups[i], s->role) != 0)
            break;
    int rc = store_write_txn(s, group_body, &g);
    if (rc && n > 1) /* too much together for the disk, say: each on its own */
        return ingest_one_by_one(s, ups, n, &g);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", rc ? scsms_errmsg() : "");
    for (size_t i = 0; i < n; i++) {
        if (rc) {
            free(ups[i].message);
            ups[i].rc = rc;
            ups[i].message = strdup(msg);
        }
        if (ups[i].rc)
            report_head(s, &ups[i]);
    }
    return rc ? scsms_fail(rc, "%s", msg) : 0;
}

void sync_upload_clear(struct sync_upload *ups, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ups[i].message);
        ups[i].message = NULL;
        pre_free(&ups[i].pre);
    }
}

/* ------------------------------------------------------------ seen */

int64_t sync_clock_offset(int64_t theirs, int64_t ours)
{
    const int64_t lo = -2208988800, hi = 253402300800; /* 1900-01-01, 10000-01-01 */
    if (theirs == 0 || ours == 0 || theirs < lo || theirs >= hi || ours < lo || ours >= hi)
        return SYNC_CLOCK_UNKNOWN;
    return theirs - ours;
}

int sync_clock_right(int64_t offset)
{
    const int64_t near = SYNC_CLOCK_TOLERANCE_S - SYNC_CLOCK_MARGIN_S;
    return offset != SYNC_CLOCK_UNKNOWN && offset <= near && offset >= -near;
}

int sync_clock_wrong(int64_t offset)
{
    return offset != SYNC_CLOCK_UNKNOWN &&
           (offset > SYNC_CLOCK_TOLERANCE_S || offset < -SYNC_CLOCK_TOLERANCE_S);
}

struct seen_batch {
    const struct sync_seen *v;
    size_t n;
};

static size_t seen_key(const char *id, char *buf, size_t cap)
{
    return (size_t)snprintf(buf, cap, "seen:%s", id);
}

static int seen_body(store_t *s, MDB_txn *txn, void *ctx)
{
    const struct seen_batch *b = ctx;
    for (size_t i = 0; i < b->n; i++) {
        char key[RECORD_MAX_ID + 8];
        uint8_t val[24];
        store_put_be64(val, (uint64_t)b->v[i].last_seen);
        store_put_be64(val + 8, b->v[i].backlog);
        store_put_be64(val + 16, (uint64_t)b->v[i].clock_offset);
        MDB_val k = {seen_key(b->v[i].id, key, sizeof key), key}, d = {sizeof val, val};
        int mrc = mdb_put(txn, s->meta, &k, &d, 0);
        if (mrc)
            return store_lmdb_fail(mrc, "write last seen");
    }
    return 0;
}

int sync_seen_put(store_t *s, const struct sync_seen *v, size_t n)
{
    struct seen_batch b = {v, n};
    return n ? store_write_txn(s, seen_body, &b) : 0;
}

int sync_seen_get(store_t *s, const char *id, struct sync_seen *out)
{
    MDB_txn *txn;
    char key[RECORD_MAX_ID + 8];
    memset(out, 0, sizeof *out);
    out->clock_offset = SYNC_CLOCK_UNKNOWN;
    snprintf(out->id, sizeof out->id, "%s", id);
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    MDB_val k = {seen_key(id, key, sizeof key), key}, v;
    int mrc = mdb_get(txn, s->meta, &k, &v);
    if (mrc == 0 && (v.mv_size == 16 || v.mv_size == 24)) { /* 16: from before the clock */
        out->last_seen = (int64_t)store_get_be64(v.mv_data);
        out->backlog = store_get_be64((uint8_t *)v.mv_data + 8);
        if (v.mv_size == 24)
            out->clock_offset = (int64_t)store_get_be64((uint8_t *)v.mv_data + 16);
    } else if (mrc && mrc != MDB_NOTFOUND) {
        rc = store_lmdb_fail(mrc, "read last seen");
    }
    mdb_txn_abort(txn);
    return rc;
}

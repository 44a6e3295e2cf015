/* verify.c -- full integrity check of a store; see verify.h. */
#include "verify.h"
#include "store_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "chain.h"
#include "seal.h"

/* State of the walk over one owner's log. */
struct walk {
    store_t *s;
    MDB_txn *txn;
    struct verify_report *rep;
    const char *owner;
    const uint8_t *pub;
    struct store_owner_state head;
    uint64_t seq;                     /* last entry checked */
    uint8_t hash[CRYPTO_HASH_LEN];    /* its hash */
    MDB_cursor *cps;                  /* checkpoints, in step with the log */
    int cp_more;                      /* cps is on a checkpoint of this owner */
    MDB_val cpk, cpv;
    uint64_t last_signed;             /* seq of the last good checkpoint */
    uint64_t cp_limit;                /* checkpoints past this one are not read */
    struct arena *ar;                 /* each entry and its record, decoded */
};

static int bad(struct verify_report *rep, int code, const char *owner, uint64_t seq,
               const char *fmt, ...) SCSMS_PRINTF(5, 6);

static int bad(struct verify_report *rep, int code, const char *owner, uint64_t seq,
               const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    rep->code = code;
    rep->seq = seq;
    snprintf(rep->owner, sizeof rep->owner, "%s", owner);
    if (seq)
        snprintf(rep->message, sizeof rep->message, "entry %llu of %s: %s",
                 (unsigned long long)seq, owner, why);
    else
        snprintf(rep->message, sizeof rep->message, "%s: %s", owner, why);
    return scsms_fail(code, "%s", rep->message);
}

static int cp_seq_of(const MDB_val *k, uint32_t idx, uint64_t *seq)
{
    if (k->mv_size != STORE_LOGKEY_LEN || store_get_be32(k->mv_data) != idx)
        return 0;
    *seq = store_get_be64((const uint8_t *)k->mv_data + 4);
    return 1;
}

/* Is the checkpoint cursor on one of this owner's checkpoints still to be
 * read? Its sequence number in *cs. */
static int cp_at(const struct walk *w, uint64_t *cs)
{
    return w->cp_more && cp_seq_of(&w->cpk, w->head.idx, cs) && *cs <= w->cp_limit;
}

/* Check every checkpoint at or before seq (whose hash is w->hash when it is
 * exactly seq). Checkpoints name only entries that exist and match. */
static int check_checkpoints(struct walk *w, uint64_t seq)
{
    uint64_t cs;
    while (cp_at(w, &cs) && cs <= seq) {
        Scsms__Checkpoint *cp;
        if (cs < seq) /* its entry was passed without a match */
            return bad(w->rep, SCSMS_ETAMPER, w->owner, cs, "checkpoint names no entry");
        int rc = chain_checkpoint_check(w->pub, w->cpv.mv_data, w->cpv.mv_size, &cp);
        if (rc)
            return bad(w->rep, SCSMS_ETAMPER, w->owner, cs, "checkpoint signature is not valid (%s)",
                       scsms_errmsg());
        int ok = chain_checkpoint_names(cp, w->owner, cs, w->hash);
        scsms__checkpoint__free_unpacked(cp, NULL);
        if (!ok)
            return bad(w->rep, SCSMS_ETAMPER, w->owner, cs,
                       "does not match the chain head its owner signed");
        w->last_signed = cs;
        w->rep->checkpoints++;
        w->cp_more = mdb_cursor_get(w->cps, &w->cpk, &w->cpv, MDB_NEXT) == 0;
    }
    return 0;
}

/* Does entry `next` (raw bytes) link back to hash h? */
static int links_to(const MDB_val *next, const uint8_t h[CRYPTO_HASH_LEN])
{
    Scsms__LogEntry *e;
    if (chain_entry_decode(next->mv_data, next->mv_size, &e))
        return 0;
    int ok = memcmp(e->prev_hash.data, h, CRYPTO_HASH_LEN) == 0;
    scsms__log_entry__free_unpacked(e, NULL);
    return ok;
}

/* Entry seq's previous-hash does not match entry seq-1. A single altered
 * entry breaks two links; find which side is the altered one: if entry
 * seq also fails to link forward, it is seq, otherwise seq - 1. */
static int name_broken_link(struct walk *w, MDB_cursor *cur, uint64_t seq,
                            const uint8_t h[CRYPTO_HASH_LEN])
{
    MDB_val k, v;
    int forward_ok;
    if (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0 && cp_seq_of(&k, w->head.idx, &(uint64_t){0}))
        forward_ok = links_to(&v, h);
    else
        forward_ok = memcmp(h, w->head.head, CRYPTO_HASH_LEN) == 0;
    uint64_t culprit = forward_ok ? seq - 1 : seq;
    return bad(w->rep, SCSMS_ETAMPER, w->owner, culprit,
               "bytes do not match the hash chain: the entry was altered");
}

/* The indices must point at this entry exactly as its record says. */
static int check_indices(struct walk *w, const Scsms__Record *rec, const uint8_t lk[12])
{
    uint8_t key[2 * RECORD_MAX_ID + 8];
    size_t il = strlen(rec->id);
    MDB_val k, v;
    if (il == 0 || il > RECORD_MAX_ID)
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq, "record id missing or too long");
    k.mv_size = il;
    k.mv_data = rec->id;
    if (mdb_get(w->txn, w->s->latest, &k, &v) || v.mv_size != STORE_LATEST_LEN)
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq, "latest index has no entry for %s",
                   rec->id);
    uint32_t latest = store_get_be32(v.mv_data);
    if (latest < rec->version)
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq,
                   "latest index says %s is at version %u, older than this entry's %u", rec->id,
                   latest, rec->version);
    if (latest > rec->version) { /* superseded: must be in `versions` */
        memcpy(key, rec->id, il);
        key[il] = 0;
        store_put_be32(key + il + 1, rec->version);
        k.mv_size = il + 5;
        k.mv_data = key;
        if (mdb_get(w->txn, w->s->versions, &k, &v) || v.mv_size != STORE_LOGKEY_LEN ||
            memcmp(v.mv_data, lk, STORE_LOGKEY_LEN) != 0)
            return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq,
                       "version index does not point to this entry (%s v%u)", rec->id,
                       rec->version);
        return 0;
    }
    if (memcmp((uint8_t *)v.mv_data + 4, lk, STORE_LOGKEY_LEN) != 0)
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq,
                   "latest index of %s points to another entry", rec->id);
    w->rep->records++;
    k.mv_size = store_status_key(rec, rec->id, key);
    k.mv_data = key;
    if (mdb_get(w->txn, w->s->by_status, &k, &v))
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq, "status index lacks %s", rec->id);
    int64_t day;
    if (record_due_day(rec, &day)) {
        k.mv_size = store_due_key(day, rec->id, key);
        if (mdb_get(w->txn, w->s->by_due, &k, &v))
            return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq, "due index lacks %s", rec->id);
        w->rep->due++;
    }
    return 0;
}

/* Check one entry: its place, its shape, its link, its record, its indices. */
static int check_entry(struct walk *w, MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
    uint64_t seq = store_get_be64((const uint8_t *)k->mv_data + 4);
    uint8_t h[CRYPTO_HASH_LEN];
    Scsms__LogEntry *e;
    Scsms__Record *rec;
    int rc;
    if (seq != w->seq + 1)
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq + 1,
                   seq > w->seq + 1 ? "missing from the log (deleted)" : "out of order");
    w->seq = seq;
    /* Decoded into the walk's arena, given back whole at the next entry:
     * the decoded copies are only read (a third of verify's time went to
     * allocating and freeing them one piece at a time). */
    arena_reset(w->ar);
    ProtobufCAllocator *with = arena_allocator(w->ar);
    if (chain_entry_decode_with(with, v->mv_data, v->mv_size, &e))
        return w->ar->failed ? scsms_fail(SCSMS_ENOMEM, "out of memory")
                             : bad(w->rep, SCSMS_ETAMPER, w->owner, seq,
                                   "does not decode (altered): %s", scsms_errmsg());
    chain_entry_hash(v->mv_data, v->mv_size, h);
    rc = 0;
    if (e->seq != seq || strcmp(e->owner, w->owner) != 0)
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, seq, "holds entry %llu of %s (entries moved)",
                 (unsigned long long)e->seq, e->owner);
    else if (memcmp(e->prev_hash.data, w->hash, CRYPTO_HASH_LEN) != 0)
        rc = name_broken_link(w, cur, seq, h);
    else if (record_unpack_with(with, e->record.data, e->record.len, &rec))
        rc = w->ar->failed ? scsms_fail(SCSMS_ENOMEM, "out of memory")
                           : bad(w->rep, SCSMS_ETAMPER, w->owner, seq,
                                 "record does not decode: %s", scsms_errmsg());
    else if (strcmp(rec->owner, w->owner) != 0)
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, seq, "record claims owner %s", rec->owner);
    else if (seal_is_sealed(rec) && seal_check(rec, e->record.data, e->record.len, w->pub) != 0)
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, seq, "%s", scsms_errmsg());
    else
        rc = check_indices(w, rec, k->mv_data);
    if (rc)
        return rc;
    memcpy(w->hash, h, CRYPTO_HASH_LEN);
    w->rep->entries++;
    return check_checkpoints(w, seq);
}

/* One piece of an owner's log: entries from..to, checked on whichever
 * thread takes it. The owner's last piece runs to the end of its log
 * (entries past the recorded head are its to find). */
struct piece {
    size_t owner;                /* in verify_job.owners */
    uint64_t from, to;
    int last;
    uint64_t entries, checkpoints, records, due;
    uint64_t last_signed;        /* 0 when the piece holds no checkpoint */
    struct verify_report *fail;  /* malloc'd when the piece failed */
};

struct owner_job {
    char name[RECORD_MAX_ID + 1];
    uint8_t pub[CRYPTO_PUB_LEN];
    struct store_owner_state head;
    uint64_t cp_limit; /* see checkpoint_limit() */
};

struct verify_job {
    store_t *s;
    struct owner_job *owners;
    size_t n_owners;
    struct piece *pieces;
    size_t n_pieces;
    atomic_size_t next;      /* the next piece to take */
    atomic_size_t first_bad; /* the earliest piece found failing, or SIZE_MAX */
};

/* The hash a piece starting at `from` links to: the chain's start, or the
 * hash of the stored entry before it. When that entry is missing, the
 * piece before names it, and being earlier its failure is the one told. */
static int start_hash(struct walk *w, uint64_t from)
{
    uint8_t key[STORE_LOGKEY_LEN];
    MDB_val k = {sizeof key, key}, v;
    memset(w->hash, 0, sizeof w->hash);
    if (from <= 1)
        return 0;
    store_log_key(w->head.idx, from - 1, key);
    int mrc = mdb_get(w->txn, w->s->log, &k, &v);
    if (mrc == 0)
        chain_entry_hash(v.mv_data, v.mv_size, w->hash);
    return mrc && mrc != MDB_NOTFOUND ? store_lmdb_fail(mrc, "read log") : 0;
}

/* The checks only the end of an owner's log allows: the head reached
 * exactly, its hash the recorded one, no checkpoint left over. */
static int check_log_end(struct walk *w)
{
    if (w->seq < w->head.seq)
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq + 1, "missing from the log (deleted)");
    if (w->seq > w->head.seq)
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->head.seq + 1,
                   "beyond the recorded head of the log (appended outside the store)");
    if (memcmp(w->hash, w->head.head, CRYPTO_HASH_LEN) != 0)
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq,
                   "bytes do not match the recorded chain head: the entry was altered");
    if (cp_at(w, &(uint64_t){0}))
        return bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq + 1, "signed checkpoint names it but "
                   "it is missing from the log (deleted)");
    return 0;
}

/* Walk the entries of piece p, and its checkpoints in step with them. The
 * first piece starts at key seq 0, where no entry may be, as a walk of the
 * whole log does; a piece that is not the last must end at an entry of
 * its owner past its own: ending anywhere else (the table's end, another
 * owner's entry, a key of the wrong size) means entries are missing. */
static int walk_piece(struct walk *w, const struct piece *p)
{
    MDB_cursor *cur;
    uint8_t start[STORE_LOGKEY_LEN];
    int rc, mrc, reached_next = 0;
    store_log_key(w->head.idx, p->from == 1 ? 0 : p->from, start);
    w->seq = p->from - 1;
    if ((rc = start_hash(w, p->from)))
        return rc;
    if ((mrc = mdb_cursor_open(w->txn, w->s->log, &cur)))
        return store_lmdb_fail(mrc, "read log");
    if ((mrc = mdb_cursor_open(w->txn, w->s->checkpoints, &w->cps))) {
        mdb_cursor_close(cur);
        return store_lmdb_fail(mrc, "read checkpoints");
    }
    w->cpk.mv_size = sizeof start;
    w->cpk.mv_data = start;
    w->cp_more = mdb_cursor_get(w->cps, &w->cpk, &w->cpv, MDB_SET_RANGE) == 0;
    MDB_val k = {sizeof start, start}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != STORE_LOGKEY_LEN || store_get_be32(k.mv_data) != w->head.idx)
            break;
        if (!p->last && store_get_be64((const uint8_t *)k.mv_data + 4) > p->to) {
            reached_next = 1;
            break;
        }
        rc = check_entry(w, cur, &k, &v);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read log");
    if (rc == 0 && p->last)
        rc = check_log_end(w);
    else if (rc == 0 && (!reached_next || w->seq < p->to))
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq + 1, "missing from the log (deleted)");
    mdb_cursor_close(w->cps);
    mdb_cursor_close(cur);
    return rc;
}

/* Keep what piece i found; a failure also stops the walk of later pieces. */
static void piece_done(struct verify_job *j, size_t i, int rc, const struct verify_report *r)
{
    struct piece *p = &j->pieces[i];
    p->entries = r->entries;
    p->checkpoints = r->checkpoints;
    p->records = r->records;
    p->due = r->due;
    if (rc == 0)
        return;
    p->fail = malloc(sizeof *p->fail);
    if (p->fail) {
        *p->fail = *r;
        p->fail->code = rc;
        if (!p->fail->message[0]) /* a read error, not a finding */
            snprintf(p->fail->message, sizeof p->fail->message, "%s", scsms_errmsg());
    }
    size_t seen = atomic_load(&j->first_bad);
    while (i < seen && !atomic_compare_exchange_weak(&j->first_bad, &seen, i))
        ;
}

/* Take pieces in order until none is left or all left come after a failure. */
static void run_pieces(struct verify_job *j, MDB_txn *txn)
{
    struct arena ar = {0};
    size_t i;
    while ((i = atomic_fetch_add(&j->next, 1)) < j->n_pieces && i < atomic_load(&j->first_bad)) {
        struct piece *p = &j->pieces[i];
        struct owner_job *o = &j->owners[p->owner];
        struct verify_report r = {0};
        struct walk w = {.s = j->s, .txn = txn, .rep = &r, .owner = o->name, .pub = o->pub,
                         .head = o->head, .cp_limit = o->cp_limit, .ar = &ar};
        int rc = walk_piece(&w, p);
        p->last_signed = w.last_signed;
        piece_done(j, i, rc, &r);
    }
    arena_free(&ar);
}

struct helper {
    struct verify_job *job;
    MDB_txn *txn;
};

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    run_pieces(h->job, h->txn);
    return NULL;
}

/* A second read transaction on txn's snapshot, for the helper thread; NULL
 * when a writer committed in between (the walk then stays on one thread:
 * the whole store is checked as of one moment). */
static MDB_txn *twin_txn(store_t *s, MDB_txn *txn)
{
    MDB_txn *t2;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t2))
        return NULL;
    if (mdb_txn_id(t2) != mdb_txn_id(txn)) {
        mdb_txn_abort(t2);
        return NULL;
    }
    return t2;
}

/* Walk every piece, on two threads when there are two pieces or more. */
static void run_job(struct verify_job *j, MDB_txn *txn)
{
    struct helper h = {j, j->n_pieces > 1 ? twin_txn(j->s, txn) : NULL};
    pthread_t t;
    int threaded = h.txn && pthread_create(&t, NULL, helper_main, &h) == 0;
    run_pieces(j, txn);
    if (threaded)
        pthread_join(t, NULL);
    if (h.txn)
        mdb_txn_abort(h.txn);
}

static uint64_t count(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_stat st;
    return mdb_stat(txn, dbi, &st) == 0 ? st.ms_entries : 0;
}

/* Indices may not hold entries that no log entry accounts for. */
static int check_counts(store_t *s, MDB_txn *txn, struct verify_report *rep)
{
    struct {
        MDB_dbi dbi;
        const char *name;
        uint64_t want;
    } t[] = {{s->log, "log", rep->entries},         {s->versions, "versions", rep->entries - rep->records},
             {s->latest, "latest", rep->records},   {s->by_status, "by_status", rep->records},
             {s->by_due, "by_due", rep->due},       {s->checkpoints, "checkpoints", rep->checkpoints}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint64_t n = count(txn, t[i].dbi);
        if (n != t[i].want)
            return bad(rep, SCSMS_ETAMPER, s->owner, 0,
                       "table '%s' holds %llu entries but the log accounts for %llu", t[i].name,
                       (unsigned long long)n, (unsigned long long)t[i].want);
    }
    return 0;
}

/* Sealed records received outside any chain: each under its issuer's key. */
struct received_walk {
    store_t *s;
    struct verify_report *rep;
};

static int check_received(const Scsms__Record *rec, const uint8_t *bytes, size_t len, void *ctx)
{
    struct received_walk *rw = ctx;
    Scsms__Identity *issuer = NULL;
    int rc = store_identity_get(rw->s, rec->owner, &issuer);
    if (rc)
        return bad(rw->rep, SCSMS_EKEY, rec->owner, 0, "received %s: no public key known for "
                   "its issuer", rec->id);
    if (!seal_is_sealed(rec) || issuer->sign_key.len != CRYPTO_PUB_LEN)
        rc = bad(rw->rep, SCSMS_ETAMPER, rec->owner, 0, "received %s is not a sealed record",
                 rec->id);
    else if (seal_check(rec, bytes, len, issuer->sign_key.data))
        rc = bad(rw->rep, SCSMS_ETAMPER, rec->owner, 0, "received %s", scsms_errmsg());
    else
        rw->rep->received++;
    scsms__identity__free_unpacked(issuer, NULL);
    return rc;
}

/* A walk of the whole log reads an owner's checkpoints in order and stops
 * at a key of the owner's that is not a checkpoint's (the wrong size): any
 * after it are never read, and the head is then found not covered. Each
 * piece seeks its own checkpoints, so each is told where that stop is: the
 * last checkpoint before such a key (UINT64_MAX when there is none). */
static int checkpoint_limit(store_t *s, MDB_txn *txn, uint32_t idx, uint64_t *limit)
{
    MDB_cursor *cur;
    uint8_t start[STORE_LOGKEY_LEN];
    uint64_t last = 0, cs;
    int mrc = mdb_cursor_open(txn, s->checkpoints, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "read checkpoints");
    store_log_key(idx, 0, start);
    MDB_val k = {sizeof start, start}, v;
    *limit = UINT64_MAX;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 4 || store_get_be32(k.mv_data) != idx)
            break; /* past the owner's checkpoints */
        if (!cp_seq_of(&k, idx, &cs)) {
            *limit = last;
            break;
        }
        last = cs;
    }
    mdb_cursor_close(cur);
    return mrc && mrc != MDB_NOTFOUND ? store_lmdb_fail(mrc, "read checkpoints") : 0;
}

/* One owner from the owners table's entry k, v: its head, its public key,
 * where its checkpoints stop. A finding is left in rep. */
static int owner_of(store_t *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                    struct owner_job *o, struct verify_report *rep)
{
    if (k->mv_size == 0 || k->mv_size > RECORD_MAX_ID || v->mv_size != STORE_OWNER_LEN)
        return bad(rep, SCSMS_ETAMPER, s->owner, 0, "owners table holds a malformed entry");
    memcpy(o->name, k->mv_data, k->mv_size);
    o->name[k->mv_size] = 0;
    store_owner_decode(v, &o->head);
    if (strcmp(o->name, s->owner) == 0) {
        memcpy(o->pub, s->pub, CRYPTO_PUB_LEN);
    } else {
        Scsms__Identity *ident = NULL;
        int rc = store_identity_read(s, txn, o->name, &ident);
        int ok = rc == 0 && ident->sign_key.len == CRYPTO_PUB_LEN;
        if (ok)
            memcpy(o->pub, ident->sign_key.data, CRYPTO_PUB_LEN);
        if (ident)
            scsms__identity__free_unpacked(ident, NULL);
        /* a key named by an identity the store did not write vouches for
         * nothing: the log it would check may be forged with it */
        if (rc == SCSMS_ETAMPER)
            return bad(rep, SCSMS_ETAMPER, o->name, 0, "its enrolment record was altered outside "
                       "the store: the key it names is not one this store enrolled");
        if (!ok)
            return bad(rep, SCSMS_EKEY, o->name, 0, "no public key known for this owner");
    }
    return checkpoint_limit(s, txn, o->head.idx, &o->cp_limit);
}

/* Read the owners table. An owner that cannot be checked, or a read that
 * fails, ends the list, its failure left in *rc and rep for after the
 * owners before it, as one walk in order would find them. */
static int collect_owners(struct verify_job *j, MDB_txn *txn, struct verify_report *rep,
                          int *rc)
{
    MDB_cursor *cur;
    MDB_val k, v;
    size_t cap = 0;
    int mrc = mdb_cursor_open(txn, j->s->owners, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "read owners");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && *rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (j->n_owners == cap) {
            cap = cap ? 2 * cap : 16;
            struct owner_job *grown = realloc(j->owners, cap * sizeof *grown);
            if (!grown) {
                mdb_cursor_close(cur);
                return scsms_fail(SCSMS_ENOMEM, "out of memory");
            }
            j->owners = grown;
        }
        if ((*rc = owner_of(j->s, txn, &k, &v, &j->owners[j->n_owners], rep)) == 0)
            j->n_owners++;
    }
    mdb_cursor_close(cur);
    if (*rc == 0 && mrc && mrc != MDB_NOTFOUND)
        *rc = store_lmdb_fail(mrc, "read owners");
    if (*rc && !rep->message[0]) /* a read error, not a finding */
        snprintf(rep->message, sizeof rep->message, "%s", scsms_errmsg());
    return 0;
}

/* Cut every owner's log into pieces of at most `size` entries. The owner's
 * last piece reads on to the end of its log, so no more pieces are cut
 * than the log table holds entries: a head altered to claim more entries
 * is found missing them, not given pieces for them. */
static int cut_pieces(struct verify_job *j, MDB_txn *txn, uint64_t size)
{
    MDB_stat st;
    size_t cap = 0;
    int mrc = mdb_stat(txn, j->s->log, &st);
    if (mrc)
        return store_lmdb_fail(mrc, "read log");
    for (size_t o = 0; o < j->n_owners; o++) {
        uint64_t len = j->owners[o].head.seq < st.ms_entries ? j->owners[o].head.seq
                                                            : st.ms_entries;
        uint64_t from = 1;
        struct piece *p;
        do {
            if (j->n_pieces == cap) {
                cap = cap ? 2 * cap : 64;
                struct piece *grown = realloc(j->pieces, cap * sizeof *grown);
                if (!grown)
                    return scsms_fail(SCSMS_ENOMEM, "out of memory");
                j->pieces = grown;
            }
            p = &j->pieces[j->n_pieces++];
            *p = (struct piece){.owner = o, .from = from, .last = len - (from - 1) <= size};
            p->to = p->last ? len : from - 1 + size;
            from = p->to + 1;
        } while (!p->last);
    }
    return 0;
}

/* Put the pieces' findings together in log order: the first failure, or
 * the sums and each owner's coverage by a signed checkpoint. */
static int gather(struct verify_job *j, struct verify_report *rep)
{
    uint64_t last_signed = 0;
    for (size_t i = 0; i < j->n_pieces; i++) {
        const struct piece *p = &j->pieces[i];
        const struct owner_job *o = &j->owners[p->owner];
        if (p->fail) {
            uint64_t owners = rep->owners;
            *rep = *p->fail;
            rep->owners = owners;
            return scsms_fail(p->fail->code, "%s", p->fail->message);
        }
        if (i >= atomic_load(&j->first_bad)) { /* failed without the memory to say how */
            int rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
            *rep = (struct verify_report){.code = rc, .message = "out of memory"};
            return rc;
        }
        rep->entries += p->entries;
        rep->checkpoints += p->checkpoints;
        rep->records += p->records;
        rep->due += p->due;
        if (p->last_signed)
            last_signed = p->last_signed;
        if (!p->last)
            continue;
        if (o->head.seq > 0 && last_signed != o->head.seq)
            return bad(rep, SCSMS_ETAMPER, o->name, last_signed + 1,
                       "not covered by any signed checkpoint (checkpoint removed or log extended)");
        rep->owners++;
        last_signed = 0;
    }
    return 0;
}

int verify_store_pieces(store_t *s, uint64_t piece, struct verify_report *rep)
{
    MDB_txn *txn;
    struct verify_job j = {.s = s};
    int owner_rc = 0;
    memset(rep, 0, sizeof *rep);
    atomic_init(&j.next, 0);
    atomic_init(&j.first_bad, SIZE_MAX);
    if (piece == 0)
        piece = VERIFY_PIECE;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = collect_owners(&j, txn, rep, &owner_rc);
    if (rc == 0)
        rc = cut_pieces(&j, txn, piece);
    if (rc == 0) {
        run_job(&j, txn);
        rc = gather(&j, rep);
    }
    if (rc == 0 && owner_rc) { /* the owners before it were sound */
        rc = owner_rc;
        scsms_fail(rc, "%s", rep->message);
    }
    if (rc == 0)
        rc = check_counts(s, txn, rep);
    /* last: each log sound, is every one there, as far as it was signed? */
    if (rc == 0 && (rc = store_heads_check(s, txn)))
        rc = bad(rep, rc, s->owner, 0, "%s", scsms_errmsg());
    mdb_txn_abort(txn);
    for (size_t i = 0; i < j.n_pieces; i++)
        free(j.pieces[i].fail);
    free(j.pieces);
    free(j.owners);
    if (rc == 0) {
        struct received_walk rw = {s, rep};
        rc = store_received_list(s, check_received, &rw);
    }
    return rc;
}

int verify_store(store_t *s, struct verify_report *rep)
{
    return verify_store_pieces(s, 0, rep);
}

/* verify.c -- full integrity check of a store; see verify.h. */
#include "verify.h"
#include "store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* Check every checkpoint at or before seq (whose hash is w->hash when it is
 * exactly seq). Checkpoints name only entries that exist and match. */
static int check_checkpoints(struct walk *w, uint64_t seq)
{
    uint64_t cs;
    while (w->cp_more && cp_seq_of(&w->cpk, w->head.idx, &cs) && cs <= seq) {
        Scsms__Checkpoint *cp;
        if (cs < seq) /* its entry was passed without a match */
            return bad(w->rep, SCSMS_ETAMPER, w->owner, cs, "checkpoint names no entry");
        int rc = chain_checkpoint_check(w->pub, w->cpv.mv_data, w->cpv.mv_size, &cp);
        if (rc)
            return bad(w->rep, SCSMS_ETAMPER, w->owner, cs, "checkpoint signature is not valid (%s)",
                       scsms_errmsg());
        int ok = cp->seq == cs && strcmp(cp->owner, w->owner) == 0 &&
                 memcmp(cp->head_hash.data, w->hash, CRYPTO_HASH_LEN) == 0;
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
    if (chain_entry_decode(v->mv_data, v->mv_size, &e))
        return bad(w->rep, SCSMS_ETAMPER, w->owner, seq, "does not decode (altered): %s",
                   scsms_errmsg());
    chain_entry_hash(v->mv_data, v->mv_size, h);
    rc = 0;
    if (e->seq != seq || strcmp(e->owner, w->owner) != 0)
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, seq, "holds entry %llu of %s (entries moved)",
                 (unsigned long long)e->seq, e->owner);
    else if (memcmp(e->prev_hash.data, w->hash, CRYPTO_HASH_LEN) != 0)
        rc = name_broken_link(w, cur, seq, h);
    else if (record_unpack(e->record.data, e->record.len, &rec))
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, seq, "record does not decode: %s",
                 scsms_errmsg());
    else {
        if (strcmp(rec->owner, w->owner) != 0)
            rc = bad(w->rep, SCSMS_ETAMPER, w->owner, seq, "record claims owner %s", rec->owner);
        else if (seal_is_sealed(rec) &&
                 seal_check(rec, e->record.data, e->record.len, w->pub) != 0)
            rc = bad(w->rep, SCSMS_ETAMPER, w->owner, seq, "%s", scsms_errmsg());
        else
            rc = check_indices(w, rec, k->mv_data);
        record_free(rec);
    }
    scsms__log_entry__free_unpacked(e, NULL);
    if (rc)
        return rc;
    memcpy(w->hash, h, CRYPTO_HASH_LEN);
    w->rep->entries++;
    return check_checkpoints(w, seq);
}

static int walk_owner(struct walk *w)
{
    MDB_cursor *cur;
    uint8_t start[STORE_LOGKEY_LEN];
    int rc = 0, mrc;
    store_put_be32(start, w->head.idx);
    store_put_be64(start + 4, 0);
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
        rc = check_entry(w, cur, &k, &v);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read log");
    if (rc == 0 && w->seq < w->head.seq)
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq + 1, "missing from the log (deleted)");
    if (rc == 0 && w->seq > w->head.seq)
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, w->head.seq + 1,
                 "beyond the recorded head of the log (appended outside the store)");
    if (rc == 0 && memcmp(w->hash, w->head.head, CRYPTO_HASH_LEN) != 0)
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq,
                 "bytes do not match the recorded chain head: the entry was altered");
    if (rc == 0 && w->cp_more && cp_seq_of(&w->cpk, w->head.idx, &(uint64_t){0}))
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, w->seq + 1, "signed checkpoint names it but "
                 "it is missing from the log (deleted)");
    if (rc == 0 && w->seq > 0 && w->last_signed != w->seq)
        rc = bad(w->rep, SCSMS_ETAMPER, w->owner, w->last_signed + 1,
                 "not covered by any signed checkpoint (checkpoint removed or log extended)");
    mdb_cursor_close(w->cps);
    mdb_cursor_close(cur);
    return rc;
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

int verify_store(store_t *s, struct verify_report *rep)
{
    MDB_txn *txn;
    MDB_cursor *owners;
    memset(rep, 0, sizeof *rep);
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    int mrc = mdb_cursor_open(txn, s->owners, &owners);
    if (mrc) {
        mdb_txn_abort(txn);
        return store_lmdb_fail(mrc, "read owners");
    }
    MDB_val k, v;
    for (mrc = mdb_cursor_get(owners, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(owners, &k, &v, MDB_NEXT)) {
        char name[RECORD_MAX_ID + 1];
        struct walk w = {.s = s, .txn = txn, .rep = rep, .owner = name};
        if (k.mv_size == 0 || k.mv_size > RECORD_MAX_ID || v.mv_size != STORE_OWNER_LEN) {
            rc = bad(rep, SCSMS_ETAMPER, s->owner, 0, "owners table holds a malformed entry");
            break;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = 0;
        store_owner_decode(&v, &w.head);
        Scsms__Identity *ident = NULL;
        if (strcmp(name, s->owner) == 0) {
            w.pub = s->pub;
        } else if (store_identity_read(s, txn, name, &ident) != 0 ||
                   ident->sign_key.len != CRYPTO_PUB_LEN) {
            if (ident)
                scsms__identity__free_unpacked(ident, NULL);
            rc = bad(rep, SCSMS_EKEY, name, 0, "no public key known for this owner");
            break;
        } else {
            w.pub = ident->sign_key.data;
        }
        rc = walk_owner(&w);
        if (ident)
            scsms__identity__free_unpacked(ident, NULL);
        rep->owners++;
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read owners");
    if (rc == 0)
        rc = check_counts(s, txn, rep);
    mdb_cursor_close(owners);
    mdb_txn_abort(txn);
    if (rc == 0) {
        struct received_walk rw = {s, rep};
        rc = store_received_list(s, check_received, &rw);
    }
    return rc;
}

/* batch.c -- the store's write path: store_batch_* and store_put.
 *
 * A commit runs in one LMDB write transaction (store_write_txn). Each
 * queued record becomes one log entry: validated, given its id, version and
 * times, packed, chained to the previous entry by SHA-256, and written with
 * its indices; one signed checkpoint covers the new head.
 *
 * Group commit uses both cores. Preparing a new record (validating it,
 * giving it its id, packing it and its log entry) needs no transaction,
 * so for a large batch a preparer thread and the writer share that work,
 * each claiming the next unprepared item from one atomic counter. The
 * writer alone, in order, chains each entry (the previous entry's hash
 * goes into a slot left for it, then the entry is hashed) and puts it
 * with its indices. An entry is built ahead for the log position the
 * record would take if nothing before it shifts the log. An update is
 * built by the writer, which alone can read the version it supersedes,
 * and takes its own place; a record whose rules raise others shifts every
 * later position, and from there on the writer rebuilds each entry for
 * its real one. The writer reads an item only after its ready flag
 * (release/acquire); the preparer never touches LMDB.
 */
#include "store_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "isotime.h"
#include "rules.h"
#include "seal.h"

/* Below this many records a thread costs more than it saves. */
#define PIPELINE_MIN 256

struct item {
    Scsms__Record *rec;          /* borrowed from the caller */
    char id[RECORD_MAX_ID + 1];  /* given by the last commit */
    uint8_t *entry;              /* its log entry: in a preparer's arena, or the
                                    writer's scratch; never freed on its own */
    size_t entry_len;
    uint64_t entry_seq;          /* the log position an entry built ahead is for */
    size_t prev_at;              /* where its prev_hash bytes start in entry */
    int rc;                      /* the preparer's verdict on the record */
    char *err;                   /* and its message (the preparer's thread-local one) */
    int preserve;                /* restore with its own id, version, times, author */
    int dispose;                 /* the tombstone of store_dispose() */
    int refused;                 /* named in errors by the last commit */
};

/* Entries built ahead live in chunks that never move, so the writer can
 * read one while its preparer adds the next, and none is freed alone:
 * malloc and a cross-thread free per entry cost more than packing it. */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    size_t last;                 /* the last item with an entry in it */
    uint8_t data[];
};

struct store_batch {
    store_t *s;
    struct item *items;
    size_t n, cap;
    uint8_t *rbuf, *ebuf;        /* the writer's scratch: updated record, entry */
    size_t rcap, ecap;
    char **raised;               /* what the rules wrote besides the items */
    size_t n_raised;
    struct store_batch_error *errors; /* every record refused by the last commit */
    size_t n_errors;
    uint64_t id_offset;          /* new ids number seq + id_offset (see max_preserved) */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
    int dry_run;                 /* check everything, write nothing */
    int each_apart;              /* apply each record in a nested transaction */
};

#define DRY_RUN_DONE 1 /* batch_body's way to have write_txn abort a dry run */
#define CHECK_EACH 2   /* batch_body's: a record was refused, check each apart */

#define MAX_ERRORS 1000

static void chunks_free(struct chunk **list)
{
    while (*list) {
        struct chunk *next = (*list)->next;
        free(*list);
        *list = next;
    }
}

/* One preparer's own memory: entries it built and its packing scratch.
 * Its chunks fill in item order and the writer puts entries in item
 * order, so a chunk whose last item the writer has passed is free again:
 * with the preparers at most PREPARE_AHEAD items ahead, an import of any
 * size builds its entries in the same few chunks, still in cache. */
struct preparer {
    struct chunk *cur;           /* being filled */
    struct chunk *full, *tail;   /* filled, oldest first */
    uint8_t *pbuf;               /* a packed record */
    size_t pcap;
};

/* What the preparers share with the writer during one run of the body. */
struct packer {
    store_batch_t *b;
    uint64_t first_seq;          /* log sequence of item 0, if nothing shifts */
    const char *now;
    int64_t clock;               /* the time, seconds, as the batch began */
    /* each on its own cache line: the writer stores `applied` once an
     * item, and the preparers must not lose `next` to it every time */
    alignas(64) atomic_size_t next; /* the next item nobody has claimed */
    alignas(64) atomic_size_t applied; /* items the writer is done with */
    alignas(64) char after_applied; /* keeps later fields off its line */
    atomic_uchar *ready;         /* ready[i]: item i is prepared */
    atomic_int stop;             /* the writer gave up */
    struct preparer writer;      /* the writer's, when it helps */
    struct preparer helper;      /* the thread's */
    int threaded;
    pthread_t thread;
};

static int put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *d, size_t dl,
               unsigned flags, const char *what)
{
    MDB_val key = {kl, (void *)k}, val = {dl, (void *)d};
    int mrc = mdb_put(txn, dbi, &key, &val, flags);
    if (mrc == MDB_KEYEXIST)
        return scsms_fail(SCSMS_ECORRUPT, "%s already present: the store's indices disagree "
                          "with its log; run verify", what);
    return mrc ? store_lmdb_fail(mrc, what) : 0;
}

/* Take k as the table's last key. One too long to keep (index keys are at
 * most 2 * RECORD_MAX_ID + 8 bytes, so none is) leaves the tail unknown,
 * looked up again at the next put. */
static void tail_keep(struct store_tail *t, const void *k, size_t kl)
{
    if (kl > STORE_TAIL_MAX) {
        t->state = STORE_TAIL_UNKNOWN;
        return;
    }
    memcpy(t->key, k, kl);
    t->len = kl;
    t->state = STORE_TAIL_KNOWN;
}

/* Look up the last key of table dbi in txn: one descent a transaction,
 * then every put knows without trying. */
static int learn_tail(MDB_txn *txn, MDB_dbi dbi, struct store_tail *t)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int mrc = mdb_cursor_open(txn, dbi, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "read index");
    mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (mrc == MDB_NOTFOUND) {
        t->state = STORE_TAIL_EMPTY;
        mrc = 0;
    } else if (mrc == 0) {
        tail_keep(t, k.mv_data, k.mv_size);
    }
    mdb_cursor_close(cur);
    return mrc ? store_lmdb_fail(mrc, "read index") : 0;
}

/* Whether key k sorts after the tail, in LMDB's default order (bytes,
 * then the shorter first). */
static int after_tail(const struct store_tail *t, const uint8_t *k, size_t kl)
{
    if (t->state == STORE_TAIL_EMPTY)
        return 1;
    if (t->state != STORE_TAIL_KNOWN)
        return 0;
    int c = memcmp(k, t->key, kl < t->len ? kl : t->len);
    return c > 0 || (c == 0 && kl > t->len);
}

/* Put an index key, appending when it sorts after every key already in
 * the table: bulk imports arrive one type at a time with rising ids, and
 * an appended key skips the tree search and leaves full pages behind.
 * Which keys sort last is told by the table's tail, looked up once a
 * transaction: with types interleaved, half the keys do not, and trying
 * to append each of them first (LMDB answers MDB_KEYEXIST) cost a second
 * search. */
static int put_index(MDB_txn *txn, MDB_dbi dbi, struct store_tail *tail, const void *k,
                     size_t kl, const void *d, size_t dl, unsigned flags, const char *what)
{
    MDB_val key = {kl, (void *)k}, val = {dl, (void *)d};
    int rc = tail->state == STORE_TAIL_UNKNOWN ? learn_tail(txn, dbi, tail) : 0;
    if (rc)
        return rc;
    if (!after_tail(tail, k, kl))
        return put(txn, dbi, k, kl, d, dl, flags, what);
    int mrc = mdb_put(txn, dbi, &key, &val, MDB_APPEND);
    if (mrc == MDB_KEYEXIST) { /* not after all: learn the tail again */
        tail->state = STORE_TAIL_UNKNOWN;
        return put(txn, dbi, k, kl, d, dl, flags, what);
    }
    if (mrc)
        return store_lmdb_fail(mrc, what);
    tail_keep(tail, k, kl);
    return 0;
}

static int del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const char *what)
{
    MDB_val key = {kl, (void *)k};
    int mrc = mdb_del(txn, dbi, &key, NULL);
    if (mrc == MDB_NOTFOUND)
        return scsms_fail(SCSMS_ECORRUPT, "%s missing: the store's indices disagree with its "
                          "log; run verify", what);
    return mrc ? store_lmdb_fail(mrc, what) : 0;
}

/* "OWNER-TYPE-000042": unique because the sequence is, and readable.
 * Owners are at most 64 characters, so it always fits; written by hand
 * because snprintf showed up in the bulk-add profile. */
static void make_id(const char *owner, const char *code, uint64_t seq,
                    char out[RECORD_MAX_ID + 1])
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + seq % 10);
        seq /= 10;
    } while (seq);
    while (n < 6)
        digits[n++] = '0';
    size_t ol = strlen(owner), cl = strlen(code);
    memcpy(out, owner, ol);
    out[ol] = '-';
    memcpy(out + ol + 1, code, cl);
    out[ol + 1 + cl] = '-';
    char *d = out + ol + 2 + cl;
    while (n)
        *d++ = digits[--n];
    *d = 0;
}

static const char *role_name(enum store_role r)
{
    return r == STORE_ROLE_SITE ? "site" : r == STORE_ROLE_HQ ? "head office" : "partner";
}

/* The checks that need no transaction: the record itself, and whether
 * this store's role may issue its type (DOMAIN.md rule 8). */
/* A record restored with its envelope must be this store's own, whole. */
static int check_preserved(const store_t *s, const Scsms__Record *rec)
{
    if (!rec->id[0])
        return scsms_fail(SCSMS_EINVAL, "a restored record needs its 'id'");
    if (rec->owner[0] && strcmp(rec->owner, s->owner) != 0)
        return scsms_fail(SCSMS_EPERM, "record '%s' belongs to %s; %s can only restore its own "
                          "records (rule 8)", rec->id, rec->owner, s->owner);
    if (!record_id_is_owners(rec->id, s->owner))
        return scsms_fail(SCSMS_EPERM, "record id '%s' is not one of %s's (rule 8)", rec->id,
                          s->owner);
    const struct record_type *t = record_type_of(rec);
    if (!record_id_fits_type(rec->id, s->owner, t))
        return scsms_fail(SCSMS_EINVAL, "record id '%s' is not an id of type %s (%s-%s-NNNNNN)",
                          rec->id, t->name, s->owner, t->code);
    if (rec->version < 1 || !rec->created_at[0] || !rec->updated_at[0] || !rec->author[0])
        return scsms_fail(SCSMS_EINVAL, "a restored record needs its version, created_at, "
                          "updated_at and author");
    return 0;
}

/* Who issues a type, in words: every issuer it has. */
static const char *issuers_named(unsigned issuers)
{
    int hq = issuers & RECORD_BY_HQ, site = issuers & RECORD_BY_SITE,
        partner = issuers & RECORD_BY_PARTNER;
    return hq && site && partner ? "head office, the sites and business partners"
           : hq && site          ? "head office and the sites"
           : hq && partner       ? "head office and business partners"
           : site && partner     ? "the sites and business partners"
           : hq                  ? "head office"
           : site                ? "the sites"
                                 : "business partners";
}

static int check_record(const store_t *s, Scsms__Record *rec, int preserve, int dispose,
                        int64_t clock)
{
    if (record_is_tombstone(rec) && !dispose && !preserve)
        return rec->id[0] && rec->disposal_reason[0]
                   ? scsms_fail(SCSMS_ERULE, "record '%s' was disposed of; it cannot change",
                                rec->id)
                   : scsms_fail(SCSMS_EPERM, "status '%s' is set only by 'scsms-agent dispose', "
                                "after the retention period", RECORD_DISPOSED);
    /* who may issue the type comes first: a partner told which field its
     * incident lacks would fill it in only to hear it may not write one */
    const struct record_type *t = record_type_of(rec);
    if (t && !(t->issuers & record_issuer_bit(s->role)))
        return scsms_fail(SCSMS_EPERM, "a %s cannot issue %s records (rule 8): they come from %s",
                          role_name(s->role), t->name, issuers_named(t->issuers));
    int rc = preserve ? record_validate_restored(rec) : record_validate(rec);
    if (rc == 0 && preserve)
        rc = check_preserved(s, rec);
    if (rc == 0 && preserve && !record_is_tombstone(rec))
        rc = rules_check_restored(rec, s->role, &s->cfg);
    /* a restored record is written as it was exported: the rules held
     * when it was first written, and what they raised is in the export */
    if (rc == 0 && !preserve && !dispose)
        rc = rules_check_record(rec, s->role, &s->cfg, clock);
    if (rc)
        return rc;
    if (strlen(rec->id) > RECORD_MAX_ID)
        return scsms_fail(SCSMS_EINVAL, "id longer than %d characters", RECORD_MAX_ID);
    if ((rc = rules_check_subject(rec, s->owner, s->role)))
        return rc;
    /* a record that carries its own signature is signed by whoever writes
     * it, a restored one too: the store that holds it must verify it, and
     * a store rebuilt from an export has a key of its own (Ed25519 is
     * deterministic: under the same key the bytes come out the same) */
    if (!dispose && seal_is_sealed(rec)) {
        if (!s->key)
            return scsms_fail(SCSMS_EKEY, "this store was opened without its key: it cannot "
                              "sign a %s", t->name);
        return seal_record_sign(rec, s->key);
    }
    return 0;
}

/* Pack the envelope as stored: a shallow copy of rec with the store's
 * fields. Returns the length, or 0 (with the error set) when too large. */
static size_t pack_envelope(const store_t *s, const Scsms__Record *rec, const char *id,
                            uint32_t version, const char *created, const char *now,
                            const char *author, uint8_t **buf, size_t *cap)
{
    Scsms__Record env = *rec;
    env.id = (char *)id;
    env.owner = (char *)s->owner;
    env.version = version;
    env.created_at = (char *)created;
    env.updated_at = (char *)now;
    env.author = (char *)author;
    size_t len = scsms__record__get_packed_size(&env);
    if (len > RECORD_MAX_BYTES) {
        scsms_fail(SCSMS_EINVAL, "record is %zu bytes; the limit is %u", len, RECORD_MAX_BYTES);
        return 0;
    }
    if (store_reserve(buf, cap, len))
        return 0;
    scsms__record__pack(&env, *buf);
    return len;
}

/* Pack the log entry of a record at seq, linked to prev, into memory from
 * alloc(ctx, size). Returns the length, 0 when out of memory. */
static size_t build_entry(const store_t *s, uint64_t seq, const uint8_t *prev,
                          const uint8_t *rec, size_t rlen,
                          uint8_t *(*alloc)(void *ctx, size_t n), void *ctx, uint8_t **out)
{
    Scsms__LogEntry e = SCSMS__LOG_ENTRY__INIT;
    e.owner = (char *)s->owner;
    e.seq = seq;
    e.prev_hash.data = (uint8_t *)prev;
    e.prev_hash.len = CRYPTO_HASH_LEN;
    e.record.data = (uint8_t *)rec;
    e.record.len = rlen;
    size_t len = scsms__log_entry__get_packed_size(&e);
    if (!(*out = alloc(ctx, len)))
        return 0;
    scsms__log_entry__pack(&e, *out);
    return len;
}

/* n bytes for item i's entry: in the current chunk, or else in the
 * oldest full one once the writer is past it, or else in a new one. */
static uint8_t *preparer_alloc(struct packer *pk, struct preparer *pr, size_t i, size_t n)
{
    struct chunk *c = pr->cur;
    if (!c || c->cap - c->used < n) {
        if (c) { /* retire it */
            c->next = NULL;
            if (pr->tail)
                pr->tail->next = c;
            else
                pr->full = c;
            pr->tail = c;
        }
        c = pr->full;
        if (c && c->cap >= n && c->last < atomic_load_explicit(&pk->applied, memory_order_acquire)) {
            if (!(pr->full = c->next))
                pr->tail = NULL;
        } else {
            /* 64 KiB: under malloc's mmap threshold */
            size_t cap = n > ((size_t)60 << 10) ? n : (size_t)60 << 10;
            if (!(c = malloc(sizeof *c + cap))) {
                pr->cur = NULL;
                return NULL;
            }
            c->cap = cap;
        }
        c->used = 0;
        c->next = NULL;
        pr->cur = c;
    }
    uint8_t *p = c->data + c->used;
    c->used += n;
    c->last = i;
    return p;
}

struct arena_ctx {
    struct packer *pk;
    struct preparer *pr;
    size_t item;
};

static uint8_t *alloc_arena(void *ctx, size_t n)
{
    struct arena_ctx *a = ctx;
    return preparer_alloc(a->pk, a->pr, a->item, n);
}

static uint8_t *alloc_scratch(void *batch, size_t n)
{
    store_batch_t *b = batch;
    return store_reserve(&b->ebuf, &b->ecap, n) ? NULL : b->ebuf;
}

/* Links of item i whose target is "@N" name the record queued at position
 * N < i of this batch: replaced by its id, which is given by now (a
 * record and the ones linking to it commit together). */
static int resolve_batch_links(store_batch_t *b, size_t i)
{
    Scsms__Record *rec = b->items[i].rec;
    for (size_t k = 0; k < rec->n_links; k++) {
        const char *t = rec->links[k]->target;
        char *end;
        if (t[0] != '@')
            continue;
        unsigned long n = strtoul(t + 1, &end, 10);
        if (end == t + 1 || *end || n >= i || !b->items[n].id[0])
            return scsms_fail(SCSMS_EINVAL, "link %zu: '%.32s' names no earlier record of the "
                              "batch", k + 1, t);
        int rc = record_set_string(&rec->links[k]->target, b->items[n].id);
        if (rc)
            return rc;
    }
    return 0;
}

static int has_batch_links(const Scsms__Record *rec)
{
    for (size_t k = 0; k < rec->n_links; k++)
        if (rec->links[k]->target[0] == '@')
            return 1;
    return 0;
}

/* Item it's id when it takes log position seq: a restored record keeps its
 * own, an update its record's, a new one is numbered by position. */
static void item_id(const store_t *s, struct item *it, uint64_t seq, uint64_t id_offset)
{
    if (it->preserve || it->rec->id[0])
        snprintf(it->id, sizeof it->id, "%s", it->rec->id);
    else
        make_id(s->owner, record_type_of(it->rec)->code, seq + id_offset, it->id);
}

/* Pack item it's record as stored: a restored one with its own version,
 * times and author, any other as version `version`, created `created`,
 * written now by this store's author. Returns the length, 0 on error. */
static size_t pack_item(const store_t *s, const struct item *it, uint32_t version,
                        const char *created, const char *now, uint8_t **buf, size_t *cap)
{
    const Scsms__Record *r = it->rec;
    return it->preserve ? pack_envelope(s, r, it->id, r->version, r->created_at, r->updated_at,
                                        r->author, buf, cap)
                        : pack_envelope(s, r, it->id, version, created, now, s->author, buf, cap);
}

static size_t varint_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Build the entry of a new (or restored) item i for the position it takes
 * when nothing before it shifts the log, leaving its prev_hash to the
 * writer. The entry ends "prev_hash (tag, length 32, 32 bytes), record
 * (tag, length, bytes)": protobuf-c packs fields in number order. */
static void build_ahead(struct packer *pk, struct preparer *pr, struct item *it, size_t i)
{
    store_batch_t *b = pk->b;
    static const uint8_t unknown[CRYPTO_HASH_LEN];
    item_id(b->s, it, pk->first_seq + i, b->id_offset);
    size_t rlen = pack_item(b->s, it, 1, pk->now, pk->now, &pr->pbuf, &pr->pcap);
    if (rlen == 0) {
        it->rc = SCSMS_EINVAL;
        return;
    }
    it->entry_seq = pk->first_seq + i;
    struct arena_ctx ac = {pk, pr, i};
    it->entry_len = build_entry(b->s, it->entry_seq, unknown, pr->pbuf, rlen, alloc_arena, &ac,
                                &it->entry);
    if (it->entry_len == 0) {
        it->entry = NULL;
        it->rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
        return;
    }
    it->prev_at = it->entry_len - rlen - varint_len(rlen) - 1 - CRYPTO_HASH_LEN;
    /* field 3, length-delimited, 32 bytes: else the writer builds it */
    if (it->prev_at < 2 || it->entry[it->prev_at - 2] != 0x1a ||
        it->entry[it->prev_at - 1] != CRYPTO_HASH_LEN)
        it->entry = NULL;
}

/* Validate item i and, when it is a new record, build its entry ahead.
 * Runs on either preparer, for items each claimed. */
static void prepare_item(struct packer *pk, struct preparer *pr, size_t i)
{
    store_batch_t *b = pk->b;
    struct item *it = &b->items[i];
    free(it->err);
    it->entry = NULL;
    it->err = NULL;
    it->rc = check_record(b->s, it->rec, it->preserve, it->dispose, pk->clock);
    /* "@N" links name ids given in order: the writer resolves them */
    if (it->rc == 0 && (!it->rec->id[0] || it->preserve) && !it->dispose &&
        !has_batch_links(it->rec))
        build_ahead(pk, pr, it, i);
    if (it->rc)
        it->err = strdup(scsms_errmsg());
}

/* Claim the next unprepared item and prepare it; 0 when none is left. */
static int prepare_next(struct packer *pk, struct preparer *pr)
{
    size_t i = atomic_fetch_add_explicit(&pk->next, 1, memory_order_relaxed);
    if (i >= pk->b->n)
        return 0;
    prepare_item(pk, pr, i);
    atomic_store_explicit(&pk->ready[i], 1, memory_order_release);
    return 1;
}

/* How far the preparers may run ahead of the writer: far enough that the
 * writer seldom waits, near enough that the entries are still in cache. */
#define PREPARE_AHEAD 2048

static void *helper_main(void *arg)
{
    struct packer *pk = arg;
    const struct timespec pause = {0, 50000};
    while (!atomic_load_explicit(&pk->stop, memory_order_relaxed)) {
        size_t next = atomic_load_explicit(&pk->next, memory_order_relaxed);
        if (next >= atomic_load_explicit(&pk->applied, memory_order_acquire) + PREPARE_AHEAD) {
            nanosleep(&pause, NULL); /* the writer puts ~50 entries meanwhile */
            continue;
        }
        if (!prepare_next(pk, &pk->helper))
            break;
    }
    return NULL;
}

static int packer_start(struct packer *pk)
{
    size_t n = pk->b->n;
    if (!(pk->ready = malloc(n * sizeof *pk->ready)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        atomic_init(&pk->ready[i], 0);
    atomic_init(&pk->next, 0);
    atomic_init(&pk->applied, 0);
    atomic_init(&pk->stop, 0);
    /* below PIPELINE_MIN records a thread costs more than it saves; without
     * one, the writer prepares every item itself */
    pk->threaded = n >= PIPELINE_MIN && pthread_create(&pk->thread, NULL, helper_main, pk) == 0;
    return 0;
}

/* Wait until item i is prepared, preparing later ones meanwhile. The wait
 * at the end is for one item the helper is part way through: spin, and
 * yield in case it is not running. */
static void packer_wait(struct packer *pk, size_t i)
{
    unsigned spins = 0;
    while (!atomic_load_explicit(&pk->ready[i], memory_order_acquire)) {
        if (prepare_next(pk, &pk->writer))
            continue;
        if (++spins % 64 == 0)
            sched_yield();
    }
}

static void preparer_free(struct preparer *pr)
{
    chunks_free(&pr->cur);
    chunks_free(&pr->full);
    pr->tail = NULL;
    free(pr->pbuf);
    pr->pbuf = NULL;
    pr->pcap = 0;
}

/* Stop the helper and free what the preparers built: every entry has been
 * put (LMDB copied it) or is no longer wanted. */
static void packer_finish(struct packer *pk)
{
    atomic_store_explicit(&pk->stop, 1, memory_order_relaxed);
    if (pk->threaded)
        pthread_join(pk->thread, NULL);
    pk->threaded = 0;
    for (size_t i = 0; i < pk->b->n; i++)
        pk->b->items[i].entry = NULL;
    preparer_free(&pk->writer);
    preparer_free(&pk->helper);
    free(pk->ready);
    pk->ready = NULL;
}

/* Drop the index entries of the version being superseded. */
static int unindex_old(store_t *s, MDB_txn *txn, const Scsms__Record *old, const char *id)
{
    uint8_t key[2 * RECORD_MAX_ID + 8];
    int64_t day;
    int rc = del(txn, s->by_status, key, store_status_key(old, id, key), "status index entry");
    if (rc == 0 && record_due_day(old, &day))
        rc = del(txn, s->by_due, key, store_due_key(day, id, key), "due index entry");
    return rc;
}

/* Check that an update is allowed, decide its version and creation time,
 * and move the superseded version from `latest` into `versions`. */
int store_supersede(store_t *s, MDB_txn *txn, const Scsms__Record *rec, const char *owner)
{
    uint8_t ref[STORE_LOGKEY_LEN], key[RECORD_MAX_ID + 8];
    uint32_t v, version = rec->version;
    const char *id = rec->id;
    Scsms__Record *old = NULL;
    int rc = store_latest_get(s, txn, id, &v, ref);
    if (rc)
        return rc == SCSMS_ENOTFOUND
                   ? scsms_fail(SCSMS_ETAMPER, "version %u of '%.128s' comes without its earlier "
                                "versions", version, id)
                   : rc;
    if ((rc = store_load_record(s, txn, ref, &old)))
        return rc;
    if (v + 1 != version || strcmp(old->owner, owner) != 0)
        rc = scsms_fail(SCSMS_ETAMPER, "'%.128s' version %u does not follow version %u of %s",
                        id, version, v, old->owner);
    else if (old->body_case != rec->body_case)
        rc = scsms_fail(SCSMS_ETAMPER, "'%.128s' version %u is of type %s, version %u of type "
                        "%s: a record keeps its type", id, version, record_type_of(rec)->name, v,
                        record_type_of(old)->name);
    else if (record_is_tombstone(old))
        rc = scsms_fail(SCSMS_ETAMPER, "'%.128s' was disposed of at version %u: no version "
                        "follows a disposal", id, v);
    else if ((rc = unindex_old(s, txn, old, id)) == 0)
        rc = put(txn, s->versions, key, store_versions_key(id, v, key), ref, STORE_LOGKEY_LEN,
                 MDB_NOOVERWRITE, "version index entry");
    record_free(old);
    return rc;
}

/* Disposal (ISO 28000 4.5.4): only after the retention period, only by an
 * author scsms.ini names. */
static int check_disposal(const store_t *s, const Scsms__Record *old)
{
    int64_t created;
    char until[ISOTIME_DATE_LEN + 1];
    if (isotime_parse_instant(old->created_at, &created))
        return scsms_fail(SCSMS_ECORRUPT, "record '%s' has no valid created_at", old->id);
    int64_t keep = created + (int64_t)old->retention_days * 86400;
    if (isotime_now() < keep) {
        isotime_format_date(isotime_days(keep), until);
        return scsms_fail(SCSMS_ERULE, "record '%s' must be kept until %s (%u days from its "
                          "creation, 4.5.4): disposal refused", old->id, until,
                          old->retention_days);
    }
    if (!config_may_dispose(&s->cfg, s->author))
        return scsms_fail(SCSMS_EPERM, "'%s' may not dispose of records: name the authorised "
                          "people in disposal_authorised in scsms.ini", s->author);
    return 0;
}

/* rec, as its next version would be written, says what old says: packed
 * with old's envelope (id, owner, version, times, author), the bytes are
 * the same. An update that changes nothing would still be a version (and
 * a partner's, a new declaration for head office to review). */
static int same_content(const Scsms__Record *old, const Scsms__Record *rec)
{
    Scsms__Record next = *rec; /* shallow: only read */
    next.id = old->id;
    next.owner = old->owner;
    next.version = old->version;
    next.created_at = old->created_at;
    next.updated_at = old->updated_at;
    next.author = old->author;
    size_t len = scsms__record__get_packed_size(&next);
    if (len != scsms__record__get_packed_size(old))
        return 0;
    uint8_t *a = malloc(len ? 2 * len : 1);
    int same = a && scsms__record__pack(&next, a) == len &&
               scsms__record__pack(old, a + len) == len && memcmp(a, a + len, len) == 0;
    free(a);
    return same;
}

/* The refusal of an update that leaves old as it is. Equipment out of
 * calibration is one the rules may have brought back: an update setting
 * it in service while its calibration is overdue is marked out of
 * calibration again (rule 3) before it is compared, so the refusal says
 * that too, true whether or not in_service was asked for. */
static int unchanged(const Scsms__Record *old, const char *id)
{
    if (old->body_case == SCSMS__RECORD__BODY_EQUIPMENT &&
        !strcmp(old->status, "out_of_calibration"))
        return scsms_fail(SCSMS_EINVAL, "nothing changes: equipment %s holds these values "
                          "already, and stays out of calibration until a passing calibration is "
                          "recorded (rule 3)", id);
    return scsms_fail(SCSMS_EINVAL, "nothing changes: '%s' holds these values already", id);
}

/* user: a user's update (rules_check_update applies), not one the rules
 * raised. */
static int prepare_update(store_t *s, MDB_txn *txn, const Scsms__Record *rec, const char *id,
                          uint32_t *version, char *created, char old_status[32], int dispose,
                          int user)
{
    uint8_t ref[STORE_LOGKEY_LEN], key[RECORD_MAX_ID + 8];
    uint32_t v;
    Scsms__Record *old = NULL;
    int rc = store_latest_get(s, txn, id, &v, ref);
    if (rc)
        return rc == SCSMS_ENOTFOUND ? scsms_fail(rc, "no record '%.128s' to update", id) : rc;
    if ((rc = store_load_record(s, txn, ref, &old)))
        return rc;
    if (old->body_case != rec->body_case)
        rc = scsms_fail(SCSMS_EINVAL, "record '%s' is a %s; an update cannot make it a %s", id,
                        record_type_of(old)->name, record_type_of(rec)->name);
    else if (strcmp(old->owner, s->owner) != 0)
        rc = scsms_fail(SCSMS_EPERM, "record '%s' belongs to %s; only %s can change it", id,
                        old->owner, old->owner);
    else if (old->version != v)
        rc = scsms_fail(SCSMS_ECORRUPT, "record '%s': latest index says version %u, its entry "
                        "says %u; run verify", id, v, old->version);
    else if (record_is_tombstone(old))
        rc = scsms_fail(SCSMS_ERULE, "record '%s' was disposed of on %.10s; it cannot change",
                        id, old->updated_at);
    else if (dispose && (rc = check_disposal(s, old)))
        ;
    else if (user && !dispose && (rc = rules_check_update(old, rec)))
        ;
    else if (user && !dispose && same_content(old, rec))
        rc = unchanged(old, id);
    else if ((rc = unindex_old(s, txn, old, id)) == 0)
        rc = put(txn, s->versions, key, store_versions_key(id, v, key), ref, STORE_LOGKEY_LEN,
                 MDB_NOOVERWRITE, "version index entry");
    if (rc == 0) {
        *version = old->version + 1;
        snprintf(created, ISOTIME_INSTANT_LEN + 1, "%s", old->created_at);
        snprintf(old_status, 32, "%s", old->status);
    }
    record_free(old);
    return rc;
}

/* Build, on the writer, the entry of an item not built ahead, or built for
 * another position: an update (reading the previous version in txn), one
 * with "@N" links, or one after a record whose rules raised others. */
static int writer_entry(store_t *s, MDB_txn *txn, store_batch_t *b, struct item *it,
                        const struct store_owner_state *st, const char *now, uint32_t *version,
                        char old_status[32], uint8_t hash[CRYPTO_HASH_LEN])
{
    char created[ISOTIME_INSTANT_LEN + 1];
    int rc;
    *version = it->preserve ? it->rec->version : 1;
    item_id(s, it, st->seq + 1, b->id_offset);
    snprintf(created, sizeof created, "%s", now);
    if (!it->preserve && it->rec->id[0] &&
        (rc = prepare_update(s, txn, it->rec, it->id, version, created, old_status, it->dispose,
                             1)))
        return rc;
    size_t rlen = pack_item(s, it, *version, created, now, &b->rbuf, &b->rcap);
    if (rlen == 0)
        return SCSMS_EINVAL;
    if (!(it->entry_len = build_entry(s, st->seq + 1, st->head, b->rbuf, rlen, alloc_scratch, b,
                                      &it->entry)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    chain_entry_hash(it->entry, it->entry_len, hash);
    return 0;
}

int store_put_version(store_t *s, MDB_txn *txn, const Scsms__Record *rec, const char *id,
                      uint32_t version, int create, const uint8_t *entry, size_t elen,
                      const uint8_t hash[CRYPTO_HASH_LEN], struct store_owner_state *st,
                      unsigned log_flags)
{
    uint8_t lk[STORE_LOGKEY_LEN], latest[STORE_LATEST_LEN], key[2 * RECORD_MAX_ID + 8];
    int64_t day;
    int rc;
    store_log_key(st->idx, st->seq + 1, lk);
    store_put_be32(latest, version);
    memcpy(latest + 4, lk, STORE_LOGKEY_LEN);
    if ((rc = put(txn, s->log, lk, sizeof lk, entry, elen, log_flags, "log entry")))
        return rc;
    rc = put_index(txn, s->latest, &s->tail_latest, id, strlen(id), latest, sizeof latest,
                   create ? MDB_NOOVERWRITE : 0, "latest index entry");
    if (rc == SCSMS_ECORRUPT && create)
        return scsms_fail(SCSMS_EEXIST, "record '%s' already exists", id);
    if (rc || (rc = put_index(txn, s->by_status, &s->tail_status, key,
                              store_status_key(rec, id, key), "", 0, 0,
                              "status index entry")))
        return rc;
    if (record_due_day(rec, &day) &&
        (rc = put_index(txn, s->by_due, &s->tail_due, key, store_due_key(day, id, key), "", 0, 0,
                        "due index entry")))
        return rc;
    memcpy(st->head, hash, CRYPTO_HASH_LEN);
    st->seq++;
    if (s->memo) /* kept true of the transaction */
        s->memo_ops->written(s->memo, rec, id);
    return 0;
}

static int note_raised(store_batch_t *b, const char *why)
{
    char **v = realloc(b->raised, (b->n_raised + 1) * sizeof *v);
    if (!v)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    b->raised = v;
    if (!(v[b->n_raised] = strdup(why)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    b->n_raised++;
    return 0;
}

/* Write one record a rule raised: a new nonconformity, or the next version
 * of the equipment a calibration concerns. */
static int apply_followup(store_t *s, MDB_txn *txn, store_batch_t *b, struct rules_followup *fu,
                          struct store_owner_state *st, const char *now, unsigned log_flags)
{
    char created[ISOTIME_INSTANT_LEN + 1], id[RECORD_MAX_ID + 1], old[32];
    uint32_t version = 1;
    uint8_t *entry, hash[CRYPTO_HASH_LEN];
    /* a rule's next version of a stored record (equipment taken out of
     * use, a policy made obsolete) changes a status or a date: the rest was
     * accepted when it was written, perhaps before a check that refuses it
     * now, and must not stop the rule (record_validate_restored skips
     * those checks); a new record is checked whole */
    int rc = fu->create ? record_validate(fu->rec) : record_validate_restored(fu->rec);
    if (rc)
        return scsms_fail_context(rc, "record raised by %s", fu->why);
    snprintf(id, sizeof id, "%s", fu->rec->id);
    if (fu->create)
        snprintf(created, sizeof created, "%s", now);
    else if ((rc = prepare_update(s, txn, fu->rec, id, &version, created, old, 0, 0)))
        return rc;
    size_t rlen = pack_envelope(s, fu->rec, id, version, created, now, s->author, &b->rbuf,
                                &b->rcap);
    size_t elen = rlen ? build_entry(s, st->seq + 1, st->head, b->rbuf, rlen, alloc_scratch, b,
                                     &entry)
                       : 0;
    if (elen == 0)
        return rlen ? scsms_fail(SCSMS_ENOMEM, "out of memory") : SCSMS_EINVAL;
    chain_entry_hash(entry, elen, hash);
    if ((rc = store_put_version(s, txn, fu->rec, id, version, fu->create, entry, elen, hash, st,
                          log_flags)))
        return rc;
    return note_raised(b, fu->why);
}

/* Append item i as the next entry of the log, with its indices, and then
 * whatever it raises under the rules. */
static int apply_item(store_t *s, MDB_txn *txn, store_batch_t *b, struct item *it,
                      struct store_owner_state *st, const char *now, int64_t today,
                      unsigned log_flags)
{
    uint32_t version = 1;
    uint8_t hash[CRYPTO_HASH_LEN];
    char old_status[32] = "";
    int rc;

    if (it->rc)
        return scsms_fail(it->rc, "%s", it->err ? it->err : scsms_strerror(it->rc));
    /* built for another position: something before it shifted the log */
    if (it->entry && it->entry_seq != st->seq + 1)
        it->entry = NULL;
    if (it->entry) {
        memcpy(it->entry + it->prev_at, st->head, CRYPTO_HASH_LEN);
        chain_entry_hash(it->entry, it->entry_len, hash);
    } else if ((rc = resolve_batch_links(b, (size_t)(it - b->items)))) {
        return rc;
    }
    if (!it->preserve && (rc = rules_check_store(s, txn, it->rec)))
        return rc;
    if (it->preserve)
        version = it->rec->version;
    if (!it->entry && (rc = writer_entry(s, txn, b, it, st, now, &version, old_status, hash)))
        return rc;
    int create = it->preserve || !it->rec->id[0];
    if ((rc = store_put_version(s, txn, it->rec, it->id, version, create, it->entry, it->entry_len,
                                hash, st, log_flags)))
        return rc;
    it->entry = NULL; /* LMDB has copied it */
    if (it->preserve || !rules_raises(it->rec))
        return 0;
    struct rules_followup *fu = NULL;
    size_t n = 0;
    rc = rules_followups(s, txn, it->rec, it->id, create ? NULL : old_status, today, &fu, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = apply_followup(s, txn, b, &fu[i], st, now, log_flags);
    rules_followups_free(fu, n);
    return rc;
}

/* apply_item in a transaction nested in txn: kept when the record is
 * taken, dropped whole when it is refused, so that a refusal part way
 * through a record (its log entry put, its index refused) leaves nothing
 * for the records after it to trip on. */
static int apply_apart(store_t *s, MDB_txn *txn, store_batch_t *b, struct item *it,
                       struct store_owner_state *st, const char *now, int64_t today,
                       unsigned log_flags)
{
    MDB_txn *child;
    struct store_owner_state before = *st;
    size_t raised = b->n_raised;
    int mrc = mdb_txn_begin(b->s->env, txn, 0, &child);
    if (mrc)
        return store_lmdb_fail(mrc, "begin nested transaction");
    int rc = apply_item(s, child, b, it, st, now, today, log_flags);
    if (rc == 0)
        rc = store_txn_commit_nested(s, child, "commit nested transaction");
    else
        store_txn_abort_nested(s, child);
    if (rc) {
        *st = before;
        while (b->n_raised > raised)
            free(b->raised[--b->n_raised]);
    }
    return rc;
}

static int put_checkpoint(store_t *s, MDB_txn *txn, const struct store_owner_state *st,
                          const char *now)
{
    uint8_t *cp, lk[STORE_LOGKEY_LEN];
    size_t len;
    int rc = chain_checkpoint_make(s->key, s->owner, st->seq, st->head, now, &cp, &len);
    if (rc)
        return rc;
    store_log_key(st->idx, st->seq, lk);
    rc = put(txn, s->checkpoints, lk, sizeof lk, cp, len, 0, "checkpoint");
    free(cp);
    return rc;
}

static int note_error(store_batch_t *b, size_t index, const char *msg)
{
    if (b->n_errors == MAX_ERRORS)
        return 0;
    if (!b->errors && !(b->errors = calloc(MAX_ERRORS, sizeof *b->errors)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    char *m = strdup(msg);
    if (!m)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    b->errors[b->n_errors].index = index;
    b->errors[b->n_errors].message = m;
    b->n_errors++;
    return 0;
}

static void clear_results(store_batch_t *b)
{
    for (size_t i = 0; i < b->n_raised; i++)
        free(b->raised[i]);
    b->n_raised = 0;
    for (size_t i = 0; i < b->n_errors; i++)
        free((char *)b->errors[i].message);
    b->n_errors = 0;
}

static int meta_u64(store_t *s, MDB_txn *txn, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int mrc = mdb_get(txn, s->meta, &k, &v);
    *out = 0;
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc)
        return store_lmdb_fail(mrc, "read metadata");
    if (v.mv_size != 8)
        return scsms_fail(SCSMS_ECORRUPT, "metadata '%s' is malformed", name);
    *out = store_get_be64(v.mv_data);
    return 0;
}

/* The largest number of a restored id this store could also generate
 * (OWNER-XXX-digits); ids the rules made ("...-NCR-2") are apart. */
static uint64_t max_preserved(const store_batch_t *b)
{
    size_t ol = strlen(b->s->owner);
    uint64_t max = 0;
    for (size_t i = 0; i < b->n; i++) {
        const char *id = b->items[i].id, *p = id + ol, *end;
        if (!b->items[i].preserve || strncmp(id, b->s->owner, ol) != 0 || p[0] != '-' ||
            strlen(p) < 6 || p[4] != '-')
            continue;
        unsigned long long v = strtoull(p + 5, (char **)&end, 10);
        if (end != p + 5 && !*end && v > max)
            max = v;
    }
    return max;
}

/* Restored ids keep their numbers, so later new ids must start above
 * them: new ids number seq + id_offset, and the offset only grows. */
static int raise_id_offset(store_t *s, MDB_txn *txn, store_batch_t *b, uint64_t last_seq)
{
    uint64_t max = max_preserved(b);
    if (max <= last_seq + b->id_offset)
        return 0;
    uint8_t v[8];
    store_put_be64(v, max - last_seq);
    MDB_val k = {9, "id_offset"}, d = {8, v};
    int mrc = mdb_put(txn, s->meta, &k, &d, 0);
    return mrc ? store_lmdb_fail(mrc, "write metadata") : 0;
}

static int batch_body(store_t *s, MDB_txn *txn, void *ctx)
{
    store_batch_t *b = ctx;
    struct store_owner_state st;
    char now[ISOTIME_INSTANT_LEN + 1];
    int rc = store_owner_load(s, txn, s->owner, &st);
    if (rc || (rc = meta_u64(s, txn, "id_offset", &b->id_offset)))
        return rc;
    if ((rc = store_log_is_last(s, txn, &st)) < 0)
        return rc;
    /* appending fills pages fully and skips the search */
    unsigned log_flags = rc == 1 ? MDB_APPEND : MDB_NOOVERWRITE;
    int64_t clock = isotime_now(), today = isotime_days(clock);
    isotime_format_instant(clock, now);
    struct packer pk = {.b = b, .first_seq = st.seq + 1, .now = now, .clock = clock};
    clear_results(b);      /* a retry after growing the map starts afresh */
    for (size_t i = 0; i < b->n; i++)
        b->items[i].refused = 0;
    if ((rc = packer_start(&pk)))
        return rc;
    /* Records are applied in one transaction, the common case. Once one
     * is refused the transaction is given up and the body runs again with
     * each record in a nested transaction of its own (apply_apart): every
     * record is then checked against the store as it would be written,
     * after the ones before it that are good, so that one import names
     * every bad row at once; and nothing is committed. */
    int first = 0;
    size_t first_at = 0;
    rc = 0;
    char first_msg[512] = "";
    for (size_t i = 0; i < b->n; i++) {
        packer_wait(&pk, i);
        struct item *it = &b->items[i];
        int again = !b->each_apart && b->n > 1; /* one record: its refusal is the answer */
        if (it->rc && again) {
            rc = CHECK_EACH;
            break;
        }
        {
            int code = it->rc          ? it->rc
                       : b->each_apart ? apply_apart(s, txn, b, it, &st, now, today, log_flags)
                                       : apply_item(s, txn, b, it, &st, now, today, log_flags);
            if (code && !it->rc && store_error_fatal(code)) {
                rc = code;
                break;
            }
            if (code && again) {
                rc = CHECK_EACH;
                break;
            }
            if (code) {
                const char *msg = it->rc && it->err ? it->err : scsms_errmsg();
                it->refused = 1;
                if (!first) {
                    first = code;
                    first_at = i;
                    snprintf(first_msg, sizeof first_msg, "%s", msg);
                }
                if ((rc = note_error(b, i, msg)))
                    break;
            }
        }
        /* its entry's chunk may be reused from here on */
        atomic_store_explicit(&pk.applied, i + 1, memory_order_release);
        if (b->progress && (i + 1) % 4096 == 0)
            b->progress(b->progress_ctx, i + 1, b->n);
    }
    packer_finish(&pk);
    if (rc)
        return rc;
    /* restored records may link records later in the same file, and come
     * with what the rules raised from them: checked once all are in */
    for (size_t i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        int code = it->preserve && !it->refused ? rules_check_restored_store(s, txn, it->rec)
                                                : 0;
        if (code && store_error_fatal(code))
            return code;
        if (code) {
            if (!first) {
                first = code;
                first_at = i;
                snprintf(first_msg, sizeof first_msg, "%s", scsms_errmsg());
            }
            if ((rc = note_error(b, i, scsms_errmsg())))
                return rc;
        }
    }
    if (first)
        return b->n > 1 ? scsms_fail(first, "record %zu of %zu: %s", first_at + 1, b->n, first_msg)
                        : scsms_fail(first, "%s", first_msg);
    if (b->dry_run)
        return DRY_RUN_DONE;
    if (b->progress)
        b->progress(b->progress_ctx, b->n, b->n);
    if ((rc = raise_id_offset(s, txn, b, st.seq)))
        return rc;
    if ((rc = store_owner_save(s, txn, s->owner, &st)))
        return rc;
    return put_checkpoint(s, txn, &st, now);
}

int store_batch_new(store_t *s, store_batch_t **out)
{
    store_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    b->s = s;
    *out = b;
    return 0;
}

enum { PUSH_PLAIN, PUSH_PRESERVE, PUSH_DISPOSE };

static int batch_push(store_batch_t *b, Scsms__Record *rec, int how);

int store_batch_add(store_batch_t *b, Scsms__Record *rec)
{
    return batch_push(b, rec, PUSH_PLAIN);
}

int store_batch_add_preserved(store_batch_t *b, Scsms__Record *rec)
{
    return batch_push(b, rec, PUSH_PRESERVE);
}

int store_batch_reserve(store_batch_t *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    struct item *p = realloc(b->items, n * sizeof *p);
    if (!p)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    b->items = p;
    b->cap = n;
    return 0;
}

static int batch_push(store_batch_t *b, Scsms__Record *rec, int how)
{
    int rc;
    /* the record itself is checked by the preparers, on both cores: read
     * here, 100,000 records a pass was a fortieth of an import */
    if (b->n == b->cap && (rc = store_batch_reserve(b, b->cap ? b->cap * 2 : 64)))
        return rc;
    memset(&b->items[b->n], 0, sizeof b->items[b->n]);
    b->items[b->n].rec = rec;
    b->items[b->n].preserve = how == PUSH_PRESERVE;
    b->items[b->n].dispose = how == PUSH_DISPOSE;
    b->n++;
    return 0;
}

/* The body in one transaction; after a refusal, again with each record
 * apart (batch_body says why). A dry run checks each apart from the
 * start: it is for naming every refusal. */
static int run_body(store_batch_t *b, int dry_run)
{
    b->dry_run = dry_run;
    b->each_apart = dry_run;
    int rc = store_write_txn(b->s, batch_body, b);
    if (rc == CHECK_EACH) {
        b->each_apart = 1;
        rc = store_write_txn(b->s, batch_body, b);
    }
    b->dry_run = b->each_apart = 0;
    return rc;
}

int store_batch_commit(store_batch_t *b)
{
    return b->n == 0 ? 0 : run_body(b, 0);
}

int store_batch_check(store_batch_t *b)
{
    if (b->n == 0)
        return 0;
    int rc = run_body(b, 1);
    return rc == DRY_RUN_DONE ? 0 : rc;
}

const struct store_batch_error *store_batch_errors(const store_batch_t *b, size_t *n)
{
    *n = b->n_errors;
    return b->errors;
}

void store_batch_on_progress(store_batch_t *b, void (*fn)(void *ctx, size_t done, size_t total),
                             void *ctx)
{
    b->progress = fn;
    b->progress_ctx = ctx;
}

const char *const *store_batch_raised(const store_batch_t *b, size_t *n)
{
    *n = b->n_raised;
    return (const char *const *)b->raised;
}

const char *store_batch_id(const store_batch_t *b, size_t i)
{
    return i < b->n ? b->items[i].id : NULL;
}

void store_batch_destroy(store_batch_t **bp)
{
    store_batch_t *b = bp ? *bp : NULL;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i].err);
    clear_results(b);
    free(b->raised);
    free(b->errors);
    free(b->items);
    free(b->rbuf);
    free(b->ebuf);
    free(b);
    *bp = NULL;
}

int store_put(store_t *s, Scsms__Record *rec, char *id_out)
{
    store_batch_t *b = NULL;
    int rc = store_batch_new(s, &b);
    if (rc)
        return rc;
    if ((rc = store_batch_add(b, rec)) == 0 && (rc = store_batch_commit(b)) == 0 && id_out)
        snprintf(id_out, RECORD_MAX_ID + 1, "%s", store_batch_id(b, 0));
    store_batch_destroy(&b);
    return rc;
}

int store_dispose(store_t *s, const char *id, const char *reason)
{
    Scsms__Record *cur = NULL, *tomb = NULL;
    store_batch_t *b = NULL;
    if (!reason || !*reason)
        return scsms_fail(SCSMS_EINVAL, "a disposal needs a reason");
    int rc = store_get(s, id, 0, &cur);
    if (rc)
        return rc;
    /* what is left: the envelope, no content */
    if (!(tomb = record_new(record_type_of(cur))))
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (rc == 0 && (rc = record_set_string(&tomb->id, id)) == 0 &&
        (rc = record_set_string(&tomb->status, RECORD_DISPOSED)) == 0 &&
        (rc = record_set_string(&tomb->disposal_reason, reason)) == 0) {
        tomb->sensitivity = cur->sensitivity;
        tomb->retention_days = cur->retention_days;
        if ((rc = store_batch_new(s, &b)) == 0 && (rc = batch_push(b, tomb, PUSH_DISPOSE)) == 0)
            rc = store_batch_commit(b);
    }
    store_batch_destroy(&b);
    record_free(tomb);
    record_free(cur);
    return rc;
}

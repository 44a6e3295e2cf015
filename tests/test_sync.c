/* test_sync.c -- head office takes in a site's log: exactly once, the
 * same head on both sides, and every kind of bad batch refused with
 * nothing written. */
#include "testutil.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "identity.h"
#include "jsonpb.h"
#include "precheck.h"
#include "seal.h"
#include "store.h"
#include "sync.h"
#include "store_internal.h" /* to damage a store on purpose */
#include "verify.h"

/* Set by the "checked ahead" cases' fixture: every batch taken in below
 * has its checks made first on a precheck thread, as head office's server
 * makes them, and each case's exact outcome must not change. */
static int ahead;

static void check_ahead(void)
{
    ahead = 1;
}

static void check_inline(void)
{
    ahead = 0;
}

/* sync_ingest_group(), with `ahead` after every upload's checks were made
 * on a precheck thread (or, when it had not begun one, here), as head
 * office's server makes them. */
static int group_in(store_t *to, struct sync_upload *ups, size_t n)
{
    if (!ahead)
        return sync_ingest_group(to, ups, n);
    struct precheck *pc = NULL;
    struct precheck_job *jobs = calloc(n, sizeof *jobs);
    ck_assert_ptr_nonnull(jobs);
    ck_assert_int_eq(precheck_start(store_role(to), &pc), 0);
    for (size_t i = 0; i < n; i++) {
        jobs[i].up = (struct sync_upload){.owner = ups[i].owner, .entries = ups[i].entries,
                                          .n = ups[i].n};
        precheck_submit(pc, &jobs[i]);
    }
    for (size_t i = n; i-- > 0;) {
        precheck_finish(pc, &jobs[i], 1);
        ck_assert_ptr_nonnull(jobs[i].up.pre);
        ups[i].pre = jobs[i].up.pre;
    }
    precheck_stop(&pc);
    free(jobs);
    return sync_ingest_group(to, ups, n);
}

/* sync_ingest(), or with `ahead` the same through a precheck thread and
 * sync_ingest_group(), reported as sync_ingest() reports. */
static int take_in(store_t *to, const char *owner, const ProtobufCBinaryData *e, size_t n,
                   const uint8_t *cp, size_t cp_len, struct sync_result *res)
{
    if (!ahead)
        return sync_ingest(to, owner, e, n, cp, cp_len, NULL, res);
    struct precheck *pc = NULL;
    ck_assert_int_eq(precheck_start(store_role(to), &pc), 0);
    struct precheck_job job = {.up = {.owner = owner, .entries = e, .n = n}};
    precheck_submit(pc, &job);
    precheck_finish(pc, &job, 1);
    ck_assert_int_eq(job.state, PRECHECK_DONE);
    ck_assert_ptr_nonnull(job.up.pre);
    precheck_stop(&pc);
    struct sync_upload u = {.owner = owner, .entries = e, .n = n, .checkpoint = cp,
                            .cp_len = cp_len, .pre = job.up.pre};
    int rc = sync_ingest_group(to, &u, 1);
    if (rc == 0 && u.rc)
        rc = scsms_fail(u.rc, "%s", u.message);
    *res = u.res;
    sync_upload_clear(&u, 1);
    return rc;
}

struct pair {
    char *tmp;
    store_t *site, *hq;
};

/* A store of owner with role, and head office, the first enrolled there
 * as irole. */
static struct pair pair_of(const char *owner, enum store_role role, Scsms__Identity__Role irole)
{
    struct pair p;
    p.tmp = tu_tmpdir("sync");
    char *a = tu_path(p.tmp, "site"), *h = tu_path(p.tmp, "hq");
    p.site = tu_store_new(a, owner, role);
    p.hq = tu_store_new(h, "HQ", STORE_ROLE_HQ);
    tu_enrol(p.hq, p.site, a, irole);
    free(a);
    free(h);
    return p;
}

static struct pair pair_new(void)
{
    return pair_of("SITE-A", STORE_ROLE_SITE, SCSMS__IDENTITY__ROLE__SITE);
}

/* Close and remove both stores, as they are. */
static void pair_close(struct pair *p)
{
    store_close(&p->site);
    store_close(&p->hq);
    tu_rmdir(p->tmp);
    free(p->tmp);
}

/* The same once head office is found sound. */
static void pair_free(struct pair *p)
{
    struct verify_report rep;
    ck_assert_msg(verify_store(p->hq, &rep) == 0, "hq: %s", scsms_errmsg());
    pair_close(p);
}

static void add_incidents(store_t *s, int n)
{
    for (int i = 0; i < n; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":"
                 "\"2026-11-%02dT10:00:00Z\",\"location\":\"Gate %d\"}", 1 + i % 28, i);
        tu_put(s, json, NULL);
    }
}

/* A batch as the agent would send it: entries from..to and a checkpoint. */
struct batch {
    ProtobufCBinaryData *e;
    size_t n;
    uint8_t *cp;
    size_t cp_len;
};

static struct batch batch_of(store_t *s, uint64_t from, uint64_t to)
{
    struct batch b = {0};
    tu_log_copy(s, store_owner(s), from, to, &b.e, &b.n);
    ck_assert_msg(sync_checkpoint_at(s, to, &b.cp, &b.cp_len) == 0, "%s", scsms_errmsg());
    return b;
}

static void batch_free(struct batch *b)
{
    tu_log_free(b->e, b->n);
    free(b->cp);
}

static int ingest(struct pair *p, const char *owner, struct batch *b, struct sync_result *res)
{
    return take_in(p->hq, owner, b->e, b->n, b->cp, b->cp_len, res);
}

static void heads_equal(struct pair *p, uint64_t want)
{
    tu_heads_equal(p->site, p->hq, "SITE-A", want);
}

START_TEST(batches_apply_once_and_heads_match)
{
    struct pair p = pair_new();
    struct sync_result res;
    add_incidents(p.site, 10);
    struct batch b1 = batch_of(p.site, 1, 6), b2 = batch_of(p.site, 7, 10);
    ck_assert_msg(ingest(&p, "SITE-A", &b1, &res) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(res.applied, 6);
    ck_assert_uint_eq(res.head_seq, 6);
    ck_assert_int_eq(ingest(&p, "SITE-A", &b2, &res), 0);
    heads_equal(&p, 10);
    /* a replayed batch is applied zero times */
    ck_assert_int_eq(ingest(&p, "SITE-A", &b1, &res), 0);
    ck_assert_uint_eq(res.applied, 0);
    ck_assert_uint_eq(res.duplicates, 6);
    heads_equal(&p, 10);
    /* head office holds the site's records as the site wrote them */
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get(p.hq, "SITE-A-INC-000004", 0, &r), 0);
    ck_assert_str_eq(r->owner, "SITE-A");
    ck_assert_str_eq(r->incident->location, "Gate 3");
    record_free(r);
    /* a later update travels too and supersedes the earlier version */
    ck_assert_int_eq(store_get(p.site, "SITE-A-INC-000004", 0, &r), 0);
    ck_assert_int_eq(record_set_string(&r->status, "closed"), 0);
    ck_assert_int_eq(store_put(p.site, r, NULL), 0);
    record_free(r);
    struct batch b3 = batch_of(p.site, 11, 11);
    ck_assert_int_eq(ingest(&p, "SITE-A", &b3, &res), 0);
    ck_assert_int_eq(store_get(p.hq, "SITE-A-INC-000004", 0, &r), 0);
    ck_assert_str_eq(r->status, "closed");
    ck_assert_uint_eq(r->version, 2);
    record_free(r);
    heads_equal(&p, 11);
    batch_free(&b1);
    batch_free(&b2);
    batch_free(&b3);
    pair_free(&p);
}
END_TEST

/* A second site, SITE-B, enrolled at p's head office; its directory in
 * *dir (caller frees). */
static store_t *site_b(struct pair *p, char **dir)
{
    *dir = tu_path(p->tmp, "site-b");
    store_t *b = tu_store_new(*dir, "SITE-B", STORE_ROLE_SITE);
    tu_enrol(p->hq, b, *dir, SCSMS__IDENTITY__ROLE__SITE);
    return b;
}

/* store_log_is_last for owner at head office, read in a transaction. */
static int log_is_last(store_t *s, const char *owner)
{
    MDB_txn *txn;
    struct store_owner_state st;
    ck_assert_int_eq(store_txn_begin(s, 0, &txn), 0);
    ck_assert_int_eq(store_owner_ensure(s, txn, owner, &st), 0);
    int last = store_log_is_last(s, txn, &st);
    mdb_txn_abort(txn); /* the index given here is not kept */
    ck_assert_int_ge(last, 0);
    return last;
}

/* Head office appends (MDB_APPEND) the entries of a log that sorts last in
 * its table, and searches for the place of any other; either way the
 * entries are the site's, and a store with both verifies. */
START_TEST(the_log_that_sorts_last_is_appended)
{
    struct pair p = pair_new();
    struct sync_result res;
    char *bdir;
    store_t *b = site_b(&p, &bdir);
    add_incidents(p.site, 6);
    add_incidents(b, 4);
    ck_assert_int_eq(log_is_last(p.hq, "SITE-A"), 1); /* nothing in the table */
    struct batch a1 = batch_of(p.site, 1, 3), a2 = batch_of(p.site, 4, 6), b1 = batch_of(b, 1, 4);
    ck_assert_int_eq(ingest(&p, "SITE-A", &a1, &res), 0);
    ck_assert_int_eq(log_is_last(p.hq, "SITE-A"), 1);
    ck_assert_int_eq(log_is_last(p.hq, "SITE-B"), 1); /* empty, with a higher index */
    ck_assert_int_eq(take_in(p.hq, "SITE-B", b1.e, b1.n, b1.cp, b1.cp_len, &res), 0);
    ck_assert_int_eq(log_is_last(p.hq, "SITE-A"), 0); /* B's entries sort after A's */
    ck_assert_int_eq(log_is_last(p.hq, "SITE-B"), 1);
    /* A's next entries go in before B's, by search */
    ck_assert_int_eq(ingest(&p, "SITE-A", &a2, &res), 0);
    ck_assert_uint_eq(res.applied, 3);
    heads_equal(&p, 6);
    uint64_t seq;
    uint8_t h[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(p.hq, "SITE-B", &seq, h), 0);
    ck_assert_uint_eq(seq, 4);
    batch_free(&a1);
    batch_free(&a2);
    batch_free(&b1);
    store_close(&b);
    free(bdir);
    pair_free(&p); /* verifies head office's store */
}
END_TEST

/* An identity record head office cannot read (a damaged store). */
static int garbage_identity(store_t *s, MDB_txn *txn, void *ctx)
{
    const char *id = ctx;
    MDB_val k = {strlen(id), (void *)id}, v = {5, "\xff\xff\xff\xff\xff"};
    int mrc = mdb_put(txn, s->identities, &k, &v, 0);
    return mrc ? store_lmdb_fail(mrc, "write a damaged identity") : 0;
}

static struct sync_upload upload_of(const char *owner, struct batch *b)
{
    return (struct sync_upload){.owner = owner, .entries = b->e, .n = b->n,
                                .checkpoint = b->cp, .cp_len = b->cp_len};
}

/* Uploads waiting together go in one transaction: one continuing another
 * of the same site, and one altered in transit between them, which alone
 * is refused with its reason while the others are applied. */
START_TEST(a_group_applies_each_upload_whole_or_not)
{
    struct pair p = pair_new();
    add_incidents(p.site, 9);
    struct batch b1 = batch_of(p.site, 1, 4), bad = batch_of(p.site, 5, 9),
                 b2 = batch_of(p.site, 5, 9);
    bad.e[1].data[bad.e[1].len - 3] ^= 0x01;
    struct sync_upload ups[4] = {upload_of("SITE-A", &b1), upload_of("SITE-A", &bad),
                                 upload_of("SITE-A", &b2), upload_of("SITE-A", &b1)};
    ck_assert_msg(group_in(p.hq, ups, 4) == 0, "%s", scsms_errmsg());
    ck_assert_int_eq(ups[0].rc, 0);
    ck_assert_uint_eq(ups[0].res.applied, 4);
    ck_assert_uint_eq(ups[0].res.head_seq, 4);
    ck_assert_int_eq(ups[1].rc, SCSMS_ETAMPER);
    ck_assert_msg(strstr(ups[1].message, "entry 7 of SITE-A does not link to entry 6"), "%s", ups[1].message);
    ck_assert_uint_eq(ups[1].res.applied, 0);
    ck_assert_uint_eq(ups[1].res.head_seq, 9); /* the head as it stands after the group */
    ck_assert_int_eq(ups[2].rc, 0);
    ck_assert_uint_eq(ups[2].res.applied, 5);
    ck_assert_int_eq(ups[3].rc, 0); /* a replay within the group: applied zero times */
    ck_assert_uint_eq(ups[3].res.applied, 0);
    ck_assert_uint_eq(ups[3].res.duplicates, 4);
    heads_equal(&p, 9);
    sync_upload_clear(ups, 4);
    ck_assert_ptr_null(ups[1].message);
    /* an unenrolled sender in a group is refused, and the group still commits */
    add_incidents(p.site, 1);
    struct batch b3 = batch_of(p.site, 10, 10);
    struct sync_upload two[2] = {upload_of("SITE-X", &b3), upload_of("SITE-A", &b3)};
    ck_assert_int_eq(group_in(p.hq, two, 2), 0);
    ck_assert_int_eq(two[0].rc, SCSMS_EPERM);
    ck_assert_int_eq(two[1].rc, 0);
    heads_equal(&p, 10);
    sync_upload_clear(two, 2);
    /* one site's damaged data at head office refuses that site's upload
     * alone, not the others waiting with it */
    ck_assert_int_eq(store_write_txn(p.hq, garbage_identity, "SITE-X"), 0);
    add_incidents(p.site, 1);
    struct batch b4 = batch_of(p.site, 11, 11);
    struct sync_upload pair[2] = {upload_of("SITE-X", &b4), upload_of("SITE-A", &b4)};
    ck_assert_int_eq(group_in(p.hq, pair, 2), 0);
    ck_assert_int_eq(pair[0].rc, SCSMS_ECORRUPT);
    ck_assert_msg(strstr(pair[0].message, "SITE-X"), "%s", pair[0].message);
    ck_assert_int_eq(pair[1].rc, 0);
    ck_assert_uint_eq(pair[1].res.applied, 1);
    heads_equal(&p, 11);
    sync_upload_clear(pair, 2);
    batch_free(&b4);
    batch_free(&b1);
    batch_free(&bad);
    batch_free(&b2);
    batch_free(&b3);
    pair_free(&p);
}
END_TEST

/* What a step hook saw: each upload in turn, then NULL before the
 * commit; and how many came with checks made before their turn. */
struct steps {
    const struct sync_upload *seen[8];
    int n, had_pre;
};

/* As head office's: the checks of each upload given only when it is
 * next (there made by the precheck thread; here on the spot). */
static void record_step(void *arg, struct sync_upload *next)
{
    struct steps *s = arg;
    if (s->n < 8)
        s->seen[s->n] = next;
    s->n++;
    if (!next)
        return;
    if (next->pre)
        s->had_pre++;
    ck_assert_int_eq(sync_upload_precheck(next, STORE_ROLE_HQ), 0);
}

/* The hook head office reads the next requests in and hands each upload
 * its checks with runs before each upload, in order, and once more before
 * the commit; given a hook, the group makes no upload's checks before
 * their turn. */
START_TEST(the_hook_runs_before_each_upload_and_before_the_commit)
{
    struct pair p = pair_new();
    add_incidents(p.site, 6);
    struct batch b1 = batch_of(p.site, 1, 2), b2 = batch_of(p.site, 3, 4),
                 b3 = batch_of(p.site, 5, 6);
    struct sync_upload ups[3] = {upload_of("SITE-A", &b1), upload_of("SITE-A", &b2),
                                 upload_of("SITE-A", &b3)};
    struct steps st = {0};
    ck_assert_msg(sync_ingest_group_then(p.hq, ups, 3, record_step, &st) == 0, "%s",
                  scsms_errmsg());
    ck_assert_int_eq(st.n, 4);
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_eq(st.seen[i], &ups[i]);
    ck_assert_ptr_null(st.seen[3]);
    ck_assert_int_eq(st.had_pre, 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ups[i].rc, 0);
        ck_assert_ptr_nonnull(ups[i].pre); /* the hook's, taken in */
    }
    ck_assert_uint_eq(ups[2].res.applied, 2);
    heads_equal(&p, 6);
    sync_upload_clear(ups, 3);
    st = (struct steps){0};
    ck_assert_int_eq(sync_ingest_group_then(p.hq, ups, 0, record_step, &st), 0);
    ck_assert_int_eq(st.n, 0); /* nothing to write: no transaction */
    batch_free(&b1);
    batch_free(&b2);
    batch_free(&b3);
    pair_free(&p);
}
END_TEST

/* What head office keeps of each identity's last contact: when, the
 * backlog it reported and how far its clock was off, read back as
 * written; an identity never seen, or seen by a server from before the
 * clock was kept (16 bytes), has its clock unknown. */
START_TEST(last_contact_keeps_the_clock_offset)
{
    struct pair p = pair_new();
    struct sync_seen v[2] = {{.id = "SITE-A", .last_seen = 1795000000, .backlog = 42,
                              .clock_offset = -187230},
                             {.id = "SITE-B", .last_seen = 1795000001, .backlog = 0,
                              .clock_offset = 4}};
    ck_assert_int_eq(sync_seen_put(p.hq, v, 2), 0);
    struct sync_seen got;
    ck_assert_int_eq(sync_seen_get(p.hq, "SITE-A", &got), 0);
    ck_assert_int_eq(got.last_seen, 1795000000);
    ck_assert_uint_eq(got.backlog, 42);
    ck_assert_int_eq(got.clock_offset, -187230);
    ck_assert(sync_clock_wrong(got.clock_offset));
    ck_assert_int_eq(sync_seen_get(p.hq, "SITE-B", &got), 0);
    ck_assert_int_eq(got.clock_offset, 4);
    ck_assert(!sync_clock_wrong(got.clock_offset));
    ck_assert_int_eq(sync_seen_get(p.hq, "NEVER", &got), 0);
    ck_assert_int_eq(got.last_seen, 0);
    ck_assert(got.clock_offset == SYNC_CLOCK_UNKNOWN);
    ck_assert(!sync_clock_wrong(SYNC_CLOCK_UNKNOWN));
    ck_assert(!sync_clock_wrong(SYNC_CLOCK_TOLERANCE_S) && !sync_clock_wrong(-SYNC_CLOCK_TOLERANCE_S));
    ck_assert(sync_clock_wrong(SYNC_CLOCK_TOLERANCE_S + 1) && sync_clock_wrong(-SYNC_CLOCK_TOLERANCE_S - 1));
    /* right again only a minute inside the limit: at the limit, neither */
    ck_assert(!sync_clock_right(SYNC_CLOCK_TOLERANCE_S) && !sync_clock_right(-SYNC_CLOCK_TOLERANCE_S));
    ck_assert(!sync_clock_right(SYNC_CLOCK_TOLERANCE_S - SYNC_CLOCK_MARGIN_S + 1));
    ck_assert(sync_clock_right(SYNC_CLOCK_TOLERANCE_S - SYNC_CLOCK_MARGIN_S));
    ck_assert(sync_clock_right(-(SYNC_CLOCK_TOLERANCE_S - SYNC_CLOCK_MARGIN_S)) && sync_clock_right(0));
    ck_assert(!sync_clock_right(SYNC_CLOCK_UNKNOWN));
    /* from the wire, anything: not a time is not an offset */
    ck_assert_int_eq(sync_clock_offset(1795000300, 1795000000), 300);
    ck_assert_int_eq(sync_clock_offset(1795000000, 1795011550), -11550);
    ck_assert(sync_clock_offset(0, 1795000000) == SYNC_CLOCK_UNKNOWN);
    ck_assert(sync_clock_offset(INT64_MIN, 1795000000) == SYNC_CLOCK_UNKNOWN);
    ck_assert(sync_clock_offset(INT64_MAX, 1795000000) == SYNC_CLOCK_UNKNOWN);
    ck_assert(sync_clock_offset(253402300800, 1795000000) == SYNC_CLOCK_UNKNOWN);
    ck_assert_int_eq(sync_clock_offset(253402300799, -2208988800), 253402300799 + 2208988800);
    pair_free(&p);
}
END_TEST

START_TEST(gap_says_where_to_resume)
{
    struct pair p = pair_new();
    struct sync_result res;
    add_incidents(p.site, 8);
    struct batch b1 = batch_of(p.site, 1, 3), b2 = batch_of(p.site, 6, 8);
    ck_assert_int_eq(ingest(&p, "SITE-A", &b1, &res), 0);
    ck_assert_int_eq(ingest(&p, "SITE-A", &b2, &res), SCSMS_EGAP);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "entries 4 to 5 of SITE-A are missing: send from 4"));
    ck_assert_uint_eq(res.head_seq, 3);
    ck_assert_uint_eq(res.applied, 0);
    uint64_t held;
    uint8_t hh[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(p.hq, "SITE-A", &held, hh), 0);
    ck_assert_uint_eq(held, 3);
    batch_free(&b1);
    batch_free(&b2);
    /* the site had diverged: for the heads to match it resends from 4 */
    struct batch b3 = batch_of(p.site, 4, 8);
    ck_assert_int_eq(ingest(&p, "SITE-A", &b3, &res), 0);
    heads_equal(&p, 8);
    batch_free(&b3);
    pair_free(&p);
}
END_TEST

/* Alter one byte near the end of entry seq of owner's log, in place. */
struct alter {
    const char *owner;
    uint64_t seq;
};

static int alter_entry(store_t *s, MDB_txn *txn, void *ctx)
{
    const struct alter *a = ctx;
    MDB_val k = {strlen(a->owner), (void *)a->owner}, v;
    uint8_t key[STORE_LOGKEY_LEN];
    ck_assert_int_eq(mdb_get(txn, s->owners, &k, &v), 0);
    struct store_owner_state st;
    store_owner_decode(&v, &st);
    store_log_key(st.idx, a->seq, key);
    k = (MDB_val){sizeof key, key};
    ck_assert_int_eq(mdb_get(txn, s->log, &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size - 3] ^= 0x01;
    MDB_val nv = {v.mv_size, copy};
    int mrc = mdb_put(txn, s->log, &k, &nv, 0);
    free(copy);
    return mrc ? store_lmdb_fail(mrc, "alter an entry") : 0;
}

/* Name another signing key in owner's identity, in place, as an intruder
 * with the data file but not head office's key would: the seal kept. */
static int swap_identity_key(store_t *s, MDB_txn *txn, void *ctx)
{
    const char *owner = ctx;
    MDB_val k = {strlen(owner), (void *)owner}, v;
    ck_assert_int_eq(mdb_get(txn, s->identities, &k, &v), 0);
    Scsms__Identity *id = scsms__identity__unpack(NULL, v.mv_size, v.mv_data);
    ck_assert_ptr_nonnull(id);
    ck_assert_uint_eq(id->sign_key.len, CRYPTO_PUB_LEN);
    id->sign_key.data[0] ^= 0x01;
    size_t len = scsms__identity__get_packed_size(id);
    uint8_t *buf = malloc(len);
    scsms__identity__pack(id, buf);
    MDB_val nv = {len, buf};
    int mrc = mdb_put(txn, s->identities, &k, &nv, 0);
    free(buf);
    scsms__identity__free_unpacked(id, NULL);
    return mrc ? store_lmdb_fail(mrc, "swap a key") : 0;
}

/* verify of head office's store names the owner and entry of the first
 * damage, in the owners' order, whether the logs are checked whole or
 * cut into pieces of any size (two threads taking them). */
static void verify_names(store_t *hq, const char *owner, uint64_t seq)
{
    for (uint64_t piece = 0; piece <= 7; piece++) {
        struct verify_report rep;
        ck_assert_int_eq(verify_store_pieces(hq, piece, &rep), SCSMS_ETAMPER);
        ck_assert_str_eq(rep.owner, owner);
        ck_assert_uint_eq(rep.seq, seq);
        ck_assert_msg(strstr(scsms_errmsg(), "entry") && strstr(scsms_errmsg(), owner), "%s",
                      scsms_errmsg());
    }
}

START_TEST(head_office_verify_names_the_first_damaged_log)
{
    struct pair p = pair_new();
    struct sync_result res;
    char *bdir;
    store_t *b = site_b(&p, &bdir);
    add_incidents(p.site, 6);
    add_incidents(b, 5);
    struct batch a1 = batch_of(p.site, 1, 6), b1 = batch_of(b, 1, 5);
    ck_assert_int_eq(ingest(&p, "SITE-A", &a1, &res), 0);
    ck_assert_int_eq(ingest(&p, "SITE-B", &b1, &res), 0);
    for (uint64_t piece = 0; piece <= 7; piece++) {
        struct verify_report rep;
        ck_assert_msg(verify_store_pieces(p.hq, piece, &rep) == 0, "%s", scsms_errmsg());
        ck_assert_uint_eq(rep.entries, 11);
        ck_assert_uint_eq(rep.checkpoints, 2);
        ck_assert_uint_eq(rep.owners, 3); /* head office's own log too, empty */
    }
    ck_assert_int_eq(store_write_txn(p.hq, alter_entry, &(struct alter){"SITE-B", 3}), 0);
    verify_names(p.hq, "SITE-B", 3);
    ck_assert_int_eq(store_write_txn(p.hq, alter_entry, &(struct alter){"SITE-A", 5}), 0);
    verify_names(p.hq, "SITE-A", 5);
    /* the key head office enrolled for a site cannot be swapped for one
     * that would vouch for a forged log: the identity is sealed */
    ck_assert_int_eq(store_write_txn(p.hq, swap_identity_key, "SITE-B"), 0);
    struct verify_report rep;
    ck_assert_int_eq(verify_store(p.hq, &rep), SCSMS_ETAMPER);
    ck_assert_str_eq(rep.owner, "SITE-A"); /* still the first damage, in owners' order */
    struct sync_result r2;
    struct batch b2 = batch_of(b, 1, 5);
    ck_assert_int_eq(ingest(&p, "SITE-B", &b2, &r2), SCSMS_ETAMPER);
    ck_assert_msg(strstr(scsms_errmsg(), "identity 'SITE-B' is not as this store wrote it"),
                  "%s", scsms_errmsg());
    batch_free(&b2);
    batch_free(&a1);
    batch_free(&b1);
    store_close(&b);
    free(bdir);
    pair_close(&p);
}
END_TEST

/* The store head (store_internal.h) in s, copied out; or, with put set,
 * written over from `heads` as an intruder with the data file but not the
 * key could. */
struct heads {
    uint8_t v[STORE_HEADS_LEN];
    int put, drop;
    size_t len; /* what is put: 0 for all of v */
};

static int heads_io(store_t *s, MDB_txn *txn, void *ctx)
{
    struct heads *h = ctx;
    MDB_val k = {5, "heads"}, v = {h->len ? h->len : sizeof h->v, h->v};
    if (h->drop)
        return mdb_del(txn, s->meta, &k, NULL) ? SCSMS_EIO : 0;
    if (h->put)
        return mdb_put(txn, s->meta, &k, &v, 0) ? SCSMS_EIO : 0;
    ck_assert_int_eq(mdb_get(txn, s->meta, &k, &v), 0);
    ck_assert_uint_eq(v.mv_size, sizeof h->v);
    memcpy(h->v, v.mv_data, sizeof h->v);
    return 0;
}

/* dir copied whole to a new directory beside it (same keys), reopened;
 * *s is closed for the copy and opened again. */
static store_t *copy_of(store_t **s, const char *dir, const char *name, char **copy_dir)
{
    *copy_dir = tu_path(dir, name);
    char *from = strdup(store_dir(*s));
    store_close(s);
    char *argv[] = {"/bin/cp", "-a", from, *copy_dir, NULL};
    struct tu_run r = tu_exec(argv, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    struct store_options o = {0};
    store_t *c = NULL;
    ck_assert_msg(store_open(from, &o, s) == 0 && store_open(*copy_dir, &o, &c) == 0, "%s",
                  scsms_errmsg());
    free(from);
    return c;
}

static void verify_refuses(store_t *s, const char *says)
{
    struct verify_report rep;
    ck_assert_int_eq(verify_store(s, &rep), SCSMS_ETAMPER);
    ck_assert_str_eq(rep.owner, "HQ");
    ck_assert_uint_eq(rep.seq, 0);
    ck_assert_msg(strstr(scsms_errmsg(), says), "%s", scsms_errmsg());
}

/* Every log at head office is signed by its site, so what is left after a
 * site's log is deleted whole, or cut back to an earlier checkpoint with
 * every index entry of what went, verifies log by log. Head office's own
 * signature over the list of its logs and their heads shows it. A copy of
 * head office taken earlier is that state exactly (it took in less), and
 * given the store head head office signed since, it is what an intruder
 * with the data file but not the key would leave. */
START_TEST(a_log_removed_or_cut_back_at_head_office_is_found)
{
    struct pair p = pair_new();
    struct sync_result res;
    char *bdir, *only_a_dir, *cut_dir;
    store_t *b = site_b(&p, &bdir);
    add_incidents(p.site, 6);
    add_incidents(b, 5);
    struct batch a1 = batch_of(p.site, 1, 3), a2 = batch_of(p.site, 4, 6), b1 = batch_of(b, 1, 5);
    ck_assert_int_eq(ingest(&p, "SITE-A", &a1, &res), 0);
    store_t *only_a = copy_of(&p.hq, p.tmp, "hq-only-a", &only_a_dir);
    ck_assert_int_eq(ingest(&p, "SITE-B", &b1, &res), 0);
    store_t *cut = copy_of(&p.hq, p.tmp, "hq-cut", &cut_dir);
    ck_assert_int_eq(ingest(&p, "SITE-A", &a2, &res), 0);
    struct verify_report rep;
    ck_assert_msg(verify_store(p.hq, &rep) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(rep.owners, 3);
    ck_assert_uint_eq(rep.entries, 11);
    /* each copy verifies as it is: its logs are sound */
    ck_assert_msg(verify_store(only_a, &rep) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(rep.entries, 3);
    ck_assert_msg(verify_store(cut, &rep) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(rep.entries, 8);
    struct heads now = {0};
    ck_assert_int_eq(store_write_txn(p.hq, heads_io, &now), 0);
    now.put = 1;
    /* SITE-B's log gone whole, SITE-A's cut back to entry 3 */
    ck_assert_int_eq(store_write_txn(only_a, heads_io, &now), 0);
    verify_refuses(only_a, "holds 2 logs where its owner last signed for 3: a whole log was "
                   "removed outside the store");
    /* nor does head office build on such logs: its next signature, over
     * what is left, would make the removal good */
    ck_assert_int_eq(take_in(only_a, "SITE-A", a2.e, a2.n, a2.cp, a2.cp_len, &res),
                     SCSMS_ETAMPER);
    ck_assert_msg(strstr(scsms_errmsg(), "store of HQ: holds 2 logs where its owner last signed "
                         "for 3: a whole log was removed outside the store; restore it from a "
                         "backup; nothing was written: run verify"), "%s", scsms_errmsg());
    uint64_t seq;
    uint8_t h[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(only_a, "SITE-A", &seq, h), 0);
    ck_assert_uint_eq(seq, 3);
    /* SITE-A's cut back to entry 3 alone */
    ck_assert_int_eq(store_write_txn(cut, heads_io, &now), 0);
    verify_refuses(cut, "its logs and their heads are not the ones its owner last signed for");
    /* the store head altered, or taken away */
    now.v[STORE_HEADS_LEN - 1] ^= 1;
    ck_assert_int_eq(store_write_txn(p.hq, heads_io, &now), 0);
    verify_refuses(p.hq, "the signature over the list of the logs this store holds does not "
                   "verify");
    now.len = STORE_HEADS_LEN - 1;
    ck_assert_int_eq(store_write_txn(p.hq, heads_io, &now), 0);
    verify_refuses(p.hq, "the signed list of the logs this store holds is malformed");
    now.drop = 1;
    ck_assert_int_eq(store_write_txn(p.hq, heads_io, &now), 0);
    verify_refuses(p.hq, "the signed list of the logs this store holds is missing");
    /* nor does head office build on logs it cannot show are the ones it
     * signed for: its next signature would cover what was taken away */
    add_incidents(p.site, 2);
    struct batch a3 = batch_of(p.site, 7, 8);
    ck_assert_int_eq(ingest(&p, "SITE-A", &a3, &res), SCSMS_ETAMPER);
    ck_assert_msg(strstr(scsms_errmsg(), "store of HQ: the signed list of the logs this store "
                         "holds is missing: it was altered outside the store; nothing was "
                         "written: run verify"), "%s", scsms_errmsg());
    verify_refuses(p.hq, "is missing");
    ck_assert_int_eq(sync_head(p.hq, "SITE-A", &seq, h), 0);
    ck_assert_uint_eq(seq, 6);
    batch_free(&a3);
    batch_free(&a1);
    batch_free(&a2);
    batch_free(&b1);
    store_close(&only_a);
    store_close(&cut);
    store_close(&b);
    free(only_a_dir);
    free(cut_dir);
    free(bdir);
    pair_close(&p);
}
END_TEST

/* An intruder with head office's data file but not its key swaps the
 * signing key a site's enrolment names (to vouch for a forged log):
 * verify names the site's enrolment as altered. */
START_TEST(a_swapped_enrolment_key_is_found)
{
    struct pair p = pair_new();
    struct sync_result res;
    add_incidents(p.site, 3);
    struct batch a = batch_of(p.site, 1, 3);
    ck_assert_int_eq(ingest(&p, "SITE-A", &a, &res), 0);
    ck_assert_int_eq(store_write_txn(p.hq, swap_identity_key, "SITE-A"), 0);
    struct verify_report rep;
    ck_assert_int_eq(verify_store(p.hq, &rep), SCSMS_ETAMPER);
    ck_assert_str_eq(rep.owner, "SITE-A");
    ck_assert_msg(strstr(scsms_errmsg(), "SITE-A: its enrolment record was altered outside the "
                                         "store"), "%s", scsms_errmsg());
    batch_free(&a);
    pair_close(&p);
}
END_TEST

START_TEST(altered_entry_is_refused)
{
    struct pair p = pair_new();
    struct sync_result res;
    add_incidents(p.site, 5);
    struct batch b = batch_of(p.site, 1, 5);
    size_t len = b.e[2].len;
    b.e[2].data[len - 3] ^= 0x01; /* a byte of entry 3's record, in transit */
    ck_assert_int_eq(ingest(&p, "SITE-A", &b, &res), SCSMS_ETAMPER);
    ck_assert_uint_eq(res.head_seq, 0);
    b.e[2].data[len - 3] ^= 0x01;
    /* the checkpoint's signature */
    b.cp[b.cp_len - 30] ^= 0x01;
    ck_assert_int_eq(ingest(&p, "SITE-A", &b, &res), SCSMS_ETAMPER);
    ck_assert_uint_eq(res.head_seq, 0);
    b.cp[b.cp_len - 30] ^= 0x01;
    /* and with both intact it goes in */
    ck_assert_int_eq(ingest(&p, "SITE-A", &b, &res), 0);
    heads_equal(&p, 5);
    batch_free(&b);
    /* a checkpoint over an earlier entry does not cover the batch */
    add_incidents(p.site, 2);
    struct batch c = batch_of(p.site, 6, 7);
    free(c.cp);
    ck_assert_int_eq(sync_checkpoint_at(p.site, 6, &c.cp, &c.cp_len), 0);
    ck_assert_int_eq(ingest(&p, "SITE-A", &c, &res), SCSMS_ETAMPER);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "not the head 7"));
    batch_free(&c);
    pair_free(&p);
}
END_TEST

START_TEST(another_sites_records_are_refused)
{
    struct pair p = pair_new();
    struct sync_result res;
    char *bdir;
    store_t *b = site_b(&p, &bdir);
    add_incidents(b, 3);
    struct batch bb = batch_of(b, 1, 3);
    /* SITE-A's connection carrying SITE-B's log */
    ck_assert_int_eq(ingest(&p, "SITE-A", &bb, &res), SCSMS_EPERM);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "belongs to SITE-B, not to SITE-A"));
    uint64_t seq;
    uint8_t h[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(p.hq, "SITE-B", &seq, h), 0);
    ck_assert_uint_eq(seq, 0);
    batch_free(&bb);
    store_close(&b);
    free(bdir);
    pair_free(&p);
}
END_TEST

START_TEST(unenrolled_and_revoked_are_refused)
{
    struct pair p = pair_new();
    struct sync_result res;
    char *xdir = tu_path(p.tmp, "site-x");
    store_t *x = tu_store_new(xdir, "SITE-X", STORE_ROLE_SITE);
    add_incidents(x, 2);
    struct batch bx = batch_of(x, 1, 2);
    ck_assert_int_eq(take_in(p.hq, "SITE-X", bx.e, bx.n, bx.cp, bx.cp_len, &res), SCSMS_EPERM);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "'SITE-X' is not enrolled here"));
    /* revoked */
    add_incidents(p.site, 2);
    Scsms__Identity *id = NULL;
    ck_assert_int_eq(store_identity_get(p.hq, "SITE-A", &id), 0);
    id->revoked = 1;
    ck_assert_int_eq(store_identity_put(p.hq, id), 0);
    scsms__identity__free_unpacked(id, NULL);
    struct batch ba = batch_of(p.site, 1, 2);
    ck_assert_int_eq(ingest(&p, "SITE-A", &ba, &res), SCSMS_EPERM);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "'SITE-A' has been revoked"));
    batch_free(&bx);
    batch_free(&ba);
    store_close(&x);
    free(xdir);
    pair_free(&p);
}
END_TEST

START_TEST(a_site_cannot_send_head_office_types)
{
    /* a store that calls itself SITE-A but was made with head office's
     * role writes a policy; enrolled as a site, it may not send it */
    struct pair p = pair_new();
    struct sync_result res;
    char *fdir = tu_path(p.tmp, "forger");
    store_t *f = tu_store_new(fdir, "SITE-F", STORE_ROLE_HQ);
    tu_enrol(p.hq, f, fdir, SCSMS__IDENTITY__ROLE__SITE);
    tu_put(f, "{\"type\":\"policy\",\"title\":\"mine\",\"statement\":\"anything goes\"}",
           NULL);
    struct batch b = batch_of(f, 1, 1);
    ck_assert_int_eq(ingest(&p, "SITE-F", &b, &res), SCSMS_EPERM);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "SITE-F may not issue policy records (rule 8)"));
    batch_free(&b);
    /* nor what only head office sets in a site's own types: a risk it
     * accepted (rule 1), an action addressed to another site */
    static const struct {
        const char *json, *says;
    } hq_only[] = {
        {"{\"type\":\"risk\",\"threat_category\":\"natural_events\",\"threatened\":\"yard\","
         "\"likelihood\":5,\"consequence\":5,\"residual_likelihood\":5,"
         "\"residual_consequence\":5,\"treatment\":\"accept\",\"hq_accepted\":true,"
         "\"accepted_by\":\"CEO\",\"next_review_date\":\"2027-12-15\"}",
         "only head office accepts an intolerable risk: SITE-F0 sent one with hq_accepted set"},
        {"{\"type\":\"action\",\"description\":\"forged\",\"due_date\":\"2026-11-01\","
         "\"kind\":\"corrective\",\"responsible\":\"a\",\"site\":\"SITE-A\"}",
         "only head office addresses an action to a site: SITE-F1 sent one for 'SITE-A'"},
    };
    store_close(&f);
    free(fdir);
    for (size_t i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "SITE-F%zu", i);
        fdir = tu_path(p.tmp, name);
        f = tu_store_new(fdir, name, STORE_ROLE_HQ);
        tu_enrol(p.hq, f, fdir, SCSMS__IDENTITY__ROLE__SITE);
        tu_put(f, hq_only[i].json, NULL);
        b = batch_of(f, 1, 1);
        ck_assert_int_eq(ingest(&p, name, &b, &res), SCSMS_EPERM);
        ck_assert_msg(strstr(scsms_errmsg(), hq_only[i].says), "%s", scsms_errmsg());
        batch_free(&b);
        store_close(&f);
        free(fdir);
    }
    pair_free(&p);
}
END_TEST

START_TEST(a_fork_is_refused)
{
    /* head office holds entries 1-4; a history in which entry 3 reads
     * differently (a restored old copy gone its own way) is refused */
    struct pair p = pair_new();
    struct sync_result res;
    add_incidents(p.site, 5);
    struct batch b = batch_of(p.site, 1, 4);
    ck_assert_int_eq(ingest(&p, "SITE-A", &b, &res), 0);
    batch_free(&b);
    struct batch c = batch_of(p.site, 3, 5);
    c.e[0].data[c.e[0].len - 2] ^= 0x01;
    ck_assert_int_eq(ingest(&p, "SITE-A", &c, &res), SCSMS_ETAMPER);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "entry 3 of SITE-A differs from the one accepted before"));
    ck_assert_uint_eq(res.head_seq, 4);
    batch_free(&c);
    pair_free(&p);
}
END_TEST

/* ------------------------------------------------------------ partners
 * Head office takes in a partner's log; a site takes in head office's.
 * Sealed records must carry their issuer's signature over their exact
 * bytes, and a partner speaks only for itself. */

static crypto_key_t *key_of(store_t *s)
{
    crypto_key_t *k = NULL;
    char *path = tu_path(store_dir(s), "keys/sign.key");
    ck_assert_msg(crypto_key_load(path, &k) == 0, "%s", scsms_errmsg());
    free(path);
    return k;
}

/* A record as `from` would have written it (json with its envelope),
 * sealed with from's key when its type is sealed; packed. */
static uint8_t *record_as(store_t *from, const char *json, size_t *len)
{
    Scsms__Record *r = tu_record(json);
    /* what every store sets on what it writes, unless the json says */
    if (r->sensitivity == SCSMS__SENSITIVITY__SENSITIVITY_UNSET)
        r->sensitivity = SCSMS__SENSITIVITY__INTERNAL;
    if (r->retention_days == 0)
        r->retention_days = record_type_of(r)->retention_days;
    if (seal_is_sealed(r)) {
        crypto_key_t *k = key_of(from);
        ck_assert_int_eq(seal_record_sign(r, k), 0);
        crypto_key_destroy(&k);
    }
    *len = scsms__record__get_packed_size(r);
    uint8_t *b = malloc(*len);
    scsms__record__pack(r, b);
    record_free(r);
    return b;
}

/* A batch of one entry holding the record bytes rec, continuing from's log
 * where `to` holds it, under a checkpoint signed with from's own key
 * (DIR/keys/sign.key): exactly what `from` could send, whatever the record
 * says. */
static struct batch craft(store_t *to, store_t *from, const uint8_t *rec, size_t len)
{
    struct batch b = {0};
    const char *owner = store_owner(from);
    uint64_t seq;
    uint8_t prev[CRYPTO_HASH_LEN], head[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(to, owner, &seq, prev), 0);
    Scsms__LogEntry e = SCSMS__LOG_ENTRY__INIT;
    e.owner = (char *)owner;
    e.seq = seq + 1;
    e.prev_hash.data = prev;
    e.prev_hash.len = sizeof prev;
    e.record.data = (uint8_t *)rec;
    e.record.len = len;
    b.n = 1;
    b.e = malloc(sizeof *b.e);
    b.e[0].len = scsms__log_entry__get_packed_size(&e);
    b.e[0].data = malloc(b.e[0].len);
    scsms__log_entry__pack(&e, b.e[0].data);
    chain_entry_hash(b.e[0].data, b.e[0].len, head);
    crypto_key_t *k = key_of(from);
    ck_assert_int_eq(chain_checkpoint_make(k, owner, seq + 1, head, "2026-11-23T00:00:00Z", &b.cp,
                                           &b.cp_len), 0);
    crypto_key_destroy(&k);
    return b;
}

static int ingest_at(store_t *to, store_t *from, struct batch *b, struct sync_result *res)
{
    return take_in(to, store_owner(from), b->e, b->n, b->cp, b->cp_len, res);
}

/* to holds from's log up to seq, with head hash `head` (NULL: from's own
 * head at seq, which must then be from's current head). */
static void head_is(store_t *to, store_t *from, uint64_t seq, const uint8_t *head)
{
    uint64_t got, own;
    uint8_t h[CRYPTO_HASH_LEN], oh[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(to, store_owner(from), &got, h), 0);
    ck_assert_uint_eq(got, seq);
    if (!head) {
        ck_assert_int_eq(sync_head(from, store_owner(from), &own, oh), 0);
        ck_assert_uint_eq(own, seq);
        head = oh;
    }
    ck_assert_int_eq(memcmp(h, head, CRYPTO_HASH_LEN), 0);
}

/* Refused with code and a message holding want; nothing written. */
static void craft_refused(store_t *to, store_t *from, const uint8_t *rec, size_t len, int code,
                          const char *want)
{
    struct sync_result res;
    struct store_stats before, after;
    uint64_t seq;
    uint8_t head[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(to, store_owner(from), &seq, head), 0);
    ck_assert_int_eq(store_stats(to, &before), 0);
    struct batch b = craft(to, from, rec, len);
    int rc = ingest_at(to, from, &b, &res);
    ck_assert_msg(rc == code, "rc %d want %d: %s", rc, code, scsms_errmsg());
    ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'", scsms_errmsg(),
                  want);
    ck_assert_uint_eq(res.applied, 0);
    ck_assert_uint_eq(res.head_seq, seq);
    ck_assert_int_eq(memcmp(res.head, head, CRYPTO_HASH_LEN), 0);
    head_is(to, from, seq, head);
    ck_assert_int_eq(store_stats(to, &after), 0);
    ck_assert_uint_eq(after.records, before.records);
    ck_assert_uint_eq(after.entries, before.entries);
    ck_assert_uint_eq(after.checkpoints, before.checkpoints);
    batch_free(&b);
}

/* Accepted, as a control that craft() builds what the owner would. */
static void craft_accepted(store_t *to, store_t *from, const uint8_t *rec, size_t len)
{
    struct sync_result res;
    uint64_t seq;
    uint8_t head[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(to, store_owner(from), &seq, head), 0);
    struct batch b = craft(to, from, rec, len);
    ck_assert_msg(ingest_at(to, from, &b, &res) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(res.applied, 1);
    ck_assert_uint_eq(res.head_seq, seq + 1);
    batch_free(&b);
}

#define DECLARATION(partner, coverage)                                                           \
    "{\"type\":\"declaration\",\"partner_id\":\"" partner "\",\"coverage\":\"" coverage "\","     \
    "\"flows\":[\"NL-DE\"],\"measures\":[\"seals\",\"escort\"],\"valid_from_date\":"              \
    "\"2026-01-01\",\"valid_to_date\":\"2026-12-31\""

/* A partner P-42 and head office, the partner enrolled there. */
static struct pair partner_pair(void)
{
    return pair_of("P-42", STORE_ROLE_PARTNER, SCSMS__IDENTITY__ROLE__PARTNER);
}

/* Where text first sits in bytes; the test fails when it is absent. */
static uint8_t *find_text(uint8_t *bytes, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(bytes + i, text, n) == 0)
            return bytes + i;
    ck_abort_msg("'%s' is not in the record's bytes", text);
    return NULL;
}

static void same_bytes(store_t *a, store_t *b, const char *id)
{
    uint8_t *ba = NULL, *bb = NULL, ha[CRYPTO_HASH_LEN], hb[CRYPTO_HASH_LEN];
    size_t la, lb;
    ck_assert_msg(store_get_bytes(a, id, 0, &ba, &la) == 0, "%s: %s", id, scsms_errmsg());
    ck_assert_msg(store_get_bytes(b, id, 0, &bb, &lb) == 0, "%s: %s", id, scsms_errmsg());
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(ba, bb, la), 0);
    crypto_sha256(ba, la, ha);
    crypto_sha256(bb, lb, hb);
    ck_assert_int_eq(memcmp(ha, hb, CRYPTO_HASH_LEN), 0);
    free(ba);
    free(bb);
}

START_TEST(a_partners_declaration_arrives_as_signed)
{
    struct pair p = partner_pair();
    struct sync_result res;
    char dos[RECORD_MAX_ID + 1], crt[RECORD_MAX_ID + 1];
    tu_put(p.site, DECLARATION("P-42", "all road flows NL-DE") "}", dos);
    tu_put(p.site, "{\"type\":\"certificate\",\"partner_id\":\"P-42\",\"scheme\":\"aeo\","
                     "\"number\":\"NL-AEO-1\",\"valid_from_date\":\"2025-01-01\","
                     "\"expiry_date\":\"2028-01-01\"}", crt);
    ck_assert_str_eq(dos, "P-42-DOS-000001");
    struct batch b = batch_of(p.site, 1, 2);
    ck_assert_msg(ingest(&p, "P-42", &b, &res) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(res.applied, 2);
    head_is(p.hq, p.site, 2, NULL);
    same_bytes(p.site, p.hq, dos);
    same_bytes(p.site, p.hq, crt);
    /* head office can check the partner's seal on its own copy */
    uint8_t *bytes = NULL, pub[CRYPTO_PUB_LEN];
    size_t len;
    store_public_key(p.site, pub);
    ck_assert_int_eq(store_get_bytes(p.hq, dos, 0, &bytes, &len), 0);
    ck_assert_int_eq(seal_record_check(bytes, len, pub), 0);
    free(bytes);
    batch_free(&b);
    pair_free(&p);
}
END_TEST

START_TEST(a_declaration_altered_after_signing_is_refused)
{
    struct pair q = partner_pair();
    struct sync_result res;
    char d1[RECORD_MAX_ID + 1], d2[RECORD_MAX_ID + 1];
    tu_put(q.site, DECLARATION("P-42", "all road flows NL-DE") "}", d1);
    tu_put(q.site, DECLARATION("P-42", "sea freight Rotterdam") "}", d2);
    struct batch b = batch_of(q.site, 1, 1);
    ck_assert_int_eq(ingest(&q, "P-42", &b, &res), 0);
    batch_free(&b);
    uint64_t seq;
    uint8_t head[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(q.hq, "P-42", &seq, head), 0);
    ck_assert_uint_eq(seq, 1);
    /* the second declaration's exact bytes, its coverage changed (same
     * length) after the partner signed it, under a good checkpoint */
    uint8_t *bytes = NULL;
    size_t len;
    ck_assert_int_eq(store_get_bytes(q.site, d2, 0, &bytes, &len), 0);
    uint8_t *at = find_text(bytes, len, "Rotterdam");
    at[0] = 'r';
    craft_refused(q.hq, q.site, bytes, len, SCSMS_ETAMPER,
                  "entry 2: declaration 'P-42-DOS-000002': partner_signature does not match");
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get(q.hq, d2, 0, &r), SCSMS_ENOTFOUND);
    /* the same bytes as signed, crafted the same way, are taken: the
     * seal was the only thing wrong, and the heads then agree */
    at[0] = 'R';
    craft_accepted(q.hq, q.site, bytes, len);
    head_is(q.hq, q.site, 2, NULL);
    same_bytes(q.site, q.hq, d2);
    free(bytes);
    pair_free(&q);
}
END_TEST

/* A record crafted from json, sealed and chained by p's site, sent to head
 * office: refused with code and want, or taken. */
static void json_refused(struct pair *p, const char *json, int code, const char *want)
{
    size_t len;
    uint8_t *b = record_as(p->site, json, &len);
    craft_refused(p->hq, p->site, b, len, code, want);
    free(b);
}

static void json_accepted(struct pair *p, const char *json)
{
    size_t len;
    uint8_t *b = record_as(p->site, json, &len);
    craft_accepted(p->hq, p->site, b, len);
    free(b);
}

/* A record at fault twice is refused for the fault met first in the order
 * head office has always checked in, whichever were checked ahead of the
 * write: its owner, then the sender's role, then its own rules. */
START_TEST(the_first_fault_in_order_is_named)
{
    struct pair p = pair_new();
    /* a site may not issue a policy, whose time is not in UTC besides:
     * the role (checked in the transaction) before the rule (ahead) */
    json_refused(&p, "{\"type\":\"policy\",\"id\":\"SITE-A-POL-000001\",\"owner\":\"SITE-A\","
                 "\"version\":1,\"status\":\"draft\",\"title\":\"t\",\"statement\":\"s\","
                 "\"created_at\":\"2026-11-01T11:00:00+01:00\"}", SCSMS_EPERM,
                 "entry 1: SITE-A may not issue policy records (rule 8)");
    /* nor another site's policy: the owner (ahead) before the role */
    json_refused(&p, "{\"type\":\"policy\",\"id\":\"SITE-B-POL-000001\",\"owner\":\"SITE-B\","
                 "\"version\":1,\"status\":\"draft\",\"title\":\"t\",\"statement\":\"s\"}",
                 SCSMS_EPERM, "entry 1: record 'SITE-B-POL-000001' of SITE-B sent by SITE-A: an "
                 "identity sends only its own records (rule 8)");
    /* its own incident with that time: the rule alone */
    json_refused(&p, "{\"type\":\"incident\",\"id\":\"SITE-A-INC-000001\",\"owner\":\"SITE-A\","
                 "\"version\":1,\"status\":\"open\",\"kind\":\"breach\","
                 "\"occurred_at\":\"2026-11-01T10:00:00Z\",\"location\":\"Gate 1\","
                 "\"created_at\":\"2026-11-01T11:00:00+01:00\"}", SCSMS_EINVAL,
                 "entry 1: record 'SITE-A-INC-000001': field 'created_at' is "
                 "'2026-11-01T11:00:00+01:00', not in the form its writer's store gives it");
    pair_free(&p);
}
END_TEST

START_TEST(a_partner_speaks_only_for_itself)
{
    struct pair p = partner_pair();
    uint8_t pub[CRYPTO_PUB_LEN];
    store_public_key(p.site, pub);
    /* a declaration about P-43, correctly sealed by P-42 */
    size_t len;
    uint8_t *b = record_as(p.site, DECLARATION("P-43", "all road flows") ",\"id\":"
                           "\"P-42-DOS-000001\",\"owner\":\"P-42\",\"version\":1,"
                           "\"status\":\"submitted\"}", &len);
    ck_assert_int_eq(seal_record_check(b, len, pub), 0);
    craft_refused(p.hq, p.site, b, len, SCSMS_EPERM,
                  "entry 1: partner P-42 may submit only its own declarations, not one about "
                  "P-43 (rule 8)");
    free(b);
    /* a certificate about P-43 */
    json_refused(&p, "{\"type\":\"certificate\",\"id\":\"P-42-CRT-000001\",\"owner\":\"P-42\","
                 "\"version\":1,\"status\":\"active\",\"partner_id\":\"P-43\",\"scheme\":\"aeo\","
                 "\"number\":\"NL-AEO-9\",\"expiry_date\":\"2028-01-01\"}", SCSMS_EPERM,
                 "partner P-42 may submit only its own certificates, not one about P-43 (rule 8)");
    /* a time its writer's store would have put in UTC comes in UTC: head
     * office checks what it takes in, and changes none of it */
    json_refused(&p, "{\"type\":\"certificate\",\"id\":\"P-42-CRT-000001\",\"owner\":\"P-42\","
                 "\"version\":1,\"status\":\"active\",\"partner_id\":\"P-42\",\"scheme\":\"aeo\","
                 "\"number\":\"NL-AEO-9\",\"expiry_date\":\"2028-01-01\","
                 "\"created_at\":\"2026-11-01T11:00:00+01:00\"}", SCSMS_EINVAL,
                 "entry 1: record 'P-42-CRT-000001': field 'created_at' is "
                 "'2026-11-01T11:00:00+01:00', not in the form its writer's store gives it "
                 "('2026-11-01T10:00:00Z')");
    /* its own, crafted the same way, are taken */
    json_accepted(&p, "{\"type\":\"certificate\",\"id\":\"P-42-CRT-000001\",\"owner\":\"P-42\","
                  "\"version\":1,\"status\":\"active\",\"partner_id\":\"P-42\",\"scheme\":\"aeo\","
                  "\"number\":\"NL-AEO-9\",\"expiry_date\":\"2028-01-01\"}");
    json_accepted(&p, DECLARATION("P-42", "all road flows") ",\"id\":\"P-42-DOS-000002\","
                  "\"owner\":\"P-42\",\"version\":1,\"status\":\"submitted\"}");
    uint64_t seq;
    uint8_t h[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(p.hq, "P-42", &seq, h), 0);
    ck_assert_uint_eq(seq, 2);
    pair_free(&p);
}
END_TEST

/* A later version a store would refuse is refused at head office too,
 * however the site crafts it: one of another type than the version before
 * it, and any version after a disposal's tombstone. */
/* An entry already in a site's log is taken in as it is, even one the
 * site's store would now refuse to write (a measurement of NaN, written
 * before stores refused it): refusing it would stop the log's sync for
 * good, as nothing follows an entry head office will not take. */
START_TEST(a_stored_nan_does_not_stop_sync)
{
    struct pair p = pair_new();
    Scsms__Record *r = tu_record("{\"type\":\"measurement\",\"id\":\"SITE-A-MEA-000001\","
                                 "\"owner\":\"SITE-A\",\"version\":1,\"status\":\"recorded\","
                                 "\"indicator\":\"seal errors\",\"period_end_date\":\"2026-10-31\","
                                 "\"author\":\"lead\",\"created_at\":\"2026-11-01T10:00:00Z\","
                                 "\"updated_at\":\"2026-11-01T10:00:00Z\"}");
    r->measurement->value = NAN;
    r->sensitivity = SCSMS__SENSITIVITY__INTERNAL;
    r->retention_days = record_type_of(r)->retention_days;
    ck_assert_int_eq(record_validate(r), SCSMS_EINVAL); /* no store writes it now */
    size_t len = scsms__record__get_packed_size(r);
    uint8_t *b = malloc(len);
    scsms__record__pack(r, b);
    craft_accepted(p.hq, p.site, b, len);
    free(b);
    record_free(r);
    pair_free(&p);
}
END_TEST

START_TEST(a_later_version_keeps_its_type_and_none_follows_a_disposal)
{
    struct pair p = pair_new();
    const char *inc = "{\"type\":\"incident\",\"id\":\"SITE-A-INC-000001\",\"owner\":\"SITE-A\","
                      "\"kind\":\"near_miss\",\"occurred_at\":\"2026-11-01T10:00:00Z\","
                      "\"location\":\"Gate 1\",\"status\":\"open\",\"author\":\"lead\","
                      "\"created_at\":\"2026-11-01T10:00:00Z\",\"updated_at\":"
                      "\"2026-11-01T10:00:00Z\",\"version\":";
    char json[1024];
    snprintf(json, sizeof json, "%s1}", inc);
    json_accepted(&p, json);
    json_refused(&p,
                 "{\"type\":\"risk\",\"id\":\"SITE-A-INC-000001\",\"owner\":\"SITE-A\","
                 "\"version\":2,\"threat_category\":\"natural_events\",\"threatened\":\"yard\","
                 "\"likelihood\":2,\"consequence\":2,\"residual_likelihood\":1,"
                 "\"residual_consequence\":1,\"treatment\":\"reduce\",\"status\":\"open\",\"author\":\"lead\","
                 "\"created_at\":\"2026-11-01T10:00:00Z\",\"updated_at\":"
                 "\"2026-11-02T10:00:00Z\"}",
                 SCSMS_ETAMPER, "'SITE-A-INC-000001' version 2 is of type risk, version 1 of "
                 "type incident: a record keeps its type");
    json_accepted(&p, "{\"type\":\"incident\",\"id\":\"SITE-A-INC-000001\",\"owner\":"
                      "\"SITE-A\",\"version\":2,\"status\":\"disposed\",\"disposal_reason\":"
                      "\"retention over\",\"author\":\"lead\",\"created_at\":"
                      "\"2026-11-01T10:00:00Z\",\"updated_at\":\"2026-11-03T10:00:00Z\"}");
    snprintf(json, sizeof json, "%s3}", inc);
    json_refused(&p, json, SCSMS_ETAMPER, "'SITE-A-INC-000001' was disposed of at version 2: "
                 "no version follows a disposal");
    pair_free(&p);
}
END_TEST

START_TEST(a_partner_cannot_send_site_types)
{
    struct pair p = partner_pair();
    json_refused(&p, "{\"type\":\"incident\",\"id\":\"P-42-INC-000001\",\"owner\":"
                 "\"P-42\",\"version\":1,\"status\":\"open\",\"kind\":\"breach\","
                 "\"occurred_at\":\"2026-11-01T10:00:00Z\",\"location\":\"Gate 3\"}", SCSMS_EPERM,
                 "entry 1: P-42 may not issue incident records (rule 8)");
    json_refused(&p, "{\"type\":\"risk\",\"id\":\"P-42-RSK-000001\",\"owner\":\"P-42\","
                 "\"version\":1,\"status\":\"open\",\"threat_category\":\"natural_events\","
                 "\"threatened\":\"yard\",\"likelihood\":2,\"consequence\":2,"
                 "\"residual_likelihood\":1,\"residual_consequence\":1,\"treatment\":\"reduce\"}",
                 SCSMS_EPERM, "entry 1: P-42 may not issue risk records (rule 8)");
    pair_free(&p);
}
END_TEST

START_TEST(head_office_seals_are_checked_at_a_site)
{
    /* a site takes in head office's log: head office's credibility review
     * and management review must carry head office's seal */
    struct pair p = pair_new();
    char *hqdir = tu_path(p.tmp, "hq");
    struct sync_result res;
    tu_enrol(p.site, p.hq, hqdir, SCSMS__IDENTITY__ROLE__HQ);
    char crv[RECORD_MAX_ID + 1], mrv[RECORD_MAX_ID + 1], dos[RECORD_MAX_ID + 1], sha[65];
    char review[1024];
    tu_held_declaration(p.hq, p.tmp, "P-42", dos, sha); /* a review is of one held */
    snprintf(review, sizeof review, "{\"type\":\"credibility_review\",\"declaration_id\":\"%s\","
             "\"declaration_version\":1,\"declaration_sha256\":\"%s\",\"partner_id\":\"P-42\","
             "\"reviewer\":\"k.li\",\"decision\":\"accepted\",\"status\":\"accepted\","
             "\"reason\":\"fits\",\"reviewed_date\":\"2026-01-20\"}", dos, sha);
    tu_put(p.hq, review, crv);
    struct batch b = batch_of(p.hq, 1, 1);
    ck_assert_msg(ingest_at(p.site, p.hq, &b, &res) == 0, "%s", scsms_errmsg());
    batch_free(&b);
    head_is(p.site, p.hq, 1, NULL);
    same_bytes(p.hq, p.site, crv);
    tu_put(p.hq, review, crv);
    tu_put(p.hq, "{\"type\":\"management_review\",\"period_from_date\":\"2026-01-01\","
                   "\"period_to_date\":\"2026-06-30\",\"held_date\":\"2026-07-10\","
                   "\"decisions\":[\"continue\",\"more drills\"]}", mrv);
    /* the second review with one bit of its hq_signature flipped: the
     * signature is the body's last field and the body the record's last */
    uint8_t *bytes = NULL;
    size_t len;
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get_bytes(p.hq, crv, 0, &bytes, &len), 0);
    ck_assert_int_eq(record_unpack(bytes, len, &r), 0);
    ck_assert_uint_eq(r->credibility_review->hq_signature.len, CRYPTO_SIG_LEN);
    ck_assert_int_eq(memcmp(bytes + len - CRYPTO_SIG_LEN, r->credibility_review->hq_signature.data,
                            CRYPTO_SIG_LEN), 0);
    record_free(r);
    bytes[len - 20] ^= 0x04;
    craft_refused(p.site, p.hq, bytes, len, SCSMS_ETAMPER,
                  "entry 2: credibility_review 'HQ-CRV-000002': hq_signature does not match");
    bytes[len - 20] ^= 0x04;
    craft_accepted(p.site, p.hq, bytes, len);
    free(bytes);
    /* the management review with a decision changed after signing */
    ck_assert_int_eq(store_get_bytes(p.hq, mrv, 0, &bytes, &len), 0);
    uint8_t *at = find_text(bytes, len, "more drills");
    at[0] = 'M';
    craft_refused(p.site, p.hq, bytes, len, SCSMS_ETAMPER,
                  "entry 3: management_review 'HQ-MRV-000003': hq_signature does not match");
    at[0] = 'm';
    craft_accepted(p.site, p.hq, bytes, len);
    free(bytes);
    head_is(p.site, p.hq, 3, NULL);
    struct verify_report rep;
    ck_assert_msg(verify_store(p.site, &rep) == 0, "site: %s", scsms_errmsg());
    free(hqdir);
    pair_free(&p);
}
END_TEST

/* ------------------------------------------------------------ outbox
 * sync_batch_read: a store's own log read for sending, its entries the
 * stored bytes themselves, under a checkpoint signed over the last. */

/* b holds exactly what sync_read_log gives for from..from+max-1 of s's
 * own log, want of them ending at seq last, under a checkpoint signed by
 * s's key naming s's owner at last and the hash of entry last's bytes. */
static void batch_is(store_t *s, const struct sync_batch *b, uint64_t from, size_t max,
                     size_t want, uint64_t last)
{
    struct batch e = {0};
    tu_log_read(s, store_owner(s), from, max, &e.e, &e.n);
    ck_assert_uint_eq(e.n, want);
    ck_assert_uint_eq(from + e.n - 1, last);
    ck_assert_uint_eq(b->n, want);
    ck_assert_uint_eq(b->last, last);
    for (size_t i = 0; i < want; i++) {
        ck_assert_ptr_nonnull(b->v[i].data);
        ck_assert_msg(b->v[i].len == e.e[i].len, "entry %llu: %zu bytes, want %zu",
                      (unsigned long long)(from + i), b->v[i].len, e.e[i].len);
        ck_assert_msg(memcmp(b->v[i].data, e.e[i].data, e.e[i].len) == 0,
                      "entry %llu differs from sync_read_log's", (unsigned long long)(from + i));
        /* each is a whole entry of s's log at its own sequence */
        Scsms__LogEntry *le = NULL;
        ck_assert_int_eq(chain_entry_decode(b->v[i].data, b->v[i].len, &le), 0);
        ck_assert_uint_eq(le->seq, from + i);
        ck_assert_str_eq(le->owner, store_owner(s));
        scsms__log_entry__free_unpacked(le, NULL);
    }
    uint8_t pub[CRYPTO_PUB_LEN], head[CRYPTO_HASH_LEN];
    Scsms__Checkpoint *cp = NULL;
    store_public_key(s, pub);
    ck_assert_ptr_nonnull(b->cp);
    ck_assert_uint_gt(b->cp_len, 0);
    ck_assert_msg(chain_checkpoint_check(pub, b->cp, b->cp_len, &cp) == 0, "%s", scsms_errmsg());
    ck_assert_str_eq(cp->owner, store_owner(s));
    ck_assert_uint_eq(cp->seq, last);
    chain_entry_hash(e.e[want - 1].data, e.e[want - 1].len, head);
    ck_assert_uint_eq(cp->head_hash.len, CRYPTO_HASH_LEN);
    ck_assert_int_eq(memcmp(cp->head_hash.data, head, CRYPTO_HASH_LEN), 0);
    scsms__checkpoint__free_unpacked(cp, NULL);
    batch_free(&e);
}

/* sync_outbox: what the agent checks before each upload, and that what
 * it signs then (the entry ending the upload, as read for it) is what it
 * checked; bytes rewritten on disk in between are not signed. */
START_TEST(the_outbox_signs_only_what_it_checked)
{
    struct pair p = pair_new();
    struct sync_outbox o = {0};
    struct sync_batch b = {0};
    uint8_t h[CRYPTO_HASH_LEN] = {0};
    add_incidents(p.site, 6); /* Gate 0 .. Gate 5, each its own commit */
    sync_outbox_begin(&o, p.site, 0);
    ck_assert_msg(sync_outbox_check_to(&o, 3) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(o.checked, 3); /* as far as the checkpoint at 3 */
    ck_assert_msg(sync_batch_read_checked(p.site, 1, 3, &b, &o) == 0, "%s", scsms_errmsg());
    ck_assert_ptr_nonnull(b.cp);
    ck_assert_uint_eq(o.sent, 3);
    ck_assert_msg(sync_outbox_check_to(&o, 6) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(o.after, 3); /* what was sent is no longer kept */
    ck_assert_uint_eq(o.checked, 6);
    /* entry 6 rewritten after the check, before the read that signs it:
     * refused before anything is signed */
    ck_assert_int_ge(tu_edit_data_file(store_dir(p.site), "Gate 5", 5, '9'), 1);
    ck_assert_int_eq(sync_batch_read_checked(p.site, 4, 3, &b, &o), SCSMS_ETAMPER);
    ck_assert_str_eq(scsms_errmsg(), "entry 6 of SITE-A changed on disk while it was being sent: "
                                     "nothing from entry 4 on was sent; run verify");
    ck_assert_ptr_null(b.cp);
    ck_assert_uint_eq(b.n, 6 - 4 + 1); /* read, then given up unsigned */
    ck_assert_int_eq(sync_batch_read(p.site, 4, 3, &b), 0); /* as a plain read would sign */
    ck_assert_uint_eq(b.last, 6);
    chain_entry_hash(b.v[b.n - 1].data, b.v[b.n - 1].len, h);
    ck_assert_int_eq(sync_outbox_sent(&o, 4, b.last, h), SCSMS_ETAMPER);
    /* an upload ending before it goes; one past what was checked does not */
    ck_assert_msg(sync_batch_read_checked(p.site, 4, 2, &b, &o) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(b.last, 5);
    ck_assert_uint_eq(o.sent, 5);
    memset(h, 0, sizeof h);
    ck_assert_int_eq(sync_outbox_sent(&o, 7, 7, h), SCSMS_ETAMPER);
    ck_assert_str_eq(scsms_errmsg(), "entry 7 of SITE-A was not checked before it was sent: "
                                     "nothing from entry 7 on was sent");
    ck_assert_int_eq(sync_outbox_sent(&o, 3, 3, h), SCSMS_ETAMPER); /* before the walk's start */
    sync_batch_free(&b);
    sync_outbox_end(&o);
    ck_assert_ptr_null(o.hashes);
    pair_free(&p);
}
END_TEST

/* A commit longer than the hashes an outbox keeps (here 2): its uploads
 * past them walk the commit again from the last sent, and still find an
 * entry altered since the first walk. */
START_TEST(the_outbox_walks_a_long_commit_again)
{
    struct pair p = pair_new();
    struct sync_outbox o = {.keep_max = 2};
    struct sync_batch b = {0};
    store_batch_t *sb = NULL;
    Scsms__Record *r[6];
    ck_assert_int_eq(store_batch_new(p.site, &sb), 0);
    for (int i = 0; i < 6; i++) { /* the batch borrows them until its commit */
        char json[256];
        snprintf(json, sizeof json, "{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":"
                 "\"2026-11-0%dT10:00:00Z\",\"location\":\"Dock %d\"}", 1 + i, i);
        r[i] = tu_record(json);
        ck_assert_int_eq(store_batch_add(sb, r[i]), 0);
    }
    ck_assert_msg(store_batch_commit(sb) == 0, "%s", scsms_errmsg()); /* one checkpoint, at 6 */
    store_batch_destroy(&sb);
    for (int i = 0; i < 6; i++)
        record_free(r[i]);
    sync_outbox_begin(&o, p.site, 0);
    ck_assert_int_eq(o.keep_max, 2);
    ck_assert_msg(sync_outbox_check_to(&o, 2) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(o.checked, 6);
    ck_assert_uint_eq(o.kept, 2);
    ck_assert_msg(sync_batch_read_checked(p.site, 1, 2, &b, &o) == 0, "%s", scsms_errmsg());
    ck_assert_msg(sync_batch_read_checked(p.site, 3, 2, &b, &o) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(o.kept, 4); /* walked again from 2 */
    ck_assert_uint_eq(o.after, 2);
    ck_assert_int_ge(tu_edit_data_file(store_dir(p.site), "Dock 5", 5, '9'), 1);
    ck_assert_int_eq(sync_batch_read_checked(p.site, 5, 2, &b, &o), SCSMS_ETAMPER);
    ck_assert_str_eq(scsms_errmsg(), "entry 6 of SITE-A does not match the chain head its owner "
                                     "signed: nothing from entry 5 on was sent; run verify");
    ck_assert_ptr_null(b.cp);
    sync_batch_free(&b);
    sync_outbox_end(&o);
    ck_assert_int_eq(o.keep_max, 2);
    pair_free(&p);
}
END_TEST

START_TEST(a_batch_is_the_stored_entries_under_a_signed_checkpoint)
{
    struct pair p = pair_new();
    struct sync_batch b = {0};
    struct sync_result res;
    add_incidents(p.site, 25);
    ck_assert_msg(sync_batch_read(p.site, 1, 10, &b) == 0, "%s", scsms_errmsg());
    batch_is(p.site, &b, 1, 10, 10, 10);
    ck_assert_ptr_nonnull(b.txn);
    /* entry 10's hash: the head head office must hold once it takes b in */
    uint64_t seq;
    uint8_t h10[CRYPTO_HASH_LEN];
    chain_entry_hash(b.v[9].data, b.v[9].len, h10);
    /* and what it carries is what head office takes in, as sent */
    ck_assert_msg(take_in(p.hq, "SITE-A", b.v, b.n, b.cp, b.cp_len, &res) == 0, "%s",
                  scsms_errmsg());
    ck_assert_uint_eq(res.applied, 10);
    ck_assert_uint_eq(res.head_seq, 10);
    ck_assert_int_eq(memcmp(res.head, h10, CRYPTO_HASH_LEN), 0);
    uint8_t hh[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(p.hq, "SITE-A", &seq, hh), 0);
    ck_assert_uint_eq(seq, 10);
    ck_assert_int_eq(memcmp(hh, h10, CRYPTO_HASH_LEN), 0);
    /* read again into the same struct: the earlier read ends on its own */
    ck_assert_msg(sync_batch_read(p.site, 11, 10, &b) == 0, "%s", scsms_errmsg());
    batch_is(p.site, &b, 11, 10, 10, 20);
    ck_assert_msg(sync_batch_read(p.site, 21, 10, &b) == 0, "%s", scsms_errmsg());
    batch_is(p.site, &b, 21, 10, 5, 25);
    ck_assert_int_eq(take_in(p.hq, "SITE-A", b.v, b.n, b.cp, b.cp_len, &res),
                     SCSMS_EGAP); /* 11..20 were never sent */
    ck_assert_uint_eq(res.head_seq, 10);
    ck_assert_msg(sync_batch_read(p.site, 11, 15, &b) == 0, "%s", scsms_errmsg());
    batch_is(p.site, &b, 11, 15, 15, 25);
    ck_assert_msg(take_in(p.hq, "SITE-A", b.v, b.n, b.cp, b.cp_len, &res) == 0, "%s",
                  scsms_errmsg());
    ck_assert_uint_eq(res.applied, 15);
    heads_equal(&p, 25);
    sync_batch_free(&b);
    ck_assert_ptr_null(b.v);
    ck_assert_ptr_null(b.cp);
    ck_assert_ptr_null(b.txn);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.cap, 0);
    ck_assert_uint_eq(b.last, 0);
    pair_free(&p);
}
END_TEST

/* n incidents of some 420 KB each: seven text fields of 60,000 bytes. */
static void add_large_incidents(store_t *s, int n)
{
    size_t field = 60000, cap = 8 * field + 512;
    char *text = malloc(field + 1), *json = malloc(cap);
    memset(text, 'x', field);
    text[field] = '\0';
    for (int i = 0; i < n; i++) {
        snprintf(json, cap, "{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":"
                 "\"2026-11-01T10:00:00Z\",\"location\":\"%s\",\"activity\":\"%s\","
                 "\"agency\":\"%s\",\"impact\":\"%s\",\"immediate_action\":\"%s\","
                 "\"investigation\":\"%s\",\"root_cause\":\"%s\"}", text, text, text, text,
                 text, text, text);
        tu_put(s, json, NULL);
    }
    free(json);
    free(text);
}

/* Records may be 1 MiB each, so a batch of 1000 entries could be far
 * larger than a message head office takes (SYNC_MESSAGE_MAX): a batch
 * also stops before SYNC_BATCH_MAX_BYTES, and the rest comes in the next. */
START_TEST(a_batch_is_limited_in_bytes)
{
    struct pair p = pair_new();
    struct sync_batch b = {0};
    struct sync_result res;
    struct batch all = {0};
    add_large_incidents(p.site, 100);
    tu_log_read(p.site, "SITE-A", 1, 100, &all.e, &all.n);
    size_t fit = 0, bytes = 0;
    while (fit < all.n && bytes + all.e[fit].len <= SYNC_BATCH_MAX_BYTES)
        bytes += all.e[fit++].len;
    ck_assert_uint_gt(bytes, SYNC_BATCH_MAX_BYTES - all.e[fit].len);
    ck_assert_uint_eq(fit, 79); /* 42 MB in all: more than a batch, less than two */
    ck_assert_msg(sync_batch_read(p.site, 1, 1000, &b) == 0, "%s", scsms_errmsg());
    batch_is(p.site, &b, 1, fit, fit, fit);
    ck_assert_msg(take_in(p.hq, "SITE-A", b.v, b.n, b.cp, b.cp_len, &res) == 0, "%s",
                  scsms_errmsg());
    ck_assert_uint_eq(res.applied, fit);
    ck_assert_msg(sync_batch_read(p.site, fit + 1, 1000, &b) == 0, "%s", scsms_errmsg());
    batch_is(p.site, &b, fit + 1, 100 - fit, 100 - fit, 100);
    ck_assert_msg(take_in(p.hq, "SITE-A", b.v, b.n, b.cp, b.cp_len, &res) == 0, "%s",
                  scsms_errmsg());
    ck_assert_uint_eq(res.applied, 100 - fit);
    heads_equal(&p, 100);
    sync_batch_free(&b);
    batch_free(&all);
    pair_free(&p);
}
END_TEST

START_TEST(a_batch_beyond_the_head_is_empty)
{
    struct pair p = pair_new();
    struct sync_batch b = {0};
    add_incidents(p.site, 25);
    /* a read that found entries, then one past the head into the same
     * struct: nothing, and nothing left of the one before */
    ck_assert_int_eq(sync_batch_read(p.site, 20, 10, &b), 0);
    ck_assert_uint_eq(b.n, 6);
    ck_assert_uint_eq(b.last, 25);
    ck_assert_ptr_nonnull(b.cp);
    ck_assert_msg(sync_batch_read(p.site, 26, 10, &b) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.last, 0);
    ck_assert_ptr_null(b.cp);
    ck_assert_uint_eq(b.cp_len, 0);
    ck_assert_int_eq(sync_batch_read(p.site, 1000, 10, &b), 0);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.last, 0);
    ck_assert_ptr_null(b.cp);
    sync_batch_free(&b);
    /* a fresh struct and an empty log */
    char *edir = tu_path(p.tmp, "empty");
    store_t *empty = tu_store_new(edir, "SITE-E", STORE_ROLE_SITE);
    ck_assert_int_eq(sync_batch_read(empty, 1, 10, &b), 0);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.last, 0);
    ck_assert_ptr_null(b.cp);
    /* and at most none asked for */
    ck_assert_int_eq(sync_batch_read(p.site, 1, 0, &b), 0);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.last, 0);
    ck_assert_ptr_null(b.cp);
    sync_batch_free(&b);
    store_close(&empty);
    free(edir);
    pair_free(&p);
}
END_TEST

START_TEST(a_batch_ended_lets_a_write_proceed)
{
    struct pair p = pair_new();
    struct sync_batch b = {0};
    char id[RECORD_MAX_ID + 1];
    add_incidents(p.site, 25);
    ck_assert_int_eq(sync_batch_read(p.site, 16, 10, &b), 0);
    ck_assert_uint_eq(b.n, 10);
    ck_assert_uint_eq(b.last, 25);
    ProtobufCBinaryData *v = b.v;
    sync_batch_end(&b);
    ck_assert_ptr_null(b.txn);
    ck_assert_ptr_null(b.cp);
    ck_assert_uint_eq(b.cp_len, 0);
    ck_assert_ptr_eq(b.v, v); /* kept for the next read */
    ck_assert_uint_ge(b.cap, 10);
    sync_batch_end(&b); /* twice is harmless */
    /* a write on this thread, then a read from 26 gives exactly it */
    tu_put(p.site, "{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":"
           "\"2026-12-01T10:00:00Z\",\"location\":\"Gate 99\"}", id);
    ck_assert_str_eq(id, "SITE-A-INC-000026");
    ck_assert_msg(sync_batch_read(p.site, 26, 10, &b) == 0, "%s", scsms_errmsg());
    batch_is(p.site, &b, 26, 10, 1, 26);
    Scsms__LogEntry *le = NULL;
    Scsms__Record *r = NULL;
    ck_assert_int_eq(chain_entry_decode(b.v[0].data, b.v[0].len, &le), 0);
    ck_assert_int_eq(record_unpack(le->record.data, le->record.len, &r), 0);
    ck_assert_str_eq(r->id, "SITE-A-INC-000026");
    ck_assert_str_eq(r->incident->location, "Gate 99");
    record_free(r);
    scsms__log_entry__free_unpacked(le, NULL);
    /* ended again, and another write still goes through */
    sync_batch_end(&b);
    Scsms__Record *rec = NULL;
    ck_assert_int_eq(store_get(p.site, id, 0, &rec), 0);
    ck_assert_int_eq(record_set_string(&rec->status, "closed"), 0);
    ck_assert_msg(store_put(p.site, rec, NULL) == 0, "%s", scsms_errmsg());
    record_free(rec);
    ck_assert_int_eq(sync_batch_read(p.site, 26, 10, &b), 0);
    batch_is(p.site, &b, 26, 10, 2, 27);
    sync_batch_free(&b);
    pair_free(&p);
}
END_TEST

/* Each read holds one read transaction, and ending it gives its reader
 * slot back: reading again and again, more times than the store has
 * slots (126), neither runs out nor stops writes. */
START_TEST(a_batch_holds_one_reader_until_ended)
{
    struct pair p = pair_new();
    struct sync_batch b = {0};
    add_incidents(p.site, 3);
    for (int i = 0; i < 300; i++) { /* each read ends the one before */
        ck_assert_msg(sync_batch_read(p.site, 1 + (uint64_t)(i % 3), 1, &b) == 0, "read %d: %s",
                      i, scsms_errmsg());
        ck_assert_uint_eq(b.n, 1);
        ck_assert_uint_eq(b.last, 1 + (uint64_t)(i % 3));
    }
    for (int i = 0; i < 300; i++) { /* read, end */
        ck_assert_msg(sync_batch_read(p.site, 2, 5, &b) == 0, "read %d: %s", i, scsms_errmsg());
        ck_assert_uint_eq(b.n, 2);
        ck_assert_uint_eq(b.last, 3);
        sync_batch_end(&b);
    }
    add_incidents(p.site, 1);
    ck_assert_int_eq(sync_batch_read(p.site, 1, 10, &b), 0);
    batch_is(p.site, &b, 1, 10, 4, 4);
    sync_batch_free(&b);
    pair_free(&p);
}
END_TEST

START_TEST(a_batch_needs_the_stores_key)
{
    char *tmp = tu_tmpdir("sync"), *dir = tu_path(tmp, "site");
    char *key = tu_path(dir, "keys/sign.key"), *away = tu_path(tmp, "sign.key");
    store_t *s = tu_store_new(dir, "SITE-A", STORE_ROLE_SITE);
    add_incidents(s, 5);
    store_close(&s);
    /* a copy without its key, as a backup is verified */
    ck_assert_int_eq(rename(key, away), 0);
    struct store_options ro = {.read_only = 1};
    ck_assert_msg(store_open(dir, &ro, &s) == 0, "%s", scsms_errmsg());
    struct sync_batch b = {0};
    ck_assert_int_eq(sync_batch_read(s, 1, 10, &b), SCSMS_EKEY);
    ck_assert_msg(strstr(scsms_errmsg(), "open without its key"), "%s", scsms_errmsg());
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.last, 0);
    ck_assert_ptr_null(b.cp);
    ck_assert_ptr_null(b.txn);
    /* the log is there to be read; only the signing is refused */
    struct batch e = {0};
    tu_log_read(s, "SITE-A", 1, 10, &e.e, &e.n);
    ck_assert_uint_eq(e.n, 5);
    batch_free(&e);
    sync_batch_free(&b);
    store_close(&s);
    /* with its key back, the same read-only copy can send */
    ck_assert_int_eq(rename(away, key), 0);
    ck_assert_msg(store_open(dir, &ro, &s) == 0, "%s", scsms_errmsg());
    ck_assert_msg(sync_batch_read(s, 1, 10, &b) == 0, "%s", scsms_errmsg());
    batch_is(s, &b, 1, 10, 5, 5);
    sync_batch_free(&b);
    store_close(&s);
    tu_rmdir(tmp);
    free(key);
    free(away);
    free(dir);
    free(tmp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sync");
    TCase *t = tcase_create("ingest");
    tcase_add_test(t, batches_apply_once_and_heads_match);
    tcase_add_test(t, gap_says_where_to_resume);
    tcase_add_test(t, the_log_that_sorts_last_is_appended);
    tcase_add_test(t, a_group_applies_each_upload_whole_or_not);
    tcase_add_test(t, the_hook_runs_before_each_upload_and_before_the_commit);
    tcase_add_test(t, head_office_verify_names_the_first_damaged_log);
    tcase_add_test(t, a_swapped_enrolment_key_is_found);
    tcase_add_test(t, a_log_removed_or_cut_back_at_head_office_is_found);
    tcase_add_test(t, altered_entry_is_refused);
    tcase_add_test(t, another_sites_records_are_refused);
    tcase_add_test(t, unenrolled_and_revoked_are_refused);
    tcase_add_test(t, a_site_cannot_send_head_office_types);
    tcase_add_test(t, a_fork_is_refused);
    suite_add_tcase(s, t);
    TCase *pt = tcase_create("sealed");
    tcase_add_test(pt, a_partners_declaration_arrives_as_signed);
    tcase_add_test(pt, a_declaration_altered_after_signing_is_refused);
    tcase_add_test(pt, a_partner_speaks_only_for_itself);
    tcase_add_test(pt, the_first_fault_in_order_is_named);
    tcase_add_test(pt, a_partner_cannot_send_site_types);
    tcase_add_test(pt, a_later_version_keeps_its_type_and_none_follows_a_disposal);
    tcase_add_test(pt, a_stored_nan_does_not_stop_sync);
    tcase_add_test(pt, head_office_seals_are_checked_at_a_site);
    suite_add_tcase(s, pt);
    /* the same cases again, every upload checked ahead on a thread */
    TCase *at = tcase_create("ingest, checked ahead");
    tcase_add_checked_fixture(at, check_ahead, check_inline);
    tcase_add_test(at, batches_apply_once_and_heads_match);
    tcase_add_test(at, gap_says_where_to_resume);
    tcase_add_test(at, the_log_that_sorts_last_is_appended);
    tcase_add_test(at, a_group_applies_each_upload_whole_or_not);
    tcase_add_test(at, altered_entry_is_refused);
    tcase_add_test(at, another_sites_records_are_refused);
    tcase_add_test(at, unenrolled_and_revoked_are_refused);
    tcase_add_test(at, a_site_cannot_send_head_office_types);
    tcase_add_test(at, a_fork_is_refused);
    tcase_add_test(at, a_partners_declaration_arrives_as_signed);
    tcase_add_test(at, a_declaration_altered_after_signing_is_refused);
    tcase_add_test(at, a_partner_speaks_only_for_itself);
    tcase_add_test(at, the_first_fault_in_order_is_named);
    tcase_add_test(at, a_partner_cannot_send_site_types);
    tcase_add_test(at, a_later_version_keeps_its_type_and_none_follows_a_disposal);
    tcase_add_test(at, a_stored_nan_does_not_stop_sync);
    tcase_add_test(at, head_office_seals_are_checked_at_a_site);
    suite_add_tcase(s, at);
    TCase *ot = tcase_create("outbox");
    tcase_add_test(ot, a_batch_is_the_stored_entries_under_a_signed_checkpoint);
    tcase_add_test(ot, a_batch_is_limited_in_bytes);
    tcase_add_test(ot, a_batch_beyond_the_head_is_empty);
    tcase_add_test(ot, a_batch_ended_lets_a_write_proceed);
    tcase_add_test(ot, a_batch_holds_one_reader_until_ended);
    tcase_add_test(ot, a_batch_needs_the_stores_key);
    tcase_add_test(ot, the_outbox_signs_only_what_it_checked);
    tcase_add_test(ot, the_outbox_walks_a_long_commit_again);
    tcase_add_test(ot, last_contact_keeps_the_clock_offset);
    suite_add_tcase(s, ot);
    return tu_run_suite(s);
}

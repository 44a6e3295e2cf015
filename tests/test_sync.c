/* test_sync.c -- head office takes in a site's log: exactly once, the
 * same head on both sides, and every kind of bad batch refused with
 * nothing written. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "jsonpb.h"
#include "store.h"
#include "sync.h"
#include "verify.h"

struct pair {
    char *tmp;
    store_t *site, *hq;
};

static store_t *make(const char *dir, const char *owner, enum store_role role)
{
    store_t *s = NULL;
    ck_assert_msg(store_create(dir, owner, role, NULL) == 0, "%s", scsms_errmsg());
    ck_assert_int_eq(store_open(dir, NULL, &s), 0);
    return s;
}

/* Enrol the identity of store s (dir) in hq with role. */
static void enrol(store_t *hq, store_t *s, const char *dir, Scsms__Identity__Role role)
{
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    uint8_t sign[CRYPTO_PUB_LEN];
    ck_assert_int_eq(identity_curve_load(dir, pub, sec), 0);
    store_public_key(s, sign);
    Scsms__Identity id = SCSMS__IDENTITY__INIT;
    id.id = (char *)store_owner(s);
    id.role = role;
    id.curve_key = pub;
    id.sign_key.data = sign;
    id.sign_key.len = sizeof sign;
    id.enrolled_at = "2026-11-23T00:00:00Z";
    ck_assert_msg(store_identity_put(hq, &id) == 0, "%s", scsms_errmsg());
}

static struct pair pair_new(void)
{
    struct pair p;
    p.tmp = tu_tmpdir("sync");
    char *a = tu_path(p.tmp, "site"), *h = tu_path(p.tmp, "hq");
    p.site = make(a, "SITE-A", STORE_ROLE_SITE);
    p.hq = make(h, "HQ", STORE_ROLE_HQ);
    enrol(p.hq, p.site, a, SCSMS__IDENTITY__ROLE__SITE);
    free(a);
    free(h);
    return p;
}

static void pair_free(struct pair *p)
{
    struct verify_report rep;
    ck_assert_msg(verify_store(p->hq, &rep) == 0, "hq: %s", scsms_errmsg());
    store_close(&p->site);
    store_close(&p->hq);
    tu_rmdir(p->tmp);
    free(p->tmp);
}

static void add_incidents(store_t *s, int n)
{
    for (int i = 0; i < n; i++) {
        char json[256];
        struct json_object *o = NULL;
        Scsms__Record *r = NULL;
        snprintf(json, sizeof json, "{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":"
                 "\"2026-11-%02dT10:00:00Z\",\"location\":\"Gate %d\"}", 1 + i % 28, i);
        ck_assert_int_eq(jsonpb_parse(json, strlen(json), &o), 0);
        ck_assert_int_eq(jsonpb_to_record(o, NULL, &r), 0);
        json_object_put(o);
        ck_assert_msg(store_put(s, r, NULL) == 0, "%s", scsms_errmsg());
        record_free(r);
    }
}

/* A batch as the agent would send it: entries from..to and a checkpoint. */
struct batch {
    ProtobufCBinaryData *e;
    size_t n;
    uint8_t *cp;
    size_t cp_len;
};

static int collect(const uint8_t *bytes, size_t len, uint64_t seq, void *ctx)
{
    struct batch *b = ctx;
    (void)seq;
    b->e = realloc(b->e, (b->n + 1) * sizeof *b->e);
    b->e[b->n].data = malloc(len);
    memcpy(b->e[b->n].data, bytes, len);
    b->e[b->n].len = len;
    b->n++;
    return 0;
}

static struct batch batch_of(store_t *s, uint64_t from, uint64_t to)
{
    struct batch b = {0};
    ck_assert_int_eq(sync_read_log(s, store_owner(s), from, (size_t)(to - from + 1), collect, &b), 0);
    ck_assert_uint_eq(b.n, to - from + 1);
    ck_assert_msg(sync_checkpoint_at(s, to, &b.cp, &b.cp_len) == 0, "%s", scsms_errmsg());
    return b;
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->e[i].data);
    free(b->e);
    free(b->cp);
}

static int ingest(struct pair *p, const char *owner, struct batch *b, struct sync_result *res)
{
    return sync_ingest(p->hq, owner, b->e, b->n, b->cp, b->cp_len, NULL, res);
}

static void heads_equal(struct pair *p, uint64_t want)
{
    uint64_t a, h;
    uint8_t ha[CRYPTO_HASH_LEN], hh[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(p->site, "SITE-A", &a, ha), 0);
    ck_assert_int_eq(sync_head(p->hq, "SITE-A", &h, hh), 0);
    ck_assert_uint_eq(h, want);
    ck_assert_uint_eq(a, h);
    ck_assert_int_eq(memcmp(ha, hh, CRYPTO_HASH_LEN), 0);
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
    char *bdir = tu_path(p.tmp, "site-b");
    store_t *b = make(bdir, "SITE-B", STORE_ROLE_SITE);
    enrol(p.hq, b, bdir, SCSMS__IDENTITY__ROLE__SITE);
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
    store_t *x = make(xdir, "SITE-X", STORE_ROLE_SITE);
    add_incidents(x, 2);
    struct batch bx = batch_of(x, 1, 2);
    ck_assert_int_eq(sync_ingest(p.hq, "SITE-X", bx.e, bx.n, bx.cp, bx.cp_len, NULL, &res), SCSMS_EPERM);
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
    store_t *f = make(fdir, "SITE-F", STORE_ROLE_HQ);
    enrol(p.hq, f, fdir, SCSMS__IDENTITY__ROLE__SITE);
    struct json_object *o = NULL;
    Scsms__Record *r = NULL;
    const char *json = "{\"type\":\"policy\",\"title\":\"mine\",\"statement\":\"anything goes\"}";
    ck_assert_int_eq(jsonpb_parse(json, strlen(json), &o), 0);
    ck_assert_int_eq(jsonpb_to_record(o, NULL, &r), 0);
    json_object_put(o);
    ck_assert_int_eq(store_put(f, r, NULL), 0);
    record_free(r);
    struct batch b = batch_of(f, 1, 1);
    ck_assert_int_eq(ingest(&p, "SITE-F", &b, &res), SCSMS_EPERM);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "SITE-F may not issue policy records (rule 8)"));
    batch_free(&b);
    store_close(&f);
    free(fdir);
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

int main(void)
{
    Suite *s = suite_create("sync");
    TCase *t = tcase_create("ingest");
    tcase_add_test(t, batches_apply_once_and_heads_match);
    tcase_add_test(t, gap_says_where_to_resume);
    tcase_add_test(t, altered_entry_is_refused);
    tcase_add_test(t, another_sites_records_are_refused);
    tcase_add_test(t, unenrolled_and_revoked_are_refused);
    tcase_add_test(t, a_site_cannot_send_head_office_types);
    tcase_add_test(t, a_fork_is_refused);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

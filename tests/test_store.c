/* test_store.c -- the LMDB store: create/open, keys, writes and reads,
 * rules at write time, map growth, full disk, damaged files, backup and
 * restore. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isotime.h"
#include "jsonpb.h"
#include "store.h"
#include "verify.h"

static Scsms__Record *incident(unsigned i)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":"
             "\"2026-10-%02uT08:00:00Z\",\"location\":\"Gate %u\",\"severity\":%u}",
             1 + i % 28, i, 1 + i % 5);
    return tu_record(json);
}

static Scsms__Record *risk(const char *review)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"type\":\"risk\",\"threat_category\":\"natural_events\",\"threatened\":\"yard\","
             "\"likelihood\":3,\"consequence\":4,\"residual_likelihood\":2,"
             "\"residual_consequence\":2,\"treatment\":\"reduce\",\"next_review_date\":\"%s\"}",
             review);
    return tu_record(json);
}

static char *new_store(const char *tag, const char *owner, size_t map)
{
    char *dir = tu_tmpdir(tag);
    char *sd = tu_path(dir, "store");
    struct store_options o = {.map_size = map};
    ck_assert_msg(store_create(sd, owner, STORE_ROLE_SITE, &o) == 0, "%s", scsms_errmsg());
    free(dir);
    return sd;
}

static void drop_store(char *sd)
{
    char *parent = strdup(sd);
    *strrchr(parent, '/') = 0;
    tu_rmdir(parent);
    free(parent);
    free(sd);
}

static store_t *open_ok(const char *sd, size_t map)
{
    store_t *s = NULL;
    struct store_options o = {.map_size = map};
    ck_assert_msg(store_open(sd, &o, &s) == 0, "%s", scsms_errmsg());
    return s;
}

static void add_incidents(store_t *s, unsigned n, unsigned batch)
{
    for (unsigned done = 0; done < n;) {
        unsigned m = n - done < batch ? n - done : batch;
        Scsms__Record **r = calloc(m, sizeof *r);
        store_batch_t *b = NULL;
        ck_assert_int_eq(store_batch_new(s, &b), 0);
        for (unsigned i = 0; i < m; i++) {
            r[i] = incident(done + i);
            ck_assert_int_eq(store_batch_add(b, r[i]), 0);
        }
        ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
        store_batch_destroy(&b);
        for (unsigned i = 0; i < m; i++)
            record_free(r[i]);
        free(r);
        done += m;
    }
}

static uint64_t entries(store_t *s)
{
    struct store_stats st;
    ck_assert_int_eq(store_stats(s, &st), 0);
    return st.entries;
}

static void verify_ok(store_t *s, uint64_t want_entries)
{
    struct verify_report rep;
    ck_assert_msg(verify_store(s, &rep) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(rep.entries, want_entries);
}

static int count_cb(const Scsms__Record *r, void *ctx)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/* ------------------------------------------------------------ open */

START_TEST(create_then_open)
{
    char *sd = new_store("create", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    struct stat st;
    char *key = tu_path(sd, "keys/sign.key");
    ck_assert_str_eq(store_owner(s), "SITE-A");
    ck_assert_int_eq(store_role(s), STORE_ROLE_SITE);
    ck_assert_int_eq(stat(key, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(store_create(sd, "SITE-A", STORE_ROLE_SITE, NULL), SCSMS_EEXIST);
    store_close(&s);
    ck_assert_ptr_null(s);
    free(key);
    drop_store(sd);
}
END_TEST

START_TEST(bad_identity_refused)
{
    char *dir = tu_tmpdir("badid");
    char *sd = tu_path(dir, "store");
    ck_assert_int_eq(store_create(sd, "has space", STORE_ROLE_SITE, NULL), SCSMS_EINVAL);
    ck_assert_int_ne(access(sd, F_OK), 0); /* nothing left behind */
    free(sd);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* An identity with a CURVE key of 40 copies of c and a signing key of
 * 32 bytes of b. */
static Scsms__Identity identity_of(const char *id, char *curve, char c, uint8_t *sign, uint8_t b)
{
    Scsms__Identity i = SCSMS__IDENTITY__INIT;
    memset(curve, c, 40);
    curve[40] = '\0';
    memset(sign, b, 32);
    i.id = (char *)id;
    i.role = SCSMS__IDENTITY__ROLE__SITE;
    i.curve_key = curve;
    i.sign_key.data = sign;
    i.sign_key.len = 32;
    return i;
}

/* Enrolment adds, never replaces: an id enrolled already, revoked or not,
 * and a CURVE key another id holds are refused, the table unchanged. */
START_TEST(enrol_never_replaces_an_identity)
{
    char *sd = new_store("enrol", "HQ", 0);
    store_t *s = open_ok(sd, 0);
    char k1[41], k2[41];
    uint8_t s1[32], s2[32];
    Scsms__Identity a = identity_of("WH-1", k1, 'a', s1, 1), *got = NULL;
    ck_assert_msg(store_identity_enrol(s, &a) == 0, "%s", scsms_errmsg());
    a.revoked = 1;
    ck_assert_int_eq(store_identity_put(s, &a), 0); /* revoke writes over, as it must */
    Scsms__Identity again = identity_of("WH-1", k2, 'b', s2, 2);
    ck_assert_int_eq(store_identity_enrol(s, &again), SCSMS_EEXIST);
    ck_assert_str_eq(scsms_errmsg(), "'WH-1' is enrolled already: an identity is enrolled once, "
                                     "and a revoked one stays revoked");
    Scsms__Identity same_key = identity_of("WH-2", k1, 'a', s2, 2);
    ck_assert_int_eq(store_identity_enrol(s, &same_key), SCSMS_EEXIST);
    ck_assert_str_eq(scsms_errmsg(), "CURVE key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is "
                                     "enrolled already, as 'WH-1': each identity connects with "
                                     "its own key");
    ck_assert_int_eq(store_identity_get(s, "WH-2", &got), SCSMS_ENOTFOUND);
    ck_assert_int_eq(store_identity_get(s, "WH-1", &got), 0);
    ck_assert_int_eq(got->revoked, 1);
    ck_assert_str_eq(got->curve_key, k1);
    ck_assert_int_eq(memcmp(got->sign_key.data, s1, 32), 0);
    scsms__identity__free_unpacked(got, NULL);
    Scsms__Identity b = identity_of("WH-2", k2, 'b', s2, 2);
    ck_assert_msg(store_identity_enrol(s, &b) == 0, "%s", scsms_errmsg());
    store_close(&s);
    drop_store(sd);
}
END_TEST

START_TEST(missing_store_refused)
{
    store_t *s = NULL;
    ck_assert_int_eq(store_open("/nonexistent/scsms", NULL, &s), SCSMS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "run init"));
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(wrong_key_refused)
{
    char *a = new_store("keya", "SITE-A", 0), *b = new_store("keyb", "SITE-B", 0);
    char *bkey = tu_path(b, "keys/sign.key");
    struct store_options o = {.key_path = bkey};
    store_t *s = NULL;
    ck_assert_int_eq(store_open(a, &o, &s), SCSMS_EKEY);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "not the signing key"));
    ck_assert_ptr_null(s);
    free(bkey);
    drop_store(a);
    drop_store(b);
}
END_TEST

/* An author is one line of text: a name written into every record. */
START_TEST(author_is_one_line_of_text)
{
    char *sd = new_store("author", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    ck_assert_int_eq(store_set_author(s, "J. \xc3\x96" "de"), 0);
    static const char *const bad[] = {"", "a\nb", "a\tb", "a\x1b[2Jb", "a\xc0\xaf" "b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(store_set_author(s, bad[i]) == SCSMS_EINVAL, "'%s' taken", bad[i]);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "UTF-8"));
    /* the last good one stands */
    Scsms__Record *r = incident(1);
    char id[RECORD_MAX_ID + 1];
    ck_assert_int_eq(store_put(s, r, id), 0);
    record_free(r);
    ck_assert_int_eq(store_get(s, id, 0, &r), 0);
    ck_assert_str_eq(r->author, "J. \xc3\x96" "de");
    record_free(r);
    store_close(&s);
    drop_store(sd);
}
END_TEST

/* ------------------------------------------------------------ writes/reads */

START_TEST(put_get_update_history)
{
    char *sd = new_store("rw", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    char id[RECORD_MAX_ID + 1];
    Scsms__Record *r = incident(1), *got = NULL;
    ck_assert_int_eq(store_put(s, r, id), 0);
    ck_assert_str_eq(id, "SITE-A-INC-000001");
    ck_assert_int_eq(store_get(s, id, 0, &got), 0);
    ck_assert_str_eq(got->owner, "SITE-A");
    ck_assert_uint_eq(got->version, 1);
    ck_assert_str_eq(got->status, "open");
    ck_assert_str_eq(got->incident->location, "Gate 1");
    /* update: the next version, created_at kept */
    ck_assert_int_eq(record_set_string(&got->status, "closed"), 0);
    ck_assert_int_eq(store_put(s, got, NULL), 0);
    Scsms__Record *v2 = NULL, *v1 = NULL;
    ck_assert_int_eq(store_get(s, id, 0, &v2), 0);
    ck_assert_uint_eq(v2->version, 2);
    ck_assert_str_eq(v2->status, "closed");
    ck_assert_str_eq(v2->created_at, got->created_at);
    ck_assert_int_eq(store_get(s, id, 1, &v1), 0);
    ck_assert_str_eq(v1->status, "open");
    /* an update that changes nothing is no version: refused, whoever
     * calls (the agent's update, the server's exempt) */
    ck_assert_int_eq(store_put(s, v2, NULL), SCSMS_EINVAL);
    ck_assert_str_eq(scsms_errmsg(), "nothing changes: 'SITE-A-INC-000001' holds these values "
                                     "already");
    Scsms__Record *none = NULL;
    ck_assert_int_eq(store_get(s, id, 3, &none), SCSMS_ENOTFOUND);
    ck_assert_int_eq(store_get(s, "SITE-A-INC-999999", 0, &none), SCSMS_ENOTFOUND);
    int n = 0;
    ck_assert_int_eq(store_history(s, id, count_cb, &n), 0);
    ck_assert_int_eq(n, 2);
    verify_ok(s, 2);
    record_free(r);
    record_free(got);
    record_free(v1);
    record_free(v2);
    store_close(&s);
    drop_store(sd);
}
END_TEST

START_TEST(update_cannot_change_type)
{
    char *sd = new_store("type", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    char id[RECORD_MAX_ID + 1];
    Scsms__Record *r = incident(1), *k = risk("2027-01-01");
    ck_assert_int_eq(store_put(s, r, id), 0);
    ck_assert_int_eq(record_set_string(&k->id, id), 0);
    ck_assert_int_eq(store_put(s, k, NULL), SCSMS_EINVAL);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "cannot make it a risk"));
    ck_assert_uint_eq(entries(s), 1);
    ck_assert_int_eq(record_set_string(&k->id, "SITE-A-RSK-424242"), 0);
    ck_assert_int_eq(store_put(s, k, NULL), SCSMS_ENOTFOUND);
    ck_assert_uint_eq(entries(s), 1);
    verify_ok(s, 1);
    record_free(r);
    record_free(k);
    store_close(&s);
    drop_store(sd);
}
END_TEST

START_TEST(list_by_type_and_status)
{
    char *sd = new_store("list", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 3, 3);
    Scsms__Record *r1 = risk("2027-01-01"), *r2 = risk("2027-02-01"), *c = NULL;
    ck_assert_int_eq(store_put(s, r1, NULL), 0);
    ck_assert_int_eq(store_put(s, r2, NULL), 0);
    ck_assert_int_eq(store_get(s, "SITE-A-INC-000002", 0, &c), 0);
    ck_assert_int_eq(record_set_string(&c->status, "closed"), 0);
    ck_assert_int_eq(store_put(s, c, NULL), 0);
    int all = 0, inc = 0, closed = 0, open = 0, risks = 0;
    struct store_filter fi = {"incident", NULL}, fc = {"incident", "closed"},
                        fo = {"incident", "open"}, fr = {"risk", NULL};
    ck_assert_int_eq(store_list(s, NULL, count_cb, &all), 0);
    ck_assert_int_eq(store_list(s, &fi, count_cb, &inc), 0);
    ck_assert_int_eq(store_list(s, &fc, count_cb, &closed), 0);
    ck_assert_int_eq(store_list(s, &fo, count_cb, &open), 0);
    ck_assert_int_eq(store_list(s, &fr, count_cb, &risks), 0);
    ck_assert_int_eq(all, 5);
    ck_assert_int_eq(inc, 3);
    ck_assert_int_eq(closed, 1);
    ck_assert_int_eq(open, 2);
    ck_assert_int_eq(risks, 2);
    struct store_filter bad = {"nonsense", NULL};
    ck_assert_int_eq(store_list(s, &bad, count_cb, &all), SCSMS_EINVAL);
    record_free(r1);
    record_free(r2);
    record_free(c);
    store_close(&s);
    drop_store(sd);
}
END_TEST

struct due_seen {
    int n;
    char dates[8][16];
};

static int due_cb(const Scsms__Record *r, void *ctx)
{
    struct due_seen *d = ctx;
    if (d->n < 8)
        snprintf(d->dates[d->n], sizeof d->dates[0], "%s", r->risk->next_review_date);
    d->n++;
    return 0;
}

START_TEST(due_index_follows_updates)
{
    char *sd = new_store("due", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    Scsms__Record *a = risk("2026-03-01"), *b = risk("2026-01-10"), *c = risk("2027-01-01");
    char ida[RECORD_MAX_ID + 1];
    ck_assert_int_eq(store_put(s, a, ida), 0);
    ck_assert_int_eq(store_put(s, b, NULL), 0);
    ck_assert_int_eq(store_put(s, c, NULL), 0);
    int64_t until;
    ck_assert_int_eq(isotime_parse_date("2026-06-30", &until), 0);
    struct due_seen d = {0};
    ck_assert_int_eq(store_due(s, until, due_cb, &d), 0);
    ck_assert_int_eq(d.n, 2);
    ck_assert_str_eq(d.dates[0], "2026-01-10"); /* soonest first */
    ck_assert_str_eq(d.dates[1], "2026-03-01");
    /* reviewing risk a moves it out of the window */
    Scsms__Record *cur = NULL;
    ck_assert_int_eq(store_get(s, ida, 0, &cur), 0);
    ck_assert_int_eq(record_set_string(&cur->risk->next_review_date, "2026-12-01"), 0);
    ck_assert_int_eq(store_put(s, cur, NULL), 0);
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(store_due(s, until, due_cb, &d), 0);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(d.dates[0], "2026-01-10");
    verify_ok(s, 4);
    record_free(a);
    record_free(b);
    record_free(c);
    record_free(cur);
    store_close(&s);
    drop_store(sd);
}
END_TEST

START_TEST(batch_is_all_or_nothing)
{
    char *sd = new_store("batch", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 2, 2);
    /* large enough to be prepared on two threads */
    enum { N = 600 };
    Scsms__Record *r[N];
    store_batch_t *b = NULL;
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    for (int i = 0; i < N; i++) {
        r[i] = incident((unsigned)i);
        if (i == 417)
            r[i]->incident->severity = 9;
        ck_assert_int_eq(store_batch_add(b, r[i]), 0);
    }
    ck_assert_int_eq(store_batch_commit(b), SCSMS_EINVAL);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "record 418 of 600"));
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "severity"));
    ck_assert_uint_eq(entries(s), 2);
    /* fixed, the same batch commits whole */
    r[417]->incident->severity = 3;
    ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
    ck_assert_str_eq(store_batch_id(b, 0), "SITE-A-INC-000003");
    ck_assert_str_eq(store_batch_id(b, N - 1), "SITE-A-INC-000602");
    ck_assert_uint_eq(entries(s), 2 + N);
    verify_ok(s, 2 + N);
    store_batch_destroy(&b);
    for (int i = 0; i < N; i++)
        record_free(r[i]);

    /* a record of no type is queued (the preparers check it) and refused
     * at the commit, naming it; nothing of the batch is written */
    Scsms__Record *typed = incident(1), *none = malloc(sizeof *none);
    scsms__record__init(none);
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    ck_assert_int_eq(store_batch_add(b, typed), 0);
    ck_assert_int_eq(store_batch_add(b, none), 0);
    ck_assert_int_eq(store_batch_commit(b), SCSMS_EINVAL);
    ck_assert_msg(strncmp(scsms_errmsg(), "record 2 of 2: record has no type: use one of ", 46) == 0,
                  "%s", scsms_errmsg());
    ck_assert_uint_eq(entries(s), 2 + N);
    verify_ok(s, 2 + N);
    store_batch_destroy(&b);
    record_free(typed);
    record_free(none);
    store_close(&s);
    drop_store(sd);
}
END_TEST

static Scsms__Record *action_from(const char *rel, const char *target)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"fix\","
             "\"responsible\":\"ops\",\"due_date\":\"2027-01-31\",\"links\":[{\"rel\":\"%s\","
             "\"target\":\"%s\"}]}", rel, target);
    return tu_record(json);
}

/* A batch far larger than the preparers' lead, so their entry chunks are
 * reused, with an update and a record whose rule raises two more in the
 * middle: entries built ahead for positions that the raised records then
 * take must be rebuilt, and every record must land whole at its place. */
START_TEST(large_batch_with_update_and_raise)
{
    char *sd = new_store("bigmix", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 1, 1); /* SITE-A-INC-000001, updated below */
    enum { N = 6000, UPDATE_AT = 1500, RAISE_AT = 3000 };
    Scsms__Record **r = calloc(N, sizeof *r);
    store_batch_t *b = NULL;
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    for (unsigned i = 0; i < N; i++) {
        if (i == UPDATE_AT) {
            r[i] = incident(7777);
            ck_assert_int_eq(record_set_string(&r[i]->id, "SITE-A-INC-000001"), 0);
        } else if (i == RAISE_AT) {
            r[i] = tu_record("{\"type\":\"inspection\",\"area\":\"Dock 2\",\"inspector\":"
                            "\"A. Chen\",\"inspected_date\":\"2026-11-22\",\"items\":[{"
                            "\"question\":\"Seals?\",\"answer\":\"nonconform\"},{"
                            "\"question\":\"Fence?\",\"answer\":\"nonconform\"}]}");
        } else {
            r[i] = incident(i);
        }
        ck_assert_int_eq(store_batch_add(b, r[i]), 0);
    }
    ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
    /* new records number by log position: 1 + i before the two raised
     * nonconformities, 3 + i after them */
    ck_assert_str_eq(store_batch_id(b, 0), "SITE-A-INC-000002");
    ck_assert_str_eq(store_batch_id(b, UPDATE_AT), "SITE-A-INC-000001");
    ck_assert_str_eq(store_batch_id(b, RAISE_AT), "SITE-A-INS-003002");
    ck_assert_str_eq(store_batch_id(b, RAISE_AT + 1), "SITE-A-INC-003005");
    ck_assert_str_eq(store_batch_id(b, N - 1), "SITE-A-INC-006003");
    size_t n_raised = 0;
    store_batch_raised(b, &n_raised);
    ck_assert_uint_eq(n_raised, 2);
    ck_assert_uint_eq(entries(s), 1 + N + 2);
    verify_ok(s, 1 + N + 2);
    /* each record read back is the one queued at its place */
    const unsigned probe[] = {0, 2047, 2048, UPDATE_AT + 1, RAISE_AT - 1, RAISE_AT + 1, N - 1};
    for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
        Scsms__Record *got = NULL;
        char want[32];
        snprintf(want, sizeof want, "Gate %u", probe[k]);
        ck_assert_int_eq(store_get(s, store_batch_id(b, probe[k]), 0, &got), 0);
        ck_assert_str_eq(got->incident->location, want);
        ck_assert_uint_eq(got->version, 1);
        record_free(got);
    }
    Scsms__Record *got = NULL;
    ck_assert_int_eq(store_get(s, "SITE-A-INC-000001", 0, &got), 0);
    ck_assert_str_eq(got->incident->location, "Gate 7777");
    ck_assert_uint_eq(got->version, 2);
    record_free(got);
    store_batch_destroy(&b);
    for (unsigned i = 0; i < N; i++)
        record_free(r[i]);
    free(r);
    store_close(&s);
    drop_store(sd);
}
END_TEST

/* "@N" names the N-th record of the same batch, whichever thread prepares
 * it; anything else is refused with nothing written. */
START_TEST(batch_records_link_to_each_other)
{
    char *sd = new_store("blink", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    store_batch_t *b = NULL;
    Scsms__Record *small[2] = {risk("2027-03-01"), action_from("risk_review", "@0")};
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(store_batch_add(b, small[i]), 0);
    ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
    Scsms__Record *got = NULL;
    ck_assert_int_eq(store_get(s, store_batch_id(b, 1), 0, &got), 0);
    ck_assert_str_eq(got->links[0]->target, store_batch_id(b, 0));
    ck_assert_str_eq(got->links[0]->target, "SITE-A-RSK-000001");
    record_free(got);
    store_batch_destroy(&b);

    enum { N = 600 };
    Scsms__Record *r[N];
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    for (int i = 0; i < N; i++) {
        r[i] = i == N - 1 ? action_from("source", "@10") : incident((unsigned)i);
        ck_assert_int_eq(store_batch_add(b, r[i]), 0);
    }
    ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
    ck_assert_int_eq(store_get(s, store_batch_id(b, N - 1), 0, &got), 0);
    ck_assert_str_eq(got->links[0]->target, store_batch_id(b, 10));
    record_free(got);
    store_batch_destroy(&b);
    for (int i = 0; i < N; i++)
        record_free(r[i]);

    /* a later or missing position: refused, nothing written */
    const char *bad[] = {"@1", "@9", "@", "@0x"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        Scsms__Record *two[2] = {incident(1), action_from("source", bad[k])};
        ck_assert_int_eq(store_batch_new(s, &b), 0);
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(store_batch_add(b, two[i]), 0);
        ck_assert_int_eq(store_batch_commit(b), SCSMS_EINVAL);
        ck_assert_msg(strstr(scsms_errmsg(), "names no earlier record of the batch"), "%s",
                      scsms_errmsg());
        store_batch_destroy(&b);
        record_free(two[0]);
        record_free(two[1]);
    }
    ck_assert_uint_eq(entries(s), 2 + N);
    verify_ok(s, 2 + N);
    record_free(small[0]);
    record_free(small[1]);
    store_close(&s);
    drop_store(sd);
}
END_TEST

struct by_status_count {
    int incidents, risks, closed;
};

static int tally(const Scsms__Record *r, void *ctx)
{
    struct by_status_count *t = ctx;
    if (r->body_case == SCSMS__RECORD__BODY_INCIDENT)
        t->incidents++;
    else if (r->body_case == SCSMS__RECORD__BODY_RISK)
        t->risks++;
    if (strcmp(r->status, "closed") == 0)
        t->closed++;
    return 0;
}

/* Types taking turns: an incident's index keys sort before the risks'
 * already there (ids "-INC-" < "-RSK-", "incident/" < "risk/") and the
 * risks' review dates go back and forth, so most index puts are not at a
 * table's end; a batch refused part way is then checked record by record
 * in nested transactions, all given up. Every index must still hold each
 * record exactly once. */
START_TEST(interleaved_types_keep_every_index)
{
    char *sd = new_store("interleave", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    enum { N = 400, ROUNDS = 2 };
    Scsms__Record *r[N];
    store_batch_t *b = NULL;
    char review[16];
    for (int round = 0; round < ROUNDS; round++) {
        ck_assert_int_eq(store_batch_new(s, &b), 0);
        for (int i = 0; i < N; i++) {
            snprintf(review, sizeof review, "2027-%02d-%02d", 1 + (i * 7) % 12, 1 + i % 28);
            r[i] = i % 2 ? risk(review) : incident((unsigned)i);
            ck_assert_int_eq(store_batch_add(b, r[i]), 0);
        }
        ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
        store_batch_destroy(&b);
        for (int i = 0; i < N; i++)
            record_free(r[i]);
    }
    /* closing some of the first incidents moves their status keys */
    for (unsigned k = 1; k <= 9; k += 2) {
        char id[RECORD_MAX_ID + 1];
        Scsms__Record *c = NULL;
        snprintf(id, sizeof id, "SITE-A-INC-%06u", k);
        ck_assert_int_eq(store_get(s, id, 0, &c), 0);
        ck_assert_int_eq(record_set_string(&c->status, "closed"), 0);
        ck_assert_msg(store_put(s, c, NULL) == 0, "%s", scsms_errmsg());
        record_free(c);
    }
    /* a record in the middle refused at the store (its link names
     * nothing): every record is then put in a nested transaction of its
     * own, that one given up, and the whole batch after them; the others
     * are refused for nothing */
    enum { BAD = N / 2 + 1 };
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    for (int i = 0; i < N; i++) {
        r[i] = i == BAD ? action_from("source", "SITE-A-INC-999999")
               : i % 2  ? risk("2027-05-05")
                        : incident((unsigned)i);
        ck_assert_int_eq(store_batch_add(b, r[i]), 0);
    }
    ck_assert_int_eq(store_batch_commit(b), SCSMS_ERULE);
    size_t n_err = 0;
    const struct store_batch_error *err = store_batch_errors(b, &n_err);
    ck_assert_uint_eq(n_err, 1);
    ck_assert_uint_eq(err[0].index, BAD);
    ck_assert_msg(strstr(err[0].message, "names 'SITE-A-INC-999999', which is not in this store"),
                  "%s", err[0].message);
    store_batch_destroy(&b);
    for (int i = 0; i < N; i++)
        record_free(r[i]);
    const uint64_t written = ROUNDS * N + 5;
    ck_assert_uint_eq(entries(s), written);
    verify_ok(s, written);
    struct by_status_count all = {0}, open = {0};
    struct store_filter fo = {"incident", "open"};
    ck_assert_int_eq(store_list(s, NULL, tally, &all), 0);
    ck_assert_int_eq(store_list(s, &fo, tally, &open), 0);
    ck_assert_int_eq(all.incidents, ROUNDS * N / 2);
    ck_assert_int_eq(all.risks, ROUNDS * N / 2);
    ck_assert_int_eq(all.closed, 5);
    ck_assert_int_eq(open.incidents, ROUNDS * N / 2 - 5);
    int64_t until;
    struct due_seen d = {0};
    ck_assert_int_eq(isotime_parse_date("2027-12-31", &until), 0);
    ck_assert_int_eq(store_due(s, until, due_cb, &d), 0);
    ck_assert_int_eq(d.n, ROUNDS * N / 2);
    store_close(&s);
    drop_store(sd);
}
END_TEST

/* A restored record whose id is taken is refused, whether its id is the
 * last in the store's tables or one before it, and nothing is written. */
START_TEST(restoring_a_taken_id_is_refused)
{
    char *sd = new_store("taken", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 3, 3);
    const char *ids[] = {"SITE-A-INC-000003", "SITE-A-INC-000001"};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        Scsms__Record *got = NULL;
        store_batch_t *b = NULL;
        char want[96];
        ck_assert_int_eq(store_get(s, ids[k], 0, &got), 0);
        ck_assert_int_eq(store_batch_new(s, &b), 0);
        ck_assert_int_eq(store_batch_add_preserved(b, got), 0);
        ck_assert_int_eq(store_batch_commit(b), SCSMS_EEXIST);
        snprintf(want, sizeof want, "record '%s' already exists", ids[k]);
        ck_assert_msg(strstr(scsms_errmsg(), want), "%s", scsms_errmsg());
        store_batch_destroy(&b);
        record_free(got);
    }
    /* an id must be one of the record's type: an incident restored as
     * "...-TRN-..." would list as a training record's id */
    Scsms__Record *got = NULL;
    store_batch_t *b = NULL;
    ck_assert_int_eq(store_get(s, "SITE-A-INC-000002", 0, &got), 0);
    ck_assert_int_eq(record_set_string(&got->id, "SITE-A-TRN-000009"), 0);
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    ck_assert_int_eq(store_batch_add_preserved(b, got), 0);
    ck_assert_int_eq(store_batch_commit(b), SCSMS_EINVAL);
    ck_assert_msg(strstr(scsms_errmsg(), "record id 'SITE-A-TRN-000009' is not an id of type "
                                         "incident (SITE-A-INC-NNNNNN)"),
                  "%s", scsms_errmsg());
    store_batch_destroy(&b);
    record_free(got);
    ck_assert_uint_eq(entries(s), 3);
    verify_ok(s, 3);
    store_close(&s);
    drop_store(sd);
}
END_TEST

/* A restore takes back what an export holds as it was, though it breaks
 * a rule made since it was first written (text with a control
 * character): a new record with the same text is refused. */
START_TEST(restoring_keeps_what_older_rules_let_through)
{
    char *sd = new_store("older", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 1, 1);
    Scsms__Record *got = NULL;
    store_batch_t *b = NULL;
    char id[RECORD_MAX_ID + 1];
    ck_assert_int_eq(store_get(s, "SITE-A-INC-000001", 0, &got), 0);
    ck_assert_int_eq(record_set_string(&got->incident->location, "form\ffeed"), 0);
    ck_assert_int_eq(record_set_string(&got->id, "SITE-A-INC-000007"), 0);
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    ck_assert_int_eq(store_batch_add_preserved(b, got), 0);
    ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
    store_batch_destroy(&b);
    ck_assert_int_eq(record_set_string(&got->id, ""), 0);
    got->version = 0;
    ck_assert_int_eq(store_put(s, got, id), SCSMS_EINVAL);
    ck_assert_msg(strstr(scsms_errmsg(), "has a control character (0x0c)"), "%s", scsms_errmsg());
    record_free(got);
    ck_assert_uint_eq(entries(s), 2);
    verify_ok(s, 2);
    store_close(&s);
    drop_store(sd);
}
END_TEST

START_TEST(site_cannot_issue_policy)
{
    char *sd = new_store("rule8", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    Scsms__Record *p = tu_record("{\"type\":\"policy\",\"title\":\"Security policy\","
                                "\"statement\":\"We protect the supply chain\"}");
    ck_assert_int_eq(store_put(s, p, NULL), SCSMS_EPERM);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "rule 8"));
    ck_assert_uint_eq(entries(s), 0);
    record_free(p);
    store_close(&s);
    drop_store(sd);
}
END_TEST

/* ------------------------------------------------------------ growth, damage */

START_TEST(full_map_grows_and_loses_nothing)
{
    const size_t small = 1u << 20;
    char *sd = new_store("grow", "SITE-A", small);
    store_t *s = open_ok(sd, small);
    add_incidents(s, 12000, 1000); /* about 6 MiB with indices */
    struct store_stats st;
    ck_assert_int_eq(store_stats(s, &st), 0);
    ck_assert_uint_eq(st.entries, 12000);
    ck_assert_uint_eq(st.records, 12000);
    ck_assert_uint_gt(st.map_size, small);
    verify_ok(s, 12000);
    store_close(&s);
    /* reopened with the small default, the grown file is still whole */
    s = open_ok(sd, small);
    verify_ok(s, 12000);
    store_close(&s);
    drop_store(sd);
}
END_TEST

/* A full disk, simulated with a file-size limit in a child process: the
 * write fails with a clear error and the committed records survive. */
START_TEST(full_disk_is_clear_error)
{
    char *sd = new_store("full", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 100, 100);
    store_close(&s);
    char *data = tu_path(sd, "data.mdb");
    struct stat st;
    ck_assert_int_eq(stat(data, &st), 0);
    /* built before the fork: the child must not call Check's asserts */
    Scsms__Record **r = calloc(5000, sizeof *r);
    for (int i = 0; i < 5000; i++)
        r[i] = incident((unsigned)i);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit lim = {(rlim_t)st.st_size + 64 * 1024, (rlim_t)st.st_size + 64 * 1024};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &lim);
        store_t *c = NULL;
        if (store_open(sd, NULL, &c) != 0)
            _exit(10);
        store_batch_t *b = NULL;
        if (store_batch_new(c, &b) != 0)
            _exit(11);
        for (int i = 0; i < 5000; i++)
            if (store_batch_add(b, r[i]) != 0)
                _exit(12);
        int rc = store_batch_commit(b);
        int ok = rc == SCSMS_ENOSPC && strstr(scsms_errmsg(), "disk full") != NULL;
        if (!ok)
            fprintf(stderr, "child: rc %d: %s\n", rc, scsms_errmsg());
        _exit(ok ? 0 : 20);
    }
    for (int i = 0; i < 5000; i++)
        record_free(r[i]);
    free(r);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    s = open_ok(sd, 0);
    ck_assert_uint_eq(entries(s), 100);
    verify_ok(s, 100);
    store_close(&s);
    free(data);
    drop_store(sd);
}
END_TEST

/* Fill a real 3 MiB filesystem in a child; report through a pipe how many
 * records were committed and whether the last error said "disk full". */
static void fill_disk(const char *sd, size_t map, int fd)
{
    struct store_options o = {.map_size = map};
    store_t *s = NULL;
    long committed = 0;
    int rc = store_create(sd, "SITE-F", STORE_ROLE_SITE, &o);
    if (rc == 0)
        rc = store_open(sd, &o, &s);
    Scsms__Record *r[200];
    for (int i = 0; i < 200; i++)
        r[i] = NULL;
    while (rc == 0) {
        store_batch_t *b = NULL;
        rc = store_batch_new(s, &b);
        for (int i = 0; rc == 0 && i < 200; i++) {
            record_free(r[i]);
            char json[256];
            struct json_object *j = NULL;
            snprintf(json, sizeof json, "{\"type\":\"incident\",\"kind\":\"breach\","
                     "\"occurred_at\":\"2026-01-01T00:00:00Z\",\"location\":\"L%ld\"}",
                     committed + i);
            r[i] = NULL;
            if (jsonpb_parse(json, strlen(json), &j) || jsonpb_to_record(j, NULL, &r[i]))
                _exit(30);
            json_object_put(j);
            rc = store_batch_add(b, r[i]);
        }
        if (rc == 0 && (rc = store_batch_commit(b)) == 0)
            committed += 200;
        store_batch_destroy(&b);
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%ld %d %s", committed, rc, scsms_errmsg());
    if (write(fd, msg, strlen(msg) + 1) < 0)
        _exit(31);
    _exit(0);
}

START_TEST(real_full_disk_on_tmpfs)
{
    if (geteuid() != 0) {
        fprintf(stderr, "real_full_disk_on_tmpfs: not root, cannot mount a small tmpfs; "
                        "full_disk_is_clear_error covers the write failure\n");
        return;
    }
    const size_t maps[] = {0, 1u << 20}; /* write fails / growth refused */
    for (int m = 0; m < 2; m++) {
        char *mnt = tu_tmpdir("tmpfs");
        ck_assert_msg(mount("tmpfs", mnt, "tmpfs", 0, "size=3m") == 0, "mount: %s",
                      strerror(errno));
        char *sd = tu_path(mnt, "store");
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(p[0]);
            fill_disk(sd, maps[m], p[1]);
        }
        close(p[1]);
        char msg[600] = {0};
        ck_assert_int_gt(read(p[0], msg, sizeof msg - 1), 0);
        close(p[0]);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        long committed = 0;
        int rc = 0;
        ck_assert_int_eq(sscanf(msg, "%ld %d", &committed, &rc), 2);
        ck_assert_msg(rc == SCSMS_ENOSPC && strstr(msg, "disk full"), "map %zu: %s", maps[m], msg);
        ck_assert_int_gt(committed, 0);
        store_t *s = open_ok(sd, 0);
        ck_assert_uint_eq(entries(s), (uint64_t)committed);
        verify_ok(s, (uint64_t)committed);
        store_close(&s);
        ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
        free(sd);
        tu_rmdir(mnt);
        free(mnt);
    }
}
END_TEST

START_TEST(truncated_file_refused)
{
    char *sd = new_store("trunc", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 3000, 1000);
    store_close(&s);
    char *data = tu_path(sd, "data.mdb");
    struct stat st;
    ck_assert_int_eq(stat(data, &st), 0);
    ck_assert_int_eq(truncate(data, st.st_size / 2), 0);
    ck_assert_int_eq(store_open(sd, NULL, &s), SCSMS_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "truncated"));
    ck_assert_int_eq(truncate(data, 0), 0);
    ck_assert_int_eq(store_open(sd, NULL, &s), SCSMS_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "empty"));
    free(data);
    drop_store(sd);
}
END_TEST

START_TEST(garbage_header_refused)
{
    char *sd = new_store("garbage", "SITE-A", 0);
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 50, 50);
    store_close(&s);
    char *data = tu_path(sd, "data.mdb");
    int fd = open(data, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    char junk[8192];
    memset(junk, 0x5a, sizeof junk);
    ck_assert_int_eq(pwrite(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
    close(fd);
    ck_assert_int_eq(store_open(sd, NULL, &s), SCSMS_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "damaged"));
    free(data);
    drop_store(sd);
}
END_TEST

/* ------------------------------------------------------------ backup */

static void dump_ids(store_t *s, char *out, size_t cap);

static int append_id(const Scsms__Record *r, void *ctx)
{
    char *buf = ctx;
    size_t n = strlen(buf);
    snprintf(buf + n, 65536 - n, "%s/%u/%s\n", r->id, r->version, r->status);
    return 0;
}

static void dump_ids(store_t *s, char *out, size_t cap)
{
    memset(out, 0, cap);
    ck_assert_int_eq(store_list(s, NULL, append_id, out), 0);
}

/* The store in dir is locked against every other process (restore asks
 * what head office acknowledged only then: a sync landing between could
 * leave sync.state ahead of the store restored). */
static void assert_locked(const char *dir)
{
    char *p = tu_path(dir, "scsms.lock");
    int fd = open(p, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_SH | LOCK_NB), -1);
    ck_assert_int_eq(errno, EWOULDBLOCK);
    close(fd);
    free(p);
}

/* What head office acknowledged, as sync.state would say (restore_reach). */
static uint64_t acked_501(const char *dir)
{
    assert_locked(dir);
    return 501;
}

static uint64_t acked_500(const char *dir)
{
    assert_locked(dir);
    return 500;
}

START_TEST(backup_then_restore)
{
    static char before[65536], after[65536];
    char *sd = new_store("backup", "SITE-A", 0);
    char *bk = tu_path(sd, "../backup");
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 500, 100);
    dump_ids(s, before, sizeof before);
    ck_assert_msg(store_backup(s, bk) == 0, "%s", scsms_errmsg());
    ck_assert_int_eq(store_backup(s, bk), SCSMS_EEXIST);
    add_incidents(s, 10, 10); /* written after the backup */
    store_close(&s);
    /* the backup ends before the store: refused, nothing dropped unasked */
    ck_assert_int_eq(store_restore(sd, bk, NULL), SCSMS_ERULE);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "ends at entry 500, but the store holds entries "
                                                 "up to 510: restoring it would drop entries 501 "
                                                 "to 510; nothing was replaced"));
    /* nor before what head office acknowledged, whatever the store holds */
    struct store_options o = {.restore_reach = acked_501};
    ck_assert_int_eq(store_restore(sd, bk, &o), SCSMS_ERULE);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "head office has acknowledged entries up to 501"));
    s = open_ok(sd, 0);
    verify_ok(s, 510);
    store_close(&s);
    /* given up knowingly, the backup restores; never past the acknowledged */
    o.restore_drop_newer = 1;
    ck_assert_int_eq(store_restore(sd, bk, &o), SCSMS_ERULE);
    o.restore_reach = acked_500;
    ck_assert_msg(store_restore(sd, bk, &o) == 0, "%s", scsms_errmsg());
    s = open_ok(sd, 0);
    dump_ids(s, after, sizeof after);
    ck_assert_str_eq(before, after);
    verify_ok(s, 500);
    /* and the restored store takes new records on the same chain */
    add_incidents(s, 5, 5);
    verify_ok(s, 505);
    store_close(&s);
    free(bk);
    drop_store(sd);
}
END_TEST

START_TEST(restore_refuses_while_in_use)
{
    char *sd = new_store("busy", "SITE-A", 0);
    char *bk = tu_path(sd, "../backup");
    store_t *s = open_ok(sd, 0);
    add_incidents(s, 20, 20);
    ck_assert_int_eq(store_backup(s, bk), 0);
    ck_assert_int_eq(store_restore(sd, bk, NULL), SCSMS_EBUSY);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "in use"));
    store_close(&s);
    free(bk);
    drop_store(sd);
}
END_TEST

START_TEST(restore_refuses_other_sites_backup)
{
    char *a = new_store("resta", "SITE-A", 0), *b = new_store("restb", "SITE-B", 0);
    char *bk = tu_path(b, "../backup");
    store_t *s = open_ok(b, 0);
    add_incidents(s, 20, 20);
    ck_assert_int_eq(store_backup(s, bk), 0);
    store_close(&s);
    ck_assert_int_eq(store_restore(a, bk, NULL), SCSMS_EKEY);
    s = open_ok(a, 0);
    ck_assert_uint_eq(entries(s), 0);
    store_close(&s);
    free(bk);
    drop_store(a);
    drop_store(b);
}
END_TEST

START_TEST(restore_missing_backup)
{
    char *sd = new_store("nobk", "SITE-A", 0);
    ck_assert_int_eq(store_restore(sd, "/nonexistent/backup", NULL), SCSMS_ENOTFOUND);
    drop_store(sd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *open = tcase_create("open");
    tcase_add_test(open, create_then_open);
    tcase_add_test(open, bad_identity_refused);
    tcase_add_test(open, enrol_never_replaces_an_identity);
    tcase_add_test(open, missing_store_refused);
    tcase_add_test(open, wrong_key_refused);
    tcase_add_test(open, author_is_one_line_of_text);
    suite_add_tcase(s, open);
    TCase *rw = tcase_create("records");
    tcase_add_test(rw, put_get_update_history);
    tcase_add_test(rw, update_cannot_change_type);
    tcase_add_test(rw, list_by_type_and_status);
    tcase_add_test(rw, due_index_follows_updates);
    tcase_add_test(rw, batch_is_all_or_nothing);
    tcase_add_test(rw, batch_records_link_to_each_other);
    tcase_add_test(rw, large_batch_with_update_and_raise);
    tcase_add_test(rw, interleaved_types_keep_every_index);
    tcase_add_test(rw, restoring_a_taken_id_is_refused);
    tcase_add_test(rw, restoring_keeps_what_older_rules_let_through);
    tcase_add_test(rw, site_cannot_issue_policy);
    suite_add_tcase(s, rw);
    TCase *dmg = tcase_create("growth and damage");
    tcase_add_test(dmg, full_map_grows_and_loses_nothing);
    tcase_add_test(dmg, full_disk_is_clear_error);
    tcase_add_test(dmg, real_full_disk_on_tmpfs);
    tcase_add_test(dmg, truncated_file_refused);
    tcase_add_test(dmg, garbage_header_refused);
    suite_add_tcase(s, dmg);
    TCase *bk = tcase_create("backup");
    tcase_add_test(bk, backup_then_restore);
    tcase_add_test(bk, restore_refuses_while_in_use);
    tcase_add_test(bk, restore_refuses_other_sites_backup);
    tcase_add_test(bk, restore_missing_backup);
    suite_add_tcase(s, bk);
    return tu_run_suite(s);
}

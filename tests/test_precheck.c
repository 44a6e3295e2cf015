/* test_precheck.c -- Check suite for precheck: uploads checked ahead on a
 * thread, or by the caller when the thread has not begun them, go in as
 * they would unchecked; a job not wanted is dropped or waited for, and
 * nothing is left behind. (test_sync runs its refusal cases through a
 * precheck thread too, each with its exact message.) */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precheck.h"
#include "record.h"
#include "store.h"
#include "sync.h"

#define BATCHES 12
#define PER_BATCH 10

struct fixture {
    char *tmp;
    store_t *site, *hq;
    ProtobufCBinaryData *e; /* the site's log, entry i at e[i - 1] */
    size_t n;
};

/* A site with n incidents, enrolled at head office, and its log read. */
static struct fixture fixture_new(int n)
{
    struct fixture f = {0};
    f.tmp = tu_tmpdir("precheck");
    char *a = tu_path(f.tmp, "site"), *h = tu_path(f.tmp, "hq");
    f.site = tu_store_new(a, "SITE-A", STORE_ROLE_SITE);
    f.hq = tu_store_new(h, "HQ", STORE_ROLE_HQ);
    tu_enrol(f.hq, f.site, a, SCSMS__IDENTITY__ROLE__SITE);
    store_batch_t *b = NULL;
    Scsms__Record **r = calloc((size_t)n, sizeof *r);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(store_batch_new(f.site, &b), 0);
    for (int i = 0; i < n; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":"
                 "\"2026-11-%02dT10:00:00Z\",\"location\":\"Gate %d\"}", 1 + i % 28, i);
        r[i] = tu_record(json);
        ck_assert_int_eq(store_batch_add(b, r[i]), 0);
    }
    ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
    store_batch_destroy(&b);
    for (int i = 0; i < n; i++)
        record_free(r[i]);
    free(r);
    tu_log_copy(f.site, "SITE-A", 1, (uint64_t)n, &f.e, &f.n);
    free(a);
    free(h);
    return f;
}

static void fixture_free(struct fixture *f)
{
    tu_log_free(f->e, f->n);
    store_close(&f->site);
    store_close(&f->hq);
    tu_rmdir(f->tmp);
    free(f->tmp);
}

/* Upload k of the site's log in batches of PER_BATCH, with its checkpoint
 * (caller frees *cp). */
static struct sync_upload upload_k(struct fixture *f, size_t k, uint8_t **cp)
{
    size_t len;
    uint64_t last = (k + 1) * PER_BATCH;
    ck_assert_int_eq(sync_checkpoint_at(f->site, last, cp, &len), 0);
    return (struct sync_upload){.owner = "SITE-A", .entries = f->e + k * PER_BATCH,
                                .n = PER_BATCH, .checkpoint = *cp, .cp_len = len};
}

static void heads_equal(struct fixture *f, uint64_t want)
{
    tu_heads_equal(f->site, f->hq, "SITE-A", want);
}

/* Every job handed over and then finished, newest first (so the caller
 * meets jobs the thread has not begun): whether the thread or the caller
 * checked each, all go in once, and the heads agree. */
START_TEST(every_job_is_checked_whoever_checks_it)
{
    struct fixture f = fixture_new(BATCHES * PER_BATCH);
    struct precheck *pc = NULL;
    struct precheck_job jobs[BATCHES];
    struct sync_upload ups[BATCHES];
    uint8_t *cps[BATCHES];
    ck_assert_int_eq(precheck_start(STORE_ROLE_HQ, &pc), 0);
    for (size_t k = 0; k < BATCHES; k++) {
        ups[k] = upload_k(&f, k, &cps[k]);
        jobs[k] = (struct precheck_job){.up = {.owner = ups[k].owner, .entries = ups[k].entries,
                                               .n = ups[k].n}};
        precheck_submit(pc, &jobs[k]);
    }
    for (size_t k = BATCHES; k-- > 0;) {
        precheck_finish(pc, &jobs[k], 1);
        ck_assert_int_eq(jobs[k].state, PRECHECK_DONE);
        ck_assert_ptr_nonnull(jobs[k].up.pre);
        ups[k].pre = jobs[k].up.pre;
    }
    precheck_stop(&pc);
    ck_assert_ptr_null(pc);
    ck_assert_msg(sync_ingest_group(f.hq, ups, BATCHES) == 0, "%s", scsms_errmsg());
    for (size_t k = 0; k < BATCHES; k++) {
        ck_assert_msg(ups[k].rc == 0, "upload %zu: %s", k, ups[k].message);
        ck_assert_uint_eq(ups[k].res.applied, PER_BATCH);
        ck_assert_uint_eq(ups[k].res.head_seq, (k + 1) * PER_BATCH);
        free(cps[k]);
    }
    sync_upload_clear(ups, BATCHES);
    ck_assert_ptr_null(ups[0].pre);
    heads_equal(&f, BATCHES * PER_BATCH);
    fixture_free(&f);
}
END_TEST

/* A job behind many is still queued when its request is refused: it is
 * taken off unchecked (for the thread to reach it first, this thread
 * would have to stand still for the seconds the others take). One never
 * handed over is checked by the caller when wanted, and not at all when
 * not. */
#define AHEAD_JOBS 200

START_TEST(a_job_not_wanted_is_not_checked)
{
    struct fixture f = fixture_new(1);
    /* copies of one entry, as many as are checked ahead: each decodes and
     * passes (its sequence is the store's business), milliseconds a job */
    size_t many = 4096;
    ProtobufCBinaryData *same = malloc(many * sizeof *same);
    ck_assert_ptr_nonnull(same);
    for (size_t i = 0; i < many; i++)
        same[i] = f.e[0];
    struct precheck *pc = NULL;
    ck_assert_int_eq(precheck_start(STORE_ROLE_HQ, &pc), 0);
    static struct precheck_job before[AHEAD_JOBS];
    for (size_t k = 0; k < AHEAD_JOBS; k++) {
        before[k] = (struct precheck_job){.up = {.owner = "SITE-A", .entries = same, .n = many}};
        precheck_submit(pc, &before[k]);
    }
    struct precheck_job behind = {.up = {.owner = "SITE-A", .entries = f.e, .n = 1}};
    precheck_submit(pc, &behind);
    precheck_finish(pc, &behind, 0);
    ck_assert_int_eq(behind.state, PRECHECK_DONE);
    ck_assert_ptr_null(behind.up.pre);
    size_t unchecked = 0;
    for (size_t k = AHEAD_JOBS; k-- > 0;) { /* begun or not, done with once this returns */
        precheck_finish(pc, &before[k], 0);
        ck_assert_int_eq(before[k].state, PRECHECK_DONE);
        unchecked += before[k].up.pre == NULL;
        sync_upload_clear(&before[k].up, 1);
        ck_assert_ptr_null(before[k].up.pre);
    }
    ck_assert_uint_ge(unchecked, AHEAD_JOBS - 10); /* the queue dropped, not worked off */
    struct precheck_job idle = {.up = {.owner = "SITE-A", .entries = f.e, .n = 1}};
    precheck_finish(pc, &idle, 0);
    ck_assert_int_eq(idle.state, PRECHECK_DONE);
    ck_assert_ptr_null(idle.up.pre);
    struct precheck_job wanted = {.up = {.owner = "SITE-A", .entries = f.e, .n = 1}};
    precheck_finish(pc, &wanted, 1);
    ck_assert_int_eq(wanted.state, PRECHECK_DONE);
    ck_assert_ptr_nonnull(wanted.up.pre);
    precheck_finish(pc, &wanted, 1); /* finished again: nothing changes */
    ck_assert_int_eq(wanted.state, PRECHECK_DONE);
    sync_upload_clear(&wanted.up, 1);
    precheck_stop(&pc);
    precheck_stop(&pc); /* NULL is fine */
    free(same);
    fixture_free(&f);
}
END_TEST

/* Without a thread nothing is checked ahead, and the group checks each
 * upload itself: the same outcome. */
START_TEST(without_a_thread_the_writer_checks)
{
    struct fixture f = fixture_new(2 * PER_BATCH);
    uint8_t *cp0, *cp1;
    struct sync_upload first = upload_k(&f, 0, &cp0);
    struct precheck_job job = {.up = first};
    precheck_submit(NULL, &job);
    ck_assert_int_eq(job.state, PRECHECK_IDLE);
    precheck_finish(NULL, &job, 1);
    ck_assert_int_eq(job.state, PRECHECK_DONE);
    ck_assert_ptr_null(job.up.pre);
    struct sync_upload ups[2] = {job.up, upload_k(&f, 1, &cp1)};
    ck_assert_msg(sync_ingest_group(f.hq, ups, 2) == 0, "%s", scsms_errmsg());
    ck_assert_int_eq(ups[0].rc, 0);
    ck_assert_uint_eq(ups[0].res.applied, PER_BATCH);
    ck_assert_int_eq(ups[1].rc, 0);
    ck_assert_uint_eq(ups[1].res.applied, PER_BATCH);
    sync_upload_clear(ups, 2);
    heads_equal(&f, 2 * PER_BATCH);
    free(cp0);
    free(cp1);
    fixture_free(&f);
}
END_TEST

/* An upload longer than is checked ahead: the rest is checked in the
 * transaction, a fault there is named as it is unchecked, and once
 * mended the whole upload goes in. */
START_TEST(entries_beyond_those_checked_ahead_are_checked_too)
{
    size_t n = 5000, bad = 4500;
    struct fixture f = fixture_new((int)n);
    uint8_t *cp;
    size_t cp_len;
    ck_assert_int_eq(sync_checkpoint_at(f.site, n, &cp, &cp_len), 0);
    struct sync_upload u = {.owner = "SITE-A", .entries = f.e, .n = n, .checkpoint = cp,
                            .cp_len = cp_len};
    f.e[bad - 1].data[2] ^= 0x40; /* its owner field, as below */
    ck_assert_int_eq(sync_ingest_group(f.hq, &u, 1), 0);
    ck_assert_int_eq(u.rc, SCSMS_EPERM);
    char inline_msg[512];
    snprintf(inline_msg, sizeof inline_msg, "%s", u.message);
    ck_assert_msg(strstr(inline_msg, "entry 4500 belongs to "), "%s", inline_msg);
    sync_upload_clear(&u, 1);
    struct precheck *pc = NULL;
    ck_assert_int_eq(precheck_start(STORE_ROLE_HQ, &pc), 0);
    struct precheck_job job = {.up = {.owner = "SITE-A", .entries = f.e, .n = n}};
    precheck_submit(pc, &job);
    precheck_finish(pc, &job, 1);
    u.pre = job.up.pre;
    ck_assert_int_eq(sync_ingest_group(f.hq, &u, 1), 0);
    ck_assert_int_eq(u.rc, SCSMS_EPERM);
    ck_assert_str_eq(u.message, inline_msg);
    ck_assert_uint_eq(u.res.head_seq, 0);
    sync_upload_clear(&u, 1);
    f.e[bad - 1].data[2] ^= 0x40;
    job = (struct precheck_job){.up = {.owner = "SITE-A", .entries = f.e, .n = n}};
    precheck_submit(pc, &job);
    precheck_finish(pc, &job, 1);
    precheck_stop(&pc);
    u.pre = job.up.pre;
    ck_assert_int_eq(sync_ingest_group(f.hq, &u, 1), 0);
    ck_assert_msg(u.rc == 0, "%s", u.message);
    ck_assert_uint_eq(u.res.applied, n);
    sync_upload_clear(&u, 1);
    heads_equal(&f, n);
    free(cp);
    fixture_free(&f);
}
END_TEST

/* Checks made ahead for one upload are not taken for another's: made
 * again for the upload being written. */
START_TEST(checks_made_for_another_upload_are_made_again)
{
    struct fixture f = fixture_new(2 * PER_BATCH);
    uint8_t *cp0, *cp1;
    struct sync_upload first = upload_k(&f, 0, &cp0), second = upload_k(&f, 1, &cp1);
    ck_assert_int_eq(sync_upload_precheck(&second, STORE_ROLE_HQ), 0);
    first.pre = second.pre; /* another upload's */
    second.pre = NULL;
    ck_assert_msg(sync_ingest_group(f.hq, &first, 1) == 0, "%s", scsms_errmsg());
    ck_assert_msg(first.rc == 0, "%s", first.message);
    ck_assert_uint_eq(first.res.applied, PER_BATCH);
    sync_upload_clear(&first, 1);
    ck_assert_msg(sync_ingest_group(f.hq, &second, 1) == 0, "%s", scsms_errmsg());
    ck_assert_msg(second.rc == 0, "%s", second.message);
    ck_assert_uint_eq(second.res.applied, PER_BATCH);
    sync_upload_clear(&second, 1);
    heads_equal(&f, 2 * PER_BATCH);
    free(cp0);
    free(cp1);
    fixture_free(&f);
}
END_TEST

/* An entry altered in transit, checked ahead: refused whole, named as it
 * is named unchecked, nothing written. */
START_TEST(a_refusal_checked_ahead_is_the_same)
{
    struct fixture f = fixture_new(PER_BATCH);
    uint8_t *cp;
    struct sync_upload u = upload_k(&f, 0, &cp);
    f.e[3].data[2] ^= 0x40; /* entry 4's owner field: it reads as another's entry */
    ck_assert_int_eq(sync_ingest_group(f.hq, &u, 1), 0);
    ck_assert_int_eq(u.rc, SCSMS_EPERM);
    ck_assert_msg(strstr(u.message, "entry 4 belongs to ") &&
                  strstr(u.message, "not to SITE-A: an identity sends only its own log"),
                  "%s", u.message);
    char inline_msg[512];
    int inline_rc = u.rc;
    snprintf(inline_msg, sizeof inline_msg, "%s", u.message);
    sync_upload_clear(&u, 1);
    struct precheck *pc = NULL;
    ck_assert_int_eq(precheck_start(STORE_ROLE_HQ, &pc), 0);
    struct precheck_job job = {.up = {.owner = "SITE-A", .entries = u.entries, .n = u.n}};
    precheck_submit(pc, &job);
    precheck_finish(pc, &job, 1);
    precheck_stop(&pc);
    u.pre = job.up.pre;
    ck_assert_int_eq(sync_ingest_group(f.hq, &u, 1), 0);
    ck_assert_int_eq(u.rc, inline_rc);
    ck_assert_str_eq(u.message, inline_msg);
    ck_assert_uint_eq(u.res.applied, 0);
    ck_assert_uint_eq(u.res.head_seq, 0);
    sync_upload_clear(&u, 1);
    free(cp);
    fixture_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("precheck");
    TCase *t = tcase_create("jobs");
    tcase_add_test(t, every_job_is_checked_whoever_checks_it);
    tcase_add_test(t, a_job_not_wanted_is_not_checked);
    tcase_add_test(t, without_a_thread_the_writer_checks);
    tcase_add_test(t, entries_beyond_those_checked_ahead_are_checked_too);
    tcase_add_test(t, checks_made_for_another_upload_are_made_again);
    tcase_add_test(t, a_refusal_checked_ahead_is_the_same);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

/* test_mreview.c -- head office records its management review against a
 * real server on loopback: the review names the pack by its SHA-256 and is
 * sealed by head office; its actions reach the sites, and each site's
 * `due` lists the ones addressed to it; bad input writes nothing. */
#include "testnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "crypto.h"
#include "seal.h"
#include "store.h"
#include "sync.h"

/* The review pack `report review` writes for --from from --to to (or
 * another report: kind), at n's head office; its SHA-256 into hex. */
static char *write_pack(struct tn_net *n, const char *kind, const char *from, const char *to,
                        const char *name, char hex[2 * CRYPTO_HASH_LEN + 1])
{
    char *path = tu_path(n->tmp, name);
    struct tu_run r = tn_server(n, "report", kind, "--from", from, "--to", to, "--out", path, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    size_t len;
    char *text = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    uint8_t h[CRYPTO_HASH_LEN];
    crypto_sha256(text, len, h);
    crypto_hex(h, sizeof h, hex);
    free(text);
    return path;
}

/* Ids of the due items listed at dir within a year. */
static char *due_ids(const char *dir)
{
    struct tu_run r = tu_agent(NULL, "due", "--within", "365", "--format", "json", "--store",
                               dir, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    struct json_object *a = json_tokener_parse(r.out), *id;
    ck_assert_ptr_nonnull(a);
    char *ids = calloc(1, 4096);
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, i), "id", &id));
        strcat(ids, json_object_get_string(id));
        strcat(ids, " ");
    }
    json_object_put(a);
    tu_run_free(&r);
    return ids;
}

START_TEST(review_is_sealed_and_its_actions_reach_their_sites)
{
    setenv("SCSMS_NOW", "2026-11-23T12:00:00Z", 1);
    struct tn_net n = tn_new("mrv");
    char *w1 = tn_site(&n, "WH-1", 1), *w2 = tn_site(&n, "WH-2", 1);
    char hex[2 * CRYPTO_HASH_LEN + 1], other_hex[2 * CRYPTO_HASH_LEN + 1];
    char *pack = write_pack(&n, "review", "2026-01-01", "2026-06-30", "pack.html", hex);
    /* the same period in JSON and CSV; another period; a gaps report */
    char *json = write_pack(&n, "review", "2026-01-01", "2026-06-30", "pack.json", other_hex);
    char *q1 = write_pack(&n, "review", "2026-01-01", "2026-03-31", "q1.csv", other_hex);
    char *q1_html = write_pack(&n, "review", "2026-01-01", "2026-03-31", "q1.html", other_hex);
    char *gaps = write_pack(&n, "gaps", "2026-06-30", "2026-06-30", "gaps.html", other_hex);
    char *csv = tu_path(n.tmp, "pack.csv");
    struct tu_run r = tn_server(&n, "report", "review", "--from", "2026-01-01", "--to",
                                "2026-06-30", "--format", "csv", "--out", csv, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);

    /* refused, each with one line, and nothing written */
    struct {
        const char *pack, *from, *held, *action, *err;
    } bad[] = {
        {"/nonexistent/pack.html", "2026-01-01", NULL, NULL, "cannot read pack '/nonexistent/pack.html'"},
        {pack, "2026-07-01", NULL, NULL, "--to 2026-06-30 is before --from 2026-07-01"},
        {pack, "2026-01-01", NULL, "WH-9|2027-01-31|lead|drill", "'WH-9' is not an enrolled site"},
        {pack, "2026-01-01", NULL, "WH-1|2027-02-30|lead|drill", "field 'due_date'"},
        {pack, "2026-01-01", NULL, "WH-1|2027-01-31|lead", "give SITE|DUE_DATE|RESPONSIBLE|DESCRIPTION"},
        {pack, "2026-01-01", NULL, "WH-1|2025-07-31|lead|drill",
         "--action 'WH-1|2025-07-31|lead|drill': due 2025-07-31, before the review was held "
         "(2026-07-15): an action it decides falls due after it"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = tn_server(&n, "management-review", "--pack", bad[i].pack, "--from", bad[i].from, "--to",
                      "2026-06-30", "--decision", "d", "--held", bad[i].held ? bad[i].held : "2026-07-15",
                      bad[i].action ? "--action" : NULL, bad[i].action, NULL);
        ck_assert_msg(r.status == 1, "case %zu: exit %d", i, r.status);
        ck_assert_msg(strstr(r.err, bad[i].err), "case %zu: %s", i, r.err);
        ck_assert_int_eq(tu_lines(r.err), 1);
        tu_run_free(&r);
    }
    /* a date that does not exist is a usage error naming its option */
    static const struct {
        const char *opt, *to, *held, *bad;
    } dates[] = {{"--to", "2026-13-40", "2026-07-15", "2026-13-40"},
                 {"--held", "2026-06-30", "2026-02-30", "2026-02-30"}};
    for (size_t i = 0; i < 2; i++) {
        r = tn_server(&n, "management-review", "--pack", pack, "--from", "2026-01-01", "--to",
                      dates[i].to, "--held", dates[i].held, "--decision", "d", NULL);
        char want[128];
        snprintf(want, sizeof want, "scsms-server: %s '%s' is not a date: give YYYY-MM-DD\n",
                 dates[i].opt, dates[i].bad);
        ck_assert_int_eq(r.status, 2);
        ck_assert_str_eq(r.err, want);
        tu_run_free(&r);
    }
    /* a review held tomorrow, or on a pack of another period or of no
     * period at all: refused in so many words */
    char want_err[3][512];
    snprintf(want_err[0], sizeof want_err[0], "scsms-server: pack '%s' is the review pack of "
             "2026-01-01 to 2026-03-31, not of the period reviewed (2026-01-01 to 2026-06-30)\n", q1);
    snprintf(want_err[1], sizeof want_err[1], "scsms-server: pack '%s' is the review pack of "
             "2026-01-01 to 2026-03-31, not of the period reviewed (2026-01-01 to 2026-06-30)\n",
             q1_html);
    snprintf(want_err[2], sizeof want_err[2], "scsms-server: pack '%s' is not a review pack written "
             "by 'scsms-server report review' (html, json or csv): its period cannot be read\n", gaps);
    struct {
        const char *pack, *held, *err;
    } refused[] = {
        {pack, "2026-11-24", "scsms-server: --held 2026-11-24 is in the future: record the review "
                             "once it has been held\n"},
        {q1, "2026-07-15", want_err[0]},
        {q1_html, "2026-07-15", want_err[1]},
        {gaps, "2026-07-15", want_err[2]},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        r = tn_server(&n, "management-review", "--pack", refused[i].pack, "--from", "2026-01-01",
                      "--to", "2026-06-30", "--held", refused[i].held, "--decision", "d", NULL);
        ck_assert_msg(r.status == 1, "refused case %zu: exit %d", i, r.status);
        ck_assert_str_eq(r.err, refused[i].err);
        ck_assert_str_eq(r.out, "");
        tu_run_free(&r);
    }
    ck_assert_uint_eq(tn_hq_head(&n, "HQ"), 0);
    r = tn_server(&n, "management-review", "--pack", pack, "--from", "2026-01-01",
                                "--to", "2026-06-30", "--held", "2026-07-15", "--decision",
                                "hold a gate drill at WH-1", "--decision", "retrain on seals",
                                "--action", "WH-1|2027-01-31|Site lead|Run a gate drill",
                                "--action", "WH-2|2026-12-15|Site lead|Retrain seal checks", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char want[200];
    snprintf(want, sizeof want, "HQ-MRV-000001\nmanagement review of 2026-01-01 to 2026-06-30 on "
             "pack sha256 %s: 2 decisions, 2 actions\n", hex);
    ck_assert_ptr_nonnull(strstr(r.out, want));
    ck_assert_ptr_nonnull(strstr(r.out, "HQ-ACT-000002 for WH-1 due 2027-01-31"));
    ck_assert_ptr_nonnull(strstr(r.out, "HQ-ACT-000003 for WH-2 due 2026-12-15"));
    tu_run_free(&r);

    /* head office's own items, addressed to no site: an action of its own
     * and the clearance of one of its appointees */
    static const char *const own[][2] = {
        {"action", "{\"kind\":\"corrective\",\"description\":\"renew the HQ badge system\","
                   "\"responsible\":\"HQ facilities\",\"due_date\":\"2026-12-01\"}"},
        {"appointment", "{\"person\":\"J. Ode\",\"role\":\"management_representative\","
                        "\"clearance_level\":\"secret\",\"clearance_expiry_date\":\"2026-12-05\"}"}};
    for (size_t i = 0; i < 2; i++) {
        r = tu_agent(NULL, "add", own[i][0], "--json", own[i][1], "--store", n.hq, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tu_run_free(&r);
    }
    for (int k = 0; k < 2; k++) {
        r = tn_sync(&n, k ? w2 : w1, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "5 head-office entries received"));
        tu_run_free(&r);
    }
    /* each site is to do its own action, not the other's, nor head
     * office's internal ones */
    char *d1 = due_ids(w1), *d2 = due_ids(w2);
    ck_assert_str_eq(d1, "HQ-ACT-000002 ");
    ck_assert_str_eq(d2, "HQ-ACT-000003 ");
    free(d1);
    free(d2);
    /* head office's alerts file each action under the site it is
     * addressed to, and its own under head office */
    r = tn_server(&n, "alerts", "--within", "365", "--format", "json", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    struct json_object *alerts = json_tokener_parse(r.out);
    ck_assert_ptr_nonnull(alerts);
    static const char *const filed[][3] = {{"HQ-ACT-000004", "HQ", "HQ"},
                                           {"HQ-APT-000005", "HQ", "HQ"},
                                           {"HQ-ACT-000003", "HQ", "WH-2"},
                                           {"HQ-ACT-000002", "HQ", "WH-1"}};
    ck_assert_uint_eq(json_object_array_length(alerts), 4);
    for (size_t i = 0; i < 4; i++) {
        struct json_object *e = json_object_array_get_idx(alerts, i);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "id")), filed[i][0]);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "owner")), filed[i][1]);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "site")), filed[i][2]);
    }
    json_object_put(alerts);
    tu_run_free(&r);
    r = tn_server(&n, "alerts", "--within", "365", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "\nWH-1         due in 69 days     2027-01-31 HQ-ACT-000002 "));
    ck_assert_ptr_nonnull(strstr(r.out, "\nWH-2         due in 22 days     2026-12-15 HQ-ACT-000003 "));
    ck_assert_ptr_nonnull(strstr(r.out, "\nHQ           due in 8 days      2026-12-01 HQ-ACT-000004 "));
    tu_run_free(&r);
    /* at the site, the review is head office's exact bytes under its seal,
     * linked to the pack by its hash; the actions link to the review */
    store_t *site = NULL, *hq = NULL;
    uint8_t *a = NULL, *b = NULL, pub[CRYPTO_PUB_LEN];
    size_t al, bl;
    ck_assert_int_eq(store_open(w1, NULL, &site), 0);
    ck_assert_int_eq(store_open(n.hq, NULL, &hq), 0);
    ck_assert_int_eq(store_get_bytes(site, "HQ-MRV-000001", 0, &a, &al), 0);
    ck_assert_int_eq(store_get_bytes(hq, "HQ-MRV-000001", 0, &b, &bl), 0);
    ck_assert_uint_eq(al, bl);
    ck_assert_mem_eq(a, b, al);
    store_public_key(hq, pub);
    ck_assert_int_eq(seal_record_check(a, al, pub), 0);
    a[al - 5] ^= 1; /* inside the signature: no longer head office's */
    ck_assert_int_eq(seal_record_check(a, al, pub), SCSMS_ETAMPER);
    Scsms__Record *rec = NULL;
    ck_assert_int_eq(store_get(site, "HQ-MRV-000001", 0, &rec), 0);
    char got[2 * CRYPTO_HASH_LEN + 1];
    ck_assert_uint_eq(rec->management_review->pack_sha256.len, CRYPTO_HASH_LEN);
    crypto_hex(rec->management_review->pack_sha256.data, CRYPTO_HASH_LEN, got);
    ck_assert_str_eq(got, hex);
    ck_assert_str_eq(rec->management_review->held_date, "2026-07-15");
    record_free(rec);
    ck_assert_int_eq(store_get(site, "HQ-ACT-000002", 0, &rec), 0);
    ck_assert_uint_eq(rec->n_links, 1);
    ck_assert_str_eq(rec->links[0]->rel, "source");
    ck_assert_str_eq(rec->links[0]->target, "HQ-MRV-000001");
    ck_assert_str_eq(rec->action->site, "WH-1");
    record_free(rec);
    free(a);
    free(b);
    store_close(&site);
    store_close(&hq);
    tn_verify_dir(w1, 5);
    /* a site cannot address actions to sites */
    r = tu_agent(NULL, "add", "action", "--json",
                 "{\"kind\":\"corrective\",\"description\":\"x\",\"responsible\":\"y\","
                 "\"due_date\":\"2027-01-01\",\"site\":\"WH-2\"}", "--store", w1, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "scsms-agent: only head office addresses an action to a site: leave "
                            "'site' empty\n");
    tu_run_free(&r);
    /* the pack's period is read from its JSON and its CSV as from its HTML */
    const char *same[] = {json, csv}, *ids[] = {"HQ-MRV-000006\n", "HQ-MRV-000007\n"};
    for (size_t i = 0; i < 2; i++) {
        r = tn_server(&n, "management-review", "--pack", same[i], "--from", "2026-01-01", "--to",
                      "2026-06-30", "--held", "2026-11-23", "--decision", "d", NULL);
        ck_assert_msg(r.status == 0, "%s: %s", same[i], r.err);
        ck_assert_ptr_eq(strstr(r.out, ids[i]), r.out);
        tu_run_free(&r);
    }
    free(pack);
    free(json);
    free(csv);
    free(q1);
    free(q1_html);
    free(gaps);
    free(w1);
    free(w2);
    tn_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mreview");
    TCase *tc = tcase_create("mreview");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, review_is_sealed_and_its_actions_reach_their_sites);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

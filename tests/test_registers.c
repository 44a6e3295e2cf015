/* test_registers.c -- the site registers through the real binaries:
 * every type round-trips through add, update, history, export and import
 * into a fresh store unchanged; large imports; a bad row refuses the whole
 * file; 'due' lists exactly what the generator planted. */
#include "testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "record.h"
#include "store.h"

/* One minimal valid record per type; "@EQ" and "@OBJ" are replaced by the
 * ids of an equipment and an objective written first. */
static const struct {
    const char *type, *json;
} samples[] = {
    {"scope", "{\"boundaries\":\"all EU sites\",\"sites\":[\"DXB-WH1\"],\"outsourced\":"
              "[{\"process\":\"guarding\",\"provider\":\"SecureCo\",\"control\":\"contract\"}]}"},
    {"policy", "{\"title\":\"Security policy\",\"edition\":\"3\",\"statement\":\"We protect the "
               "supply chain\",\"approved_by\":\"CEO\",\"approved_date\":\"2026-01-10\","
               "\"review_date\":\"2027-01-10\"}"},
    {"acknowledgement", "{\"subject_id\":\"HQ-POL-000001\",\"subject_version\":3,"
                        "\"acknowledged_by\":\"site lead\",\"acknowledged_date\":\"2026-02-01\"}"},
    {"risk", "{\"threat_category\":\"natural_events\",\"threatened\":\"yard\",\"likelihood\":3,"
             "\"consequence\":4,\"residual_likelihood\":2,\"residual_consequence\":2,"
             "\"treatment\":\"reduce\",\"next_review_date\":\"2027-03-01\"}"},
    {"legal_requirement", "{\"source\":\"UCC art. 39\",\"summary\":\"AEO criteria\","
                          "\"applies_to\":[\"all sites\"],\"review_date\":\"2027-01-01\"}"},
    {"objective", "{\"title\":\"Fewer seal errors\",\"indicator\":\"errors per 1000\","
                  "\"baseline\":4.5,\"target_value\":2,\"due_date\":\"2027-06-30\"}"},
    {"target", "{\"description\":\"half the errors\",\"value\":2.25,\"due_date\":\"2027-03-31\","
               "\"links\":[{\"rel\":\"objective\",\"target\":\"@OBJ\"}]}"},
    {"programme", "{\"title\":\"Seal programme\",\"progress_pct\":40,\"tasks\":[{\"description\":"
                  "\"new seals\",\"responsible\":\"ops\",\"due_date\":\"2027-01-31\",\"done\":true}]}"},
    {"appointment", "{\"person\":\"A. Chen\",\"role\":\"line_manager\",\"responsibilities\":"
                    "\"dock\",\"clearance_expiry_date\":\"2028-01-01\"}"},
    {"training", "{\"person\":\"A. Chen\",\"course\":\"ISPS\",\"completed_date\":\"2026-05-01\","
                 "\"expiry_date\":\"2028-05-01\"}"},
    {"communication", "{\"kind\":\"briefing\",\"audience\":[\"employees\"],\"subject\":\"seals\"}"},
    {"document", "{\"doc_id\":\"SP-01\",\"doc_version\":\"2\",\"title\":\"Security plan\","
                 "\"review_date\":\"2027-02-01\",\"available_at\":[\"all sites\"]}"},
    {"procedure", "{\"task_or_area\":\"Dock 2\",\"control\":\"two-person check\"}"},
    {"emergency_plan", "{\"title\":\"Site plan\",\"person_in_charge\":\"A. Chen\",\"scenarios\":"
                       "[\"fire\"],\"review_date\":\"2027-05-01\"}"},
    {"drill", "{\"planned_date\":\"2027-04-01\",\"scenario\":\"intrusion\"}"},
    {"measurement", "{\"indicator\":\"seal errors\",\"period_end_date\":\"2026-10-31\","
                    "\"value\":3.5,\"kind\":\"reactive\"}"},
    {"equipment", "{\"equipment_id\":\"CAM-01\",\"kind\":\"camera\",\"location\":\"Gate\","
                  "\"next_calibration_date\":\"2027-08-01\"}"},
    {"calibration", "{\"performed_date\":\"2026-11-01\",\"result\":\"pass\",\"next_due_date\":"
                    "\"2027-11-01\",\"links\":[{\"rel\":\"equipment\",\"target\":\"@EQ\"}]}"},
    {"inspection", "{\"area\":\"Dock\",\"inspector\":\"B. Ortiz\",\"inspected_date\":\"2026-11-02\","
                   "\"items\":[{\"question\":\"Seals?\",\"answer\":\"conform\"}]}"},
    {"evaluation", "{\"subject\":\"procedures\",\"evaluated_date\":\"2026-09-01\",\"result\":"
                   "\"fine\",\"compliant\":true,\"next_date\":\"2027-09-01\"}"},
    {"incident", "{\"kind\":\"near_miss\",\"occurred_at\":\"2026-11-20T06:15:00Z\",\"location\":"
                 "\"Gate 3\",\"severity\":2}"},
    {"nonconformity", "{\"source\":\"audit\",\"description\":\"visitor log gaps\",\"severity\":"
                      "\"minor\"}"},
    {"action", "{\"kind\":\"corrective\",\"description\":\"fix log\",\"responsible\":\"ops\","
               "\"due_date\":\"2027-01-15\"}"},
    {"audit", "{\"planned_date\":\"2027-02-01\",\"audit_scope\":\"gate\",\"auditor\":\"C. Diaz\","
              "\"activities_audited\":[\"gate\"],\"findings\":[{\"kind\":\"observation\","
              "\"clause\":\"4.4.6\",\"description\":\"ok\"}]}"},
    {"management_review", "{\"period_from_date\":\"2026-01-01\",\"period_to_date\":\"2026-06-30\","
                          "\"held_date\":\"2026-07-10\",\"decisions\":[\"more training\"]}"},
    {"partner", "{\"partner_id\":\"CARRIER-9\",\"name\":\"Fast Haul\",\"partner_role\":\"carrier\","
                "\"country\":\"NL\"}"},
    /* written at a partner store, RT-1: a partner submits only about itself */
    {"certificate", "{\"partner_id\":\"RT-1\",\"scheme\":\"aeo\",\"number\":\"NLAEOF123\","
                    "\"expiry_date\":\"2028-01-01\"}"},
    {"declaration", "{\"partner_id\":\"RT-1\",\"coverage\":\"road haulage EU\","
                    "\"measures\":[\"sealed trailers\"],"
                    "\"valid_from_date\":\"2026-01-01\",\"valid_to_date\":\"2027-01-01\"}"},
    {"credibility_review", "{\"declaration_id\":\"@DOS\",\"declaration_version\":1,"
                           "\"declaration_sha256\":\"@SHA\",\"partner_id\":\"CARRIER-9\","
                           "\"reviewer\":\"J. Ode\",\"decision\":\"accepted\",\"reason\":"
                           "\"measures match the audit\",\"reviewed_date\":\"2026-02-01\"}"},
};

/* Run scsms-agent A1 [A2..A5, up to the first NULL] --store STORE. */
static char *agent_ok(const char *store, const char *a1, const char *a2, const char *a3,
                      const char *a4, const char *a5)
{
    const char *args[] = {a1, a2, a3, a4, a5};
    char *argv[10];
    int n = 0;
    argv[n++] = getenv("SCSMS_AGENT");
    for (int i = 0; i < 5 && args[i]; i++)
        argv[n++] = (char *)args[i];
    argv[n++] = "--store";
    argv[n++] = (char *)store;
    argv[n] = NULL;
    struct tu_run r = tu_exec(argv, NULL);
    ck_assert_msg(r.status == 0, "%s %s: %s", a1, a2 ? a2 : "", r.err);
    free(r.err);
    return r.out;
}

static char *first_line(char *s)
{
    s[strcspn(s, "\n")] = 0;
    return s;
}

static const char *role_for(const struct record_type *t)
{
    return t->issuers & RECORD_BY_SITE ? "site" : t->issuers & RECORD_BY_PARTNER ? "partner" : "hq";
}

static void init(const char *store, const char *role)
{
    struct tu_run r = tu_agent(NULL, "init", "--site", "RT-1", "--role", role, "--store", store,
                               NULL);
    ck_assert_msg(r.status == 0, "init: %s", r.err);
    tu_run_free(&r);
}

static char *replace(const char *json, const char *mark, const char *id)
{
    char *out = malloc(strlen(json) + 256);
    const char *at = strstr(json, mark);
    if (!at) {
        strcpy(out, json);
        return out;
    }
    sprintf(out, "%.*s%s%s", (int)(at - json), json, id, at + strlen(mark));
    return out;
}

/* Blank every Ed25519 signature in an export: a run of exactly 128 hex
 * digits. */
static void mask_signatures(char *text)
{
    for (char *p = text; *p;) {
        size_t n = strspn(p, "0123456789abcdef");
        if (n == 128 && (p == text || !isxdigit((unsigned char)p[-1])))
            memset(p, 'x', n);
        p += n ? n : 1;
    }
}

/* Give head office's store in dir a a declaration of partner CARRIER-9,
 * as its sync would, and put its id and SHA-256 in json for @DOS and
 * @SHA. Takes json; returns the new text. */
static char *with_held_declaration(const char *dir, const char *a, char *json)
{
    char dos[RECORD_MAX_ID + 1], sha[65];
    store_t *hq = NULL;
    ck_assert_int_eq(store_open(a, NULL, &hq), 0);
    tu_held_declaration(hq, dir, "CARRIER-9", dos, sha);
    store_close(&hq);
    char *with_dos = replace(json, "@DOS", dos), *out = replace(with_dos, "@SHA", sha);
    free(with_dos);
    free(json);
    return out;
}

/* add, update, history, then export and import --preserve into a fresh
 * store of the same identity: the second export equals the first. */
static void round_trip(const char *type, const char *json, const char *format)
{
    const struct record_type *t = record_type_by_name(type);
    char *dir = tu_tmpdir("rt"), *a = tu_path(dir, "a"), *b = tu_path(dir, "b");
    char *file = tu_path(dir, strcmp(format, "csv") ? "export.json" : "export.csv");
    init(a, role_for(t));
    init(b, role_for(t));
    char *body = strdup(json), *tmp;
    if (strstr(body, "@EQ")) {
        char *eq = agent_ok(a, "add", "equipment", "--json", samples[16].json, NULL);
        tmp = replace(body, "@EQ", first_line(eq));
        free(body);
        body = tmp;
        free(eq);
    }
    if (strstr(body, "@DOS")) /* a review is of a declaration head office holds */
        body = with_held_declaration(dir, a, body);
    if (strstr(body, "@OBJ")) {
        char *obj = agent_ok(a, "add", "objective", "--json", samples[5].json, NULL);
        tmp = replace(body, "@OBJ", first_line(obj));
        free(body);
        body = tmp;
        free(obj);
    }
    char *id = agent_ok(a, "add", type, "--json", body, NULL);
    first_line(id);
    free(agent_ok(a, "update", id, "--set", "retention_days=4000", NULL));
    char *hist = agent_ok(a, "history", id, "--format", "json", NULL);
    struct json_object *h = json_tokener_parse(hist);
    ck_assert_msg(h && json_object_array_length(h) == 2, "%s history: %s", type, hist);
    json_object_put(h);
    free(hist);

    /* head office's store also holds the partner's declaration a review
     * needs, which is the partner's to restore, not head office's */
    const char *only = strcmp(type, "credibility_review") ? NULL : "--type";
    char *exp1 = agent_ok(a, "export", "--format", format, only, only ? type : NULL);
    FILE *f = fopen(file, "w");
    fputs(exp1, f);
    fclose(f);
    free(agent_ok(b, "import", file, "--preserve", NULL, NULL));
    char *exp2 = agent_ok(b, "export", "--format", format, only, only ? type : NULL);
    /* a sealed record is signed again by the store it is restored into,
     * whose key is its own: all else is equal, and verify below checks the
     * new signature */
    mask_signatures(exp1);
    mask_signatures(exp2);
    ck_assert_msg(strcmp(exp1, exp2) == 0, "%s %s differs:\n%s\n---\n%s", type, format, exp1, exp2);
    ck_assert_ptr_nonnull(strstr(exp2, "\"retention_days\":4000") ? exp2 : strstr(exp2, ",4000,"));
    free(agent_ok(b, "verify", NULL, NULL, NULL, NULL));
    free(exp1);
    free(exp2);
    free(id);
    free(body);
    free(file);
    free(a);
    free(b);
    tu_rmdir(dir);
    free(dir);
}

START_TEST(every_type_round_trips_json)
{
    size_t n;
    record_types(&n);
    ck_assert_uint_eq(sizeof samples / sizeof samples[0], n);
    round_trip(samples[_i].type, samples[_i].json, "json");
}
END_TEST

START_TEST(every_type_round_trips_csv)
{
    round_trip(samples[_i].type, samples[_i].json, "csv");
}
END_TEST

START_TEST(large_csv_imports_with_progress)
{
    char *dir = tu_tmpdir("big"), *store = tu_path(dir, "s");
    init(store, "site");
    char *csv = tu_gen_rows(dir, "rows.csv", "100000");
    struct tu_run r = tu_agent(NULL, "import", csv, "--progress", "--store", store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char want[4200];
    snprintf(want, sizeof want, "imported 100000 records from %s\n", csv);
    ck_assert_str_eq(r.out, want);
    ck_assert_ptr_nonnull(strstr(r.err, "reading: 98304 rows"));
    ck_assert_ptr_nonnull(strstr(r.err, "writing: 100000 of 100000 records (100%)"));
    tu_run_free(&r);
    char *v = agent_ok(store, "verify", NULL, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(v, "ok: 100000 entries, 100000 records, 1 signed checkpoints"));
    free(v);
    free(csv);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* Replace line `line` (1-based) of path with text. */
static void replace_line(const char *path, size_t line, const char *text)
{
    size_t len;
    char *all = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(all);
    FILE *f = fopen(path, "w");
    size_t cur = 1;
    for (char *p = all; *p;) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (cur == line)
            fprintf(f, "%s\n", text);
        else
            fwrite(p, 1, n, f);
        p += n;
        cur++;
    }
    fclose(f);
    free(all);
}

static char *snapshot(const char *store)
{
    char *a = agent_ok(store, "export", NULL, NULL, NULL, NULL);
    char *b = agent_ok(store, "verify", NULL, NULL, NULL, NULL);
    char *s = malloc(strlen(a) + strlen(b) + 1);
    sprintf(s, "%s%s", a, b);
    free(a);
    free(b);
    return s;
}

START_TEST(one_bad_row_refuses_the_file)
{
    char *dir = tu_tmpdir("badrow"), *store = tu_path(dir, "s");
    init(store, "site");
    free(agent_ok(store, "add", "incident", "--json", samples[20].json, NULL));
    char *before = snapshot(store);
    char *csv = tu_gen_rows(dir, "rows.csv", "20000");
    replace_line(csv, 12345, "incident,near_miss,2026-11-02T10:00:00Z,Gate 1,x,"
                             "natural_events,9,held,none");
    struct tu_run r = tu_agent(NULL, "import", csv, "--store", store, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "");
    ck_assert_ptr_nonnull(strstr(r.err, "rows.csv:12345: field 'severity' must be 1 to 5, got 9"));
    ck_assert_ptr_nonnull(strstr(r.err, "1 bad row in"));
    ck_assert_ptr_nonnull(strstr(r.err, "nothing was imported"));
    ck_assert_int_eq(tu_lines(r.err), 2);
    tu_run_free(&r);
    char *json = tu_gen_rows(dir, "rows.json", "5000");
    replace_line(json, 101, "{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":"
                            "\"2026-13-02T10:00:00Z\",\"location\":\"x\",\"colour\":\"red\"},");
    replace_line(json, 4001, "{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":"
                             "\"2026-02-30T10:00:00Z\",\"location\":\"x\"},");
    r = tu_agent(NULL, "import", json, "--store", store, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "rows.json:101: unknown field 'colour' for type incident"));
    ck_assert_ptr_nonnull(strstr(r.err, "rows.json:4001: field 'occurred_at': '2026-02-30T10:00:00Z'"));
    ck_assert_ptr_nonnull(strstr(r.err, "2 bad rows in"));
    tu_run_free(&r);
    char *after = snapshot(store);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(csv);
    free(json);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* Rows refused by the store's own checks (a link to no record, a
 * calibration of no equipment) are each named, not only the first, and
 * with the refusals of the rows themselves; a row linking a good row
 * before it in the same file is not refused; nothing is imported. */
START_TEST(every_refused_row_is_named)
{
    char *dir = tu_tmpdir("badrows"), *store = tu_path(dir, "s");
    init(store, "site");
    char *risk = first_line(agent_ok(store, "add", "risk", "--json", samples[3].json, NULL));
    char *before = snapshot(store);
    char *file = tu_path(dir, "rows.json");
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[\n"
            "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"fix gate\","
            "\"responsible\":\"J. Ode\",\"due_date\":\"2027-01-31\","
            "\"status\":\"implemented\",\"links\":[{\"rel\":\"risk_review\",\"target\":"
            "\"RT-1-RSK-000404\"}]},\n"
            "{\"type\":\"equipment\",\"equipment_id\":\"CAM-1\",\"kind\":\"camera\","
            "\"location\":\"Gate\"},\n"
            "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"fix fence\","
            "\"responsible\":\"J. Ode\",\"due_date\":\"2027-01-31\","
            "\"status\":\"implemented\",\"links\":[{\"rel\":\"risk_review\",\"target\":\"%s\"}]},\n"
            "{\"type\":\"calibration\",\"performed_date\":\"2026-11-01\",\"result\":\"pass\"},\n"
            "{\"type\":\"risk\",\"threat_category\":\"natural_events\",\"threatened\":\"yard\","
            "\"likelihood\":5,\"consequence\":5,\"residual_likelihood\":5,"
            "\"residual_consequence\":5,\"treatment\":\"accept\"},\n"
            "{\"type\":\"calibration\",\"performed_date\":\"2026-11-02\",\"result\":\"pass\","
            "\"links\":[{\"rel\":\"equipment\",\"target\":\"RT-1-EQP-000002\"}]}\n"
            "]\n", risk);
    fclose(f);
    struct tu_run r = tu_agent(NULL, "import", file, "--store", store, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "rows.json:2: ") && strstr(r.err, "RT-1-RSK-000404"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "rows.json:5: a calibration must link the equipment"), "%s",
                  r.err);
    ck_assert_msg(strstr(r.err, "rows.json:6: risk is intolerable"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "3 bad rows in"), "%s", r.err);
    ck_assert_int_eq(tu_lines(r.err), 4);
    tu_run_free(&r);
    char *after = snapshot(store);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(risk);
    free(file);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* A restore (import --preserve) writes records as exported, but one that
 * breaks a rule as it stands, or lacks what the rules raised from it, is
 * refused like any other row: a file is not a way around the rules. */
START_TEST(a_restore_is_held_to_the_rules)
{
    char *dir = tu_tmpdir("restore"), *store = tu_path(dir, "s");
    init(store, "site");
    char *before = snapshot(store);
    char *file = tu_path(dir, "rows.json");
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
#define ENV(id) "\"id\":\"" id "\",\"version\":1,\"author\":\"lead\",\"created_at\":" \
                "\"2026-11-01T10:00:00Z\",\"updated_at\":\"2026-11-01T10:00:00Z\""
    fputs("[\n"
          "{\"type\":\"action\"," ENV("RT-1-ACT-000001") ",\"kind\":\"corrective\","
          "\"description\":\"fix gate\",\"responsible\":\"J. Ode\",\"due_date\":\"2027-01-31\","
          "\"status\":\"closed\",\"immediate\":true},\n"
          "{\"type\":\"risk\"," ENV("RT-1-RSK-000002") ",\"threat_category\":\"natural_events\","
          "\"threatened\":\"yard\",\"likelihood\":5,\"consequence\":5,\"residual_likelihood\":5,"
          "\"residual_consequence\":5,\"treatment\":\"accept\",\"hq_accepted\":true,"
          "\"accepted_by\":\"site lead\",\"status\":\"accepted\"},\n"
          "{\"type\":\"inspection\"," ENV("RT-1-INS-000003") ",\"area\":\"Dock\",\"inspector\":"
          "\"A. Chen\",\"inspected_date\":\"2026-11-01\",\"status\":\"recorded\",\"items\":"
          "[{\"question\":\"Seals?\",\"answer\":\"nonconform\"}]},\n"
          "{\"type\":\"equipment\"," ENV("RT-1-EQP-000004") ",\"equipment_id\":\"CAM-1\","
          "\"kind\":\"camera\",\"location\":\"Gate\",\"status\":\"out_of_calibration\"},\n"
          "{\"type\":\"calibration\"," ENV("RT-1-CAL-000005") ",\"performed_date\":"
          "\"2026-11-01\",\"result\":\"fail\",\"status\":\"recorded\",\"links\":[{\"rel\":"
          "\"equipment\",\"target\":\"RT-1-EQP-000004\"}]}\n"
          "]\n", f);
#undef ENV
    fclose(f);
    struct tu_run r = tu_agent(NULL, "import", file, "--preserve", "--store", store, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "rows.json:2: an action cannot be closed without a recorded "
                             "effectiveness check"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "rows.json:3: only head office can accept an intolerable risk"),
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "rows.json:4: item 1 does not conform, but its nonconformity "
                             "RT-1-INS-000003-NCR-1 is not in the file or the store (rule 4)"),
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "3 bad rows in"), "%s", r.err);
    tu_run_free(&r);
    char *after = snapshot(store);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(file);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* Slips a real user makes: a spreadsheet's byte order mark before the
 * header is no part of the first column's name; a measurement of "nan"
 * or "inf" is refused (JSON cannot carry it back out); a store-set field
 * on add is refused rather than dropped without a word. */
START_TEST(common_slips_are_read_right_or_refused)
{
    char *dir = tu_tmpdir("slips"), *store = tu_path(dir, "s");
    init(store, "site");
    char *csv = tu_path(dir, "excel.csv");
    FILE *f = fopen(csv, "w");
    ck_assert_ptr_nonnull(f);
    fputs("\xEF\xBB\xBFtype,kind,occurred_at,location\r\n"
          "incident,near_miss,2026-11-02T10:00:00Z,Gate 1\r\n", f);
    fclose(f);
    struct tu_run r = tu_agent(NULL, "import", csv, "--store", store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    char *before = snapshot(store);
    const char *bad[][2] = {{"value=nan", "field 'value' must be a finite number"},
                            {"value=inf", "field 'value' must be a finite number"},
                            {"value=-1e999", "must be"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = tu_agent(NULL, "add", "measurement", "--set", "indicator=seal errors", "--set",
                     "period_end_date=2026-10-31", "--set", bad[i][0], "--store", store, NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, bad[i][1]) && tu_lines(r.err) == 1, "%s: %s", bad[i][0],
                      r.err);
        tu_run_free(&r);
    }
    r = tu_agent(NULL, "add", "training", "--json",
                 "{\"person\":\"A. Chen\",\"course\":\"ISPS\",\"completed_date\":\"2026-10-01\","
                 "\"author\":\"mallory\"}", "--store", store, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "scsms-agent: field 'author' is set by the store: leave it out\n");
    tu_run_free(&r);
    char *after = snapshot(store);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(csv);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* Import file into store; it must succeed, saying it imported n records. */
static void import_ok(const char *store, const char *file, size_t n)
{
    struct tu_run r = tu_agent(NULL, "import", file, "--store", store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char want[4200];
    snprintf(want, sizeof want, "imported %zu records from %s\n", n, file);
    ck_assert_str_eq(r.out, want);
    tu_run_free(&r);
}

/* A file is read from its mapping (import.c's text_map), which ends where
 * a page ends when the file's size is a whole number of pages: a file of
 * exactly 4096 bytes imports whole, and one cut off at 4096 bytes, in the
 * middle of a record, is refused as a bad row with the store unchanged. */
static char *page_sized_file(const char *dir, const char *name, int cut, int *rows)
{
    char *path = tu_path(dir, name), row[200];
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    size_t len = (size_t)fprintf(f, "[");
    int n = 0;
    for (;; n++) {
        int k = snprintf(row, sizeof row, "%s{\"type\":\"incident\",\"kind\":\"near_miss\","
                         "\"occurred_at\":\"2026-11-02T10:00:00Z\",\"location\":\"Gate %d\"}",
                         n ? "," : "", n);
        if (len + (size_t)k + 2 > 4096)
            break;
        len += (size_t)fprintf(f, "%s", row);
    }
    if (cut) /* the next row, cut off where the page ends */
        len += (size_t)fprintf(f, "%.*s", (int)(4096 - len), row);
    else /* the end of the array, spaces filling the page */
        len += (size_t)fprintf(f, "]%*s", (int)(4096 - len - 1), "");
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_uint_eq(len, 4096);
    *rows = n;
    return path;
}

START_TEST(page_sized_files_are_read_to_their_end)
{
    char *dir = tu_tmpdir("page"), *store = tu_path(dir, "s");
    int rows;
    init(store, "site");
    char *cut = page_sized_file(dir, "cut.json", 1, &rows);
    char *whole = page_sized_file(dir, "whole.json", 0, &rows);
    char *before = snapshot(store);
    struct tu_run r = tu_agent(NULL, "import", cut, "--store", store, NULL);
    char want[4200];
    snprintf(want, sizeof want, "scsms-agent: %s:1: bad JSON: unexpected end of input; nothing "
             "was imported\n", cut);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, want);
    tu_run_free(&r);
    char *after = snapshot(store);
    ck_assert_str_eq(before, after);
    import_ok(store, whole, (size_t)rows);
    ck_assert_int_gt(rows, 10);
    free(before);
    free(after);
    free(whole);
    free(cut);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* A JSON file whose halves are read on two threads, where the guessed
 * start of the second half is a nested object: every line break falls
 * between the two items of one inspection, and records follow one another
 * on the same line. The first reader steps over the guess and reads on;
 * the second half's records, read from inside a record, must not count. */
static char *nested_split_file(const char *dir, size_t rows, size_t bad)
{
    char *path = tu_path(dir, "nested.json");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("[\n", f);
    for (size_t i = 0; i < rows; i++)
        fprintf(f, "%s{\"type\":\"inspection\",\"area\":\"Dock %zu\",\"inspector\":\"B. Ortiz\","
                "\"inspected_date\":\"2026-11-02\",\"items\":[{\"question\":\"Seals?\",\"answer\":"
                "\"%s\"},\n{\"question\":\"Fence?\",\"answer\":\"conform\"}]}",
                i ? ", " : "", i, i + 1 == bad ? "perhaps" : "conform");
    fputs("]\n", f);
    ck_assert_int_eq(fclose(f), 0);
    size_t len;
    free(tu_read_file(path, &len));
    ck_assert_uint_gt(len, (size_t)1 << 20); /* large enough to be read in halves */
    return path;
}

START_TEST(json_split_inside_a_record_reads_on)
{
    char *dir = tu_tmpdir("nested"), *store = tu_path(dir, "s");
    init(store, "site");
    char *before = snapshot(store);
    /* a bad row past the middle: named once, on its own line */
    char *json = nested_split_file(dir, 8000, 6000);
    struct tu_run r = tu_agent(NULL, "import", json, "--store", store, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "nested.json:6001: ") != NULL, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "1 bad row in"));
    ck_assert_int_eq(tu_lines(r.err), 2);
    tu_run_free(&r);
    char *after = snapshot(store);
    ck_assert_str_eq(before, after);
    free(json);
    json = nested_split_file(dir, 8000, 0);
    import_ok(store, json, 8000);
    char *v = agent_ok(store, "verify", NULL, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(v, "ok: 8000 entries, 8000 records, 1 signed checkpoints"));
    free(v);
    /* the last record came through whole, both items */
    char *last = agent_ok(store, "show", "RT-1-INS-008000", NULL, NULL, NULL);
    ck_assert_msg(strstr(last, "Dock 7999") && strstr(last, "Fence?"), "%s", last);
    free(last);
    free(before);
    free(after);
    free(json);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* The second half's reader fails on a thread of its own: its message
 * (errors are kept per thread) must still be the one printed. */
START_TEST(json_second_half_error_is_printed)
{
    char *dir = tu_tmpdir("half2"), *store = tu_path(dir, "s");
    init(store, "site");
    char *json = tu_gen_rows(dir, "rows.json", "10000");
    size_t len;
    char *text = tu_read_file(json, &len);
    ck_assert_ptr_nonnull(text);
    char *line = text;
    for (int i = 1; i < 9001; i++) /* line 9001: record 9000, past the middle */
        line = strchr(line, '\n') + 1;
    char *close = strstr(line, "},\n");
    ck_assert_ptr_nonnull(close);
    *close = ' '; /* its closing brace gone */
    FILE *f = fopen(json, "w");
    fwrite(text, 1, len, f);
    fclose(f);
    free(text);
    struct tu_run r = tu_agent(NULL, "import", json, "--store", store, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "rows.json:9002: bad JSON: ") &&
                      strstr(r.err, "; nothing was imported"), "%s", r.err);
    tu_run_free(&r);
    free(json);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* A long run of blank lines past the middle is looked at once, not once a
 * line: 0.02 s, where looking at it once a line took 1 min 45 s (the test
 * case's time limit is 20 s). */
START_TEST(json_blank_run_is_scanned_once)
{
    char *dir = tu_tmpdir("blank"), *store = tu_path(dir, "s");
    init(store, "site");
    char *json = tu_path(dir, "blank.json");
    FILE *f = fopen(json, "w");
    fputs("[", f);
    for (int i = 0; i < 5; i++)
        fprintf(f, "%s{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":"
                "\"2026-11-0%dT10:00:00Z\",\"location\":\"Gate %d\"}", i ? ",\n" : "\n", i + 1, i);
    for (int i = 0; i < 1200000; i++)
        fputc('\n', f);
    fputs("]\n", f);
    fclose(f);
    import_ok(store, json, 5);
    free(json);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* The generator plants overdue and expiring items; 'due' must list
 * exactly those: no fewer, no more, with the same dates and fields. */
START_TEST(due_lists_exactly_the_planted_items)
{
    char *dir = tu_tmpdir("due"), *store = tu_path(dir, "s"), *planted = tu_path(dir, "planted");
    setenv("SCSMS_NOW", "2026-11-23T09:00:00Z", 1);
    init(store, "site");
    char *argv[] = {getenv("SCSMS_GEN"), "--store", store, "--planted", planted, NULL};
    struct tu_run r = tu_exec(argv, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "wrote a year of 308 records"));
    tu_run_free(&r);
    char *due = agent_ok(store, "due", "--within", "30", "--format", "json");
    struct json_object *list = json_tokener_parse(due);
    ck_assert_ptr_nonnull(list);
    size_t len;
    char *want = tu_read_file(planted, &len);
    ck_assert_int_eq(tu_lines(want), 15);
    ck_assert_uint_eq(json_object_array_length(list), 15);
    int64_t prev_late = 1 << 30;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *e = json_object_array_get_idx(list, i), *id, *field, *date, *late;
        ck_assert(json_object_object_get_ex(e, "id", &id));
        ck_assert(json_object_object_get_ex(e, "field", &field));
        ck_assert(json_object_object_get_ex(e, "date", &date));
        ck_assert(json_object_object_get_ex(e, "days_late", &late));
        char line[512];
        snprintf(line, sizeof line, "{\"id\":\"%s\",\"field\":\"%s\",\"date\":\"%s\"}\n",
                 json_object_get_string(id), json_object_get_string(field),
                 json_object_get_string(date));
        ck_assert_msg(strstr(want, line) != NULL, "not planted: %s", line);
        ck_assert_int_le(json_object_get_int64(late), prev_late); /* most late first */
        prev_late = json_object_get_int64(late);
    }
    unsetenv("SCSMS_NOW");
    json_object_put(list);
    free(due);
    free(want);
    free(planted);
    free(store);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("registers");
    TCase *t = tcase_create("round trip");
    size_t n;
    record_types(&n);
    tcase_add_loop_test(t, every_type_round_trips_json, 0, (int)n);
    tcase_add_loop_test(t, every_type_round_trips_csv, 0, (int)n);
    suite_add_tcase(s, t);
    TCase *io = tcase_create("import");
    tcase_add_test(io, large_csv_imports_with_progress);
    tcase_add_test(io, one_bad_row_refuses_the_file);
    tcase_add_test(io, every_refused_row_is_named);
    tcase_add_test(io, a_restore_is_held_to_the_rules);
    tcase_add_test(io, common_slips_are_read_right_or_refused);
    tcase_add_test(io, page_sized_files_are_read_to_their_end);
    tcase_add_test(io, json_split_inside_a_record_reads_on);
    tcase_add_test(io, json_second_half_error_is_printed);
    TCase *scan = tcase_create("split scan");
    tcase_set_timeout(scan, 20);
    tcase_add_test(scan, json_blank_run_is_scanned_once);
    suite_add_tcase(s, scan);
    tcase_add_test(io, due_lists_exactly_the_planted_items);
    suite_add_tcase(s, io);
    return tu_run_suite(s);
}

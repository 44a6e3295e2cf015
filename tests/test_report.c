/* test_report.c -- head office's reports through the real scsms-server:
 * a review pack over three sites, four partners' declarations of security
 * and head office (which reviews them) whose figures are known, checked
 * figure by figure in the JSON, the same figures in the
 * CSV, a self-contained HTML page; gaps and AEO readiness before and after
 * the only training record of one site is disposed of; bad input refused
 * with nothing written.
 *
 * `test_report --fixture DIR` only builds the data set (DIR/hq is the
 * server store), for tests/browser_review.sh. */
#include "testutil.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "crypto.h"
#include "record.h"
#include "store.h"

#define PERIOD "--from", "2026-01-01", "--to", "2026-06-30"

/* ------------------------------------------------------------ data set */

static void site_a(store_t *s, const char *hq_review)
{
    char eq[RECORD_MAX_ID + 1];
    (void)hq_review;
    /* incidents: two in the period and a near miss, one before it */
    tu_put(s, "{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":\"2026-01-15T10:00:00Z\","
              "\"location\":\"Gate 1\",\"category\":\"natural_events\"}", NULL);
    tu_put(s, "{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":\"2026-01-20T10:00:00Z\","
              "\"location\":\"Gate 2\",\"category\":\"natural_events\"}", NULL);
    tu_put(s, "{\"type\":\"incident\",\"kind\":\"security_incident\",\"occurred_at\":"
              "\"2026-03-03T23:30:00Z\",\"location\":\"Yard\",\"category\":"
              "\"physical_failure_or_malicious_act\",\"reported_to_authority\":true,"
              "\"reported_at\":\"2026-03-04T08:00:00Z\",\"authority_reference\":\"POL-1\"}", NULL);
    tu_put(s, "{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":\"2025-12-31T10:00:00Z\","
              "\"location\":\"Gate 2\"}", NULL);
    /* risks: inherent 4x5 and 5x5; residual 2x3 and 3x4 (12: intolerable) */
    tu_put(s, "{\"type\":\"risk\",\"threat_category\":\"natural_events\",\"threatened\":\"yard\","
              "\"likelihood\":4,\"consequence\":5,\"residual_likelihood\":2,"
              "\"residual_consequence\":3,\"treatment\":\"reduce\"}", NULL);
    tu_put(s, "{\"type\":\"risk\",\"threat_category\":\"physical_failure_or_malicious_act\","
              "\"threatened\":\"cargo\",\"likelihood\":5,\"consequence\":5,\"residual_likelihood\":3,"
              "\"residual_consequence\":4,\"treatment\":\"reduce\"}", NULL);
    /* actions: overdue 10 days and 149 days at 2026-06-30, one closed */
    tu_put(s, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"fix gate\","
              "\"responsible\":\"ops\",\"due_date\":\"2026-06-20\"}", NULL);
    tu_put(s, "{\"type\":\"action\",\"kind\":\"preventive\",\"description\":\"new seals\","
              "\"responsible\":\"ops\",\"due_date\":\"2026-02-01\"}", NULL);
    tu_put(s, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"lock\",\"responsible\":"
              "\"ops\",\"due_date\":\"2026-03-01\",\"status\":\"closed\",\"immediate\":true,"
              "\"effectiveness_check\":\"no repeat\",\"effectiveness_date\":\"2026-04-01\"}", NULL);
    /* audits: one held with three findings, one planned and not held */
    tu_put(s, "{\"type\":\"audit\",\"planned_date\":\"2026-04-08\",\"held_date\":\"2026-04-10\","
              "\"status\":\"reported\",\"audit_scope\":\"gates\",\"auditor\":\"C. Diaz\","
              "\"findings\":[{\"kind\":\"observation\",\"clause\":\"4.4.6\"},{\"kind\":"
              "\"nonconformity\",\"clause\":\"4.5.1 b)\"},{\"kind\":\"observation\",\"clause\":"
              "\"9.9\"}]}", NULL);
    tu_put(s, "{\"type\":\"audit\",\"planned_date\":\"2026-05-01\",\"audit_scope\":\"yard\","
              "\"auditor\":\"C. Diaz\"}", NULL);
    /* training: one valid, one expired */
    tu_put(s, "{\"type\":\"training\",\"person\":\"A. Chen\",\"course\":\"ISPS\",\"completed_date\":"
              "\"2026-02-01\",\"expiry_date\":\"2027-02-01\"}", NULL);
    tu_put(s, "{\"type\":\"training\",\"person\":\"B. Ortiz\",\"course\":\"ISPS\",\"completed_date\":"
              "\"2025-01-01\",\"expiry_date\":\"2026-01-01\"}", NULL);
    /* equipment: two in service, one calibrated (pass) in the period */
    tu_put(s, "{\"type\":\"equipment\",\"equipment_id\":\"CAM-1\",\"kind\":\"camera\",\"location\":"
              "\"Gate 1\",\"next_calibration_date\":\"2026-12-01\"}", eq);
    tu_put(s, "{\"type\":\"equipment\",\"equipment_id\":\"CAM-2\",\"kind\":\"camera\",\"location\":"
              "\"Gate 2\",\"next_calibration_date\":\"2026-07-10\"}", NULL);
    char json[512];
    snprintf(json, sizeof json, "{\"type\":\"calibration\",\"performed_date\":\"2026-03-01\","
             "\"result\":\"pass\",\"next_due_date\":\"2026-12-01\",\"links\":[{\"rel\":"
             "\"equipment\",\"target\":\"%s\"}]}", eq);
    tu_put(s, json, NULL);
    /* drills: held, not held, and one planned after the period */
    tu_put(s, "{\"type\":\"drill\",\"planned_date\":\"2026-02-10\",\"held_date\":\"2026-02-10\","
              "\"status\":\"held\",\"scenario\":\"fire\"}", NULL);
    tu_put(s, "{\"type\":\"drill\",\"planned_date\":\"2026-05-15\",\"scenario\":\"intrusion\"}", NULL);
    tu_put(s, "{\"type\":\"drill\",\"planned_date\":\"2026-08-01\",\"scenario\":\"flood\"}", NULL);
    /* measurements of head office's objective's indicator */
    tu_put(s, "{\"type\":\"measurement\",\"indicator\":\"seal discrepancies\",\"period_end_date\":"
              "\"2026-03-31\",\"value\":3,\"unit\":\"per 1000\"}", NULL);
    tu_put(s, "{\"type\":\"measurement\",\"indicator\":\"seal discrepancies\",\"period_end_date\":"
              "\"2026-06-30\",\"value\":2,\"unit\":\"per 1000\"}", NULL);
    tu_put(s, "{\"type\":\"procedure\",\"task_or_area\":\"Gate 1\",\"control\":\"ID check\","
              "\"status\":\"in_effect\"}", NULL);
    tu_put(s, "{\"type\":\"emergency_plan\",\"title\":\"Site plan\",\"person_in_charge\":\"A. Chen\","
              "\"status\":\"current\"}", NULL);
}

static void site_b(store_t *s)
{
    tu_put(s, "{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":\"2026-02-05T10:00:00Z\","
              "\"location\":\"Dock\",\"category\":\"continuity_of_operations\"}", NULL);
    /* the site's only training record, retained one day so it can go */
    tu_put(s, "{\"type\":\"training\",\"person\":\"D. Okafor\",\"course\":\"ISPS\",\"completed_date\":"
              "\"2026-03-01\",\"expiry_date\":\"2027-03-01\",\"retention_days\":1}", NULL);
    tu_put(s, "{\"type\":\"risk\",\"threat_category\":\"natural_events\",\"threatened\":\"dock\","
              "\"likelihood\":2,\"consequence\":2,\"residual_likelihood\":1,"
              "\"residual_consequence\":1,\"treatment\":\"accept\"}", NULL);
    tu_put(s, "{\"type\":\"procedure\",\"task_or_area\":\"Dock\",\"control\":\"seal check\","
              "\"status\":\"in_effect\"}", NULL);
    tu_put(s, "{\"type\":\"emergency_plan\",\"title\":\"Dock plan\",\"person_in_charge\":\"D. Okafor\","
              "\"status\":\"current\"}", NULL);
    tu_put(s, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"dock light\","
              "\"responsible\":\"ops\",\"due_date\":\"2026-09-01\"}", NULL);
}

static void site_c(store_t *s)
{
    tu_put(s, "{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":\"2026-06-01T10:00:00Z\","
              "\"location\":\"Road\"}", NULL);
    tu_put(s, "{\"type\":\"training\",\"person\":\"E. Novak\",\"course\":\"Seals\",\"completed_date\":"
              "\"2026-04-01\"}", NULL);
}

/* Head office: scope, policy, a controlled document, an objective, a
 * legal requirement, three partners (one exempt), a certificate, the
 * previous review and its two actions, two more partners. */
static void head_office(store_t *s)
{
    char mrv[RECORD_MAX_ID + 1], json[512];
    tu_put(s, "{\"type\":\"scope\",\"boundaries\":\"all sites\",\"status\":\"current\"}", NULL);
    tu_put(s, "{\"type\":\"policy\",\"title\":\"Security policy\",\"statement\":\"We protect\","
              "\"status\":\"current\"}", NULL);
    tu_put(s, "{\"type\":\"document\",\"doc_id\":\"SP-1\",\"doc_version\":\"1\",\"title\":\"Plan\","
              "\"status\":\"current\"}", NULL);
    tu_put(s, "{\"type\":\"objective\",\"title\":\"Fewer seal errors\",\"indicator\":"
              "\"seal discrepancies\",\"baseline\":4,\"target_value\":2.5,\"unit\":\"per 1000\"}", NULL);
    tu_put(s, "{\"type\":\"legal_requirement\",\"source\":\"UCC art. 39\",\"summary\":\"AEO\"}", NULL);
    tu_put(s, "{\"type\":\"partner\",\"partner_id\":\"CARRIER-1\",\"name\":\"Fast Haul\"}", NULL);
    tu_put(s, "{\"type\":\"partner\",\"partner_id\":\"CARRIER-2\",\"name\":\"Slow Haul\","
              "\"exempt\":true,\"exemption_reason\":\"AEO holder\"}", NULL);
    tu_put(s, "{\"type\":\"partner\",\"partner_id\":\"CARRIER-3\",\"name\":\"No Papers\"}", NULL);
    tu_put(s, "{\"type\":\"certificate\",\"partner_id\":\"CARRIER-1\",\"scheme\":\"aeo\",\"number\":"
              "\"NL1\",\"valid_from_date\":\"2026-01-01\",\"expiry_date\":\"2027-01-01\"}", NULL);
    tu_put(s, "{\"type\":\"management_review\",\"period_from_date\":\"2025-07-01\","
              "\"period_to_date\":\"2025-12-31\",\"held_date\":\"2026-01-10\"}", mrv);
    snprintf(json, sizeof json, "{\"type\":\"action\",\"kind\":\"preventive\",\"description\":"
             "\"more drills\",\"responsible\":\"hq\",\"due_date\":\"2026-03-01\",\"links\":[{"
             "\"rel\":\"source\",\"target\":\"%s\"}]}", mrv);
    tu_put(s, json, NULL);
    snprintf(json, sizeof json, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":"
             "\"guard rota\",\"responsible\":\"hq\",\"due_date\":\"2026-03-01\",\"status\":"
             "\"implemented\",\"immediate\":true,\"links\":[{\"rel\":\"source\",\"target\":\"%s\"}]}",
             mrv);
    tu_put(s, json, NULL);
    tu_put(s, "{\"type\":\"partner\",\"partner_id\":\"CARRIER-4\",\"name\":\"New Version\"}", NULL);
    tu_put(s, "{\"type\":\"partner\",\"partner_id\":\"CARRIER-5\",\"name\":\"Turned Down\"}", NULL);
}

/* A partner's declaration of security, written and signed in its own
 * store (status submitted); sites is a JSON array or NULL (every site). */
static void declare(store_t *s, const char *sites, char *id_out)
{
    char json[512];
    snprintf(json, sizeof json, "{\"type\":\"declaration\",\"partner_id\":\"%s\",\"coverage\":"
             "\"road EU\",%s%s%s\"measures\":[\"sealed trailers\"],\"valid_from_date\":"
             "\"2026-01-01\",\"valid_to_date\":\"2026-12-31\"}", store_owner(s),
             sites ? "\"covered_sites\":" : "", sites ? sites : "", sites ? "," : "");
    tu_put(s, json, id_out);
}

/* The partner writes the next version of its declaration id: field set
 * to value ("status" for the envelope's). */
static void redeclare(store_t *s, const char *id, const char *field, const char *value)
{
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get(s, id, 0, &r), 0);
    ck_assert_int_eq(record_set_string(!strcmp(field, "status") ? &r->status
                                                                : &r->declaration->coverage, value),
                     0);
    ck_assert_msg(store_put(s, r, NULL) == 0, "%s: %s", id, scsms_errmsg());
    record_free(r);
}

/* Head office's credibility review of version `version` of declaration
 * id, as `scsms-server review-declaration` writes it: naming that
 * version by the SHA-256 of its exact stored bytes. */
static void review_declaration(store_t *hq, const char *id, uint32_t version, const char *decision)
{
    Scsms__Record *decl = NULL, *rec = record_new(record_type_by_name("credibility_review"));
    uint8_t *bytes = NULL;
    size_t len;
    ck_assert_ptr_nonnull(rec);
    ck_assert_int_eq(store_get(hq, id, version, &decl), 0);
    ck_assert_int_eq(store_get_bytes(hq, id, decl->version, &bytes, &len), 0);
    Scsms__CredibilityReview *cr = rec->credibility_review;
    cr->declaration_version = decl->version;
    cr->decision = !strcmp(decision, "accepted") ? SCSMS__CREDIBILITY_REVIEW__DECISION__ACCEPTED
                                                 : SCSMS__CREDIBILITY_REVIEW__DECISION__REJECTED;
    ck_assert_int_eq(record_set_string(&cr->declaration_id, id), 0);
    ck_assert_int_eq(record_set_string(&cr->partner_id, decl->declaration->partner_id), 0);
    ck_assert_int_eq(record_set_string(&cr->reviewer, "J. Ode"), 0);
    ck_assert_int_eq(record_set_string(&cr->reason, "measures seen on a visit"), 0);
    ck_assert_int_eq(record_set_string(&cr->reviewed_date, "2026-06-30"), 0);
    ck_assert_int_eq(record_set_string(&rec->status, decision), 0);
    ck_assert_ptr_nonnull(cr->declaration_sha256.data = malloc(CRYPTO_HASH_LEN));
    crypto_sha256(bytes, len, cr->declaration_sha256.data);
    cr->declaration_sha256.len = CRYPTO_HASH_LEN;
    ck_assert_msg(store_put(hq, rec, NULL) == 0, "review of %s: %s", id, scsms_errmsg());
    free(bytes);
    record_free(decl);
    record_free(rec);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The data set under dir: dir/hq is the server store holding every log.
 * The partners' declarations and head office's reviews of them:
 *   CARRIER-1  covers SITE-A; rejected, then accepted on a re-review (the
 *              latest review counts): the one accepted declaration;
 *   CARRIER-3  covers SITE-C; accepted, then withdrawn by the partner;
 *   CARRIER-4  covers SITE-B; version 1 accepted, then a version 2 that
 *              awaits its review (a review is of one version);
 *   CARRIER-5  covers every site; accepted, then rejected on a re-review;
 *   CARRIER-6  covers SITE-A, unreviewed, and head office keeps no partner
 *              record of it: counted apart, as unlisted. */
static void build_fixture(const char *dir)
{
    static const struct {
        const char *id;
        int role, ident;
    } who[] = {{"SITE-A", STORE_ROLE_SITE, SCSMS__IDENTITY__ROLE__SITE},
               {"SITE-B", STORE_ROLE_SITE, SCSMS__IDENTITY__ROLE__SITE},
               {"SITE-C", STORE_ROLE_SITE, SCSMS__IDENTITY__ROLE__SITE},
               {"CARRIER-1", STORE_ROLE_PARTNER, SCSMS__IDENTITY__ROLE__PARTNER},
               {"CARRIER-3", STORE_ROLE_PARTNER, SCSMS__IDENTITY__ROLE__PARTNER},
               {"CARRIER-4", STORE_ROLE_PARTNER, SCSMS__IDENTITY__ROLE__PARTNER},
               {"CARRIER-5", STORE_ROLE_PARTNER, SCSMS__IDENTITY__ROLE__PARTNER},
               {"CARRIER-6", STORE_ROLE_PARTNER, SCSMS__IDENTITY__ROLE__PARTNER}};
    enum { N = sizeof who / sizeof who[0], C1 = 3, C3, C4, C5, C6 };
    store_t *st[N];
    char decl[N][RECORD_MAX_ID + 1];
    setenv("SCSMS_NOW", "2026-06-30T12:00:00Z", 1);
    char *hqdir = tu_path(dir, "hq");
    store_t *hq = tu_store_new(hqdir, "HQ", STORE_ROLE_HQ);
    for (int i = 0; i < N; i++) {
        char *d = tu_path(dir, who[i].id);
        ck_assert_int_eq(store_create(d, who[i].id, (enum store_role)who[i].role, NULL), 0);
        /* SITE-B may dispose of its records (the gaps test does) */
        char *ini = tu_path(d, "scsms.ini");
        write_file(ini, "[records]\ndisposal_authorised = tester\n");
        free(ini);
        ck_assert_int_eq(store_open(d, NULL, &st[i]), 0);
        tu_enrol(hq, st[i], d, who[i].ident);
        free(d);
    }
    head_office(hq);
    site_a(st[0], NULL);
    site_b(st[1]);
    site_c(st[2]);
    declare(st[C1], "[\"SITE-A\"]", decl[C1]);
    declare(st[C3], "[\"SITE-C\"]", decl[C3]);
    declare(st[C4], "[\"SITE-B\"]", decl[C4]);
    declare(st[C5], NULL, decl[C5]);
    declare(st[C6], "[\"SITE-A\"]", decl[C6]); /* no partner record at head office */
    for (int i = 0; i < N; i++)
        tu_ship(st[i], hq);
    review_declaration(hq, decl[C1], 1, "rejected");
    review_declaration(hq, decl[C3], 1, "accepted");
    review_declaration(hq, decl[C4], 1, "accepted");
    review_declaration(hq, decl[C5], 1, "accepted");
    /* an hour later */
    setenv("SCSMS_NOW", "2026-06-30T13:00:00Z", 1);
    review_declaration(hq, decl[C1], 1, "accepted");
    review_declaration(hq, decl[C5], 1, "rejected");
    redeclare(st[C3], decl[C3], "status", "withdrawn");
    redeclare(st[C4], decl[C4], "coverage", "road and rail EU");
    for (int i = 0; i < N; i++) {
        tu_ship(st[i], hq);
        store_close(&st[i]);
    }
    store_close(&hq);
    free(hqdir);
    unsetenv("SCSMS_NOW");
}

/* ------------------------------------------------------------ helpers */

struct fx {
    char *tmp, *hq, *out;
};

static struct fx fx_new(void)
{
    struct fx f;
    f.tmp = tu_tmpdir("report");
    build_fixture(f.tmp);
    f.hq = tu_path(f.tmp, "hq");
    f.out = tu_path(f.tmp, "out");
    return f;
}

static void fx_free(struct fx *f)
{
    tu_rmdir(f->tmp);
    free(f->tmp);
    free(f->hq);
    free(f->out);
}

static struct tu_run server(const char *a1, ...)
{
    char *argv[32];
    int n = 0;
    const char *bin = getenv("SCSMS_SERVER");
    ck_assert_msg(bin && *bin, "SCSMS_SERVER must name the scsms-server binary");
    argv[n++] = (char *)bin;
    argv[n++] = "report";
    va_list ap;
    va_start(ap, a1);
    for (const char *a = a1; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return tu_exec(argv, NULL);
}

/* f->out removed, for a report to write it anew (one is never replaced). */
static const char *fresh_out(struct fx *f)
{
    unlink(f->out);
    return f->out;
}

/* Run a report into f->out and parse it; checks the line it prints. */
static struct json_object *report_json(struct fx *f, const char *kind, const char *sites)
{
    struct tu_run r = sites ? server(kind, PERIOD, "--sites", sites, "--format", "json", "--out",
                                     fresh_out(f), "--store", f->hq, NULL)
                            : server(kind, PERIOD, "--format", "json", "--out", fresh_out(f),
                                     "--store", f->hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    size_t len;
    char *text = tu_read_file(f->out, &len);
    ck_assert_ptr_nonnull(text);
    /* stdout names the file, its size and the SHA-256 of its bytes */
    uint8_t sha[CRYPTO_HASH_LEN];
    char hex[2 * CRYPTO_HASH_LEN + 1], want[4096];
    crypto_sha256(text, len, sha);
    crypto_hex(sha, sizeof sha, hex);
    snprintf(want, sizeof want, "wrote %s %s %s (%zu bytes, sha256 %s)\n", kind,
             strcmp(kind, "review") ? "report" : "pack", f->out, len, hex);
    ck_assert_str_eq(r.out, want);
    struct json_object *j = json_tokener_parse(text);
    ck_assert_ptr_nonnull(j);
    free(text);
    tu_run_free(&r);
    return j;
}

/* The integer at a '/'-separated path ("incidents/total/near_misses"). */
static int64_t at(struct json_object *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    struct json_object *o = j;
    for (char *save = NULL, *k = strtok_r(buf, "/", &save); k; k = strtok_r(NULL, "/", &save)) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(k));
        else
            ck_assert_msg(json_object_object_get_ex(o, k, &o), "no '%s' in %s", k, path);
        ck_assert_msg(o != NULL, "nothing at %s", path);
    }
    return json_object_get_int64(o);
}

static const char *str_at(struct json_object *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    struct json_object *o = j;
    for (char *save = NULL, *k = strtok_r(buf, "/", &save); k; k = strtok_r(NULL, "/", &save))
        ck_assert_msg(json_object_object_get_ex(o, k, &o) && o, "no '%s' in %s", k, path);
    return json_object_get_string(o);
}

static const struct {
    const char *path;
    int64_t want;
} review_figures[] = {
    {"incidents/total/incidents", 2},
    {"incidents/total/near_misses", 3},
    {"incidents/total/reported_to_authority", 1},
    {"incidents/total/by_month/2026-01/incidents", 1},
    {"incidents/total/by_month/2026-01/near_misses", 1},
    {"incidents/total/by_month/2026-02/near_misses", 1},
    {"incidents/total/by_month/2026-03/incidents", 1},
    {"incidents/total/by_month/2026-06/near_misses", 1},
    {"incidents/total/by_month/2026-05/near_misses", 0},
    {"incidents/total/by_category/natural_events", 2},
    {"incidents/total/by_category/physical_failure_or_malicious_act", 1},
    {"incidents/total/by_category/continuity_of_operations", 1},
    {"incidents/total/by_category/unset", 1},
    {"incidents/by_site/SITE-A/incidents", 2},
    {"incidents/by_site/SITE-A/near_misses", 1},
    {"incidents/by_site/SITE-B/near_misses", 1},
    {"incidents/by_site/SITE-C/by_month/2026-06/near_misses", 1},
    {"risks/total/open", 3},
    {"risks/total/intolerable", 1},
    {"risks/total/inherent/3/4", 1},
    {"risks/total/inherent/4/4", 1},
    {"risks/total/inherent/1/1", 1},
    {"risks/total/residual/1/2", 1},
    {"risks/total/residual/2/3", 1},
    {"risks/total/residual/0/0", 1},
    {"risks/by_site/SITE-A/intolerable", 1},
    /* head office's own two actions count too ("more drills" is open,
     * 121 days late; "guard rota" implemented), under its own name */
    {"actions/total/by_status/open", 4},
    {"actions/total/by_status/implemented", 1},
    {"actions/total/by_status/closed", 1},
    {"actions/total/overdue", 3},
    {"actions/total/overdue_days/1-30", 1},
    {"actions/total/overdue_days/91-180", 2},
    {"actions/total/overdue_days/31-90", 0},
    {"actions/total/raised_corrective", 4},
    {"actions/total/raised_preventive", 2},
    {"actions/by_site/SITE-B/overdue", 0},
    {"actions/by_site/HQ/by_status/open", 1},
    {"actions/by_site/HQ/by_status/implemented", 1},
    {"actions/by_site/HQ/overdue", 1},
    {"measurements/total/objectives/open", 1},
    {"measurements/by_site/HQ/objectives/open", 1},
    {"other_inputs/total/new_legal_requirements", 1},
    {"other_inputs/by_site/HQ/new_legal_requirements", 1},
    {"audits/total/planned", 2},
    {"audits/total/held", 1},
    {"audits/total/not_held", 1},
    {"audits/total/findings", 3},
    {"audits/total/findings_by_clause/4.4.6/observation", 1},
    {"audits/total/findings_by_clause/4.5.1/nonconformity", 1},
    {"audits/total/findings_by_clause/other/observation", 1},
    {"measurements/total/measurements", 2},
    {"measurements/total/by_indicator/seal discrepancies/measurements", 2},
    {"training/total/valid", 3},
    {"training/total/expired", 1},
    {"training/total/completed_in_period", 3},
    {"training/total/sites_covered", 3},
    {"training/by_site/SITE-A/expired", 1},
    {"equipment/total/by_status/in_service", 2},
    {"equipment/total/calibration_overdue", 0},
    {"equipment/total/calibrations_passed", 1},
    {"drills/total/planned", 2},
    {"drills/total/held", 1},
    {"drills/total/not_held", 1},
    {"partners/total/active", 5},
    {"partners/total/exempt", 1},
    {"partners/total/with_certificate", 1},
    {"partners/total/with_declaration", 1}, /* CARRIER-1's, accepted on its re-review */
    {"partners/total/with_both", 1},
    {"partners/total/with_neither", 3},     /* CARRIER-3, -4 and -5 */
    {"partners/total/declarations_awaiting_review", 1}, /* CARRIER-4's version 2 */
    {"partners/total/declarations_rejected", 1},        /* CARRIER-5's, on its re-review */
    {"partners/total/unlisted", 1},                     /* CARRIER-6 */
    {"partners/by_site/SITE-A/declarations_in_force", 1},
    {"partners/by_site/SITE-B/declarations_in_force", 0}, /* only version 1 was accepted */
    {"partners/by_site/SITE-C/declarations_in_force", 0}, /* withdrawn; CARRIER-5's rejected */
    {"followup/actions/open", 1},
    {"followup/actions/implemented", 1},
    {"followup/actions_total", 2},
    {"followup/overdue", 1},
};

/* ------------------------------------------------------------ tests */

START_TEST(review_figures_in_json_and_csv)
{
    struct fx f = fx_new();
    struct json_object *j = report_json(&f, "review", NULL);
    for (size_t i = 0; i < sizeof review_figures / sizeof review_figures[0]; i++)
        ck_assert_msg(at(j, review_figures[i].path) == review_figures[i].want, "%s: %lld, want %lld",
                      review_figures[i].path, (long long)at(j, review_figures[i].path),
                      (long long)review_figures[i].want);
    ck_assert_str_eq(str_at(j, "followup/previous_review"), "HQ-MRV-000010");
    struct json_object *ind = NULL;
    ck_assert(json_object_object_get_ex(
        json_object_object_get(json_object_object_get(json_object_object_get(j, "measurements"),
                                                      "total"), "by_indicator"),
        "seal discrepancies", &ind));
    ck_assert_double_eq(json_object_get_double(json_object_object_get(ind, "mean")), 2.5);
    ck_assert_double_eq(json_object_get_double(json_object_object_get(ind, "latest")), 2.0);
    ck_assert_double_eq(json_object_get_double(json_object_object_get(ind, "objective_target")), 2.5);
    ck_assert_int_eq(json_object_array_length(json_object_object_get(j, "months")), 6);
    json_object_put(j);

    /* the CSV carries the same figures, one row each */
    struct tu_run r = server("review", PERIOD, "--format", "csv", "--out", fresh_out(&f), "--store", f.hq, NULL);
    ck_assert_int_eq(r.status, 0);
    char *csv = tu_read_file(f.out, NULL);
    static const char *const rows[] = {
        "section,site,key,value\n", "\nincidents,ALL,near_misses,3\n",
        "\nincidents,SITE-A,by_month.2026-03.incidents,1\n", "\nrisks,ALL,inherent.5.5,1\n",
        "\nactions,ALL,overdue_days.91-180,2\n", "\nactions,HQ,overdue,1\n", "\npartners,SITE-A,declarations_in_force,1\n",
        "\nfollowup,,actions.open,1\n"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        ck_assert_msg(strstr(csv, rows[i]), "no CSV row %s", rows[i]);
    free(csv);
    tu_run_free(&r);

    /* the HTML is one file that fetches nothing, with its charts */
    r = server("review", PERIOD, "--out", fresh_out(&f), "--store", f.hq, NULL);
    ck_assert_int_eq(r.status, 0);
    char *html = tu_read_file(f.out, NULL);
    static const char *const fetches[] = {"http://", "https://", "src=", "<link", "<script"};
    for (size_t i = 0; i < sizeof fetches / sizeof fetches[0]; i++)
        ck_assert_msg(!strstr(html, fetches[i]), "the pack holds %s", fetches[i]);
    ck_assert_ptr_nonnull(strstr(html, "id=\"chart-risk-residual\""));
    ck_assert_ptr_nonnull(strstr(html, "id=\"fig-near-misses\">3<"));
    ck_assert_ptr_nonnull(strstr(html, "id=\"fig-overdue-actions\">3<"));
    /* head office's row in the per-site table: no incidents, no risks,
     * one overdue action */
    ck_assert_ptr_nonnull(strstr(html, "<tr><td>HQ</td><td class=\"n\">0</td><td class=\"n\">0"
                                       "</td><td class=\"n\">0</td><td class=\"n\">0</td><td "
                                       "class=\"n\">1</td>"));
    free(html);
    tu_run_free(&r);
    fx_free(&f);
}
END_TEST

START_TEST(review_of_chosen_sites)
{
    struct fx f = fx_new();
    struct json_object *j = report_json(&f, "review", "SITE-C,SITE-A");
    ck_assert_int_eq(json_object_array_length(json_object_object_get(j, "sites")), 2);
    ck_assert_int_eq(at(j, "incidents/total/incidents"), 2);
    ck_assert_int_eq(at(j, "incidents/total/near_misses"), 2);
    ck_assert_int_eq(at(j, "training/total/valid"), 2);
    ck_assert(!json_object_object_get_ex(json_object_object_get(json_object_object_get(j, "incidents"),
                                                                "by_site"), "SITE-B", NULL));
    json_object_put(j);
    fx_free(&f);
}
END_TEST

/* The fixture's store of who ("hq", "SITE-C"), open for more records
 * written at 2026-06-30 14:00, after all the fixture wrote. Close it with
 * fx_close(), which ships a site's new records to head office. */
static store_t *fx_open(struct fx *f, const char *who)
{
    store_t *s = NULL;
    char *dir = tu_path(f->tmp, who);
    setenv("SCSMS_NOW", "2026-06-30T14:00:00Z", 1);
    ck_assert_int_eq(store_open(dir, NULL, &s), 0);
    free(dir);
    return s;
}

static void fx_close(struct fx *f, store_t *s)
{
    if (strcmp(store_owner(s), "HQ")) {
        store_t *hq = NULL;
        ck_assert_int_eq(store_open(f->hq, NULL, &hq), 0);
        tu_ship(s, hq);
        store_close(&hq);
    }
    store_close(&s);
    unsetenv("SCSMS_NOW");
}

/* The next version of record id at s, in status `status`. */
static void set_status(store_t *s, const char *id, const char *status)
{
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get(s, id, 0, &r), 0);
    ck_assert_int_eq(record_set_string(&r->status, status), 0);
    ck_assert_msg(store_put(s, r, NULL) == 0, "%s: %s", id, scsms_errmsg());
    record_free(r);
}

static void figures_are(struct json_object *j, const char *const *paths, const int64_t *want,
                        size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(at(j, paths[i]) == want[i], "%s: %lld, want %lld", paths[i],
                      (long long)at(j, paths[i]), (long long)want[i]);
}

/* Head office's own risks, audits, evaluations, communications,
 * nonconformities and measurements are review inputs like any site's:
 * under its own name per site and in the totals. */
START_TEST(head_office_records_count)
{
    struct fx f = fx_new();
    store_t *hq = fx_open(&f, "hq");
    tu_put(hq, "{\"type\":\"risk\",\"threat_category\":\"information_data_communications\","
               "\"threatened\":\"booking data\",\"likelihood\":4,\"consequence\":4,"
               "\"residual_likelihood\":3,\"residual_consequence\":3,\"treatment\":\"reduce\"}", NULL);
    tu_put(hq, "{\"type\":\"audit\",\"planned_date\":\"2026-05-04\",\"held_date\":\"2026-05-05\","
               "\"status\":\"reported\",\"audit_scope\":\"site programme\",\"auditor\":\"BV\","
               "\"findings\":[{\"kind\":\"nonconformity\",\"clause\":\"4.4.1\"}]}", NULL);
    tu_put(hq, "{\"type\":\"evaluation\",\"subject\":\"legal_compliance\",\"evaluated_date\":"
               "\"2026-04-01\",\"result\":\"in order\",\"compliant\":true}", NULL);
    tu_put(hq, "{\"type\":\"communication\",\"kind\":\"briefing\",\"subject\":\"AEO audit\","
               "\"held_date\":\"2026-03-01\"}", NULL);
    tu_put(hq, "{\"type\":\"nonconformity\",\"source\":\"audit\",\"description\":\"no deputy\","
               "\"raised_date\":\"2026-05-05\"}", NULL);
    tu_put(hq, "{\"type\":\"measurement\",\"indicator\":\"badge audits\",\"period_end_date\":"
               "\"2026-05-31\",\"value\":7,\"unit\":\"audits\"}", NULL);
    fx_close(&f, hq);
    struct json_object *j = report_json(&f, "review", NULL);
    static const char *const paths[] = {
        "risks/by_site/HQ/open", "risks/by_site/HQ/intolerable", "risks/total/open",
        "risks/total/intolerable", "risks/total/residual/2/2",
        "audits/by_site/HQ/held", "audits/by_site/HQ/findings", "audits/total/held",
        "audits/total/findings", "audits/total/findings_by_clause/4.4.1/nonconformity",
        "other_inputs/by_site/HQ/evaluations", "other_inputs/by_site/HQ/evaluations_compliant",
        "other_inputs/by_site/HQ/communications/briefing", "other_inputs/total/communications/briefing",
        "other_inputs/by_site/HQ/nonconformities_raised", "other_inputs/total/nonconformities_raised",
        "measurements/by_site/HQ/measurements", "measurements/total/measurements",
        "measurements/total/by_indicator/badge audits/measurements",
        "measurements/by_site/SITE-A/measurements"};
    static const int64_t want[] = {1, 1, 4, 2, 1, 1, 1, 2, 4, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 2};
    figures_are(j, paths, want, sizeof want / sizeof want[0]);
    json_object_put(j);
    /* the terminal table has head office's row between the sites and ALL */
    struct tu_run r = server("review", PERIOD, "--store", f.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "\nHQ                           0           0         1"
                                        "           1        1         0          0         0\nALL "));
    tu_run_free(&r);
    fx_free(&f);
}
END_TEST

/* An action head office addresses to a site (its `site`) is that site's
 * to do: counted at that site, and only when that site is chosen. */
START_TEST(head_office_actions_count_at_their_site)
{
    struct fx f = fx_new();
    store_t *hq = fx_open(&f, "hq");
    tu_put(hq, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"fence repair\","
               "\"responsible\":\"dock lead\",\"due_date\":\"2026-05-01\",\"site\":\"SITE-B\"}", NULL);
    tu_put(hq, "{\"type\":\"action\",\"kind\":\"preventive\",\"description\":\"night patrol\","
               "\"responsible\":\"road lead\",\"due_date\":\"2026-08-01\",\"site\":\"SITE-C\"}", NULL);
    /* addressed to no enrolled site: still open work, head office's */
    tu_put(hq, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"gate log\","
               "\"responsible\":\"hq\",\"due_date\":\"2026-05-01\",\"site\":\"SITE-Z\"}", NULL);
    fx_close(&f, hq);
    struct json_object *j = report_json(&f, "review", NULL);
    static const char *const paths[] = {
        "actions/by_site/SITE-B/by_status/open", "actions/by_site/SITE-B/overdue",
        "actions/by_site/SITE-B/overdue_days/31-90", "actions/by_site/SITE-C/by_status/open",
        "actions/by_site/SITE-C/raised_preventive", "actions/by_site/HQ/by_status/open",
        "actions/by_site/HQ/overdue", "actions/total/by_status/open", "actions/total/overdue"};
    static const int64_t want[] = {2, 1, 1, 1, 1, 2, 2, 7, 5};
    figures_are(j, paths, want, sizeof want / sizeof want[0]);
    json_object_put(j);
    /* a site chosen alone: its own actions, those addressed to it and head
     * office's own, never another site's */
    j = report_json(&f, "review", "SITE-A");
    static const char *const a_paths[] = {"actions/total/by_status/open", "actions/total/overdue",
                                          "actions/by_site/SITE-A/by_status/open"};
    static const int64_t a_want[] = {3, 3, 2};
    figures_are(j, a_paths, a_want, 3);
    json_object_put(j);
    j = report_json(&f, "review", "SITE-B");
    static const char *const b_paths[] = {"actions/total/by_status/open", "actions/total/overdue",
                                          "actions/by_site/SITE-B/by_status/open"};
    static const int64_t b_want[] = {3, 2, 2};
    figures_are(j, b_paths, b_want, 3);
    json_object_put(j);
    fx_free(&f);
}
END_TEST

/* The follow-up lists every action raised by an earlier management
 * review that is still open, not only the latest review's: here one of a
 * review held a year before, addressed to SITE-B, and SITE-C's own action
 * that review links to. */
START_TEST(followup_lists_open_actions_of_every_earlier_review)
{
    struct fx f = fx_new();
    store_t *site_c = fx_open(&f, "SITE-C");
    char act[RECORD_MAX_ID + 1], mrv[RECORD_MAX_ID + 1], json[512];
    tu_put(site_c, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":\"check fences\","
                   "\"responsible\":\"road lead\",\"due_date\":\"2026-04-30\"}", act);
    ck_assert_str_eq(act, "SITE-C-ACT-000003");
    fx_close(&f, site_c);
    store_t *hq = fx_open(&f, "hq");
    snprintf(json, sizeof json, "{\"type\":\"management_review\",\"period_from_date\":"
             "\"2025-01-01\",\"period_to_date\":\"2025-06-30\",\"held_date\":\"2025-07-10\","
             "\"links\":[{\"rel\":\"action\",\"target\":\"%s\"}]}", act);
    tu_put(hq, json, mrv);
    ck_assert_str_eq(mrv, "HQ-MRV-000021");
    snprintf(json, sizeof json, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":"
             "\"gate lights\",\"responsible\":\"dock lead\",\"due_date\":\"2025-10-01\",\"site\":"
             "\"SITE-B\",\"links\":[{\"rel\":\"source\",\"target\":\"%s\"}]}", mrv);
    tu_put(hq, json, NULL);
    snprintf(json, sizeof json, "{\"type\":\"action\",\"kind\":\"corrective\",\"description\":"
             "\"vetting\",\"responsible\":\"hq\",\"due_date\":\"2025-09-01\",\"status\":"
             "\"implemented\",\"immediate\":true,\"links\":[{\"rel\":\"source\",\"target\":\"%s\"}]}",
             mrv);
    tu_put(hq, json, NULL);
    fx_close(&f, hq);

    static const char *const want_all[][5] = {
        {"HQ-ACT-000022", "HQ-MRV-000021", "SITE-B", "2025-10-01", "272"},
        {"HQ-ACT-000011", "HQ-MRV-000010", "HQ", "2026-03-01", "121"},
        {"SITE-C-ACT-000003", "HQ-MRV-000021", "SITE-C", "2026-04-30", "61"}};
    for (int pass = 0; pass < 2; pass++) {
        /* every site; then SITE-A alone: head office's own action only */
        struct json_object *j = report_json(&f, "review", pass ? "SITE-A" : NULL);
        size_t n = pass ? 1 : 3;
        const char *const(*want)[5] = pass ? want_all + 1 : want_all;
        ck_assert_str_eq(str_at(j, "followup/previous_review"), "HQ-MRV-000010");
        ck_assert_int_eq(at(j, "followup/actions_total"), 2);
        ck_assert_int_eq(at(j, "followup/open_actions_total"), (int64_t)n);
        ck_assert_int_eq(at(j, "followup/open_actions_overdue"), (int64_t)n);
        struct json_object *list = json_object_object_get(json_object_object_get(j, "followup"),
                                                          "open_actions");
        ck_assert_uint_eq(json_object_array_length(list), n);
        for (size_t i = 0; i < n; i++) {
            struct json_object *e = json_object_array_get_idx(list, i);
            ck_assert_str_eq(str_at(e, "id"), want[i][0]);
            ck_assert_str_eq(str_at(e, "review"), want[i][1]);
            ck_assert_str_eq(str_at(e, "site"), want[i][2]);
            ck_assert_str_eq(str_at(e, "due_date"), want[i][3]);
            ck_assert_int_eq(at(e, "days_late"), atoi(want[i][4]));
        }
        json_object_put(j);
    }
    /* and on the page, one row each */
    struct tu_run r = server("review", PERIOD, "--out", fresh_out(&f), "--store", f.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *html = tu_read_file(f.out, NULL);
    ck_assert_ptr_nonnull(strstr(html, "<tr><td>HQ-ACT-000022</td><td>HQ-MRV-000021</td><td>SITE-B"
                                       "</td><td>2025-10-01</td><td class=\"n\">272</td></tr>"));
    free(html);
    tu_run_free(&r);
    fx_free(&f);
}
END_TEST

/* Objectives nothing was measured against take no place among the
 * measured indicators: with more of them than the indicators shown one by
 * one, every measured indicator is still shown, and they are counted. */
START_TEST(unmeasured_objectives_displace_no_indicator)
{
    struct fx f = fx_new();
    store_t *hq = fx_open(&f, "hq");
    for (int i = 0; i < 30; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"type\":\"objective\",\"title\":\"goal %d\",\"indicator\":"
                 "\"unmeasured %02d\",\"baseline\":1,\"target_value\":2}", i, i);
        tu_put(hq, json, NULL);
    }
    fx_close(&f, hq);
    store_t *site_c = fx_open(&f, "SITE-C");
    tu_put(site_c, "{\"type\":\"measurement\",\"indicator\":\"patrol rounds\",\"period_end_date\":"
                   "\"2026-06-30\",\"value\":41,\"unit\":\"rounds\"}", NULL);
    fx_close(&f, site_c);
    struct json_object *j = report_json(&f, "review", NULL);
    struct json_object *ind = json_object_object_get(
        json_object_object_get(json_object_object_get(j, "measurements"), "total"), "by_indicator");
    ck_assert_int_eq(json_object_object_length(ind), 2);
    ck_assert_int_eq(at(j, "measurements/total/by_indicator/seal discrepancies/measurements"), 2);
    ck_assert_double_eq(json_object_get_double(json_object_object_get(
        json_object_object_get(ind, "seal discrepancies"), "objective_target")), 2.5);
    ck_assert_int_eq(at(j, "measurements/total/by_indicator/patrol rounds/measurements"), 1);
    ck_assert_int_eq(at(j, "measurements/total/other_indicators"), 0);
    ck_assert_int_eq(at(j, "measurements/total/objectives_unmeasured"), 30);
    ck_assert_int_eq(at(j, "measurements/total/objectives/open"), 31);
    json_object_put(j);
    fx_free(&f);
}
END_TEST

/* Is clause (or area) `key` listed in the array at by_site/SITE/list? */
static int listed(struct json_object *j, const char *site, const char *list, const char *key)
{
    struct json_object *a = json_object_object_get(json_object_object_get(j, "by_site"), site);
    const char *area = strchr(list, '/');
    if (area) { /* "A/missing" */
        char name[8];
        snprintf(name, sizeof name, "%.*s", (int)(area - list), list);
        a = json_object_object_get(a, name);
        list = area + 1;
    }
    a = json_object_object_get(a, list);
    for (size_t i = 0; i < json_object_array_length(a); i++)
        if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), key))
            return 1;
    return 0;
}

static int area_ready(struct json_object *j, const char *site, const char *area)
{
    return json_object_get_boolean(json_object_object_get(json_object_object_get(
        json_object_object_get(json_object_object_get(j, "by_site"), site), area), "ready"));
}

START_TEST(gaps_and_aeo_follow_training_evidence)
{
    struct fx f = fx_new();
    struct json_object *g = report_json(&f, "gaps", NULL), *a = report_json(&f, "aeo", NULL);
    static const char *const sites[] = {"SITE-A", "SITE-B", "SITE-C"};
    for (int i = 0; i < 3; i++) {
        ck_assert(!listed(g, sites[i], "gaps", "4.4.2"));
        ck_assert(area_ready(a, sites[i], "A"));
    }
    /* what the evidence is, and head office's for every site */
    ck_assert_int_eq(at(g, "by_site/SITE-A/clauses/4.4.2/records/training"), 1);
    ck_assert_int_eq(at(g, "by_site/SITE-C/clauses/4.2/records/policy"), 1);
    /* SITE-A has everything but a programme, targets, ... */
    ck_assert(listed(g, "SITE-A", "gaps", "4.3.5"));
    ck_assert(!listed(g, "SITE-A", "gaps", "4.4.6"));
    ck_assert(listed(g, "SITE-C", "gaps", "4.4.6"));
    /* area G: A has the declaration that covers it; B lacks one */
    ck_assert(area_ready(a, "SITE-A", "G"));
    ck_assert(listed(a, "SITE-B", "G/missing", "declaration"));
    ck_assert(!listed(a, "SITE-B", "G/missing", "4.4.6"));
    ck_assert(listed(a, "SITE-C", "G/missing", "4.4.6"));
    /* neither a rejected declaration for every site nor a withdrawn one is
     * evidence; nor a version head office has not reviewed */
    ck_assert(listed(a, "SITE-C", "G/missing", "declaration"));
    ck_assert(!listed(a, "SITE-A", "G/missing", "declaration"));
    json_object_put(g);
    json_object_put(a);
    /* both as pages too: a grid of sites against clauses and areas */
    static const struct {
        const char *kind, *has;
    } pages[] = {{"gaps", "<td class=\"gap\">4.3.4 4.3.5 4.4.1 4.4.3 4.5.2</td>"},
                 {"gaps", "id=\"chart-gaps\""}, {"aeo", "id=\"chart-aeo\""},
                 {"aeo", "<td>SITE-B</td><td>G</td><td class=\"gap\">declaration</td>"}};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        struct tu_run r = server(pages[i].kind, "--to", "2026-06-30", "--format", "html", "--out",
                                 fresh_out(&f), "--store", f.hq, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        char *html = tu_read_file(f.out, NULL);
        ck_assert_msg(strstr(html, pages[i].has), "%s page lacks %s", pages[i].kind, pages[i].has);
        ck_assert_ptr_null(strstr(html, "http"));
        free(html);
        tu_run_free(&r);
    }

    /* SITE-B disposes of its only training record; head office syncs */
    setenv("SCSMS_NOW", "2026-07-05T12:00:00Z", 1);
    char *bdir = tu_path(f.tmp, "SITE-B");
    store_t *b = NULL, *hq = NULL;
    ck_assert_int_eq(store_open(bdir, NULL, &b), 0);
    ck_assert_int_eq(store_set_author(b, "tester"), 0);
    ck_assert_msg(store_dispose(b, "SITE-B-TRN-000002", "retention over") == 0, "%s", scsms_errmsg());
    ck_assert_int_eq(store_open(f.hq, NULL, &hq), 0);
    tu_ship(b, hq);
    store_close(&b);
    store_close(&hq);
    unsetenv("SCSMS_NOW");
    free(bdir);

    g = report_json(&f, "gaps", NULL);
    a = report_json(&f, "aeo", NULL);
    ck_assert(listed(g, "SITE-B", "gaps", "4.4.2"));
    ck_assert(!listed(g, "SITE-A", "gaps", "4.4.2"));
    ck_assert(!listed(g, "SITE-C", "gaps", "4.4.2"));
    ck_assert(!area_ready(a, "SITE-B", "A"));
    ck_assert(listed(a, "SITE-B", "A/missing", "4.4.2"));
    ck_assert(area_ready(a, "SITE-A", "A"));
    ck_assert(area_ready(a, "SITE-C", "A"));
    json_object_put(g);
    json_object_put(a);
    fx_free(&f);
}
END_TEST

/* The missing list of area at site, space-separated. */
static char *missing_of(struct json_object *j, const char *site, const char *area)
{
    struct json_object *a = json_object_object_get(json_object_object_get(json_object_object_get(
        json_object_object_get(j, "by_site"), site), area), "missing");
    char *out = calloc(1, 256);
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        if (i)
            strcat(out, " ");
        strcat(out, json_object_get_string(json_object_array_get_idx(a, i)));
    }
    return out;
}

/* Area G needs one active partner with both a valid certificate and an
 * accepted declaration in force covering the site: a partner head office
 * made inactive is no evidence, nor are one partner's certificate and
 * another's declaration. */
START_TEST(aeo_partner_evidence_is_one_active_partners)
{
    for (int scenario = 0; scenario < 2; scenario++) {
        struct fx f = fx_new();
        store_t *hq = fx_open(&f, "hq");
        if (scenario == 0) {
            set_status(hq, "HQ-BPT-000006", "inactive"); /* CARRIER-1 */
        } else {
            /* CARRIER-1's certificate withdrawn; CARRIER-3, whose
             * declaration is withdrawn, holds one */
            set_status(hq, "HQ-CRT-000009", "withdrawn");
            tu_put(hq, "{\"type\":\"certificate\",\"partner_id\":\"CARRIER-3\",\"scheme\":"
                       "\"iso_28000\",\"number\":\"ISO-3\",\"valid_from_date\":\"2026-01-01\","
                       "\"expiry_date\":\"2028-01-01\"}", NULL);
        }
        fx_close(&f, hq);
        struct json_object *a = report_json(&f, "aeo", NULL);
        char *missing = missing_of(a, "SITE-A", "G");
        ck_assert(!area_ready(a, "SITE-A", "G"));
        ck_assert_str_eq(missing, scenario == 0 ? "certificate declaration" : "certificate");
        free(missing);
        json_object_put(a);
        struct json_object *j = report_json(&f, "review", NULL);
        ck_assert_int_eq(at(j, "partners/total/inactive"), scenario == 0 ? 1 : 0);
        ck_assert_int_eq(at(j, "partners/total/with_both"), 0);
        /* an inactive partner's declaration is in force nowhere */
        ck_assert_int_eq(at(j, "partners/by_site/SITE-A/declarations_in_force"),
                         scenario == 0 ? 0 : 1);
        json_object_put(j);
        fx_free(&f);
    }
}
END_TEST

START_TEST(bad_input_refused_and_nothing_written)
{
    struct fx f = fx_new();
    char *nodir = tu_path(f.tmp, "no/such/dir/pack.html");
    /* --out naming a directory, with or without its slash: said so, and
     * no temporary file made beside or inside it */
    char *isdir = tu_path(f.tmp, "packdir"), *slashed = tu_path(f.tmp, "packdir/");
    ck_assert_int_eq(mkdir(isdir, 0700), 0);
    struct {
        struct tu_run r;
        const char *says;
    } cases[] = {
        {server("review", "--from", "2026-02-30", "--to", "2026-06-30", "--out", f.out, "--store", f.hq, NULL), "not a date"},
        {server("review", "--from", "2026-07-01", "--to", "2026-06-30", "--out", f.out, "--store", f.hq, NULL), "after --to"},
        {server("review", PERIOD, "--format", "pdf", "--out", f.out, "--store", f.hq, NULL), "unknown format"},
        {server("review", PERIOD, "--sites", "SITE-A,SITE-Z", "--out", f.out, "--store", f.hq, NULL), "unknown site 'SITE-Z'"},
        {server("review", PERIOD, "--sites", "CARRIER-1", "--out", f.out, "--store", f.hq, NULL), "unknown site 'CARRIER-1'"},
        {server("review", "--from", "2020-01-01", "--to", "2026-06-30", "--out", f.out, "--store", f.hq, NULL), "at most 60"},
        {server("review", "--to", "2026-06-30", "--out", f.out, "--store", f.hq, NULL), "needs --from and --to"},
        {server("summary", PERIOD, "--out", f.out, "--store", f.hq, NULL), "unknown report"},
        {server("review", PERIOD, "--out", nodir, "--store", f.hq, NULL), "cannot write"},
        {server("review", PERIOD, "--out", isdir, "--store", f.hq, NULL), "it is a directory"},
        {server("review", PERIOD, "--out", slashed, "--store", f.hq, NULL), "it is a directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(cases[i].r.status != 0, "case %zu succeeded", i);
        ck_assert_msg(strstr(cases[i].r.err, cases[i].says), "case %zu: %s", i, cases[i].r.err);
        ck_assert_msg(tu_lines(cases[i].r.err) == 1, "case %zu: %s", i, cases[i].r.err);
        ck_assert_str_eq(cases[i].r.out, "");
        tu_run_free(&cases[i].r);
    }
    struct stat st;
    ck_assert_int_ne(stat(f.out, &st), 0);
    /* what is there already is never replaced: a pack a management review
     * recorded by its hash, or the store's own data file given by mistake,
     * directly or through a link */
    struct tu_run r = server("review", PERIOD, "--out", f.out, "--store", f.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    char *first = tu_read_file(f.out, NULL), *data = tu_path(f.hq, "data.mdb");
    char *link_to = tu_path(f.tmp, "to-data.html");
    ck_assert_int_eq(symlink(data, link_to), 0);
    size_t data_len, data_len2;
    char *data_before = tu_read_file(data, &data_len);
    const char *targets[] = {f.out, data, link_to};
    for (size_t i = 0; i < 3; i++) {
        r = server("gaps", "--to", "2026-06-30", "--format", "json", "--out", targets[i],
                   "--store", f.hq, NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "' exists: name a new file, or remove it first") &&
                          tu_lines(r.err) == 1, "%s", r.err);
        ck_assert_str_eq(r.out, "");
        tu_run_free(&r);
    }
    char *again = tu_read_file(f.out, NULL), *data_after = tu_read_file(data, &data_len2);
    ck_assert_str_eq(first, again);
    ck_assert(data_len == data_len2 && memcmp(data_before, data_after, data_len) == 0);
    ck_assert_int_eq(lstat(link_to, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    free(first);
    free(again);
    free(data_before);
    free(data_after);
    free(data);
    free(link_to);
    /* no temporary file left, the one the last case wrote included */
    DIR *d = opendir(f.tmp);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        ck_assert_msg(!strstr(e->d_name, "tmp"), "left behind: %s", e->d_name);
    closedir(d);
    d = opendir(isdir); /* nor inside the directory */
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        ck_assert_msg(e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")),
                      "left in the directory: %s", e->d_name);
    closedir(d);
    free(slashed);
    free(isdir);
    free(nodir);
    fx_free(&f);
}
END_TEST

/* Check's assertions need a running test: the fixture is built in one. */
static const char *fixture_dir;

START_TEST(fixture_only)
{
    build_fixture(fixture_dir);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("report");
    if (argc == 3 && !strcmp(argv[1], "--fixture")) {
        fixture_dir = argv[2];
        TCase *fx = tcase_create("fixture");
        tcase_add_test(fx, fixture_only);
        suite_add_tcase(s, fx);
        return tu_run_suite(s);
    }
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, review_figures_in_json_and_csv);
    tcase_add_test(tc, review_of_chosen_sites);
    tcase_add_test(tc, head_office_records_count);
    tcase_add_test(tc, head_office_actions_count_at_their_site);
    tcase_add_test(tc, followup_lists_open_actions_of_every_earlier_review);
    tcase_add_test(tc, unmeasured_objectives_displace_no_indicator);
    tcase_add_test(tc, gaps_and_aeo_follow_training_evidence);
    tcase_add_test(tc, aeo_partner_evidence_is_one_active_partners);
    tcase_add_test(tc, bad_input_refused_and_nothing_written);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

/* gen.c -- scsms-gen: realistic site records, for the demo, tests and the
 * benchmark.
 *
 *   scsms-gen --store DIR [--seed N] [--planted FILE]
 *       a year of one site's registers, ending today (SCSMS_NOW), written
 *       through the store like 'add' (rules apply, links resolve): every
 *       type a site keeps, a few intolerable risks, out-of-calibration
 *       equipment, nonconforming inspections, and overdue and expiring
 *       items. Every item that 'due --within 30' must list is planted on
 *       purpose and written to FILE as JSON lines {"id","field","date"};
 *       nothing else is due within 30 days.
 *
 *   scsms-gen --out FILE.json|FILE.csv --rows N [--seed N]
 *       N independent incidents, inspections and trainings (no links) as an
 *       import file, for the import benchmark and tests.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "jsonpb.h"
#include "store.h"

#define HORIZON 30 /* the window the planted items are placed in */

static uint64_t rng_state = 88172645463325252ull;

static uint32_t rnd(uint32_t n) /* xorshift64: the same year for the same seed */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void die(const char *what)
{
    fprintf(stderr, "scsms-gen: %s: %s\n", what, scsms_errmsg());
    exit(1);
}

static store_t *store;
static FILE *planted;
static int64_t today;
static size_t written;

static const char *day(int64_t offset)
{
    static char buf[8][ISOTIME_DATE_LEN + 1];
    static int next;
    char *b = buf[next++ % 8];
    isotime_format_date(today + offset, b);
    return b;
}

static const char *instant(int64_t offset_days, int hour)
{
    static char buf[8][ISOTIME_INSTANT_LEN + 1];
    static int next;
    char *b = buf[next++ % 8];
    isotime_format_instant((today + offset_days) * 86400 + hour * 3600 + 17 * 60, b);
    return b;
}

/* Write one record given as flat JSON; return its id (static, overwritten). */
static const char *put(const char *type, const char *fmt, ...)
{
    static char id[RECORD_MAX_ID + 1];
    char json[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(json, sizeof json, fmt, ap);
    va_end(ap);
    struct json_object *o = NULL;
    Scsms__Record *r = NULL;
    if (jsonpb_parse(json, strlen(json), &o) || jsonpb_to_record(o, type, &r))
        die(json);
    json_object_put(o);
    if (store_put(store, r, id))
        die(type);
    record_free(r);
    written++;
    return id;
}

static void plant(const char *id, const char *field, const char *date)
{
    if (planted)
        fprintf(planted, "{\"id\":\"%s\",\"field\":\"%s\",\"date\":\"%s\"}\n", id, field, date);
}

/* A date safely beyond the horizon, for what must not be due. */
static int64_t later(void)
{
    return HORIZON + 15 + rnd(300);
}

static const char *const people[] = {"A. Chen", "B. Ortiz", "C. Diaz", "D. Okafor", "E. Novak",
                                     "F. Haddad", "G. Silva", "H. Tanaka", "I. Kowalski",
                                     "J. Mensah"};
static const char *const areas[] = {"Gate 1", "Gate 2", "Dock 1", "Dock 2", "Bonded store",
                                    "Perimeter north", "Perimeter south", "Yard"};
static const char *const categories[] = {
    "physical_failure_or_malicious_act", "operational_and_human_factors", "natural_events",
    "external_suppliers_and_services", "stakeholder_regulatory_reputation",
    "security_equipment_lifecycle", "information_data_communications",
    "continuity_of_operations"};

#define PICK(a) (a[rnd(sizeof a / sizeof a[0])])

static void gen_year(void)
{
    char risks[24][RECORD_MAX_ID + 1], eq[16][RECORD_MAX_ID + 1], ncs[64][RECORD_MAX_ID + 1];
    size_t n_ncs = 0;
    const char *id;

    for (int i = 0; i < 3; i++)
        put("legal_requirement", "{\"source\":\"Customs Code art. %d\",\"jurisdiction\":\"EU\","
            "\"summary\":\"AEO security and safety criteria %d\",\"responsible\":\"%s\","
            "\"review_date\":\"%s\"}", 39 + i, i, PICK(people), day(later()));

    /* risks: 24 across the eight categories, three of them intolerable
     * (treated, as rule 1 demands), two whose review is overdue */
    for (int i = 0; i < 24; i++) {
        int intolerable = i % 8 == 3;
        unsigned l = 1 + rnd(5), c = 1 + rnd(5);
        unsigned rl = intolerable ? 3 + rnd(3) : 1 + rnd(2), rc = intolerable ? 4 : 1 + rnd(3);
        int64_t review = i == 5 ? -20 : i == 11 ? -5 : later();
        id = put("risk", "{\"threat_category\":\"%s\",\"threatened\":\"%s\",\"scenario\":"
                 "\"scenario %d\",\"likelihood\":%u,\"consequence\":%u,\"existing_controls\":"
                 "\"CCTV, seal log, access control\",\"residual_likelihood\":%u,"
                 "\"residual_consequence\":%u,\"treatment\":\"%s\",\"risk_owner\":\"%s\","
                 "\"next_review_date\":\"%s\"}",
                 categories[i % 8], PICK(areas), i, l > rl ? l : rl, c > rc ? c : rc, rl, rc,
                 intolerable ? "reduce" : (rl * rc <= 8 && rnd(3) == 0 ? "accept" : "reduce"),
                 PICK(people), day(review));
        snprintf(risks[i], sizeof risks[i], "%s", id);
        if (review < 0)
            plant(id, "next_review_date", day(review));
    }

    char obj[RECORD_MAX_ID + 1];
    for (int i = 0; i < 3; i++) {
        id = put("objective", "{\"title\":\"Objective %d\",\"indicator\":\"seal discrepancies "
                 "per 1000 trailers\",\"baseline\":4.5,\"target_value\":2,\"unit\":\"per 1000\","
                 "\"due_date\":\"%s\"}", i, day(later()));
        snprintf(obj, sizeof obj, "%s", id);
        for (int k = 0; k < 2; k++)
            put("target", "{\"description\":\"Target %d.%d\",\"indicator\":\"discrepancies\","
                "\"value\":%d,\"unit\":\"per 1000\",\"due_date\":\"%s\",\"links\":[{\"rel\":"
                "\"objective\",\"target\":\"%s\"}]}", i, k, 3 - k, day(later()), obj);
        put("programme", "{\"title\":\"Programme %d\",\"progress_pct\":%u,\"tasks\":[{"
            "\"description\":\"fit new seals\",\"responsible\":\"%s\",\"due_date\":\"%s\"}],"
            "\"links\":[{\"rel\":\"objective\",\"target\":\"%s\"}]}",
            i, rnd(100), PICK(people), day(later()), obj);
    }

    /* appointments: one clearance expired, one expiring within the horizon */
    static const char *const roles[] = {"management_representative", "line_manager",
                                        "security_cleared_post"};
    for (int i = 0; i < 6; i++) {
        int64_t exp = i == 2 ? -10 : i == 4 ? 12 : later();
        id = put("appointment", "{\"person\":\"%s\",\"role\":\"%s\",\"responsibilities\":"
                 "\"%s\",\"clearance_level\":\"L2\",\"clearance_expiry_date\":\"%s\"}",
                 people[i], roles[i % 3], areas[i], day(exp));
        if (exp < HORIZON + 1)
            plant(id, "clearance_expiry_date", day(exp));
    }

    /* training: 60 courses; two expired, two expiring */
    for (int i = 0; i < 60; i++) {
        int64_t exp = i == 7 ? -30 : i == 19 ? -3 : i == 33 ? 7 : i == 50 ? 25 : later();
        id = put("training", "{\"person\":\"%s\",\"course\":\"%s\",\"completed_date\":\"%s\","
                 "\"expiry_date\":\"%s\",\"evaluation_method\":\"written test\","
                 "\"evaluation_result\":\"%u%%\"}",
                 PICK(people), i % 2 ? "ISPS security awareness" : "Seal verification",
                 day(-(int64_t)rnd(360)), day(exp), 70 + rnd(30));
        if (exp <= HORIZON)
            plant(id, "expiry_date", day(exp));
    }

    for (int i = 0; i < 12; i++)
        put("communication", "{\"kind\":\"%s\",\"audience\":[\"employees\",\"contractors\"],"
            "\"subject\":\"Security briefing %d\",\"summary\":\"monthly briefing\","
            "\"held_date\":\"%s\"}", i % 3 ? "briefing" : "consultation", i, day(-30 * i));

    for (int i = 0; i < 5; i++) {
        if (i == 4)
            put("procedure", "{\"task_or_area\":\"%s\",\"control\":\"two-person seal check\","
                "\"management_of_change\":true,\"change_description\":\"new seal type\","
                "\"status\":\"in_effect\",\"links\":[{\"rel\":\"risk_review\",\"target\":"
                "\"%s\"}]}", areas[i], risks[0]);
        else
            put("procedure", "{\"task_or_area\":\"%s\",\"control\":\"access log\","
                "\"supplier_requirements\":\"hauliers show ID\",\"status\":\"in_effect\"}",
                areas[i]);
    }

    char plan[RECORD_MAX_ID + 1];
    id = put("emergency_plan", "{\"title\":\"Site emergency plan\",\"scenarios\":[\"fire\","
             "\"intrusion\",\"bomb threat\"],\"person_in_charge\":\"%s\",\"actions\":\"evacuate, "
             "call services\",\"external_services\":[\"fire brigade\",\"police\"],"
             "\"review_date\":\"%s\"}", people[0], day(later()));
    snprintf(plan, sizeof plan, "%s", id);

    /* drills: six held, one planned later, one planned but not held */
    for (int i = 0; i < 8; i++) {
        if (i == 7) {
            id = put("drill", "{\"planned_date\":\"%s\",\"scenario\":\"intrusion at night\","
                     "\"links\":[{\"rel\":\"emergency_plan\",\"target\":\"%s\"}]}", day(-15), plan);
            plant(id, "planned_date", day(-15));
        } else if (i == 6) {
            put("drill", "{\"planned_date\":\"%s\",\"scenario\":\"fire\"}", day(later()));
        } else {
            put("drill", "{\"planned_date\":\"%s\",\"held_date\":\"%s\",\"status\":\"held\","
                "\"scenario\":\"evacuation %d\",\"participants\":[\"%s\",\"%s\"],"
                "\"external_services\":[\"fire brigade\"],\"outcome\":\"all out in 6 min\"}",
                day(-60 * i - 10), day(-60 * i - 10), i, people[i], people[i + 1]);
        }
    }

    for (int m = 0; m < 12; m++)
        put("measurement", "{\"indicator\":\"seal discrepancies per 1000 trailers\","
            "\"period_start_date\":\"%s\",\"period_end_date\":\"%s\",\"value\":%u.%u,"
            "\"unit\":\"per 1000\",\"kind\":\"reactive\"}",
            day(-30 * (m + 1)), day(-30 * m - 1), 2 + rnd(3), rnd(10));

    /* equipment: one overdue (rule 3 takes it out of use and raises a
     * nonconformity), one due within the horizon, one that fails its
     * calibration below */
    static const char *const kinds[] = {"camera", "seal", "gate", "alarm", "scanner",
                                        "access_control", "lighting", "fence"};
    for (int i = 0; i < 16; i++) {
        int64_t next = i == 3 ? -40 : i == 9 ? 10 : later();
        id = put("equipment", "{\"equipment_id\":\"%s-%02d\",\"kind\":\"%s\",\"location\":"
                 "\"%s\",\"calibration_interval_days\":180,\"next_calibration_date\":\"%s\"}",
                 kinds[i % 8], i, kinds[i % 8], areas[i % 8], day(next));
        snprintf(eq[i], sizeof eq[i], "%s", id);
        if (next <= HORIZON)
            plant(id, "next_calibration_date", day(next));
    }
    for (int i = 0; i < 20; i++) {
        int k = i % 16;
        if (k == 3 || k == 9)
            continue; /* their dates are planted as they are */
        put("calibration", "{\"performed_date\":\"%s\",\"performed_by\":\"%s\","
            "\"reading_before\":\"ok\",\"reading_after\":\"ok\",\"result\":\"pass\","
            "\"next_due_date\":\"%s\",\"links\":[{\"rel\":\"equipment\",\"target\":\"%s\"}]}",
            day(-(int64_t)rnd(200)), PICK(people), day(later()), eq[k]);
    }
    id = put("calibration", "{\"performed_date\":\"%s\",\"performed_by\":\"%s\","
             "\"reading_before\":\"drift 4%%\",\"reading_after\":\"drift 4%%\",\"result\":\"fail\","
             "\"links\":[{\"rel\":\"equipment\",\"target\":\"%s\"}]}", day(-3), people[2], eq[12]);
    (void)id;

    /* weekly inspections; every thirteenth finds a nonconforming item */
    for (int w = 0; w < 52; w++) {
        int bad = w % 13 == 5;
        put("inspection", "{\"area\":\"%s\",\"inspector\":\"%s\",\"inspected_date\":\"%s\","
            "\"items\":[{\"question\":\"Seals intact?\",\"answer\":\"%s\",\"note\":\"%s\"},"
            "{\"question\":\"Lighting working?\",\"answer\":\"conform\"},{\"question\":"
            "\"Fence intact?\",\"answer\":\"conform\"},{\"question\":\"Visitor log complete?\","
            "\"answer\":\"conform\"},{\"question\":\"CCTV recording?\",\"answer\":\"conform\"}]}",
            PICK(areas), PICK(people), day(-7 * w), bad ? "nonconform" : "conform",
            bad ? "seal number mismatch" : "");
    }

    for (int i = 0; i < 4; i++)
        put("evaluation", "{\"subject\":\"%s\",\"evaluated_date\":\"%s\",\"result\":\"compliant "
            "with minor observations\",\"compliant\":true,\"next_date\":\"%s\"}",
            i % 2 ? "legal_compliance" : "procedures", day(-90 * i), day(later()));

    /* incidents (at least three days ago: reported two days ago, when so) and
     * the nonconformities they lead to */
    static const char *const ikinds[] = {"near_miss", "security_incident", "false_alarm",
                                         "breach", "near_miss", "emergency"};
    for (int i = 0; i < 40; i++) {
        int reported = i % 7 == 0;
        id = put("incident", "{\"kind\":\"%s\",\"occurred_at\":\"%s\",\"location\":\"%s\","
                 "\"activity\":\"inbound inspection\",\"category\":\"%s\",\"severity\":%u,"
                 "\"immediate_action\":\"area secured\",\"reported_to_authority\":%s%s%s%s,"
                 "\"status\":\"%s\"}",
                 ikinds[i % 6], instant(-3 - (int64_t)rnd(357), (int)rnd(24)), PICK(areas),
                 categories[rnd(8)], 1 + rnd(5), reported ? "true" : "false",
                 reported ? ",\"reported_at\":\"" : "", reported ? instant(-2, 12) : "",
                 reported ? "\",\"authority_reference\":\"POL-2026-11\"" : "",
                 i < 30 ? "closed" : "open");
        if (i % 8 == 0 && n_ncs < 64) {
            char inc[RECORD_MAX_ID + 1];
            snprintf(inc, sizeof inc, "%s", id);
            id = put("nonconformity", "{\"source\":\"incident\",\"description\":\"procedure not "
                     "followed at %s\",\"severity\":\"minor\",\"raised_date\":\"%s\","
                     "\"links\":[{\"rel\":\"source\",\"target\":\"%s\"}]}",
                     PICK(areas), day(-(int64_t)rnd(300)), inc);
            snprintf(ncs[n_ncs++], sizeof ncs[0], "%s", id);
        }
    }

    /* actions: most done (closed with their effectiveness check, or
     * implemented after a risk review); two overdue, one due soon */
    for (int i = 0; i < 25; i++) {
        const char *src = ncs[i % (n_ncs ? n_ncs : 1)];
        int64_t due = i == 4 ? -45 : i == 13 ? -2 : i == 21 ? 5 : later();
        int open = due <= HORIZON || i % 5 == 0;
        if (open) {
            id = put("action", "{\"kind\":\"corrective\",\"description\":\"action %d\","
                     "\"responsible\":\"%s\",\"due_date\":\"%s\",\"links\":[{\"rel\":\"source\","
                     "\"target\":\"%s\"}]}", i, PICK(people), day(due), src);
            if (due <= HORIZON)
                plant(id, "due_date", day(due));
        } else if (i % 2) {
            put("action", "{\"kind\":\"preventive\",\"description\":\"action %d\","
                "\"responsible\":\"%s\",\"due_date\":\"%s\",\"status\":\"implemented\","
                "\"links\":[{\"rel\":\"risk_review\",\"target\":\"%s\"},{\"rel\":\"source\","
                "\"target\":\"%s\"}]}", i, PICK(people), day(-(int64_t)rnd(200)), risks[i % 24],
                src);
        } else {
            put("action", "{\"kind\":\"corrective\",\"description\":\"action %d\","
                "\"responsible\":\"%s\",\"due_date\":\"%s\",\"status\":\"closed\",\"immediate\":"
                "true,\"effectiveness_check\":\"no repeat in 60 days\",\"effectiveness_date\":"
                "\"%s\"}", i, PICK(people), day(-(int64_t)rnd(200)), day(-5));
        }
    }

    /* audits: three held, one planned later, one planned but not held */
    for (int i = 0; i < 5; i++) {
        if (i == 4) {
            id = put("audit", "{\"planned_date\":\"%s\",\"audit_scope\":\"cargo security\","
                     "\"rationale\":\"two seal incidents\",\"auditor\":\"%s\","
                     "\"activities_audited\":[\"Bonded store\"]}", day(-7), people[9]);
            plant(id, "planned_date", day(-7));
        } else if (i == 3) {
            put("audit", "{\"planned_date\":\"%s\",\"audit_scope\":\"premises\",\"auditor\":"
                "\"%s\",\"activities_audited\":[\"Perimeter north\"]}", day(later()), people[8]);
        } else {
            put("audit", "{\"planned_date\":\"%s\",\"held_date\":\"%s\",\"status\":\"reported\","
                "\"audit_scope\":\"access control\",\"auditor\":\"%s\",\"activities_audited\":"
                "[\"Gate 1\"],\"findings\":[{\"kind\":\"observation\",\"clause\":\"4.4.6\","
                "\"description\":\"visitor log gaps\"}],\"report\":\"minor findings\"}",
                day(-100 * i - 20), day(-100 * i - 18), people[7]);
        }
    }
}

/* ------------------------------------------------------------ bulk files */

static void gen_rows(const char *path, size_t rows)
{
    size_t len = strlen(path);
    int csv = len > 4 && !strcmp(path + len - 4, ".csv");
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    if (csv)
        fputs("type,kind,occurred_at,location,activity,category,severity,immediate_action,"
              "investigation\n", f);
    else
        fputs("[\n", f);
    for (size_t i = 0; i < rows; i++) {
        const char *when = instant(-1 - (int64_t)rnd(359), (int)rnd(24)); /* none ahead */
        if (csv)
            fprintf(f, "incident,near_miss,%s,%s,inbound trailer inspection,%s,%u,"
                    "\"Trailer held, seal replaced and logged\",Seal %zu on the CMR differs\n",
                    when, PICK(areas), PICK(categories), 1 + rnd(5), i);
        else
            fprintf(f, "%s{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":\"%s\","
                    "\"location\":\"%s\",\"activity\":\"inbound trailer inspection\","
                    "\"category\":\"%s\",\"severity\":%u,\"immediate_action\":\"Trailer held, "
                    "seal replaced and logged\",\"investigation\":\"Seal %zu on the CMR differs\"}",
                    i ? ",\n" : "", when, PICK(areas), PICK(categories), 1 + rnd(5), i);
    }
    if (!csv)
        fputs("\n]\n", f);
    if (fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"store", required_argument, NULL, 's'},
                                         {"planted", required_argument, NULL, 'p'},
                                         {"seed", required_argument, NULL, 'r'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"rows", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *plant_path = NULL, *out = NULL;
    size_t rows = 1000;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 's': dir = optarg; break;
        case 'p': plant_path = optarg; break;
        case 'r': rng_state += strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ull; break;
        case 'o': out = optarg; break;
        case 'n': rows = strtoul(optarg, NULL, 10); break;
        default:
            fprintf(opt == 'h' ? stdout : stderr,
                    "usage: scsms-gen --store DIR [--planted FILE] [--seed N]\n"
                    "       scsms-gen --out FILE.json|FILE.csv --rows N [--seed N]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    today = isotime_days(isotime_now());
    if (out) {
        gen_rows(out, rows);
        printf("wrote %zu rows to %s\n", rows, out);
        return 0;
    }
    if (!dir) {
        fprintf(stderr, "scsms-gen: give --store DIR (a store made by 'scsms-agent init') or "
                        "--out FILE\n");
        return 2;
    }
    if (store_open(dir, NULL, &store))
        die("open store");
    if (plant_path && !(planted = fopen(plant_path, "w"))) {
        perror(plant_path);
        return 1;
    }
    gen_year();
    if (planted && fclose(planted) != 0) {
        perror(plant_path);
        return 1;
    }
    store_close(&store);
    printf("wrote a year of %zu records for the site, ending %s\n", written, day(0));
    return 0;
}

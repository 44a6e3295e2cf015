/* report_bench.c -- scsms-bench-report: time and peak memory of the
 * management review pack over a head-office store of many sites.
 *
 *   scsms-bench-report --dir DIR [--sites N] [--per-site N] [--rounds N]
 *
 * The first run builds DIR/hq: N sites (default 1000) of N records each
 * (default 1000: incidents, inspections, training, risks, actions,
 * measurements, equipment, drills, audits, communications,
 * nonconformities, procedures over 2025 and 2026), each written at its
 * own site store through group commit, then taken in at head office
 * through sync_ingest with the site's signed checkpoint, as the server
 * does. Later runs reuse DIR (delete it to rebuild).
 *
 * Then it runs the real `scsms-server report review` over the first half
 * of 2026 for every site, writing HTML, `rounds` times (default 3), each
 * in a child process of its own: wall time, and the child's peak resident
 * memory (ru_maxrss from wait4, that child's alone; the data set is built
 * in another child, so the review's child does not start out holding it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "identity.h"
#include "jsonpb.h"
#include "store.h"
#include "sync.h"

static void die(const char *what)
{
    fprintf(stderr, "scsms-bench-report: %s: %s\n", what, scsms_errmsg());
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* A day of 2025 or 2026 as YYYY-MM-DD. */
/* A day of the year and a half before SCSMS_NOW (2026-06-30): what has
 * happened is not dated ahead. */
static const char *date(char *buf)
{
    unsigned y = 2025 + rnd(2), m = 1 + rnd(12);
    if (y == 2026 && m > 6)
        m -= 6;
    snprintf(buf, 11, "%04u-%02u-%02u", y, m, 1 + rnd(28));
    return buf;
}

static const char *const categories[] = {
    "physical_failure_or_malicious_act", "operational_and_human_factors", "natural_events",
    "external_suppliers_and_services", "stakeholder_regulatory_reputation",
    "security_equipment_lifecycle", "information_data_communications",
    "continuity_of_operations"};
static const char *const kinds[] = {"near_miss", "security_incident", "false_alarm", "breach",
                                    "near_miss", "emergency"};

/* The i-th record of a site, as flat JSON. */
static void record_json(size_t i, char *json, size_t len)
{
    char d1[11], d2[11];
    switch (i % 20) {
    case 0: case 1: case 2: case 3: case 4: case 5:
        snprintf(json, len, "{\"type\":\"incident\",\"kind\":\"%s\",\"occurred_at\":\"%sT10:15:00Z\","
                 "\"location\":\"Gate %u\",\"activity\":\"inbound inspection\",\"category\":\"%s\","
                 "\"severity\":%u,\"immediate_action\":\"trailer held, seal replaced\","
                 "\"status\":\"%s\"}", kinds[rnd(6)], date(d1), rnd(9), categories[rnd(8)],
                 1 + rnd(5), rnd(3) ? "closed" : "open");
        break;
    case 6: case 7:
        snprintf(json, len, "{\"type\":\"inspection\",\"area\":\"Dock %u\",\"inspector\":\"A. Chen\","
                 "\"inspected_date\":\"%s\",\"items\":[{\"question\":\"Seals intact?\",\"answer\":"
                 "\"conform\"},{\"question\":\"Fence intact?\",\"answer\":\"conform\"}]}",
                 rnd(9), date(d1));
        break;
    case 8: case 9:
        snprintf(json, len, "{\"type\":\"training\",\"person\":\"P%u\",\"course\":\"ISPS awareness\","
                 "\"completed_date\":\"%s\",\"expiry_date\":\"%s\",\"evaluation_method\":\"test\"}",
                 rnd(500), date(d1), date(d2));
        break;
    case 10: {
        unsigned l = 1 + rnd(5), c = 1 + rnd(5), rl = 1 + rnd(2), rc = 1 + rnd(4);
        snprintf(json, len, "{\"type\":\"risk\",\"threat_category\":\"%s\",\"threatened\":\"yard\","
                 "\"likelihood\":%u,\"consequence\":%u,\"residual_likelihood\":%u,"
                 "\"residual_consequence\":%u,\"treatment\":\"reduce\",\"next_review_date\":\"%s\"}",
                 categories[rnd(8)], l, c, rl, rc, date(d1));
        break;
    }
    case 11: case 12:
        snprintf(json, len, "{\"type\":\"action\",\"kind\":\"%s\",\"description\":\"fix %zu\","
                 "\"responsible\":\"ops\",\"due_date\":\"%s\"}", rnd(2) ? "corrective" : "preventive",
                 i, date(d1));
        break;
    case 13:
        snprintf(json, len, "{\"type\":\"measurement\",\"indicator\":\"seal discrepancies\","
                 "\"period_end_date\":\"%s\",\"value\":%u.%u,\"unit\":\"per 1000\"}", date(d1),
                 rnd(5), rnd(10));
        break;
    case 14:
        snprintf(json, len, "{\"type\":\"equipment\",\"equipment_id\":\"CAM-%zu\",\"kind\":\"camera\","
                 "\"location\":\"Gate %u\",\"next_calibration_date\":\"2027-%02u-01\"}", i, rnd(9),
                 1 + rnd(12));
        break;
    case 15:
        snprintf(json, len, "{\"type\":\"drill\",\"planned_date\":\"%s\",\"scenario\":\"fire\","
                 "\"status\":\"%s\"}", date(d1), rnd(3) ? "held" : "planned");
        break;
    case 16:
        snprintf(json, len, "{\"type\":\"audit\",\"planned_date\":\"%s\",\"held_date\":\"%s\","
                 "\"status\":\"reported\",\"audit_scope\":\"gates\",\"auditor\":\"C. Diaz\","
                 "\"findings\":[{\"kind\":\"observation\",\"clause\":\"4.4.%u\"}]}", date(d1), d1,
                 1 + rnd(7));
        break;
    case 17:
        snprintf(json, len, "{\"type\":\"communication\",\"kind\":\"briefing\",\"subject\":\"seals\","
                 "\"held_date\":\"%s\",\"audience\":[\"employees\"]}", date(d1));
        break;
    case 18:
        snprintf(json, len, "{\"type\":\"nonconformity\",\"source\":\"inspection\",\"description\":"
                 "\"seal log gap\",\"raised_date\":\"%s\"}", date(d1));
        break;
    default:
        snprintf(json, len, "{\"type\":\"procedure\",\"task_or_area\":\"Gate %u\",\"control\":"
                 "\"two-person check\",\"status\":\"in_effect\"}", rnd(9));
        break;
    }
}

/* One site: its records through group commit at its own store, then its
 * whole log into head office's store as one verified batch. */
static void build_site(store_t *hq, const char *dir, size_t n, size_t k)
{
    char id[32], json[1024], cmd[600];
    store_t *s = NULL;
    store_batch_t *b = NULL;
    struct sync_batch e = {0};
    struct sync_result res;
    snprintf(id, sizeof id, "SITE-%04zu", k);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        die("clean site dir");
    if (store_create(dir, id, STORE_ROLE_SITE, NULL) || store_open(dir, NULL, &s))
        die("site store");
    Scsms__Record **r = calloc(n, sizeof *r);
    if (!r || store_batch_new(s, &b))
        die("batch");
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = NULL;
        record_json(i, json, sizeof json);
        if (jsonpb_parse(json, strlen(json), &o) || jsonpb_to_record(o, NULL, &r[i]) ||
            store_batch_add(b, r[i]))
            die(json);
        json_object_put(o);
    }
    if (store_batch_commit(b))
        die("commit");
    store_batch_destroy(&b);
    for (size_t i = 0; i < n; i++)
        record_free(r[i]);
    free(r);
    if (identity_enrol_store(hq, s, dir, SCSMS__IDENTITY__ROLE__SITE))
        die("enrol");
    if (sync_batch_read(s, 1, n + 64, &e) ||
        sync_ingest(hq, id, e.v, e.n, e.cp, e.cp_len, NULL, &res))
        die("ingest");
    sync_batch_free(&e);
    store_close(&s);
}

static void build(const char *dir, size_t sites, size_t per_site)
{
    char hqdir[512], sitedir[512], done[512];
    struct store_options o = {.map_size = (size_t)4 << 30};
    store_t *hq = NULL;
    snprintf(hqdir, sizeof hqdir, "%s/hq", dir);
    snprintf(sitedir, sizeof sitedir, "%s/site", dir);
    snprintf(done, sizeof done, "%s/built", dir);
    if (access(done, F_OK) == 0)
        return;
    mkdir(dir, 0700);
    if (store_create(hqdir, "HQ", STORE_ROLE_HQ, &o) || store_open(hqdir, &o, &hq))
        die("head-office store (delete the directory to rebuild)");
    setenv("SCSMS_NOW", "2026-06-30T12:00:00Z", 1); /* the records' creation time */
    double t0 = now_s();
    for (size_t k = 0; k < sites; k++) {
        build_site(hq, sitedir, per_site, k);
        if (isatty(STDERR_FILENO))
            fprintf(stderr, "\rbuilding: %zu of %zu sites", k + 1, sites);
    }
    unsetenv("SCSMS_NOW");
    store_close(&hq);
    FILE *f = fopen(done, "w");
    if (!f || fprintf(f, "%zu %zu\n", sites, per_site) < 0 || fclose(f) != 0)
        die("marker");
    fprintf(stderr, "%sbuilt %zu sites x %zu records in %.1f s\n", isatty(STDERR_FILENO) ? "\r" : "",
            sites, per_site, now_s() - t0);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"sites", required_argument, NULL, 's'},
                                         {"per-site", required_argument, NULL, 'n'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    size_t sites = 1000, per_site = 1000, rounds = 3;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': dir = optarg; break;
        case 's': sites = strtoul(optarg, NULL, 10); break;
        case 'n': per_site = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = strtoul(optarg, NULL, 10); break;
        default: dir = NULL; optind = argc; break;
        }
    }
    if (!dir || !sites || !per_site || !rounds) {
        fprintf(stderr, "usage: scsms-bench-report --dir DIR [--sites N] [--per-site N] "
                        "[--rounds N]\n");
        return 2;
    }
    /* built in a child of its own: a child forked later to run the review
     * starts with this process's resident memory, which ru_maxrss would
     * count until the exec; so this process stays small */
    pid_t builder = fork();
    if (builder == 0) {
        build(dir, sites, per_site);
        fflush(stdout);
        _exit(0);
    }
    int bst;
    if (builder < 0 || waitpid(builder, &bst, 0) != builder || !WIFEXITED(bst) ||
        WEXITSTATUS(bst)) {
        fprintf(stderr, "scsms-bench-report: building the data set failed\n");
        return 1;
    }
    char hqdir[512], out[512];
    snprintf(hqdir, sizeof hqdir, "%s/hq", dir);
    snprintf(out, sizeof out, "%s/review.html", dir);
    char *const args[] = {SCSMS_SERVER_BIN, "report", "review", "--from", "2026-01-01", "--to",
                          "2026-06-30", "--out", out, "--store", hqdir, NULL};
    double best = 1e9, worst = 0;
    long peak_kb = 0;
    for (size_t i = 0; i < rounds; i++) {
        unlink(out); /* a report never replaces a file: each round writes it anew */
        double t0 = now_s();
        pid_t pid = fork();
        if (pid == 0) {
            freopen("/dev/null", "w", stdout);
            execv(args[0], args);
            _exit(127);
        }
        int st;
        struct rusage ru; /* this child's alone (wait4) */
        if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
            fprintf(stderr, "scsms-bench-report: the review failed\n");
            return 1;
        }
        double t = now_s() - t0;
        peak_kb = ru.ru_maxrss > peak_kb ? ru.ru_maxrss : peak_kb;
        best = t < best ? t : best;
        worst = t > worst ? t : worst;
    }
    struct stat st;
    stat(out, &st);
    printf("review pack over %zu records of %zu sites: %.2f s (best of %zu, worst %.2f s), "
           "peak RSS %.1f MB, pack %lld bytes\n", sites * per_site, sites, best, rounds, worst,
           (double)peak_kb / 1024.0, (long long)st.st_size);
    return 0;
}

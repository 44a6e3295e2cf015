/* bench.c -- scsms-bench: store throughput beside raw LMDB in the same run.
 *
 *   scsms-bench [--records N] [--batch N] [--single N] [--dir DIR]
 *
 * For each figure the same number of values of the same size is written
 * with the same batching straight into LMDB (8-byte keys, one table, no
 * hashing, no signatures, no indices) and the ratio is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "csv.h"
#include "import.h"
#include "jsonpb.h"
#include "record.h"
#include "store.h"
#include "verify.h"

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "scsms-bench: %s: %s\n", what, scsms_errmsg());
    exit(1);
}

static void rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "scsms-bench: could not remove %s\n", dir);
}

/* A realistic incident: about 300 bytes once the store has added its
 * envelope (id, owner, times, author, status). */
static Scsms__Record *sample(unsigned i)
{
    char buf[256];
    Scsms__Record *r = record_new(record_type_by_name("incident"));
    Scsms__Incident *in = r->incident;
    in->kind = SCSMS__INCIDENT__KIND__NEAR_MISS;
    snprintf(buf, sizeof buf, "2025-%02u-%02uT%02u:%02u:00Z", 1 + i % 12, 1 + i % 28, i % 24,
             i % 60);
    if (record_set_string(&in->occurred_at, buf) ||
        record_set_string(&in->location, "Container yard, gate 3") ||
        record_set_string(&in->activity, "Inbound trailer inspection") ||
        record_set_string(&in->immediate_action, "Trailer held, seal replaced and logged") ||
        record_set_string(&in->agency, "Customs duty office"))
        die("sample");
    snprintf(buf, sizeof buf, "Seal %u on the CMR differs from the seal found", i);
    if (record_set_string(&in->investigation, buf))
        die("sample");
    in->severity = 1 + i % 5;
    in->category = SCSMS__THREAT_CATEGORY__OPERATIONAL_AND_HUMAN_FACTORS;
    return r;
}

struct raw {
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t seq;
};

static void raw_open(struct raw *r, const char *dir)
{
    MDB_txn *txn;
    r->seq = 0;
    mkdir(dir, 0700);
    if (mdb_env_create(&r->env) || mdb_env_set_mapsize(r->env, (size_t)4 << 30) ||
        mdb_env_open(r->env, dir, 0, 0600) || mdb_txn_begin(r->env, NULL, 0, &txn) ||
        mdb_dbi_open(txn, NULL, 0, &r->dbi) || mdb_txn_commit(txn)) {
        fprintf(stderr, "scsms-bench: raw LMDB open failed\n");
        exit(1);
    }
}

#define ROUNDS 3

static double median3(const double v[ROUNDS])
{
    double a = v[0], b = v[1], c = v[2];
    if (a > b) { double t = a; a = b; b = t; }
    if (b > c) { double t = b; b = c; c = t; }
    return a > b ? a : b;
}

/* n puts of vlen-byte values, committed every batch puts; keys continue
 * from the previous call so rounds append as the store's log does. */
static double raw_put(struct raw *r, size_t n, size_t batch, size_t vlen)
{
    char *val = malloc(vlen);
    memset(val, 'x', vlen);
    double t0 = now_s();
    MDB_txn *txn = NULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t k[8];
        uint64_t seq = ++r->seq;
        for (int b = 0; b < 8; b++)
            k[b] = (uint8_t)(seq >> (56 - 8 * b));
        if (!txn && mdb_txn_begin(r->env, NULL, 0, &txn))
            exit(1);
        MDB_val key = {8, k}, v = {vlen, val};
        val[i % vlen] ^= 1; /* values differ, as records do */
        if (mdb_put(txn, r->dbi, &key, &v, 0))
            exit(1);
        if ((i + 1) % batch == 0 || i + 1 == n) {
            if (mdb_txn_commit(txn))
                exit(1);
            txn = NULL;
        }
    }
    free(val);
    return (double)n / (now_s() - t0);
}

/* Read every value and hash it: the floor under verify. */
static double raw_scan(struct raw *r, size_t *count)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t h[CRYPTO_HASH_LEN];
    double t0 = now_s();
    *count = 0;
    if (mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn) || mdb_cursor_open(txn, r->dbi, &cur))
        exit(1);
    while (mdb_cursor_get(cur, &k, &v, *count ? MDB_NEXT : MDB_FIRST) == 0) {
        crypto_sha256(v.mv_data, v.mv_size, h);
        (*count)++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return (double)*count / (now_s() - t0);
}

/* A risk assessment of about the same size, to interleave types. */
static Scsms__Record *sample_risk(unsigned i)
{
    char buf[128];
    Scsms__Record *r = record_new(record_type_by_name("risk"));
    Scsms__Risk *k = r->risk;
    k->threat_category = SCSMS__THREAT_CATEGORY__PHYSICAL_FAILURE_OR_MALICIOUS_ACT;
    k->likelihood = 1 + i % 5;
    k->consequence = 1 + (i / 5) % 5;
    k->residual_likelihood = 1 + i % 3;
    k->residual_consequence = 1 + i % 2;
    k->treatment = SCSMS__RISK__TREATMENT__REDUCE;
    snprintf(buf, sizeof buf, "Cargo in bonded area %u", i % 40);
    if (record_set_string(&k->threatened, buf) ||
        record_set_string(&k->scenario, "Seal tampering during overnight parking") ||
        record_set_string(&k->existing_controls, "CCTV, seal log, two-person check") ||
        record_set_string(&k->risk_owner, "Site security lead") ||
        record_set_string(&k->next_review_date, "2027-06-30"))
        die("sample");
    return r;
}

static int interleave; /* every other record a risk instead of an incident */

static double store_adds(store_t *s, size_t n, size_t batch)
{
    Scsms__Record **recs = calloc(batch, sizeof *recs);
    double t = 0;
    size_t done = 0;
    while (done < n) {
        size_t m = n - done < batch ? n - done : batch;
        store_batch_t *b;
        for (size_t i = 0; i < m; i++)
            recs[i] = interleave && (done + i) % 2 ? sample_risk((unsigned)(done + i))
                                                     : sample((unsigned)(done + i));
        double t0 = now_s();
        if (store_batch_new(s, &b) || store_batch_reserve(b, m))
            die("batch");
        for (size_t i = 0; i < m; i++)
            if (store_batch_add(b, recs[i]))
                die("add");
        if (store_batch_commit(b))
            die("commit");
        t += now_s() - t0;
        store_batch_destroy(&b);
        for (size_t i = 0; i < m; i++)
            record_free(recs[i]);
        done += m;
    }
    free(recs);
    return (double)n / t;
}

/* Size of a stored record and of its log entry, read back from the store,
 * so the raw baseline writes values of exactly that size. */
static size_t stored_entry_size(store_t *s, size_t *rec_bytes)
{
    Scsms__Record *rec;
    char id[64];
    uint8_t prev[CRYPTO_HASH_LEN] = {0};
    snprintf(id, sizeof id, "%s-INC-000001", store_owner(s));
    if (store_get(s, id, 0, &rec))
        die("read back");
    *rec_bytes = scsms__record__get_packed_size(rec);
    Scsms__LogEntry e = SCSMS__LOG_ENTRY__INIT;
    e.owner = (char *)store_owner(s);
    e.seq = 100000;
    e.prev_hash.data = prev;
    e.prev_hash.len = sizeof prev;
    e.record.len = *rec_bytes;
    e.record.data = prev; /* only the length matters for the size */
    size_t n = scsms__log_entry__get_packed_size(&e);
    record_free(rec);
    return n;
}

/* Write n sample incidents as an import file (JSON array or CSV). */
static void write_rows(const char *path, size_t n, int csv)
{
    FILE *f = fopen(path, "w");
    const char **cols = NULL;
    size_t n_cols = 0;
    if (!f || jsonpb_columns("incident", &cols, &n_cols))
        die("write rows");
    if (csv)
        for (size_t c = 0; c < n_cols; c++)
            csv_write_field(f, cols[c], c + 1 == n_cols);
    else
        fputs("[\n", f);
    for (size_t i = 0; i < n; i++) {
        Scsms__Record *r = sample((unsigned)i);
        struct json_object *o = jsonpb_from_record(r);
        if (csv)
            for (size_t c = 0; c < n_cols; c++)
                csv_write_field(f, jsonpb_cell(o, cols[c]), c + 1 == n_cols);
        else
            fprintf(f, "%s%s", i ? ",\n" : "", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        record_free(r);
    }
    if (!csv)
        fputs("\n]\n", f);
    free((void *)cols);
    if (fclose(f) != 0)
        die("write rows");
}

/* Import a file of n rows into a fresh store with `scsms-agent import`:
 * rows/s for the whole command, a new process each time as a site lead
 * runs it (an import inside this process would reuse the heap the other
 * figures left behind, which a real import never finds). */
static double import_rate(const char *base, const char *name, size_t n, int csv)
{
    char file[4200], dir[4200];
    snprintf(file, sizeof file, "%s/%s.%s", base, name, csv ? "csv" : "json");
    snprintf(dir, sizeof dir, "%s/%s-store", base, name);
    write_rows(file, n, csv);
    store_t *s;
    struct store_options o = {.map_size = (size_t)1 << 30};
    if (store_create(dir, "BENCH-IMPORT", STORE_ROLE_SITE, &o) || store_open(dir, &o, &s))
        die("create store");
    store_close(&s);
    char *argv[] = {SCSMS_AGENT_BIN, "import", file, "--store", dir, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    sync();
    double t0 = now_s();
    int ok = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) == 0 &&
             waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    double rate = (double)n / (now_s() - t0);
    posix_spawn_file_actions_destroy(&fa);
    if (!ok) {
        fprintf(stderr, "scsms-bench: %s import %s failed\n", argv[0], file);
        exit(1);
    }
    return rate;
}

int main(int argc, char **argv)
{
    size_t n = 200000, batch = 10000, single = 300;
    const char *phase = "all";
    char tmpl[] = "/tmp/scsms-bench-XXXXXX";
    const char *base = NULL;
    static const struct option opts[] = {{"records", required_argument, NULL, 'n'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"single", required_argument, NULL, 's'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"phase", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'n': n = strtoul(optarg, NULL, 10); break;
        case 'b': batch = strtoul(optarg, NULL, 10); break;
        case 's': single = strtoul(optarg, NULL, 10); break;
        case 'd': base = optarg; break;
        case 'p': phase = optarg; break;
        default:
            fprintf(stderr, "usage: scsms-bench [--records N] [--batch N] [--single N] [--dir DIR] [--phase all|bulk|import]\n");
            return 2;
        }
    }
    int keep = base != NULL; /* a directory given is left for inspection */
    if (!base && !(base = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    char sdir[4096], rdir[4096], rdir2[4096];
    snprintf(sdir, sizeof sdir, "%s/store", base);
    snprintf(rdir, sizeof rdir, "%s/raw-single", base);
    snprintf(rdir2, sizeof rdir2, "%s/raw-bulk", base);
    store_t *s;
    struct store_options o = {.map_size = (size_t)4 << 30};
    if (store_create(sdir, "BENCH-SITE", STORE_ROLE_SITE, &o) || store_open(sdir, &o, &s))
        die("create store");

    size_t rec_bytes = 0;
    struct raw r1, r2;
    raw_open(&r1, rdir);
    raw_open(&r2, rdir2);

    printf("scsms-bench: %zu records, batches of %zu, %zu single adds; each figure the median "
           "of %d rounds\n", n, batch, single, ROUNDS);
    if (strcmp(phase, "bulk") == 0) { /* for profiling the add path alone */
        printf("bulk add (group)     %10.0f records/s\n", store_adds(s, n, batch));
        store_close(&s);
        if (!keep)
            rm_rf(base);
        return 0;
    }
    if (strcmp(phase, "import") == 0) { /* for profiling imports alone */
        printf("import from JSON     %10.0f rows/s\n", import_rate(base, "json", n, 0));
        printf("import from CSV      %10.0f rows/s\n", import_rate(base, "csv", n, 1));
        store_close(&s);
        if (!keep)
            rm_rf(base);
        return 0;
    }
    /* Each figure is the median of three rounds, store and raw taking turns,
     * each round starting after sync() so that the kernel writing back the
     * previous round's pages does not slow the next one. */
    double sr[ROUNDS], rr[ROUNDS];
    size_t entry_bytes = 0;
    for (int k = 0; k < ROUNDS; k++) {
        sync();
        sr[k] = store_adds(s, single / ROUNDS, 1);
        entry_bytes = stored_entry_size(s, &rec_bytes);
        sync();
        rr[k] = raw_put(&r1, single / ROUNDS, 1, entry_bytes);
    }
    double single_rate = median3(sr), raw_single = median3(rr);
    printf("single durable add   %10.0f records/s   raw LMDB %10.0f puts/s   ratio %.2f\n",
           single_rate, raw_single, single_rate / raw_single);

    for (int k = 0; k < ROUNDS; k++) {
        sync();
        sr[k] = store_adds(s, n / ROUNDS, batch);
        sync();
        rr[k] = raw_put(&r2, n / ROUNDS, batch, entry_bytes);
    }
    double bulk_rate = median3(sr), raw_bulk = median3(rr);
    printf("bulk add (group)     %10.0f records/s   raw LMDB %10.0f puts/s   ratio %.2f\n",
           bulk_rate, raw_bulk, bulk_rate / raw_bulk);
    printf("  (record %zu B as stored, log entry %zu B; raw puts use values of the entry size)\n",
           rec_bytes, entry_bytes);

    /* Imports come one type at a time, so index keys mostly append; a day
     * of mixed evidence does not: measure that case too. */
    interleave = 1;
    for (int k = 0; k < ROUNDS; k++) {
        sync();
        sr[k] = store_adds(s, n / ROUNDS, batch);
        sync();
        rr[k] = raw_put(&r2, n / ROUNDS, batch, entry_bytes);
    }
    interleave = 0;
    bulk_rate = median3(sr);
    raw_bulk = median3(rr);
    printf("bulk add, mixed types %9.0f records/s   raw LMDB %10.0f puts/s   ratio %.2f\n",
           bulk_rate, raw_bulk, bulk_rate / raw_bulk);

    struct verify_report rep;
    size_t scanned;
    for (int k = 0; k < ROUNDS; k++) {
        double t0 = now_s();
        if (verify_store(s, &rep))
            die("verify");
        sr[k] = (double)rep.entries / (now_s() - t0);
        rr[k] = raw_scan(&r2, &scanned);
    }
    double vrate = median3(sr), raw_v = median3(rr);
    printf("verify whole store   %10.0f entries/s   raw scan+SHA-256 %10.0f/s   ratio %.2f   (%llu entries)\n",
           vrate, raw_v, vrate / raw_v, (unsigned long long)rep.entries);

    size_t rows = n < 100000 ? n : 100000;
    for (int k = 0; k < ROUNDS; k++) {
        char name[32];
        snprintf(name, sizeof name, "json%d", k);
        sr[k] = import_rate(base, name, rows, 0);
        snprintf(name, sizeof name, "csv%d", k);
        rr[k] = import_rate(base, name, rows, 1);
    }
    printf("import from JSON     %10.0f rows/s   (scsms-agent import of %zu incidents: the whole "
           "command)\n", median3(sr), rows);
    printf("import from CSV      %10.0f rows/s\n", median3(rr));

    store_close(&s);
    mdb_env_close(r1.env);
    mdb_env_close(r2.env);
    if (!keep)
        rm_rf(base);
    return 0;
}

/* test_agent.c -- scsms-agent through its real binary: the commands work
 * end to end, and bad input to every command gets one line on stderr, a
 * non-zero exit, and leaves the store exactly as it was. */
#include "testutil.h"
#include "cli.h"
#include "record.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

static const char *INCIDENT =
    "{\"kind\":\"near_miss\",\"occurred_at\":\"2026-11-20T10:15:00+04:00\","
    "\"location\":\"Gate 3\",\"severity\":2,\"immediate_action\":\"seal re-checked\"}";

struct site {
    char *tmp, *store;
};

static struct site site_new(const char *tag)
{
    struct site s;
    s.tmp = tu_tmpdir(tag);
    s.store = tu_path(s.tmp, "store");
    struct tu_run r = tu_agent(NULL, "init", "--site", "DXB-WH1", "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "init: %s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "sign-key "));
    tu_run_free(&r);
    return s;
}

static void site_free(struct site *s)
{
    tu_rmdir(s->tmp);
    free(s->tmp);
    free(s->store);
}

static char *add_ok(const struct site *s, const char *type, const char *json)
{
    struct tu_run r = tu_agent(NULL, "add", type, "--json", json, "--store", s->store, NULL);
    ck_assert_msg(r.status == 0, "add %s: %s", type, r.err);
    ck_assert_int_eq(tu_lines(r.out), 1);
    r.out[strcspn(r.out, "\n")] = 0;
    char *id = strdup(r.out);
    tu_run_free(&r);
    return id;
}

/* Everything a reader can see of the store: every version of every record
 * and the verified head. Compared before and after a refused command. */
static char *snapshot(const struct site *s)
{
    struct tu_run l = tu_agent(NULL, "list", "--format", "json", "--store", s->store, NULL);
    struct tu_run v = tu_agent(NULL, "verify", "--store", s->store, NULL);
    ck_assert_int_eq(l.status, 0);
    ck_assert_msg(v.status == 0, "verify: %s", v.err);
    size_t n = strlen(l.out) + strlen(v.out) + 1;
    char *snap = malloc(n);
    snprintf(snap, n, "%s%s", l.out, v.out);
    tu_run_free(&l);
    tu_run_free(&v);
    return snap;
}

/* Expect a refusal: exit code, exactly one line on stderr containing want,
 * nothing on stdout, and the store unchanged. */
static void refused(const struct site *s, struct tu_run r, int code, const char *want)
{
    ck_assert_msg(r.status == code, "exit %d (want %d): %s", r.status, code, r.err);
    ck_assert_msg(strstr(r.err, want) != NULL, "stderr lacks '%s': %s", want, r.err);
    ck_assert_msg(tu_lines(r.err) == 1, "not one line: %s", r.err);
    ck_assert_str_eq(r.out, "");
    tu_run_free(&r);
    (void)s;
}

START_TEST(register_round_trip)
{
    struct site s = site_new("round");
    char *inc = add_ok(&s, "incident", INCIDENT);
    ck_assert_str_eq(inc, "DXB-WH1-INC-000001");
    struct tu_run r = tu_agent(NULL, "add", "risk", "--set",
                               "threat_category=physical_failure_or_malicious_act", "--set",
                               "threatened=container seals", "--set", "likelihood=4", "--set",
                               "consequence=4", "--set", "residual_likelihood=2", "--set",
                               "residual_consequence=3", "--set", "treatment=reduce", "--set",
                               "next_review_date=2027-03-01", "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_str_eq(r.out, "DXB-WH1-RSK-000002\n");
    tu_run_free(&r);

    /* show: the stored record, normalised to UTC */
    r = tu_agent(NULL, "show", inc, "--store", s.store, NULL);
    ck_assert_int_eq(r.status, 0);
    struct json_object *o = json_tokener_parse(r.out), *v;
    ck_assert_ptr_nonnull(o);
    ck_assert(json_object_object_get_ex(o, "occurred_at", &v));
    ck_assert_str_eq(json_object_get_string(v), "2026-11-20T06:15:00Z");
    ck_assert(json_object_object_get_ex(o, "status", &v));
    ck_assert_str_eq(json_object_get_string(v), "open");
    json_object_put(o);
    tu_run_free(&r);

    /* update, history */
    r = tu_agent(NULL, "update", inc, "--set", "status=investigating", "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "history", inc, "--format", "json", "--store", s.store, NULL);
    ck_assert_int_eq(r.status, 0);
    o = json_tokener_parse(r.out);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq((int)json_object_array_length(o), 2);
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(o, 1), "status", &v));
    ck_assert_str_eq(json_object_get_string(v), "investigating");
    json_object_put(o);
    tu_run_free(&r);

    /* list: table, filtered, csv */
    r = tu_agent(NULL, "list", "--store", s.store, NULL);
    ck_assert_int_eq(tu_lines(r.out), 3); /* header and two records */
    tu_run_free(&r);
    r = tu_agent(NULL, "list", "--type", "incident", "--status", "investigating", "--format",
                 "csv", "--store", s.store, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_int_eq(tu_lines(r.out), 2);
    ck_assert_ptr_nonnull(strstr(r.out, "DXB-WH1-INC-000001,incident,2,investigating,"));
    tu_run_free(&r);

    r = tu_agent(NULL, "verify", "--store", s.store, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "ok: 3 entries, 2 records, 3 signed checkpoints"));
    tu_run_free(&r);
    free(inc);
    site_free(&s);
}
END_TEST

/* sync.state's lines: one longer than the reader's buffer (a result
 * quoting head office at length) is cut, and its rest is not taken for a
 * line of its own, whatever it looks like. */
START_TEST(sync_state_lines_are_read_whole)
{
    char *dir = tu_tmpdir("state"), *path = tu_path(dir, "sync.state");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "server tcp://127.0.0.1:9\nacked_seq 7\nresult ");
    for (int i = 0; i < 248; i++)
        fputc('x', f);
    fprintf(f, "acked_seq 999 clock 1 h ahead\nlast_sync never\n");
    ck_assert_int_eq(fclose(f), 0);
    f = fopen(path, "r");
    char line[256];
    const char *starts[] = {"server ", "acked_seq 7\n", "result xxx", "last_sync never\n"};
    size_t n = 0;
    while (cli_state_line(f, line, sizeof line)) {
        ck_assert_uint_lt(n, 4);
        ck_assert_msg(!strncmp(line, starts[n], strlen(starts[n])), "line %zu: %s", n, line);
        n++;
    }
    ck_assert_uint_eq(n, 4);
    fclose(f);
    ck_assert_uint_eq(cli_acked_seq(dir), 7);
    tu_rmdir(dir);
    free(path);
    free(dir);
}
END_TEST

/* A table row stays one row of text whatever the record holds: a line
 * break in a location, and a character where the summary is cut. */
START_TEST(table_rows_stay_one_line)
{
    struct site s = site_new("rows");
    char json[512], loc[200];
    memset(loc, 'g', 45);
    strcpy(loc + 45, "\xf0\x9f\x9a\x9a tail"); /* the truck straddles byte 48 */
    snprintf(json, sizeof json, "{\"kind\":\"near_miss\",\"occurred_at\":\"2026-11-20T10:00:00Z\","
             "\"location\":\"%s\"}", loc);
    free(add_ok(&s, "incident", json));
    snprintf(json, sizeof json, "{\"kind\":\"near_miss\",\"occurred_at\":\"2026-11-21T10:00:00Z\","
             "\"location\":\"Gate 3\\nNorth\"}");
    free(add_ok(&s, "incident", json));
    struct tu_run r = tu_agent(NULL, "list", "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_int_eq(tu_lines(r.out), 3); /* the header and two rows */
    ck_assert_msg(record_check_text(r.out, "list") == 0, "%s", scsms_errmsg());
    ck_assert_ptr_nonnull(strstr(r.out, "Gate 3 North\n"));
    loc[45] = '\0';
    strcat(loc, "\n");
    ck_assert_ptr_nonnull(strstr(r.out, loc)); /* cut before the truck */
    tu_run_free(&r);
    site_free(&s);
}
END_TEST

/* A store whose log ends before what head office acknowledged (an older
 * copy put in place, LMDB's previous commit taken) fails verify, though
 * every entry it holds is sound. */
START_TEST(verify_knows_what_head_office_acknowledged)
{
    struct site s = site_new("rolled");
    free(add_ok(&s, "incident", INCIDENT));
    free(add_ok(&s, "incident", INCIDENT));
    char *state = tu_path(s.store, "sync.state");
    for (int acked = 2; acked <= 3; acked++) {
        FILE *f = fopen(state, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "server tcp://127.0.0.1:9\nacked_seq %d\nresult ok\n", acked);
        ck_assert_int_eq(fclose(f), 0);
        struct tu_run r = tu_agent(NULL, "verify", "--store", s.store, NULL);
        if (acked == 2) {
            ck_assert_msg(r.status == 0, "%s", r.err);
            tu_run_free(&r);
            continue;
        }
        ck_assert_int_eq(r.status, 3);
        ck_assert_msg(strstr(r.err, "verify failed: the log ends at entry 2, but head office "
                                    "acknowledged entries up to 3 (sync.state): the store was "
                                    "rolled back") && tu_lines(r.err) == 1, "%s", r.err);
        tu_run_free(&r);
    }
    free(state);
    site_free(&s);
}
END_TEST

/* import --preserve restores an export into a new store only: into one in
 * use it would add records dated and numbered as if written long ago. */
START_TEST(preserve_only_into_a_new_store)
{
    struct site s = site_new("preserve");
    free(add_ok(&s, "incident", INCIDENT));
    struct tu_run r = tu_agent(NULL, "export", "--format", "json", "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *file = tu_path(s.tmp, "export.json"), *fresh = tu_path(s.tmp, "fresh");
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs(r.out, f);
    ck_assert_int_eq(fclose(f), 0);
    tu_run_free(&r);
    char *before = snapshot(&s);
    refused(&s, tu_agent(NULL, "import", file, "--preserve", "--store", s.store, NULL), 1,
            "import --preserve restores an export into a new store, but this one has 1 entries "
            "of its own");
    char *after = snapshot(&s); /* nothing back-dated into it */
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    r = tu_agent(NULL, "init", "--site", "DXB-WH1", "--store", fresh, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "import", file, "--preserve", "--store", fresh, NULL);
    ck_assert_msg(r.status == 0 && strstr(r.out, "imported 1 records"), "%s", r.err);
    tu_run_free(&r);
    free(file);
    free(fresh);
    site_free(&s);
}
END_TEST

START_TEST(backup_and_restore_through_cli)
{
    struct site s = site_new("cli-backup");
    char *bk = tu_path(s.tmp, "backup");
    free(add_ok(&s, "incident", INCIDENT));
    char *before = snapshot(&s);
    struct tu_run r = tu_agent(NULL, "backup", bk, "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    free(add_ok(&s, "incident", INCIDENT));
    /* the backup ends before the store: refused, unless the entry after it
     * is given up knowingly */
    refused(&s, tu_agent(NULL, "restore", bk, "--store", s.store, NULL), 1,
            "ends at entry 1, but the store holds entries up to 2: restoring it would drop "
            "entries 2 to 2; nothing was replaced (to give them up, restore with --drop-newer)");
    /* whatever the settings: with a scsms.ini it cannot use, the store's
     * records are still read for this check (it used to pass unseen) */
    char *ini = tu_path(s.store, "scsms.ini");
    size_t ini_len;
    char *ini_text = tu_read_file(ini, &ini_len);
    FILE *ini_f = fopen(ini, "a");
    fputs("[risk]\ntolerable_threshold = 5\n", ini_f); /* given twice */
    ck_assert_int_eq(fclose(ini_f), 0);
    refused(&s, tu_agent(NULL, "restore", bk, "--store", s.store, NULL), 1,
            "restoring it would drop entries 2 to 2; nothing was replaced");
    ini_f = fopen(ini, "w");
    ck_assert_uint_eq(fwrite(ini_text, 1, ini_len, ini_f), ini_len);
    ck_assert_int_eq(fclose(ini_f), 0);
    free(ini_text);
    free(ini);
    r = tu_agent(NULL, "verify", "--store", s.store, NULL);
    ck_assert_msg(r.status == 0 && strstr(r.out, "ok: 2 entries"), "%s%s", r.out, r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "restore", bk, "--drop-newer", "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    char *after = snapshot(&s);
    ck_assert_str_eq(before, after);
    /* a second backup into the same place is refused */
    refused(&s, tu_agent(NULL, "backup", bk, "--store", s.store, NULL), 1, "already holds");
    /* and so is one into a directory holding anything else, which stays
     * as it was */
    char *other = tu_path(s.tmp, "other"), *keep = tu_path(other, "keep"),
         *odata = tu_path(other, "data.mdb");
    ck_assert_int_eq(mkdir(other, 0700), 0);
    FILE *f = fopen(keep, "w");
    ck_assert_ptr_nonnull(f);
    fputs("mine\n", f);
    ck_assert_int_eq(fclose(f), 0);
    refused(&s, tu_agent(NULL, "backup", other, "--store", s.store, NULL), 1,
            "is not empty: choose a new or empty directory");
    ck_assert_int_eq(access(odata, F_OK), -1);
    char *kept = tu_read_file(keep, NULL);
    ck_assert_str_eq(kept, "mine\n");
    free(kept);
    free(other);
    free(keep);
    free(odata);
    free(before);
    free(after);
    free(bk);
    site_free(&s);
}
END_TEST

/* What a store's files hold is never lost to the wrong command: a
 * backup is readable by its owner alone; restore refuses another site's
 * backup even with that site's key given; init refuses a directory that
 * still holds part of a store (its signing key moved elsewhere, its data
 * file gone) and leaves it as it was; and a data file that no longer opens
 * as a store is an integrity failure for verify (exit 3). */
START_TEST(store_files_are_not_lost_to_the_wrong_command)
{
    struct site a = site_new("files-a"), b = site_new("files-b");
    free(add_ok(&a, "incident", INCIDENT));
    char *bk = tu_path(b.tmp, "backup-b"), *bdata = tu_path(bk, "data.mdb");
    struct tu_run r = tu_agent(NULL, "backup", bk, "--store", b.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    struct stat st;
    ck_assert_int_eq(stat(bdata, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    char *before = snapshot(&a);
    char *bkey = tu_path(b.store, "keys/sign.key");
    refused(&a, tu_agent(NULL, "restore", bk, "--key", bkey, "--store", a.store, NULL), 1,
            "is of DXB-WH1, not of the store in");
    char *after = snapshot(&a);
    ck_assert_str_eq(before, after);
    /* the signing key kept elsewhere and the data file gone: init refuses */
    char *key = tu_path(a.store, "keys/sign.key"), *moved = tu_path(a.tmp, "sign.key");
    char *data = tu_path(a.store, "data.mdb"), *gone = tu_path(a.tmp, "data.mdb");
    char *curve = tu_path(a.store, "keys/curve.key");
    ck_assert_int_eq(rename(key, moved), 0);
    ck_assert_int_eq(rename(data, gone), 0);
    r = tu_agent(NULL, "init", "--site", "DXB-WH1", "--store", a.store, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "already holds a store ('keys/sign.pub' is there)"), "%s", r.err);
    tu_run_free(&r);
    ck_assert_int_eq(stat(curve, &st), 0);
    ck_assert_int_eq(rename(moved, key), 0);
    /* the data file alone gone: not "run init", but damage (exit 3) */
    r = tu_agent(NULL, "verify", "--store", a.store, NULL);
    ck_assert_int_eq(r.status, 3);
    char want[512];
    snprintf(want, sizeof want, "scsms-agent: verify failed: store '%s' has lost its data file "
             "(data.mdb; its keys are there): restore it from a backup\n", a.store);
    ck_assert_str_eq(r.err, want);
    tu_run_free(&r);
    ck_assert_int_eq(rename(gone, data), 0);
    /* a data file cut short does not open: exit 3, one line */
    ck_assert_int_eq(truncate(data, 40000), 0);
    r = tu_agent(NULL, "verify", "--store", a.store, NULL);
    ck_assert_int_eq(r.status, 3);
    ck_assert_int_eq(tu_lines(r.err), 1);
    ck_assert_ptr_nonnull(strstr(r.err, "verify failed: "));
    tu_run_free(&r);
    free(before);
    free(after);
    free(bk);
    free(bdata);
    free(bkey);
    free(key);
    free(moved);
    free(data);
    free(gone);
    free(curve);
    site_free(&a);
    site_free(&b);
}
END_TEST

START_TEST(bad_input_changes_nothing)
{
    struct site s = site_new("bad");
    char *id = add_ok(&s, "incident", INCIDENT);
    char *before = snapshot(&s);
    char *big = malloc(70100), *bigfile = tu_path(s.tmp, "big.json");
    memset(big, 'a', 70100);
    const char *head = "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-20T10:00:00Z\",\"location\":\"";
    memcpy(big, head, strlen(head));
    strcpy(big + 70000, "\"}");
    FILE *f = fopen(bigfile, "w");
    fputs(big, f);
    fclose(f);
    char at_big[4200];
    snprintf(at_big, sizeof at_big, "@%s", bigfile);

    refused(&s, tu_agent(NULL, "add", "spaceship", "--json", "{}", "--store", s.store, NULL), 1,
            "unknown record type 'spaceship'");
    refused(&s, tu_agent(NULL, "add", "incident", "--json",
                         "{\"kind\":\"breach\",\"colour\":\"red\"}", "--store", s.store, NULL),
            1, "unknown field 'colour'");
    refused(&s, tu_agent(NULL, "add", "incident", "--json",
                         "{\"kind\":\"breach\",\"severity\":\"high\"}", "--store", s.store, NULL),
            1, "field 'severity' must be an integer");
    refused(&s, tu_agent(NULL, "add", "incident", "--json", at_big, "--store", s.store, NULL), 1,
            "the limit is 65536");
    refused(&s, tu_agent(NULL, "add", "incident", "--json", "{\"kind\":", "--store", s.store,
                         NULL),
            1, "bad JSON");
    refused(&s, tu_agent(NULL, "add", "incident", "--json",
                         "{\"kind\":\"breach\",\"occurred_at\":\"2026-02-30T10:00:00Z\","
                         "\"location\":\"x\"}",
                         "--store", s.store, NULL),
            1, "day 30 does not exist");
    refused(&s, tu_agent(NULL, "add", "incident", "--json", "{\"kind\":\"breach\"}", "--store",
                         s.store, NULL),
            1, "incident needs field 'occurred_at'");
    refused(&s, tu_agent(NULL, "add", "risk", "--set", "threat_category=natural_events", "--set",
                         "threatened=yard", "--set", "likelihood=9", "--set", "consequence=2",
                         "--set", "residual_likelihood=1", "--set", "residual_consequence=1",
                         "--set", "treatment=reduce", "--store", s.store, NULL),
            1, "field 'likelihood' must be 1 to 5, got 9");
    refused(&s, tu_agent(NULL, "add", "incident", "--set", "likelihood=4", "--store", s.store,
                         NULL),
            1, "unknown field 'likelihood' for type incident");
    refused(&s, tu_agent(NULL, "add", "incident", "--json", "{\"id\":\"X\"}", "--store", s.store,
                         NULL),
            1, "field 'id' is given by the store");
    refused(&s, tu_agent(NULL, "add", "policy", "--json",
                         "{\"title\":\"p\",\"statement\":\"s\"}", "--store", s.store, NULL),
            1, "rule 8");
    refused(&s, tu_agent(NULL, "update", "DXB-WH1-INC-999999", "--set", "status=closed",
                         "--store", s.store, NULL),
            1, "no record 'DXB-WH1-INC-999999'");
    refused(&s, tu_agent(NULL, "update", id, "--set", "status=exploded", "--store", s.store,
                         NULL),
            1, "status 'exploded' is not valid for incident");
    refused(&s, tu_agent(NULL, "update", id, "--json", "{\"version\":7}", "--store", s.store,
                         NULL),
            1, "field 'version' is set by the store");
    refused(&s, tu_agent(NULL, "show", "NOPE", "--store", s.store, NULL), 1, "no record 'NOPE'");
    refused(&s, tu_agent(NULL, "show", id, "--version", "5", "--store", s.store, NULL), 1,
            "has no version 5");
    refused(&s, tu_agent(NULL, "history", "NOPE", "--store", s.store, NULL), 1, "no record");
    refused(&s, tu_agent(NULL, "list", "--type", "spaceship", "--store", s.store, NULL), 1,
            "unknown record type");
    refused(&s, tu_agent(NULL, "list", "--format", "xml", "--store", s.store, NULL), 2,
            "--format must be");
    refused(&s, tu_agent(NULL, "restore", "/nonexistent/backup", "--store", s.store, NULL), 1,
            "no backup");
    refused(&s, tu_agent(NULL, "init", "--site", "DXB-WH1", "--store", s.store, NULL), 1,
            "already holds a store");
    refused(&s, tu_agent(NULL, "frobnicate", NULL), 2, "unknown command 'frobnicate'");
    /* usage errors name the option at fault, in the usage's line */
    refused(&s, tu_agent(NULL, "list", "--bogus", "--store", s.store, NULL), 2,
            "scsms-agent: unknown option '--bogus'; usage: scsms-agent list ");
    refused(&s, tu_agent(NULL, "list", "--store", NULL), 2, "option '--store' needs a value");
    refused(&s, tu_agent(NULL, "list", "--help=x", "--store", s.store, NULL), 2,
            "option '--help' takes no value");
    refused(&s, tu_agent(NULL, "list", "--st", "x", "--store", s.store, NULL), 2,
            "ambiguous option '--st'");
    /* slips that used to pass: a version past 32 bits read as a small one,
     * a status no record has matched nothing, the second of two values
     * for one field won, an empty update wrote a version, a directory
     * given as the key was said to be readable by others */
    refused(&s, tu_agent(NULL, "show", id, "--version", "4294967297", "--store", s.store, NULL),
            2, "--version must be a number from 1 to 4294967295, got '4294967297'");
    refused(&s, tu_agent(NULL, "show", id, "--version", "-1", "--store", s.store, NULL), 2,
            "--version must be a number from 1");
    refused(&s, tu_agent(NULL, "list", "--type", "incident", "--status", "flying", "--store",
                         s.store, NULL),
            1, "status 'flying' is not valid for incident: use one of open, investigating, "
               "closed, disposed");
    refused(&s, tu_agent(NULL, "list", "--status", "flying", "--store", s.store, NULL), 1,
            "no record type has status 'flying'");
    /* past a file size limit (ulimit -f) the write fails and is said in
     * one line, rather than the process being killed by SIGXFSZ */
    char *csv = tu_gen_rows(s.tmp, "rows.csv", "2000");
    char *data = tu_path(s.store, "data.mdb");
    struct stat st;
    ck_assert_int_eq(stat(data, &st), 0);
    struct rlimit was, cap = {(rlim_t)st.st_size, (rlim_t)st.st_size};
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
    cap.rlim_max = was.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &cap), 0); /* inherited by the agent */
    struct tu_run capped = tu_agent(NULL, "import", csv, "--store", s.store, NULL);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
    refused(&s, capped, 1, "commit: disk full; nothing of this change was stored");
    free(csv);
    free(data);
    /* settings that cannot be used: exit 2 and one line for every command
     * that uses them; verify and backup, which need none of them (an
     * auditor's copy may come with a broken file), go on with one line of
     * warning and the defaults */
    char *ini = tu_path(s.store, "scsms.ini");
    size_t ini_len;
    char *ini_text = tu_read_file(ini, &ini_len);
    FILE *ini_f = fopen(ini, "a");
    fputs("[risk]\ntolerable_threshold = 5\n", ini_f); /* given twice now */
    fclose(ini_f);
    refused(&s, tu_agent(NULL, "list", "--store", s.store, NULL), 2,
            "tolerable_threshold given twice (first at line");
    refused(&s, tu_agent(NULL, "add", "incident", "--json", INCIDENT, "--store", s.store, NULL), 2,
            "tolerable_threshold given twice (first at line");
    struct tu_run v = tu_agent(NULL, "verify", "--store", s.store, NULL);
    ck_assert_msg(v.status == 0, "%s", v.err);
    ck_assert_int_eq(strncmp(v.out, "ok: ", 4), 0);
    ck_assert_int_eq(tu_lines(v.err), 1);
    ck_assert_msg(strstr(v.err, "scsms-agent: warning: ") &&
                      strstr(v.err, "scsms.ini:") && strstr(v.err, "tolerable_threshold given "
                      "twice (first at line 7): give each setting once, on one line; its "
                      "defaults taken for verify, which needs none of it\n"), "%s", v.err);
    tu_run_free(&v);
    char *copy = tu_path(s.tmp, "copy-with-bad-settings");
    v = tu_agent(NULL, "backup", copy, "--store", s.store, NULL);
    ck_assert_msg(v.status == 0, "%s", v.err);
    ck_assert_int_eq(tu_lines(v.err), 1);
    ck_assert_ptr_nonnull(strstr(v.err, "; its defaults taken for backup, which needs none of it"));
    tu_run_free(&v);
    char *key = tu_path(s.store, "keys/sign.key");
    v = tu_agent(NULL, "verify", "--store", copy, "--key", key, NULL);
    ck_assert_msg(v.status == 0 && !strncmp(v.out, "ok: ", 4), "%s", v.err);
    tu_run_free(&v);
    free(key);
    free(copy);
    ini_f = fopen(ini, "w");
    fwrite(ini_text, 1, ini_len, ini_f);
    fclose(ini_f);
    free(ini_text);
    free(ini);
    /* refused before a header is printed */
    refused(&s, tu_agent(NULL, "list", "--status", "open", "--store", s.store, NULL), 1,
            "a status filter needs a type: give --type with --status");
    refused(&s, tu_agent(NULL, "add", "incident", "--json", INCIDENT, "--json", INCIDENT,
                         "--store", s.store, NULL),
            2, "--json given twice");
    refused(&s, tu_agent(NULL, "add", "incident", "--json", INCIDENT, "--set", "location=A",
                         "--set", "location=B", "--store", s.store, NULL),
            1, "field 'location' is given twice with --set: give it once");
    refused(&s, tu_agent(NULL, "update", id, "--json", "{}", "--store", s.store, NULL), 1,
            "nothing to change");
    /* values it holds already, as given or once normalised to UTC */
    refused(&s, tu_agent(NULL, "update", id, "--set", "location=Gate 3", "--store", s.store,
                         NULL),
            1, "nothing changes: 'DXB-WH1-INC-000001' holds these values already");
    refused(&s, tu_agent(NULL, "update", id, "--set", "occurred_at=2026-11-20T06:15:00Z",
                         "--store", s.store, NULL),
            1, "nothing changes: 'DXB-WH1-INC-000001' holds these values already");
    refused(&s, tu_agent(NULL, "list", "--key", s.tmp, "--store", s.store, NULL), 1,
            "is not a file");
    refused(&s, tu_agent(NULL, "add", "incident", "--json",
                         "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-20T10:15:00+25:00\","
                         "\"location\":\"x\"}",
                         "--store", s.store, NULL),
            1, "time zone offset +25:00 does not exist");
    char *after = snapshot(&s);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(big);
    free(bigfile);
    free(id);
    site_free(&s);
}
END_TEST

START_TEST(missing_store_is_clear)
{
    const char *const cmds[][4] = {
        {"list", NULL},           {"verify", NULL},          {"show", "X-INC-000001", NULL},
        {"history", "X", NULL},   {"backup", "/tmp/nope", NULL},
        {"add", "incident", "--set", "kind=breach"},         {"update", "X", "--set", "status=closed"}};
    struct tu_run r;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *argv[10];
        int n = 0;
        argv[n++] = getenv("SCSMS_AGENT");
        for (int k = 0; k < 4 && cmds[i][k]; k++)
            argv[n++] = (char *)cmds[i][k];
        argv[n++] = "--store";
        argv[n++] = "/nonexistent/store";
        argv[n] = NULL;
        r = tu_exec(argv, NULL);
        ck_assert_msg(r.status == 1, "%s: exit %d", cmds[i][0], r.status);
        ck_assert_int_eq(tu_lines(r.err), 1);
        ck_assert_msg(strstr(r.err, "no store in '/nonexistent/store': run init first") != NULL,
                      "%s: %s", cmds[i][0], r.err);
        ck_assert_str_eq(r.out, "");
        tu_run_free(&r);
    }
    r = tu_agent(NULL, "restore", "/tmp/nope", "--store", "/nonexistent/store", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_int_eq(tu_lines(r.err), 1);
    tu_run_free(&r);
    unsetenv("SCSMS_STORE");
    r = tu_agent(NULL, "add", "incident", "--json", INCIDENT, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "no store given"));
    tu_run_free(&r);
    r = tu_agent(NULL, "init", "--site", "bad site", "--store", "/tmp/never-made-scsms", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "identity 'bad site'"));
    ck_assert_int_ne(access("/tmp/never-made-scsms", F_OK), 0);
    tu_run_free(&r);
}
END_TEST

START_TEST(wrong_key_refused_by_cli)
{
    struct site a = site_new("keya"), b = site_new("keyb");
    char *bkey = tu_path(b.store, "keys/sign.key");
    char *before = snapshot(&a);
    refused(&a, tu_agent(NULL, "add", "incident", "--json", INCIDENT, "--key", bkey, "--store",
                         a.store, NULL),
            1, "is not the signing key");
    char *after = snapshot(&a);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(bkey);
    site_free(&a);
    site_free(&b);
}
END_TEST

/* Flip one bit of byte `at` of the file at path. */
static void flip_bit(const char *path, size_t at, int bit)
{
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)at), 1);
    b ^= (uint8_t)(1u << bit);
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)at), 1);
    close(fd);
}

/* A data file damaged inside its pages: one bit flipped, in turn, in each
 * page's flags or first node offsets. verify and list end in one line and
 * an exit code (0 where LMDB does not read that bit, 1, 3), never killed by
 * a signal or by LMDB's abort(). Some of these flips make LMDB read
 * through a bad pointer or fail one of its assertions: those say so and
 * exit 3 (the crash guard of cli.c; without it, SIGSEGV or SIGABRT). */
START_TEST(a_damaged_page_is_said_not_crashed_on)
{
    struct site s = site_new("pages");
    char *rows = tu_gen_rows(s.tmp, "rows.csv", "300"), *data = tu_path(s.store, "data.mdb");
    struct tu_run r = tu_agent(NULL, "import", rows, "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    struct stat st;
    ck_assert_int_eq(stat(data, &st), 0);
    static const size_t offsets[] = {10, 16, 21, 27}; /* flags; node offsets */
    static const char *const cmds[] = {"verify", "list"};
    size_t pages = (size_t)st.st_size / 4096, guarded = 0, refused_by_verify = 0;
    for (size_t p = 2; p < pages; p++) { /* pages 0 and 1 are the meta pages */
        for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
            size_t at = p * 4096 + offsets[k];
            int bit = (int)((p + k) % 8);
            flip_bit(data, at, bit);
            for (size_t c = 0; c < 2; c++) {
                r = tu_agent(NULL, cmds[c], "--store", s.store, NULL);
                ck_assert_msg(r.status == 0 || r.status == 1 || r.status == 3,
                              "page %zu byte %zu bit %d: %s exit %d: %s", p, offsets[k], bit,
                              cmds[c], r.status, r.err);
                ck_assert_msg(r.status == 0 || tu_lines(r.err) == 1, "%s: %s", cmds[c], r.err);
                if (strstr(r.err, " failed: reading the store crashed (SIG") ||
                    strstr(r.err, " failed: LMDB found the store's data file damaged ("))
                    guarded++;
                refused_by_verify += c == 0 && r.status == 3;
                tu_run_free(&r);
            }
            flip_bit(data, at, bit); /* as it was */
        }
    }
    ck_assert_uint_gt(guarded, 0);
    ck_assert_uint_gt(refused_by_verify, pages); /* most flips are found */
    r = tu_agent(NULL, "verify", "--store", s.store, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    free(rows);
    free(data);
    site_free(&s);
}
END_TEST

START_TEST(tampered_store_fails_verify)
{
    struct site s = site_new("tamper");
    for (int i = 0; i < 5; i++)
        free(add_ok(&s, "incident", INCIDENT));
    free(add_ok(&s, "incident",
                "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-21T01:00:00Z\","
                "\"location\":\"UNIQUE-LOCATION-MARK\"}"));
    /* add one more so the altered entry is not the last */
    free(add_ok(&s, "incident", INCIDENT));
    ck_assert_int_ge(tu_edit_data_file(s.store, "UNIQUE-LOCATION-MARK", 3, 'Z'), 1);
    struct tu_run r = tu_agent(NULL, "verify", "--store", s.store, NULL);
    ck_assert_int_eq(r.status, 3);
    ck_assert_int_eq(tu_lines(r.err), 1);
    ck_assert_ptr_nonnull(strstr(r.err, "verify failed: entry 6 of DXB-WH1"));
    tu_run_free(&r);
    site_free(&s);
}
END_TEST

START_TEST(help_on_every_command)
{
    const char *cmds[] = {"init", "add", "update", "show", "history", "list", "verify",
                          "backup", "restore"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        struct tu_run r = tu_agent(NULL, cmds[i], "--help", NULL);
        ck_assert_msg(r.status == 0, "%s --help: %d", cmds[i], r.status);
        ck_assert_msg(strncmp(r.out, "usage: scsms-agent ", 19) == 0, "%s: %s", cmds[i], r.out);
        tu_run_free(&r);
    }
    struct tu_run r = tu_agent(NULL, "--help", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "verify"));
    tu_run_free(&r);
}
END_TEST

/* A missing or extra argument is named, in one line with the usage,
 * exit 2, before the store is even looked for. */
START_TEST(usage_errors_name_the_argument)
{
    static const struct {
        const char *argv[6];
        const char *want;
    } cases[] = {
        {{"show", NULL}, "scsms-agent: missing ID; usage: scsms-agent show ID"},
        {{"history", "A", "B", NULL}, "scsms-agent: unexpected argument 'B'; usage: "},
        {{"list", "incident", NULL}, "scsms-agent: unexpected argument 'incident'; usage: "},
        {{"add", NULL}, "scsms-agent: missing TYPE; usage: scsms-agent add TYPE"},
        {{"update", "--set", "a=b", NULL}, "scsms-agent: missing ID; usage: "},
        {{"import", NULL}, "scsms-agent: missing FILE; usage: "},
        {{"export", "x.json", NULL}, "scsms-agent: unexpected argument 'x.json'; usage: "},
        {{"backup", NULL}, "scsms-agent: missing DEST; usage: "},
        {{"restore", "a", "b", NULL}, "scsms-agent: unexpected argument 'b'; usage: "},
        {{"verify", "x", NULL}, "scsms-agent: unexpected argument 'x'; usage: "},
        {{"init", "--store", "/nonexistent/x", NULL}, "scsms-agent: missing --site ID; usage: "},
        {{"dispose", "A", NULL}, "scsms-agent: missing --reason TEXT; usage: "},
        {{"list", "--type", "incident", "--type", "risk", NULL},
         "scsms-agent: --type given twice: give it once; usage: "},
        {{"init", "--site", "X1", "--key", "/nonexistent/k", NULL},
         "scsms-agent: init makes the store's own keys: --key is for opening a store made "
         "before; usage: "},
        {{"status", "\x1b[31mred", NULL}, "scsms-agent: unexpected argument '?[31mred'; usage: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].argv;
        struct tu_run r = tu_agent(NULL, a[0], a[1], a[2], a[3], a[4], NULL);
        ck_assert_msg(r.status == 2, "%s: exit %d: %s", a[0], r.status, r.err);
        ck_assert_msg(strncmp(r.err, cases[i].want, strlen(cases[i].want)) == 0, "%s: %s", a[0],
                      r.err);
        ck_assert_int_eq(tu_lines(r.err), 1);
        tu_run_free(&r);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("agent");
    TCase *t = tcase_create("cli");
    tcase_add_test(t, register_round_trip);
    tcase_add_test(t, backup_and_restore_through_cli);
    tcase_add_test(t, sync_state_lines_are_read_whole);
    tcase_add_test(t, table_rows_stay_one_line);
    tcase_add_test(t, verify_knows_what_head_office_acknowledged);
    tcase_add_test(t, preserve_only_into_a_new_store);
    tcase_add_test(t, store_files_are_not_lost_to_the_wrong_command);
    tcase_add_test(t, bad_input_changes_nothing);
    tcase_add_test(t, missing_store_is_clear);
    tcase_add_test(t, wrong_key_refused_by_cli);
    tcase_add_test(t, tampered_store_fails_verify);
    tcase_add_test(t, a_damaged_page_is_said_not_crashed_on);
    tcase_add_test(t, help_on_every_command);
    tcase_add_test(t, usage_errors_name_the_argument);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

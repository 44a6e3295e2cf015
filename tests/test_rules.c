/* test_rules.c -- each rule of DOMAIN.md a site can break: the refusal
 * text, and the store unchanged afterwards; and what rules 3 and 4 raise. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "jsonpb.h"
#include "seal.h"
#include "store.h"
#include "verify.h"

struct fixture {
    char *dir;
    store_t *s;
};

static struct fixture fx_store(const char *tag, const char *owner, enum store_role role,
                               const char *ini)
{
    struct fixture f;
    f.dir = tu_tmpdir(tag);
    ck_assert_int_eq(store_create(f.dir, owner, role, NULL), 0);
    if (ini) {
        char *p = tu_path(f.dir, "scsms.ini");
        FILE *fp = fopen(p, "w");
        ck_assert_ptr_nonnull(fp);
        fputs(ini, fp);
        fclose(fp);
        free(p);
    }
    f.s = NULL;
    ck_assert_msg(store_open(f.dir, NULL, &f.s) == 0, "%s", scsms_errmsg());
    return f;
}

static struct fixture fx_new(const char *tag, const char *ini)
{
    return fx_store(tag, "SITE-R", STORE_ROLE_SITE, ini);
}

static void fx_free(struct fixture *f)
{
    struct verify_report rep;
    ck_assert_msg(verify_store(f->s, &rep) == 0, "%s", scsms_errmsg());
    store_close(&f->s);
    tu_rmdir(f->dir);
    free(f->dir);
}

static uint64_t entries(store_t *s)
{
    struct store_stats st;
    ck_assert_int_eq(store_stats(s, &st), 0);
    return st.entries;
}

static uint64_t records(store_t *s)
{
    struct store_stats st;
    ck_assert_int_eq(store_stats(s, &st), 0);
    return st.records;
}

static Scsms__Record *rec(const char *type, const char *json)
{
    struct json_object *o = NULL;
    Scsms__Record *r = NULL;
    ck_assert_msg(jsonpb_parse(json, strlen(json), &o) == 0, "%s", scsms_errmsg());
    ck_assert_msg(jsonpb_to_record(o, type, &r) == 0, "%s", scsms_errmsg());
    json_object_put(o);
    return r;
}

/* Write and return the id (caller frees), and the raised lines joined. */
static char *put_ok(store_t *s, const char *type, const char *json, char *raised, size_t cap)
{
    Scsms__Record *r = rec(type, json);
    store_batch_t *b = NULL;
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    ck_assert_int_eq(store_batch_add(b, r), 0);
    ck_assert_msg(store_batch_commit(b) == 0, "%s: %s", type, scsms_errmsg());
    char *id = strdup(store_batch_id(b, 0));
    if (raised) {
        size_t n;
        const char *const *v = store_batch_raised(b, &n);
        raised[0] = 0;
        for (size_t i = 0; i < n; i++)
            snprintf(raised + strlen(raised), cap - strlen(raised), "%s\n", v[i]);
    }
    store_batch_destroy(&b);
    record_free(r);
    return id;
}

/* The write is refused with code and a message containing want, and the
 * store holds exactly as many entries and records as before. */
static void refused(store_t *s, const char *type, const char *json, int code, const char *want)
{
    uint64_t before = entries(s), held = records(s);
    Scsms__Record *r = rec(type, json);
    int rc = store_put(s, r, NULL);
    ck_assert_msg(rc == code, "%s: rc %d want %d: %s", json, rc, code, scsms_errmsg());
    ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'",
                  scsms_errmsg(), want);
    ck_assert_uint_eq(entries(s), before);
    ck_assert_uint_eq(records(s), held);
    record_free(r);
}

/* r written as restored from an export (import --preserve), in a batch of
 * its own: the commit's code, its message kept; one entry more on
 * success, none otherwise. */
static int commit_preserved(store_t *s, Scsms__Record *r)
{
    store_batch_t *b = NULL;
    uint64_t before = entries(s);
    char msg[512];
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    ck_assert_int_eq(store_batch_add_preserved(b, r), 0);
    int rc = store_batch_commit(b);
    snprintf(msg, sizeof msg, "%s", rc ? scsms_errmsg() : "");
    store_batch_destroy(&b);
    ck_assert_uint_eq(entries(s), rc ? before : before + 1);
    return rc ? scsms_fail(rc, "%s", msg) : 0;
}

static char *status_of(store_t *s, const char *id)
{
    Scsms__Record *r = NULL;
    ck_assert_msg(store_get(s, id, 0, &r) == 0, "%s: %s", id, scsms_errmsg());
    char *st = strdup(r->status);
    record_free(r);
    return st;
}

#define RISK(lik, con, rl, rc, treat)                                                            \
    "{\"threat_category\":\"natural_events\",\"threatened\":\"yard\",\"likelihood\":" #lik        \
    ",\"consequence\":" #con ",\"residual_likelihood\":" #rl ",\"residual_consequence\":" #rc    \
    ",\"treatment\":\"" treat "\"}"

START_TEST(rule1_intolerable_risk_cannot_be_accepted)
{
    struct fixture f = fx_new("rule1", NULL);
    refused(f.s, "risk", RISK(5, 5, 4, 3, "accept"), SCSMS_ERULE,
            "risk is intolerable: residual score 12 (4 x 3) is above the threshold 8");
    free(put_ok(f.s, "risk", RISK(5, 5, 4, 3, "reduce"), NULL, 0)); /* treated: fine */
    free(put_ok(f.s, "risk", RISK(3, 3, 2, 4, "accept"), NULL, 0)); /* 8: tolerable */
    refused(f.s, "risk", RISK(3, 3, 3, 3, "accept"), SCSMS_ERULE, "above the threshold 8");
    /* only head office accepts an intolerable risk */
    refused(f.s, "risk",
            "{\"threat_category\":\"natural_events\",\"threatened\":\"yard\",\"likelihood\":5,"
            "\"consequence\":5,\"residual_likelihood\":4,\"residual_consequence\":4,"
            "\"treatment\":\"accept\",\"hq_accepted\":true,\"accepted_by\":\"me\"}",
            SCSMS_EPERM, "only head office can accept an intolerable risk");
    ck_assert_uint_eq(entries(f.s), 2);
    fx_free(&f);
}
END_TEST

START_TEST(rule1_threshold_comes_from_settings)
{
    struct fixture f = fx_new("rule1ini", "[risk]\ntolerable_threshold = 12\n");
    free(put_ok(f.s, "risk", RISK(5, 5, 4, 3, "accept"), NULL, 0));
    refused(f.s, "risk", RISK(5, 5, 4, 4, "accept"), SCSMS_ERULE, "above the threshold 12");
    fx_free(&f);
}
END_TEST

static int write_bytes(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(text, 1, len, f);
    return fclose(f) == 0 && put == len ? 0 : -1;
}

/* What libinih reads past in silence, or misreads, is refused at open
 * naming the line (SCSMS_ECONFIG), and the store is unchanged: a comment
 * too long for inih's buffer, whose tail it would read as a setting; a
 * setting given twice, or continued on a line that starts with a blank;
 * text after a section's name; an unknown section; a NUL byte, a control
 * character, a lone carriage return, bytes that are not UTF-8; a number
 * with a sign. What inih reads as meant (CRLF, comments, a byte-order
 * mark, an inline comment) still opens. */
START_TEST(settings_inih_would_misread_are_refused)
{
    char *dir = tu_tmpdir("inimis");
    ck_assert_int_eq(store_create(dir, "SITE-M", STORE_ROLE_SITE, NULL), 0);
    char *p = tu_path(dir, "scsms.ini");
    char long_comment[400];
    snprintf(long_comment, sizeof long_comment, "[risk]\ntolerable_threshold = 4\n; %0197d"
             "tolerable_threshold = 25\n", 0);
    static const struct { const char *text; size_t len; const char *why; } bad[] = {
        {NULL, 0, "scsms.ini:3: line longer than 198 characters"},
        {"[risk]\ntolerable_threshold = 5\ntolerable_threshold = 9\n", 0,
         "scsms.ini:3: tolerable_threshold given twice (first at line 2)"},
        {"[records]\ndisposal_authorised = r.haddad,\n  k.li\n", 0,
         "scsms.ini:3: disposal_authorised given twice (first at line 2; a line that starts "
         "with a blank continues the one before it)"},
        {"[risk] tolerable_threshold = 2\n", 0, "scsms.ini:1: text after the section name [risk]"},
        {"[rsik]\n", 0, "scsms.ini:1: unknown section [rsik]"},
        {"[risk]\rtolerable_threshold = 30\r", 0, "scsms.ini:1: a carriage return inside the line"},
        {"[risk]\ntolerable_threshold = 9\0junk\n", 32, "scsms.ini:2: a NUL byte in the line"},
        {"[risk]\n\x1b]0;x\x07x = 1\n", 0, "scsms.ini:2: the line has a control character (0x1b)"},
        {"[r\xffisk]\n", 0, "scsms.ini:1: the line is not valid UTF-8 at byte 3"},
        {"[risk]\ntolerable_threshold = +5\n", 0, "scsms.ini:2: tolerable_threshold must be 1 to 25, got '+5'"},
        {"[due]\nexpiring_within_days = -0\n", 0, "scsms.ini:2: expiring_within_days must be 0 to 3650, got '-0'"},
        /* inih passes over a byte-order mark at the start: the checks too */
        {"\xef\xbb\xbf[risk] tolerable_threshold = 20\n", 0,
         "scsms.ini:1: text after the section name [risk]"},
        {"\xef\xbb\xbf[rsik]\n", 0, "scsms.ini:1: unknown section [rsik]"},
        {"[sync]\nserver = tcp://h:7100\n  server_key = x\n", 0,
         "scsms.ini:3: server given twice (first at line 2; a line that starts with a blank "
         "continues the one before it)"},
        {"[sync]\nserver = tcp://010.0.0.1:7100\n", 0,
         "scsms.ini:2: server 'tcp://010.0.0.1:7100' is not an endpoint"},
        {"[sync]\nserver = tcp://h:07100\n", 0, "scsms.ini:2: server 'tcp://h:07100' is not an endpoint"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *text = bad[i].text ? bad[i].text : long_comment;
        ck_assert_int_eq(write_bytes(p, text, bad[i].len ? bad[i].len : strlen(text)), 0);
        store_t *s = NULL;
        ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
        ck_assert_msg(strstr(scsms_errmsg(), bad[i].why), "case %zu: %s", i, scsms_errmsg());
        ck_assert_ptr_null(strchr(scsms_errmsg(), '\x1b'));
    }
    static const char *const good[] = {
        "[risk]\r\ntolerable_threshold = 9\r\n; c\r\n# c\r\n",
        "\xef\xbb\xbf[risk]\ntolerable_threshold = 9 ; inline comment\n",
        "[risk] ; the matrix\ntolerable_threshold = 9",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_int_eq(write_bytes(p, good[i], strlen(good[i])), 0);
        store_t *s = NULL;
        ck_assert_msg(store_open(dir, NULL, &s) == 0, "good %zu: %s", i, scsms_errmsg());
        ck_assert_uint_eq(store_config(s)->risk_threshold, 9);
        store_close(&s);
    }
    /* the longest line is 198 characters before its LF or CRLF, last or
     * not; one more is refused either way */
    static const struct { int chars; const char *end; int ok; } edge[] = {
        {198, "\n", 1}, {198, "\r\n", 1}, {198, "", 1},
        {199, "\n", 0}, {199, "\r\n", 0}, {199, "", 0},
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        char text[400];
        int head = snprintf(text, sizeof text, "[records]\n");
        int pre = snprintf(text + head, sizeof text - (size_t)head, "disposal_authorised = ");
        memset(text + head + pre, 'a', (size_t)(edge[i].chars - pre));
        snprintf(text + head + edge[i].chars, sizeof text - (size_t)(head + edge[i].chars), "%s",
                 edge[i].end);
        ck_assert_int_eq(write_bytes(p, text, strlen(text)), 0);
        store_t *s = NULL;
        int rc = store_open(dir, NULL, &s);
        if (edge[i].ok) {
            ck_assert_msg(rc == 0, "%d chars%s: %s", edge[i].chars, edge[i].end, scsms_errmsg());
            ck_assert_uint_eq(strlen(store_config(s)->disposers), (size_t)(edge[i].chars - pre));
            store_close(&s);
        } else {
            ck_assert_int_eq(rc, SCSMS_ECONFIG);
            ck_assert_msg(strstr(scsms_errmsg(), "scsms.ini:2: line longer than 198 characters"),
                          "%s", scsms_errmsg());
        }
    }
    /* a refused file leaves nothing of itself in the settings */
    const char *half = "[risk]\ntolerable_threshold = 9\n[rsik]\n";
    FILE *mf = fmemopen((void *)half, strlen(half), "r");
    struct scsms_config cfg;
    ck_assert_int_eq(config_parse(mf, "mem", &cfg), SCSMS_ECONFIG);
    fclose(mf);
    ck_assert_uint_eq(cfg.risk_threshold, 8);
    free(p);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* A scsms.ini that is not a regular file is refused, not read as the
 * defaults (a directory), nor waited on for ever (a pipe); a link to
 * nothing likewise. And init reads one already there before it makes
 * anything: a bad one leaves no half-made store behind. */
START_TEST(settings_not_a_file_are_refused)
{
    char *dir = tu_tmpdir("ininf");
    ck_assert_int_eq(store_create(dir, "SITE-N", STORE_ROLE_SITE, NULL), 0);
    char *p = tu_path(dir, "scsms.ini");
    ck_assert_int_eq(unlink(p), 0);
    store_t *s = NULL;
    ck_assert_int_eq(mkdir(p, 0700), 0);
    ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
    ck_assert_msg(strstr(scsms_errmsg(), "scsms.ini': not a regular file"), "%s", scsms_errmsg());
    ck_assert_int_eq(rmdir(p), 0);
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
    ck_assert_msg(strstr(scsms_errmsg(), "scsms.ini': not a regular file"), "%s", scsms_errmsg());
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(symlink("/nonexistent/scsms.ini", p), 0);
    ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
    ck_assert_msg(strstr(scsms_errmsg(), "a link to nothing"), "%s", scsms_errmsg());
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_msg(store_open(dir, NULL, &s) == 0, "%s", scsms_errmsg()); /* none: the defaults */
    ck_assert_uint_eq(store_config(s)->risk_threshold, 8);
    store_close(&s);

    char *pre = tu_path(dir, "pre");
    ck_assert_int_eq(mkdir(pre, 0700), 0);
    char *pre_ini = tu_path(pre, "scsms.ini");
    const char *bad = "[risk]\ntolerable_threshold = 99\n";
    ck_assert_int_eq(write_bytes(pre_ini, bad, strlen(bad)), 0);
    ck_assert_int_eq(store_create(pre, "SITE-P", STORE_ROLE_SITE, NULL), SCSMS_ECONFIG);
    ck_assert_msg(strstr(scsms_errmsg(), "scsms.ini:2: tolerable_threshold must be 1 to 25"), "%s",
                  scsms_errmsg());
    char *keys = tu_path(pre, "keys"), *data = tu_path(pre, "data.mdb");
    ck_assert_int_eq(access(keys, F_OK), -1);
    ck_assert_int_eq(access(data, F_OK), -1);
    size_t len;
    char *kept = tu_read_file(pre_ini, &len);
    ck_assert_str_eq(kept, bad);
    free(kept);
    /* head office's own file has no [sync]: it is the server, and is
     * given no endpoint */
    char *hq_bad = tu_path(dir, "hqbad");
    struct store_options with_server = {.server = "tcp://h:7100"};
    ck_assert_int_eq(store_create(hq_bad, "HQ", STORE_ROLE_HQ, &with_server), SCSMS_EINVAL);
    ck_assert_msg(strstr(scsms_errmsg(), "head office is the server: --server and --server-key "
                         "are for a site's or a partner's store"), "%s", scsms_errmsg());
    ck_assert_int_eq(access(hq_bad, F_OK), -1);
    free(hq_bad);
    char *hq = tu_path(dir, "hq"), *hq_ini = tu_path(hq, "scsms.ini");
    ck_assert_int_eq(store_create(hq, "HQ", STORE_ROLE_HQ, NULL), 0);
    kept = tu_read_file(hq_ini, &len);
    ck_assert_ptr_nonnull(strstr(kept, "(read by scsms-server at every command)"));
    ck_assert_ptr_null(strstr(kept, "[sync]"));
    ck_assert_ptr_nonnull(strstr(kept, "tolerable_threshold = 8"));
    free(kept);
    free(hq_ini);
    free(hq);
    free(keys);
    free(data);
    free(pre_ini);
    free(pre);
    free(p);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(bad_settings_are_refused_at_open)
{
    char *dir = tu_tmpdir("badini");
    ck_assert_int_eq(store_create(dir, "SITE-R", STORE_ROLE_SITE, NULL), 0);
    char *p = tu_path(dir, "scsms.ini");
    FILE *fp = fopen(p, "w");
    fputs("[risk]\n; comment\ntolerable_threshold = 30\n", fp);
    fclose(fp);
    store_t *s = NULL;
    ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "scsms.ini:3: tolerable_threshold must be 1 to 25"));
    fp = fopen(p, "w");
    fputs("[risk]\ncolour = blue\n", fp);
    fclose(fp);
    ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "unknown setting 'colour'"));
    free(p);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* [sync] holds head office's endpoint and key for 'scsms-agent run', as
 * init --server --server-key writes them: every CURVE key survives the INI
 * round trip (Z85 has '#', '=', ':' and brackets in its alphabet), and a
 * bad endpoint or key is refused at open naming the line. */
START_TEST(sync_settings_round_trip_and_refusals)
{
    char *dir = tu_tmpdir("syncini");
    char pub[41], sec[41];
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(zmq_curve_keypair(pub, sec), 0);
        char *sub = tu_path(dir, i % 2 ? "a" : "b");
        struct store_options o = {.server = "tcp://hq.example.com:7100", .server_key = pub};
        ck_assert_msg(store_create(sub, "SITE-Y", STORE_ROLE_SITE, &o) == 0, "%s", scsms_errmsg());
        store_t *s = NULL;
        ck_assert_msg(store_open(sub, NULL, &s) == 0, "key %s: %s", pub, scsms_errmsg());
        ck_assert_str_eq(store_config(s)->server, "tcp://hq.example.com:7100");
        ck_assert_str_eq(store_config(s)->server_key, pub);
        store_close(&s);
        tu_rmdir(sub);
        free(sub);
    }
    const char *bad[][2] = {{"server = hq.example.com:7100\n", "scsms.ini:2: server 'hq.example.com:7100' is not an endpoint"},
                            {"server = tcp://hq:0\n", "scsms.ini:2: server 'tcp://hq:0' is not an endpoint"},
                            {"server = tcp://:7100\n", "is not an endpoint"},
                            {"server_key = abc\n", "scsms.ini:2: server_key 'abc' is not a CURVE key"}};
    ck_assert_int_eq(store_create(dir, "SITE-Y", STORE_ROLE_SITE, NULL), 0);
    char *p = tu_path(dir, "scsms.ini");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *fp = fopen(p, "w");
        fprintf(fp, "[sync]\n%s", bad[i][0]);
        fclose(fp);
        store_t *s = NULL;
        ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
        ck_assert_msg(strstr(scsms_errmsg(), bad[i][1]), "%s", scsms_errmsg());
    }
    /* the first bad line is named with its own reason */
    FILE *fp = fopen(p, "w");
    fputs("[sync]\nserver = tcp://h:0\nserver_key = abc\n", fp);
    fclose(fp);
    store_t *s = NULL;
    ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
    ck_assert_msg(strstr(scsms_errmsg(), "scsms.ini:2: server 'tcp://h:0' is not an endpoint"), "%s",
                  scsms_errmsg());
    fp = fopen(p, "w");
    fputs("[sync]\nnot a setting\nserver_key = abc\n", fp);
    fclose(fp);
    ck_assert_int_eq(store_open(dir, NULL, &s), SCSMS_ECONFIG);
    ck_assert_msg(strstr(scsms_errmsg(), "scsms.ini:2: not an INI line"), "%s", scsms_errmsg());
    ck_assert_int_eq(config_check_endpoint("tcp://10.0.0.7:7100"), 0);
    ck_assert_int_eq(config_check_endpoint("tcp://hq-eu.example.com:7100"), 0);
    ck_assert_int_eq(config_check_endpoint("tcp://localhost:1"), 0);
    ck_assert_int_eq(config_check_endpoint("tcp://255.255.255.255:65535"), 0);
    /* what ZeroMQ would refuse only when run connects */
    const char *refused[] = {"tcp://10.0.0.7:7100 ; x", "tcp://*:7100", "tcp://[::1]:7100",
                             "tcp://:::1", "ipc:///tmp/x", "tcp://host:70000",
                             "tcp://127.0.0.1:+7100", "tcp://x/y:7100", "tcp://-bad-.:7100",
                             "tcp://\xc3\xbcn.invalid:7100", "tcp://a%b:7100",
                             "tcp://999.999.999.999:7100", "tcp://1.2.3:7100", "tcp://a..b:7100",
                             "tcp://h:065535", "tcp://h: 7100"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        ck_assert_msg(config_check_endpoint(refused[i]) == SCSMS_EINVAL, "%s", refused[i]);
    /* the longest endpoint allowed is read back whole; one more is refused */
    char ep[CONFIG_ENDPOINT_MAX + 2];
    snprintf(ep, sizeof ep, "tcp://%0*d:7100", CONFIG_ENDPOINT_MAX - 11, 0);
    ck_assert_uint_eq(strlen(ep), CONFIG_ENDPOINT_MAX);
    memset(ep + 6, 'h', CONFIG_ENDPOINT_MAX - 11);
    for (size_t at = 6 + 60; at < CONFIG_ENDPOINT_MAX - 6; at += 61)
        ep[at] = '.'; /* labels of at most 63 characters, as DNS has them */
    ck_assert_int_eq(config_check_endpoint(ep), 0);
    char *long_dir = tu_path(dir, "long");
    struct store_options lo = {.server = ep, .server_key = pub};
    ck_assert_msg(store_create(long_dir, "SITE-Y", STORE_ROLE_SITE, &lo) == 0, "%s", scsms_errmsg());
    ck_assert_msg(store_open(long_dir, NULL, &s) == 0, "%s", scsms_errmsg());
    ck_assert_str_eq(store_config(s)->server, ep);
    store_close(&s);
    char longer[CONFIG_ENDPOINT_MAX + 3];
    snprintf(longer, sizeof longer, "tcp://h%s", ep + 6);
    ck_assert_int_eq(config_check_endpoint(longer), SCSMS_EINVAL);
    /* nothing is made for an endpoint or key the settings could not read back */
    char *none = tu_path(dir, "none");
    struct store_options bad_ep = {.server = longer, .server_key = pub};
    struct store_options bad_key = {.server = ep, .server_key = "abc"};
    ck_assert_int_eq(store_create(none, "SITE-Y", STORE_ROLE_SITE, &bad_ep), SCSMS_EINVAL);
    ck_assert_int_eq(store_create(none, "SITE-Y", STORE_ROLE_SITE, &bad_key), SCSMS_EINVAL);
    ck_assert_msg(strstr(scsms_errmsg(), "'abc' is not a CURVE key"), "%s", scsms_errmsg());
    ck_assert_int_eq(access(none, F_OK), -1);
    free(none);
    /* a settings file put there first is kept, and not silently left
     * without the endpoint init was given */
    char *pre = tu_path(dir, "pre");
    ck_assert_int_eq(mkdir(pre, 0700), 0);
    char *pre_ini = tu_path(pre, "scsms.ini");
    fp = fopen(pre_ini, "w");
    fputs("[due]\nexpiring_within_days = 45\n", fp);
    fclose(fp);
    ck_assert_int_eq(store_create(pre, "SITE-Y", STORE_ROLE_SITE, &lo), SCSMS_EEXIST);
    ck_assert_msg(strstr(scsms_errmsg(), "is there already: set server and server_key"), "%s",
                  scsms_errmsg());
    size_t len;
    char *kept = tu_read_file(pre_ini, &len);
    ck_assert_str_eq(kept, "[due]\nexpiring_within_days = 45\n");
    free(kept);
    ck_assert_int_eq(store_open(pre, NULL, &s), SCSMS_ENOTFOUND);
    ck_assert_int_eq(store_create(pre, "SITE-Y", STORE_ROLE_SITE, NULL), 0); /* no endpoint given */
    ck_assert_msg(store_open(pre, NULL, &s) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(store_config(s)->expiring_days, 45);
    store_close(&s);
    free(pre_ini);
    free(pre);
    free(long_dir);
    free(p);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(rule2_action_gates)
{
    struct fixture f = fx_new("rule2", NULL);
    char *risk = put_ok(f.s, "risk", RISK(3, 3, 2, 2, "reduce"), NULL, 0);
    char *inc = put_ok(f.s, "incident",
                       "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-01T00:00:00Z\","
                       "\"location\":\"gate\"}",
                       NULL, 0);
    const char *base = "\"kind\":\"corrective\",\"description\":\"fix the gate\","
                       "\"responsible\":\"ops\",\"due_date\":\"2026-12-01\"";
    char json[1024];
    snprintf(json, sizeof json, "{%s,\"status\":\"implemented\"}", base);
    refused(f.s, "action", json, SCSMS_ERULE,
            "an action cannot be implemented before it links the risk review");
    snprintf(json, sizeof json,
             "{%s,\"status\":\"implemented\",\"links\":[{\"rel\":\"risk_review\",\"target\":\"%s\"}]}",
             base, inc);
    refused(f.s, "action", json, SCSMS_ERULE, "must name a risk, but 'SITE-R-INC-000002' is an incident");
    snprintf(json, sizeof json,
             "{%s,\"status\":\"implemented\",\"links\":[{\"rel\":\"risk_review\",\"target\":\"%s\"}]}",
             base, "SITE-R-RSK-999999");
    refused(f.s, "action", json, SCSMS_ERULE, "which is not in this store");
    snprintf(json, sizeof json, "{%s,\"status\":\"closed\",\"immediate\":true}", base);
    refused(f.s, "action", json, SCSMS_ERULE,
            "cannot be closed without a recorded effectiveness check");
    /* allowed: linked review, or immediate; closed with the check */
    snprintf(json, sizeof json,
             "{%s,\"status\":\"implemented\",\"links\":[{\"rel\":\"risk_review\",\"target\":\"%s\"},"
             "{\"rel\":\"source\",\"target\":\"%s\"}]}",
             base, risk, inc);
    free(put_ok(f.s, "action", json, NULL, 0));
    snprintf(json, sizeof json, "{%s,\"status\":\"implemented\",\"immediate\":true}", base);
    free(put_ok(f.s, "action", json, NULL, 0));
    snprintf(json, sizeof json,
             "{%s,\"status\":\"closed\",\"immediate\":true,\"effectiveness_check\":\"no repeat "
             "in 30 days\",\"effectiveness_date\":\"2026-11-20\"}",
             base);
    free(put_ok(f.s, "action", json, NULL, 0));
    free(risk);
    free(inc);
    fx_free(&f);
}
END_TEST

/* A record says what has happened: an incident's time, an audit held, a
 * course completed... is not after now (a quarter of an hour's grace for a
 * time, a day's for a date: a site east of Greenwich), nor an incident
 * reported before it happened. Each refusal leaves the store as it was. A
 * record restored from an export is written as it was. */
START_TEST(what_has_happened_is_not_dated_ahead)
{
    setenv("SCSMS_NOW", "2026-11-23T08:00:00Z", 1);
    struct fixture f = fx_new("happened", NULL);
    refused(f.s, "incident",
            "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-23T08:20:00Z\",\"location\":\"gate\"}",
            SCSMS_ERULE, "occurred_at 2026-11-23T08:20:00Z is after now, 2026-11-23T08:00:00Z: "
            "record the incident once it has happened, with its time and UTC offset");
    /* a partner's typing slip of a year */
    refused(f.s, "incident",
            "{\"kind\":\"breach\",\"occurred_at\":\"2027-11-20T08:00:00Z\",\"location\":\"gate\"}",
            SCSMS_ERULE, "occurred_at 2027-11-20T08:00:00Z is after now");
    /* local time with its offset is earlier than it reads; within the grace */
    free(put_ok(f.s, "incident",
                "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-23T09:05:00+01:00\","
                "\"location\":\"gate\"}", NULL, 0));
    free(put_ok(f.s, "incident",
                "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-23T08:10:00Z\",\"location\":\"gate\"}",
                NULL, 0));
    refused(f.s, "incident",
            "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-20T08:00:00Z\",\"location\":\"gate\","
            "\"reported_to_authority\":true,\"reported_at\":\"2026-11-19T08:00:00Z\"}",
            SCSMS_ERULE, "reported_at 2026-11-19T08:00:00Z is before occurred_at "
            "2026-11-20T08:00:00Z: an incident is reported once it has happened");
    refused(f.s, "audit",
            "{\"planned_date\":\"2026-11-10\",\"audit_scope\":\"gate\",\"auditor\":\"a.b\","
            "\"status\":\"held\",\"held_date\":\"2026-11-25\"}",
            SCSMS_ERULE, "held_date 2026-11-25 is after today, 2026-11-23: record the audit once "
            "it has happened, with the date it did");
    refused(f.s, "training",
            "{\"person\":\"j.doe\",\"course\":\"seals\",\"completed_date\":\"2026-12-01\"}",
            SCSMS_ERULE, "completed_date 2026-12-01 is after today, 2026-11-23");
    refused(f.s, "drill",
            "{\"scenario\":\"fire\",\"planned_date\":\"2026-11-30\",\"status\":\"held\","
            "\"held_date\":\"2026-11-30\"}",
            SCSMS_ERULE, "held_date 2026-11-30 is after today, 2026-11-23: record the drill");
    /* tomorrow is today east of Greenwich; a plan may lie ahead */
    free(put_ok(f.s, "training",
                "{\"person\":\"j.doe\",\"course\":\"seals\",\"completed_date\":\"2026-11-24\"}",
                NULL, 0));
    free(put_ok(f.s, "drill", "{\"scenario\":\"fire\",\"planned_date\":\"2026-12-30\"}", NULL,
                0));
    ck_assert_uint_eq(records(f.s), 4);
    /* restored from an export as it was written, even dated ahead of its
     * writing (an export made before this check), and updated since */
    Scsms__Record *back = rec("training",
                              "{\"id\":\"SITE-R-TRN-000042\",\"version\":2,\"created_at\":"
                              "\"2026-03-02T10:00:00Z\",\"updated_at\":\"2026-03-21T10:00:00Z\","
                              "\"author\":\"k.li\",\"person\":\"j.doe\",\"course\":\"seals\","
                              "\"completed_date\":\"2026-12-01\"}");
    ck_assert_msg(commit_preserved(f.s, back) == 0, "%s", scsms_errmsg());
    record_free(back);
    fx_free(&f);
    unsetenv("SCSMS_NOW");
}
END_TEST

START_TEST(links_are_typed)
{
    struct fixture f = fx_new("links", NULL);
    char *inc = put_ok(f.s, "incident",
                       "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-01T00:00:00Z\","
                       "\"location\":\"gate\"}",
                       NULL, 0);
    char json[512];
    snprintf(json, sizeof json,
             "{\"kind\":\"near_miss\",\"occurred_at\":\"2026-11-02T00:00:00Z\",\"location\":\"x\","
             "\"links\":[{\"rel\":\"cause\",\"target\":\"%s\"}]}",
             inc);
    refused(f.s, "incident", json, SCSMS_ERULE, "an incident cannot link 'cause': its links are risk");
    snprintf(json, sizeof json,
             "{\"source\":\"incident\",\"description\":\"gate left open\","
             "\"links\":[{\"rel\":\"source\",\"target\":\"%s\"}]}",
             inc);
    free(put_ok(f.s, "nonconformity", json, NULL, 0));
    refused(f.s, "calibration", "{\"performed_date\":\"2026-11-01\",\"result\":\"pass\"}",
            SCSMS_ERULE, "must link the equipment");
    free(inc);
    fx_free(&f);
}
END_TEST

START_TEST(rule3_failed_calibration_takes_equipment_out)
{
    /* a clock of its own: the dates below are in its future for good */
    setenv("SCSMS_NOW", "2026-11-23T08:00:00Z", 1);
    struct fixture f = fx_new("rule3", NULL);
    char raised[1024], json[512];
    char *eq = put_ok(f.s, "equipment",
                      "{\"equipment_id\":\"CAM-07\",\"kind\":\"camera\",\"location\":\"Gate 3\","
                      "\"next_calibration_date\":\"2099-01-01\"}",
                      raised, sizeof raised);
    ck_assert_str_eq(raised, "");
    snprintf(json, sizeof json,
             "{\"performed_date\":\"2026-11-20\",\"result\":\"fail\",\"links\":[{\"rel\":"
             "\"equipment\",\"target\":\"%s\"}]}",
             eq);
    uint64_t before = entries(f.s);
    char *cal = put_ok(f.s, "calibration", json, raised, sizeof raised);
    ck_assert_uint_eq(entries(f.s), before + 3); /* calibration, equipment v2, nonconformity */
    char *st = status_of(f.s, eq);
    ck_assert_str_eq(st, "out_of_calibration");
    free(st);
    char ncid[256];
    snprintf(ncid, sizeof ncid, "%s-NCR", cal);
    ck_assert_ptr_nonnull(strstr(raised, ncid));
    Scsms__Record *nc = NULL;
    ck_assert_int_eq(store_get(f.s, ncid, 0, &nc), 0);
    ck_assert_int_eq(nc->nonconformity->source, SCSMS__NONCONFORMITY__SOURCE__CALIBRATION);
    ck_assert_str_eq(nc->links[0]->target, cal);
    record_free(nc);
    /* a pass puts it back and moves the next date */
    snprintf(json, sizeof json,
             "{\"performed_date\":\"2026-11-21\",\"result\":\"pass\",\"next_due_date\":"
             "\"2099-05-21\",\"links\":[{\"rel\":\"equipment\",\"target\":\"%s\"}]}",
             eq);
    free(put_ok(f.s, "calibration", json, raised, sizeof raised));
    ck_assert_ptr_nonnull(strstr(raised, "back in service"));
    Scsms__Record *e = NULL;
    ck_assert_int_eq(store_get(f.s, eq, 0, &e), 0);
    ck_assert_str_eq(e->status, "in_service");
    ck_assert_str_eq(e->equipment->next_calibration_date, "2099-05-21");
    record_free(e);
    free(eq);
    free(cal);
    fx_free(&f);
    unsetenv("SCSMS_NOW");
}
END_TEST

static void update_refused(store_t *s, const char *id, const char *field, const char *value,
                           int code, const char *want);

START_TEST(rule3_overdue_equipment_is_out_of_use)
{
    struct fixture f = fx_new("rule3b", NULL);
    char raised[1024];
    setenv("SCSMS_NOW", "2026-11-23T08:00:00Z", 1);
    char *eq = put_ok(f.s, "equipment",
                      "{\"equipment_id\":\"SEAL-01\",\"kind\":\"seal\",\"location\":\"Dock\","
                      "\"next_calibration_date\":\"2026-11-01\"}",
                      raised, sizeof raised);
    char *st = status_of(f.s, eq);
    ck_assert_str_eq(st, "out_of_calibration");
    free(st);
    char want[256];
    snprintf(want, sizeof want, "rule 3: raised nonconformity %s-NCR-2026-11-23", eq);
    ck_assert_ptr_nonnull(strstr(raised, want));
    /* a later version of the same lapse raises nothing more */
    Scsms__Record *e = NULL;
    ck_assert_int_eq(store_get(f.s, eq, 0, &e), 0);
    ck_assert_int_eq(record_set_string(&e->equipment->location, "Dock 2"), 0);
    store_batch_t *b = NULL;
    ck_assert_int_eq(store_batch_new(f.s, &b), 0);
    ck_assert_int_eq(store_batch_add(b, e), 0);
    ck_assert_int_eq(store_batch_commit(b), 0);
    size_t n;
    store_batch_raised(b, &n);
    ck_assert_uint_eq(n, 0);
    store_batch_destroy(&b);
    record_free(e);
    /* set in service while still overdue: the rule marks it out again,
     * and the refusal says so, not only "nothing changes" as if the user
     * had asked for what it holds */
    update_refused(f.s, eq, "status", "in_service", SCSMS_EINVAL,
                   "holds these values already, and stays out of calibration until a passing "
                   "calibration is recorded (rule 3)");
    unsetenv("SCSMS_NOW");
    free(eq);
    fx_free(&f);
}
END_TEST

START_TEST(rule4_nonconforming_items_raise_nonconformities)
{
    struct fixture f = fx_new("rule4", NULL);
    char raised[2048];
    char *ins = put_ok(f.s, "inspection",
                       "{\"area\":\"Dock 2\",\"inspector\":\"A. Chen\",\"inspected_date\":"
                       "\"2026-11-22\",\"items\":[{\"question\":\"Seals intact?\",\"answer\":"
                       "\"nonconform\",\"note\":\"seal 4411 broken\"},{\"question\":\"Lights?\","
                       "\"answer\":\"conform\"},{\"question\":\"Fence?\",\"answer\":\"nonconform\"}]}",
                       raised, sizeof raised);
    char id1[256], id3[256];
    snprintf(id1, sizeof id1, "%s-NCR-1", ins);
    snprintf(id3, sizeof id3, "%s-NCR-3", ins);
    ck_assert_ptr_nonnull(strstr(raised, id1));
    ck_assert_ptr_nonnull(strstr(raised, id3));
    ck_assert_int_eq(tu_lines(raised), 2);
    Scsms__Record *nc = NULL;
    ck_assert_int_eq(store_get(f.s, id1, 0, &nc), 0);
    ck_assert_ptr_nonnull(strstr(nc->nonconformity->description, "seal 4411 broken"));
    ck_assert_int_eq(nc->nonconformity->source, SCSMS__NONCONFORMITY__SOURCE__INSPECTION);
    record_free(nc);
    free(put_ok(f.s, "inspection",
                "{\"area\":\"Dock 3\",\"inspector\":\"A. Chen\",\"inspected_date\":\"2026-11-22\","
                "\"items\":[{\"question\":\"Seals intact?\",\"answer\":\"conform\"}]}",
                raised, sizeof raised));
    ck_assert_str_eq(raised, "");
    free(ins);

    /* an item's question and note are quoted in the description up to 300
     * bytes each: cut where a character begins ('é' straddles byte 300),
     * so the nonconformity raised is text like any other record */
    char question[400], note[400], json[1200];
    memset(question, 'q', 299);
    strcpy(question + 299, "\xc3\xa9 tail");
    memset(note, 'n', 299);
    strcpy(note + 299, "\xe2\x82\xac tail"); /* '€' across byte 300 */
    snprintf(json, sizeof json, "{\"area\":\"Dock 4\",\"inspector\":\"A. Chen\","
             "\"inspected_date\":\"2026-11-22\",\"items\":[{\"question\":\"%s\","
             "\"answer\":\"nonconform\",\"note\":\"%s\"}]}", question, note);
    ins = put_ok(f.s, "inspection", json, raised, sizeof raised);
    snprintf(id1, sizeof id1, "%s-NCR-1", ins);
    ck_assert_int_eq(store_get(f.s, id1, 0, &nc), 0);
    const char *d = nc->nonconformity->description;
    ck_assert_int_eq(record_check_text(d, "description"), 0);
    question[299] = '\0';
    note[299] = '\0';
    char want[1024];
    snprintf(want, sizeof want, "'%s' does not conform: %s", question, note);
    ck_assert_msg(strlen(d) >= strlen(want) && strcmp(d + strlen(d) - strlen(want), want) == 0,
                  "%s", d);
    record_free(nc);
    free(ins);
    fx_free(&f);
}
END_TEST


/* Set one field of r as `update --set field=value` would. */
static void set_field(Scsms__Record **r, const char *field, const char *value)
{
    struct json_object *o = json_object_new_object();
    ck_assert_msg(jsonpb_set_text(o, record_type_of(*r)->name, field, value) == 0 &&
                      jsonpb_merge(o, r) == 0,
                  "%s=%s: %s", field, value, scsms_errmsg());
    json_object_put(o);
}

/* Write the next version of id with one field changed (set as JSON would
 * set it), expecting success; the raised lines in raised. */
static void update_ok(store_t *s, const char *id, const char *field, const char *value,
                      char *raised, size_t cap)
{
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get(s, id, 0, &r), 0);
    set_field(&r, field, value);
    store_batch_t *b = NULL;
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    ck_assert_int_eq(store_batch_add(b, r), 0);
    ck_assert_msg(store_batch_commit(b) == 0, "%s %s=%s: %s", id, field, value, scsms_errmsg());
    size_t n;
    const char *const *v = store_batch_raised(b, &n);
    raised[0] = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(raised + strlen(raised), cap - strlen(raised), "%s\n", v[i]);
    store_batch_destroy(&b);
    record_free(r);
}

/* The same, expecting refusal with code and want, the store unchanged. */
static void update_refused(store_t *s, const char *id, const char *field, const char *value,
                           int code, const char *want)
{
    uint64_t before = entries(s);
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get(s, id, 0, &r), 0);
    set_field(&r, field, value);
    int rc = store_put(s, r, NULL);
    ck_assert_msg(rc == code, "%s=%s: rc %d want %d: %s", field, value, rc, code, scsms_errmsg());
    ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'",
                  scsms_errmsg(), want);
    ck_assert_uint_eq(entries(s), before);
    record_free(r);
}

static char *calibrate(store_t *s, const char *eq, const char *date, const char *result,
                       const char *next, char *raised, size_t cap)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"performed_date\":\"%s\",\"result\":\"%s\"%s%s%s,\"links\":[{\"rel\":"
             "\"equipment\",\"target\":\"%s\"}]}",
             date, result, next ? ",\"next_due_date\":\"" : "", next ? next : "",
             next ? "\"" : "", eq);
    return put_ok(s, "calibration", json, raised, cap);
}

static void expect_equipment(store_t *s, const char *id, const char *status, const char *next,
                             const char *last)
{
    Scsms__Record *e = NULL;
    ck_assert_int_eq(store_get(s, id, 0, &e), 0);
    ck_assert_str_eq(e->status, status);
    ck_assert_str_eq(e->equipment->next_calibration_date, next);
    ck_assert_str_eq(e->equipment->last_calibration_date, last);
    record_free(e);
}

/* Rule 3 cannot be undone by the back door: only the latest calibration
 * recorded governs the equipment, a correction of an old pass or a
 * backdated pass does not put it back in service, a pass already due
 * again leaves it out, and a user cannot set it in service or move its
 * dates later by hand. */
START_TEST(rule3_only_a_current_passing_calibration_restores_service)
{
    struct fixture f = fx_new("rule3c", NULL);
    char raised[2048];
    setenv("SCSMS_NOW", "2026-11-23T08:00:00Z", 1);
    char *eq = put_ok(f.s, "equipment",
                      "{\"equipment_id\":\"CAM-09\",\"kind\":\"camera\",\"location\":\"Gate 1\","
                      "\"next_calibration_date\":\"2026-12-01\"}",
                      raised, sizeof raised);
    char *a = calibrate(f.s, eq, "2026-11-10", "pass", "2027-05-10", raised, sizeof raised);
    expect_equipment(f.s, eq, "in_service", "2027-05-10", "2026-11-10");
    char *b = calibrate(f.s, eq, "2026-11-20", "fail", NULL, raised, sizeof raised);
    expect_equipment(f.s, eq, "out_of_calibration", "2027-05-10", "2026-11-20");
    /* nor can a user put it back, or move its dates later */
    update_refused(f.s, eq, "status", "in_service", SCSMS_ERULE,
                   "is out of calibration: record a passing calibration");
    update_refused(f.s, eq, "next_calibration_date", "2030-01-01", SCSMS_ERULE,
                   "next_calibration_date moves later only when a calibration is recorded");
    update_refused(f.s, eq, "last_calibration_date", "2026-11-23", SCSMS_ERULE,
                   "last_calibration_date and last_calibration_id are kept by the calibrations");

    /* a correction of the earlier pass changes nothing */
    update_ok(f.s, a, "performed_by", "bob", raised, sizeof raised);
    ck_assert_str_eq(raised, "");
    expect_equipment(f.s, eq, "out_of_calibration", "2027-05-10", "2026-11-20");
    /* a pass recorded late for an earlier day is history */
    free(calibrate(f.s, eq, "2026-11-15", "pass", "2027-05-15", raised, sizeof raised));
    ck_assert_str_eq(raised, "");
    expect_equipment(f.s, eq, "out_of_calibration", "2027-05-10", "2026-11-20");
    /* a pass whose next calibration is already due leaves it out */
    free(calibrate(f.s, eq, "2026-11-21", "pass", "2026-11-22", raised, sizeof raised));
    ck_assert_ptr_nonnull(strstr(raised, "passed calibration but is due again already"));
    expect_equipment(f.s, eq, "out_of_calibration", "2026-11-22", "2026-11-21");
    /* a current pass does: its interval dates the next one when it names none */
    update_ok(f.s, eq, "calibration_interval_days", "90", raised, sizeof raised);
    free(calibrate(f.s, eq, "2026-11-22", "pass", NULL, raised, sizeof raised));
    ck_assert_ptr_nonnull(strstr(raised, "passed calibration: back in service"));
    expect_equipment(f.s, eq, "in_service", "2027-02-20", "2026-11-22");
    /* correcting the old failure raises no second nonconformity, and as it
     * is not the latest calibration, leaves the equipment in service */
    update_ok(f.s, b, "reading_after", "drift 4%", raised, sizeof raised);
    ck_assert_str_eq(raised, "");
    expect_equipment(f.s, eq, "in_service", "2027-02-20", "2026-11-22");
    /* equipment removed from use stays so; the failure is still raised */
    update_ok(f.s, eq, "status", "removed_from_use", raised, sizeof raised);
    char *g = calibrate(f.s, eq, "2026-11-23", "fail", NULL, raised, sizeof raised);
    char want[256];
    snprintf(want, sizeof want, "rule 3: raised nonconformity %s-NCR\n", g);
    ck_assert_str_eq(raised, want);
    expect_equipment(f.s, eq, "removed_from_use", "2027-02-20", "2026-11-22");
    /* nor is a calibration date in the future taken on a new record */
    refused(f.s, "equipment",
            "{\"equipment_id\":\"CAM-10\",\"kind\":\"camera\",\"location\":\"Gate 2\","
            "\"last_calibration_date\":\"2026-11-25\"}",
            SCSMS_ERULE, "last_calibration_date 2026-11-25 is in the future");
    /* nor a calibration dated ahead (a day's grace for sites east of UTC) */
    char ahead[512];
    snprintf(ahead, sizeof ahead, "{\"performed_date\":\"2026-11-25\",\"result\":\"pass\","
             "\"links\":[{\"rel\":\"equipment\",\"target\":\"%s\"}]}", eq);
    refused(f.s, "calibration", ahead, SCSMS_ERULE, "performed_date 2026-11-25 is in the future");
    /* removed equipment comes back only by way of a calibration */
    update_refused(f.s, eq, "status", "in_service", SCSMS_ERULE,
                   "was removed from use: set it out_of_calibration and record a passing");
    update_ok(f.s, eq, "status", "out_of_calibration", raised, sizeof raised);
    free(calibrate(f.s, eq, "2026-11-23", "pass", "2027-05-23", raised, sizeof raised));
    expect_equipment(f.s, eq, "in_service", "2027-05-23", "2026-11-23");
    /* a correction of a failure the same day as the pass after it is not
     * the latest; a correction of the latest itself is */
    update_ok(f.s, g, "reading_after", "drift 5%", raised, sizeof raised);
    ck_assert_str_eq(raised, "");
    expect_equipment(f.s, eq, "in_service", "2027-05-23", "2026-11-23");
    unsetenv("SCSMS_NOW");
    free(eq);
    free(a);
    free(b);
    free(g);
    fx_free(&f);
}
END_TEST

/* What rule 3 raises quotes the user's text (the equipment's own id, a
 * calibration's readings) cut to fit: where a character begins, so that
 * the nonconformity is valid text and the record that raised it is not
 * refused for a field its user never wrote. */
START_TEST(rule3_raised_text_is_cut_between_characters)
{
    struct fixture f = fx_new("rule3t", NULL);
    char raised[2048], json[1024], eqid[200], before[200], after[200];
    setenv("SCSMS_NOW", "2026-11-23T08:00:00Z", 1);
    memset(eqid, 'E', 159);
    strcpy(eqid + 159, "\xe2\x82\xac"); /* '€' across byte 160 */
    snprintf(json, sizeof json, "{\"equipment_id\":\"%s\",\"kind\":\"camera\","
             "\"location\":\"Gate 1\",\"next_calibration_date\":\"2026-11-01\"}", eqid);
    char *eq = put_ok(f.s, "equipment", json, raised, sizeof raised);
    ck_assert_ptr_nonnull(strstr(raised, "raised nonconformity"));
    memset(before, 'b', 99);
    strcpy(before + 99, "\xc3\xa9 more");
    memset(after, 'a', 99);
    strcpy(after + 99, "\xc3\xa9 more");
    snprintf(json, sizeof json, "{\"performed_date\":\"2026-11-20\",\"result\":\"fail\","
             "\"reading_before\":\"%s\",\"reading_after\":\"%s\",\"links\":[{\"rel\":"
             "\"equipment\",\"target\":\"%s\"}]}", before, after, eq);
    char *cal = put_ok(f.s, "calibration", json, raised, sizeof raised);
    char ncid[256], want[512];
    Scsms__Record *nc = NULL;
    snprintf(ncid, sizeof ncid, "%s-NCR-2026-11-23", eq);
    ck_assert_int_eq(store_get(f.s, ncid, 0, &nc), 0);
    ck_assert_int_eq(record_check_text(nc->nonconformity->description, "description"), 0);
    eqid[159] = '\0';
    snprintf(want, sizeof want, "(%s) is out of calibration", eqid);
    ck_assert_ptr_nonnull(strstr(nc->nonconformity->description, want));
    record_free(nc);
    snprintf(ncid, sizeof ncid, "%s-NCR", cal);
    ck_assert_int_eq(store_get(f.s, ncid, 0, &nc), 0);
    ck_assert_int_eq(record_check_text(nc->nonconformity->description, "description"), 0);
    before[99] = after[99] = '\0';
    snprintf(want, sizeof want, "(readings before '%s', after '%s')", before, after);
    ck_assert_ptr_nonnull(strstr(nc->nonconformity->description, want));
    record_free(nc);

    /* equipment restored as written before DEL and the C1 controls were
     * refused (import --preserve) still goes out of use when it fails a
     * calibration: the rule's next version keeps what it held, and the
     * nonconformity quoting it shows such a character as '?' */
    Scsms__Record *old = NULL;
    char legacy[RECORD_MAX_ID + 1];
    ck_assert_int_eq(store_get(f.s, eq, 0, &old), 0);
    snprintf(legacy, sizeof legacy, "%.*s000099", (int)strlen(eq) - 6, eq);
    ck_assert_int_eq(record_set_string(&old->id, legacy), 0);
    ck_assert_int_eq(record_set_string(&old->equipment->location, "Gate 3\xc2\x85North"), 0);
    ck_assert_int_eq(record_set_string(&old->status, "in_service"), 0);
    ck_assert_int_eq(record_set_string(&old->equipment->next_calibration_date, "2027-01-01"), 0);
    ck_assert_msg(commit_preserved(f.s, old) == 0, "%s", scsms_errmsg());
    record_free(old);
    free(cal);
    cal = calibrate(f.s, legacy, "2026-11-22", "fail", NULL, raised, sizeof raised);
    expect_equipment(f.s, legacy, "out_of_calibration", "2027-01-01", "2026-11-22");
    ck_assert_int_eq(store_get(f.s, legacy, 0, &old), 0);
    ck_assert_str_eq(old->equipment->location, "Gate 3\xc2\x85North"); /* kept as it was */
    record_free(old);
    unsetenv("SCSMS_NOW");
    free(cal);
    free(eq);
    fx_free(&f);
}
END_TEST

/* An inspection whose items raised nonconformities can still be updated:
 * each is raised once, and only an item newly nonconforming raises one. */
START_TEST(rule4_an_inspection_raises_each_nonconformity_once)
{
    struct fixture f = fx_new("rule4b", NULL);
    char raised[2048], want[256];
    char *ins = put_ok(f.s, "inspection",
                       "{\"area\":\"Dock 2\",\"inspector\":\"A. Chen\",\"inspected_date\":"
                       "\"2026-11-22\",\"items\":[{\"question\":\"Seals intact?\",\"answer\":"
                       "\"nonconform\"},{\"question\":\"Lights?\",\"answer\":\"conform\"}]}",
                       raised, sizeof raised);
    ck_assert_int_eq(tu_lines(raised), 1);
    update_ok(f.s, ins, "area", "Dock 2 east", raised, sizeof raised);
    ck_assert_str_eq(raised, "");
    /* an item that raised one keeps its place: NCR-1 goes on naming it */
    uint64_t held = entries(f.s);
    Scsms__Record *moved = NULL;
    ck_assert_int_eq(store_get(f.s, ins, 0, &moved), 0);
    Scsms__InspectionItem *first = moved->inspection->items[0];
    moved->inspection->items[0] = moved->inspection->items[1];
    moved->inspection->items[1] = first;
    ck_assert_int_eq(store_put(f.s, moved, NULL), SCSMS_ERULE);
    ck_assert_msg(strstr(scsms_errmsg(), "item 1 ('Seals intact?') raised nonconformity"),
                  "%s", scsms_errmsg());
    ck_assert_uint_eq(entries(f.s), held);
    record_free(moved);
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get(f.s, ins, 0, &r), 0);
    r->inspection->items[1]->answer = SCSMS__INSPECTION_ITEM__ANSWER__NONCONFORM;
    store_batch_t *b = NULL;
    ck_assert_int_eq(store_batch_new(f.s, &b), 0);
    ck_assert_int_eq(store_batch_add(b, r), 0);
    ck_assert_msg(store_batch_commit(b) == 0, "%s", scsms_errmsg());
    size_t n;
    const char *const *v = store_batch_raised(b, &n);
    ck_assert_uint_eq(n, 1);
    snprintf(want, sizeof want, "rule 4: item 2 nonconforming: raised nonconformity %s-NCR-2", ins);
    ck_assert_str_eq(v[0], want);
    store_batch_destroy(&b);
    record_free(r);
    free(ins);
    fx_free(&f);
}
END_TEST

START_TEST(rule6_auditor_independence)
{
    struct fixture f = fx_new("rule6", NULL);
    refused(f.s, "audit",
            "{\"planned_date\":\"2026-12-01\",\"audit_scope\":\"gate\",\"auditor\":\"B. Ortiz\","
            "\"auditor_responsibilities\":[\"Gate control\"],\"activities_audited\":[\" gate "
            "control\",\"yard\"]}",
            SCSMS_ERULE, "auditor B. Ortiz is responsible for ' gate control'");
    /* responsibilities recorded in an appointment count too */
    free(put_ok(f.s, "appointment",
                "{\"person\":\"C. Diaz\",\"role\":\"line_manager\",\"responsibilities\":"
                "\"warehouse; cargo screening\"}",
                NULL, 0));
    refused(f.s, "audit",
            "{\"planned_date\":\"2026-12-01\",\"audit_scope\":\"cargo\",\"auditor\":\"c. diaz\","
            "\"activities_audited\":[\"Cargo screening\"]}",
            SCSMS_ERULE, "(appointment SITE-R-APT-");
    /* the same person with a space too many is the same person */
    refused(f.s, "audit",
            "{\"planned_date\":\"2026-12-01\",\"audit_scope\":\"cargo\",\"auditor\":\" C.  Diaz\","
            "\"activities_audited\":[\"cargo   screening\"]}",
            SCSMS_ERULE, "(appointment SITE-R-APT-");
    free(put_ok(f.s, "audit",
                "{\"planned_date\":\"2026-12-01\",\"audit_scope\":\"cargo\",\"auditor\":"
                "\"B. Ortiz\",\"activities_audited\":[\"Cargo screening\"]}",
                NULL, 0));
    fx_free(&f);
}
END_TEST

START_TEST(rule8_site_writes_only_site_types)
{
    struct fixture f = fx_new("rule8", NULL);
    refused(f.s, "document",
            "{\"doc_id\":\"SP-01\",\"doc_version\":\"3\",\"title\":\"Security plan\"}", SCSMS_EPERM,
            "a site cannot issue document records (rule 8)");
    refused(f.s, "management_review",
            "{\"period_from_date\":\"2026-01-01\",\"period_to_date\":\"2026-06-30\",\"held_date\":"
            "\"2026-07-10\"}",
            SCSMS_EPERM, "rule 8");
    fx_free(&f);
}
END_TEST

START_TEST(disposal_only_after_retention_by_authorised_author)
{
    struct fixture f = fx_new("dispose", "[records]\ndisposal_authorised = r.haddad, k.li\n");
    setenv("SCSMS_NOW", "2018-01-01T00:00:00Z", 1);
    char *old = put_ok(f.s, "incident",
                       "{\"kind\":\"breach\",\"occurred_at\":\"2017-12-30T00:00:00Z\","
                       "\"location\":\"Gate 9\"}",
                       NULL, 0);
    setenv("SCSMS_NOW", "2026-11-23T00:00:00Z", 1);
    char *young = put_ok(f.s, "incident",
                         "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-01T00:00:00Z\","
                         "\"location\":\"Gate 1\"}",
                         NULL, 0);
    uint64_t before = entries(f.s);
    /* not an authorised author */
    ck_assert_int_eq(store_dispose(f.s, old, "retention over"), SCSMS_EPERM);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "may not dispose of records"));
    ck_assert_int_eq(store_set_author(f.s, "r.haddad"), 0);
    /* before the retention period ends */
    ck_assert_int_eq(store_dispose(f.s, young, "tidy up"), SCSMS_ERULE);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "must be kept until 2033-11-21"));
    ck_assert_int_eq(store_dispose(f.s, old, ""), SCSMS_EINVAL);
    ck_assert_uint_eq(entries(f.s), before);
    /* after it: a tombstone, and the content is not served any more */
    ck_assert_msg(store_dispose(f.s, old, "retention over") == 0, "%s", scsms_errmsg());
    Scsms__Record *t = NULL, *v1 = NULL;
    ck_assert_int_eq(store_get(f.s, old, 0, &t), 0);
    ck_assert_str_eq(t->status, "disposed");
    ck_assert_str_eq(t->disposal_reason, "retention over");
    ck_assert_str_eq(t->author, "r.haddad");
    ck_assert_str_eq(t->incident->location, "");
    ck_assert_uint_eq(t->version, 2);
    ck_assert_int_eq(store_get(f.s, old, 1, &v1), SCSMS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "only its tombstone remains"));
    /* and it cannot change again */
    ck_assert_int_eq(record_set_string(&t->incident->location, "back"), 0);
    ck_assert_int_eq(store_put(f.s, t, NULL), SCSMS_ERULE);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "was disposed of; it cannot change"));
    refused(f.s, "incident",
            "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-01T00:00:00Z\",\"location\":\"x\","
            "\"status\":\"disposed\"}",
            SCSMS_EPERM, "set only by 'scsms-agent dispose'");
    record_free(t);
    unsetenv("SCSMS_NOW");
    free(old);
    free(young);
    fx_free(&f);
}
END_TEST

START_TEST(rule5_new_current_policy_obsoletes_the_old)
{
    char *dir = tu_tmpdir("rule5");
    store_t *hq = NULL;
    ck_assert_int_eq(store_create(dir, "HQ", STORE_ROLE_HQ, NULL), 0);
    ck_assert_int_eq(store_open(dir, NULL, &hq), 0);
    char raised[1024];
    char *v1 = put_ok(hq, "policy",
                      "{\"title\":\"Security policy\",\"edition\":\"2025\",\"statement\":\"a\","
                      "\"status\":\"current\"}",
                      raised, sizeof raised);
    ck_assert_str_eq(raised, "");
    char *other = put_ok(hq, "policy",
                         "{\"title\":\"Travel policy\",\"statement\":\"b\",\"status\":\"current\"}",
                         raised, sizeof raised);
    char *v2 = put_ok(hq, "policy",
                      "{\"title\":\"Security policy\",\"edition\":\"2026\",\"statement\":\"c\","
                      "\"status\":\"current\"}",
                      raised, sizeof raised);
    char want[256];
    snprintf(want, sizeof want, "rule 5: policy %s is now obsolete, superseded by %s", v1, v2);
    ck_assert_ptr_nonnull(strstr(raised, want));
    ck_assert_int_eq(tu_lines(raised), 1);
    char *st = status_of(hq, v1);
    ck_assert_str_eq(st, "obsolete");
    free(st);
    st = status_of(hq, other); /* another subject stays current */
    ck_assert_str_eq(st, "current");
    free(st);
    /* documents: by document id */
    char *d1 = put_ok(hq, "document",
                      "{\"doc_id\":\"SP-01\",\"doc_version\":\"1\",\"title\":\"Plan\",\"status\":\"current\"}",
                      raised, sizeof raised);
    free(put_ok(hq, "document",
                "{\"doc_id\":\"SP-01\",\"doc_version\":\"2\",\"title\":\"Plan\",\"status\":\"current\"}",
                raised, sizeof raised));
    st = status_of(hq, d1);
    ck_assert_str_eq(st, "obsolete");
    free(st);
    /* an update giving a current policy another current one's subject
     * supersedes that one too */
    update_ok(hq, other, "title", "Security policy", raised, sizeof raised);
    snprintf(want, sizeof want, "rule 5: policy %s is now obsolete, superseded by %s", v2, other);
    ck_assert_str_eq(raised, strcat(want, "\n"));
    st = status_of(hq, v2);
    ck_assert_str_eq(st, "obsolete");
    free(st);
    struct verify_report rep;
    ck_assert_int_eq(verify_store(hq, &rep), 0);
    store_close(&hq);
    free(v1);
    free(v2);
    free(other);
    free(d1);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ partners */

/* The stored bytes of id carry a seal that verifies with s's own key. */
static void sealed_by(store_t *s, const char *id)
{
    uint8_t *bytes = NULL, pub[CRYPTO_PUB_LEN];
    size_t len;
    Scsms__Record *r = NULL;
    store_public_key(s, pub);
    ck_assert_int_eq(store_get_bytes(s, id, 0, &bytes, &len), 0);
    ck_assert_msg(seal_record_check(bytes, len, pub) == 0, "%s: %s", id, scsms_errmsg());
    ck_assert_int_eq(record_unpack(bytes, len, &r), 0);
    ck_assert(seal_is_sealed(r));
    free(bytes);
    record_free(r);
}

#define DOS(partner, from, to)                                                                    \
    "{\"partner_id\":\"" partner "\",\"coverage\":\"all road flows\",\"measures\":[\"seals\"],"    \
    "\"valid_from_date\":\"" from "\",\"valid_to_date\":\"" to "\"}"

#define CRT(partner, from, expiry)                                                                \
    "{\"partner_id\":\"" partner "\",\"scheme\":\"aeo\",\"number\":\"NL-AEO-1\","                 \
    "\"valid_from_date\":\"" from "\",\"expiry_date\":\"" expiry "\"}"

START_TEST(partner_declarations_and_certificates)
{
    struct fixture f = fx_store("partner", "P-42", STORE_ROLE_PARTNER, NULL);
    refused(f.s, "declaration", DOS("P-42", "2026-12-31", "2026-01-01"), SCSMS_ERULE,
            "valid_to_date 2026-01-01 is before valid_from_date 2026-12-31: a declaration must "
            "end after it starts");
    refused(f.s, "declaration", DOS("P-43", "2026-01-01", "2026-12-31"), SCSMS_EPERM,
            "partner P-42 may submit only its own declarations, not one about P-43 (rule 8)");
    refused(f.s, "certificate", CRT("P-42", "2025-01-01", "2024-12-31"), SCSMS_ERULE,
            "expiry_date 2024-12-31 is before valid_from_date 2025-01-01");
    refused(f.s, "certificate", CRT("P-43", "2025-01-01", "2028-01-01"), SCSMS_EPERM,
            "partner P-42 may submit only its own certificates, not one about P-43 (rule 8)");
    refused(f.s, "incident",
            "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-01T00:00:00Z\",\"location\":\"gate\"}",
            SCSMS_EPERM, "a partner cannot issue incident records (rule 8)");
    refused(f.s, "partner", "{\"partner_id\":\"P-42\",\"name\":\"Us\"}", SCSMS_EPERM,
            "a partner cannot issue partner records (rule 8)");
    ck_assert_uint_eq(records(f.s), 0);
    /* a one-day declaration is fine; the signature given is replaced by
     * the store's own seal */
    char *dos = put_ok(f.s, "declaration",
                       "{\"partner_id\":\"P-42\",\"coverage\":\"all road flows\",\"measures\":"
                       "[\"seals\"],\"valid_from_date\":\"2026-05-01\",\"valid_to_date\":"
                       "\"2026-05-01\",\"partner_signature\":\"deadbeef\"}",
                       NULL, 0);
    sealed_by(f.s, dos);
    Scsms__Record *r = NULL;
    ck_assert_int_eq(store_get(f.s, dos, 0, &r), 0);
    ck_assert_uint_eq(r->declaration->partner_signature.len, CRYPTO_SIG_LEN);
    ck_assert_str_eq(r->status, "submitted");
    record_free(r);
    char *crt = put_ok(f.s, "certificate", CRT("P-42", "2025-01-01", "2025-01-01"), NULL, 0);
    ck_assert_str_eq(crt, "P-42-CRT-000002");
    ck_assert_uint_eq(records(f.s), 2);
    ck_assert_uint_eq(entries(f.s), 2);
    free(dos);
    free(crt);
    fx_free(&f);
}
END_TEST

#define CRV(decision, status, sha, date)                                                          \
    "{\"declaration_id\":\"P-42-DOS-000001\",\"declaration_version\":1,\"declaration_sha256\":\"" \
    sha "\",\"partner_id\":\"P-42\",\"reviewer\":\"k.li\",\"decision\":\"" decision "\","         \
    "\"status\":\"" status "\",\"reason\":\"coverage matches the flows\",\"reviewed_date\":\""    \
    date "\"}"
#define SHA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* Commit one batch of (type, json) pairs, ids[k] the id of an update or
 * NULL: the commit's code; on refusal, the one record refused is at
 * index `bad` and its message holds `want`; ids given in *first_id. */
struct item_json {
    const char *type, *json, *id;
};

static int batch_of_items(store_t *s, const struct item_json *v, size_t n, size_t bad,
                          const char *want, char *first_id)
{
    Scsms__Record *r[8];
    store_batch_t *b = NULL;
    uint64_t before = entries(s);
    ck_assert_uint_le(n, 8);
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    for (size_t k = 0; k < n; k++) {
        r[k] = rec(v[k].type, v[k].json);
        if (v[k].id)
            ck_assert_int_eq(record_set_string(&r[k]->id, v[k].id), 0);
        ck_assert_int_eq(store_batch_add(b, r[k]), 0);
    }
    int rc = store_batch_commit(b);
    size_t ne;
    const struct store_batch_error *e = store_batch_errors(b, &ne);
    if (rc) {
        ck_assert_uint_eq(ne, 1);
        ck_assert_uint_eq(e[0].index, bad);
        ck_assert_msg(strstr(e[0].message, want), "%s", e[0].message);
        ck_assert_uint_eq(entries(s), before);
    } else if (first_id) {
        snprintf(first_id, RECORD_MAX_ID + 1, "%s", store_batch_id(b, 0));
    }
    store_batch_destroy(&b);
    for (size_t k = 0; k < n; k++)
        record_free(r[k]);
    return rc;
}

/* The partner and certificate checks read head office's partners once a
 * transaction and keep them as records are written: within one batch they
 * see the partners written before, and only those, whether the records
 * are applied together or, after a refusal, each in a nested transaction
 * (the refused ones given up). A nested transaction given up after it
 * wrote a partner is not made here: a partner raises no follow-ups, so its
 * write is given up only if LMDB fails to commit it. */
START_TEST(partners_seen_within_one_batch)
{
    struct fixture f = fx_store("hqbatch", "HQ", STORE_ROLE_HQ, NULL);
    setenv("SCSMS_NOW", "2026-11-23T08:00:00Z", 1);
    const char *p1 = "{\"partner_id\":\"P-1\",\"name\":\"Acme\"}";
    const char *c1 = CRT("P-1", "2025-06-01", "2028-05-31");
    const struct item_json twice[] = {{"partner", p1, NULL}, {"certificate", c1, NULL},
                                      {"partner", p1, NULL}};
    ck_assert_int_eq(batch_of_items(f.s, twice, 3, 2,
                                    "partner 'P-1' has its record already (HQ-BPT-", NULL),
                     SCSMS_ERULE);
    /* a record given up between: the partner before it still counts */
    const struct item_json between[] = {
        {"partner", p1, NULL},
        {"certificate", CRT("P-9", "2025-06-01", "2028-05-31"), NULL},
        {"certificate", c1, NULL}};
    ck_assert_int_eq(batch_of_items(f.s, between, 3, 1, "no business partner 'P-9' here", NULL),
                     SCSMS_ERULE);
    ck_assert_uint_eq(records(f.s), 0);
    char pid[RECORD_MAX_ID + 1];
    const struct item_json both[] = {{"partner", p1, NULL}, {"certificate", c1, NULL}};
    ck_assert_int_eq(batch_of_items(f.s, both, 2, 0, NULL, pid), 0);
    ck_assert_uint_eq(records(f.s), 2);
    /* the partner renamed P-2 in the batch: P-1 is no partner's after it */
    const struct item_json renamed[] = {
        {"partner", "{\"partner_id\":\"P-2\",\"name\":\"Acme\"}", pid}, {"certificate", c1, NULL}};
    ck_assert_int_eq(batch_of_items(f.s, renamed, 2, 1, "no business partner 'P-1' here", NULL),
                     SCSMS_ERULE);
    const struct item_json renamed_ok[] = {
        {"partner", "{\"partner_id\":\"P-2\",\"name\":\"Acme\"}", pid},
        {"certificate", CRT("P-2", "2025-06-01", "2028-05-31"), NULL},
        {"partner", p1, NULL}};
    ck_assert_int_eq(batch_of_items(f.s, renamed_ok, 3, 0, NULL, NULL), 0);
    ck_assert_uint_eq(records(f.s), 4);
    /* and in a later transaction, read from the store */
    refused(f.s, "partner", "{\"partner_id\":\"P-2\",\"name\":\"Other\"}", SCSMS_ERULE,
            "partner 'P-2' has its record already");
    free(put_ok(f.s, "certificate", c1, NULL, 0));
    fx_free(&f);
    unsetenv("SCSMS_NOW");
}
END_TEST

START_TEST(head_office_partner_rules)
{
    struct fixture f = fx_store("hqpartner", "HQ", STORE_ROLE_HQ, NULL);
    setenv("SCSMS_NOW", "2026-11-23T08:00:00Z", 1);
    /* exemption (ISO 28001 4.4) */
    refused(f.s, "partner", "{\"partner_id\":\"P-42\",\"name\":\"Acme\",\"exempt\":true}",
            SCSMS_ERULE, "an exempt partner needs its exemption_reason (ISO 28001 4.4)");
    refused(f.s, "partner",
            "{\"partner_id\":\"P-42\",\"name\":\"Acme\",\"exemption_reason\":\"AEO holder\"}",
            SCSMS_ERULE, "exemption_reason is set but exempt is not");
    free(put_ok(f.s, "partner",
                "{\"partner_id\":\"P-42\",\"name\":\"Acme\",\"exempt\":true,"
                "\"exemption_reason\":\"AEO holder\"}",
                NULL, 0));
    free(put_ok(f.s, "partner", "{\"partner_id\":\"P-43\",\"name\":\"Bolt\"}", NULL, 0));
    /* head office records certificates of its partners, dates in order */
    refused(f.s, "certificate", CRT("P-43", "2025-06-01", "2025-05-31"), SCSMS_ERULE,
            "expiry_date 2025-05-31 is before valid_from_date 2025-06-01");
    free(put_ok(f.s, "certificate", CRT("P-43", "2025-06-01", "2028-05-31"), NULL, 0));
    /* ... of which it keeps a record: a partner_id mistyped counts for nobody */
    refused(f.s, "certificate", CRT("P-34", "2025-06-01", "2028-05-31"), SCSMS_ERULE,
            "no business partner 'P-34' here: add its partner record first");
    /* declarations come from partners only */
    refused(f.s, "declaration", DOS("P-42", "2026-01-01", "2026-12-31"), SCSMS_EPERM,
            "a head office cannot issue declaration records (rule 8)");
    /* credibility reviews */
    refused(f.s, "credibility_review", CRV("rejected", "accepted", SHA, "2026-11-20"),
            SCSMS_ERULE, "status 'accepted' differs from the decision 'rejected'");
    refused(f.s, "credibility_review", CRV("accepted", "rejected", SHA, "2026-11-20"),
            SCSMS_ERULE, "status 'rejected' differs from the decision 'accepted'");
    refused(f.s, "credibility_review",
            CRV("accepted", "accepted", "00112233445566778899aabbccddeeff", "2026-11-20"),
            SCSMS_EINVAL, "declaration_sha256 must be 32 bytes");
    refused(f.s, "credibility_review", CRV("accepted", "accepted", SHA, "2026-11-24"),
            SCSMS_ERULE, "reviewed_date 2026-11-24 is in the future");
    refused(f.s, "credibility_review",
            "{\"declaration_id\":\"P-42-DOS-000001\",\"declaration_version\":1,"
            "\"declaration_sha256\":\"" SHA "\",\"partner_id\":\"P-42\",\"reviewer\":\"k.li\","
            "\"status\":\"accepted\",\"reason\":\"x\",\"reviewed_date\":\"2026-11-20\"}",
            SCSMS_EINVAL, "credibility_review needs field 'decision'");
    /* a verdict about one partner's declaration, addressed to another */
    refused(f.s, "credibility_review",
            "{\"declaration_id\":\"P-7-DOS-000001\",\"declaration_version\":1,"
            "\"declaration_sha256\":\"" SHA "\",\"partner_id\":\"P-42\",\"reviewer\":\"k.li\","
            "\"decision\":\"accepted\",\"status\":\"accepted\",\"reason\":\"x\","
            "\"reviewed_date\":\"2026-11-20\"}",
            SCSMS_ERULE, "declaration_id 'P-7-DOS-000001' is not a declaration of partner 'P-42'");
    /* nor restored from an export so (import --preserve) */
    Scsms__Record *back = rec("credibility_review",
                              "{\"id\":\"HQ-CRV-000009\",\"version\":1,\"created_at\":"
                              "\"2026-11-20T10:00:00Z\",\"updated_at\":\"2026-11-20T10:00:00Z\","
                              "\"author\":\"k.li\",\"declaration_id\":\"P-7-DOS-000001\","
                              "\"declaration_version\":1,\"declaration_sha256\":\"" SHA "\","
                              "\"partner_id\":\"P-42\",\"reviewer\":\"k.li\",\"decision\":"
                              "\"accepted\",\"status\":\"accepted\",\"reason\":\"x\","
                              "\"reviewed_date\":\"2026-11-20\"}");
    ck_assert_int_eq(commit_preserved(f.s, back), SCSMS_ERULE);
    ck_assert_msg(strstr(scsms_errmsg(), "is not a declaration of partner 'P-42'"), "%s",
                  scsms_errmsg());
    record_free(back);
    ck_assert_uint_eq(records(f.s), 3); /* two partners, one certificate */
    /* a review is of a declaration head office holds, named by its bytes */
    char dos[RECORD_MAX_ID + 1], sha[65], crv[1024];
    tu_held_declaration(f.s, f.dir, "P-42", dos, sha);
    uint64_t held = records(f.s);
    snprintf(crv, sizeof crv, "{\"declaration_id\":\"%s\",\"declaration_version\":1,"
             "\"declaration_sha256\":\"%s\",\"partner_id\":\"P-42\",\"reviewer\":\"k.li\","
             "\"decision\":\"rejected\",\"status\":\"rejected\",\"reason\":\"coverage "
             "matches the flows\",\"reviewed_date\":\"2026-11-23\"}", dos, sha);
    /* one naming other bytes of it is refused */
    refused(f.s, "credibility_review", CRV("rejected", "rejected", SHA, "2026-11-23"), SCSMS_ERULE,
            "declaration_sha256 is not that of declaration 'P-42-DOS-000001' version 1 as head "
            "office holds it");
    char *ok = put_ok(f.s, "credibility_review", crv, NULL, 0);
    sealed_by(f.s, ok);
    char *mr = put_ok(f.s, "management_review",
                      "{\"period_from_date\":\"2026-01-01\",\"period_to_date\":\"2026-06-30\","
                      "\"held_date\":\"2026-07-10\"}",
                      NULL, 0);
    sealed_by(f.s, mr);
    ck_assert_uint_eq(records(f.s), held + 2);
    unsetenv("SCSMS_NOW");
    free(ok);
    free(mr);
    fx_free(&f);
}
END_TEST

START_TEST(a_site_cannot_review_declarations)
{
    struct fixture f = fx_new("sitecrv", NULL);
    refused(f.s, "credibility_review", CRV("accepted", "accepted", SHA, "2026-01-20"), SCSMS_EPERM,
            "a site cannot issue credibility_review records (rule 8)");
    refused(f.s, "certificate", CRT("P-42", "2025-01-01", "2028-01-01"), SCSMS_EPERM,
            "a site cannot issue certificate records (rule 8)");
    ck_assert_uint_eq(records(f.s), 0);
    fx_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rules");
    TCase *t = tcase_create("rules");
    tcase_add_test(t, rule1_intolerable_risk_cannot_be_accepted);
    tcase_add_test(t, rule1_threshold_comes_from_settings);
    tcase_add_test(t, bad_settings_are_refused_at_open);
    tcase_add_test(t, settings_inih_would_misread_are_refused);
    tcase_add_test(t, settings_not_a_file_are_refused);
    tcase_add_test(t, sync_settings_round_trip_and_refusals);
    tcase_add_test(t, rule2_action_gates);
    tcase_add_test(t, links_are_typed);
    tcase_add_test(t, rule3_failed_calibration_takes_equipment_out);
    tcase_add_test(t, rule3_overdue_equipment_is_out_of_use);
    tcase_add_test(t, rule4_nonconforming_items_raise_nonconformities);
    tcase_add_test(t, rule3_only_a_current_passing_calibration_restores_service);
    tcase_add_test(t, rule3_raised_text_is_cut_between_characters);
    tcase_add_test(t, rule4_an_inspection_raises_each_nonconformity_once);
    tcase_add_test(t, rule6_auditor_independence);
    tcase_add_test(t, rule8_site_writes_only_site_types);
    tcase_add_test(t, disposal_only_after_retention_by_authorised_author);
    tcase_add_test(t, rule5_new_current_policy_obsoletes_the_old);
    tcase_add_test(t, partner_declarations_and_certificates);
    tcase_add_test(t, head_office_partner_rules);
    tcase_add_test(t, partners_seen_within_one_batch);
    tcase_add_test(t, a_site_cannot_review_declarations);
    tcase_add_test(t, what_has_happened_is_not_dated_ahead);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

/* test_net.c -- a real scsms-server and real agents as processes on
 * loopback (127.0.0.1, a free port, temporary directories): sites sync to
 * the union with the same heads on both sides, refusals over the wire, a
 * live session revoked, a malformed message, and both sides killed with
 * SIGKILL at random moments without losing or duplicating anything. */
#include "testnet.h"
#include "cli.h"

#include <lmdb.h>
#include <signal.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <zmq.h>

#include "crypto.h"
#include "identity.h"
#include "isotime.h"
#include "store.h"
#include "sync.h"
#include "verify.h"

START_TEST(three_sites_reach_the_union)
{
    struct tn_net n = tn_new("net3");
    const char *ids[] = {"WH-1", "WH-2", "WH-3"};
    char *site[3];
    for (int i = 0; i < 3; i++) {
        site[i] = tn_site(&n, ids[i], 1);
        tn_import_rows(&n, site[i], "10000");
    }
    struct tu_run r = tu_agent(NULL, "add", "policy", "--json",
                               "{\"title\":\"Security policy\",\"statement\":\"protect\"}",
                               "--store", n.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    for (int i = 0; i < 3; i++) {
        r = tn_sync(&n, site[i], NULL);
        ck_assert_msg(r.status == 0, "%s: %s", ids[i], r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "10000 entries sent, 1 head-office entries received"));
        tu_run_free(&r);
        tn_heads_equal(&n, site[i], ids[i], 10000);
        /* head office's policy is at the site, verified under its key */
        tn_verify_dir(site[i], 10001);
    }
    tn_verify_dir(n.hq, 30001); /* exactly the union, and head office's own */
    /* a second round sends and receives nothing */
    r = tn_sync(&n, site[0], NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "0 entries sent, 0 head-office entries received"));
    tu_run_free(&r);
    /* rule 5: a new current edition makes the earlier one obsolete, at
     * head office and, after the next round, at every site */
    r = tu_agent(NULL, "update", "HQ-POL-000001", "--set", "status=current", "--store", n.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "add", "policy", "--json",
                 "{\"title\":\"Security policy\",\"statement\":\"protect, 2027\","
                 "\"status\":\"current\"}", "--store", n.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "rule 5: policy HQ-POL-000001 is now obsolete"));
    tu_run_free(&r);
    r = tn_sync(&n, site[1], NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "list", "--type", "policy", "--format", "csv", "--store", site[1], NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "HQ-POL-000001,policy,3,obsolete,"));
    ck_assert_ptr_nonnull(strstr(r.out, ",policy,1,current,"));
    tu_run_free(&r);
    for (int i = 0; i < 3; i++)
        free(site[i]);
    tn_free(&n);
}
END_TEST

/* Add a breach at `where` on day (YYYY-MM-DD) to the store at dir. */
static void add_breach(const char *dir, const char *day, const char *where)
{
    char json[256];
    snprintf(json, sizeof json, "{\"kind\":\"breach\",\"occurred_at\":\"%sT08:00:00Z\","
             "\"location\":\"%s\",\"severity\":2}", day, where);
    struct tu_run r = tu_agent(NULL, "add", "incident", "--json", json, "--store", dir, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
}

/* The daemon's log at path once it holds want and (site given) head
 * office holds site's log up to head, polling for at most 90 s (the
 * sanitizers are slow). Caller frees. */
static char *log_holds(const char *path, const char *want, struct tn_net *n, const char *site,
                       uint64_t head)
{
    size_t len;
    for (int i = 0; i < 1800; i++, usleep(50000)) {
        char *log = tu_read_file(path, &len);
        if (log && strstr(log, want) && (!site || tn_hq_head(n, site) == head))
            return log;
        free(log);
    }
    char *log = tu_read_file(path, &len);
    ck_abort_msg("no '%s' (head %llu of %llu) in:\n%s", want,
                 site ? (unsigned long long)tn_hq_head(n, site) : 0ULL, (unsigned long long)head,
                 log ? log : "");
    return NULL;
}

/* Replace the endpoint in dir/scsms.ini's [sync] (and append extra). */
static void set_server_in_settings(const char *dir, const char *from, const char *to,
                                   const char *extra)
{
    char *ini = tu_path(dir, "scsms.ini");
    size_t len;
    char *text = tu_read_file(ini, &len), *at = strstr(text, from);
    ck_assert_ptr_nonnull(at);
    FILE *f = fopen(ini, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%.*s%s%s%s", (int)(at - text), text, to, at + strlen(from), extra);
    ck_assert_int_eq(fclose(f), 0);
    free(text);
    free(ini);
}

/* A site store dir/ID made with head office's endpoint and key in its
 * scsms.ini (init --server --server-key) and enrolled. Caller frees. */
static char *site_with_server(struct tn_net *n, const char *id)
{
    char *dir = tu_path(n->tmp, id);
    struct tu_run r = tu_agent(NULL, "init", "--site", id, "--server", n->endpoint,
                               "--server-key", n->server_key, "--store", dir, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *curve = tn_field_of(r.out, "curve-key"), *sign = tn_field_of(r.out, "sign-key");
    tu_run_free(&r);
    r = tn_server(n, "enrol", "--id", id, "--role", "site", "--curve-key", curve, "--sign-key",
                  sign, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    free(curve);
    free(sign);
    return dir;
}

/* Head office's store, which holds every site's verified copy, is checked,
 * backed up and restored with scsms-server's own commands: verify and
 * backup while the server runs; restore refused while it runs and done
 * after; a byte edited in a site's copy named, site and entry. */
START_TEST(head_office_verifies_backs_up_and_restores)
{
    struct tn_net n = tn_new("hqstore");
    char *a = tn_site(&n, "WH-A", 1), *b = tn_site(&n, "WH-B", 1);
    tn_import_rows(&n, a, "200");
    tn_import_rows(&n, b, "200");
    add_breach(b, "2026-10-01", "QUAY-MARKER-7731");
    struct tu_run r;
    for (int i = 0; i < 2; i++) {
        r = tn_sync(&n, i ? b : a, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tu_run_free(&r);
    }
    r = tn_server(&n, "verify", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(strstr(r.out, "ok: 401 entries in 3 logs, 401 records, 2 signed checkpoints "
                                "verified; own log's head 0 "), "%s", r.out);
    tu_run_free(&r);
    char *bak = tu_path(n.tmp, "hq-backup");
    r = tn_server(&n, "backup", bak, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "and verified"));
    tu_run_free(&r);
    r = tn_server(&n, "restore", bak, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "scsms-server: store") && strstr(r.err, "in use by another process"),
                  "%s", r.err);
    tu_run_free(&r);
    tn_stop_server(&n, SIGTERM);
    ck_assert_int_eq(tu_edit_data_file(n.hq, "QUAY-MARKER-7731", 3, 'X'), 1);
    r = tn_server(&n, "verify", NULL);
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "scsms-server: verify failed: entry 201 of WH-B"), "%s", r.err);
    tu_run_free(&r);
    r = tn_server(&n, "restore", bak, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_verify_dir(n.hq, 401);
    tn_start_server(&n, "64");
    tn_heads_equal(&n, b, "WH-B", 201);
    /* a restore that drops what an active site sent is taken: the site
     * sends it again from head office's head */
    add_breach(a, "2026-10-02", "Gate 9");
    add_breach(b, "2026-10-02", "Gate 8");
    for (int i = 0; i < 2; i++) {
        r = tn_sync(&n, i ? b : a, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_msg(!strstr(r.err, "lost entries"), "%s", r.err); /* nothing was lost */
        tu_run_free(&r);
    }
    tn_stop_server(&n, SIGTERM);
    r = tn_server(&n, "restore", bak, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_start_server(&n, "64");
    for (int i = 0; i < 2; i++) {
        r = tn_sync(&n, i ? b : a, NULL);
        ck_assert_msg(r.status == 0 && strstr(r.out, ": 1 entries sent"), "%s%s", r.out, r.err);
        char lost[256];
        snprintf(lost, sizeof lost, "scsms-agent: warning: head office holds this site's log up "
                 "to entry %d only, though it acknowledged entry %d before: it lost entries "
                 "(restored from an older backup?); sending them again\n", 200 + i, 201 + i);
        ck_assert_msg(strstr(r.err, lost), "%s", r.err);
        tu_run_free(&r);
    }
    tn_heads_equal(&n, a, "WH-A", 201);
    tn_heads_equal(&n, b, "WH-B", 202);
    /* but what a revoked site sent, it will not send again: refused unless
     * given up knowingly */
    r = tn_server(&n, "revoke", "--id", "WH-B", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_stop_server(&n, SIGTERM);
    r = tn_server(&n, "restore", bak, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "holds the log of WH-B up to entry 201, but the store holds it up "
                                "to 202, and WH-B, revoked or no longer enrolled, will not send "
                                "them again: nothing was replaced") && tu_lines(r.err) == 1,
                  "%s", r.err);
    tu_run_free(&r);
    tn_verify_dir(n.hq, 403);
    r = tn_server(&n, "restore", bak, "--drop-newer", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_verify_dir(n.hq, 401); /* the backup's: WH-B's entry 202 given up */
    ck_assert_uint_eq(tn_hq_head(&n, "WH-B"), 201);
    tn_start_server(&n, "64");
    free(bak);
    free(a);
    free(b);
    tn_free(&n);
}
END_TEST

/* A site initialised with head office's endpoint and key (init --server
 * --server-key, kept in its scsms.ini) syncs with a plain 'run --once'; a
 * site set up without them is told what to give and sends nothing. */
START_TEST(a_site_set_up_with_its_server_needs_no_options)
{
    struct tn_net n = tn_new("cfgsrv");
    char *dir = site_with_server(&n, "WH-C");
    add_breach(dir, "2026-10-01", "Gate 4");
    struct tu_run r = tu_agent(NULL, "run", "--once", "--timeout", "3", "--store", dir, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char want[128];
    snprintf(want, sizeof want, "synced with %s: 1 entries sent", n.endpoint);
    ck_assert_msg(strstr(r.out, want), "%s", r.out);
    tu_run_free(&r);
    tn_heads_equal(&n, dir, "WH-C", 1);
    char *other = tn_site(&n, "WH-D", 1);
    r = tu_agent(NULL, "run", "--once", "--timeout", "3", "--store", other, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "scsms-agent: no endpoint for head office: give --server"),
                  "%s", r.err);
    tu_run_free(&r);
    /* the endpoint and its key come together: one alone is a usage error
     * naming the one missing, in one line */
    r = tu_agent(NULL, "run", "--once", "--server", n.endpoint, "--store", dir, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "scsms-agent: --server needs --server-key: give both, or "
                         "neither to use [sync] of scsms.ini; usage: "), "%s", r.err);
    ck_assert_int_eq(tu_lines(r.err), 1);
    tu_run_free(&r);
    r = tu_agent(NULL, "run", "--once", "--server", "tcp://127.0.0.1:70000", "--server-key",
                 n.server_key, "--store", dir, NULL);
    ck_assert_int_eq(r.status, 2); /* a usage error: a unit must not restart on it */
    ck_assert_msg(strstr(r.err, "server 'tcp://127.0.0.1:70000' is not an endpoint"), "%s", r.err);
    ck_assert_int_eq(tu_lines(r.err), 1);
    tu_run_free(&r);
    r = tu_agent(NULL, "run", "--once", "--timeout", "99999999", "--store", dir, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.err, "scsms-agent: --timeout must be 1 to 3600 seconds, got '99999999'\n");
    tu_run_free(&r);
    r = tu_agent(NULL, "run", "--once", "--batch", "10x", "--store", dir, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.err, "scsms-agent: --batch must be 1 to 100000 entries, got '10x'\n");
    tu_run_free(&r);
    /* status names the head office the settings give */
    r = tu_agent(NULL, "status", "--store", dir, NULL);
    ck_assert_int_eq(r.status, 0);
    snprintf(want, sizeof want, "head office %s (scsms.ini [sync])\n", n.endpoint);
    ck_assert_msg(strstr(r.out, want), "%s", r.out);
    tu_run_free(&r);
    r = tu_agent(NULL, "status", "--store", other, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_null(strstr(r.out, "head office"));
    tu_run_free(&r);
    /* run's own options win over the settings: WH-D synced with them, and
     * WH-C, whose settings name a port nobody serves, likewise */
    r = tn_sync(&n, other, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    set_server_in_settings(dir, n.endpoint, "tcp://127.0.0.1:9", "");
    add_breach(dir, "2026-10-02", "Gate 5");
    r = tu_agent(NULL, "run", "--once", "--timeout", "2", "--store", dir, NULL);
    ck_assert_int_eq(r.status, 1); /* the settings' endpoint: nobody answers */
    ck_assert_msg(strstr(r.err, "no answer from tcp://127.0.0.1:9 "), "%s", r.err);
    tu_run_free(&r);
    r = tn_sync(&n, dir, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_heads_equal(&n, dir, "WH-C", 2);
    free(other);
    free(dir);
    tn_free(&n);
}
END_TEST

/* Head office moves to a new address: the site lead edits [sync] and
 * reloads the daemon (SIGHUP, systemctl reload), which follows without a
 * restart. A file it cannot use, or a key that is not head office's
 * pinned one, is refused in one line and the daemon goes on syncing with
 * the head office it had. */
START_TEST(a_daemon_reloads_its_settings_on_sighup)
{
    struct tn_net n = tn_new("netreload");
    char *dir = site_with_server(&n, "WH-R");
    tn_import_rows(&n, dir, "10");
    char *dlog = tu_path(n.tmp, "daemon.log");
    char *daemon[] = {getenv("SCSMS_AGENT"), "run", "--timeout", "2", "--store", dir, NULL};
    int fd;
    pid_t agent = tu_spawn(daemon, &fd, dlog);
    free(log_holds(dlog, "", &n, "WH-R", 10));

    char was[64], want[256];
    snprintf(was, sizeof was, "%s", n.endpoint);
    tn_move_server(&n);
    set_server_in_settings(dir, was, n.endpoint, "");
    ck_assert_int_eq(kill(agent, SIGHUP), 0);
    tn_import_rows(&n, dir, "5");
    snprintf(want, sizeof want, "scsms-agent: info: settings read again: head office is now %s "
             "(was %s)\n", n.endpoint, was);
    free(log_holds(dlog, want, &n, "WH-R", 15));

    /* a typo: refused in one line, and the daemon syncs on as it was
     * (the records added once the file is mended) */
    set_server_in_settings(dir, n.endpoint, n.endpoint, "[sync]\nserver = tcp://x:1\n");
    ck_assert_int_eq(kill(agent, SIGHUP), 0);
    snprintf(want, sizeof want, "scsms-agent: warning: settings not read again: %s/scsms.ini:",
             dir);
    char *log = log_holds(dlog, want, &n, NULL, 0);
    snprintf(want, sizeof want, ": server given twice (first at line 22): give each setting "
             "once, on one line; still syncing with %s\n", n.endpoint);
    ck_assert_msg(strstr(log, want), "%s", log);
    free(log);
    set_server_in_settings(dir, "[sync]\nserver = tcp://x:1\n", "", "");
    tn_import_rows(&n, dir, "5");
    free(log_holds(dlog, "", &n, "WH-R", 20));

    /* another head office's key (this one pinned at the first sync) */
    struct tn_net other = tn_new("netreload2");
    set_server_in_settings(dir, n.server_key, other.server_key, "");
    ck_assert_int_eq(kill(agent, SIGHUP), 0);
    tn_import_rows(&n, dir, "5");
    snprintf(want, sizeof want, "scsms-agent: warning: settings not taken: server key '%.40s' is "
             "not that of head office HQ, pinned here at the first sync", other.server_key);
    free(log_holds(dlog, want, &n, "WH-R", 25));
    tn_free(&other);

    kill(agent, SIGTERM);
    ck_assert_int_eq(tu_wait(agent, 20000), 0);
    close(fd);
    tn_heads_equal(&n, dir, "WH-R", 25);
    free(dlog);
    free(dir);
    tn_free(&n);
}
END_TEST

/* Head office restored from a backup older than what a site holds of its
 * log is said at the site's next sync, before anything is sent, instead
 * of a silent fork found only at a later fetch. */
START_TEST(head_office_behind_a_site_is_said)
{
    struct tn_net n = tn_new("netbehind");
    char *site = tn_site(&n, "WH-H", 1), *bak = tu_path(n.tmp, "hq-old");
    const char *objective = "{\"title\":\"Seal checks\",\"indicator\":\"checks\"}";
    struct tu_run r = tu_agent(NULL, "add", "objective", "--json", objective, "--store", n.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tn_server(&n, "backup", bak, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "add", "objective", "--json", objective, "--store", n.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tn_sync(&n, site, NULL);
    ck_assert_msg(r.status == 0 && strstr(r.out, "2 head-office entries received"), "%s%s", r.out,
                  r.err);
    tu_run_free(&r);
    tn_stop_server(&n, SIGTERM);
    r = tn_server(&n, "restore", bak, "--drop-newer", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_start_server(&n, "64");
    add_breach(site, "2026-10-03", "Gate 2");
    r = tn_sync(&n, site, NULL);
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "head office's own log ends at entry 1, but this site holds it up "
                                "to 2: head office was restored from an older backup, or is "
                                "another; nothing sent") && tu_lines(r.err) == 1, "%s", r.err);
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(&n, "WH-H"), 0);
    free(bak);
    free(site);
    tn_free(&n);
}
END_TEST

/* run --once of site, uploads of `batch` entries, meets entry `entry`
 * altered on disk: exit 3 and one line naming it and `first`, the first
 * entry not sent; head office holds id's log, and the site's sync.state
 * says it acknowledged, up to `held`. */
static void stops_at_altered(struct tn_net *n, const char *site, const char *id,
                             const char *batch, unsigned entry, unsigned first, uint64_t held)
{
    struct tu_run r = tu_agent(NULL, "run", "--once", "--batch", batch, "--server", n->endpoint,
                               "--server-key", n->server_key, "--timeout", "3", "--store", site,
                               NULL);
    char want[256];
    snprintf(want, sizeof want, "entry %u of %s does not match the chain head its owner signed: "
             "nothing from entry %u on was sent; run verify", entry, id, first);
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, want) && tu_lines(r.err) == 1, "%s", r.err);
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(n, id), held);
    ck_assert_uint_eq(cli_acked_seq(site), held);
}

/* An entry altered on disk after it was written is not sent: the agent
 * would otherwise sign a fresh checkpoint over the altered bytes and head
 * office, checking that signature, take it in as the site's word. */
START_TEST(an_entry_altered_on_disk_is_not_sent)
{
    struct tn_net n = tn_new("nettamper");
    char *site = tn_site(&n, "WH-T", 1);
    add_breach(site, "2026-10-01", "LOSS-9000-USD");
    struct tu_run r = tn_sync(&n, site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    add_breach(site, "2026-10-02", "LOSS-7000-USD");
    ck_assert_int_ge(tu_edit_data_file(site, "LOSS-7000-USD", 5, '0'), 1); /* LOSS-0000 */
    stops_at_altered(&n, site, "WH-T", "1000", 2, 2, 1);
    r = tn_server(&n, "verify", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    free(site);
    tn_free(&n);
}
END_TEST

/* A server with head office's transport key that answers an upload with
 * a head beyond what the site holds (a hostile or broken one): run stops
 * there in one line, exit 3, and records nothing of it as acknowledged.
 * The stand-in runs in a child: it answers Hello as head office would for
 * a site not yet pinned, every upload "OK, head 1000000", anything else
 * OK, for at most 20 s. */
static void serve_a_head_beyond(const struct tn_net *n)
{
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    uint8_t key[CRYPTO_PUB_LEN] = {1};
    if (identity_curve_load(n->hq, pub, sec) != 0)
        _exit(2);
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_ROUTER);
    int on = 1, linger = 0;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(sock, n->endpoint) != 0)
        _exit(2);
    for (int64_t until = isotime_monotonic_ms() + 20000; isotime_monotonic_ms() < until;) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 200) != 1)
            continue;
        zmq_msg_t who, msg;
        zmq_msg_init(&who);
        zmq_msg_init(&msg);
        zmq_msg_recv(&who, sock, 0);
        zmq_msg_recv(&msg, sock, 0);
        Scsms__SyncRequest *q =
            scsms__sync_request__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        Scsms__SyncReply r = SCSMS__SYNC_REPLY__INIT;
        r.request_id = q ? q->request_id : 0;
        r.credit = 4;
        r.hq_id = "HQ";
        r.hq_sign_key.data = key;
        r.hq_sign_key.len = sizeof key;
        r.hq_time = isotime_now();
        if (q && q->msg_case == SCSMS__SYNC_REQUEST__MSG_UPLOAD)
            r.head_seq = 1000000;
        uint8_t buf[256];
        size_t len = scsms__sync_reply__pack(&r, buf);
        zmq_msg_send(&who, sock, ZMQ_SNDMORE);
        zmq_send(sock, buf, len, 0);
        zmq_msg_close(&msg);
        if (q)
            scsms__sync_request__free_unpacked(q, NULL);
    }
    _exit(0);
}

START_TEST(a_head_beyond_the_sites_is_not_taken)
{
    struct tn_net n = tn_new("nethead");
    char *site = tn_site(&n, "WH-H", 1);
    add_breach(site, "2026-10-01", "Gate 1");
    add_breach(site, "2026-10-02", "Gate 2");
    tn_stop_server(&n, SIGTERM);
    pid_t fake = fork();
    ck_assert_int_ge(fake, 0);
    if (fake == 0)
        serve_a_head_beyond(&n);
    struct tu_run r = tn_sync(&n, site, NULL);
    ck_assert_int_eq(kill(fake, SIGKILL), 0);
    ck_assert_int_ge(tu_wait(fake, 20000), 0);
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "the server says it holds entries up to 1000000 of this site's "
                                "log, which ends at 2: nothing more sent") &&
                      tu_lines(r.err) == 1,
                  "%s", r.err);
    tu_run_free(&r);
    ck_assert_uint_eq(cli_acked_seq(site), 0);
    r = tu_agent(NULL, "verify", "--store", site, NULL); /* sync.state not ahead of the log */
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    free(site);
    tn_free(&n);
}
END_TEST

/* The check goes as the upload goes: the uploads before the one it stops
 * are taken in and their replies awaited (head office's head, and the
 * site's record of what it acknowledged, are where it stopped), and
 * nothing of that one or after it. One entry an upload, four written
 * before the one altered: 5 and 6 are not sent. */
START_TEST(what_was_written_before_an_altered_entry_is_sent)
{
    struct tn_net n = tn_new("nettamper2");
    char *site = tn_site(&n, "WH-T", 1);
    add_breach(site, "2026-10-01", "LOSS-1000-USD");
    add_breach(site, "2026-10-02", "LOSS-2000-USD");
    add_breach(site, "2026-10-03", "LOSS-3000-USD");
    add_breach(site, "2026-10-04", "LOSS-4000-USD");
    add_breach(site, "2026-10-05", "LOSS-7000-USD");
    add_breach(site, "2026-10-06", "LOSS-6000-USD");
    ck_assert_int_ge(tu_edit_data_file(site, "LOSS-7000-USD", 5, '0'), 1);
    stops_at_altered(&n, site, "WH-T", "1", 5, 5, 4); /* their replies waited for */
    tn_verify_dir(n.hq, 4);
    /* three entries an upload, the first four in one commit (its
     * checkpoint at 4): the walk for 1-3 reaches 4, which goes alone
     * before the upload of 5-6 is refused */
    char *site2 = tn_site(&n, "WH-U", 1);
    tn_import_rows(&n, site2, "4");
    add_breach(site2, "2026-10-05", "LOSS-5000-USD");
    add_breach(site2, "2026-10-06", "LOSS-7000-USD");
    ck_assert_int_ge(tu_edit_data_file(site2, "LOSS-7000-USD", 5, '0'), 1);
    stops_at_altered(&n, site2, "WH-U", "3", 6, 5, 4);
    free(site2);
    free(site);
    tn_free(&n);
}
END_TEST

/* A site lead with a bad link. A run --once stopped by a signal says how
 * far it got and exits 1 (not 0 and "synced"), and status records it. A
 * head office that cannot store uploads (its file size limit reached)
 * answers "retry later": --once gives up after its --timeout with head
 * office's reason, instead of asking for ever, and nothing is lost. A
 * daemon cut off logs its growing pause, then one line when back. */
START_TEST(a_bad_link_is_said_and_survived)
{
    struct tn_net n = tn_new("netlink");
    char *site = tn_site(&n, "WH-L", 1);
    tn_import_rows(&n, site, "3000");
    /* interrupted while head office does not answer: whether the stop
     * lands before its first round or while it waits for the answer, the
     * run says so, exits 1 and records it (both ways end alike) */
    tn_freeze_server(&n);
    char *err = tu_path(n.tmp, "once.log");
    char *once[] = {getenv("SCSMS_AGENT"), "run", "--once", "--timeout", "30", "--server",
                    n.endpoint, "--server-key", n.server_key, "--store", site, NULL};
    int fd;
    pid_t agent = tu_spawn(once, &fd, err);
    char *lock = tu_path(site, "run.lock");
    for (int i = 0; i < 500 && access(lock, F_OK) != 0; i++) /* it is under way */
        usleep(20000);
    ck_assert_int_eq(access(lock, F_OK), 0);
    free(lock);
    usleep(300000); /* waiting for head office's answer */
    ck_assert_int_eq(kill(agent, SIGTERM), 0);
    ck_assert_int_eq(tu_wait(agent, 20000), 1);
    close(fd);
    ck_assert_int_eq(kill(n.server, SIGCONT), 0);
    size_t len;
    char *log = tu_read_file(err, &len);
    char want[512];
    snprintf(want, sizeof want, "scsms-agent: interrupted after 0 entries sent to %s; the next "
             "run resumes where head office's head is\n", n.endpoint);
    ck_assert_str_eq(log, want);
    free(log);
    struct tu_run r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_msg(strstr(r.out, "result interrupted\n"), "%s", r.out);
    tu_run_free(&r);

    /* head office's data file may not grow: every upload is "retry later" */
    char cmd[256], *data = tu_path(n.hq, "data.mdb");
    struct stat st;
    ck_assert_int_eq(stat(data, &st), 0);
    snprintf(cmd, sizeof cmd, "prlimit --pid %d --fsize=%lld:", (int)n.server,
             (long long)st.st_size);
    ck_assert_int_eq(system(cmd), 0);
    r = tu_agent(NULL, "run", "--once", "--timeout", "8", "--server", n.endpoint, "--server-key",
                 n.server_key, "--store", site, NULL);
    ck_assert_int_eq(r.status, 1);
    /* after 5 s of it, one warning with head office's reason; at 8 s the
     * run gives up, in one line */
    ck_assert_msg(strncmp(r.err, "scsms-agent: warning: head office asks to retry later: "
                          "commit: disk full", 72) == 0, "%s", r.err);
    const char *last = strchr(r.err, '\n') + 1;
    ck_assert_msg(strncmp(last, "scsms-agent: head office asked to retry later for ", 50) == 0 &&
                      strstr(last, "disk full") &&
                      strstr(last, "; nothing is lost, run again later\n"),
                  "%s", r.err);
    ck_assert_int_eq(tu_lines(r.err), 2);
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(&n, "WH-L"), 0);
    /* head office said it a few times, not at every one of the agent's
     * requests (two a second, for 8 s) */
    log = tu_read_file(n.server_err, &len);
    int disk_lines = 0; /* lines: the refusal, the group's, at most the last contact's */
    for (const char *at = log; (at = strstr(at, "disk full")); at = strchr(at, '\n'))
        if (disk_lines++, !strchr(at, '\n'))
            break;
    ck_assert_msg(disk_lines >= 1 && disk_lines <= 3, "%d lines:\n%s", disk_lines, log);
    free(log);
    /* the limit lifted (a new process: raising a hard limit needs more
     * privilege than a test has) */
    tn_stop_server(&n, SIGTERM);
    tn_start_server(&n, "256");
    r = tn_sync(&n, site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_heads_equal(&n, site, "WH-L", 3000);

    /* a daemon cut off, then back in touch */
    char *dlog = tu_path(n.tmp, "daemon.log");
    char *daemon[] = {getenv("SCSMS_AGENT"), "run", "--timeout", "1", "--server", n.endpoint,
                      "--server-key", n.server_key, "--store", site, NULL};
    agent = tu_spawn(daemon, &fd, dlog);
    tn_stop_server(&n, SIGTERM);
    free(log_holds(dlog, "; retrying in ", &n, NULL, 0));
    tn_start_server(&n, "256");
    tn_import_rows(&n, site, "5");
    char want_back[256];
    snprintf(want_back, sizeof want_back, "scsms-agent: info: in touch with head office at %s "
             "again; ", n.endpoint);
    free(log_holds(dlog, want_back, &n, "WH-L", 3005));
    tn_heads_equal(&n, site, "WH-L", 3005);
    kill(agent, SIGTERM);
    ck_assert_int_eq(tu_wait(agent, 20000), 0);
    close(fd);
    free(dlog);
    free(data);
    free(err);
    free(site);
    tn_free(&n);
}
END_TEST

START_TEST(refusals_over_the_wire)
{
    struct tn_net n = tn_new("netbad");
    char *good = tn_site(&n, "WH-1", 1), *stranger = tn_site(&n, "WH-X", 0);
    tn_import_rows(&n, good, "50");
    tn_import_rows(&n, stranger, "50");
    /* the wrong server key: the handshake cannot complete, nothing is sent */
    char *other = tn_site(&n, "WH-O", 0);
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    ck_assert_int_eq(identity_curve_load(other, pub, sec), 0);
    struct tu_run r = tn_sync(&n, good, pub);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "no answer from"));
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(&n, "WH-1"), 0);
    /* and head office's log says a handshake failed, not nothing */
    char *hs_log = tu_read_file(n.server_err, NULL);
    ck_assert_msg(strstr(hs_log, "failed (ZeroMQ protocol error") &&
                      strstr(hs_log, "a client holding another server key"),
                  "%s", hs_log);
    free(hs_log);
    /* a key nobody enrolled: told so, not left to guess */
    r = tn_sync(&n, stranger, NULL);
    ck_assert_int_eq(r.status, 1);
    char want[256];
    snprintf(want, sizeof want, "scsms-agent: head office at %s refused this site's key at the "
             "handshake: it is not enrolled there, or has been revoked\n", n.endpoint);
    ck_assert_str_eq(r.err, want);
    tu_run_free(&r);
    size_t len;
    char *log = tu_read_file(n.server_err, &len);
    /* the log names where it came from and the key, for head office to
     * tell a site that lost its enrolment from a stranger */
    ck_assert_int_eq(identity_curve_load(stranger, pub, sec), 0);
    snprintf(want, sizeof want, "warning: connection from 127.0.0.1 refused: unknown key %s "
             "(not enrolled)\n", pub);
    ck_assert_msg(strstr(log, want), "%s", log);
    free(log);
    /* the good site syncs */
    r = tn_sync(&n, good, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_heads_equal(&n, good, "WH-1", 50);
    free(good);
    free(stranger);
    free(other);
    tn_free(&n);
}
END_TEST

/* An intruder with head office's data file puts a site's CURVE key into
 * another identity's enrolment (and removes the site's own): the handshake
 * matches the altered enrolment, but it is let in only as head office
 * wrote it, and its seal no longer verifies: refused, and said so. */
START_TEST(an_altered_enrolment_opens_no_session)
{
    struct tn_net n = tn_new("netseal");
    char *a = tn_site(&n, "WH-A", 1), *b = tn_site(&n, "WH-B", 1);
    tn_import_rows(&n, b, "5");
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    ck_assert_int_eq(identity_curve_load(b, pub, sec), 0);
    tn_stop_server(&n, SIGTERM);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi ids;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
    ck_assert_int_eq(mdb_env_open(env, n.hq, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "identities", 0, &ids), 0);
    MDB_val ka = {4, "WH-A"}, kb = {4, "WH-B"}, v;
    ck_assert_int_eq(mdb_get(txn, ids, &ka, &v), 0);
    Scsms__Identity *id = scsms__identity__unpack(NULL, v.mv_size, v.mv_data);
    ck_assert_ptr_nonnull(id);
    char *own_key = id->curve_key; /* given back before the free */
    id->curve_key = pub;           /* WH-B's key, under WH-A's seal */
    size_t len = scsms__identity__get_packed_size(id);
    uint8_t *buf = malloc(len);
    scsms__identity__pack(id, buf);
    id->curve_key = own_key;
    MDB_val nv = {len, buf};
    ck_assert_int_eq(mdb_put(txn, ids, &ka, &nv, 0), 0);
    ck_assert_int_eq(mdb_del(txn, ids, &kb, NULL), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(buf);
    scsms__identity__free_unpacked(id, NULL);
    tn_start_server(&n, "256");
    struct tu_run r = tn_sync(&n, b, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "refused this site's key at the handshake"), "%s", r.err);
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(&n, "WH-A"), 0);
    size_t n_log;
    char *log = tu_read_file(n.server_err, &n_log);
    ck_assert_msg(strstr(log, "connection from 127.0.0.1 refused: the enrolment of WH-A was "
                              "altered outside the store; run verify"), "%s", log);
    free(log);
    free(a);
    free(b);
    tn_free(&n);
}
END_TEST

/* The first line of the store at dir's keys/name (curve.pub, sign.pub:
 * the public keys a site sends head office); malloc'd. */
static char *pub_key(const char *dir, const char *name)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/keys/%s", dir, name);
    char *text = tu_read_file(path, &len);
    text[strcspn(text, "\r\n")] = '\0';
    return text;
}

/* The identities a store holds, one "id role curve-key" line each. */
static int list_identity(const Scsms__Identity *id, void *ctx)
{
    char *out = ctx;
    snprintf(out + strlen(out), 4096 - strlen(out), "%s %d %s\n", id->id, (int)id->role,
             id->curve_key);
    return 0;
}

static void identities_of(const char *dir, char out[4096])
{
    store_t *s = NULL;
    out[0] = '\0';
    ck_assert_int_eq(store_open(dir, NULL, &s), 0);
    ck_assert_int_eq(store_identity_list(s, list_identity, out), 0);
    store_close(&s);
}

/* Pinned to its head office at the first sync, a site sends nothing to a
 * server with another CURVE key (refused before it connects) nor to one
 * that names another head office (refused after the Hello, before its
 * log), each said in one line, exit 3, and its store keeps its one pin. */
START_TEST(a_pinned_site_talks_to_no_other_head_office)
{
    struct tn_net n = tn_new("netpin");
    char *site = tn_site(&n, "WH-1", 1);
    add_breach(site, "2026-10-01", "Gate 1");
    struct tu_run r = tn_sync(&n, site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    char pins[4096], want[512];
    identities_of(site, pins);
    snprintf(want, sizeof want, "HQ 2 %s\n", n.server_key);
    ck_assert_str_eq(pins, want);
    add_breach(site, "2026-10-02", "Gate 2");
    /* another head office, with its own key, that has enrolled this site */
    struct tn_net other = tn_new_hq("netpin2", "HQ-B");
    char *ck = pub_key(site, "curve.pub"), *sk = pub_key(site, "sign.pub");
    size_t len;
    r = tn_server(&other, "enrol", "--id", "WH-1", "--role", "site", "--curve-key", ck,
                  "--sign-key", sk, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "run", "--once", "--server", other.endpoint, "--server-key",
                 other.server_key, "--timeout", "3", "--store", site, NULL);
    ck_assert_int_eq(r.status, 3);
    snprintf(want, sizeof want, "scsms-agent: server key '%s' is not that of head office HQ, "
             "pinned here at the first sync ('%s'): nothing sent\n", other.server_key,
             n.server_key);
    ck_assert_str_eq(r.err, want);
    ck_assert_str_eq(r.out, "");
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(&other, "WH-1"), 0);
    char *log = tu_read_file(other.server_err, &len);
    ck_assert_ptr_null(strstr(log, "connection from WH-1")); /* not even a handshake */
    free(log);
    /* the same key as the pinned one, in front of another head office */
    tn_take_curve_keys(&other, &n);
    r = tu_agent(NULL, "run", "--once", "--server", other.endpoint, "--server-key",
                 other.server_key, "--timeout", "3", "--store", site, NULL);
    ck_assert_int_eq(r.status, 3);
    snprintf(want, sizeof want, "scsms-agent: the server at %s says head office is 'HQ-B', but "
             "'HQ' is pinned here: nothing sent\n", other.endpoint);
    ck_assert_str_eq(r.err, want);
    ck_assert_str_eq(r.out, "");
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(&other, "WH-1"), 0);
    snprintf(want, sizeof want, "HQ 2 %s\n", n.server_key);
    identities_of(site, pins);
    ck_assert_str_eq(pins, want);
    /* its own head office still takes the rest */
    r = tn_sync(&n, site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_heads_equal(&n, site, "WH-1", 2);
    free(ck);
    free(sk);
    tn_free(&other);
    free(site);
    tn_free(&n);
}
END_TEST

/* run refuses, in one line: a port past 65535 (ZeroMQ would listen on
 * another), a store another server serves, and a port in use. */
START_TEST(run_refuses_an_endpoint_it_cannot_serve)
{
    struct tn_net n = tn_new("netbind");
    struct tu_run r = tn_server(&n, "run", "--bind", "tcp://127.0.0.1:99999", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.err, "scsms-server: --bind 'tcp://127.0.0.1:99999': the port must be 1 "
                            "to 65535, or 0 or '*' for any free one\n");
    tu_run_free(&r);
    r = tn_server(&n, "run", "--bind", "tcp://127.0.0.1:0", NULL);
    ck_assert_int_eq(r.status, 1);
    char want[4200];
    snprintf(want, sizeof want, "scsms-server: another scsms-server is serving '%s': stop it "
             "first\n", n.hq);
    ck_assert_str_eq(r.err, want);
    tu_run_free(&r);
    /* another head office's store, on the running server's port */
    char *other = tu_path(n.tmp, "hq2");
    char *init[] = {getenv("SCSMS_SERVER"), "init", "--store", other, NULL};
    r = tu_exec(init, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    char *run[] = {getenv("SCSMS_SERVER"), "run", "--bind", n.endpoint, "--store", other, NULL};
    r = tu_exec(run, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "cannot listen on") && tu_lines(r.err) == 1, "%s", r.err);
    tu_run_free(&r);
    /* a host this machine has not: said so, not "No such device" */
    char *nowhere[] = {getenv("SCSMS_SERVER"), "run", "--bind", "tcp://nonexistent.invalid:0",
                       "--store", other, NULL};
    r = tu_exec(nowhere, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "scsms-server: cannot listen on 'tcp://nonexistent.invalid:0': no such "
                            "address or network interface on this machine\n");
    tu_run_free(&r);
    free(other);
    tn_free(&n);
}
END_TEST

/* `scsms-server enrol` of id with these keys into the store at dir is
 * refused: exit 1, err exactly, nothing on stdout. */
static void enrol_refused(const char *dir, const char *id, const char *curve, const char *sign,
                          const char *err)
{
    char *argv[] = {getenv("SCSMS_SERVER"), "enrol", "--id", (char *)id, "--role", "site",
                    "--curve-key", (char *)curve, "--sign-key", (char *)sign, "--store",
                    (char *)dir, NULL};
    struct tu_run r = tu_exec(argv, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, err);
    ck_assert_str_eq(r.out, "");
    tu_run_free(&r);
}

/* enrol adds identities, never replaces one: an id enrolled already
 * (revoked or not) and a CURVE key enrolled already under another id are
 * refused in one line, exit 1, and head office's table and the logs it
 * verifies stay as they were; the site whose key another id asked for
 * still connects as itself. */
START_TEST(enrol_refuses_an_enrolled_id_or_key)
{
    struct tn_net n = tn_new("netenrol");
    char *a = tn_site(&n, "WH-1", 1), *b = tn_site(&n, "WH-2", 1), *c = tn_site(&n, "WH-3", 0);
    add_breach(a, "2026-10-01", "Gate 1");
    struct tu_run r = tn_sync(&n, a, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tn_server(&n, "revoke", "--id", "WH-1", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    struct tu_run before = tn_server(&n, "sites", NULL);
    ck_assert_int_eq(before.status, 0);
    char *a_curve = pub_key(a, "curve.pub"), *a_sign = pub_key(a, "sign.pub");
    char *b_curve = pub_key(b, "curve.pub"), *c_curve = pub_key(c, "curve.pub"),
         *c_sign = pub_key(c, "sign.pub");
    const char *taken = "scsms-server: 'WH-1' is enrolled already: an identity is enrolled once, "
                        "and a revoked one stays revoked\n";
    /* the revoked id with other keys (its log would verify no more), and
     * with its own (it would be revoked no more) */
    enrol_refused(n.hq, "WH-1", c_curve, c_sign, taken);
    enrol_refused(n.hq, "WH-1", a_curve, a_sign, taken);
    /* a new id with WH-2's CURVE key: it sorts first, and would have been
     * taken for WH-2 at the handshake */
    char want[256];
    snprintf(want, sizeof want, "scsms-server: CURVE key '%s' is enrolled already, as 'WH-2': "
             "each identity connects with its own key\n", b_curve);
    enrol_refused(n.hq, "AAA", b_curve, c_sign, want);
    /* head office's own key, and a site's store given for head office's */
    char *hq_curve = pub_key(n.hq, "curve.pub");
    snprintf(want, sizeof want, "scsms-server: CURVE key '%s' is head office's own: each "
             "identity connects with its own key\n", hq_curve);
    enrol_refused(n.hq, "AAB", hq_curve, c_sign, want);
    free(hq_curve);
    snprintf(want, sizeof want, "scsms-server: '%s' is a site's store, not head office's: "
             "scsms-server works on the store 'scsms-server init' made\n", b);
    enrol_refused(b, "AAC", c_curve, c_sign, want);
    /* a signing key stays its holder's, revoked or not, and head office's
     * own is no site's */
    char fresh[41], fresh_sec[41];
    ck_assert_int_eq(zmq_curve_keypair(fresh, fresh_sec), 0);
    enrol_refused(n.hq, "AAD", fresh, a_sign,
                  "scsms-server: signing key is enrolled already, as 'WH-1': each identity "
                  "signs with its own key\n");
    char *hq_sign = pub_key(n.hq, "sign.pub");
    enrol_refused(n.hq, "AAE", fresh, hq_sign,
                  "scsms-server: signing key is head office's own: each identity signs with "
                  "its own key\n");
    free(hq_sign);
    /* but a copy needs no role: scsms-server backup takes any store, as
     * verify and restore do */
    char *copy = tu_path(n.tmp, "wh2-copy");
    char *bk[] = {getenv("SCSMS_SERVER"), "backup", copy, "--store", b, NULL};
    r = tu_exec(bk, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "written to"));
    tu_run_free(&r);
    char *key = tu_path(b, "keys/sign.key");
    char *vf[] = {getenv("SCSMS_SERVER"), "verify", "--store", copy, "--key", key, NULL};
    r = tu_exec(vf, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    free(key);
    free(copy);
    struct tu_run after = tn_server(&n, "sites", NULL);
    ck_assert_int_eq(after.status, 0);
    ck_assert_str_eq(after.out, before.out);
    ck_assert_ptr_nonnull(strstr(after.out, "WH-1                 site     revoked"));
    ck_assert_int_eq(tu_lines(after.out), 3); /* the header, WH-1, WH-2 */
    tu_run_free(&after);
    tu_run_free(&before);
    r = tn_server(&n, "verify", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    add_breach(b, "2026-10-02", "Gate 2");
    r = tn_sync(&n, b, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_heads_equal(&n, b, "WH-2", 1);
    r = tn_sync(&n, a, NULL); /* and WH-1 is still revoked */
    ck_assert_int_eq(r.status, 1);
    tu_run_free(&r);
    /* a store enrolled before enrol refused (AAA written with WH-2's key
     * as enrol once did): the handshake is refused, not given to AAA,
     * until the wrong one is revoked */
    store_t *hq = NULL;
    uint8_t sign[CRYPTO_PUB_LEN];
    ck_assert_int_eq(crypto_unhex(c_sign, sign, sizeof sign), 0);
    Scsms__Identity dup = SCSMS__IDENTITY__INIT;
    dup.id = "AAA";
    dup.role = SCSMS__IDENTITY__ROLE__SITE;
    dup.curve_key = b_curve;
    dup.sign_key.data = sign;
    dup.sign_key.len = sizeof sign;
    ck_assert_int_eq(store_open(n.hq, NULL, &hq), 0);
    ck_assert_int_eq(store_identity_put(hq, &dup), 0);
    store_close(&hq);
    add_breach(b, "2026-10-03", "Gate 3");
    r = tn_sync(&n, b, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "refused this site's key at the handshake"));
    tu_run_free(&r);
    size_t len;
    char *log = tu_read_file(n.server_err, &len);
    ck_assert_ptr_nonnull(strstr(log, "warning: connection from 127.0.0.1 refused: one key is "
                                      "enrolled as both AAA and WH-2: revoke the one that is not "
                                      "this key's\n"));
    free(log);
    r = tn_server(&n, "revoke", "--id", "AAA", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tn_sync(&n, b, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_heads_equal(&n, b, "WH-2", 2);
    free(a_curve);
    free(a_sign);
    free(b_curve);
    free(c_curve);
    free(c_sign);
    free(a);
    free(b);
    free(c);
    tn_free(&n);
}
END_TEST

START_TEST(malformed_message_is_refused)
{
    struct tn_net n = tn_new("netmal");
    char *site = tn_site(&n, "WH-1", 1);
    struct tn_raw c = tn_raw_connect(&n, site);
    void *d = c.sock;
    ck_assert_int_eq(zmq_send(d, "\xff\xff\xff\xff garbage", 12, 0), 12);
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 10000), 1);
    char buf[512];
    int got = zmq_recv(d, buf, sizeof buf, 0);
    ck_assert_int_gt(got, 0);
    Scsms__SyncReply *r = scsms__sync_reply__unpack(NULL, (size_t)got, (uint8_t *)buf);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    ck_assert_ptr_nonnull(strstr(r->message, "malformed message"));
    scsms__sync_reply__free_unpacked(r, NULL);
    tn_raw_close(&c);
    /* and the server is still there for everyone */
    tn_import_rows(&n, site, "20");
    struct tu_run rr = tn_sync(&n, site, NULL);
    ck_assert_msg(rr.status == 0, "%s", rr.err);
    tu_run_free(&rr);
    tn_heads_equal(&n, site, "WH-1", 20);
    free(site);
    tn_free(&n);
}
END_TEST

struct entries {
    ProtobufCBinaryData v[64];
    size_t n;
};

static int keep_entry(const uint8_t *b, size_t len, uint64_t seq, void *ctx)
{
    struct entries *e = ctx;
    (void)seq;
    e->v[e->n].data = malloc(len);
    memcpy(e->v[e->n].data, b, len);
    e->v[e->n].len = len;
    e->n++;
    return 0;
}

/* Send req through c (with the next request id) and take its reply. */
static Scsms__SyncReply *raw_call(struct tn_raw *c, Scsms__SyncRequest *req)
{
    req->request_id = ++c->id;
    size_t len = scsms__sync_request__get_packed_size(req);
    uint8_t *buf = malloc(len);
    scsms__sync_request__pack(req, buf);
    ck_assert_int_eq(zmq_send(c->sock, buf, len, 0), (int)len);
    free(buf);
    zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 20000), 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_gt(zmq_msg_recv(&m, c->sock, 0), 0);
    Scsms__SyncReply *r = scsms__sync_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->request_id, c->id);
    return r;
}

static Scsms__SyncReply *raw_hello(struct tn_raw *c)
{
    Scsms__Hello hello = SCSMS__HELLO__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_HELLO;
    req.hello = &hello;
    return raw_call(c, &req);
}

static Scsms__SyncReply *raw_fetch(struct tn_raw *c, uint64_t after_seq)
{
    Scsms__Fetch fe = SCSMS__FETCH__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    fe.after_seq = after_seq;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_FETCH;
    req.fetch = &fe;
    return raw_call(c, &req);
}

/* Upload entries from..to of site's log (signed by site) through c. */
static Scsms__SyncReply *raw_upload(struct tn_raw *c, const char *site, const char *owner,
                                    uint64_t from, uint64_t to, int flip)
{
    store_t *s = NULL;
    struct entries e = {0};
    uint8_t *cp = NULL;
    size_t cp_len = 0;
    ck_assert_int_eq(store_open(site, NULL, &s), 0);
    ck_assert_int_eq(sync_read_log(s, owner, from, (size_t)(to - from + 1), keep_entry, &e), 0);
    ck_assert_int_eq(sync_checkpoint_at(s, to, &cp, &cp_len), 0);
    store_close(&s);
    if (flip)
        e.v[0].data[e.v[0].len - 3] ^= 0x01; /* altered in transit */
    Scsms__Upload up = SCSMS__UPLOAD__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    up.entries = e.v;
    up.n_entries = e.n;
    up.checkpoint.data = cp;
    up.checkpoint.len = cp_len;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_UPLOAD;
    req.upload = &up;
    Scsms__SyncReply *r = raw_call(c, &req);
    free(cp);
    for (size_t i = 0; i < e.n; i++)
        free(e.v[i].data);
    return r;
}

START_TEST(bad_uploads_over_the_wire)
{
    struct tn_net n = tn_new("netup");
    char *a = tn_site(&n, "WH-1", 1), *b = tn_site(&n, "WH-2", 1);
    tn_import_rows(&n, a, "10");
    tn_import_rows(&n, b, "10");
    struct tn_raw c = tn_raw_connect(&n, a);
    /* WH-1's connection carrying WH-2's log */
    Scsms__SyncReply *r = raw_upload(&c, b, "WH-2", 1, 5, 0);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    ck_assert_ptr_nonnull(strstr(r->message, "belongs to WH-2, not to WH-1"));
    scsms__sync_reply__free_unpacked(r, NULL);
    ck_assert_uint_eq(tn_hq_head(&n, "WH-2"), 0);
    /* an entry altered in transit */
    r = raw_upload(&c, a, "WH-1", 1, 5, 1);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    scsms__sync_reply__free_unpacked(r, NULL);
    ck_assert_uint_eq(tn_hq_head(&n, "WH-1"), 0);
    /* the real batch, then the same batch replayed: applied once */
    r = raw_upload(&c, a, "WH-1", 1, 5, 0);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__OK);
    ck_assert_uint_eq(r->head_seq, 5);
    scsms__sync_reply__free_unpacked(r, NULL);
    r = raw_upload(&c, a, "WH-1", 1, 5, 0);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__OK);
    ck_assert_uint_eq(r->head_seq, 5);
    scsms__sync_reply__free_unpacked(r, NULL);
    /* a batch after a gap: told where to resume */
    r = raw_upload(&c, a, "WH-1", 8, 10, 0);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__GAP);
    ck_assert_uint_eq(r->head_seq, 5);
    scsms__sync_reply__free_unpacked(r, NULL);
    tn_raw_close(&c);
    tn_verify_dir(n.hq, 5);
    size_t len;
    char *log = tu_read_file(n.server_err, &len);
    ck_assert_ptr_nonnull(strstr(log, "upload from WH-1 refused: entry 1 belongs to WH-2"));
    free(log);
    free(a);
    free(b);
    tn_free(&n);
}
END_TEST

START_TEST(revoked_identity_loses_its_live_session)
{
    struct tn_net n = tn_new("netrev");
    char *site = tn_site(&n, "WH-1", 1);
    tn_import_rows(&n, site, "100");
    char *err = tu_path(n.tmp, "agent.log");
    char *argv[] = {getenv("SCSMS_AGENT"), "run", "--server", n.endpoint, "--server-key",
                    n.server_key, "--store", site, NULL};
    int fd;
    pid_t agent = tu_spawn(argv, &fd, err);
    for (int i = 0; i < 500 && tn_hq_head(&n, "WH-1") < 100; i++) /* its first round */
        usleep(20000);
    tn_heads_equal(&n, site, "WH-1", 100);
    /* one sync a store: a second is refused while the daemon runs */
    struct tu_run r = tn_sync(&n, site, NULL);
    ck_assert_int_eq(r.status, 1);
    char want[512];
    snprintf(want, sizeof want, "scsms-agent: another scsms-agent run is syncing '%s': stop it "
             "first\n", site);
    ck_assert_str_eq(r.err, want);
    tu_run_free(&r);
    r = tn_server(&n, "revoke", "--id", "WH-1", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    tn_import_rows(&n, site, "5"); /* new evidence for the next round */
    int code = tu_wait(agent, 20000);
    ck_assert_msg(code == 1, "agent still running or exit %d", code);
    close(fd);
    size_t len;
    char *log = tu_read_file(err, &len);
    ck_assert_ptr_nonnull(strstr(log, "'WH-1' has been revoked"));
    free(log);
    ck_assert_uint_eq(tn_hq_head(&n, "WH-1"), 100); /* nothing after the revocation */
    free(err);
    free(site);
    tn_free(&n);
}
END_TEST

/* The end of a spawned agent: its exit code within 20 s; one still
 * running is killed (and the test fails on the -1). */
static int agent_exit(pid_t agent)
{
    int code = tu_wait(agent, 20000);
    if (code == -1) {
        kill(agent, SIGKILL);
        tu_wait(agent, 20000);
    }
    return code;
}

/* Revoked, a site's open session gets nothing more: head office's next
 * policy, its Hello and its Fetch are refused (the handshake admitted it
 * before the revocation), the daemon says why in one line and exits 1,
 * and head office does not count it as seen after the revocation. */
START_TEST(revoked_site_receives_nothing_more)
{
    struct tn_net n = tn_new("netrevhq");
    char *site = tn_site(&n, "WH-1", 1);
    tn_import_rows(&n, site, "10");
    struct tn_raw c = tn_raw_connect(&n, site);
    Scsms__SyncReply *r = raw_hello(&c); /* a session open before the revocation */
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__OK);
    scsms__sync_reply__free_unpacked(r, NULL);
    char *err = tu_path(n.tmp, "agent.log");
    char *argv[] = {getenv("SCSMS_AGENT"), "run", "--server", n.endpoint, "--server-key",
                    n.server_key, "--store", site, NULL};
    int fd;
    pid_t agent = tu_spawn(argv, &fd, err);
    for (int i = 0; i < 500 && tn_hq_head(&n, "WH-1") < 10; i++) /* its first round */
        usleep(20000);
    tn_heads_equal(&n, site, "WH-1", 10);
    struct tu_run run = tn_server(&n, "revoke", "--id", "WH-1", NULL);
    ck_assert_msg(run.status == 0, "%s", run.err);
    tu_run_free(&run);
    int64_t revoked = (int64_t)time(NULL);
    run = tu_agent(NULL, "add", "policy", "--json",
                   "{\"title\":\"Security policy\",\"statement\":\"protect\"}", "--store",
                   n.hq, NULL);
    ck_assert_msg(run.status == 0, "%s", run.err);
    tu_run_free(&run);
    r = raw_hello(&c);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    ck_assert_str_eq(r->message, "'WH-1' has been revoked");
    ck_assert_str_eq(r->hq_id, "");
    scsms__sync_reply__free_unpacked(r, NULL);
    r = raw_fetch(&c, 0);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    ck_assert_str_eq(r->message, "'WH-1' has been revoked");
    ck_assert_uint_eq(r->n_entries, 0);
    scsms__sync_reply__free_unpacked(r, NULL);
    tn_raw_close(&c);
    int code = agent_exit(agent);
    close(fd);
    ck_assert_msg(code == 1, "agent still running or exit %d", code);
    size_t len;
    char *log = tu_read_file(err, &len);
    ck_assert_str_eq(log, "scsms-agent: the server refused: 'WH-1' has been revoked\n");
    free(log);
    /* a new session: refused at the handshake, and told so at once */
    run = tn_sync(&n, site, NULL);
    ck_assert_int_eq(run.status, 1);
    char want[256];
    snprintf(want, sizeof want, "scsms-agent: head office at %s refused this site's key at the "
             "handshake: it is not enrolled there, or has been revoked\n", n.endpoint);
    ck_assert_str_eq(run.err, want);
    ck_assert_str_eq(run.out, "");
    tu_run_free(&run);
    /* head office's policy stayed there; the site's log stayed at 10 */
    uint64_t hq_at_site;
    uint8_t h[CRYPTO_HASH_LEN];
    store_t *s = NULL;
    ck_assert_int_eq(store_open(site, NULL, &s), 0);
    ck_assert_int_eq(sync_head(s, "HQ", &hq_at_site, h), 0);
    store_close(&s);
    ck_assert_uint_eq(hq_at_site, 0);
    ck_assert_uint_eq(tn_hq_head(&n, "HQ"), 1);
    ck_assert_uint_eq(tn_hq_head(&n, "WH-1"), 10);
    tn_stop_server(&n, SIGTERM); /* writes who it saw */
    struct sync_seen seen;
    ck_assert_int_eq(store_open(n.hq, NULL, &s), 0);
    ck_assert_int_eq(sync_seen_get(s, "WH-1", &seen), 0);
    store_close(&s);
    ck_assert_int_gt(seen.last_seen, 0);
    ck_assert_int_le(seen.last_seen, revoked);
    log = tu_read_file(n.server_err, &len);
    ck_assert_ptr_nonnull(strstr(log, "warning: request from WH-1 refused: 'WH-1' has been "
                                      "revoked\n"));
    free(log);
    tn_start_server(&n, "256");
    free(err);
    free(site);
    tn_free(&n);
}
END_TEST

/* Records may be 1 MiB each: 200 of some 420 KB (84 MB, more than the
 * 64 MiB head office takes in one message) sync, in batches small enough
 * in bytes, not only in number, to be taken. */
START_TEST(large_records_sync_in_smaller_batches)
{
    struct tn_net n = tn_new("netbig");
    char *site = tn_site(&n, "WH-1", 1), *json = tu_path(n.tmp, "big.json");
    size_t field = 60000;
    char *text = malloc(field + 1);
    memset(text, 'x', field);
    text[field] = '\0';
    FILE *f = fopen(json, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 200; i++)
        fprintf(f, "%s{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":"
                "\"2026-11-01T10:00:00Z\",\"location\":\"%s\",\"activity\":\"%s\","
                "\"agency\":\"%s\",\"impact\":\"%s\",\"immediate_action\":\"%s\","
                "\"investigation\":\"%s\",\"root_cause\":\"%s\"}", i ? "," : "[", text, text,
                text, text, text, text, text);
    fputs("]\n", f);
    ck_assert_int_eq(fclose(f), 0);
    free(text);
    struct tu_run r = tu_agent(NULL, "import", json, "--store", site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    /* each answer follows a few megabytes checked and written: on a busy
     * machine (the suite in parallel, under the sanitizers) more than the
     * 3 s tn_sync allows, which is for the tests of no answer */
    r = tu_agent(NULL, "run", "--once", "--server", n.endpoint, "--server-key", n.server_key,
                 "--timeout", "30", "--store", site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char want[128];
    snprintf(want, sizeof want, "synced with %s: 200 entries sent, 0 head-office entries "
             "received\n", n.endpoint);
    ck_assert_str_eq(r.out, want);
    ck_assert_str_eq(r.err, "");
    tu_run_free(&r);
    tn_heads_equal(&n, site, "WH-1", 200);
    tn_verify_dir(n.hq, 200);
    free(json);
    free(site);
    tn_free(&n);
}
END_TEST

/* What WIRE.md says of a busy server: the requests beyond its --queue are
 * answered at once, "retry later" with credit 1, ahead of the reply to
 * the earlier request it took (OK, credit 4), each echoing its own id. */
START_TEST(a_busy_server_answers_the_overflow_first)
{
    struct tn_net n = tn_new("netorder");
    tn_stop_server(&n, SIGTERM);
    tn_start_server(&n, "1");
    char *site = tn_site(&n, "WH-1", 1);
    struct tn_raw c = tn_raw_connect(&n, site);
    Scsms__SyncReply *r = raw_hello(&c); /* the handshake done */
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__OK);
    ck_assert_uint_eq(r->credit, 4);
    scsms__sync_reply__free_unpacked(r, NULL);
    /* five Hellos waiting at once: the server stopped, every thread of it,
     * while they arrive (one its I/O thread took in before it stopped was
     * answered alone, as the server's only request) */
    tn_freeze_server(&n);
    Scsms__Hello hello = SCSMS__HELLO__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_HELLO;
    req.hello = &hello;
    uint8_t buf[64];
    for (int i = 0; i < 5; i++) {
        req.request_id = ++c.id;
        size_t len = scsms__sync_request__pack(&req, buf);
        ck_assert_int_eq(zmq_send(c.sock, buf, len, 0), (int)len);
    }
    usleep(300000);
    ck_assert_int_eq(kill(n.server, SIGCONT), 0);
    uint64_t first = c.id - 4; /* the one the server takes */
    for (int i = 0; i < 5; i++) {
        zmq_pollitem_t it = {c.sock, 0, ZMQ_POLLIN, 0};
        ck_assert_int_eq(zmq_poll(&it, 1, 20000), 1);
        zmq_msg_t m;
        zmq_msg_init(&m);
        ck_assert_int_gt(zmq_msg_recv(&m, c.sock, 0), 0);
        r = scsms__sync_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        ck_assert_ptr_nonnull(r);
        if (i < 4) { /* the overflow, at once and in order among itself */
            ck_assert_uint_eq(r->request_id, first + 1 + (uint64_t)i);
            ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__RETRY_LATER);
            ck_assert_str_eq(r->message, "server busy: retry later");
            ck_assert_uint_eq(r->credit, 1);
        } else { /* then the request taken, answered in full */
            ck_assert_uint_eq(r->request_id, first);
            ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__OK);
            ck_assert_str_eq(r->hq_id, "HQ");
            ck_assert_uint_eq(r->credit, 4);
        }
        scsms__sync_reply__free_unpacked(r, NULL);
    }
    tn_raw_close(&c);
    free(site);
    tn_free(&n);
}
END_TEST

/* The line of `scsms-server sites` for id, the server stopped (so that it
 * writes what it saw) and started again. Caller frees. */
static char *sites_row(struct tn_net *n, const char *id)
{
    tn_stop_server(n, SIGTERM);
    struct tu_run r = tn_server(n, "sites", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "BACKLOG  CLOCK\n"));
    char want[64];
    snprintf(want, sizeof want, "\n%s ", id);
    const char *line = strstr(r.out, want);
    ck_assert_ptr_nonnull(line);
    char *row = strndup(line + 1, strcspn(line + 1, "\n"));
    tu_run_free(&r);
    tn_start_server(n, "256");
    return row;
}

/* Head office's line for id in 'sites': its head and the backlog it last
 * reported. */
static void sites_line(struct tn_net *n, const char *id, unsigned long long *head,
                       unsigned long long *backlog)
{
    char *row = sites_row(n, id);
    char role[16], state[16], hash[32], seen[32];
    ck_assert_int_eq(sscanf(row + strlen(id), "%15s %15s %llu %31s %31s %llu", role, state, head,
                            hash, seen, backlog), 6);
    ck_assert_str_ne(seen, "never");
    free(row);
}

/* The backlog head office shows is the site's real one: a round with
 * nothing new, in a new process, reports 0, not the whole log. */
START_TEST(sites_shows_the_real_backlog)
{
    struct tn_net n = tn_new("netbacklog");
    char *site = tn_site(&n, "WH-1", 1);
    tn_import_rows(&n, site, "50");
    struct tu_run r = tn_sync(&n, site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    unsigned long long head, backlog;
    sites_line(&n, "WH-1", &head, &backlog);
    ck_assert_uint_eq(head, 50);
    ck_assert_uint_eq(backlog, 0);
    r = tn_sync(&n, site, NULL); /* nothing new: a Hello and a Fetch */
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, ": 0 entries sent, 0 head-office entries received"));
    tu_run_free(&r);
    sites_line(&n, "WH-1", &head, &backlog);
    ck_assert_uint_eq(head, 50);
    ck_assert_uint_eq(backlog, 0);
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "acknowledged 50, backlog 0 entries"));
    tu_run_free(&r);
    free(site);
    tn_free(&n);
}
END_TEST

/* A busy server answers "retry later" and keeps the connection; the sites
 * come back and finish, and head office shows who it heard and when. */
START_TEST(busy_server_says_retry_later)
{
    struct tn_net n = tn_new("netbusy");
    tn_stop_server(&n, SIGTERM);
    tn_start_server(&n, "1"); /* reads one request at a time: the rest wait or are shed */
    const char *ids[] = {"WH-1", "WH-2", "WH-3"};
    char *site[3];
    pid_t pid[3];
    int out[3];
    for (int i = 0; i < 3; i++) {
        site[i] = tn_site(&n, ids[i], 1);
        tn_import_rows(&n, site[i], "5000");
    }
    for (int i = 0; i < 3; i++) {
        char *argv[] = {getenv("SCSMS_AGENT"), "run", "--once", "--batch", "200", "--server",
                        n.endpoint, "--server-key", n.server_key, "--store", site[i], NULL};
        pid[i] = tu_spawn(argv, &out[i], NULL);
    }
    for (int i = 0; i < 3; i++) {
        char line[256];
        ck_assert_msg(tu_read_line(out[i], line, sizeof line, 120000), "%s gave no summary", ids[i]);
        ck_assert_ptr_nonnull(strstr(line, "5000 entries sent"));
        ck_assert_int_eq(tu_wait(pid[i], 20000), 0);
        close(out[i]);
    }
    for (int i = 0; i < 3; i++)
        tn_heads_equal(&n, site[i], ids[i], 5000);
    tn_stop_server(&n, SIGTERM); /* flushes what it saw */
    size_t len;
    char *log = tu_read_file(n.server_err, &len);
    ck_assert_ptr_nonnull(strstr(log, "busy: answered retry later"));
    free(log);
    struct tu_run r = tn_server(&n, "sites", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "LAST SEEN"));
    ck_assert_ptr_nonnull(strstr(r.out, "WH-2                 site     active         5000"));
    ck_assert_ptr_null(strstr(r.out, "never"));
    tu_run_free(&r);
    tn_start_server(&n, "256");
    for (int i = 0; i < 3; i++)
        free(site[i]);
    tn_free(&n);
}
END_TEST

/* Head office's alerts: every site's overdue and expiring items, exactly
 * those the generator planted at each site. */
START_TEST(alerts_list_every_sites_due_items)
{
    setenv("SCSMS_NOW", "2026-11-23T09:00:00Z", 1);
    struct tn_net n = tn_new("netalert");
    const char *ids[] = {"RTM-PORT", "SIN-DC"};
    char *planted_all = calloc(1, 1 << 16);
    for (int i = 0; i < 2; i++) {
        char *site = tn_site(&n, ids[i], 1), *planted = tu_path(n.tmp, ids[i]);
        char pl[4200];
        snprintf(pl, sizeof pl, "%s.planted", planted);
        char *argv[] = {getenv("SCSMS_GEN"), "--store", site, "--planted", pl, NULL};
        struct tu_run r = tu_exec(argv, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tu_run_free(&r);
        r = tn_sync(&n, site, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tu_run_free(&r);
        size_t len;
        char *text = tu_read_file(pl, &len);
        strcat(planted_all, text);
        free(text);
        free(planted);
        free(site);
    }
    struct tu_run r = tn_server(&n, "alerts", "--within", "30", "--format", "json", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    struct json_object *list = json_tokener_parse(r.out), *e, *owner, *id, *field, *date;
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(tu_lines(planted_all), 30);
    ck_assert_uint_eq(json_object_array_length(list), 30);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        e = json_object_array_get_idx(list, i);
        ck_assert(json_object_object_get_ex(e, "owner", &owner));
        ck_assert(json_object_object_get_ex(e, "id", &id));
        ck_assert(json_object_object_get_ex(e, "field", &field));
        ck_assert(json_object_object_get_ex(e, "date", &date));
        ck_assert_int_eq(strncmp(json_object_get_string(id), json_object_get_string(owner),
                                 strlen(json_object_get_string(owner))), 0);
        char line[512];
        snprintf(line, sizeof line, "{\"id\":\"%s\",\"field\":\"%s\",\"date\":\"%s\"}\n",
                 json_object_get_string(id), json_object_get_string(field),
                 json_object_get_string(date));
        ck_assert_msg(strstr(planted_all, line) != NULL, "not planted: %s", line);
    }
    json_object_put(list);
    tu_run_free(&r);
    free(planted_all);
    tn_free(&n);
    unsetenv("SCSMS_NOW");
}
END_TEST

/* The agent with its clock at now + offset (SCSMS_NOW), syncing once. */
static struct tu_run sync_with_clock(struct tn_net *n, const char *site, long offset)
{
    char when[ISOTIME_INSTANT_LEN + 1];
    isotime_format_instant((int64_t)time(NULL) + offset, when);
    setenv("SCSMS_NOW", when, 1);
    struct tu_run r = tn_sync(n, site, NULL);
    unsetenv("SCSMS_NOW");
    ck_assert_msg(r.status == 0, "%s", r.err);
    return r;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* Records are dated by the clock of the machine that writes them: a site
 * whose clock is wrong by more than 5 minutes is told so, head office
 * logs it and `sites` shows it, and nothing is refused for it. The
 * offsets end half a minute past a whole minute, so that a second either
 * way does not change the words. */
START_TEST(a_wrong_clock_is_said_on_both_sides)
{
    struct tn_net n = tn_new("netclock");
    char *site = tn_site(&n, "WH-C", 1);
    tn_import_rows(&n, site, "3");
    struct tu_run r = sync_with_clock(&n, site, 3 * 3600 + 12 * 60 + 30);
    ck_assert_msg(strstr(r.err, "scsms-agent: warning: this machine's clock is 3 h 12 min ahead "
                                "of head office's: records written here are dated by it; set "
                                "it right (NTP)\n"), "%s", r.err);
    ck_assert_int_eq(tu_lines(r.err), 1);
    ck_assert_ptr_nonnull(strstr(r.out, ": 3 entries sent"));
    tu_run_free(&r);
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_msg(strstr(r.out, "\nclock 3 h 12 min ahead of head office's when last in touch: "
                                "set it right (NTP)\n"), "%s", r.out);
    tu_run_free(&r);
    char *row = sites_row(&n, "WH-C");
    ck_assert_msg(ends_with(row, "  3 h 12 min ahead"), "%s", row);
    free(row);
    size_t len;
    char *log = tu_read_file(n.server_err, &len);
    ck_assert_msg(strstr(log, "scsms-server: warning: WH-C's clock is 3 h 12 min ahead of head "
                              "office's: the records it writes are dated by it; have it set "
                              "right (NTP)\n"), "%s", log);
    free(log);
    tn_heads_equal(&n, site, "WH-C", 3);

    r = sync_with_clock(&n, site, -(2 * 86400 + 4 * 3600 + 30 * 60));
    ck_assert_msg(strstr(r.err, "clock is 2 days 4 h behind head office's"), "%s", r.err);
    tu_run_free(&r);
    row = sites_row(&n, "WH-C");
    ck_assert_msg(ends_with(row, "  2 days 4 h behind"), "%s", row);
    free(row);

    /* set right: no warning, and both sides say so */
    r = sync_with_clock(&n, site, 0);
    ck_assert_msg(!strstr(r.err, "clock"), "%s", r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_msg(strstr(r.out, "\nclock within 5 min of head office's when last in touch\n"),
                  "%s", r.out);
    tu_run_free(&r);
    row = sites_row(&n, "WH-C");
    ck_assert_msg(ends_with(row, "  ok"), "%s", row);
    free(row);
    free(site);
    tn_free(&n);
}
END_TEST

START_TEST(offline_site_catches_up)
{
    struct tn_net n = tn_new("netoff");
    char *site = tn_site(&n, "WH-1", 1);
    tn_stop_server(&n, SIGTERM); /* head office unreachable */
    tn_import_rows(&n, site, "100000");
    struct tu_run r = tn_sync(&n, site, NULL);
    ck_assert_int_eq(r.status, 1); /* offline: it says so, and keeps everything */
    ck_assert_ptr_nonnull(strstr(r.err, "no answer from"));
    tu_run_free(&r);
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "last_sync never"));
    ck_assert_ptr_nonnull(strstr(r.out, "acknowledged 0, backlog 100000 entries"));
    tu_run_free(&r);
    tn_start_server(&n, "256");
    /* the catch-up shows how far it has got (on a terminal, or asked) */
    r = tu_agent(NULL, "run", "--once", "--progress", "--server", n.endpoint, "--server-key",
                 n.server_key, "--timeout", "3", "--store", site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "100000 entries sent"));
    ck_assert_msg(strstr(r.err, "\rsending: 1000 of 100000 entries (1%)") &&
                  strstr(r.err, "\rsending: 100000 of 100000 entries (100%)"), "%.300s", r.err);
    tu_run_free(&r);
    tn_heads_equal(&n, site, "WH-1", 100000);
    /* status after a success, and after a round that could not reach it */
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "result ok"));
    ck_assert_ptr_nonnull(strstr(r.out, "acknowledged 100000, backlog 0 entries"));
    tu_run_free(&r);
    tn_stop_server(&n, SIGTERM);
    tn_import_rows(&n, site, "3");
    r = tn_sync(&n, site, NULL);
    ck_assert_int_eq(r.status, 1);
    tu_run_free(&r);
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "result no answer from"));
    ck_assert_ptr_nonnull(strstr(r.out, "acknowledged 100000, backlog 3 entries"));
    tu_run_free(&r);
    tn_start_server(&n, "256");
    tn_verify_dir(n.hq, 100000);
    free(site);
    tn_free(&n);
}
END_TEST

/* Kill the server and the agents with SIGKILL twenty times at random
 * moments while they sync; afterwards both sides hold the same logs:
 * nothing lost, nothing twice. */
START_TEST(survives_twenty_kills)
{
    struct tn_net n = tn_new("netkill");
    const char *ids[] = {"WH-1", "WH-2", "WH-3"};
    char *site[3];
    pid_t agent[3] = {0};
    for (int i = 0; i < 3; i++) {
        site[i] = tn_site(&n, ids[i], 1);
        tn_import_rows(&n, site[i], "10000");
    }
    srand(12345);
    for (int k = 0; k < 20; k++) {
        if (!n.server)
            tn_start_server(&n, "256");
        for (int i = 0; i < 3; i++) {
            if (agent[i])
                continue;
            char *argv[] = {getenv("SCSMS_AGENT"), "run", "--batch", "200", "--server",
                            n.endpoint, "--server-key", n.server_key, "--store", site[i], NULL};
            int fd;
            agent[i] = tu_spawn(argv, &fd, NULL);
            close(fd);
        }
        usleep((useconds_t)(20000 + rand() % 300000));
        int victim = rand() % 4;
        if (victim == 3) {
            tn_stop_server(&n, SIGKILL);
        } else {
            kill(agent[victim], SIGKILL);
            ck_assert_int_ge(tu_wait(agent[victim], 20000), 0);
            agent[victim] = 0;
        }
        if (k % 5 == 4) /* new evidence keeps arriving meanwhile */
            tn_import_rows(&n, site[k % 3], "500");
    }
    for (int i = 0; i < 3; i++)
        if (agent[i]) {
            kill(agent[i], SIGKILL);
            tu_wait(agent[i], 20000);
        }
    if (!n.server)
        tn_start_server(&n, "256");
    uint64_t total = 0;
    for (int i = 0; i < 3; i++) {
        struct tu_run r = tn_sync(&n, site[i], NULL);
        ck_assert_msg(r.status == 0, "%s: %s", ids[i], r.err);
        tu_run_free(&r);
        store_t *s = NULL;
        uint64_t head;
        uint8_t h[CRYPTO_HASH_LEN];
        ck_assert_int_eq(store_open(site[i], NULL, &s), 0);
        ck_assert_int_eq(sync_head(s, ids[i], &head, h), 0);
        store_close(&s);
        ck_assert_uint_ge(head, 10000);
        tn_heads_equal(&n, site[i], ids[i], head);
        tn_verify_dir(site[i], 0);
        total += head;
    }
    tn_verify_dir(n.hq, total); /* every entry once: the union, no more */
    for (int i = 0; i < 3; i++)
        free(site[i]);
    tn_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net");
    TCase *t = tcase_create("loopback");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, three_sites_reach_the_union);
    tcase_add_test(t, refusals_over_the_wire);
    tcase_add_test(t, a_bad_link_is_said_and_survived);
    tcase_add_test(t, an_altered_enrolment_opens_no_session);
    tcase_add_test(t, a_site_set_up_with_its_server_needs_no_options);
    tcase_add_test(t, head_office_verifies_backs_up_and_restores);
    tcase_add_test(t, a_pinned_site_talks_to_no_other_head_office);
    tcase_add_test(t, enrol_refuses_an_enrolled_id_or_key);
    tcase_add_test(t, run_refuses_an_endpoint_it_cannot_serve);
    tcase_add_test(t, malformed_message_is_refused);
    tcase_add_test(t, bad_uploads_over_the_wire);
    tcase_add_test(t, revoked_identity_loses_its_live_session);
    tcase_add_test(t, revoked_site_receives_nothing_more);
    tcase_add_test(t, large_records_sync_in_smaller_batches);
    tcase_add_test(t, sites_shows_the_real_backlog);
    tcase_add_test(t, busy_server_says_retry_later);
    tcase_add_test(t, a_busy_server_answers_the_overflow_first);
    tcase_add_test(t, alerts_list_every_sites_due_items);
    tcase_add_test(t, offline_site_catches_up);
    tcase_add_test(t, a_wrong_clock_is_said_on_both_sides);
    tcase_add_test(t, a_daemon_reloads_its_settings_on_sighup);
    tcase_add_test(t, an_entry_altered_on_disk_is_not_sent);
    tcase_add_test(t, what_was_written_before_an_altered_entry_is_sent);
    tcase_add_test(t, a_head_beyond_the_sites_is_not_taken);
    tcase_add_test(t, head_office_behind_a_site_is_said);
    tcase_add_test(t, survives_twenty_kills);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

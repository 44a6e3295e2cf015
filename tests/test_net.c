/* test_net.c -- a real scsms-server and real agents as processes on
 * loopback (127.0.0.1, a free port, temporary directories): sites sync to
 * the union with the same heads on both sides, refusals over the wire, a
 * live session revoked, a malformed message, and both sides killed with
 * SIGKILL at random moments without losing or duplicating anything. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>
#include <zmq.h>

#include "identity.h"
#include "store.h"
#include "sync.h"
#include "verify.h"

struct net {
    char *tmp, *hq;
    char endpoint[64];
    char server_key[IDENTITY_Z85_LEN + 1];
    pid_t server;
    char *server_err;
};

static char *field_of(const char *out, const char *name)
{
    const char *p = strstr(out, name);
    ck_assert_ptr_nonnull(p);
    p += strlen(name) + 1;
    char *v = strndup(p, strcspn(p, "\n"));
    return v;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static struct tu_run server_cmd(struct net *n, const char *a1, const char *a2, const char *a3,
                                const char *a4, const char *a5, const char *a6, const char *a7,
                                const char *a8, const char *a9)
{
    const char *args[] = {a1, a2, a3, a4, a5, a6, a7, a8, a9};
    char *argv[16];
    int k = 0;
    argv[k++] = getenv("SCSMS_SERVER");
    for (int i = 0; i < 9 && args[i]; i++)
        argv[k++] = (char *)args[i];
    argv[k++] = "--store";
    argv[k++] = n->hq;
    argv[k] = NULL;
    return tu_exec(argv, NULL);
}

static void start_server_with(struct net *n, const char *queue)
{
    char *argv[] = {getenv("SCSMS_SERVER"), "run", "--bind", n->endpoint, "--queue",
                    (char *)queue, "--store", n->hq, NULL};
    int fd;
    n->server = tu_spawn(argv, &fd, n->server_err);
    char line[256];
    ck_assert_msg(tu_read_line(fd, line, sizeof line, 20000), "server did not start");
    ck_assert_ptr_nonnull(strstr(line, "listening on tcp://127.0.0.1:"));
    close(fd);
}

static void start_server(struct net *n)
{
    start_server_with(n, "256");
}

/* Stop the server; asked with SIGTERM it must end cleanly (exit 0: under
 * the sanitizers that also means no leak); SIGKILL is a crash on purpose. */
static void stop_server(struct net *n, int sig)
{
    if (n->server > 0) {
        kill(n->server, sig);
        int code = tu_wait(n->server, 20000);
        if (sig == SIGTERM)
            ck_assert_msg(code == 0, "server exit %d on SIGTERM", code);
        else
            ck_assert_int_ge(code, 0);
        n->server = 0;
    }
}

static struct net net_new(const char *tag)
{
    struct net n = {0};
    n.tmp = tu_tmpdir(tag);
    n.hq = tu_path(n.tmp, "hq");
    n.server_err = tu_path(n.tmp, "server.log");
    snprintf(n.endpoint, sizeof n.endpoint, "tcp://127.0.0.1:%d", free_port());
    struct tu_run r = server_cmd(&n, "init", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *key = field_of(r.out, "curve-key");
    snprintf(n.server_key, sizeof n.server_key, "%s", key);
    free(key);
    tu_run_free(&r);
    start_server(&n);
    return n;
}

static void net_free(struct net *n)
{
    stop_server(n, SIGTERM);
    tu_rmdir(n->tmp);
    free(n->tmp);
    free(n->hq);
    free(n->server_err);
}

/* A site store; enrolled at head office unless enrol is 0. */
static char *new_site(struct net *n, const char *id, int enrol)
{
    char *dir = tu_path(n->tmp, id);
    struct tu_run r = tu_agent(NULL, "init", "--site", id, "--store", dir, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *curve = field_of(r.out, "curve-key"), *sign = field_of(r.out, "sign-key");
    tu_run_free(&r);
    if (enrol) {
        r = server_cmd(n, "enrol", "--id", id, "--role", "site", "--curve-key", curve,
                       "--sign-key", sign);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tu_run_free(&r);
    }
    free(curve);
    free(sign);
    return dir;
}

static void import_rows(struct net *n, const char *site, const char *rows)
{
    char *csv = tu_path(n->tmp, "rows.csv");
    char *argv[] = {getenv("SCSMS_GEN"), "--out", csv, "--rows", (char *)rows, NULL};
    struct tu_run r = tu_exec(argv, NULL);
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);
    r = tu_agent(NULL, "import", csv, "--store", site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    free(csv);
}

static struct tu_run sync_once(struct net *n, const char *site, const char *key)
{
    return tu_agent(NULL, "run", "--once", "--server", n->endpoint, "--server-key",
                    key ? key : n->server_key, "--timeout", "3", "--store", site, NULL);
}

/* The site's head, read from its own store and from head office's. */
static void heads_equal(struct net *n, const char *site, const char *id, uint64_t want)
{
    store_t *a = NULL, *h = NULL;
    uint64_t sa, sh;
    uint8_t ha[CRYPTO_HASH_LEN], hh[CRYPTO_HASH_LEN];
    ck_assert_int_eq(store_open(site, NULL, &a), 0);
    ck_assert_int_eq(store_open(n->hq, NULL, &h), 0);
    ck_assert_int_eq(sync_head(a, id, &sa, ha), 0);
    ck_assert_int_eq(sync_head(h, id, &sh, hh), 0);
    ck_assert_msg(sa == want && sh == want, "%s: site %llu, head office %llu, want %llu", id,
                  (unsigned long long)sa, (unsigned long long)sh, (unsigned long long)want);
    ck_assert_int_eq(memcmp(ha, hh, CRYPTO_HASH_LEN), 0);
    store_close(&a);
    store_close(&h);
}

/* The site's head as head office holds it. */
static uint64_t hq_head(struct net *n, const char *id)
{
    store_t *h = NULL;
    uint64_t seq;
    uint8_t hh[CRYPTO_HASH_LEN];
    ck_assert_int_eq(store_open(n->hq, NULL, &h), 0);
    ck_assert_int_eq(sync_head(h, id, &seq, hh), 0);
    store_close(&h);
    return seq;
}

static void verify_dir(const char *dir, uint64_t want_entries)
{
    store_t *s = NULL;
    struct verify_report rep;
    ck_assert_int_eq(store_open(dir, NULL, &s), 0);
    ck_assert_msg(verify_store(s, &rep) == 0, "%s: %s", dir, scsms_errmsg());
    if (want_entries)
        ck_assert_uint_eq(rep.entries, want_entries);
    store_close(&s);
}

START_TEST(three_sites_reach_the_union)
{
    struct net n = net_new("net3");
    const char *ids[] = {"WH-1", "WH-2", "WH-3"};
    char *site[3];
    for (int i = 0; i < 3; i++) {
        site[i] = new_site(&n, ids[i], 1);
        import_rows(&n, site[i], "10000");
    }
    struct tu_run r = tu_agent(NULL, "add", "policy", "--json",
                               "{\"title\":\"Security policy\",\"statement\":\"protect\"}",
                               "--store", n.hq, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    for (int i = 0; i < 3; i++) {
        r = sync_once(&n, site[i], NULL);
        ck_assert_msg(r.status == 0, "%s: %s", ids[i], r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "10000 entries sent, 1 head-office entries received"));
        tu_run_free(&r);
        heads_equal(&n, site[i], ids[i], 10000);
        /* head office's policy is at the site, verified under its key */
        verify_dir(site[i], 10001);
    }
    verify_dir(n.hq, 30001); /* exactly the union, and head office's own */
    /* a second round sends and receives nothing */
    r = sync_once(&n, site[0], NULL);
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
    r = sync_once(&n, site[1], NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tu_agent(NULL, "list", "--type", "policy", "--format", "csv", "--store", site[1], NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "HQ-POL-000001,policy,3,obsolete,"));
    ck_assert_ptr_nonnull(strstr(r.out, ",policy,1,current,"));
    tu_run_free(&r);
    for (int i = 0; i < 3; i++)
        free(site[i]);
    net_free(&n);
}
END_TEST

START_TEST(refusals_over_the_wire)
{
    struct net n = net_new("netbad");
    char *good = new_site(&n, "WH-1", 1), *stranger = new_site(&n, "WH-X", 0);
    import_rows(&n, good, "50");
    import_rows(&n, stranger, "50");
    /* the wrong server key: the handshake cannot complete, nothing is sent */
    char *other = new_site(&n, "WH-O", 0);
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    ck_assert_int_eq(identity_curve_load(other, pub, sec), 0);
    struct tu_run r = sync_once(&n, good, pub);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "no answer from"));
    tu_run_free(&r);
    ck_assert_uint_eq(hq_head(&n, "WH-1"), 0);
    /* a key nobody enrolled */
    r = sync_once(&n, stranger, NULL);
    ck_assert_int_eq(r.status, 1);
    tu_run_free(&r);
    size_t len;
    char *log = tu_read_file(n.server_err, &len);
    ck_assert_ptr_nonnull(strstr(log, "connection refused: unknown key (not enrolled)"));
    free(log);
    /* the good site syncs */
    r = sync_once(&n, good, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    heads_equal(&n, good, "WH-1", 50);
    free(good);
    free(stranger);
    free(other);
    net_free(&n);
}
END_TEST

START_TEST(malformed_message_is_refused)
{
    struct net n = net_new("netmal");
    char *site = new_site(&n, "WH-1", 1);
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    ck_assert_int_eq(identity_curve_load(site, pub, sec), 0);
    void *ctx = zmq_ctx_new(), *d = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, n.server_key, 40);
    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, pub, 40);
    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, sec, 40);
    ck_assert_int_eq(zmq_connect(d, n.endpoint), 0);
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
    zmq_close(d);
    zmq_ctx_term(ctx);
    /* and the server is still there for everyone */
    import_rows(&n, site, "20");
    struct tu_run rr = sync_once(&n, site, NULL);
    ck_assert_msg(rr.status == 0, "%s", rr.err);
    tu_run_free(&rr);
    heads_equal(&n, site, "WH-1", 20);
    free(site);
    net_free(&n);
}
END_TEST

/* A client speaking the protocol itself, with an enrolled site's keys. */
struct raw_client {
    void *ctx, *sock;
    uint64_t id;
};

static struct raw_client raw_connect(struct net *n, const char *site)
{
    struct raw_client c = {zmq_ctx_new(), NULL, 0};
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    int linger = 0;
    ck_assert_int_eq(identity_curve_load(site, pub, sec), 0);
    c.sock = zmq_socket(c.ctx, ZMQ_DEALER);
    zmq_setsockopt(c.sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(c.sock, ZMQ_CURVE_SERVERKEY, n->server_key, 40);
    zmq_setsockopt(c.sock, ZMQ_CURVE_PUBLICKEY, pub, 40);
    zmq_setsockopt(c.sock, ZMQ_CURVE_SECRETKEY, sec, 40);
    ck_assert_int_eq(zmq_connect(c.sock, n->endpoint), 0);
    return c;
}

static void raw_close(struct raw_client *c)
{
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
}

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

/* Upload entries from..to of site's log (signed by site) through c. */
static Scsms__SyncReply *raw_upload(struct raw_client *c, const char *site, const char *owner,
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
    req.request_id = ++c->id;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_UPLOAD;
    req.upload = &up;
    size_t len = scsms__sync_request__get_packed_size(&req);
    uint8_t *buf = malloc(len);
    scsms__sync_request__pack(&req, buf);
    ck_assert_int_eq(zmq_send(c->sock, buf, len, 0), (int)len);
    free(buf);
    free(cp);
    for (size_t i = 0; i < e.n; i++)
        free(e.v[i].data);
    zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 20000), 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_gt(zmq_msg_recv(&m, c->sock, 0), 0);
    Scsms__SyncReply *r = scsms__sync_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(bad_uploads_over_the_wire)
{
    struct net n = net_new("netup");
    char *a = new_site(&n, "WH-1", 1), *b = new_site(&n, "WH-2", 1);
    import_rows(&n, a, "10");
    import_rows(&n, b, "10");
    struct raw_client c = raw_connect(&n, a);
    /* WH-1's connection carrying WH-2's log */
    Scsms__SyncReply *r = raw_upload(&c, b, "WH-2", 1, 5, 0);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    ck_assert_ptr_nonnull(strstr(r->message, "belongs to WH-2, not to WH-1"));
    scsms__sync_reply__free_unpacked(r, NULL);
    ck_assert_uint_eq(hq_head(&n, "WH-2"), 0);
    /* an entry altered in transit */
    r = raw_upload(&c, a, "WH-1", 1, 5, 1);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    scsms__sync_reply__free_unpacked(r, NULL);
    ck_assert_uint_eq(hq_head(&n, "WH-1"), 0);
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
    raw_close(&c);
    verify_dir(n.hq, 5);
    size_t len;
    char *log = tu_read_file(n.server_err, &len);
    ck_assert_ptr_nonnull(strstr(log, "upload from WH-1 refused: entry 1 belongs to WH-2"));
    free(log);
    free(a);
    free(b);
    net_free(&n);
}
END_TEST

START_TEST(revoked_identity_loses_its_live_session)
{
    struct net n = net_new("netrev");
    char *site = new_site(&n, "WH-1", 1);
    import_rows(&n, site, "100");
    char *err = tu_path(n.tmp, "agent.log");
    char *argv[] = {getenv("SCSMS_AGENT"), "run", "--server", n.endpoint, "--server-key",
                    n.server_key, "--store", site, NULL};
    int fd;
    pid_t agent = tu_spawn(argv, &fd, err);
    for (int i = 0; i < 500 && hq_head(&n, "WH-1") < 100; i++) /* its first round */
        usleep(20000);
    heads_equal(&n, site, "WH-1", 100);
    struct tu_run r = server_cmd(&n, "revoke", "--id", "WH-1", NULL, NULL, NULL, NULL, NULL, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    import_rows(&n, site, "5"); /* new evidence for the next round */
    int code = tu_wait(agent, 20000);
    ck_assert_msg(code == 1, "agent still running or exit %d", code);
    close(fd);
    size_t len;
    char *log = tu_read_file(err, &len);
    ck_assert_ptr_nonnull(strstr(log, "'WH-1' has been revoked"));
    free(log);
    ck_assert_uint_eq(hq_head(&n, "WH-1"), 100); /* nothing after the revocation */
    free(err);
    free(site);
    net_free(&n);
}
END_TEST

/* A busy server answers "retry later" and keeps the connection; the sites
 * come back and finish, and head office shows who it heard and when. */
START_TEST(busy_server_says_retry_later)
{
    struct net n = net_new("netbusy");
    stop_server(&n, SIGTERM);
    start_server_with(&n, "1"); /* reads one request at a time: the rest wait or are shed */
    const char *ids[] = {"WH-1", "WH-2", "WH-3"};
    char *site[3];
    pid_t pid[3];
    int out[3];
    for (int i = 0; i < 3; i++) {
        site[i] = new_site(&n, ids[i], 1);
        import_rows(&n, site[i], "5000");
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
        heads_equal(&n, site[i], ids[i], 5000);
    stop_server(&n, SIGTERM); /* flushes what it saw */
    size_t len;
    char *log = tu_read_file(n.server_err, &len);
    ck_assert_ptr_nonnull(strstr(log, "busy: answered retry later"));
    free(log);
    struct tu_run r = server_cmd(&n, "sites", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "LAST SEEN"));
    ck_assert_ptr_nonnull(strstr(r.out, "WH-2                 site     active         5000"));
    ck_assert_ptr_null(strstr(r.out, "never"));
    tu_run_free(&r);
    start_server(&n);
    for (int i = 0; i < 3; i++)
        free(site[i]);
    net_free(&n);
}
END_TEST

/* Head office's alerts: every site's overdue and expiring items, exactly
 * those the generator planted at each site. */
START_TEST(alerts_list_every_sites_due_items)
{
    setenv("SCSMS_NOW", "2026-11-23T09:00:00Z", 1);
    struct net n = net_new("netalert");
    const char *ids[] = {"RTM-PORT", "SIN-DC"};
    char *planted_all = calloc(1, 1 << 16);
    for (int i = 0; i < 2; i++) {
        char *site = new_site(&n, ids[i], 1), *planted = tu_path(n.tmp, ids[i]);
        char pl[4200];
        snprintf(pl, sizeof pl, "%s.planted", planted);
        char *argv[] = {getenv("SCSMS_GEN"), "--store", site, "--planted", pl, NULL};
        struct tu_run r = tu_exec(argv, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tu_run_free(&r);
        r = sync_once(&n, site, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tu_run_free(&r);
        size_t len;
        char *text = tu_read_file(pl, &len);
        strcat(planted_all, text);
        free(text);
        free(planted);
        free(site);
    }
    struct tu_run r = server_cmd(&n, "alerts", "--within", "30", "--format", "json", NULL, NULL,
                                 NULL, NULL);
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
    net_free(&n);
    unsetenv("SCSMS_NOW");
}
END_TEST

START_TEST(offline_site_catches_up)
{
    struct net n = net_new("netoff");
    char *site = new_site(&n, "WH-1", 1);
    stop_server(&n, SIGTERM); /* head office unreachable */
    import_rows(&n, site, "100000");
    struct tu_run r = sync_once(&n, site, NULL);
    ck_assert_int_eq(r.status, 1); /* offline: it says so, and keeps everything */
    ck_assert_ptr_nonnull(strstr(r.err, "no answer from"));
    tu_run_free(&r);
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "last_sync never"));
    ck_assert_ptr_nonnull(strstr(r.out, "acknowledged 0, backlog 100000 entries"));
    tu_run_free(&r);
    start_server(&n);
    r = sync_once(&n, site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "100000 entries sent"));
    tu_run_free(&r);
    heads_equal(&n, site, "WH-1", 100000);
    /* status after a success, and after a round that could not reach it */
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "result ok"));
    ck_assert_ptr_nonnull(strstr(r.out, "acknowledged 100000, backlog 0 entries"));
    tu_run_free(&r);
    stop_server(&n, SIGTERM);
    import_rows(&n, site, "3");
    r = sync_once(&n, site, NULL);
    ck_assert_int_eq(r.status, 1);
    tu_run_free(&r);
    r = tu_agent(NULL, "status", "--store", site, NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "result no answer from"));
    ck_assert_ptr_nonnull(strstr(r.out, "acknowledged 100000, backlog 3 entries"));
    tu_run_free(&r);
    start_server(&n);
    verify_dir(n.hq, 100000);
    free(site);
    net_free(&n);
}
END_TEST

/* Kill the server and the agents with SIGKILL twenty times at random
 * moments while they sync; afterwards both sides hold the same logs:
 * nothing lost, nothing twice. */
START_TEST(survives_twenty_kills)
{
    struct net n = net_new("netkill");
    const char *ids[] = {"WH-1", "WH-2", "WH-3"};
    char *site[3];
    pid_t agent[3] = {0};
    for (int i = 0; i < 3; i++) {
        site[i] = new_site(&n, ids[i], 1);
        import_rows(&n, site[i], "10000");
    }
    srand(12345);
    for (int k = 0; k < 20; k++) {
        if (!n.server)
            start_server(&n);
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
            stop_server(&n, SIGKILL);
        } else {
            kill(agent[victim], SIGKILL);
            ck_assert_int_ge(tu_wait(agent[victim], 20000), 0);
            agent[victim] = 0;
        }
        if (k % 5 == 4) /* new evidence keeps arriving meanwhile */
            import_rows(&n, site[k % 3], "500");
    }
    for (int i = 0; i < 3; i++)
        if (agent[i]) {
            kill(agent[i], SIGKILL);
            tu_wait(agent[i], 20000);
        }
    if (!n.server)
        start_server(&n);
    uint64_t total = 0;
    for (int i = 0; i < 3; i++) {
        struct tu_run r = sync_once(&n, site[i], NULL);
        ck_assert_msg(r.status == 0, "%s: %s", ids[i], r.err);
        tu_run_free(&r);
        store_t *s = NULL;
        uint64_t head;
        uint8_t h[CRYPTO_HASH_LEN];
        ck_assert_int_eq(store_open(site[i], NULL, &s), 0);
        ck_assert_int_eq(sync_head(s, ids[i], &head, h), 0);
        store_close(&s);
        ck_assert_uint_ge(head, 10000);
        heads_equal(&n, site[i], ids[i], head);
        verify_dir(site[i], 0);
        total += head;
    }
    verify_dir(n.hq, total); /* every entry once: the union, no more */
    for (int i = 0; i < 3; i++)
        free(site[i]);
    net_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net");
    TCase *t = tcase_create("loopback");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, three_sites_reach_the_union);
    tcase_add_test(t, refusals_over_the_wire);
    tcase_add_test(t, malformed_message_is_refused);
    tcase_add_test(t, bad_uploads_over_the_wire);
    tcase_add_test(t, revoked_identity_loses_its_live_session);
    tcase_add_test(t, busy_server_says_retry_later);
    tcase_add_test(t, alerts_list_every_sites_due_items);
    tcase_add_test(t, offline_site_catches_up);
    tcase_add_test(t, survives_twenty_kills);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

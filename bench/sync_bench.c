/* sync_bench.c -- scsms-bench-sync: sync throughput through the real
 * processes, beside a raw CURVE stream of the same bytes in the same run.
 *
 *   scsms-bench-sync [--records N] [--agents N] [--per-agent N]
 *
 * 1. backlog sync: a site with N records runs `scsms-agent run --once`
 *    against a real `scsms-server run`; records/s until the last is
 *    durable and verified at head office. Beside it, the same number of
 *    bytes in messages of the same size over a raw CURVE DEALER/ROUTER
 *    pair, one reply per message and as many in flight as the server's
 *    credit, as the protocol has.
 * 2. server ingest: N simulated agents (enrolled identities with their own
 *    signed logs) upload at once over their own CURVE connections.
 * 3. agent idle RSS: a `scsms-agent run` daemon after its first round.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "identity.h"
#include "jsonpb.h"
#include "store.h"
#include "crypto.h"
#include "sync.h"

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "scsms-bench-sync: %s: %s\n", what, scsms_errmsg());
    exit(1);
}

static char base[256];

static char *path(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", base, name);
    return p;
}

static pid_t spawn(char *const argv[], const char *out)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        perror(argv[0]);
        exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static int run_wait(char *const argv[], const char *out)
{
    int st;
    pid_t pid = spawn(argv, out);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *read_file(const char *p)
{
    static char buf[8192];
    FILE *f = fopen(p, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    return buf;
}

static void field(const char *text, const char *name, char *out, size_t len)
{
    const char *p = strstr(text, name);
    if (!p) {
        fprintf(stderr, "scsms-bench-sync: no %s in output\n", name);
        exit(1);
    }
    p += strlen(name) + 1;
    snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
}

/* A site store with n incidents of about 300 bytes, its keys printed. */
static store_t *make_site(const char *dir, const char *id, size_t n, char *curve, char *sign)
{
    store_t *s = NULL;
    struct store_options o = {.map_size = (size_t)1 << 30};
    if (store_create(dir, id, STORE_ROLE_SITE, &o) || store_open(dir, &o, &s))
        die("site store");
    char sec[IDENTITY_Z85_LEN + 1];
    uint8_t pub[CRYPTO_PUB_LEN];
    if (identity_curve_load(dir, curve, sec))
        die("keys");
    store_public_key(s, pub);
    crypto_hex(pub, sizeof pub, sign);
    for (size_t done = 0; done < n;) {
        store_batch_t *b = NULL;
        size_t m = n - done < 10000 ? n - done : 10000;
        Scsms__Record **r = calloc(m, sizeof *r);
        if (store_batch_new(s, &b))
            die("batch");
        for (size_t i = 0; i < m; i++) {
            char json[512];
            struct json_object *j = NULL;
            snprintf(json, sizeof json,
                     "{\"type\":\"incident\",\"kind\":\"near_miss\",\"occurred_at\":"
                     "\"2025-%02zu-%02zuT10:00:00Z\",\"location\":\"Container yard, gate 3\","
                     "\"activity\":\"Inbound trailer inspection\",\"severity\":2,"
                     "\"immediate_action\":\"Trailer held, seal replaced and logged\","
                     "\"investigation\":\"Seal %zu on the CMR differs from the seal found\"}",
                     1 + (done + i) % 12, 1 + (done + i) % 28, done + i);
            if (jsonpb_parse(json, strlen(json), &j) || jsonpb_to_record(j, NULL, &r[i]) ||
                store_batch_add(b, r[i]))
                die("record");
            json_object_put(j);
        }
        if (store_batch_commit(b))
            die("commit");
        store_batch_destroy(&b);
        for (size_t i = 0; i < m; i++)
            record_free(r[i]);
        free(r);
        done += m;
    }
    return s;
}

/* ------------------------------------------------------------ raw stream */

struct raw_args {
    void *ctx, *router; /* bound here, then handed to the thread */
    size_t messages;
};

static void *raw_server(void *arg)
{
    struct raw_args *a = arg;
    void *r = a->router;
    for (size_t i = 0; i < a->messages; i++) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        zmq_msg_recv(&id, r, 0);
        zmq_msg_recv(&body, r, 0);
        zmq_msg_send(&id, r, ZMQ_SNDMORE);
        zmq_send(r, "ok", 2, 0);
        zmq_msg_close(&body);
    }
    zmq_close(r);
    return NULL;
}

#define RAW_WINDOW 4 /* the credit scsms-server grants */

/* The same bytes in the same messages over a raw CURVE pair, one reply per
 * message, as many in flight as the server's credit: bytes/s as records/s
 * of the same size. */
static double raw_stream(size_t messages, size_t msg_bytes, size_t records)
{
    char spub[41], ssec[41], cpub[41], csec[41];
    zmq_curve_keypair(spub, ssec);
    zmq_curve_keypair(cpub, csec);
    struct raw_args a = {zmq_ctx_new(), NULL, messages};
    char endpoint[128];
    size_t eplen = sizeof endpoint;
    int one = 1;
    a.router = zmq_socket(a.ctx, ZMQ_ROUTER);
    zmq_setsockopt(a.router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(a.router, ZMQ_CURVE_SECRETKEY, ssec, 40);
    if (zmq_bind(a.router, "tcp://127.0.0.1:*") != 0)
        die("raw bind");
    zmq_getsockopt(a.router, ZMQ_LAST_ENDPOINT, endpoint, &eplen);
    pthread_t t;
    pthread_create(&t, NULL, raw_server, &a);
    void *d = zmq_socket(a.ctx, ZMQ_DEALER);
    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, spub, 40);
    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, cpub, 40);
    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, csec, 40);
    zmq_connect(d, endpoint);
    char *buf = malloc(msg_bytes), ack[8];
    memset(buf, 'x', msg_bytes);
    zmq_send(d, buf, 16, 0); /* the handshake, outside the timing */
    zmq_recv(d, ack, sizeof ack, 0);
    /* the same flow control as the protocol: up to RAW_WINDOW messages in
     * flight, each answered */
    double t0 = now_s();
    size_t sent = 1, acked = 1;
    while (acked < messages) {
        while (sent < messages && sent - acked < RAW_WINDOW) {
            zmq_send(d, buf, msg_bytes, 0);
            sent++;
        }
        zmq_recv(d, ack, sizeof ack, 0);
        acked++;
    }
    double secs = now_s() - t0;
    pthread_join(t, NULL);
    free(buf);
    zmq_close(d);
    zmq_ctx_term(a.ctx);
    return (double)records * (double)(messages - 1) / (double)messages / secs;
}

/* ------------------------------------------------------------ many agents */

struct sim {
    store_t *s;
    void *sock;
    uint64_t next, head;
    int busy;
};

static void sim_send(struct sim *a, size_t batch)
{
    struct sync_batch u = {0};
    if (sync_batch_read(a->s, a->next, batch, &u))
        die("read log");
    Scsms__Upload up = SCSMS__UPLOAD__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    up.entries = u.v;
    up.n_entries = u.n;
    up.checkpoint.data = u.cp;
    up.checkpoint.len = u.cp_len;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_UPLOAD;
    req.upload = &up;
    req.request_id = a->next;
    size_t len = scsms__sync_request__get_packed_size(&req);
    uint8_t *buf = malloc(len);
    scsms__sync_request__pack(&req, buf);
    zmq_send(a->sock, buf, len, 0);
    free(buf);
    sync_batch_free(&u);
    a->busy = 1;
}

/* The figure after `key` in /proc/PID/FILE, in kB; -1 if absent. */
static long proc_kb(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    long kb = -1;
    size_t kl = strlen(key);
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0)
            kb = strtol(line + kl, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t records = 100000, agents = 200, per_agent = 500;
    static const struct option opts[] = {{"records", required_argument, NULL, 'n'},
                                         {"agents", required_argument, NULL, 'a'},
                                         {"per-agent", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'n')
            records = strtoul(optarg, NULL, 10);
        else if (opt == 'a')
            agents = strtoul(optarg, NULL, 10);
        else if (opt == 'p')
            per_agent = strtoul(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: scsms-bench-sync [--records N] [--agents N] [--per-agent N]\n");
            return 2;
        }
    }
    snprintf(base, sizeof base, "/tmp/scsms-bench-sync-XXXXXX");
    if (!mkdtemp(base))
        return 1;
    char out[8192], hq_key[64], curve[64], sign[80];
    char *init[] = {SCSMS_SERVER_BIN, "init", "--store", path("hq"), NULL};
    if (run_wait(init, path("hq.txt")))
        die("server init");
    field(read_file(path("hq.txt")), "curve-key", hq_key, sizeof hq_key);
    store_close(&(store_t *){make_site(path("site"), "BENCH-1", records, curve, sign)});
    char *enrol[] = {SCSMS_SERVER_BIN, "enrol", "--id", "BENCH-1", "--role", "site",
                     "--curve-key", curve, "--sign-key", sign, "--store", path("hq"), NULL};
    if (run_wait(enrol, path("enrol.txt")))
        die("enrol");

    char *srv[] = {SCSMS_SERVER_BIN, "run", "--bind", "tcp://127.0.0.1:*", "--store", path("hq"),
                   NULL};
    pid_t server = spawn(srv, path("server.txt"));
    char ep[128] = "";
    for (int i = 0; i < 200 && !strstr(read_file(path("server.txt")), "listening"); i++)
        usleep(20000);
    field(read_file(path("server.txt")), "listening on", ep, sizeof ep);

    /* 1. backlog sync through the real processes */
    char *agent[] = {SCSMS_AGENT_BIN, "run", "--once", "--server", ep, "--server-key", hq_key,
                     "--store", path("site"), NULL};
    double t0 = now_s();
    if (run_wait(agent, path("agent.txt")))
        die("agent run");
    double sync_rate = (double)records / (now_s() - t0);
    snprintf(out, sizeof out, "%s", read_file(path("agent.txt")));
    /* the same bytes: entries of the site's log in messages of 1000 */
    store_t *s = NULL;
    if (store_open(path("site"), NULL, &s))
        die("open site");
    struct store_stats st;
    if (store_stats(s, &st))
        die("stats");
    store_close(&s);
    size_t entry_bytes = 360; /* a ~300-byte record in its log entry */
    size_t msgs = (records + 999) / 1000;
    double raw = raw_stream(msgs + 1, 1000 * entry_bytes, records);
    printf("scsms-bench-sync: backlog of %zu records (~300 B), batches of 1000\n", records);
    printf("backlog sync         %10.0f records/s   raw CURVE stream %10.0f/s   ratio %.2f\n",
           sync_rate, raw, sync_rate / raw);
    printf("  (until durable and verified at head office: %s)\n", strtok(out, "\n"));

    /* 2. many agents at once */
    void *ctx = zmq_ctx_new();
    struct sim *sims = calloc(agents, sizeof *sims);
    for (size_t i = 0; i < agents; i++) {
        char id[32], dir[64], pub[41], sec[41];
        snprintf(id, sizeof id, "SIM-%03zu", i);
        snprintf(dir, sizeof dir, "sim-%03zu", i);
        sims[i].s = make_site(path(dir), id, per_agent, curve, sign);
        char *en[] = {SCSMS_SERVER_BIN, "enrol", "--id", id, "--role", "site", "--curve-key",
                      curve, "--sign-key", sign, "--store", path("hq"), NULL};
        if (run_wait(en, path("enrol.txt")))
            die("enrol sim");
        if (identity_curve_load(path(dir), pub, sec))
            die("sim keys");
        sims[i].sock = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(sims[i].sock, ZMQ_CURVE_SERVERKEY, hq_key, 40);
        zmq_setsockopt(sims[i].sock, ZMQ_CURVE_PUBLICKEY, pub, 40);
        zmq_setsockopt(sims[i].sock, ZMQ_CURVE_SECRETKEY, sec, 40);
        zmq_connect(sims[i].sock, ep);
        sims[i].next = 1;
        sims[i].head = per_agent;
    }
    zmq_pollitem_t *items = calloc(agents, sizeof *items);
    size_t done = 0, batch = 100;
    t0 = now_s();
    for (size_t i = 0; i < agents; i++)
        sim_send(&sims[i], batch);
    while (done < agents) {
        for (size_t i = 0; i < agents; i++)
            items[i] = (zmq_pollitem_t){sims[i].sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, (int)agents, 30000) <= 0)
            die("simulated agents: no reply");
        for (size_t i = 0; i < agents; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            char buf[4096];
            int got = zmq_recv(sims[i].sock, buf, sizeof buf, 0);
            Scsms__SyncReply *r = got > 0 ? scsms__sync_reply__unpack(NULL, (size_t)got,
                                                                     (uint8_t *)buf) : NULL;
            if (!r || r->code == SCSMS__SYNC_REPLY__CODE__REFUSED)
                die("simulated upload refused");
            if (r->code == SCSMS__SYNC_REPLY__CODE__OK || r->code == SCSMS__SYNC_REPLY__CODE__GAP)
                sims[i].next = r->head_seq + 1;
            scsms__sync_reply__free_unpacked(r, NULL);
            if (sims[i].next > sims[i].head)
                done++;
            else
                sim_send(&sims[i], batch);
        }
    }
    double ingest = (double)(agents * per_agent) / (now_s() - t0);
    printf("server ingest        %10.0f records/s   (%zu agents at once, %zu records each, "
           "batches of %zu)\n", ingest, agents, per_agent, batch);
    for (size_t i = 0; i < agents; i++) {
        zmq_close(sims[i].sock);
        store_close(&sims[i].s);
    }
    zmq_ctx_term(ctx);
    free(items);
    free(sims);

    /* 3. an idle agent daemon's memory */
    char *daemon[] = {SCSMS_AGENT_BIN, "run", "--server", ep, "--server-key", hq_key, "--store",
                      path("site"), NULL};
    pid_t d = spawn(daemon, path("daemon.txt"));
    sleep(3);
    /* The daemon runs a round every 2 s and trims what it does not use
     * between them (mem_trim_idle): sampled every 50 ms over three rounds,
     * the median is the idle figure and the largest sample what a round
     * with nothing to send maps in again */
    enum { SAMPLES = 120 };
    long rss[SAMPLES], anon = -1, file = -1, pss = -1;
    for (int i = 0; i < SAMPLES; i++) {
        rss[i] = proc_kb(d, "status", "VmRSS:");
        usleep(50000);
    }
    anon = proc_kb(d, "status", "RssAnon:");
    file = proc_kb(d, "status", "RssFile:");
    /* PSS splits each shared page among the processes that map it: what
     * the agent adds to a host that already runs anything using libc or
     * libcrypto */
    pss = proc_kb(d, "smaps_rollup", "Pss:");
    qsort(rss, SAMPLES, sizeof rss[0], cmp_long);
    printf("agent idle RSS       %10.1f MB         (scsms-agent run between rounds, median of %d "
           "samples over 6 s; largest %.1f MB; last %.1f MB private, %.1f MB shared libraries "
           "and files; PSS %.1f MB)\n",
           (double)rss[SAMPLES / 2] / 1024.0, SAMPLES, (double)rss[SAMPLES - 1] / 1024.0,
           (double)anon / 1024.0, (double)file / 1024.0, (double)pss / 1024.0);
    kill(d, SIGTERM);
    waitpid(d, NULL, 0);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : 1;
}

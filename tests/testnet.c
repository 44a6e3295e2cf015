/* testnet.c -- see testnet.h. */
#include "testnet.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "store.h"
#include "sync.h"
#include "verify.h"

char *tn_field_of(const char *out, const char *name)
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

struct tu_run tn_server(struct tn_net *n, const char *arg, ...)
{
    char *argv[24];
    int k = 0;
    va_list ap;
    argv[k++] = getenv("SCSMS_SERVER");
    va_start(ap, arg);
    for (const char *a = arg; a && k < 20; a = va_arg(ap, const char *))
        argv[k++] = (char *)a;
    va_end(ap);
    argv[k++] = "--store";
    argv[k++] = n->hq;
    argv[k] = NULL;
    return tu_exec(argv, NULL);
}

void tn_start_server(struct tn_net *n, const char *queue)
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

/* Stop the server; asked with SIGTERM it must end cleanly (exit 0: under
 * the sanitizers that also means no leak); SIGKILL is a crash on purpose. */
void tn_stop_server(struct tn_net *n, int sig)
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

/* Whether every thread of pid is stopped ('T' in /proc/PID/task/TID/stat,
 * the state after the command name's closing parenthesis). */
static int all_threads_stopped(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int stopped = 1, seen = 0;
    struct dirent *e;
    while (stopped && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char stat[400], buf[512];
        snprintf(stat, sizeof stat, "%s/%s/stat", path, e->d_name);
        FILE *f = fopen(stat, "r");
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[len] = '\0';
        const char *paren = strrchr(buf, ')');
        stopped = paren && paren[1] == ' ' && paren[2] == 'T';
        seen++;
    }
    closedir(d);
    return stopped && seen > 0;
}

void tn_freeze_server(struct tn_net *n)
{
    ck_assert_int_eq(kill(n->server, SIGSTOP), 0);
    int i = 0;
    while (!all_threads_stopped(n->server) && i++ < 1000)
        usleep(5000);
    ck_assert_msg(all_threads_stopped(n->server), "server %d did not stop", (int)n->server);
}

struct tn_net tn_new(const char *tag)
{
    return tn_new_hq(tag, "HQ");
}

struct tn_net tn_new_hq(const char *tag, const char *hq_id)
{
    struct tn_net n = {0};
    n.tmp = tu_tmpdir(tag);
    n.hq = tu_path(n.tmp, "hq");
    n.server_err = tu_path(n.tmp, "server.log");
    snprintf(n.endpoint, sizeof n.endpoint, "tcp://127.0.0.1:%d", free_port());
    struct tu_run r = tn_server(&n, "init", "--id", hq_id, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *key = tn_field_of(r.out, "curve-key");
    snprintf(n.server_key, sizeof n.server_key, "%s", key);
    free(key);
    tu_run_free(&r);
    tn_start_server(&n, "256");
    return n;
}

/* Overwrite the file name under to/keys with the one under from/keys
 * (the file keeps its mode). */
static void copy_key(const char *from, const char *to, const char *name)
{
    char src[4096], dst[4096];
    size_t len;
    snprintf(src, sizeof src, "%s/keys/%s", from, name);
    snprintf(dst, sizeof dst, "%s/keys/%s", to, name);
    char *text = tu_read_file(src, &len);
    FILE *f = fopen(dst, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    free(text);
}

void tn_take_curve_keys(struct tn_net *n, const struct tn_net *from)
{
    tn_stop_server(n, SIGTERM);
    copy_key(from->hq, n->hq, "curve.key");
    copy_key(from->hq, n->hq, "curve.pub");
    memcpy(n->server_key, from->server_key, sizeof n->server_key);
    tn_start_server(n, "256");
}

void tn_move_server(struct tn_net *n)
{
    tn_stop_server(n, SIGTERM);
    snprintf(n->endpoint, sizeof n->endpoint, "tcp://127.0.0.1:%d", free_port());
    tn_start_server(n, "256");
}

void tn_free(struct tn_net *n)
{
    tn_stop_server(n, SIGTERM);
    tu_rmdir(n->tmp);
    free(n->tmp);
    free(n->hq);
    free(n->server_err);
}

/* A site store; enrolled at head office unless enrol is 0. */
char *tn_site(struct tn_net *n, const char *id, int enrol)
{
    return tn_identity(n, id, "site", enrol ? "site" : NULL);
}

char *tn_identity(struct tn_net *n, const char *id, const char *role, const char *enrol_as)
{
    char *dir = tu_path(n->tmp, id);
    struct tu_run r = tu_agent(NULL, "init", "--site", id, "--role", role, "--store", dir, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *curve = tn_field_of(r.out, "curve-key"), *sign = tn_field_of(r.out, "sign-key");
    tu_run_free(&r);
    if (enrol_as) {
        r = tn_server(n, "enrol", "--id", id, "--role", enrol_as, "--curve-key", curve,
                      "--sign-key", sign, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tu_run_free(&r);
    }
    free(curve);
    free(sign);
    return dir;
}

void tn_import_rows(struct tn_net *n, const char *site, const char *rows)
{
    char *csv = tu_gen_rows(n->tmp, "rows.csv", rows);
    struct tu_run r = tu_agent(NULL, "import", csv, "--store", site, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    free(csv);
}

struct tu_run tn_sync(struct tn_net *n, const char *site, const char *key)
{
    return tu_agent(NULL, "run", "--once", "--server", n->endpoint, "--server-key",
                    key ? key : n->server_key, "--timeout", "3", "--store", site, NULL);
}

/* The site's head, read from its own store and from head office's. */
void tn_heads_equal(struct tn_net *n, const char *site, const char *id, uint64_t want)
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
uint64_t tn_hq_head(struct tn_net *n, const char *id)
{
    store_t *h = NULL;
    uint64_t seq;
    uint8_t hh[CRYPTO_HASH_LEN];
    ck_assert_int_eq(store_open(n->hq, NULL, &h), 0);
    ck_assert_int_eq(sync_head(h, id, &seq, hh), 0);
    store_close(&h);
    return seq;
}

void tn_verify_dir(const char *dir, uint64_t want_entries)
{
    store_t *s = NULL;
    struct verify_report rep;
    ck_assert_int_eq(store_open(dir, NULL, &s), 0);
    ck_assert_msg(verify_store(s, &rep) == 0, "%s: %s", dir, scsms_errmsg());
    if (want_entries)
        ck_assert_uint_eq(rep.entries, want_entries);
    store_close(&s);
}


struct tn_raw tn_raw_connect(struct tn_net *n, const char *site)
{
    struct tn_raw c = {zmq_ctx_new(), NULL, 0};
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

void tn_raw_close(struct tn_raw *c)
{
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
}


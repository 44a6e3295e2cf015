/* testutil.c -- see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "identity.h"
#include "jsonpb.h"
#include "store.h"
#include "sync.h"

char *tu_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    ck_assert_ptr_nonnull(p);
    snprintf(p, 4096, "%s/scsms-test-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    ck_assert_ptr_nonnull(mkdtemp(p));
    return p;
}

static void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", path);
        if (system(cmd) != 0)
            fprintf(stderr, "testutil: could not remove %s\n", path);
    } else {
        unlink(path);
    }
}

void tu_rmdir(const char *path)
{
    if (path && !getenv("SCSMS_KEEP_TEST_DIRS"))
        rm_tree(path);
}

char *tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    *buf = realloc(*buf, *len + n + 1);
    ck_assert_ptr_nonnull(*buf);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
}

struct tu_run tu_exec(char *const argv[], const char *in_text)
{
    struct tu_run r = {0};
    int out[2], err[2], in[2];
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    ck_assert_int_eq(pipe(in), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (in_text) {
        size_t left = strlen(in_text);
        const char *p = in_text;
        while (left) {
            ssize_t w = write(in[1], p, left);
            if (w <= 0)
                break;
            p += w;
            left -= (size_t)w;
        }
    }
    close(in[1]);
    size_t olen = 0, elen = 0;
    append(&r.out, &olen, "", 0);
    append(&r.err, &elen, "", 0);
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds) {
        char buf[65536];
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                append(&r.out, &olen, buf, (size_t)n);
            } else {
                append(&r.err, &elen, buf, (size_t)n);
            }
        }
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

struct tu_run tu_agent(const char *in_text, const char *arg, ...)
{
    char *argv[64];
    int n = 0;
    const char *agent = getenv("SCSMS_AGENT");
    ck_assert_msg(agent && *agent, "SCSMS_AGENT must name the scsms-agent binary");
    argv[n++] = (char *)agent;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 63; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return tu_exec(argv, in_text);
}

char *tu_gen_rows(const char *dir, const char *name, const char *rows)
{
    char *path = tu_path(dir, name);
    char *argv[] = {getenv("SCSMS_GEN"), "--out", path, "--rows", (char *)rows, NULL};
    struct tu_run r = tu_exec(argv, NULL);
    ck_assert_msg(r.status == 0, "scsms-gen: %s", r.err);
    tu_run_free(&r);
    return path;
}

void tu_run_free(struct tu_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int tu_lines(const char *s)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        if (*p == '\n')
            n++;
    if (*s && s[strlen(s) - 1] != '\n')
        n++;
    return n;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        append(&buf, &n, chunk, got);
    fclose(f);
    if (!buf)
        append(&buf, &n, "", 0);
    if (len)
        *len = n;
    return buf;
}

int tu_edit_data_file(const char *dir, const char *marker, size_t at, char c)
{
    char *data = tu_path(dir, "data.mdb");
    size_t len, ml = strlen(marker);
    int hits = 0;
    char *bytes = tu_read_file(data, &len);
    ck_assert_ptr_nonnull(bytes);
    int fd = open(data, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    for (size_t i = 0; i + ml <= len; i++)
        if (memcmp(bytes + i, marker, ml) == 0) {
            ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)(i + at)), 1);
            hits++;
        }
    close(fd);
    free(bytes);
    free(data);
    return hits;
}

pid_t tu_spawn(char *const argv[], int *out_fd, const char *err_path)
{
    int out[2];
    ck_assert_int_eq(pipe(out), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int err = err_path ? open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600) : null;
        dup2(null, 0);
        dup2(out[1], 1);
        dup2(err >= 0 ? err : null, 2);
        close(out[0]);
        close(out[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    *out_fd = out[0];
    return pid;
}

int tu_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < len) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            return 0;
        char c;
        if (read(fd, &c, 1) != 1)
            return 0;
        if (c == '\n')
            break;
        buf[n++] = c;
    }
    buf[n] = 0;
    return 1;
}

int tu_wait(pid_t pid, int timeout_ms)
{
    int st;
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    return -1;
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ------------------------------------------------------------ stores */

struct store *tu_store_new(const char *dir, const char *owner, int role)
{
    store_t *s = NULL;
    ck_assert_msg(store_create(dir, owner, (enum store_role)role, NULL) == 0, "%s", scsms_errmsg());
    ck_assert_msg(store_open(dir, NULL, &s) == 0, "%s", scsms_errmsg());
    return s;
}

void tu_enrol(struct store *hq, struct store *s, const char *dir, int role)
{
    ck_assert_msg(identity_enrol_store(hq, s, dir, role) == 0, "%s", scsms_errmsg());
}

Scsms__Record *tu_record(const char *json)
{
    struct json_object *obj = NULL;
    Scsms__Record *rec = NULL;
    ck_assert_msg(jsonpb_parse(json, strlen(json), &obj) == 0, "%s: %s", json, scsms_errmsg());
    ck_assert_msg(jsonpb_to_record(obj, NULL, &rec) == 0, "%s: %s", json, scsms_errmsg());
    json_object_put(obj);
    return rec;
}

void tu_put(struct store *s, const char *json, char *id_out)
{
    Scsms__Record *rec = tu_record(json);
    ck_assert_msg(store_put(s, rec, id_out) == 0, "%s: %s", json, scsms_errmsg());
    record_free(rec);
}

void tu_ship(struct store *s, struct store *hq)
{
    uint64_t have, head;
    uint8_t hash[CRYPTO_HASH_LEN];
    struct sync_batch b = {0};
    struct sync_result res;
    ck_assert_int_eq(sync_head(hq, store_owner(s), &have, hash), 0);
    ck_assert_int_eq(sync_head(s, store_owner(s), &head, hash), 0);
    if (head == have)
        return;
    ck_assert_msg(sync_batch_read(s, have + 1, (size_t)(head - have), &b) == 0, "%s",
                  scsms_errmsg());
    ck_assert_msg(sync_ingest(hq, store_owner(s), b.v, b.n, b.cp, b.cp_len, NULL, &res) == 0, "%s",
                  scsms_errmsg());
    ck_assert_uint_eq(res.applied, head - have);
    sync_batch_free(&b);
}

void tu_held_declaration(struct store *hq, const char *dir, const char *partner, char *dos,
                         char *sha)
{
    char *pdir = tu_path(dir, partner), json[512];
    uint8_t *bytes = NULL, hash[CRYPTO_HASH_LEN];
    size_t len;
    struct store *p = NULL;
    Scsms__Identity *known = NULL;
    if (store_open(pdir, NULL, &p) != 0)
        p = tu_store_new(pdir, partner, STORE_ROLE_PARTNER);
    if (store_identity_get(hq, partner, &known) == 0)
        scsms__identity__free_unpacked(known, NULL);
    else
        tu_enrol(hq, p, pdir, SCSMS__IDENTITY__ROLE__PARTNER);
    snprintf(json, sizeof json, "{\"type\":\"declaration\",\"partner_id\":\"%s\",\"coverage\":"
             "\"road haulage EU\",\"measures\":[\"sealed trailers\"],\"valid_from_date\":"
             "\"2026-01-01\",\"valid_to_date\":\"2027-01-01\"}", partner);
    tu_put(p, json, dos);
    tu_ship(p, hq);
    ck_assert_int_eq(store_get_bytes(hq, dos, 1, &bytes, &len), 0);
    crypto_sha256(bytes, len, hash);
    crypto_hex(hash, sizeof hash, sha);
    free(bytes);
    store_close(&p);
    free(pdir);
}

struct log_copy {
    ProtobufCBinaryData **e;
    size_t *n;
};

static int copy_entry(const uint8_t *bytes, size_t len, uint64_t seq, void *ctx)
{
    struct log_copy *c = ctx;
    (void)seq;
    ProtobufCBinaryData *e = realloc(*c->e, (*c->n + 1) * sizeof *e);
    ck_assert_ptr_nonnull(e);
    *c->e = e;
    e[*c->n].data = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(e[*c->n].data);
    memcpy(e[*c->n].data, bytes, len);
    e[*c->n].len = len;
    (*c->n)++;
    return 0;
}

size_t tu_log_read(struct store *s, const char *owner, uint64_t from, size_t max,
                   ProtobufCBinaryData **e, size_t *n)
{
    struct log_copy c = {e, n};
    size_t before = *n;
    ck_assert_msg(sync_read_log(s, owner, from, max, copy_entry, &c) == 0, "%s",
                  scsms_errmsg());
    return *n - before;
}

void tu_log_copy(struct store *s, const char *owner, uint64_t from, uint64_t to,
                 ProtobufCBinaryData **e, size_t *n)
{
    ck_assert_uint_eq(tu_log_read(s, owner, from, (size_t)(to - from + 1), e, n), to - from + 1);
}

void tu_log_free(ProtobufCBinaryData *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].data);
    free(e);
}

void tu_heads_equal(struct store *a, struct store *b, const char *owner, uint64_t want)
{
    uint64_t sa, sb;
    uint8_t ha[CRYPTO_HASH_LEN], hb[CRYPTO_HASH_LEN];
    ck_assert_int_eq(sync_head(a, owner, &sa, ha), 0);
    ck_assert_int_eq(sync_head(b, owner, &sb, hb), 0);
    ck_assert_uint_eq(sa, want);
    ck_assert_uint_eq(sb, want);
    ck_assert_int_eq(memcmp(ha, hb, CRYPTO_HASH_LEN), 0);
}

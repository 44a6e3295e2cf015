/* driver.c -- a stand-in for libFuzzer so every harness runs under ctest
 * (and so under the sanitizers) without clang's fuzzer runtime.
 *
 *     HARNESS [--iterations N] [CORPUS_DIR]
 *
 * Feeds every regular file of CORPUS_DIR (in name order, each cut to 64 KiB)
 * to LLVMFuzzerTestOneInput, then N inputs made from them by seeded,
 * deterministic mutations: bit flips, byte sets, inserted, deleted and
 * duplicated ranges, and splices of two inputs. The same N and corpus
 * always give the same inputs, so a failure reproduces. Each input is an
 * exactly-sized heap copy, so AddressSanitizer sees any read past its end.
 * Exits 0 when every input returned; a harness bug shows as a crash or a
 * sanitizer report. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_CAP (64u * 1024)
#define SEED 0x5c5a5f0221u

struct input {
    uint8_t *data;
    size_t len;
};

struct corpus {
    struct input *v;
    size_t n, cap;
};

static uint64_t rng_state = SEED;

/* xorshift64*: small, fast and the same on every platform. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Uniform-enough value in [0, n); n > 0. */
static size_t below(size_t n)
{
    return (size_t)(rnd() % n);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "fuzz driver: out of memory\n");
        exit(1);
    }
    return p;
}

/* Run one input from an exactly-sized heap copy. */
static void run_one(const uint8_t *data, size_t len)
{
    uint8_t *copy = xmalloc(len);
    if (len)
        memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, struct input *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = xmalloc(INPUT_CAP);
    size_t n = fread(buf, 1, INPUT_CAP, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    out->data = buf;
    out->len = n;
    return 0;
}

/* Load every regular file of dir, in name order so runs are reproducible. */
static int load_corpus(const char *dir, struct corpus *c)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz driver: cannot open corpus '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                fprintf(stderr, "fuzz driver: out of memory\n");
                exit(1);
            }
            names = grown;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) {
            fprintf(stderr, "fuzz driver: out of memory\n");
            exit(1);
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    c->v = xmalloc((n ? n : 1) * sizeof *c->v);
    c->cap = n;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (read_file(path, &c->v[c->n]) == 0) {
                c->n++;
            } else {
                fprintf(stderr, "fuzz driver: cannot read '%s': %s\n", path, strerror(errno));
                rc = -1;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ------------------------------------------------------------ mutations */

/* A buffer of INPUT_CAP bytes holding *len of them. */
static void insert_at(uint8_t *buf, size_t *len, size_t pos, const uint8_t *src, size_t n)
{
    if (n > INPUT_CAP - *len)
        n = INPUT_CAP - *len;
    memmove(buf + pos + n, buf + pos, *len - pos);
    memcpy(buf + pos, src, n);
    *len += n;
}

static const uint8_t interesting[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0xfe, '"',  '{',
                                      '}',  '[',  ']',  ',',  ':',  '0',  '9',  '-',  '\\',
                                      0x0a, 0x12, 0x1a, 0x22, 0x08, 0x10};

static void mutate_once(uint8_t *buf, size_t *len, const struct corpus *c)
{
    uint8_t tmp[64];
    switch (below(7)) {
    case 0: /* flip a bit */
        if (*len)
            buf[below(*len)] ^= (uint8_t)(1u << below(8));
        break;
    case 1: /* set a byte, often to a value parsers care about */
        if (*len)
            buf[below(*len)] = below(2) ? interesting[below(sizeof interesting)] : (uint8_t)rnd();
        break;
    case 2: { /* insert a few random bytes */
        size_t n = 1 + below(8);
        for (size_t i = 0; i < n; i++)
            tmp[i] = below(2) ? interesting[below(sizeof interesting)] : (uint8_t)rnd();
        insert_at(buf, len, below(*len + 1), tmp, n);
        break;
    }
    case 3: /* delete a range */
        if (*len) {
            size_t pos = below(*len), n = 1 + below(*len - pos < 32 ? *len - pos : 32);
            memmove(buf + pos, buf + pos + n, *len - pos - n);
            *len -= n;
        }
        break;
    case 4: /* duplicate a range of itself somewhere */
        if (*len) {
            size_t pos = below(*len), n = 1 + below(*len - pos < 64 ? *len - pos : 64);
            memcpy(tmp, buf + pos, n);
            insert_at(buf, len, below(*len + 1), tmp, n);
        }
        break;
    case 5: /* truncate */
        if (*len)
            *len = below(*len);
        break;
    default: /* splice: keep a prefix, append a suffix of another input */
        if (c->n) {
            const struct input *o = &c->v[below(c->n)];
            size_t keep = below(*len + 1), from = below(o->len + 1);
            *len = keep;
            insert_at(buf, len, keep, o->data + from, o->len - from);
        }
        break;
    }
}

static long parse_count(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    return v;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
    long iterations = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            iterations = parse_count(argv[++i]);
            if (iterations < 0) {
                fprintf(stderr, "%s: --iterations needs a count, got '%s'\n",
                        base_name(argv[0]), argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "usage: %s [--iterations N] [CORPUS_DIR]\n", base_name(argv[0]));
            return 2;
        }
    }

    struct corpus c = {0};
    if (dir && load_corpus(dir, &c) != 0)
        return 1;
    unsigned long runs = 0;
    for (size_t i = 0; i < c.n; i++)
        run_one(c.v[i].data, c.v[i].len);

    /* Each round mutates a fresh corpus input or, one time in four, the
     * previous round's result, so some mutations stack up and reach
     * further; most rounds make one or two changes, since a decoder
     * refuses heavily damaged input early. */
    uint8_t *buf = xmalloc(INPUT_CAP);
    size_t len = 0;
    for (long k = 0; k < iterations; k++, runs++) {
        if (k == 0 || below(4) != 0) {
            len = 0;
            if (c.n) {
                const struct input *in = &c.v[below(c.n)];
                memcpy(buf, in->data, in->len);
                len = in->len;
            }
        }
        for (size_t m = below(2) ? 1 : 1 + below(4); m > 0; m--)
            mutate_once(buf, &len, &c);
        run_one(buf, len);
    }
    free(buf);
    for (size_t i = 0; i < c.n; i++)
        free(c.v[i].data);
    free(c.v);
    printf("%s: %lu runs, %zu seeds\n", base_name(argv[0]), runs, c.n);
    return 0;
}

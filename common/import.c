/* import.c -- JSON and CSV import; see import.h. */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "jsonpb.h"
#include "mem.h"
#include "text.h"

/* The most heap an import sets aside at once (mem_bulk_begin()). */
#define IMPORT_HEAP_MAX ((size_t)1 << 30)

struct import {
    const char *path;
    const struct import_options *o;
    Scsms__Record **recs;
    size_t *lines; /* line each record starts on */
    size_t n, cap;
    struct import_result *res;
    size_t cap_bad;
};

/* Note one bad row; they are sorted by line at the end. */
static void bad_row(struct import *im, size_t line, const char *msg)
{
    struct import_result *r = im->res;
    if (r->n_bad == im->cap_bad) {
        size_t cap = im->cap_bad ? im->cap_bad * 2 : 64;
        struct import_bad *v = realloc(r->bad, cap * sizeof *v);
        if (!v)
            return; /* counted as far as memory allows */
        r->bad = v;
        im->cap_bad = cap;
    }
    r->bad[r->n_bad].line = line;
    r->bad[r->n_bad].message = strdup(msg);
    if (r->bad[r->n_bad].message) /* a row's text quoted may be anything */
        text_printable(r->bad[r->n_bad].message);
    r->n_bad++;
}

static int by_line(const void *a, const void *b)
{
    const struct import_bad *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

static void progress(struct import *im, const char *phase, size_t done, size_t total)
{
    if (im->o->progress)
        im->o->progress(im->o->progress_ctx, phase, done, total);
}

static int keep(struct import *im, Scsms__Record *rec, size_t line)
{
    if (im->n == im->cap) {
        size_t cap = im->cap ? im->cap * 2 : 1024;
        Scsms__Record **r = realloc(im->recs, cap * sizeof *r);
        size_t *l = r ? realloc(im->lines, cap * sizeof *l) : NULL;
        if (r)
            im->recs = r;
        if (!l) {
            record_free(rec);
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        }
        im->lines = l;
        im->cap = cap;
    }
    im->recs[im->n] = rec;
    im->lines[im->n] = line;
    im->n++;
    if (im->n % 4096 == 0)
        progress(im, "reading", im->n, 0);
    return 0;
}

/* One row, as a flat object, to a kept record or a named bad row. */
static int take_row(struct import *im, struct json_object *obj, size_t line)
{
    Scsms__Record *rec = NULL;
    const char *set_by_store;
    if (!im->o->preserve && json_object_is_type(obj, json_type_object) &&
        (set_by_store = jsonpb_store_field(obj))) {
        char msg[160];
        snprintf(msg, sizeof msg, "field '%s' is set by the store: import new records "
                 "without it, or restore exported ones with --preserve", set_by_store);
        bad_row(im, line, msg);
        return 0;
    }
    int rc = jsonpb_to_record(obj, im->o->type, &rec);
    if (rc == SCSMS_ENOMEM)
        return rc;
    if (rc) {
        bad_row(im, line, scsms_errmsg());
        return 0;
    }
    return keep(im, rec, line);
}

static size_t count_lines(const char *from, const char *to)
{
    size_t n = 0;
    while (from < to && (from = memchr(from, '\n', (size_t)(to - from)))) {
        n++;
        from++;
    }
    return n;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Parse the elements of a JSON array from p (the start of an element, on
 * line `line`) until stop (where the second half starts, or NULL for the
 * end of the array, whose closing bracket and end are then checked).
 * stop is a guess (json_guess_split()): when no element starts exactly
 * there, *missed is set and the elements are read on to the end. */
static int read_json_elements(struct import *im, const char *p, const char *end,
                              const char *stop, size_t line, int *missed)
{
    const char *counted = p;
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                    JSON_TOKENER_VALIDATE_UTF8);
    int rc = 0;
    while (rc == 0 && p != stop) {
        if (stop && p > stop) { /* stepped over it: it was inside an element */
            *missed = 1;
            stop = NULL;
        }
        line += count_lines(counted, p);
        counted = p;
        json_tokener_reset(tok);
        struct json_object *obj = json_tokener_parse_ex(tok, p, (int)(end - p));
        /* a JSON null parses to NULL without an error */
        if (json_tokener_get_error(tok) != json_tokener_success) {
            json_object_put(obj);
            rc = scsms_fail(SCSMS_EINVAL, "%s:%zu: bad JSON: %s; nothing was imported", im->path,
                            line + count_lines(p, p + json_tokener_get_parse_end(tok)),
                            json_tokener_get_error(tok) == json_tokener_continue
                                ? "unexpected end of input"
                                : json_tokener_error_desc(json_tokener_get_error(tok)));
            break;
        }
        p += json_tokener_get_parse_end(tok);
        if (obj)
            rc = take_row(im, obj, line);
        else /* a bad row like any value that is not an object */
            bad_row(im, line, "a record must be a JSON object, got null");
        json_object_put(obj);
        p = skip_ws(p, end);
        if (rc == 0 && p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (rc == 0 && stop) { /* the array ended before it */
            *missed = 1;
            stop = NULL;
        }
        if (rc == 0 && (p == end || *p != ']'))
            rc = scsms_fail(SCSMS_EINVAL, "%s:%zu: expected ',' or ']' after a record; nothing "
                            "was imported", im->path, line + count_lines(counted, p));
        if (rc == 0 && skip_ws(p + 1, end) != end)
            rc = scsms_fail(SCSMS_EINVAL, "%s: text after the array; nothing was imported",
                            im->path);
        break;
    }
    json_tokener_free(tok);
    return rc;
}

/* q is a '{' after a ',' that follows a '}' (whitespace apart): it looks
 * like the start of an element that follows another. */
static int looks_like_element(const char *p, const char *q)
{
    const char *b = q;
    while (b > p && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r'))
        b--;
    if (b == p || b[-1] != ',')
        return 0;
    for (b--; b > p && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r');)
        b--;
    return b > p && b[-1] == '}';
}

/* Where the second half of the array's elements likely starts, past the
 * middle of [p, end): the first '{' that begins a line and follows an
 * element (exports write one record a line), else the first that follows
 * an element on the same line; NULL when none. Only a guess, found without
 * reading the first half: the object could be nested (a record's links)
 * or inside a string. The first half's reader confirms it by reaching it
 * exactly between two elements; if it does not, the second half's work is
 * dropped (read_file()). Scanning the first half exactly for the split
 * took a twentieth of a large import, on one thread before the two start. */
static const char *json_guess_split(const char *p, const char *end)
{
    const char *mid = p + (end - p) / 2;
    for (const char *q = mid; q < end && (q = memchr(q, '\n', (size_t)(end - q))); q++) {
        const char *e = skip_ws(q, end);
        if (e < end && *e == '{' && looks_like_element(p, e))
            return e;
        q = e; /* past the blank run: each line break is looked at once */
        if (q >= end)
            break;
    }
    for (const char *q = mid; q < end && (q = memchr(q, '{', (size_t)(end - q))); q++)
        if (looks_like_element(p, q))
            return q;
    return NULL;
}
/* The header: field names, and the column holding the type. */
struct header {
    char **names;
    size_t n;
    size_t type_col; /* (size_t)-1 when none */
};

static void header_free(struct header *h)
{
    for (size_t i = 0; h->names && i < h->n; i++)
        free(h->names[i]);
    free(h->names);
}

static int read_header(struct import *im, csv_reader_t *r, struct header *h)
{
    char **fields;
    size_t n;
    int got = csv_read_row(r, &fields, &n);
    memset(h, 0, sizeof *h);
    h->type_col = (size_t)-1;
    if (got <= 0)
        return got < 0 ? scsms_fail_context(got, "%s", im->path)
                       : scsms_fail(SCSMS_EINVAL, "%s: empty CSV: the first row names the "
                                    "fields", im->path);
    if (!(h->names = calloc(n, sizeof *h->names)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!(h->names[i] = strdup(fields[i])))
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        h->n = i + 1;
        if (!strcmp(fields[i], "type"))
            h->type_col = i;
    }
    if (h->type_col == (size_t)-1 && !im->o->type)
        return scsms_fail(SCSMS_EINVAL, "%s:1: no 'type' column: add one or give --type",
                          im->path);
    return 0;
}

/* The field each column names for type t, looked up again only when a row
 * is of another type than the one before: most files hold one type. */
struct columns {
    const struct record_type *t;
    const ProtobufCFieldDescriptor **f; /* NULL: t has no such field */
};

static int columns_for(struct columns *c, const struct header *h, const struct record_type *t)
{
    if (c->t == t)
        return 0;
    if (!c->f && !(c->f = calloc(h->n, sizeof *c->f)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; i < h->n; i++)
        c->f[i] = i == h->type_col ? NULL : jsonpb_flat_field(t, h->names[i]);
    c->t = t;
    return 0;
}

/* One row's cells (every one but the type) into obj, as jsonpb_set_cell. */
static int set_cells(struct json_object *obj, const struct header *h, const struct columns *c,
                     char **fields)
{
    for (size_t i = 0; i < h->n; i++) {
        if (i == h->type_col || !fields[i][0])
            continue;
        if (!c->f[i])
            return scsms_fail(SCSMS_EINVAL, "unknown field '%.64s' for type %s", h->names[i],
                              c->t->name);
        int rc = jsonpb_set_cell(obj, c->f[i], fields[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Every row the reader gives, as records or named bad rows. */
static int read_csv_rows(struct import *im, csv_reader_t *r, const struct header *h)
{
    char **fields;
    size_t n;
    int got, rc = 0;
    struct columns cols = {0};
    while ((got = csv_read_row(r, &fields, &n)) > 0) {
        size_t line = csv_row_line(r);
        if (n != h->n) {
            char msg[96];
            snprintf(msg, sizeof msg, "%zu fields, but the header names %zu", n, h->n);
            bad_row(im, line, msg);
            continue;
        }
        const char *type = h->type_col != (size_t)-1 && fields[h->type_col][0]
                               ? fields[h->type_col]
                               : im->o->type;
        const struct record_type *t = type ? record_type_by_name(type) : NULL;
        if (!t) {
            char msg[1200];
            snprintf(msg, sizeof msg, "unknown record type '%.64s': use one of %s",
                     type ? type : "", record_type_names());
            bad_row(im, line, msg);
            continue;
        }
        if ((rc = columns_for(&cols, h, t)))
            break;
        struct json_object *obj = json_object_new_object();
        int cell_rc = obj ? set_cells(obj, h, &cols, fields) : SCSMS_ENOMEM;
        if (cell_rc == 0) {
            json_object_object_add(obj, "type", json_object_new_string(type));
            rc = take_row(im, obj, line);
        } else if (cell_rc != SCSMS_ENOMEM) {
            bad_row(im, line, scsms_errmsg());
        } else {
            rc = cell_rc;
        }
        json_object_put(obj);
        if (rc)
            break;
    }
    free(cols.f);
    if (rc)
        return rc;
    return got < 0 ? scsms_fail_context(got, "%s", im->path) : 0;
}

/* Where the second half of the rows starts: just past the first line end
 * outside quotes past the middle, and its line; 0 when none. */
static size_t csv_split(const char *text, size_t len, size_t from, size_t *line)
{
    int quoted = 0;
    size_t l = 1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '"')
            quoted = !quoted;
        else if (text[i] == '\n') {
            l++;
            if (!quoted && i >= from && i + 1 < len) {
                *line = l;
                return i + 1;
            }
        }
    }
    return 0;
}
/* One half of the file, converted on its own thread. */
struct part {
    struct import im;
    struct import_result res;
    const char *text;
    size_t len, start, stop, line; /* bytes [start, stop) from line `line` */
    int csv;
    const struct header *h;
    size_t heap;                   /* what its records will take, about */
    int rc;
    int missed;                    /* JSON: stop was no element's start */
    char msg[512];                 /* rc's message: errors are per thread */
};

static int read_rows(struct part *pt)
{
    if (!pt->csv && !pt->line) /* counted here, on the part's own thread */
        pt->line = 1 + count_lines(pt->text, pt->text + pt->start);
    if (!pt->csv)
        return read_json_elements(&pt->im, pt->text + pt->start, pt->text + pt->len,
                                  pt->stop < pt->len ? pt->text + pt->stop : NULL, pt->line,
                                  &pt->missed);
    FILE *f = fmemopen((void *)(pt->text + pt->start), pt->stop - pt->start, "r");
    csv_reader_t *r = NULL;
    if (!f)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    int rc = csv_reader_new(f, &r);
    if (rc == 0) {
        csv_reader_set_line(r, pt->line);
        rc = read_csv_rows(&pt->im, r, pt->h);
    }
    csv_reader_destroy(&r);
    fclose(f);
    return rc;
}

/* Convert one part's rows. json-c moves the thread to the "C" locale
 * around every parse, by duplocale, newlocale and freelocale, each under
 * glibc's one global locale lock that both readers then contend for.
 * Already on the C locale object, a thread gets it back from each at
 * once: a sixth of json-c's time per row. Numbers read the same: no scsms
 * program leaves the C locale. */
static int read_part(struct part *pt)
{
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t before = c_locale ? uselocale(c_locale) : (locale_t)0;
    int rc = read_rows(pt);
    if (c_locale) {
        uselocale(before);
        freelocale(c_locale);
    }
    return rc;
}

static void *part_main(void *arg)
{
    struct part *pt = arg;
    mem_bulk_thread(pt->heap); /* its records come from this thread's own arena */
    if ((pt->rc = read_part(pt)))
        snprintf(pt->msg, sizeof pt->msg, "%s", scsms_errmsg());
    return NULL;
}

/* Append part b's records and bad rows to im. */
static int merge(struct import *im, struct part *b)
{
    for (size_t i = 0; i < b->im.n; i++) {
        int rc = keep(im, b->im.recs[i], b->im.lines[i]);
        b->im.recs[i] = NULL;
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < b->res.n_bad; i++)
        bad_row(im, b->res.bad[i].line, b->res.bad[i].message ? b->res.bad[i].message : "");
    return 0;
}

static void part_free(struct part *b)
{
    for (size_t i = 0; i < b->im.n; i++)
        record_free(b->im.recs[i]);
    free(b->im.recs);
    free(b->im.lines);
    import_result_free(&b->res);
}

/* The file's bytes, mapped from the page cache rather than read into the
 * heap: a read copied 37 MB of a 100,000-row JSON file into memory the
 * kernel first had to zero, and on this kind of virtual machine zeroing
 * fresh pages was a quarter of an import's time. The byte after the last
 * is 0 (a zero page is mapped behind a file whose size is a whole number
 * of pages), as the readers' bounds checks expect of text. Another process
 * shrinking the file while it is imported would end the import with
 * SIGBUS: files being imported are not being written. */
struct text {
    char *map;       /* the mapping: map_len bytes */
    size_t map_len;
    const char *p;   /* the text itself (past a byte order mark) */
    size_t len;
};

static void text_unmap(struct text *t)
{
    if (t->map)
        munmap(t->map, t->map_len);
    memset(t, 0, sizeof *t);
}

static int text_map(const char *path, struct text *t)
{
    struct stat st;
    memset(t, 0, sizeof *t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return scsms_fail(SCSMS_ENOTFOUND, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return scsms_fail(SCSMS_EINVAL, "'%s' is not a regular file", path);
    }
    size_t size = (size_t)st.st_size, page = (size_t)sysconf(_SC_PAGESIZE);
    size_t map_len = (size / page + 1) * page; /* a byte past the end, at least */
    /* zero pages first, then the file over their start */
    char *map = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return scsms_fail(SCSMS_ENOMEM, "'%s' (%zu bytes) does not fit in memory", path, size);
    }
    if (size && mmap(map, size, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) ==
                    MAP_FAILED) {
        int e = errno;
        munmap(map, map_len);
        close(fd);
        return scsms_fail(SCSMS_EIO, "cannot read '%s': %s", path, strerror(e));
    }
    close(fd);
    t->map = map;
    t->map_len = map_len;
    t->p = map;
    t->len = size;
    /* a UTF-8 byte order mark, as spreadsheets write "CSV UTF-8": not part
     * of the first column's name (nor of JSON text) */
    if (size >= 3 && memcmp(map, "\xEF\xBB\xBF", 3) == 0) {
        t->p += 3;
        t->len -= 3;
    }
    return 0;
}

/* Read the whole file and convert it in two halves, one on a second
 * thread: converting rows is the import's largest cost, and rows are
 * independent of each other. */
static int read_file(struct import *im)
{
    size_t plen = strlen(im->path), len = 0, first_len = 0;
    int csv = plen > 4 && !strcmp(im->path + plen - 4, ".csv");
    if (!csv && !(plen > 5 && !strcmp(im->path + plen - 5, ".json")))
        return scsms_fail(SCSMS_EINVAL, "'%s': name the file .json or .csv", im->path);
    struct text file;
    int rc = text_map(im->path, &file);
    if (rc)
        return rc;
    const char *text = file.p;
    len = file.len;
    struct header h = {0};
    struct part a = {.im = *im, .text = text, .len = len, .csv = csv, .h = &h, .line = 1};
    struct part b = a;
    b.im.res = &b.res;
    b.im.recs = NULL;
    b.im.lines = NULL;
    b.im.n = b.im.cap = b.im.cap_bad = 0;
    if (csv && len == 0) { /* fmemopen takes no empty buffer */
        rc = scsms_fail(SCSMS_EINVAL, "%s: empty CSV: the first row names the fields", im->path);
    } else if (csv) {
        FILE *f = fmemopen((void *)text, len, "r");
        csv_reader_t *r = NULL;
        if (!f || (rc = csv_reader_new(f, &r)) || (rc = read_header(im, r, &h)))
            rc = rc ? rc : scsms_fail(SCSMS_ENOMEM, "out of memory");
        first_len = rc ? 0 : csv_bytes_read(r);
        a.line = 2;
        csv_reader_destroy(&r);
        if (f)
            fclose(f);
    } else {
        const char *p = skip_ws(text, text + len);
        if (p == text + len || *p != '[')
            rc = scsms_fail(SCSMS_EINVAL, "%s:%zu: a JSON import is an array of records: "
                            "[{\"type\":...}, ...]", im->path, 1 + count_lines(text, p));
        else
            p = skip_ws(p + 1, text + len);
        first_len = (size_t)(p - text);
        a.line = 1 + count_lines(text, p);
        if (rc == 0 && p < text + len && *p == ']') {
            if (skip_ws(p + 1, text + len) != text + len)
                rc = scsms_fail(SCSMS_EINVAL, "%s: text after the array", im->path);
            text_unmap(&file);
            return rc;
        }
    }
    if (rc) {
        header_free(&h);
        text_unmap(&file);
        return rc;
    }
    a.start = first_len;
    a.stop = len;
    /* halves only when there is enough to share */
    if (len - first_len > (1 << 20)) {
        size_t at = 0, line = 0;
        if (csv)
            at = csv_split(text, len, first_len + (len - first_len) / 2, &line);
        else {
            const char *q = json_guess_split(text + first_len, text + len);
            at = q ? (size_t)(q - text) : 0; /* its line is counted on its thread */
        }
        if (at > first_len) {
            a.stop = at;
            b.start = at;
            b.stop = len;
            b.line = line;
            b.heap = (len - at) * 3; /* its converted records, about */
        }
    }
    pthread_t t;
    int threaded = a.stop < len && pthread_create(&t, NULL, part_main, &b) == 0;
    a.rc = read_part(&a);
    if (threaded)
        pthread_join(t, NULL);
    else if (a.stop < len && !a.rc && !a.missed && (b.rc = read_part(&b)))
        snprintf(b.msg, sizeof b.msg, "%s", scsms_errmsg());
    *im = a.im; /* the first half's records are the import's */
    /* a missed guess: the first reader read everything, the second's
     * records (and errors) come from text that was no element's start */
    rc = a.rc ? a.rc : a.missed || !b.rc ? 0 : scsms_fail(b.rc, "%s", b.msg);
    if (rc == 0 && a.stop < len && !a.missed)
        rc = merge(im, &b);
    part_free(&b);
    header_free(&h);
    text_unmap(&file);
    return rc;
}

static void on_commit_progress(void *ctx, size_t done, size_t total)
{
    progress(ctx, "writing", done, total);
}

/* What a row takes of the main heap's free top while it is written: its
 * item in the batch and its share of LMDB's dirty pages (646-648 bytes a
 * row, measured for 100,000 incidents from JSON and from CSV). */
#define WRITE_BYTES_PER_ROW 640

/* Commit every record in one transaction (or, when some rows were bad
 * already, only check the others, so every bad row is named). The memory
 * that takes is faulted in meanwhile on a thread of its own: the writer
 * is busy, the helper preparing records ahead of it is not. */
static int write_all(struct import *im, store_t *s)
{
    store_batch_t *b = NULL;
    struct mem_prefault *pf = mem_prefault_start(im->n * WRITE_BYTES_PER_ROW);
    int rc = store_batch_new(s, &b);
    if (rc == 0)
        rc = store_batch_reserve(b, im->n);
    for (size_t i = 0; rc == 0 && i < im->n; i++)
        rc = im->o->preserve ? store_batch_add_preserved(b, im->recs[i])
                             : store_batch_add(b, im->recs[i]);
    if (rc == 0 && im->res->n_bad) {
        rc = store_batch_check(b);
    } else if (rc == 0) {
        store_batch_on_progress(b, on_commit_progress, im);
        rc = store_batch_commit(b);
    }
    size_t n;
    const struct store_batch_error *e = store_batch_errors(b, &n);
    for (size_t i = 0; i < n; i++)
        bad_row(im, im->lines[e[i].index], e[i].message);
    if (rc == 0)
        store_batch_raised(b, &im->res->raised);
    store_batch_destroy(&b);
    mem_prefault_end(&pf);
    /* refused rows are reported as such; anything else is the error */
    return rc && n ? 0 : rc;
}

static void free_records(Scsms__Record **recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        record_free(recs[i]);
    free(recs);
}

/* The records of the last import whose caller was about to exit. */
static struct {
    Scsms__Record **recs;
    size_t n;
} left;

static void leave_records(struct import *im, int exiting)
{
    free_records(left.recs, left.n);
    left.recs = NULL;
    left.n = 0;
    if (exiting) {
        left.recs = im->recs;
        left.n = im->n;
    } else {
        free_records(im->recs, im->n);
    }
    im->recs = NULL;
    im->n = 0;
}

int import_file(store_t *s, const char *path, const struct import_options *o,
                struct import_result *res)
{
    struct import im = {.path = path, .o = o, .res = res};
    struct stat st;
    memset(res, 0, sizeof *res);
    /* the records of a row, and LMDB's pages, take several times its bytes */
    size_t expect = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size * 8 : 0;
    mem_bulk_begin(expect < IMPORT_HEAP_MAX ? expect : IMPORT_HEAP_MAX);
    int rc = read_file(&im);
    if (rc == 0 && im.n > 0)
        rc = write_all(&im, s);
    res->rows = im.n;
    if (res->n_bad)
        qsort(res->bad, res->n_bad, sizeof *res->bad, by_line);
    free(im.lines);
    leave_records(&im, o->exiting);
    if (rc == 0 && res->n_bad)
        rc = scsms_fail(SCSMS_EINVAL, "%zu bad row%s in %s; nothing was imported", res->n_bad,
                        res->n_bad == 1 ? "" : "s", path);
    return rc;
}

void import_result_free(struct import_result *res)
{
    for (size_t i = 0; i < res->n_bad; i++)
        free(res->bad[i].message);
    free(res->bad);
    memset(res, 0, sizeof *res);
}

/* import.c -- JSON and CSV import; see import.h. */
#include "import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "jsonpb.h"

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

/* Fields an export carries that only a restore may write. */
static int store_field(const char *name)
{
    return !strcmp(name, "id") || !strcmp(name, "owner") || !strcmp(name, "version") ||
           !strcmp(name, "created_at") || !strcmp(name, "updated_at") || !strcmp(name, "author");
}

/* One row, as a flat object, to a kept record or a named bad row. */
static int take_row(struct import *im, struct json_object *obj, size_t line)
{
    Scsms__Record *rec = NULL;
    if (!im->o->preserve && json_object_is_type(obj, json_type_object)) {
        json_object_object_foreach(obj, key, val)
        {
            (void)val;
            if (store_field(key)) {
                char msg[160];
                snprintf(msg, sizeof msg, "field '%s' is set by the store: import new records "
                         "without it, or restore exported ones with --preserve", key);
                bad_row(im, line, msg);
                return 0;
            }
        }
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
    for (const char *p = from; p < to; p++)
        n += *p == '\n';
    return n;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A JSON array of flat objects, element by element, so each bad element
 * is named by the line it starts on. */
static int read_json(struct import *im, const char *text, size_t len)
{
    const char *p = skip_ws(text, text + len), *end = text + len, *counted = text;
    size_t line = 1;
    if (p == end || *p != '[')
        return scsms_fail(SCSMS_EINVAL, "%s:%zu: a JSON import is an array of records: "
                          "[{\"type\":...}, ...]", im->path, 1 + count_lines(text, p));
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']')
        return 0;
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                    JSON_TOKENER_VALIDATE_UTF8);
    int rc = 0;
    while (rc == 0) {
        line += count_lines(counted, p);
        counted = p;
        json_tokener_reset(tok);
        struct json_object *obj = json_tokener_parse_ex(tok, p, (int)(end - p));
        if (!obj || json_tokener_get_error(tok) != json_tokener_success) {
            json_object_put(obj);
            rc = scsms_fail(SCSMS_EINVAL, "%s:%zu: bad JSON: %s; nothing was imported", im->path,
                            line + count_lines(p, p + json_tokener_get_parse_end(tok)),
                            json_tokener_get_error(tok) == json_tokener_continue
                                ? "unexpected end of input"
                                : json_tokener_error_desc(json_tokener_get_error(tok)));
            break;
        }
        p += json_tokener_get_parse_end(tok);
        rc = take_row(im, obj, line);
        json_object_put(obj);
        p = skip_ws(p, end);
        if (rc == 0 && p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
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

static int read_csv(struct import *im, FILE *f)
{
    csv_reader_t *r = NULL;
    char **fields, **header = NULL;
    size_t n, n_header = 0, type_col = (size_t)-1;
    int rc = csv_reader_new(f, &r), got;
    if (rc)
        return rc;
    if ((got = csv_read_row(r, &fields, &n)) <= 0) {
        rc = got < 0 ? got : scsms_fail(SCSMS_EINVAL, "%s: empty CSV: the first row names the "
                                                      "fields", im->path);
        goto out;
    }
    header = calloc(n, sizeof *header);
    if (!header) {
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(header[i] = strdup(fields[i]))) {
            rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
            goto out;
        }
        if (!strcmp(fields[i], "type"))
            type_col = i;
    }
    n_header = n;
    if (type_col == (size_t)-1 && !im->o->type) {
        rc = scsms_fail(SCSMS_EINVAL, "%s:1: no 'type' column: add one or give --type", im->path);
        goto out;
    }
    while ((got = csv_read_row(r, &fields, &n)) > 0) {
        size_t line = csv_row_line(r);
        if (n != n_header) {
            char msg[96];
            snprintf(msg, sizeof msg, "%zu fields, but the header names %zu", n, n_header);
            bad_row(im, line, msg);
            continue;
        }
        const char *type = type_col != (size_t)-1 && fields[type_col][0] ? fields[type_col]
                                                                        : im->o->type;
        if (!type || !record_type_by_name(type)) {
            char msg[1200];
            snprintf(msg, sizeof msg, "unknown record type '%.64s': use one of %s",
                     type ? type : "", record_type_names());
            bad_row(im, line, msg);
            continue;
        }
        struct json_object *obj = json_object_new_object();
        int cell_rc = obj ? 0 : SCSMS_ENOMEM;
        for (size_t i = 0; i < n && cell_rc == 0; i++)
            if (i != type_col && fields[i][0])
                cell_rc = jsonpb_set_cell(obj, type, header[i], fields[i]);
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
            goto out;
    }
    if (got < 0)
        rc = scsms_fail_context(got, "%s", im->path);
out:
    for (size_t i = 0; header && i < n_header; i++)
        free(header[i]);
    free(header);
    csv_reader_destroy(&r);
    return rc;
}

static int read_file(struct import *im)
{
    FILE *f = fopen(im->path, "r");
    if (!f)
        return scsms_fail(SCSMS_ENOTFOUND, "cannot open '%s': %s", im->path, strerror(errno));
    size_t len = strlen(im->path);
    int rc;
    if (len > 4 && !strcmp(im->path + len - 4, ".csv")) {
        rc = read_csv(im, f);
    } else if (len > 5 && !strcmp(im->path + len - 5, ".json")) {
        char *text = NULL;
        size_t n = 0, cap = 0, got;
        do {
            if (n == cap) {
                cap = cap ? cap * 2 : 1 << 20;
                char *p = realloc(text, cap);
                if (!p) {
                    free(text);
                    fclose(f);
                    return scsms_fail(SCSMS_ENOMEM, "out of memory");
                }
                text = p;
            }
            got = fread(text + n, 1, cap - n, f);
            n += got;
        } while (got);
        rc = ferror(f) ? scsms_fail(SCSMS_EIO, "cannot read '%s'", im->path) : read_json(im, text, n);
        free(text);
    } else {
        rc = scsms_fail(SCSMS_EINVAL, "'%s': name the file .json or .csv", im->path);
    }
    fclose(f);
    return rc;
}

static void on_commit_progress(void *ctx, size_t done, size_t total)
{
    progress(ctx, "writing", done, total);
}

/* Commit every record in one transaction (or, when some rows were bad
 * already, only check the others, so every bad row is named). */
static int write_all(struct import *im, store_t *s)
{
    store_batch_t *b = NULL;
    int rc = store_batch_new(s, &b);
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
    /* refused rows are reported as such; anything else is the error */
    return rc && n ? 0 : rc;
}

int import_file(store_t *s, const char *path, const struct import_options *o,
                struct import_result *res)
{
    struct import im = {.path = path, .o = o, .res = res};
    memset(res, 0, sizeof *res);
    int rc = read_file(&im);
    if (rc == 0 && im.n > 0)
        rc = write_all(&im, s);
    res->rows = im.n;
    if (res->n_bad)
        qsort(res->bad, res->n_bad, sizeof *res->bad, by_line);
    for (size_t i = 0; i < im.n; i++)
        record_free(im.recs[i]);
    free(im.recs);
    free(im.lines);
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

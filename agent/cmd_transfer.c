/* cmd_transfer.c -- export and import of records as JSON or CSV.
 *
 * Field names are those of proto/scsms.proto, mapped once through the
 * protobuf-c descriptors (jsonpb), so every type travels the same way.
 * Import is all-or-nothing per file: every row is converted and checked,
 * every bad row is named by its line and field, and only a file without
 * one is written, in one transaction.
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "jsonpb.h"

#define EXPORT_USAGE "scsms-agent export [--format json|csv] [--type TYPE] --store DIR"
#define IMPORT_USAGE                                                                      \
    "scsms-agent import FILE.json|FILE.csv [--type TYPE] [--preserve] [--progress] "      \
    "--store DIR"
#define MAX_SHOWN 100 /* bad rows printed; the rest are counted */

enum { OPT_FORMAT = CLI_OPT_FIRST_OWN, OPT_TYPE, OPT_PRESERVE, OPT_PROGRESS };

/* ------------------------------------------------------------ export */

struct export_out {
    int csv;
    const char **cols;
    size_t n_cols;
    size_t n;
};

static int export_one(const Scsms__Record *rec, void *ctx)
{
    struct export_out *o = ctx;
    struct json_object *obj = jsonpb_from_record(rec);
    if (!obj)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (o->csv) {
        for (size_t i = 0; i < o->n_cols; i++)
            csv_write_field(stdout, jsonpb_cell(obj, o->cols[i]), i + 1 == o->n_cols);
    } else {
        printf("%s%s", o->n ? ",\n" : "", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(obj);
    o->n++;
    return 0;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"type", required_argument, NULL, OPT_TYPE},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    const char *format = "json", *type = NULL;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_FORMAT)
            format = optarg;
        else if (opt == OPT_TYPE)
            type = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", EXPORT_USAGE);
            return CLI_OK;
        } else
            return cli_usage(EXPORT_USAGE);
    }
    if (optind != argc)
        return cli_usage(EXPORT_USAGE);
    if (strcmp(format, "json") && strcmp(format, "csv")) {
        fprintf(stderr, "scsms-agent: --format must be json or csv\n");
        return CLI_USAGE;
    }
    if ((rc = cli_common_finish(&c, EXPORT_USAGE)))
        return rc;
    struct export_out o = {.csv = !strcmp(format, "csv")};
    if ((rc = jsonpb_columns(type, &o.cols, &o.n_cols)))
        return cli_error(rc);
    store_t *s = cli_open(&c);
    if (!s) {
        free((void *)o.cols);
        return CLI_FAIL;
    }
    if (o.csv)
        for (size_t i = 0; i < o.n_cols; i++)
            csv_write_field(stdout, o.cols[i], i + 1 == o.n_cols);
    else
        printf("[\n");
    struct store_filter f = {type, NULL};
    rc = store_list(s, &f, export_one, &o);
    if (!o.csv)
        printf("%s]\n", o.n ? "\n" : "");
    store_close(&s);
    free((void *)o.cols);
    if (fflush(stdout) != 0)
        rc = scsms_fail(SCSMS_EIO, "cannot write the export: %s", strerror(errno));
    return rc ? cli_error(rc) : CLI_OK;
}

/* ------------------------------------------------------------ import */

struct bad {
    size_t line;
    char *msg;
};

struct import {
    const char *path, *type;
    int preserve, progress;
    Scsms__Record **recs;
    size_t *lines; /* line each record starts on */
    size_t n, cap;
    struct bad *bad; /* rows refused, in the order found */
    size_t n_bad, cap_bad;
};

/* Note one bad row; they are printed together, in line order. */
static void bad_row(struct import *im, size_t line, const char *msg)
{
    if (im->n_bad == im->cap_bad) {
        size_t cap = im->cap_bad ? im->cap_bad * 2 : 64;
        struct bad *v = realloc(im->bad, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "%s:%zu: %s\n", im->path, line, msg);
            return;
        }
        im->bad = v;
        im->cap_bad = cap;
    }
    im->bad[im->n_bad].line = line;
    im->bad[im->n_bad].msg = strdup(msg);
    im->n_bad++;
}

static int by_line(const void *a, const void *b)
{
    const struct bad *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* "FILE:LINE: message" for each bad row, first lines first. */
static void print_bad(struct import *im)
{
    qsort(im->bad, im->n_bad, sizeof *im->bad, by_line);
    for (size_t i = 0; i < im->n_bad && i < MAX_SHOWN; i++)
        fprintf(stderr, "%s:%zu: %s\n", im->path, im->bad[i].line,
                im->bad[i].msg ? im->bad[i].msg : "out of memory");
    for (size_t i = 0; i < im->n_bad; i++)
        free(im->bad[i].msg);
}

static void show_progress(struct import *im, const char *what, size_t done, size_t total)
{
    if (!im->progress)
        return;
    if (total)
        fprintf(stderr, "\r%s: %zu of %zu records (%zu%%)", what, done, total,
                done * 100 / total);
    else
        fprintf(stderr, "\r%s: %zu rows", what, done);
    if (total && done == total)
        fputc('\n', stderr);
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
        show_progress(im, "reading", im->n, 0);
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
    if (!im->preserve && json_object_is_type(obj, json_type_object)) {
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
    int rc = jsonpb_to_record(obj, im->type, &rec);
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
    if (type_col == (size_t)-1 && !im->type) {
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
                                                                        : im->type;
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
    show_progress(ctx, "writing", done, total);
}

/* Commit every record in one transaction (or, when some rows were bad
 * already, only check the others, so every bad row is named); name every
 * refused row. */
static int write_all(struct import *im, store_t *s, size_t *raised)
{
    store_batch_t *b = NULL;
    int rc = store_batch_new(s, &b);
    for (size_t i = 0; rc == 0 && i < im->n; i++)
        rc = im->preserve ? store_batch_add_preserved(b, im->recs[i])
                          : store_batch_add(b, im->recs[i]);
    if (rc == 0 && im->n_bad) {
        rc = store_batch_check(b);
    } else if (rc == 0) {
        store_batch_on_progress(b, on_commit_progress, im);
        rc = store_batch_commit(b);
    }
    if (rc) {
        size_t n;
        const struct store_batch_error *e = store_batch_errors(b, &n);
        for (size_t i = 0; i < n; i++)
            bad_row(im, im->lines[e[i].index], e[i].message);
        if (n == 0)
            fprintf(stderr, "scsms-agent: %s\n", scsms_errmsg());
    } else {
        store_batch_raised(b, raised);
    }
    store_batch_destroy(&b);
    return rc;
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, OPT_TYPE},
        {"preserve", no_argument, NULL, OPT_PRESERVE},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    struct import im = {.progress = isatty(2)};
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_TYPE)
            im.type = optarg;
        else if (opt == OPT_PRESERVE)
            im.preserve = 1;
        else if (opt == OPT_PROGRESS)
            im.progress = 1;
        else if (opt == 'h') {
            printf("usage: %s\n", IMPORT_USAGE);
            return CLI_OK;
        } else
            return cli_usage(IMPORT_USAGE);
    }
    if (optind != argc - 1)
        return cli_usage(IMPORT_USAGE);
    im.path = argv[optind];
    if ((rc = cli_common_finish(&c, IMPORT_USAGE)))
        return rc;
    if (im.type && !record_type_by_name(im.type))
        return cli_error(scsms_fail(SCSMS_EINVAL, "unknown record type '%.64s': use one of %s",
                                    im.type, record_type_names()));
    store_t *s = cli_open(&c);
    if (!s)
        return CLI_FAIL;
    size_t raised = 0;
    rc = read_file(&im);
    if (rc)
        cli_error(rc);
    else if (im.n > 0)
        write_all(&im, s, &raised);
    if (im.progress && im.n >= 4096 && im.n_bad)
        fputc('\n', stderr);
    print_bad(&im);
    if (rc == 0 && im.n_bad)
        fprintf(stderr, "scsms-agent: %zu bad row%s in %s%s; nothing was imported\n", im.n_bad,
                im.n_bad == 1 ? "" : "s", im.path,
                im.n_bad > MAX_SHOWN ? " (the first 100 shown)" : "");
    else if (rc == 0)
        printf("imported %zu records from %s%s\n", im.n, im.path,
               raised ? " (and records the rules raised)" : "");
    for (size_t i = 0; i < im.n; i++)
        record_free(im.recs[i]);
    free(im.recs);
    free(im.lines);
    free(im.bad);
    store_close(&s);
    return rc || im.n_bad ? CLI_FAIL : CLI_OK;
}

/* csv.c -- RFC 4180 reader and writer; see csv.h. */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

struct csv_reader {
    FILE *f;
    char *buf;            /* the current row's fields, NUL-separated */
    size_t len, cap;
    size_t starts[CSV_MAX_FIELDS];
    char *fields[CSV_MAX_FIELDS];
    size_t line;          /* current physical line */
    size_t row_line;      /* line the last row started on */
    size_t bytes;
};

int csv_reader_new(FILE *f, csv_reader_t **out)
{
    csv_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    r->f = f;
    r->line = 1;
    *out = r;
    return 0;
}

void csv_reader_destroy(csv_reader_t **rp)
{
    if (!rp || !*rp)
        return;
    free((*rp)->buf);
    free(*rp);
    *rp = NULL;
}

static int push(csv_reader_t *r, char c)
{
    if (r->len + 1 >= r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4096;
        /* At most CSV_MAX_ROW bytes of fields and separators (each becomes
         * a NUL, plus one at the end) and the slot kept free above. Doubling
         * from 4096 alone stopped at CSV_MAX_ROW, so rows from CSV_MAX_ROW - 1
         * bytes were refused as longer than CSV_MAX_ROW. */
        if (cap > CSV_MAX_ROW + 2)
            cap = CSV_MAX_ROW + 2;
        if (cap <= r->cap)
            return scsms_fail(SCSMS_EINVAL, "line %zu: row longer than %u bytes", r->row_line,
                              CSV_MAX_ROW);
        char *p = realloc(r->buf, cap);
        if (!p)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        r->buf = p;
        r->cap = cap;
    }
    r->buf[r->len++] = c;
    return 0;
}

/* End the current field: NUL-terminate it and start the next. */
static int end_field(csv_reader_t *r, size_t *nf)
{
    int rc = push(r, 0);
    if (rc)
        return rc;
    /* this separator starts field *nf + 2; at most CSV_MAX_FIELDS - 1, as the
     * message says (*nf + 1 let a row of CSV_MAX_FIELDS fields through) */
    if (*nf + 2 >= CSV_MAX_FIELDS)
        return scsms_fail(SCSMS_EINVAL, "line %zu: more than %d fields", r->row_line,
                          CSV_MAX_FIELDS - 1);
    r->starts[++*nf] = r->len;
    return 0;
}

int csv_read_row(csv_reader_t *r, char ***fields, size_t *n)
{
    enum { START, PLAIN, QUOTED, QUOTE_IN_QUOTED } st = START;
    size_t nf = 0;
    int c, rc, any = 0;
    r->len = 0;
    r->starts[0] = 0;
    r->row_line = r->line;
    while ((c = getc_unlocked(r->f)) != EOF) {
        r->bytes++;
        if (c == 0) /* text cannot hold it: refuse rather than cut the field */
            return scsms_fail(SCSMS_EINVAL, "line %zu: a NUL byte in field %zu", r->line, nf + 1);
        if (st == QUOTED) {
            if (c == '"')
                st = QUOTE_IN_QUOTED;
            else {
                if (c == '\n')
                    r->line++;
                if ((rc = push(r, (char)c)))
                    return rc;
            }
            continue;
        }
        if (st == QUOTE_IN_QUOTED) {
            if (c == '"') { /* "" inside quotes is one quote */
                if ((rc = push(r, '"')))
                    return rc;
                st = QUOTED;
                continue;
            }
            if (c != ',' && c != '\n' && c != '\r')
                return scsms_fail(SCSMS_EINVAL, "line %zu: text after a closing quote in field %zu",
                                  r->line, nf + 1);
            st = PLAIN; /* the field ended; handle the separator below */
        }
        if (c == '\r')
            continue; /* CRLF line ends; a lone CR inside data is dropped */
        if (c == ',') {
            any = 1;
            if ((rc = end_field(r, &nf)))
                return rc;
            st = START;
        } else if (c == '\n') {
            r->line++;
            if (!any && st == START && nf == 0) { /* blank line */
                r->row_line = r->line;
                continue;
            }
            goto row;
        } else if (c == '"') {
            if (st != START)
                return scsms_fail(SCSMS_EINVAL, "line %zu: a quote inside an unquoted field %zu; "
                                  "quote the whole field and double the quote",
                                  r->line, nf + 1);
            st = QUOTED;
            any = 1;
        } else {
            any = 1;
            st = PLAIN;
            if ((rc = push(r, (char)c)))
                return rc;
        }
    }
    if (ferror(r->f))
        return scsms_fail(SCSMS_EIO, "cannot read CSV input");
    if (st == QUOTED)
        return scsms_fail(SCSMS_EINVAL, "line %zu: quoted field %zu is never closed",
                          r->row_line, nf + 1);
    if (!any)
        return 0;
row:
    if ((rc = push(r, 0)))
        return rc;
    for (size_t i = 0; i <= nf; i++)
        r->fields[i] = r->buf + r->starts[i];
    *fields = r->fields;
    *n = nf + 1;
    return 1;
}

void csv_reader_set_line(csv_reader_t *r, size_t line)
{
    r->line = line;
}

size_t csv_row_line(const csv_reader_t *r)
{
    return r->row_line;
}

size_t csv_bytes_read(const csv_reader_t *r)
{
    return r->bytes;
}

void csv_write_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n")) {
        putc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                putc('"', f);
            putc(*s, f);
        }
        putc('"', f);
    } else {
        fputs(s, f);
    }
    putc(last ? '\n' : ',', f);
}

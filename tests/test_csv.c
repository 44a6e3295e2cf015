/* test_csv.c -- Check suite for common/csv.{h,c}: the RFC 4180 reader
 * (fields, the physical line each row starts on, refusals naming the line,
 * the limits, bytes read) and the writer, with a write-then-read round
 * trip. Input comes from fmemopen(), output goes to open_memstream(). */
#include "csv.h"
#include "error.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reader over an in-memory buffer. */
struct src {
    FILE *f;
    csv_reader_t *r;
};

static void src_open_len(struct src *s, const char *buf, size_t len)
{
    s->f = fmemopen((void *)buf, len, "r");
    ck_assert_ptr_nonnull(s->f);
    s->r = NULL;
    ck_assert_int_eq(csv_reader_new(s->f, &s->r), 0);
    ck_assert_ptr_nonnull(s->r);
}

static void src_open(struct src *s, const char *text)
{
    src_open_len(s, text, strlen(text));
}

static void src_close(struct src *s)
{
    csv_reader_destroy(&s->r);
    ck_assert_ptr_null(s->r);
    fclose(s->f);
}

/* The next row must start on `line` and hold exactly the n fields given. */
static void expect_row(struct src *s, size_t line, size_t n, ...)
{
    char **fields = NULL;
    size_t got = 0;
    scsms_errclear();
    int rc = csv_read_row(s->r, &fields, &got);
    ck_assert_msg(rc == 1, "expected a row at line %zu, got rc %d (%s)", line, rc,
                  scsms_errmsg());
    ck_assert_msg(got == n, "row at line %zu: %zu fields, want %zu", line, got, n);
    ck_assert_msg(csv_row_line(s->r) == line, "row starts on line %zu, want %zu",
                  csv_row_line(s->r), line);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        ck_assert_msg(strcmp(fields[i], want) == 0, "line %zu field %zu: '%s', want '%s'", line,
                      i + 1, fields[i], want);
    }
    va_end(ap);
}

/* No more rows, and asking again still says so. */
static void expect_end(struct src *s)
{
    char **fields = NULL;
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        int rc = csv_read_row(s->r, &fields, &n);
        ck_assert_msg(rc == 0, "expected the end, got rc %d (%s)", rc, rc < 0 ? scsms_errmsg() : "a row");
    }
}

/* Reading len bytes of buf gives `good` rows, then SCSMS_EINVAL with a
 * message holding every one of the NULL-terminated substrings. */
static void refuse_len(const char *buf, size_t len, int good, ...)
{
    struct src s;
    char **fields = NULL;
    size_t n = 0;
    int rc;
    src_open_len(&s, buf, len);
    for (int i = 0; i < good; i++) {
        rc = csv_read_row(s.r, &fields, &n);
        ck_assert_msg(rc == 1, "row %d before the refusal: rc %d (%s)", i + 1, rc,
                      scsms_errmsg());
    }
    scsms_errclear();
    rc = csv_read_row(s.r, &fields, &n);
    ck_assert_msg(rc == SCSMS_EINVAL, "row %d: rc %d, want SCSMS_EINVAL", good + 1, rc);
    va_list ap;
    va_start(ap, good);
    for (const char *want; (want = va_arg(ap, const char *)) != NULL;)
        ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'",
                      scsms_errmsg(), want);
    va_end(ap);
    src_close(&s);
}

#define refuse(text, good, ...) refuse_len((text), strlen(text), (good), __VA_ARGS__, NULL)

/* ---------------------------------------------------------------- reader */

START_TEST(plain_rows)
{
    struct src s;
    src_open(&s, "id,kind,location\nINC-1,near_miss,Gate 3\nINC-2,breach,Quay 7\n");
    expect_row(&s, 1, 3, "id", "kind", "location");
    expect_row(&s, 2, 3, "INC-1", "near_miss", "Gate 3");
    expect_row(&s, 3, 3, "INC-2", "breach", "Quay 7");
    expect_end(&s);
    src_close(&s);

    /* one field a row; spaces and tabs are data, not trimmed */
    src_open(&s, "x\n y \n\tz\t\n");
    expect_row(&s, 1, 1, "x");
    expect_row(&s, 2, 1, " y ");
    expect_row(&s, 3, 1, "\tz\t");
    expect_end(&s);
    src_close(&s);
}
END_TEST

START_TEST(empty_input)
{
    struct src s;
    src_open(&s, "");
    expect_end(&s);
    ck_assert_uint_eq(csv_bytes_read(s.r), 0);
    src_close(&s);

    src_open(&s, "\n\r\n\n");
    expect_end(&s);
    ck_assert_uint_eq(csv_bytes_read(s.r), 4);
    src_close(&s);
}
END_TEST

START_TEST(empty_fields)
{
    struct src s;
    src_open(&s, ",,\na,\n,a\na,,b\n,\n");
    expect_row(&s, 1, 3, "", "", "");
    expect_row(&s, 2, 2, "a", ""); /* a trailing comma gives an empty last field */
    expect_row(&s, 3, 2, "", "a");
    expect_row(&s, 4, 3, "a", "", "b");
    expect_row(&s, 5, 2, "", "");
    expect_end(&s);
    src_close(&s);

    /* a trailing comma at the end of input, no newline */
    src_open(&s, "a,b,");
    expect_row(&s, 1, 3, "a", "b", "");
    expect_end(&s);
    src_close(&s);
}
END_TEST

START_TEST(quoted_fields)
{
    struct src s;
    src_open(&s, "\"a,b\",\"say \"\"hi\"\"\",plain\n"
                 "\"\",\"\"\"\",\"\"\"\"\"\"\n"
                 "\"\"\n"
                 "\"x\",\"y\"\n");
    expect_row(&s, 1, 3, "a,b", "say \"hi\"", "plain");
    expect_row(&s, 2, 3, "", "\"", "\"\"");
    expect_row(&s, 3, 1, ""); /* a quoted empty field is a row, not a blank line */
    expect_row(&s, 4, 2, "x", "y");
    expect_end(&s);
    src_close(&s);
}
END_TEST

START_TEST(embedded_newlines)
{
    struct src s;
    src_open(&s, "\"line1\nline2\",b\n"          /* lines 1-2 */
                 "next,\"one\ntwo\nthree\"\n"    /* lines 3-5 */
                 "\"\n\",\"\n\n\"\n"             /* lines 6-9 */
                 "after\n");                     /* line 10 */
    expect_row(&s, 1, 2, "line1\nline2", "b");
    expect_row(&s, 3, 2, "next", "one\ntwo\nthree");
    expect_row(&s, 6, 2, "\n", "\n\n");
    expect_row(&s, 10, 1, "after");
    expect_end(&s);
    src_close(&s);
}
END_TEST

START_TEST(crlf_line_ends)
{
    struct src s;
    src_open(&s, "a,b\r\n"
                 "\"q\",\"r,s\"\r\n"
                 "\"in\r\nside\",x\r\n" /* CRLF inside quotes is data */
                 ",\r\n"
                 "end\r\n");
    expect_row(&s, 1, 2, "a", "b");
    expect_row(&s, 2, 2, "q", "r,s");
    expect_row(&s, 3, 2, "in\r\nside", "x");
    expect_row(&s, 5, 2, "", "");
    expect_row(&s, 6, 1, "end");
    expect_end(&s);
    src_close(&s);
}
END_TEST

START_TEST(blank_lines_skipped)
{
    struct src s;
    src_open(&s, "\n\na,b\n\n\r\nc\n\"m\n\n\"\n\n\nd\n\n");
    expect_row(&s, 3, 2, "a", "b");
    expect_row(&s, 6, 1, "c");
    expect_row(&s, 7, 1, "m\n\n"); /* blank lines inside quotes are data */
    expect_row(&s, 12, 1, "d");
    expect_end(&s);
    src_close(&s);
}
END_TEST

START_TEST(no_newline_at_end)
{
    struct src s;
    src_open(&s, "a,b\nc,d");
    expect_row(&s, 1, 2, "a", "b");
    expect_row(&s, 2, 2, "c", "d");
    expect_end(&s);
    src_close(&s);

    src_open(&s, "h\n\"q,\"\"x\"\"\"");
    expect_row(&s, 1, 1, "h");
    expect_row(&s, 2, 1, "q,\"x\"");
    expect_end(&s);
    src_close(&s);

    src_open(&s, "h\r\nlast\r");
    expect_row(&s, 1, 1, "h");
    expect_row(&s, 2, 1, "last");
    expect_end(&s);
    src_close(&s);

    src_open(&s, "\"multi\nline\"");
    expect_row(&s, 1, 1, "multi\nline");
    expect_end(&s);
    src_close(&s);
}
END_TEST

START_TEST(set_line)
{
    struct src s;
    /* a reader started in the middle of a file */
    src_open(&s, "a\n\nb\n\"c\nd\"\ne\n");
    csv_reader_set_line(s.r, 100);
    expect_row(&s, 100, 1, "a");
    expect_row(&s, 102, 1, "b");
    expect_row(&s, 103, 1, "c\nd");
    expect_row(&s, 105, 1, "e");
    expect_end(&s);
    src_close(&s);

    /* renumbered between rows */
    src_open(&s, "a\nb\nc\n");
    expect_row(&s, 1, 1, "a");
    csv_reader_set_line(s.r, 40);
    expect_row(&s, 40, 1, "b");
    expect_row(&s, 41, 1, "c");
    expect_end(&s);
    src_close(&s);

    /* and a refusal names the renumbered line */
    src_open(&s, "ok\nba\"d\n");
    csv_reader_set_line(s.r, 7);
    expect_row(&s, 7, 1, "ok");
    char **fields;
    size_t n;
    scsms_errclear();
    ck_assert_int_eq(csv_read_row(s.r, &fields, &n), SCSMS_EINVAL);
    ck_assert_msg(strstr(scsms_errmsg(), "line 8:") != NULL, "message '%s'", scsms_errmsg());
    src_close(&s);
}
END_TEST

START_TEST(quote_in_unquoted_field)
{
    refuse("ab\"c\n", 0, "line 1:", "a quote inside an unquoted field 1");
    refuse("x\ny\na,b\"c\n", 2, "line 3:", "a quote inside an unquoted field 2");
    refuse("h\nab\"\n", 1, "line 2:", "unquoted field 1");
    /* a quote after leading space: the field did not start with it */
    refuse("h\n \"a\"\n", 1, "line 2:", "unquoted field 1");
    /* the line of the quote, past a multi-line quoted field of the row */
    refuse("\"a\nb\",c\"d\n", 0, "line 2:", "unquoted field 2");
}
END_TEST

START_TEST(text_after_closing_quote)
{
    refuse("h\n\"ab\"c,d\n", 1, "line 2:", "text after a closing quote in field 1");
    refuse("h\nx,\"ab\" \n", 1, "line 2:", "text after a closing quote in field 2");
    refuse("\"a\"\"b\"\"\"c\n", 0, "line 1:", "text after a closing quote");
    /* named on the line where the stray text is */
    refuse("h\n\"a\nb\"x\n", 1, "line 3:", "text after a closing quote in field 1");
}
END_TEST

START_TEST(unterminated_quote)
{
    refuse("\"abc", 0, "line 1:", "quoted field 1 is never closed");
    refuse("ok\n\"abc\ndef", 1, "line 2:", "quoted field 1 is never closed");
    refuse("ok\nx,\"abc\n\n", 1, "line 2:", "quoted field 2 is never closed");
    refuse("ok\n\"a\"\"", 1, "line 2:", "never closed"); /* "" is a quote, not the end */
}
END_TEST

START_TEST(nul_byte_refused)
{
    /* a NUL cannot live in text: refused, not silently cut */
    static const char in[] = "h\na\0b,c\n";
    refuse_len(in, sizeof in - 1, 1, "line 2:", "a NUL byte in field 1", NULL);
}
END_TEST

START_TEST(field_limit)
{
    /* CSV_MAX_FIELDS - 1 fields, numbered, are read; one more is refused */
    size_t cap = (size_t)CSV_MAX_FIELDS * 8 + 16, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    len += (size_t)snprintf(buf + len, cap - len, "h\n");
    for (int i = 0; i < CSV_MAX_FIELDS - 1; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d%c", i,
                                i + 1 < CSV_MAX_FIELDS - 1 ? ',' : '\n');

    struct src s;
    char **fields;
    size_t n;
    src_open_len(&s, buf, len);
    expect_row(&s, 1, 1, "h");
    ck_assert_int_eq(csv_read_row(s.r, &fields, &n), 1);
    ck_assert_uint_eq(n, CSV_MAX_FIELDS - 1);
    ck_assert_uint_eq(csv_row_line(s.r), 2);
    for (size_t i = 0; i < n; i++) {
        char want[24];
        snprintf(want, sizeof want, "%zu", i);
        ck_assert_str_eq(fields[i], want);
    }
    expect_end(&s);
    src_close(&s);

    /* CSV_MAX_FIELDS fields: the last, empty, after one more comma */
    buf[len - 1] = ',';
    buf[len++] = '\n';
    char want[64];
    snprintf(want, sizeof want, "more than %d fields", CSV_MAX_FIELDS - 1);
    refuse_len(buf, len, 1, "line 2:", want, NULL);
    free(buf);
}
END_TEST

/* "h\n" then a row of `size` bytes: 'x' fields, a comma at `comma` (when
 * not 0), then "\n". */
static char *long_row(size_t size, size_t comma, size_t *len)
{
    char *buf = malloc(size + 4);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, "h\n", 2);
    memset(buf + 2, 'x', size);
    if (comma)
        buf[2 + comma] = ',';
    buf[2 + size] = '\n';
    *len = size + 3;
    return buf;
}

START_TEST(row_limit)
{
    struct src s;
    char **fields;
    size_t n, len;

    /* exactly CSV_MAX_ROW bytes in one field */
    char *buf = long_row(CSV_MAX_ROW, 0, &len);
    src_open_len(&s, buf, len);
    expect_row(&s, 1, 1, "h");
    ck_assert_int_eq(csv_read_row(s.r, &fields, &n), 1);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(csv_row_line(s.r), 2);
    ck_assert_uint_eq(strlen(fields[0]), CSV_MAX_ROW);
    expect_end(&s);
    src_close(&s);
    free(buf);

    /* exactly CSV_MAX_ROW bytes in two fields and their comma */
    buf = long_row(CSV_MAX_ROW, 1000, &len);
    src_open_len(&s, buf, len);
    expect_row(&s, 1, 1, "h");
    ck_assert_int_eq(csv_read_row(s.r, &fields, &n), 1);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(strlen(fields[0]), 1000);
    ck_assert_uint_eq(strlen(fields[1]), CSV_MAX_ROW - 1001);
    expect_end(&s);
    src_close(&s);
    free(buf);

    /* one byte more, either way */
    char want[64];
    snprintf(want, sizeof want, "row longer than %u bytes", CSV_MAX_ROW);
    buf = long_row(CSV_MAX_ROW + 1, 0, &len);
    refuse_len(buf, len, 1, "line 2:", want, NULL);
    free(buf);
    buf = long_row(CSV_MAX_ROW + 1, 1000, &len);
    refuse_len(buf, len, 1, "line 2:", want, NULL);
    free(buf);

    /* a long quoted field, refused on the line the row starts on */
    buf = long_row(CSV_MAX_ROW + 8, 0, &len);
    buf[2] = '"';
    buf[3] = '\n';
    buf[2 + CSV_MAX_ROW + 7] = '"';
    refuse_len(buf, len, 1, "line 2:", want, NULL);
    free(buf);
}
END_TEST

START_TEST(bytes_read)
{
    static const char text[] = "a,b\r\n\r\n\"c\"\"d\"\nlast";
    struct src s;
    src_open(&s, text);
    ck_assert_uint_eq(csv_bytes_read(s.r), 0);
    expect_row(&s, 1, 2, "a", "b");
    ck_assert_uint_eq(csv_bytes_read(s.r), 5);
    expect_row(&s, 3, 1, "c\"d");
    ck_assert_uint_eq(csv_bytes_read(s.r), 14);
    expect_row(&s, 4, 1, "last");
    ck_assert_uint_eq(csv_bytes_read(s.r), strlen(text));
    expect_end(&s);
    ck_assert_uint_eq(csv_bytes_read(s.r), strlen(text));
    src_close(&s);
}
END_TEST

/* ---------------------------------------------------------------- writer */

/* What csv_write_field writes for s. */
static char *written(const char *s, int last)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ck_assert_ptr_nonnull(f);
    csv_write_field(f, s, last);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_uint_eq(strlen(out), len);
    return out;
}

START_TEST(writer_quotes_when_needed)
{
    static const struct {
        const char *in;
        int last;
        const char *want;
    } cases[] = {
        {"plain", 0, "plain,"},
        {"plain", 1, "plain\n"},
        {"", 0, ","},
        {"", 1, "\n"},
        {"a,b", 0, "\"a,b\","},
        {"x,y", 1, "\"x,y\"\n"},
        {"say \"hi\"", 0, "\"say \"\"hi\"\"\","},
        {"\"", 0, "\"\"\"\","},
        {"\"\"", 1, "\"\"\"\"\"\"\n"},
        {"two\nlines", 0, "\"two\nlines\","},
        {"cr\rhere", 0, "\"cr\rhere\","},
        {"crlf\r\n", 1, "\"crlf\r\n\"\n"},
        {"[{\"rel\":\"risk\",\"target\":\"X\"}]", 1,
         "\"[{\"\"rel\"\":\"\"risk\"\",\"\"target\"\":\"\"X\"\"}]\"\n"},
        /* nothing else is quoted */
        {" lead and trail ", 0, " lead and trail ,"},
        {"semi;colon\ttab 'apos' caf\xc3\xa9", 0, "semi;colon\ttab 'apos' caf\xc3\xa9,"},
        {"2026-02-05T11:15:00Z", 1, "2026-02-05T11:15:00Z\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = written(cases[i].in, cases[i].last);
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "case %zu: wrote '%s', want '%s'", i, out,
                      cases[i].want);
        free(out);
    }
}
END_TEST

#define ROW_FIELDS 6

START_TEST(round_trip)
{
    /* awkward rows; every row has more than one field, since a row of one
     * empty field is written as a blank line, which the reader skips */
    static const char *const rows[][ROW_FIELDS] = {
        {"", ",", "\"", "\"\"", "a,b,c", "say \"hi\", then go"},
        {"line1\nline2", "crlf\r\ninside", "\n", "ends with newline\n", "lone\rcr",
         " lead and trail "},
        {"[{\"rel\":\"risk\",\"target\":\"X\"}]", "caf\xc3\xa9", "", "", "\"quoted\"", "x"},
        {"", "", "", "", "", ""},
        {"\n\n", "\r\n\r\n", ",\n,", "\",\"", "end\"", "\"start"},
    };
    const size_t n_rows = sizeof rows / sizeof rows[0];
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ck_assert_ptr_nonnull(f);
    for (size_t r = 0; r < n_rows; r++)
        for (size_t i = 0; i < ROW_FIELDS; i++)
            csv_write_field(f, rows[r][i], i + 1 == ROW_FIELDS);
    /* and a two-field row, and a one-field row */
    csv_write_field(f, "", 0);
    csv_write_field(f, "", 1);
    csv_write_field(f, "only\"one\"", 1);
    ck_assert_int_eq(fclose(f), 0);

    struct src s;
    char **fields;
    size_t n, line = 1;
    src_open_len(&s, out, len);
    for (size_t r = 0; r < n_rows; r++) {
        scsms_errclear();
        ck_assert_msg(csv_read_row(s.r, &fields, &n) == 1, "row %zu: %s", r + 1, scsms_errmsg());
        ck_assert_uint_eq(n, ROW_FIELDS);
        ck_assert_uint_eq(csv_row_line(s.r), line);
        for (size_t i = 0; i < ROW_FIELDS; i++) {
            ck_assert_msg(strcmp(fields[i], rows[r][i]) == 0, "row %zu field %zu: '%s', want '%s'",
                          r + 1, i + 1, fields[i], rows[r][i]);
            for (const char *p = rows[r][i]; *p; p++)
                line += *p == '\n';
        }
        line++;
    }
    expect_row(&s, line, 2, "", "");
    expect_row(&s, line + 1, 1, "only\"one\"");
    expect_end(&s);
    ck_assert_uint_eq(csv_bytes_read(s.r), len);
    src_close(&s);
    free(out);
}
END_TEST

static Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *rd = tcase_create("reader");
    tcase_add_test(rd, plain_rows);
    tcase_add_test(rd, empty_input);
    tcase_add_test(rd, empty_fields);
    tcase_add_test(rd, quoted_fields);
    tcase_add_test(rd, embedded_newlines);
    tcase_add_test(rd, crlf_line_ends);
    tcase_add_test(rd, blank_lines_skipped);
    tcase_add_test(rd, no_newline_at_end);
    tcase_add_test(rd, set_line);
    tcase_add_test(rd, bytes_read);
    suite_add_tcase(s, rd);

    TCase *bad = tcase_create("refusals");
    tcase_add_test(bad, quote_in_unquoted_field);
    tcase_add_test(bad, text_after_closing_quote);
    tcase_add_test(bad, unterminated_quote);
    tcase_add_test(bad, nul_byte_refused);
    tcase_add_test(bad, field_limit);
    tcase_add_test(bad, row_limit);
    suite_add_tcase(s, bad);

    TCase *wr = tcase_create("writer");
    tcase_add_test(wr, writer_quotes_when_needed);
    tcase_add_test(wr, round_trip);
    suite_add_tcase(s, wr);
    return s;
}

int main(void)
{
    return tu_run_suite(csv_suite());
}

/* csv.h -- RFC 4180 CSV: a streaming reader that knows the line each row
 * starts on (import names the line of every bad row), and a writer.
 *
 * Written here rather than taken from libcsv because import must report
 * physical line numbers, and quoted fields may span lines. The reader takes
 * untrusted bytes; it has a fuzz harness (tests/fuzz/fuzz_csv.c).
 */
#ifndef SCSMS_CSV_H
#define SCSMS_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

#define CSV_MAX_FIELDS 512
#define CSV_MAX_ROW (2u << 20) /* bytes of one row, all fields together */

typedef struct csv_reader csv_reader_t;

/* Read from f (borrowed; the caller closes it). Caller destroys. */
int csv_reader_new(FILE *f, csv_reader_t **out) SCSMS_MUST_CHECK;
void csv_reader_destroy(csv_reader_t **r);

/* The next row: *n fields, each NUL-terminated, borrowed until the next
 * call. Returns 1 with a row, 0 at the end of input, or SCSMS_EINVAL for
 * malformed CSV (a quote inside an unquoted field, an unterminated quote,
 * a row over the limits) with the line in the message. A blank line is
 * skipped. */
int csv_read_row(csv_reader_t *r, char ***fields, size_t *n) SCSMS_MUST_CHECK;

/* Number the next line `line` (for a reader started in the middle of a
 * file). */
void csv_reader_set_line(csv_reader_t *r, size_t line);

/* Physical line (1-based) on which the row last returned starts. */
size_t csv_row_line(const csv_reader_t *r);

/* Bytes consumed so far, for progress. */
size_t csv_bytes_read(const csv_reader_t *r);

/* Write one field to f, quoted when it holds a comma, quote, CR or LF,
 * followed by ',' or, when last, "\r\n"-free "\n". */
void csv_write_field(FILE *f, const char *s, int last);

#endif

/* report_internal.h -- what the report modules share (report.c builds,
 * report_text.c writes JSON, CSV, tables and files, report_html.c draws
 * the page). Not for other modules: they use report.h. */
#ifndef SCSMS_REPORT_INTERNAL_H
#define SCSMS_REPORT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "error.h"
#include "isotime.h"

/* The value at a path of object keys ("incidents", "total", NULL), or NULL
 * when a step is missing. Borrowed from o. */
struct json_object *report_json_at(struct json_object *o, ...);

/* An integer member of o (0 when o or the member is absent). */
int64_t report_json_int(struct json_object *o, const char *key);

/* s with & < > " ' escaped, for HTML text and attribute values. */
void report_html_escape(FILE *f, const char *s);

/* The HTML page of a review, gaps or aeo report, to f (a memory stream:
 * write errors show when it is closed). */
void report_html(struct json_object *rep, enum report_kind kind, FILE *f);

/* The period an HTML review page's note names (page_start writes it), from
 * text, the NUL-terminated start of the page: 1 when found, else 0. */
int report_html_period(const char *text, char from[ISOTIME_DATE_LEN + 1],
                       char to[ISOTIME_DATE_LEN + 1]);

/* The canonical date "YYYY-MM-DD" at p (NUL-terminated text) into out:
 * 1 when there is one, else 0. */
int report_read_date(const char *p, char out[ISOTIME_DATE_LEN + 1]);

/* The strings of array a, space-separated (HTML-escaped when html). */
void report_print_list(FILE *f, struct json_object *a, int html);

#endif

/* isotime.h -- ISO 8601 dates and instants, always UTC.
 *
 * scsms stores dates as text in one canonical form so that they sort as
 * text: a calendar date is "YYYY-MM-DD", an instant "YYYY-MM-DDTHH:MM:SSZ".
 * Input may carry an offset ("+02:00") or fractional seconds; both are
 * normalised to UTC whole seconds. Impossible dates (2026-02-30) are refused.
 */
#ifndef SCSMS_ISOTIME_H
#define SCSMS_ISOTIME_H

#include <stdint.h>

#define ISOTIME_DATE_LEN 10    /* "YYYY-MM-DD" */
#define ISOTIME_INSTANT_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

/* Parse a calendar date into days since 1970-01-01. Returns 0 or
 * SCSMS_EINVAL with a message naming what is wrong. */
int isotime_parse_date(const char *text, int64_t *days_out);

/* Parse an instant into seconds since the epoch (UTC). A bare date is
 * refused: an instant needs a time and a zone. */
int isotime_parse_instant(const char *text, int64_t *secs_out);

/* Format into buf (at least ISOTIME_DATE_LEN + 1 / ISOTIME_INSTANT_LEN + 1). */
void isotime_format_date(int64_t days, char *buf);
void isotime_format_instant(int64_t secs, char *buf);

/* A length of time for people, its two largest units: "45 s", "12 min 5 s",
 * "3 h 12 min", "2 days 4 h" (the sign of secs ignored). buf holds at
 * least ISOTIME_SPAN_MAX + 1 bytes. */
#define ISOTIME_SPAN_MAX 48
void isotime_format_span(int64_t secs, char *buf);

/* The current time in seconds since the epoch. The environment variable
 * SCSMS_NOW (an instant) overrides the clock, for reproducible demos and
 * tests; it cannot be set from inside a store or over the network. */
int64_t isotime_now(void);

/* Milliseconds on a clock that only moves forward (CLOCK_MONOTONIC),
 * for timeouts and rate limits; not a time of day, and not SCSMS_NOW's. */
int64_t isotime_monotonic_ms(void);

/* Days since the epoch of the instant secs (floor). */
int64_t isotime_days(int64_t secs);

#endif

/* isotime.c -- strict ISO 8601 parsing; see isotime.h. */
#include "isotime.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days from civil date, proleptic Gregorian (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Read exactly n decimal digits. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_ymd(const char *text, int64_t *days_out)
{
    int y, m, d;
    if (digits(text, 4, &y) || text[4] != '-' || digits(text + 5, 2, &m) ||
        text[7] != '-' || digits(text + 8, 2, &d))
        return scsms_fail(SCSMS_EINVAL, "'%.40s' is not a date: use YYYY-MM-DD", text);
    if (y < 1900 || y > 9999)
        return scsms_fail(SCSMS_EINVAL, "'%.40s': year %d is out of range 1900-9999", text, y);
    if (m < 1 || m > 12)
        return scsms_fail(SCSMS_EINVAL, "'%.40s': month %d does not exist", text, m);
    if (d < 1 || d > days_in_month(y, m))
        return scsms_fail(SCSMS_EINVAL, "'%.40s': day %d does not exist in %04d-%02d",
                          text, d, y, m);
    *days_out = days_from_civil(y, m, d);
    return 0;
}

int isotime_parse_date(const char *text, int64_t *days_out)
{
    if (strlen(text) != ISOTIME_DATE_LEN)
        return scsms_fail(SCSMS_EINVAL, "'%.40s' is not a date: use YYYY-MM-DD", text);
    return parse_ymd(text, days_out);
}

int isotime_parse_instant(const char *text, int64_t *secs_out)
{
    int64_t days;
    int hh, mm, ss, oh = 0, om = 0;
    size_t len = strlen(text);

    if (len == ISOTIME_DATE_LEN)
        return scsms_fail(SCSMS_EINVAL,
                          "'%.40s' is a date, not an instant: use YYYY-MM-DDTHH:MM:SSZ", text);
    if (len < 19 || (text[10] != 'T' && text[10] != 't' && text[10] != ' '))
        return scsms_fail(SCSMS_EINVAL, "'%.40s' is not an instant: use YYYY-MM-DDTHH:MM:SSZ", text);
    int rc = parse_ymd(text, &days);
    if (rc)
        return rc;
    const char *t = text + 11;
    if (digits(t, 2, &hh) || t[2] != ':' || digits(t + 3, 2, &mm) || t[5] != ':' ||
        digits(t + 6, 2, &ss))
        return scsms_fail(SCSMS_EINVAL, "'%.40s' is not an instant: use YYYY-MM-DDTHH:MM:SSZ", text);
    if (hh > 23 || mm > 59 || ss > 59)
        return scsms_fail(SCSMS_EINVAL, "'%.40s': time %02d:%02d:%02d does not exist",
                          text, hh, mm, ss);
    t += 8;
    if (*t == '.') { /* fractional seconds are accepted and dropped */
        t++;
        if (*t < '0' || *t > '9')
            return scsms_fail(SCSMS_EINVAL, "'%.40s': bad fractional seconds", text);
        while (*t >= '0' && *t <= '9')
            t++;
    }
    int sign = 0;
    if ((*t == 'Z' || *t == 'z') && t[1] == '\0') {
        sign = 0;
    } else if ((*t == '+' || *t == '-') && strlen(t) == 6 && !digits(t + 1, 2, &oh) &&
               t[3] == ':' && !digits(t + 4, 2, &om)) {
        /* the world's offsets run from -12:00 to +14:00 (Kiribati) */
        if (om > 59 || oh * 60 + om > (*t == '+' ? 14 * 60 : 12 * 60))
            return scsms_fail(SCSMS_EINVAL, "'%.40s': time zone offset %s does not exist (from "
                              "-12:00 to +14:00)", text, t);
        sign = *t == '+' ? 1 : -1;
    } else {
        return scsms_fail(SCSMS_EINVAL,
                          "'%.40s' has no time zone: end it with Z (UTC) or +HH:MM", text);
    }
    int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - sign * (oh * 3600 + om * 60);
    /* the range holds for the instant in UTC, after the offset */
    if (secs < days_from_civil(1900, 1, 1) * 86400 || secs >= days_from_civil(10000, 1, 1) * 86400)
        return scsms_fail(SCSMS_EINVAL, "'%.40s' is outside the years 1900-9999 in UTC", text);
    *secs_out = secs;
    return 0;
}

void isotime_format_date(int64_t days, char *buf)
{
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", (int)y, m, d);
    memcpy(buf, tmp, ISOTIME_DATE_LEN);
    buf[ISOTIME_DATE_LEN] = '\0';
}

void isotime_format_span(int64_t secs, char *buf)
{
    uint64_t v = secs < 0 ? (uint64_t)0 - (uint64_t)secs : (uint64_t)secs;
    unsigned long long d = v / 86400, h = v / 3600 % 24, m = v / 60 % 60, s = v % 60;
    if (d)
        snprintf(buf, ISOTIME_SPAN_MAX + 1, "%llu day%s %llu h", d, d == 1 ? "" : "s", h);
    else if (v >= 3600)
        snprintf(buf, ISOTIME_SPAN_MAX + 1, "%llu h %llu min", h, m);
    else if (v >= 60)
        snprintf(buf, ISOTIME_SPAN_MAX + 1, "%llu min %llu s", m, s);
    else
        snprintf(buf, ISOTIME_SPAN_MAX + 1, "%llu s", s);
}

void isotime_format_instant(int64_t secs, char *buf)
{
    int64_t days = isotime_days(secs);
    int64_t rem = secs - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
    memcpy(buf, tmp, ISOTIME_INSTANT_LEN);
    buf[ISOTIME_INSTANT_LEN] = '\0';
}

int64_t isotime_days(int64_t secs)
{
    return secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
}

int64_t isotime_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t isotime_now(void)
{
    const char *fixed = getenv("SCSMS_NOW");
    int64_t secs;
    if (fixed && *fixed && isotime_parse_instant(fixed, &secs) == 0)
        return secs;
    return (int64_t)time(NULL);
}

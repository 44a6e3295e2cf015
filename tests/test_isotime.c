/* test_isotime.c -- Check suite for common/isotime.{h,c}: strict ISO 8601
 * dates and instants, normalised to UTC. */
#include "error.h"
#include "isotime.h"
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Assert that parsing text as a date fails with SCSMS_EINVAL and a message
 * containing want. */
static void refuse_date(const char *text, const char *want)
{
    int64_t days = 12345;
    scsms_errclear();
    int rc = isotime_parse_date(text, &days);
    ck_assert_msg(rc == SCSMS_EINVAL, "'%s' parsed as a date: rc %d", text, rc);
    ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "'%s': message '%s' lacks '%s'", text,
                  scsms_errmsg(), want);
}

static void refuse_instant(const char *text, const char *want)
{
    int64_t secs = 12345;
    scsms_errclear();
    int rc = isotime_parse_instant(text, &secs);
    ck_assert_msg(rc == SCSMS_EINVAL, "'%s' parsed as an instant: rc %d", text, rc);
    ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "'%s': message '%s' lacks '%s'", text,
                  scsms_errmsg(), want);
}

static int64_t date_of(const char *text)
{
    int64_t days = -999999;
    int rc = isotime_parse_date(text, &days);
    ck_assert_msg(rc == 0, "'%s' refused: %s", text, scsms_errmsg());
    return days;
}

static int64_t instant_of(const char *text)
{
    int64_t secs = -999999;
    int rc = isotime_parse_instant(text, &secs);
    ck_assert_msg(rc == 0, "'%s' refused: %s", text, scsms_errmsg());
    return secs;
}

START_TEST(date_valid)
{
    /* expected values computed independently (Python datetime.date) */
    static const struct {
        const char *text;
        int64_t days;
    } cases[] = {
        {"1970-01-01", 0},       {"1970-01-02", 1},       {"2000-02-29", 11016},
        {"2000-03-01", 11017},   {"2024-02-29", 19782},   {"2026-11-20", 20777},
        {"2100-03-01", 47541},   {"9999-12-31", 2932896},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(date_of(cases[i].text) == cases[i].days, "%s -> %lld, want %lld",
                      cases[i].text, (long long)date_of(cases[i].text),
                      (long long)cases[i].days);
}
END_TEST

START_TEST(date_impossible)
{
    refuse_date("2025-02-29", "day 29 does not exist in 2025-02");
    refuse_date("2026-02-30", "day 30 does not exist in 2026-02");
    refuse_date("2026-13-01", "month 13 does not exist");
    refuse_date("2026-04-31", "day 31 does not exist in 2026-04");
    refuse_date("2026-00-10", "month 0 does not exist");
    refuse_date("2026-01-00", "day 0 does not exist");
    /* century rule: 1900 and 2100 are not leap years, 2000 is */
    refuse_date("1900-02-29", "day 29 does not exist in 1900-02");
    refuse_date("2100-02-29", "day 29 does not exist in 2100-02");
    ck_assert_int_eq(date_of("2000-02-29"), 11016);
}
END_TEST

START_TEST(date_malformed)
{
    refuse_date("2026-2-3", "not a date");
    refuse_date("2026-02-3", "not a date");
    refuse_date("", "not a date");
    refuse_date("2026/11/20", "not a date");
    refuse_date("20261120", "not a date");
    refuse_date("2026-11-20T10:15:00Z", "not a date");
    refuse_date("2026-11-2x", "not a date");
    refuse_date(" 2026-11-2", "not a date");
    refuse_date("1899-12-31", "out of range");
}
END_TEST

START_TEST(date_before_epoch)
{
    char buf[ISOTIME_DATE_LEN + 1];
    ck_assert_int_eq(date_of("1969-12-31"), -1);
    ck_assert_int_eq(date_of("1900-01-01"), -25567);
    isotime_format_date(-1, buf);
    ck_assert_str_eq(buf, "1969-12-31");
    isotime_format_date(-25567, buf);
    ck_assert_str_eq(buf, "1900-01-01");
    ck_assert_int_eq(instant_of("1969-12-31T23:59:59Z"), -1);
    ck_assert_int_eq(instant_of("1900-01-01T00:00:00Z"), -25567LL * 86400);
    char ibuf[ISOTIME_INSTANT_LEN + 1];
    isotime_format_instant(-1, ibuf);
    ck_assert_str_eq(ibuf, "1969-12-31T23:59:59Z");
    isotime_format_instant(-86400, ibuf);
    ck_assert_str_eq(ibuf, "1969-12-31T00:00:00Z");
    isotime_format_instant(-86401, ibuf);
    ck_assert_str_eq(ibuf, "1969-12-30T23:59:59Z");
}
END_TEST

START_TEST(days_floor)
{
    ck_assert_int_eq(isotime_days(0), 0);
    ck_assert_int_eq(isotime_days(86399), 0);
    ck_assert_int_eq(isotime_days(86400), 1);
    ck_assert_int_eq(isotime_days(-1), -1);
    ck_assert_int_eq(isotime_days(-86400), -1);
    ck_assert_int_eq(isotime_days(-86401), -2);
    ck_assert_int_eq(isotime_days(instant_of("2026-11-20T23:59:59Z")), date_of("2026-11-20"));
}
END_TEST

START_TEST(instant_valid)
{
    ck_assert_int_eq(instant_of("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(instant_of("2026-11-20T06:15:00Z"), 1795155300);
    ck_assert_int_eq(instant_of("2024-02-29T23:59:59Z"), 1709251199);
    /* the date and time separators ISO 8601 / RFC 3339 allow */
    ck_assert_int_eq(instant_of("2026-11-20t06:15:00z"), 1795155300);
    ck_assert_int_eq(instant_of("2026-11-20 06:15:00Z"), 1795155300);
}
END_TEST

START_TEST(instant_offsets)
{
    int64_t z = instant_of("2026-11-20T06:15:00Z");
    ck_assert_int_eq(instant_of("2026-11-20T10:15:00+04:00"), z);
    ck_assert_int_eq(instant_of("2026-11-20T00:45:00-05:30"), z);
    ck_assert_int_eq(instant_of("2026-11-20T06:15:00+00:00"), z);
    ck_assert_int_eq(instant_of("2026-11-20T06:15:00-00:00"), z);
    /* an offset that crosses midnight and a year boundary */
    char buf[ISOTIME_INSTANT_LEN + 1];
    isotime_format_instant(instant_of("2026-01-01T00:30:00+01:00"), buf);
    ck_assert_str_eq(buf, "2025-12-31T23:30:00Z");
    isotime_format_instant(instant_of("2025-12-31T23:30:00-01:00"), buf);
    ck_assert_str_eq(buf, "2026-01-01T00:30:00Z");
    refuse_instant("2026-11-20T10:15:00+24:00", "time zone");
    /* the world's offsets: -12:00 (Baker Island) to +14:00 (Kiribati) */
    isotime_format_instant(instant_of("2026-11-20T20:15:00+14:00"), buf);
    ck_assert_str_eq(buf, "2026-11-20T06:15:00Z");
    isotime_format_instant(instant_of("2026-11-19T18:15:00-12:00"), buf);
    ck_assert_str_eq(buf, "2026-11-20T06:15:00Z");
    refuse_instant("2026-11-20T10:15:00+14:01", "offset +14:01 does not exist (from -12:00 to +14:00)");
    refuse_instant("2026-11-20T10:15:00+15:00", "time zone");
    refuse_instant("2026-11-20T10:15:00+23:00", "time zone");
    refuse_instant("2026-11-20T10:15:00-12:30", "time zone");
    refuse_instant("2026-11-20T10:15:00+04:60", "time zone");
    refuse_instant("2026-11-20T10:15:00+0400", "time zone");
    refuse_instant("2026-11-20T10:15:00+04", "time zone");
    refuse_instant("2026-11-20T10:15:00+04:00Z", "time zone");
}
END_TEST

START_TEST(instant_fraction)
{
    int64_t z = instant_of("2026-11-20T06:15:00Z");
    /* dropped, not rounded */
    ck_assert_int_eq(instant_of("2026-11-20T06:15:00.999Z"), z);
    ck_assert_int_eq(instant_of("2026-11-20T06:15:00.1Z"), z);
    ck_assert_int_eq(instant_of("2026-11-20T06:15:00.123456789Z"), z);
    ck_assert_int_eq(instant_of("2026-11-20T10:15:00.5+04:00"), z);
    refuse_instant("2026-11-20T06:15:00.Z", "fractional");
    refuse_instant("2026-11-20T06:15:00.x1Z", "fractional");
}
END_TEST

START_TEST(instant_refused)
{
    refuse_instant("2026-11-20", "is a date, not an instant");
    /* a time without a zone is ambiguous: which site's local time? */
    refuse_instant("2026-11-20T06:15:00", "no time zone");
    refuse_instant("2026-11-20T06:15:00.250", "no time zone");
    refuse_instant("2026-11-20T06:15:00 UTC", "no time zone");
    refuse_instant("2026-11-20T24:00:00Z", "does not exist");
    refuse_instant("2026-11-20T10:60:00Z", "does not exist");
    refuse_instant("2026-11-20T10:15:60Z", "does not exist");
    refuse_instant("2026-02-30T10:15:00Z", "day 30 does not exist");
    refuse_instant("2026-11-20X10:15:00Z", "not an instant");
    refuse_instant("2026-11-20T10-15-00Z", "not an instant");
    refuse_instant("2026-11-20T10:15Z", "not an instant");
    refuse_instant("", "not an instant");
}
END_TEST

START_TEST(round_trip)
{
    static const char *const dates[] = {"1900-01-01", "1969-12-31", "1970-01-01",
                                        "2000-02-29", "2024-02-29", "2026-11-20",
                                        "2099-12-31", "9999-12-31"};
    static const char *const instants[] = {"1900-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                                           "1970-01-01T00:00:00Z", "2024-02-29T12:34:56Z",
                                           "2026-11-20T06:15:00Z", "9999-12-31T23:59:59Z"};
    char buf[ISOTIME_INSTANT_LEN + 1];
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        isotime_format_date(date_of(dates[i]), buf);
        ck_assert_str_eq(buf, dates[i]);
    }
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        isotime_format_instant(instant_of(instants[i]), buf);
        ck_assert_str_eq(buf, instants[i]);
    }
    /* every day of the supported range formats and parses back to itself,
     * and consecutive days format in strictly increasing text order */
    char prev[ISOTIME_DATE_LEN + 1] = "";
    int64_t first = date_of("1900-01-01"), last = date_of("9999-12-31"), n = 0;
    for (int64_t d = first; d <= last; d++, n++) {
        int64_t back = -999999;
        isotime_format_date(d, buf);
        /* plain ifs: a Check assertion per day costs a write to the runner */
        if (isotime_parse_date(buf, &back) != 0 || back != d)
            ck_abort_msg("day %lld formats as %s, which parses as %lld", (long long)d, buf,
                         (long long)back);
        if (strcmp(prev, buf) >= 0)
            ck_abort_msg("%s does not sort after %s", buf, prev);
        memcpy(prev, buf, sizeof prev);
    }
    ck_assert_int_eq(n, 2932896 + 25567 + 1);
    ck_assert_str_eq(prev, "9999-12-31");
}
END_TEST

START_TEST(now_override)
{
    ck_assert_int_eq(setenv("SCSMS_NOW", "2026-11-20T06:15:00Z", 1), 0);
    ck_assert_int_eq(isotime_now(), 1795155300);
    ck_assert_int_eq(setenv("SCSMS_NOW", "2026-11-20T10:15:00+04:00", 1), 0);
    ck_assert_int_eq(isotime_now(), 1795155300);
    ck_assert_int_eq(setenv("SCSMS_NOW", "1969-12-31T23:59:59Z", 1), 0);
    ck_assert_int_eq(isotime_now(), -1);

    /* unset, empty or unparsable: the real clock */
    ck_assert_int_eq(unsetenv("SCSMS_NOW"), 0);
    int64_t before = (int64_t)time(NULL);
    int64_t now = isotime_now();
    ck_assert_int_ge(now, before);
    ck_assert_int_le(now, (int64_t)time(NULL));
    ck_assert_int_eq(setenv("SCSMS_NOW", "", 1), 0);
    ck_assert_int_ge(isotime_now(), before);
    ck_assert_int_eq(setenv("SCSMS_NOW", "2026-11-20", 1), 0);
    ck_assert_int_ge(isotime_now(), before);
    ck_assert_int_eq(unsetenv("SCSMS_NOW"), 0);
}
END_TEST

/* The monotonic clock moves with time and ignores SCSMS_NOW. */
START_TEST(monotonic_ms_moves_forward)
{
    setenv("SCSMS_NOW", "2001-01-01T00:00:00Z", 1);
    int64_t a = isotime_monotonic_ms();
    struct timespec pause = {0, 30 * 1000000};
    nanosleep(&pause, NULL);
    int64_t b = isotime_monotonic_ms();
    unsetenv("SCSMS_NOW");
    ck_assert_int_ge(b - a, 30);
    ck_assert_int_lt(b - a, 30000);
}
END_TEST

/* How far a clock is off, for people: the two largest units, the sign
 * left to the words around it. */
START_TEST(spans_in_their_two_largest_units)
{
    static const struct {
        int64_t secs;
        const char *want;
    } cases[] = {{0, "0 s"},       {59, "59 s"},           {-59, "59 s"},
                 {60, "1 min 0 s"}, {754, "12 min 34 s"},  {3600, "1 h 0 min"},
                 {11550, "3 h 12 min"}, {-11550, "3 h 12 min"}, {86399, "23 h 59 min"},
                 {86400, "1 day 0 h"}, {-189000, "2 days 4 h"}, {INT64_MIN, "106751991167300 days 15 h"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[ISOTIME_SPAN_MAX + 1];
        isotime_format_span(cases[i].secs, buf);
        ck_assert_str_eq(buf, cases[i].want);
    }
}
END_TEST

static Suite *isotime_suite(void)
{
    Suite *s = suite_create("isotime");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, date_valid);
    tcase_add_test(tc, date_impossible);
    tcase_add_test(tc, date_malformed);
    tcase_add_test(tc, date_before_epoch);
    tcase_add_test(tc, days_floor);
    tcase_add_test(tc, instant_valid);
    tcase_add_test(tc, instant_offsets);
    tcase_add_test(tc, instant_fraction);
    tcase_add_test(tc, instant_refused);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, now_override);
    tcase_add_test(tc, monotonic_ms_moves_forward);
    tcase_add_test(tc, spans_in_their_two_largest_units);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(isotime_suite());
}

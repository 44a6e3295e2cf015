/* test_text.c -- Check suite for common/text.{h,c}: numbers in decimal
 * digits alone, quotations cut where a UTF-8 character begins, and
 * messages made one printable line. */
#include "testutil.h"
#include "text.h"
#include "error.h"

#include <string.h>

START_TEST(digits_alone_within_range)
{
    unsigned long v = 77;
    ck_assert_int_eq(text_digits("0", 0, 10, &v), 1);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(text_digits("3650", 0, 3650, &v), 1);
    ck_assert_uint_eq(v, 3650);
    ck_assert_int_eq(text_digits("007", 1, 10, &v), 1);
    ck_assert_uint_eq(v, 7);
    ck_assert_int_eq(text_digits("999999999", 1, 999999999, &v), 1);
    ck_assert_uint_eq(v, 999999999);
    v = 77;
    static const char *const refused[] = {"", "+5", "-0", " 5", "5 ", "5x", "0x10", "1e3",
                                          "3651", "1000000000", "99999999999999999999", "٣"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_msg(text_digits(refused[i], 0, 3650, &v) == 0, "'%s'", refused[i]);
        ck_assert_uint_eq(v, 77); /* untouched */
    }
    ck_assert_int_eq(text_digits("0", 1, 10, &v), 0); /* below lo */
}
END_TEST

START_TEST(quotes_cut_between_characters)
{
    struct text_quote q;
    ck_assert_str_eq(text_quote("short", 32, &q), "short");
    ck_assert_str_eq(text_quote("abcdef", 3, &q), "abc");
    /* "xé" + "é": cut at 2 would split the second character's bytes */
    ck_assert_str_eq(text_quote("x\xc3\xa9\xc3\xa9", 4, &q), "x\xc3\xa9");
    ck_assert_str_eq(text_quote("x\xc3\xa9\xc3\xa9", 5, &q), "x\xc3\xa9\xc3\xa9");
    ck_assert_str_eq(text_quote("\xe2\x82\xac\xe2\x82\xac", 5, &q), "\xe2\x82\xac"); /* two € */
    ck_assert_str_eq(text_quote("\xf0\x9f\x93\xa6", 3, &q), ""); /* one 4-byte character */
    /* a cut exactly at a character's start keeps what is before it */
    ck_assert_str_eq(text_quote("ab\xc3\xa9", 2, &q), "ab");
    char long_text[200];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    ck_assert_uint_eq(strlen(text_quote(long_text, 500, &q)), TEXT_QUOTE_MAX);
}
END_TEST

START_TEST(utf8_sequences_and_cuts)
{
    const unsigned char e_acute[] = {0xc3, 0xa9}, euro[] = {0xe2, 0x82, 0xac},
                        box[] = {0xf0, 0x9f, 0x93, 0xa6};
    ck_assert_uint_eq(text_utf8_len(e_acute, 2), 2);
    ck_assert_uint_eq(text_utf8_len(euro, 3), 3);
    ck_assert_uint_eq(text_utf8_len(box, 4), 4);
    ck_assert_uint_eq(text_utf8_len(box, 3), 0); /* cut: fewer bytes than it needs */
    ck_assert_uint_eq(text_utf8_len((const unsigned char *)"a", 1), 0);
    ck_assert_uint_eq(text_utf8_len((const unsigned char *)"\xc0\xaf", 2), 0); /* overlong */
    ck_assert_uint_eq(text_utf8_len((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
    ck_assert_uint_eq(text_cut("x\xc3\xa9\xc3\xa9", 4), 3);
    ck_assert_uint_eq(text_cut("x\xc3\xa9\xc3\xa9", 400), 5);
    ck_assert_uint_eq(text_cut("", 10), 0);
}
END_TEST

/* Error messages quote what they were given: a field name with an escape
 * sequence in it, or input cut inside a character by '%.Ns', must still
 * come out as one line a terminal shows as written. */
START_TEST(messages_are_one_printable_line)
{
    char s[64];
    strcpy(s, "a\x1b[31mred\nnext\ttab\x7f \xc2\x9b \xc3\xa9t\xc3\xa9 \xe2\x82");
    text_printable(s);
    ck_assert_str_eq(s, "a?[31mred?next?tab? ? \xc3\xa9t\xc3\xa9 ??");
    strcpy(s, "\xff\xfe plain \xf0\x9f\x93\xa6");
    text_printable(s);
    ck_assert_str_eq(s, "?? plain \xf0\x9f\x93\xa6");
    /* the text of a raised record keeps its line breaks and tabs */
    strcpy(s, "a\tb\r\nc\x1b\x7f\xc2\x85" "d\xc3\xa9");
    text_scrub(s);
    ck_assert_str_eq(s, "a\tb\r\nc???d\xc3\xa9");
    /* a table's cell: one line, cut where a character begins */
    struct text_cell c;
    ck_assert_str_eq(text_cell("Gate 3\r\nNorth\tside\x1b", 64, &c), "Gate 3  North side?");
    ck_assert_str_eq(text_cell("ab\xf0\x9f\x9a\x9a", 4, &c), "ab");
    char wide[300];
    memset(wide, 'w', sizeof wide - 1);
    wide[sizeof wide - 1] = '\0';
    ck_assert_uint_eq(strlen(text_cell(wide, 500, &c)), TEXT_CELL_MAX);

    /* through scsms_fail: the quoted name cut by %.3s inside 'é' */
    ck_assert_int_eq(scsms_fail(SCSMS_EINVAL, "unknown field '%.3s' for type x", "ab\xc3\xa9"),
                     SCSMS_EINVAL);
    ck_assert_str_eq(scsms_errmsg(), "unknown field 'ab?' for type x");
    ck_assert_int_eq(scsms_fail(SCSMS_EINVAL, "unknown field '%s'", "x\ny"), SCSMS_EINVAL);
    ck_assert_int_eq(scsms_fail_context(SCSMS_EINVAL, "line %d\r", 3), SCSMS_EINVAL);
    ck_assert_str_eq(scsms_errmsg(), "line 3?: unknown field 'x?y'");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, digits_alone_within_range);
    tcase_add_test(tc, quotes_cut_between_characters);
    tcase_add_test(tc, utf8_sequences_and_cuts);
    tcase_add_test(tc, messages_are_one_printable_line);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

/* text.h -- small pieces of text handling the command line and the
 * settings file share: whole numbers in decimal digits alone, and a
 * quotation for a message cut where a UTF-8 character begins.
 */
#ifndef SCSMS_TEXT_H
#define SCSMS_TEXT_H

#include <stddef.h>

/* 1 and *out when s is a whole number in decimal digits alone (no sign,
 * blank, base prefix or trailing text; at most 9 digits) from lo to hi;
 * 0 otherwise, *out untouched. */
int text_digits(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

/* The length of the well-formed UTF-8 sequence of two to four bytes at s,
 * of which avail are readable (RFC 3629; no overlong form, surrogate or
 * code point past U+10FFFF), or 0: 0 for ASCII too. */
size_t text_utf8_len(const unsigned char *s, size_t avail);

/* 1 when the character at s (avail bytes readable, at least 1) is a
 * control character: C0 (tab and line breaks included: callers that take
 * them say so), DEL, or C1 (U+0080-U+009F, 0xc2 0x80-0x9f in UTF-8,
 * well-formed, yet U+009B starts an escape sequence on some terminals). */
int text_is_control(const unsigned char *s, size_t avail);

/* How many of the first bytes of s, at most max, to keep so that a cut
 * there does not split a UTF-8 character: max, or less by the bytes of
 * the character it would split; strlen(s) when that is less. */
size_t text_cut(const char *s, size_t max);

/* Copies as much of src into dst (cap bytes, cap > 0) as fits whole
 * characters, NUL-terminated: a copy cut short ends before the character
 * it would split, so a shortened name or reason stays UTF-8. */
void text_copy(char *dst, size_t cap, const char *src);

/* Rewrites the NUL-terminated s in place into one line of text a terminal
 * shows as it is: every control character (C0 with tab and line breaks,
 * DEL, C1) and every byte that begins no well-formed UTF-8 sequence
 * becomes '?'. For messages that quote what they were given, which may be
 * anything, cut at any byte. */
void text_printable(char *s);

/* The same, but tab, line feed and carriage return are kept: the text of
 * a record a rule raises, quoting what an earlier record held (written
 * before a character was refused) that a record written now may not. */
void text_scrub(char *s);

/* s made one line in place for a table's cell: tab and line breaks become
 * spaces, then as text_printable. */
void text_oneline(char *s);

#define TEXT_CELL_MAX 160

/* Room for a table's cell: at most TEXT_CELL_MAX bytes. */
struct text_cell {
    char text[TEXT_CELL_MAX + 1];
};

/* The first bytes of s, at most max (capped at TEXT_CELL_MAX), cut where
 * a character begins and made one line (text_oneline): a row of a table
 * stays one row, whatever a record's text holds. In c, which the result
 * borrows. */
const char *text_cell(const char *s, size_t max, struct text_cell *c);

#define TEXT_QUOTE_MAX 64

/* Room for a quotation: at most TEXT_QUOTE_MAX bytes. */
struct text_quote {
    char text[TEXT_QUOTE_MAX + 1];
};

/* The first bytes of s, at most max (capped at TEXT_QUOTE_MAX), for a
 * message to quote: cut before a byte that continues a UTF-8 character,
 * so that text stays text, and made printable (text_printable). In q,
 * which the result borrows. */
const char *text_quote(const char *s, size_t max, struct text_quote *q);

#endif

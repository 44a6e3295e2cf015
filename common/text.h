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

#define TEXT_QUOTE_MAX 64

/* Room for a quotation: at most TEXT_QUOTE_MAX bytes. */
struct text_quote {
    char text[TEXT_QUOTE_MAX + 1];
};

/* The first bytes of s, at most max (capped at TEXT_QUOTE_MAX), for a
 * message to quote: cut before a byte that continues a UTF-8 character,
 * so that text stays text. In q, which the result borrows. */
const char *text_quote(const char *s, size_t max, struct text_quote *q);

#endif

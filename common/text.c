/* text.c -- see text.h. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

int text_digits(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || s[n] || n > 9)
        return 0;
    unsigned long v = strtoul(s, NULL, 10);
    if (v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

const char *text_quote(const char *s, size_t max, struct text_quote *q)
{
    if (max > TEXT_QUOTE_MAX)
        max = TEXT_QUOTE_MAX;
    size_t n = strnlen(s, max);
    if (n == max && s[n])
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* s[n] continues a character: end before it begins */
    memcpy(q->text, s, n);
    q->text[n] = '\0';
    return q->text;
}

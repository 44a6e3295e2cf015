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

size_t text_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* else overlong */
        else if (c == 0xed)
            hi = 0x9f; /* else a surrogate */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* else overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* else past U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

int text_is_control(const unsigned char *s, size_t avail)
{
    return s[0] < 0x20 || s[0] == 0x7f ||
           (s[0] == 0xc2 && avail >= 2 && s[1] >= 0x80 && s[1] <= 0x9f);
}

size_t text_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n == max && s[n])
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* s[n] continues a character: end before it begins */
    return n;
}

void text_copy(char *dst, size_t cap, const char *src)
{
    size_t n = text_cut(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* text_printable, keeping line breaks and tabs or not */
static void make_printable(char *s, int keep_breaks)
{
    unsigned char *in = (unsigned char *)s, *out = in;
    size_t left = strlen(s);
    while (left > 0) {
        size_t n = *in < 0x80 ? 1 : text_utf8_len(in, left);
        int kept = keep_breaks && (*in == '\t' || *in == '\n' || *in == '\r');
        if (n == 0 || (!kept && text_is_control(in, left))) {
            *out++ = '?';
            n = n ? n : 1;
        } else {
            memmove(out, in, n);
            out += n;
        }
        in += n;
        left -= n;
    }
    *out = '\0';
}

void text_printable(char *s) { make_printable(s, 0); }

void text_scrub(char *s) { make_printable(s, 1); }

void text_oneline(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = ' ';
    text_printable(s);
}

const char *text_cell(const char *s, size_t max, struct text_cell *c)
{
    text_copy(c->text, (max > TEXT_CELL_MAX ? TEXT_CELL_MAX : max) + 1, s);
    text_oneline(c->text);
    return c->text;
}

const char *text_quote(const char *s, size_t max, struct text_quote *q)
{
    if (max > TEXT_QUOTE_MAX)
        max = TEXT_QUOTE_MAX;
    size_t n = text_cut(s, max);
    memcpy(q->text, s, n);
    q->text[n] = '\0';
    text_printable(q->text);
    return q->text;
}

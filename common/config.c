/* config.c -- scsms.ini through libinih; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "record.h"
#include "text.h"

void config_defaults(struct scsms_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->risk_threshold = 8;
    cfg->expiring_days = 30;
}

/* A message quotes at most this much of what the file gave (text.h). */
#define CLIP 32

/* The settings scsms.ini may hold, each given at most once. */
enum setting { SET_THRESHOLD, SET_EXPIRING, SET_DISPOSERS, SET_SERVER, SET_SERVER_KEY, SET_COUNT };

static const struct {
    const char *section, *name;
} settings[SET_COUNT] = {
    [SET_THRESHOLD] = {"risk", "tolerable_threshold"},
    [SET_EXPIRING] = {"due", "expiring_within_days"},
    [SET_DISPOSERS] = {"records", "disposal_authorised"},
    [SET_SERVER] = {"sync", "server"},
    [SET_SERVER_KEY] = {"sync", "server_key"},
};

/* libinih reads lines of at most 199 characters with their newline and
 * reads the rest of a longer one as a line of its own: such a line is
 * refused here before inih sees it (its tail could hold a setting). */
#define LINE_MAX_CHARS (CONFIG_LINE_MAX - 1)

struct parse {
    struct scsms_config *cfg;
    FILE *f;
    int line;        /* the line inih is at */
    int why_line;    /* the line of the first bad line or value, and why: */
    char why[256];
    int given_at[SET_COUNT]; /* the line each setting was given on, or 0 */
    int indented;    /* the line read last starts with a blank */
};

/* A whole number in decimal digits alone (no sign, blank or base prefix,
 * as on the command line) from lo to hi. */
static int number(const char *value, unsigned lo, unsigned hi, unsigned *out)
{
    unsigned long v;
    if (!text_digits(value, lo, hi, &v))
        return 0;
    *out = (unsigned)v;
    return 1;
}

/* Keep the first bad line's number and reason: inih reads on past a bad
 * line and reports the first bad line's number, which may be one it could
 * not read as a setting at all. Returns 0 for the handler. */
static int fail_at(struct parse *p, const char *fmt, ...) SCSMS_PRINTF(2, 3);

static int fail_at(struct parse *p, const char *fmt, ...)
{
    if (!p->why_line) {
        p->why_line = p->line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->why, sizeof p->why, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int set_value(struct parse *p, enum setting k, const char *value)
{
    struct scsms_config *cfg = p->cfg;
    struct text_quote c;
    switch (k) {
    case SET_THRESHOLD:
        return number(value, 1, 25, &cfg->risk_threshold)
                   ? 1
                   : fail_at(p, "tolerable_threshold must be 1 to 25, got '%s'",
                             text_quote(value, CLIP, &c));
    case SET_EXPIRING:
        return number(value, 0, 3650, &cfg->expiring_days)
                   ? 1
                   : fail_at(p, "expiring_within_days must be 0 to 3650, got '%s'",
                             text_quote(value, CLIP, &c));
    case SET_DISPOSERS:
        snprintf(cfg->disposers, sizeof cfg->disposers, "%s", value);
        return 1;
    case SET_SERVER:
        if (*value && config_check_endpoint(value) != 0)
            return fail_at(p, "%s", scsms_errmsg());
        snprintf(cfg->server, sizeof cfg->server, "%s", value);
        return 1;
    case SET_SERVER_KEY:
        if (*value && config_check_server_key(value, "server_key") != 0)
            return fail_at(p, "%s", scsms_errmsg());
        snprintf(cfg->server_key, sizeof cfg->server_key, "%s", value);
        return 1;
    default:
        return 0;
    }
}

/* inih calls this per name = value; 0 marks the line as bad. A line that
 * starts with a blank continues the setting before it (inih's multi-line
 * values) and arrives here as the same name again: refused as given
 * twice, as a name repeated is, rather than the last one silently won. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct parse *p = user;
    for (int k = 0; k < SET_COUNT; k++) {
        if (strcasecmp(section, settings[k].section) != 0 || strcasecmp(name, settings[k].name))
            continue;
        if (p->given_at[k])
            return fail_at(p, "%s given twice (first at line %d%s): give each setting once, on "
                           "one line", settings[k].name, p->given_at[k],
                           p->indented ? "; a line that starts with a blank continues the one "
                                         "before it" : "");
        p->given_at[k] = p->line;
        return set_value(p, (enum setting)k, value);
    }
    struct text_quote n, c;
    return fail_at(p, "unknown setting '%s' in section [%s]", text_quote(name, CLIP, &n),
                   text_quote(section, CLIP, &c));
}

static int known_section(const char *name, size_t len)
{
    for (int k = 0; k < SET_COUNT; k++)
        if (strlen(settings[k].section) == len && strncasecmp(name, settings[k].section, len) == 0)
            return 1;
    return 0;
}

/* What inih would pass over in silence in a line it reads: a section no
 * setting belongs in, and text after a section's name. */
static void check_section_line(struct parse *p, const char *text)
{
    text += strspn(text, " \t");
    if (*text != '[')
        return;
    const char *close = strchr(text, ']');
    if (!close)
        return; /* inih refuses it */
    size_t len = (size_t)(close - text - 1);
    if (!known_section(text + 1, len)) {
        struct text_quote c;
        fail_at(p, "unknown section [%s]: the sections are [risk], [due], [records] and [sync]",
                text_quote(text + 1, len < CLIP ? len : CLIP, &c));
        return;
    }
    const char *after = close + 1 + strspn(close + 1, " \t");
    if (*after && *after != ';' && *after != '#')
        fail_at(p, "text after the section name [%.*s]: put each setting on a line of its own",
                (int)len, text + 1);
}

#define BOM "\xef\xbb\xbf" /* which inih passes over at the start of the file */

/* inih's line reader: one line of the file into buf, counted. A line
 * that inih would misread is refused here (fail_at, and NULL ends the
 * parse): longer than CONFIG_LINE_MAX - 2 characters (inih's buffer, with
 * its newline and NUL), holding a NUL byte, a control character, a
 * carriage return not ending it, or bytes that are not UTF-8 text (which
 * an error message would otherwise print raw). */
static char *read_line(char *buf, int size, void *stream)
{
    struct parse *p = stream;
    /* what the text copy below holds; an inih built with a smaller buffer
     * refuses longer lines as too long */
    if (size > CONFIG_LINE_MAX)
        size = CONFIG_LINE_MAX;
    int n = 0, c = EOF, nul = 0, limit = size - 2;
    while (n < size - 1 && (c = getc(p->f)) != EOF) {
        buf[n++] = (char)c;
        nul |= c == 0;
        if (c == '\n')
            break;
    }
    if (n == 0)
        return NULL;
    p->line++;
    buf[n] = '\0';
    /* the buffer is full: a CRLF split by it ends the line (its CR is
     * dropped, as inih would drop it); anything else makes it too long */
    if (c != '\n' && c != EOF && (c = getc(p->f)) != EOF) {
        if (c == '\n' && buf[n - 1] == '\r') {
            buf[n - 1] = '\n';
        } else {
            ungetc(c, p->f);
            fail_at(p, "line longer than %d characters", limit);
            return NULL;
        }
    }
    size_t len = (size_t)n - (buf[n - 1] == '\n');
    len -= len && buf[len - 1] == '\r';
    if (len > (size_t)limit) { /* a last line with no newline */
        fail_at(p, "line longer than %d characters", limit);
        return NULL;
    }
    if (nul || memchr(buf, '\r', len)) {
        fail_at(p, nul ? "a NUL byte in the line: scsms.ini is text"
                       : "a carriage return inside the line: save the file with LF or CRLF "
                         "line endings");
        return NULL;
    }
    char text[CONFIG_LINE_MAX];
    memcpy(text, buf, len);
    text[len] = '\0';
    if (record_check_text(text, "the line") != 0) {
        fail_at(p, "%s", scsms_errmsg());
        return NULL;
    }
    const char *from = text;
    if (p->line == 1 && strncmp(from, BOM, 3) == 0)
        from += 3;
    p->indented = *from == ' ' || *from == '\t';
    check_section_line(p, from);
    return p->why_line ? NULL : buf;
}

/* Open dir's settings for reading: NULL with *rc 0 when there are none
 * (no such file), NULL with *rc set when what is there is not a file
 * that can be read (a directory, a device or a pipe, which would block,
 * a link to nothing). */
static FILE *open_settings(const char *path, int *rc)
{
    struct stat st;
    *rc = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && lstat(path, &st) != 0)
            return NULL; /* none: the defaults */
        *rc = scsms_fail(SCSMS_ECONFIG, "cannot read '%s': %s", path,
                         errno == ENOENT ? "a link to nothing" : strerror(errno));
        return NULL;
    }
    FILE *f = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        *rc = scsms_fail(SCSMS_ECONFIG, "cannot read '%s': not a regular file", path);
    else if (!(f = fdopen(fd, "r")))
        *rc = scsms_fail(SCSMS_EIO, "cannot read '%s': %s", path, strerror(errno));
    if (!f)
        close(fd);
    return f;
}

int config_parse(FILE *f, const char *path, struct scsms_config *cfg)
{
    struct parse p = {.cfg = cfg, .f = f};
    config_defaults(cfg);
    int line = ini_parse_stream(read_line, &p, on_value, &p);
    int rc = 0;
    if (ferror(f)) /* the disk, not the settings */
        rc = scsms_fail(SCSMS_EIO, "cannot read '%s': read error", path);
    else if (p.why_line && (line <= 0 || p.why_line <= line))
        rc = scsms_fail(SCSMS_ECONFIG, "%s:%d: %s", path, p.why_line, p.why);
    else if (line != 0)
        rc = scsms_fail(SCSMS_ECONFIG, "%s:%d: not an INI line (use name = value)", path, line);
    if (rc)
        config_defaults(cfg); /* nothing of a refused file */
    return rc;
}

int config_load(const char *dir, struct scsms_config *cfg)
{
    char path[4096];
    int rc;
    config_defaults(cfg);
    snprintf(path, sizeof path, "%s/%s", dir, CONFIG_FILE);
    FILE *f = open_settings(path, &rc);
    if (!f)
        return rc;
    rc = config_parse(f, path, cfg);
    fclose(f);
    return rc;
}

int config_check_server_key(const char *key, const char *what)
{
    struct text_quote c;
    return identity_curve_valid(key)
               ? 0
               : scsms_fail(SCSMS_EINVAL, "%s '%s' is not a CURVE key: give the curve-key "
                            "'scsms-server init' printed", what, text_quote(key, 48, &c));
}

/* A host name (labels of letters, digits and inner '-', joined by '.') or
 * an IPv4 address in four decimal parts of 0-255: what the agent's
 * ZeroMQ socket connects to. The host is [host, host + len). */
static int valid_host(const char *host, size_t len)
{
    if (len == 0 || len > 253)
        return 0;
    if (strspn(host, "0123456789.") >= len) { /* digits and dots: an IPv4 address */
        unsigned part = 0, digits = 0, parts = 1;
        for (size_t i = 0; i < len; i++) {
            if (host[i] == '.') {
                if (!digits)
                    return 0;
                parts++;
                part = digits = 0;
            } else if ((digits == 1 && part == 0) || /* "010" would be read as octal */
                       (part = part * 10 + (unsigned)(host[i] - '0')) > 255 || ++digits > 3) {
                return 0;
            }
        }
        return parts == 4 && digits > 0;
    }
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? host[i] : '.';
        if (c == '.') {
            if (label == 0 || host[i - 1] == '-')
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)c) || (c == '-' && label > 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return 1;
}

int config_check_endpoint(const char *endpoint)
{
    struct text_quote c;
    const char *host = strncmp(endpoint, "tcp://", 6) == 0 ? endpoint + 6 : NULL;
    const char *colon = host ? strrchr(host, ':') : NULL;
    unsigned long port;
    if (strlen(endpoint) > CONFIG_ENDPOINT_MAX || !colon ||
        !text_digits(colon + 1, 1, 65535, &port) || colon[1] == '0' ||
        !valid_host(host, (size_t)(colon - host)))
        return scsms_fail(SCSMS_EINVAL, "server '%s' is not an endpoint head office can be "
                          "reached at: give tcp://HOST:PORT, a host name or IPv4 address and the "
                          "port 'scsms-server run --bind' serves (at most %d characters)",
                          text_quote(endpoint, TEXT_QUOTE_MAX, &c), CONFIG_ENDPOINT_MAX);
    return 0;
}

int config_write_default(const char *dir, int hq, const char *server, const char *server_key,
                         int *made)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, CONFIG_FILE);
    *made = 0;
    FILE *f = fopen(path, "wx");
    if (!f && errno == EEXIST && server)
        return scsms_fail(SCSMS_EEXIST, "'%s' is there already: set server and server_key in "
                          "its [sync] section instead of giving --server", path);
    if (!f)
        return errno == EEXIST ? 0 : scsms_fail(SCSMS_EIO, "cannot write '%s': %s", path,
                                                strerror(errno));
    *made = 1;
    fprintf(f, "; scsms settings for this store (read by %s at every command)\n",
            hq ? "scsms-server" : "scsms-agent");
    fputs("\n"
          "[risk]\n"
          "; a risk is tolerable when its residual likelihood x consequence is at most\n"
          "; this (1-25); an intolerable risk may not be treated by 'accept' unless\n"
          "; head office accepts it (ISO 28000 4.3.1, DOMAIN.md rule 1)\n"
          "tolerable_threshold = 8\n"
          "\n"
          "[due]\n"
          "; 'due' (and head office's 'alerts') list what expires within this many days\n"
          "expiring_within_days = 30\n"
          "\n"
          "[records]\n"
          "; authors (--author) allowed to dispose of records after their retention\n"
          "; period, comma-separated; nobody when empty\n"
          "disposal_authorised =\n",
          f);
    if (hq) /* head office is the server: [sync] is a site's */
        return fclose(f) == 0 ? 0 : scsms_fail(SCSMS_EIO, "cannot write '%s'", path);
    fputs("\n"
          "[sync]\n"
          "; head office for 'scsms-agent run': its endpoint (tcp://HOST:PORT) and\n"
          "; the curve-key 'scsms-server init' printed, which the agent pins;\n"
          "; --server and --server-key given to 'run' take precedence\n",
          f);
    fprintf(f, "server = %s\nserver_key = %s\n", server ? server : "",
            server_key ? server_key : "");
    return fclose(f) == 0 ? 0 : scsms_fail(SCSMS_EIO, "cannot write '%s'", path);
}

int config_may_dispose(const struct scsms_config *cfg, const char *name)
{
    const char *p = cfg->disposers;
    size_t n = strlen(name);
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == n && n && strncmp(p, name, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

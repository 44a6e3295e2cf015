/* config.c -- scsms.ini through libinih; see config.h. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "identity.h"

void config_defaults(struct scsms_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->risk_threshold = 8;
    cfg->expiring_days = 30;
}

struct parse {
    struct scsms_config *cfg;
    FILE *f;
    int line;        /* the line inih is at */
    int why_line;    /* the line of the first bad value, and why: */
    char why[256];
};

static int number(const char *value, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (!*value || *end || errno || v < lo || v > hi)
        return 0;
    *out = (unsigned)v;
    return 1;
}

/* Keep the first bad value's line and reason: inih reads on past a bad
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

/* inih calls this per name = value; 0 marks the line as bad. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct parse *p = user;
    if (strcasecmp(section, "risk") == 0 && strcasecmp(name, "tolerable_threshold") == 0) {
        if (number(value, 1, 25, &p->cfg->risk_threshold))
            return 1;
        return fail_at(p, "tolerable_threshold must be 1 to 25, got '%.32s'", value);
    }
    if (strcasecmp(section, "due") == 0 && strcasecmp(name, "expiring_within_days") == 0) {
        if (number(value, 0, 3650, &p->cfg->expiring_days))
            return 1;
        return fail_at(p, "expiring_within_days must be 0 to 3650, got '%.32s'", value);
    }
    if (strcasecmp(section, "records") == 0 && strcasecmp(name, "disposal_authorised") == 0) {
        snprintf(p->cfg->disposers, sizeof p->cfg->disposers, "%s", value);
        return 1;
    }
    if (strcasecmp(section, "sync") == 0 && strcasecmp(name, "server") == 0) {
        if (!*value || config_check_endpoint(value) == 0) {
            snprintf(p->cfg->server, sizeof p->cfg->server, "%s", value);
            return 1;
        }
        return fail_at(p, "%s", scsms_errmsg());
    }
    if (strcasecmp(section, "sync") == 0 && strcasecmp(name, "server_key") == 0) {
        if (!*value || config_check_server_key(value, "server_key") == 0) {
            snprintf(p->cfg->server_key, sizeof p->cfg->server_key, "%s", value);
            return 1;
        }
        return fail_at(p, "%s", scsms_errmsg());
    }
    return fail_at(p, "unknown setting '%.32s' in section [%.32s]", name, section);
}

/* inih's line reader, counting lines as inih does (a line longer than
 * its buffer counts twice), so a bad value knows its line. */
static char *read_line(char *buf, int size, void *stream)
{
    struct parse *p = stream;
    char *got = fgets(buf, size, p->f);
    p->line += got != NULL;
    return got;
}

int config_load(const char *dir, struct scsms_config *cfg)
{
    char path[4096];
    struct parse p = {.cfg = cfg};
    config_defaults(cfg);
    snprintf(path, sizeof path, "%s/%s", dir, CONFIG_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : scsms_fail(SCSMS_EIO, "cannot read '%s': %s", path,
                                                strerror(errno));
    p.f = f;
    int line = ini_parse_stream(read_line, &p, on_value, &p);
    fclose(f);
    if (line != 0)
        return scsms_fail(SCSMS_EINVAL, "%s:%d: %s", path, line,
                          line == p.why_line
                              ? p.why
                              : "not an INI line (use name = value, at most 198 characters)");
    return 0;
}

int config_check_server_key(const char *key, const char *what)
{
    return identity_curve_valid(key)
               ? 0
               : scsms_fail(SCSMS_EINVAL, "%s '%.48s' is not a CURVE key: give the curve-key "
                            "'scsms-server init' printed", what, key);
}

int config_check_endpoint(const char *endpoint)
{
    const char *host = strncmp(endpoint, "tcp://", 6) == 0 ? endpoint + 6 : NULL;
    const char *colon = host ? strrchr(host, ':') : NULL;
    char *end;
    errno = 0;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (strlen(endpoint) > CONFIG_ENDPOINT_MAX || !colon || colon == host || !colon[1] || *end ||
        errno || port < 1 || port > 65535 || strpbrk(host, " \t\r\n;#*[]") ||
        memchr(host, ':', (size_t)(colon - host)))
        return scsms_fail(SCSMS_EINVAL, "server '%.64s' is not an endpoint head office can be "
                          "reached at: give tcp://HOST:PORT, a host name or IPv4 address and the "
                          "port 'scsms-server run --bind' serves (at most %d characters)",
                          endpoint, CONFIG_ENDPOINT_MAX);
    return 0;
}

int config_write_default(const char *dir, const char *server, const char *server_key,
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
    fputs("; scsms settings for this store (read by scsms-agent at every command)\n"
          "\n"
          "[risk]\n"
          "; a risk is tolerable when its residual likelihood x consequence is at most\n"
          "; this (1-25); an intolerable risk may not be treated by 'accept' unless\n"
          "; head office accepts it (ISO 28000 4.3.1, DOMAIN.md rule 1)\n"
          "tolerable_threshold = 8\n"
          "\n"
          "[due]\n"
          "; 'scsms-agent due' lists what expires within this many days\n"
          "expiring_within_days = 30\n"
          "\n"
          "[records]\n"
          "; authors (--author) allowed to dispose of records after their retention\n"
          "; period, comma-separated; nobody when empty\n"
          "disposal_authorised =\n"
          "\n"
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

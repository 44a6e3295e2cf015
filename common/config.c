/* config.c -- scsms.ini through libinih; see config.h. */
#include "config.h"

#include <errno.h>
#include <ini.h>
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

/* inih calls this per name = value; 0 stops the parse at this line. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct parse *p = user;
    if (strcasecmp(section, "risk") == 0 && strcasecmp(name, "tolerable_threshold") == 0) {
        if (number(value, 1, 25, &p->cfg->risk_threshold))
            return 1;
        snprintf(p->why, sizeof p->why, "tolerable_threshold must be 1 to 25, got '%.32s'",
                 value);
        return 0;
    }
    if (strcasecmp(section, "due") == 0 && strcasecmp(name, "expiring_within_days") == 0) {
        if (number(value, 0, 3650, &p->cfg->expiring_days))
            return 1;
        snprintf(p->why, sizeof p->why, "expiring_within_days must be 0 to 3650, got '%.32s'",
                 value);
        return 0;
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
        snprintf(p->why, sizeof p->why, "%s", scsms_errmsg());
        return 0;
    }
    if (strcasecmp(section, "sync") == 0 && strcasecmp(name, "server_key") == 0) {
        if (!*value || identity_curve_valid(value)) {
            snprintf(p->cfg->server_key, sizeof p->cfg->server_key, "%s", value);
            return 1;
        }
        snprintf(p->why, sizeof p->why, "server_key '%.48s' is not a CURVE key: give the "
                 "curve-key 'scsms-server init' printed", value);
        return 0;
    }
    snprintf(p->why, sizeof p->why, "unknown setting '%.32s' in section [%.32s]", name, section);
    return 0;
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
    int line = ini_parse_file(f, on_value, &p);
    fclose(f);
    if (line != 0)
        return scsms_fail(SCSMS_EINVAL, "%s:%d: %s", path, line,
                          p.why[0] ? p.why : "not an INI line (use name = value)");
    return 0;
}

int config_check_endpoint(const char *endpoint)
{
    const char *host = strncmp(endpoint, "tcp://", 6) == 0 ? endpoint + 6 : NULL;
    const char *colon = host ? strrchr(host, ':') : NULL;
    char *end;
    errno = 0;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (strlen(endpoint) > CONFIG_ENDPOINT_MAX || !colon || colon == host || !colon[1] || *end ||
        errno || port < 1 || port > 65535 || strpbrk(endpoint, " \t\r\n;#"))
        return scsms_fail(SCSMS_EINVAL, "server '%.64s' is not an endpoint: give "
                          "tcp://HOST:PORT, as head office's 'scsms-server run --bind' serves",
                          endpoint);
    return 0;
}

int config_write_default(const char *dir, const char *server, const char *server_key)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, CONFIG_FILE);
    FILE *f = fopen(path, "wx");
    if (!f)
        return errno == EEXIST ? 0 : scsms_fail(SCSMS_EIO, "cannot write '%s': %s", path,
                                                strerror(errno));
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

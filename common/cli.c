/* cli.c -- shared pieces of scsms-agent's subcommands; see cli.h. */
#include "cli.h"
#include "guard.h"
#include "text.h"
#include "isotime.h"

const char *cli_prog = "scsms";
int cli_hq_only;

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *out, const struct cli_command *commands, size_t n, const char *footer)
{
    int width = 0; /* the summaries in one column, after the longest name */
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(commands[i].name) > width)
            width = (int)strlen(commands[i].name);
    fprintf(out, "usage: %s COMMAND [OPTIONS] --store DIR\n\ncommands:\n", cli_prog);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-*s  %s\n", width, commands[i].name, commands[i].summary);
    fprintf(out, "\n'%s COMMAND --help' describes each one. Exit status: 0 done, 1 refused "
                 "(nothing changed), 2 usage or bad settings, 3 integrity failure.\n%s", cli_prog, footer);
    return out == stdout ? CLI_OK : CLI_USAGE;
}

int cli_dispatch(const struct cli_command *commands, size_t n, int argc, char **argv,
                 const char *footer)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
                      !strcmp(argv[1], "help")))
        return usage(stdout, commands, n, footer);
    /* past a file size limit (ulimit -f) a write fails with EFBIG, which
     * the store reports as a full disk in one line, rather than the
     * process being killed with nothing said */
    signal(SIGXFSZ, SIG_IGN);
    for (size_t i = 0; argc >= 2 && i < n; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            guard_install(cli_prog, commands[i].name); /* a damaged store said */
            return commands[i].run(argc - 1, argv + 1);
        }
    /* one line: the list is what --help is for */
    if (argc < 2)
        fprintf(stderr, "%s: no command given: '%s --help' lists them\n", cli_prog, cli_prog);
    else
        fprintf(stderr, "%s: unknown command '%s': '%s --help' lists them\n", cli_prog,
                text_quote(argv[1], 64, &(struct text_quote){{0}}), cli_prog);
    return CLI_USAGE;
}

static char problem[160]; /* what cli_getopt found wrong, for cli_usage */

/* Options a command takes more than once, each time one more value:
 * update's --set, management-review's --decision and --action. */
static int repeatable(const struct option *o, const struct option *opts)
{
    static const char *const names[] = {"set", "action", NULL};
    for (size_t i = 0; names[i]; i++)
        if (!strcmp(o->name, names[i]))
            return 1;
    /* management-review's --decision is a list; review-declaration's is one */
    if (!strcmp(o->name, "decision"))
        for (const struct option *p = opts; p->name; p++)
            if (!strcmp(p->name, "action"))
                return 1;
    return 0;
}

int cli_getopt(int argc, char **argv, const char *shorts, const struct option *opts)
{
    static const struct option *seen_in; /* the options table and */
    static char **seen_of;               /* the arguments seen is of */
    static unsigned char seen[64];
    int at = -1;
    opterr = 0;
    int opt = getopt_long(argc, argv, shorts, opts, &at);
    if (seen_in != opts || seen_of != argv) { /* another command's parse */
        memset(seen, 0, sizeof seen);
        seen_in = opts;
        seen_of = argv;
    }
    /* the same option twice: the last value would win unsaid (a decision,
     * a date); a switch twice says nothing more, and a list takes many */
    if (opt != '?' && at >= 0 && at < (int)sizeof seen && opts[at].has_arg != no_argument &&
        !repeatable(&opts[at], opts)) {
        if (seen[at]++) {
            snprintf(problem, sizeof problem, "--%s given twice: give it once", opts[at].name);
            return '?';
        }
    }
    if (opt != '?')
        return opt;
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    if (strncmp(arg, "--", 2) == 0) { /* a long option: named from its text */
        const char *name = arg + 2;
        int len = (int)strcspn(name, "="), hits = 0;
        const struct option *hit = NULL;
        for (const struct option *o = opts; o->name && !(hit && hits == 0); o++)
            if (strncmp(o->name, name, (size_t)len) == 0) {
                hit = o;
                hits = (int)strlen(o->name) == len ? 0 : hits + 1; /* 0: exact */
            }
        if (hits > 1)
            snprintf(problem, sizeof problem, "ambiguous option '--%.*s'",
                     (int)text_cut(name, (size_t)(len > 64 ? 64 : len)), name);
        else if (hit && name[len] == '=' && hit->has_arg == no_argument)
            snprintf(problem, sizeof problem, "option '--%s' takes no value", hit->name);
        else if (hit && hit->has_arg == required_argument)
            snprintf(problem, sizeof problem, "option '--%s' needs a value", hit->name);
        else
            snprintf(problem, sizeof problem, "unknown option '--%.*s'",
                     (int)text_cut(name, (size_t)(len > 64 ? 64 : len)), name);
        return opt;
    }
    if (optopt && optopt < 128 && strchr(shorts, optopt))
        snprintf(problem, sizeof problem, "option '-%c' needs a value", optopt);
    else if (optopt && optopt < 128)
        snprintf(problem, sizeof problem, "unknown option '-%c'", optopt);
    else
        snprintf(problem, sizeof problem, "unknown option '%.*s'", (int)text_cut(arg, 64), arg);
    return opt;
}

int cli_common_option(struct cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_STORE: c->store_dir = arg; return 1;
    case CLI_OPT_KEY: c->key_path = arg; return 1;
    case CLI_OPT_AUTHOR: c->author = arg; return 1;
    default: return 0;
    }
}

int cli_common_finish(struct cli_common *c)
{
    if (!c->store_dir)
        c->store_dir = getenv("SCSMS_STORE");
    if (!c->author)
        c->author = getenv("SCSMS_AUTHOR");
    if (!c->store_dir || !*c->store_dir) {
        fprintf(stderr, "%s: no store given: use --store DIR or set SCSMS_STORE\n", cli_prog);
        return CLI_USAGE;
    }
    return 0;
}

int cli_error(int code)
{
    fprintf(stderr, "%s: %s\n", cli_prog, scsms_errmsg());
    if (code == SCSMS_ETAMPER)
        return CLI_TAMPER;
    if (code == SCSMS_ECONFIG)
        return CLI_USAGE;
    return CLI_FAIL;
}

int cli_parse_version(const char *text, uint32_t *version)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || v == 0 || v > UINT32_MAX) {
        fprintf(stderr, "%s: --version must be a number from 1 to %u, got '%s'\n", cli_prog,
                UINT32_MAX, text_quote(text, 32, &(struct text_quote){{0}}));
        return CLI_USAGE;
    }
    *version = (uint32_t)v;
    return 0;
}

int cli_lock_store(const char *dir, const char *file, const char *who, int *fd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return scsms_fail(SCSMS_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        *fd = -1;
        return scsms_fail(SCSMS_EBUSY, "%s '%s': stop it first", who, dir);
    }
    return 0;
}

int cli_usage_because(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    return cli_usage(usage);
}

int cli_positionals(int argc, char **argv, const char *what, const char *usage)
{
    int want = what ? 1 : 0;
    if (argc - optind == want)
        return 0;
    if (argc - optind < want)
        return cli_usage_because(usage, "missing %s", what);
    return cli_usage_because(usage, "unexpected argument '%s'",
                             text_quote(argv[optind + want], 32, &(struct text_quote){{0}}));
}

int cli_usage(const char *usage)
{
    text_printable(problem); /* it may quote an argument: one line, as written */
    fprintf(stderr, "%s: %s; usage: %s\n", cli_prog, problem[0] ? problem : "wrong arguments",
            usage);
    problem[0] = '\0';
    return CLI_USAGE;
}

void cli_settings_ignored(const store_t *s, const char *what)
{
    const char *why = store_settings_refused(s);
    if (why)
        fprintf(stderr, "%s: warning: %s; its defaults taken for %s, which needs none of it\n",
                cli_prog, why, what);
}

/* cli_open, with or without cli_hq_only's check; any: settings optional */
static int open_store(const struct cli_common *c, int hq_only, int any, store_t **out)
{
    struct store_options o = {.key_path = c->key_path, .settings_optional = any};
    store_t *s = NULL;
    int rc = store_open(c->store_dir, &o, &s);
    *out = NULL;
    if (rc)
        return cli_error(rc);
    if (hq_only && store_role(s) != STORE_ROLE_HQ) {
        const char *whose = store_role(s) == STORE_ROLE_SITE ? "site" : "partner";
        store_close(&s);
        return cli_error(scsms_fail(SCSMS_EINVAL, "'%s' is a %s's store, not head office's: %s "
                                    "works on the store '%s init' made", c->store_dir, whose,
                                    cli_prog, cli_prog));
    }
    if (c->author && (rc = store_set_author(s, c->author))) {
        store_close(&s);
        return cli_error(rc);
    }
    *out = s;
    return 0;
}

int cli_open(const struct cli_common *c, store_t **out)
{
    return open_store(c, cli_hq_only, 0, out);
}

int cli_open_any(const struct cli_common *c, store_t **out) { return open_store(c, 0, 1, out); }

static int read_stream(FILE *f, const char *name, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n > RECORD_MAX_BYTES) {
            free(buf);
            return scsms_fail(SCSMS_EINVAL, "JSON in %s is larger than the record limit of %u "
                              "bytes", name, RECORD_MAX_BYTES);
        }
        if (n == cap) {
            char *p = realloc(buf, cap * 2 + 1);
            if (!p) {
                free(buf);
                return scsms_fail(SCSMS_ENOMEM, "out of memory");
            }
            buf = p;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        free(buf);
        return scsms_fail(SCSMS_EIO, "cannot read %s", name);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

int cli_read_json_arg(const char *arg, char **out, size_t *len)
{
    if (strcmp(arg, "-") == 0)
        return read_stream(stdin, "standard input", out, len);
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "r");
        if (!f)
            return scsms_fail(SCSMS_ENOTFOUND, "cannot open '%s': %s", arg + 1, strerror(errno));
        int rc = read_stream(f, arg + 1, out, len);
        fclose(f);
        return rc;
    }
    size_t n = strlen(arg);
    if (n > RECORD_MAX_BYTES)
        return scsms_fail(SCSMS_EINVAL, "JSON argument is larger than the record limit of %u bytes",
                          RECORD_MAX_BYTES);
    *out = strdup(arg);
    *len = n;
    return *out ? 0 : scsms_fail(SCSMS_ENOMEM, "out of memory");
}

/* A short human summary: the body's first non-empty text field. */
const char *cli_summary(const Scsms__Record *rec)
{
    const ProtobufCFieldDescriptor *bf =
        protobuf_c_message_descriptor_get_field(&scsms__record__descriptor, rec->body_case);
    const ProtobufCMessage *body = *(const ProtobufCMessage *const *)((const char *)rec + bf->offset);
    static const char *prefer[] = {"title", "description", "scenario", "summary", "subject",
                                   "course", "person", "area", "location", "name", "threatened",
                                   "indicator", "equipment_id", "coverage", "boundaries", "audit_scope",
                                   "performed_by", "doc_id", "subject_id", NULL};
    for (const char **p = prefer; *p; p++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(body->descriptor, *p);
        if (f && f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED) {
            const char *v = *(char *const *)((const char *)body + f->offset);
            if (v && *v)
                return v;
        }
    }
    return "";
}


int cli_check_format(const char *format, const char *allowed)
{
    return cli_check_choice("--format", format, allowed);
}

int cli_check_choice(const char *option, const char *value, const char *allowed)
{
    size_t fl = strlen(value), n = 0;
    char list[128] = "";
    for (const char *p = allowed; *p;) {
        size_t wl = strcspn(p, " ");
        if (wl == fl && strncmp(p, value, fl) == 0)
            return 0;
        p += wl + (p[wl] == ' ');
        n++;
    }
    /* "a, b or c" */
    size_t off = 0, k = 0;
    for (const char *p = allowed; *p && off < sizeof list; k++) {
        size_t wl = strcspn(p, " ");
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%.*s",
                                k == 0 ? "" : k + 1 == n ? " or " : ", ", (int)wl, p);
        p += wl + (p[wl] == ' ');
    }
    fprintf(stderr, "%s: %s must be %s, got '%s'\n", cli_prog, option, list,
            text_quote(value, 32, &(struct text_quote){{0}}));
    return CLI_USAGE;
}

int cli_parse_range(const char *option, const char *text, unsigned long lo, unsigned long hi,
                    const char *unit, unsigned long *out)
{
    struct text_quote q;
    if (!text_digits(text, lo, hi, out)) {
        fprintf(stderr, "%s: %s must be %lu to %lu %s, got '%s'\n", cli_prog, option, lo, hi,
                unit, text_quote(text, 32, &q));
        return CLI_USAGE;
    }
    return 0;
}

int cli_parse_within(const char *text, long *days)
{
    unsigned long v;
    int rc = cli_parse_range("--within", text, 0, 3650, "days", &v);
    if (rc == 0)
        *days = (long)v;
    return rc;
}

int cli_check_date(const char *opt, const char *text, int64_t *day)
{
    int64_t d;
    if (isotime_parse_date(text, day ? day : &d) == 0)
        return 0;
    fprintf(stderr, "%s: %s '%s' is not a date: give YYYY-MM-DD\n", cli_prog, opt,
            text_quote(text, 32, &(struct text_quote){{0}}));
    return CLI_USAGE;
}

/* cmd_report.c -- scsms-server report review|gaps|aeo: head office's
 * reports over every site's records (common/report.h builds them). */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isotime.h"
#include "report.h"
#include "text.h"

#define REPORT_USAGE                                                                          \
    "scsms-server report review|gaps|aeo [--from DATE] [--to DATE] [--sites ID,ID...] "      \
    "[--format html|json|csv|table] [--out FILE] --store DIR"

enum { OPT_FROM = CLI_OPT_FIRST_OWN, OPT_TO, OPT_SITES, OPT_FORMAT, OPT_OUT };

struct report_args {
    struct cli_common c;
    const char *from, *to, *sites, *format, *out;
};

/* On a terminal only: how far the scan has got, on one line. */
static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    fprintf(stderr, "\rreport: %llu of %llu records (%llu%%)", (unsigned long long)done,
            (unsigned long long)total, (unsigned long long)(total ? 100 * done / total : 100));
}

/* "A,B,C" into a malloc'd array of pointers into the malloc'd copy *buf. */
static int split_sites(const char *list, char **buf, const char ***out, size_t *n)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    *buf = strdup(list);
    *out = calloc(cap, sizeof **out);
    *n = 0;
    if (!*buf || !*out)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (char *save = NULL, *tok = strtok_r(*buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        (*out)[(*n)++] = tok;
    if (*n == 0)
        return scsms_fail(SCSMS_EINVAL, "--sites names no site: give ID,ID...");
    return 0;
}

static int parse(int argc, char **argv, struct report_args *a)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"sites", required_argument, NULL, OPT_SITES},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"out", required_argument, NULL, OPT_OUT},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&a->c, opt, optarg))
            continue;
        switch (opt) {
        case OPT_FROM: a->from = optarg; break;
        case OPT_TO: a->to = optarg; break;
        case OPT_SITES: a->sites = optarg; break;
        case OPT_FORMAT: a->format = optarg; break;
        case OPT_OUT: a->out = optarg; break;
        case 'h': printf("usage: %s\n", REPORT_USAGE); return -1;
        default: return cli_usage(REPORT_USAGE);
        }
    }
    int rc = cli_positionals(argc, argv, "the report (review, gaps or aeo)", REPORT_USAGE);
    return rc ? rc : cli_common_finish(&a->c);
}

int srv_report(int argc, char **argv)
{
    struct report_args a = {0};
    struct report_options o = {0};
    enum report_format format;
    char *site_buf = NULL, *text = NULL;
    const char **sites = NULL;
    struct json_object *rep = NULL;
    store_t *s = NULL;
    size_t len = 0;
    int rc = parse(argc, argv, &a), code = CLI_OK;
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (report_kind_parse(argv[optind], &o.kind) ||
        report_format_parse(a.format ? a.format : a.out ? "html" : "table", &format)) {
        fprintf(stderr, "%s: %s\n", cli_prog, scsms_errmsg());
        return CLI_USAGE;
    }
    if (o.kind == REPORT_REVIEW && (!a.from || !a.to)) {
        fprintf(stderr, "%s: report review needs --from and --to (the review period)\n", cli_prog);
        return CLI_USAGE;
    }
    o.to = isotime_days(isotime_now());
    if ((a.to && (rc = cli_check_date("--to", a.to, &o.to))) ||
        (rc = cli_check_date("--from", a.from ? a.from : a.to ? a.to : "1970-01-01", &o.from)))
        return rc;
    if (!a.from && !a.to)
        o.from = o.to; /* gaps and aeo as of today */
    if (a.sites && (rc = split_sites(a.sites, &site_buf, &sites, &o.n_sites))) {
        code = cli_error(rc);
        goto out;
    }
    o.sites = sites;
    if (isatty(STDERR_FILENO))
        o.progress = show_progress;
    if ((code = cli_open(&a.c, &s)))
        goto out;
    rc = report_build(s, &o, &rep);
    if (o.progress)
        fputs("\r\033[K", stderr); /* the progress line goes once the scan ends */
    if (rc == 0)
        rc = report_render(rep, format, &text, &len);
    if (rc == 0 && a.out) {
        uint8_t sha[CRYPTO_HASH_LEN];
        char hex[2 * CRYPTO_HASH_LEN + 1];
        if ((rc = report_write_file(a.out, text, len, sha)) == 0) {
            crypto_hex(sha, sizeof sha, hex);
            printf("wrote %s %s %s (%zu bytes, sha256 %s)\n", argv[optind],
                   o.kind == REPORT_REVIEW ? "pack" : "report", a.out, len, hex);
        }
    } else if (rc == 0 && fwrite(text, 1, len, stdout) != len) {
        rc = scsms_fail(SCSMS_EIO, "cannot write the report to standard output");
    }
    if (rc)
        code = cli_error(rc);
out:
    json_object_put(rep);
    store_close(&s);
    free(text);
    free(sites);
    free(site_buf);
    return code;
}

/* cli_store.c -- verify, backup and restore: the same three commands in
 * scsms-agent (a site's store) and scsms-server (head office's, which
 * holds every site's verified copy). See cli.h. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "verify.h"

/* Parse the common options plus exactly one positional argument, which
 * what names, into *pos when pos is given, none otherwise; drop_newer:
 * where restore's --drop-newer goes, NULL for the others. Returns 0, an
 * exit code, or -1 after printing help. */
static int parse_simple(int argc, char **argv, const char *usage, const char *what,
                        const char **pos, struct cli_common *c, int *drop_newer)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {"drop-newer", no_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(c, opt, optarg))
            continue;
        if (opt == 'D' && drop_newer) {
            *drop_newer = 1;
            continue;
        }
        if (opt == 'h') {
            printf("usage: %s\n", usage);
            return -1;
        }
        return cli_usage(usage);
    }
    int rc = cli_positionals(argc, argv, pos ? what : NULL, usage);
    if (rc)
        return rc;
    if (pos)
        *pos = argv[optind];
    return cli_common_finish(c);
}

/* "PROG WORDS": the usage line of this program's subcommand. */
static const char *usage_of(char buf[256], const char *words)
{
    snprintf(buf, 256, "%s %s", cli_prog, words);
    return buf;
}

int cli_verify(int argc, char **argv)
{
    struct cli_common c = {0};
    struct verify_report rep;
    struct store_stats st;
    char hex[2 * CRYPTO_HASH_LEN + 1], usage[256];
    int rc = parse_simple(argc, argv, usage_of(usage, "verify --store DIR [--key FILE]"), NULL, NULL,
                          &c,
                          NULL);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    /* a data file that does not open as a store (truncated, damaged) or
     * does not go with its key is an integrity failure as much as an
     * altered entry: exit 3 for both, which is what scripts test for */
    store_t *s = NULL;
    struct store_options o = {.key_path = c.key_path, .settings_optional = 1};
    rc = store_open(c.store_dir, &o, &s);
    if (rc == 0) {
        cli_settings_ignored(s, "verify"); /* an auditor's copy may come with a bad one */
        rc = verify_store(s, &rep);
    }
    if (rc == 0)
        rc = store_stats(s, &st);
    /* entries head office acknowledged are this store's own, whatever the
     * data file says: fewer is a store rolled back (an old copy put in
     * place, or LMDB's previous commit taken after damage to its last) */
    uint64_t acked = cli_acked_seq(c.store_dir);
    if (rc == 0 && st.head_seq < acked)
        rc = scsms_fail(SCSMS_ETAMPER, "the log ends at entry %llu, but head office acknowledged "
                        "entries up to %llu (sync.state): the store was rolled back or replaced "
                        "by an older copy", (unsigned long long)st.head_seq,
                        (unsigned long long)acked);
    store_close(&s);
    if (rc) {
        fprintf(stderr, "%s: verify failed: %s\n", cli_prog, scsms_errmsg());
        return rc == SCSMS_ETAMPER || rc == SCSMS_EKEY || rc == SCSMS_ECORRUPT ? CLI_TAMPER
                                                                                : CLI_FAIL;
    }
    crypto_hex(st.head_hash, sizeof st.head_hash, hex);
    /* a store holding others' logs too (head office's copies of its sites',
     * a site's copy of head office's) says how many, and whose head is shown */
    int others = rep.owners > 1;
    printf("ok: %llu entries", (unsigned long long)rep.entries);
    if (others)
        printf(" in %llu logs", (unsigned long long)rep.owners);
    printf(", %llu records, %llu signed checkpoints verified", (unsigned long long)rep.records,
           (unsigned long long)rep.checkpoints);
    if (rep.received) /* a partner's reviews from head office */
        printf(", %llu sealed records received", (unsigned long long)rep.received);
    printf("; %s %llu %s\n", others ? "own log's head" : "head", (unsigned long long)st.head_seq,
           hex);
    return CLI_OK;
}

int cli_backup(int argc, char **argv)
{
    struct cli_common c = {0};
    const char *dest;
    char usage[256];
    int rc = parse_simple(argc, argv, usage_of(usage, "backup DEST --store DIR"), "DEST", &dest,
                          &c, NULL);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    store_t *s = NULL;
    if ((rc = cli_open_any(&c, &s))) /* any store: a copy needs no role, nor settings */
        return rc;
    cli_settings_ignored(s, "backup");
    rc = store_backup(s, dest);
    store_close(&s);
    if (rc)
        return cli_error(rc);
    printf("backup of %s written to %s and verified\n", c.store_dir, dest);
    return CLI_OK;
}

int cli_state_line(FILE *f, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, f))
        return 0;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] != '\n') { /* cut short: skip to the end of the line */
        int c;
        while ((c = getc(f)) != EOF && c != '\n')
            ;
    }
    return 1;
}

uint64_t cli_acked_seq(const char *dir)
{
    char path[4096], line[256];
    unsigned long long acked = 0;
    snprintf(path, sizeof path, "%s/sync.state", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (cli_state_line(f, line, sizeof line))
        if (sscanf(line, "acked_seq %llu", &acked) == 1)
            break;
    fclose(f);
    return acked;
}

int cli_restore(int argc, char **argv)
{
    struct cli_common c = {0};
    const char *src;
    char usage[256];
    int drop_newer = 0;
    int rc = parse_simple(argc, argv,
                          usage_of(usage, "restore SRC --store DIR [--key FILE] [--drop-newer]"),
                          "SRC", &src, &c, &drop_newer);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    struct store_options o = {.key_path = c.key_path, .restore_reach = cli_acked_seq,
                              .restore_drop_newer = drop_newer};
    if ((rc = store_restore(c.store_dir, src, &o)))
        return cli_error(rc);
    printf("restored %s from %s after verifying it\n", c.store_dir, src);
    return CLI_OK;
}

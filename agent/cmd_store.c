/* cmd_store.c -- init, verify, backup, restore. */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "verify.h"

enum { OPT_SITE = CLI_OPT_FIRST_OWN, OPT_ROLE, OPT_REASON };

/* Parse the common options plus up to one positional argument. Returns 0,
 * an exit code, or -1 after printing help. */
static int parse_simple(int argc, char **argv, const char *usage, const char **pos,
                        struct cli_common *c)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_option(c, opt, optarg))
            continue;
        if (opt == 'h') {
            printf("usage: %s\n", usage);
            return -1;
        }
        return cli_usage(usage);
    }
    if ((pos != NULL) != (optind == argc - 1) || optind < argc - 1)
        return cli_usage(usage);
    if (pos)
        *pos = argv[optind];
    return cli_common_finish(c, usage);
}

#define INIT_USAGE "scsms-agent init --site ID [--role site|partner|hq] --store DIR"

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"site", required_argument, NULL, OPT_SITE},
        {"role", required_argument, NULL, OPT_ROLE},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    const char *site = NULL, *role = "site";
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_SITE)
            site = optarg;
        else if (opt == OPT_ROLE)
            role = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", INIT_USAGE);
            return CLI_OK;
        } else
            return cli_usage(INIT_USAGE);
    }
    if (optind != argc || !site)
        return cli_usage(INIT_USAGE);
    int rc = cli_common_finish(&c, INIT_USAGE);
    if (rc)
        return rc;
    enum store_role r;
    if (strcmp(role, "site") == 0)
        r = STORE_ROLE_SITE;
    else if (strcmp(role, "partner") == 0)
        r = STORE_ROLE_PARTNER;
    else if (strcmp(role, "hq") == 0)
        r = STORE_ROLE_HQ;
    else {
        fprintf(stderr, "scsms-agent: --role must be site, partner or hq\n");
        return CLI_USAGE;
    }
    if ((rc = store_create(c.store_dir, site, r, NULL)))
        return cli_error(rc);
    store_t *s = cli_open(&c);
    if (!s)
        return CLI_FAIL;
    uint8_t pub[CRYPTO_PUB_LEN];
    char hex[2 * CRYPTO_PUB_LEN + 1];
    store_public_key(s, pub);
    crypto_hex(pub, sizeof pub, hex);
    char curve[IDENTITY_Z85_LEN + 1], secret[IDENTITY_Z85_LEN + 1];
    if ((rc = identity_curve_load(c.store_dir, curve, secret))) {
        store_close(&s);
        return cli_error(rc);
    }
    memset(secret, 0, sizeof secret);
    printf("created store for %s %s in %s\n", role, site, c.store_dir);
    printf("sign-key %s\n", hex);
    printf("curve-key %s\n", curve);
    store_close(&s);
    return CLI_OK;
}

#define VERIFY_USAGE "scsms-agent verify --store DIR [--key FILE]"

int cmd_verify(int argc, char **argv)
{
    struct cli_common c = {0};
    struct verify_report rep;
    struct store_stats st;
    char hex[2 * CRYPTO_HASH_LEN + 1];
    int rc = parse_simple(argc, argv, VERIFY_USAGE, NULL, &c);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    store_t *s = cli_open(&c);
    if (!s)
        return CLI_FAIL;
    rc = verify_store(s, &rep);
    if (rc == 0)
        rc = store_stats(s, &st);
    store_close(&s);
    if (rc) {
        fprintf(stderr, "scsms-agent: verify failed: %s\n", scsms_errmsg());
        return rc == SCSMS_ETAMPER || rc == SCSMS_EKEY ? CLI_TAMPER : CLI_FAIL;
    }
    crypto_hex(st.head_hash, sizeof st.head_hash, hex);
    printf("ok: %llu entries, %llu records, %llu signed checkpoints verified",
           (unsigned long long)rep.entries, (unsigned long long)rep.records,
           (unsigned long long)rep.checkpoints);
    if (rep.received) /* a partner's reviews from head office */
        printf(", %llu sealed records received", (unsigned long long)rep.received);
    printf("; head %llu %s\n", (unsigned long long)st.head_seq, hex);
    return CLI_OK;
}

#define BACKUP_USAGE "scsms-agent backup DEST --store DIR"

int cmd_backup(int argc, char **argv)
{
    struct cli_common c = {0};
    const char *dest;
    int rc = parse_simple(argc, argv, BACKUP_USAGE, &dest, &c);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    store_t *s = cli_open(&c);
    if (!s)
        return CLI_FAIL;
    rc = store_backup(s, dest);
    store_close(&s);
    if (rc)
        return cli_error(rc);
    printf("backup of %s written to %s and verified\n", c.store_dir, dest);
    return CLI_OK;
}

#define RESTORE_USAGE "scsms-agent restore SRC --store DIR [--key FILE]"

int cmd_restore(int argc, char **argv)
{
    struct cli_common c = {0};
    const char *src;
    int rc = parse_simple(argc, argv, RESTORE_USAGE, &src, &c);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    struct store_options o = {.key_path = c.key_path};
    if ((rc = store_restore(c.store_dir, src, &o)))
        return cli_error(rc);
    printf("restored %s from %s after verifying it\n", c.store_dir, src);
    return CLI_OK;
}

#define DISPOSE_USAGE "scsms-agent dispose ID --reason TEXT --author NAME --store DIR"

int cmd_dispose(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, OPT_REASON},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    const char *reason = NULL;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_REASON)
            reason = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", DISPOSE_USAGE);
            return CLI_OK;
        } else
            return cli_usage(DISPOSE_USAGE);
    }
    if (optind != argc - 1 || !reason)
        return cli_usage(DISPOSE_USAGE);
    if ((rc = cli_common_finish(&c, DISPOSE_USAGE)))
        return rc;
    store_t *s = cli_open(&c);
    if (!s)
        return CLI_FAIL;
    rc = store_dispose(s, argv[optind], reason);
    store_close(&s);
    if (rc)
        return cli_error(rc);
    printf("%s disposed of; its tombstone remains\n", argv[optind]);
    return CLI_OK;
}

/* cmd_store.c -- init and dispose (verify, backup and restore are
 * common/cli_store.c, shared with scsms-server). */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

#include "identity.h"

enum { OPT_SITE = CLI_OPT_FIRST_OWN, OPT_ROLE, OPT_REASON, OPT_SERVER, OPT_SERVER_KEY };

#define INIT_USAGE                                                                          \
    "scsms-agent init --site ID [--role site|partner|hq] [--server tcp://HOST:PORT "       \
    "--server-key Z85] --store DIR"

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"site", required_argument, NULL, OPT_SITE},
        {"role", required_argument, NULL, OPT_ROLE},
        {"server", required_argument, NULL, OPT_SERVER},
        {"server-key", required_argument, NULL, OPT_SERVER_KEY},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    struct store_options so = {0};
    const char *site = NULL, *role = "site";
    int opt;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_SITE)
            site = optarg;
        else if (opt == OPT_ROLE)
            role = optarg;
        else if (opt == OPT_SERVER)
            so.server = optarg;
        else if (opt == OPT_SERVER_KEY)
            so.server_key = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", INIT_USAGE);
            return CLI_OK;
        } else
            return cli_usage(INIT_USAGE);
    }
    int rc = cli_positionals(argc, argv, NULL, INIT_USAGE);
    if (rc)
        return rc;
    if (!site)
        return cli_usage_because(INIT_USAGE, "missing --site ID");
    if (c.key_path) /* it would open the new store with another key, and fail */
        return cli_usage_because(INIT_USAGE, "init makes the store's own keys: --key is for "
                                 "opening a store made before");
    if (!so.server != !so.server_key)
        return cli_usage_because(INIT_USAGE, "%s needs %s: give both, or neither",
                                 so.server ? "--server" : "--server-key",
                                 so.server ? "--server-key" : "--server");
    rc = cli_common_finish(&c);
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
    if ((rc = store_create(c.store_dir, site, r, &so)))
        return cli_error(rc);
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
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
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
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
    if ((rc = cli_positionals(argc, argv, "ID", DISPOSE_USAGE)))
        return rc;
    if (!reason)
        return cli_usage_because(DISPOSE_USAGE, "missing --reason TEXT");
    if ((rc = cli_common_finish(&c)))
        return rc;
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
    rc = store_dispose(s, argv[optind], reason);
    store_close(&s);
    if (rc)
        return cli_error(rc);
    printf("%s disposed of; its tombstone remains\n", argv[optind]);
    return CLI_OK;
}

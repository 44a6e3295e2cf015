/* admin.c -- scsms-server init, enrol, revoke, sites. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "identity.h"
#include "isotime.h"
#include "sync.h"

enum { OPT_ID = CLI_OPT_FIRST_OWN, OPT_ROLE, OPT_CURVE, OPT_SIGN };

static const struct option admin_opts[] = {
    {"id", required_argument, NULL, OPT_ID},
    {"role", required_argument, NULL, OPT_ROLE},
    {"curve-key", required_argument, NULL, OPT_CURVE},
    {"sign-key", required_argument, NULL, OPT_SIGN},
    CLI_COMMON_OPTIONS,
    {NULL, 0, NULL, 0}};

struct admin_args {
    struct cli_common c;
    const char *id, *role, *curve, *sign;
};

/* Returns 0, an exit code, or -1 after printing help. */
static int parse(int argc, char **argv, const char *usage, struct admin_args *a)
{
    int opt;
    while ((opt = cli_getopt(argc, argv, "h", admin_opts)) != -1) {
        if (cli_common_option(&a->c, opt, optarg))
            continue;
        switch (opt) {
        case OPT_ID: a->id = optarg; break;
        case OPT_ROLE: a->role = optarg; break;
        case OPT_CURVE: a->curve = optarg; break;
        case OPT_SIGN: a->sign = optarg; break;
        case 'h': printf("usage: %s\n", usage); return -1;
        default: return cli_usage(usage);
        }
    }
    int rc = cli_positionals(argc, argv, NULL, usage);
    return rc ? rc : cli_common_finish(&a->c);
}

#define INIT_USAGE "scsms-server init [--id HQ] --store DIR"

int srv_init(int argc, char **argv)
{
    struct admin_args a = {0};
    int rc = parse(argc, argv, INIT_USAGE, &a);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (a.c.key_path) /* it would open the new store with another key, and fail */
        return cli_usage_because(INIT_USAGE, "init makes the store's own keys: --key is for "
                                 "opening a store made before");
    const char *id = a.id ? a.id : "HQ";
    if ((rc = store_create(a.c.store_dir, id, STORE_ROLE_HQ, NULL)))
        return cli_error(rc);
    store_t *s = NULL;
    if ((rc = cli_open(&a.c, &s)))
        return rc;
    uint8_t pub[CRYPTO_PUB_LEN];
    char hex[2 * CRYPTO_PUB_LEN + 1], curve[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    store_public_key(s, pub);
    crypto_hex(pub, sizeof pub, hex);
    store_close(&s);
    if ((rc = identity_curve_load(a.c.store_dir, curve, sec)))
        return cli_error(rc);
    memset(sec, 0, sizeof sec);
    printf("created head-office store %s in %s\n", id, a.c.store_dir);
    printf("sign-key %s\n", hex);
    printf("curve-key %s\n", curve);
    return CLI_OK;
}

#define ENROL_USAGE                                                                          \
    "scsms-server enrol --id ID --role site|partner|hq --curve-key Z85 --sign-key HEX "      \
    "--store DIR"

static int parse_role(const char *role, Scsms__Identity__Role *out)
{
    if (!role)
        return 0;
    if (!strcmp(role, "site"))
        *out = SCSMS__IDENTITY__ROLE__SITE;
    else if (!strcmp(role, "partner"))
        *out = SCSMS__IDENTITY__ROLE__PARTNER;
    else if (!strcmp(role, "hq"))
        *out = SCSMS__IDENTITY__ROLE__HQ;
    else
        return 0;
    return 1;
}

int srv_enrol(int argc, char **argv)
{
    struct admin_args a = {0};
    Scsms__Identity id = SCSMS__IDENTITY__INIT;
    uint8_t sign[CRYPTO_PUB_LEN];
    char now[ISOTIME_INSTANT_LEN + 1];
    int rc = parse(argc, argv, ENROL_USAGE, &a);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (!a.id || !a.role || !a.curve || !a.sign)
        return cli_usage(ENROL_USAGE);
    if (!parse_role(a.role, &id.role)) {
        fprintf(stderr, "scsms-server: --role must be site, partner or hq\n");
        return CLI_USAGE;
    }
    if (!identity_curve_valid(a.curve))
        return cli_error(scsms_fail(SCSMS_EINVAL, "--curve-key '%.48s' is not a CURVE key: give "
                                    "the 40-character curve-key that 'scsms-agent init' printed",
                                    a.curve));
    if (crypto_unhex(a.sign, sign, sizeof sign))
        return cli_error(scsms_fail(SCSMS_EINVAL, "--sign-key must be the 64 hex digits "
                                    "'scsms-agent init' printed as sign-key"));
    store_t *s = NULL;
    if ((rc = cli_open(&a.c, &s)))
        return rc;
    /* head office's own key would let the identity pass for the server */
    char own[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    rc = identity_curve_load(a.c.store_dir, own, sec);
    memset(sec, 0, sizeof sec);
    if (rc == 0 && strcmp(own, a.curve) == 0)
        rc = scsms_fail(SCSMS_EEXIST, "CURVE key '%.40s' is head office's own: each identity "
                        "connects with its own key", a.curve);
    if (rc) {
        store_close(&s);
        return cli_error(rc);
    }
    isotime_format_instant(isotime_now(), now);
    id.id = (char *)a.id;
    id.curve_key = (char *)a.curve;
    id.sign_key.data = sign;
    id.sign_key.len = sizeof sign;
    id.enrolled_at = now;
    rc = store_identity_enrol(s, &id);
    store_close(&s);
    if (rc)
        return cli_error(rc);
    printf("enrolled %s as %s\n", a.id, a.role);
    return CLI_OK;
}

#define REVOKE_USAGE "scsms-server revoke --id ID --store DIR"

int srv_revoke(int argc, char **argv)
{
    struct admin_args a = {0};
    Scsms__Identity *id = NULL;
    char now[ISOTIME_INSTANT_LEN + 1];
    int rc = parse(argc, argv, REVOKE_USAGE, &a);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (!a.id)
        return cli_usage(REVOKE_USAGE);
    store_t *s = NULL;
    if ((rc = cli_open(&a.c, &s)))
        return rc;
    if ((rc = store_identity_get(s, a.id, &id)) == 0) {
        isotime_format_instant(isotime_now(), now);
        char *decoded = id->revoked_at; /* put back before freeing what was decoded */
        id->revoked = 1;
        id->revoked_at = now;
        rc = store_identity_put(s, id);
        id->revoked_at = decoded;
        scsms__identity__free_unpacked(id, NULL);
    }
    store_close(&s);
    if (rc)
        return cli_error(rc);
    printf("revoked %s: refused from its next message on\n", a.id);
    return CLI_OK;
}

struct sites_ctx {
    store_t *s;
};

/* How far a site's clock was from head office's at its last Hello: "ok"
 * within SYNC_CLOCK_TOLERANCE_S, "-" when never said. */
static const char *clock_said(int64_t offset, char buf[ISOTIME_SPAN_MAX + 16])
{
    if (offset == SYNC_CLOCK_UNKNOWN)
        return "-";
    if (!sync_clock_wrong(offset))
        return "ok";
    isotime_format_span(offset, buf);
    strcat(buf, offset > 0 ? " ahead" : " behind");
    return buf;
}

static int print_site(const Scsms__Identity *id, void *ctx)
{
    struct sites_ctx *c = ctx;
    static const char *roles[] = {"?", "site", "hq", "partner"};
    uint64_t seq;
    uint8_t head[CRYPTO_HASH_LEN];
    char hex[2 * CRYPTO_HASH_LEN + 1];
    struct sync_seen seen;
    char when[ISOTIME_INSTANT_LEN + 1] = "never", clock[ISOTIME_SPAN_MAX + 16];
    int rc = sync_head(c->s, id->id, &seq, head);
    if (rc == 0)
        rc = sync_seen_get(c->s, id->id, &seen);
    if (rc)
        return rc;
    crypto_hex(head, sizeof head, hex);
    if (seen.last_seen)
        isotime_format_instant(seen.last_seen, when);
    printf("%-20s %-8s %-8s %10llu  %-16.16s  %-20s %8llu  %s\n", id->id,
           roles[id->role <= 3 ? id->role : 0], id->revoked ? "revoked" : "active",
           (unsigned long long)seq, seq ? hex : "-", when, (unsigned long long)seen.backlog,
           clock_said(seen.clock_offset, clock));
    return 0;
}

#define SITES_USAGE "scsms-server sites --store DIR"

int srv_sites(int argc, char **argv)
{
    struct admin_args a = {0};
    int rc = parse(argc, argv, SITES_USAGE, &a);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    store_t *s = NULL;
    if ((rc = cli_open(&a.c, &s)))
        return rc;
    struct sites_ctx c = {s};
    /* the head is the last entry head office verified, under a checkpoint
     * the identity signed; the backlog is what it reported at last contact,
     * the clock how far its own was from head office's then */
    printf("%-20s %-8s %-8s %10s  %-16s  %-20s %8s  %s\n", "IDENTITY", "ROLE", "STATE", "HEAD",
           "SIGNED HEAD HASH", "LAST SEEN", "BACKLOG", "CLOCK");
    rc = store_identity_list(s, print_site, &c);
    store_close(&s);
    return rc ? cli_error(rc) : CLI_OK;
}

int srv_alerts(int argc, char **argv)
{
    return cli_due(argc, argv,
                   "scsms-server alerts [--within DAYS] [--format table|json] --store DIR", 1);
}

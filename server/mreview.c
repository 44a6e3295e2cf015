/* mreview.c -- scsms-server management-review: head office records its
 * management review (ISO 28000 4.6): the period, the decisions, the pack
 * it was held on (by the SHA-256 of the pack file's bytes, so anyone
 * holding the pack can show it is the one reviewed), and the resulting
 * actions, each addressed to the site it concerns.
 *
 * The review is a sealed record (seal.h): head office's signature over its
 * exact bytes travels with it. The actions are head-office action records
 * whose `source` link names the review and whose `site` names the site;
 * they reach the sites with head office's log, and each site's `due` lists
 * the ones addressed to it. Everything is checked before anything is
 * written, in one transaction: a bad site, date or pack path, a review
 * not yet held, or a pack built for another period (as the pack itself
 * records it) leaves the store as it was.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "isotime.h"
#include "report.h"

#define MREVIEW_USAGE                                                                        \
    "scsms-server management-review --pack FILE --from DATE --to DATE [--held DATE] "        \
    "--decision TEXT... [--action 'SITE|DUE_DATE|RESPONSIBLE|DESCRIPTION'...] "              \
    "[--kind corrective|preventive] --store DIR"

#define MAX_ITEMS 64

enum { OPT_PACK = CLI_OPT_FIRST_OWN, OPT_FROM, OPT_TO, OPT_HELD, OPT_DECISION, OPT_ACTION,
       OPT_KIND };

struct mreview_args {
    const char *pack, *from, *to, *held, *kind;
    int64_t held_day; /* held's */
    const char *decisions[MAX_ITEMS];
    size_t n_decisions;
    const char *actions[MAX_ITEMS];
    size_t n_actions;
};

/* SHA-256 of the pack file. */
static int hash_file(const char *path, uint8_t out[CRYPTO_HASH_LEN])
{
    uint64_t size = 0;
    int rc = crypto_sha256_file(path, out, &size);
    if (rc == SCSMS_ENOTFOUND)
        return scsms_fail(rc, "cannot read pack '%s'", path);
    if (rc == 0 && size == 0)
        return scsms_fail(SCSMS_EINVAL, "pack '%s' is empty", path);
    return rc;
}

/* One --action: SITE|DUE_DATE|RESPONSIBLE|DESCRIPTION, the site enrolled
 * as a site, due no earlier than the review was held (a->held). The action
 * record (caller frees) is ready but for its link. */
static int parse_action(store_t *s, const char *spec, const struct mreview_args *a,
                        Scsms__Record **out)
{
    char buf[2048], *part[4];
    Scsms__Identity *who = NULL;
    size_t n = 0;
    if (strlen(spec) >= sizeof buf)
        return scsms_fail(SCSMS_EINVAL, "--action is too long");
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *p = buf, *bar; n < 4; p = bar + 1) {
        part[n++] = p;
        if (!(bar = strchr(p, '|')))
            break;
        if (n < 4)
            *bar = 0;
    }
    if (n != 4 || !part[0][0] || !part[1][0] || !part[2][0] || !part[3][0])
        return scsms_fail(SCSMS_EINVAL, "--action '%.64s': give SITE|DUE_DATE|RESPONSIBLE|"
                          "DESCRIPTION", spec);
    int rc = store_identity_get(s, part[0], &who);
    int site = rc == 0 && who->role == SCSMS__IDENTITY__ROLE__SITE && !who->revoked;
    if (who)
        scsms__identity__free_unpacked(who, NULL);
    if (!site)
        return scsms_fail(SCSMS_EINVAL, "--action: '%.64s' is not an enrolled site", part[0]);
    Scsms__Record *rec = record_new(record_type_by_name("action"));
    if (!rec)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    Scsms__Action *act = rec->action;
    act->kind = !strcmp(a->kind, "preventive") ? SCSMS__ACTION__KIND__PREVENTIVE
                                               : SCSMS__ACTION__KIND__CORRECTIVE;
    if ((rc = record_set_string(&act->site, part[0])) ||
        (rc = record_set_string(&act->due_date, part[1])) ||
        (rc = record_set_string(&act->responsible, part[2])) ||
        (rc = record_set_string(&act->description, part[3])) || (rc = record_validate(rec))) {
        record_free(rec);
        return scsms_fail_context(rc, "--action '%.64s'", spec);
    }
    /* a typing slip of a year would make it overdue at every site at once */
    int64_t due;
    if (isotime_parse_date(act->due_date, &due) == 0 && due < a->held_day) {
        record_free(rec);
        return scsms_fail(SCSMS_EINVAL, "--action '%.64s': due %s, before the review was held "
                          "(%s): an action it decides falls due after it", spec, part[1],
                          a->held);
    }
    *out = rec;
    return 0;
}

/* The pack must be the one built for the period reviewed: its period,
 * as `report review` wrote it into the pack, is that of --from and --to.
 * A file that records no period (another report, a table, a PDF made from
 * the page) cannot show what it covers, so it is refused too. */
static int check_pack_period(const char *path, const Scsms__ManagementReview *m)
{
    char head[REPORT_PACK_HEAD], from[ISOTIME_DATE_LEN + 1], to[ISOTIME_DATE_LEN + 1];
    FILE *f = fopen(path, "rb");
    if (!f)
        return scsms_fail(SCSMS_ENOTFOUND, "cannot read pack '%s'", path);
    size_t n = fread(head, 1, sizeof head, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return scsms_fail(SCSMS_EIO, "cannot read pack '%s'", path);
    if (report_pack_period(head, n, from, to))
        return scsms_fail(SCSMS_EINVAL, "pack '%s' is not a review pack written by 'scsms-server "
                          "report review' (html, json or csv): its period cannot be read", path);
    if (strcmp(from, m->period_from_date) || strcmp(to, m->period_to_date))
        return scsms_fail(SCSMS_EINVAL, "pack '%s' is the review pack of %s to %s, not of the "
                          "period reviewed (%s to %s)", path, from, to, m->period_from_date,
                          m->period_to_date);
    return 0;
}

/* The review record, its dates checked: the period in order, held once
 * the period ended and not after today (a review is recorded once held). */
static int build_review(const struct mreview_args *a, const uint8_t hash[CRYPTO_HASH_LEN],
                        const char *today, Scsms__Record **out)
{
    Scsms__Record *rec = record_new(record_type_by_name("management_review"));
    if (!rec)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    Scsms__ManagementReview *m = rec->management_review;
    int rc = record_set_string(&m->period_from_date, a->from);
    if (rc == 0)
        rc = record_set_string(&m->period_to_date, a->to);
    if (rc == 0)
        rc = record_set_string(&m->held_date, a->held);
    if (rc == 0 && !(m->decisions = calloc(a->n_decisions, sizeof *m->decisions)))
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < a->n_decisions; i++, m->n_decisions++)
        rc = record_set_string(&m->decisions[i], a->decisions[i]);
    if (rc == 0 && !(m->pack_sha256.data = malloc(CRYPTO_HASH_LEN)))
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (rc == 0) {
        memcpy(m->pack_sha256.data, hash, CRYPTO_HASH_LEN);
        m->pack_sha256.len = CRYPTO_HASH_LEN;
        rc = record_validate(rec);
    }
    if (rc == 0 && strcmp(m->period_to_date, m->period_from_date) < 0)
        rc = scsms_fail(SCSMS_EINVAL, "--to %s is before --from %s", a->to, a->from);
    if (rc == 0 && strcmp(m->held_date, m->period_to_date) < 0)
        rc = scsms_fail(SCSMS_EINVAL, "--held %s is before the period it reviews ends (%s)",
                        m->held_date, m->period_to_date);
    if (rc == 0 && strcmp(m->held_date, today) > 0)
        rc = scsms_fail(SCSMS_EINVAL, "--held %s is in the future: record the review once it "
                        "has been held", m->held_date);
    if (rc)
        record_free(rec);
    else
        *out = rec;
    return rc;
}

/* The review and its actions in one batch: one transaction, all or none.
 * Each action's source link is "@0", the review's place in the batch,
 * which the commit turns into the review's id. */
static int write_all(store_t *s, Scsms__Record *review, Scsms__Record **actions, size_t n)
{
    store_batch_t *b = NULL;
    int rc = store_batch_new(s, &b);
    if (rc == 0)
        rc = store_batch_add(b, review);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((rc = record_add_link(actions[i], "source", "@0")) == 0)
            rc = store_batch_add(b, actions[i]);
    if (rc == 0)
        rc = store_batch_commit(b);
    if (rc == 0) {
        char hex[2 * CRYPTO_HASH_LEN + 1];
        crypto_hex(review->management_review->pack_sha256.data, CRYPTO_HASH_LEN, hex);
        printf("%s\nmanagement review of %s to %s on pack sha256 %s: %zu decisions, %zu actions\n",
               store_batch_id(b, 0), review->management_review->period_from_date,
               review->management_review->period_to_date, hex,
               review->management_review->n_decisions, n);
        for (size_t i = 0; i < n; i++)
            printf("%s for %s due %s: %s\n", store_batch_id(b, i + 1), actions[i]->action->site,
                   actions[i]->action->due_date, actions[i]->action->description);
    }
    store_batch_destroy(&b);
    return rc;
}

static int parse_args(int argc, char **argv, struct mreview_args *a, struct cli_common *c)
{
    static const struct option opts[] = {
        {"pack", required_argument, NULL, OPT_PACK},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"held", required_argument, NULL, OPT_HELD},
        {"decision", required_argument, NULL, OPT_DECISION},
        {"action", required_argument, NULL, OPT_ACTION},
        {"kind", required_argument, NULL, OPT_KIND},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(c, opt, optarg))
            continue;
        switch (opt) {
        case OPT_PACK: a->pack = optarg; break;
        case OPT_FROM: a->from = optarg; break;
        case OPT_TO: a->to = optarg; break;
        case OPT_HELD: a->held = optarg; break;
        case OPT_KIND: a->kind = optarg; break;
        case OPT_DECISION:
            if (a->n_decisions == MAX_ITEMS)
                return cli_usage(MREVIEW_USAGE);
            a->decisions[a->n_decisions++] = optarg;
            break;
        case OPT_ACTION:
            if (a->n_actions == MAX_ITEMS)
                return cli_usage(MREVIEW_USAGE);
            a->actions[a->n_actions++] = optarg;
            break;
        case 'h': printf("usage: %s\n", MREVIEW_USAGE); return -1;
        default: return cli_usage(MREVIEW_USAGE);
        }
    }
    int rc = cli_positionals(argc, argv, NULL, MREVIEW_USAGE);
    if (rc)
        return rc;
    const char *missing = !a->pack ? "--pack FILE" : !a->from ? "--from DATE" : !a->to ? "--to DATE"
                          : !a->n_decisions ? "--decision TEXT" : NULL;
    if (missing)
        return cli_usage_because(MREVIEW_USAGE, "missing %s", missing);
    if (cli_check_choice("--kind", a->kind, "corrective preventive") ||
        cli_check_date("--from", a->from, NULL) || cli_check_date("--to", a->to, NULL) ||
        (a->held && cli_check_date("--held", a->held, &a->held_day)))
        return CLI_USAGE;
    return cli_common_finish(c);
}

int srv_management_review(int argc, char **argv)
{
    struct mreview_args a = {.kind = "corrective"};
    struct cli_common c = {0};
    char today[ISOTIME_DATE_LEN + 1];
    int rc = parse_args(argc, argv, &a, &c);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    int64_t day = isotime_days(isotime_now());
    isotime_format_date(day, today);
    if (!a.held) {
        a.held = today;
        a.held_day = day;
    }
    uint8_t hash[CRYPTO_HASH_LEN];
    if ((rc = hash_file(a.pack, hash)))
        return cli_error(rc);
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
    Scsms__Record *review = NULL, *actions[MAX_ITEMS] = {0};
    size_t n = 0;
    rc = build_review(&a, hash, today, &review);
    if (rc == 0)
        rc = check_pack_period(a.pack, review->management_review);
    for (; rc == 0 && n < a.n_actions; n++)
        if ((rc = parse_action(s, a.actions[n], &a, &actions[n])))
            break;
    if (rc == 0)
        rc = write_all(s, review, actions, n);
    for (size_t i = 0; i < n; i++)
        record_free(actions[i]);
    record_free(review);
    store_close(&s);
    return rc ? cli_error(rc) : CLI_OK;
}

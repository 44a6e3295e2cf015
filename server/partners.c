/* partners.c -- business partners at head office (ISO 28001 4.2-4.5):
 * 'partners' lists each partner's declaration and certificate standing,
 * 'review-declaration' records head office's credibility review of a
 * declaration, 'exempt' records an exemption and its reason.
 *
 * A partner's declarations and certificates reach this store in the
 * partner's own log (checked there: signed by the partner, about itself).
 * A credibility review is a head-office record, sealed with head office's
 * signature, naming the declaration version it judged by the SHA-256 of
 * that version's exact bytes; the partner fetches it on its next sync and
 * checks both.
 */
#include "server.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto.h"
#include "csv.h"
#include "isotime.h"
#include "seal.h"
#include "text.h"

/* ------------------------------------------------------------ standing */

struct cert {
    char id[RECORD_MAX_ID + 1];
    char scheme[16];
    char number[128], valid_from[ISOTIME_DATE_LEN + 1], expiry[ISOTIME_DATE_LEN + 1];
    int withdrawn;
};

struct partner {
    char id[RECORD_MAX_ID + 1];
    char name[128];
    char reason[256];
    int enrolled, revoked, exempt;
    /* the declaration that counts: not withdrawn, valid the longest */
    char decl_id[RECORD_MAX_ID + 1];
    uint32_t decl_version;
    char valid_from[ISOTIME_DATE_LEN + 1], valid_to[ISOTIME_DATE_LEN + 1];
    size_t n_decl;
    /* head office's latest review of that version */
    char decision[16], reviewer[128], reviewed[ISOTIME_DATE_LEN + 1], review_reason[256];
    char review_at[RECORD_REVIEW_KEY_LEN + 1]; /* record_review_key of that review */
    struct cert *certs;
    size_t n_certs;
};

struct roster {
    struct partner *v;
    size_t n, cap;
    int64_t today;
    const char *hq; /* head office's identity: whose reviews count */
};

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct partner *)a)->id, ((const struct partner *)b)->id);
}

/* The partner called id, added when new (kept sorted: a roster of
 * thousands stays quick to search). NULL only when out of memory. */
static struct partner *partner_of(struct roster *r, const char *id)
{
    struct partner key;
    snprintf(key.id, sizeof key.id, "%s", id);
    struct partner *p = r->n ? bsearch(&key, r->v, r->n, sizeof *r->v, by_id) : NULL;
    if (p)
        return p;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct partner *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return NULL;
        r->v = v;
        r->cap = cap;
    }
    size_t at = 0;
    while (at < r->n && strcmp(r->v[at].id, id) < 0)
        at++;
    memmove(r->v + at + 1, r->v + at, (r->n - at) * sizeof *r->v);
    memset(&r->v[at], 0, sizeof r->v[at]);
    snprintf(r->v[at].id, sizeof r->v[at].id, "%s", id);
    r->n++;
    return &r->v[at];
}

static void roster_free(struct roster *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].certs);
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}

/* Which declaration stands for the partner: one in force today, else the
 * next to come into force, else the last to have lapsed; among equals,
 * the one valid the longest. */
static int decl_rank(const char *from, const char *to, int64_t today)
{
    int64_t f, t;
    if (isotime_parse_date(from, &f) || isotime_parse_date(to, &t))
        return 0;
    return t < today ? 1 : f > today ? 2 : 3;
}

static int counts_more(const Scsms__Declaration *d, const struct partner *p, int64_t today)
{
    if (!p->decl_id[0])
        return 1;
    int a = decl_rank(d->valid_from_date, d->valid_to_date, today),
        b = decl_rank(p->valid_from, p->valid_to, today);
    if (a != b)
        return a > b;
    /* among future ones the soonest; otherwise the longest */
    return a == 2 ? strcmp(d->valid_from_date, p->valid_from) < 0
                  : strcmp(d->valid_to_date, p->valid_to) > 0;
}

static int take_identity(const Scsms__Identity *id, void *ctx)
{
    if (id->role != SCSMS__IDENTITY__ROLE__PARTNER)
        return 0;
    struct partner *p = partner_of(ctx, id->id);
    if (!p)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    p->enrolled = 1;
    p->revoked = id->revoked;
    return 0;
}

static int take_record(const Scsms__Record *rec, void *ctx)
{
    struct roster *r = ctx;
    if (record_is_tombstone(rec))
        return 0;
    const struct record_type *t = record_type_of(rec);
    const char *who = t->partner_field ? record_text(rec, t->partner_field) : NULL;
    if (!who || !who[0])
        return 0;
    struct partner *p = partner_of(r, who);
    if (!p)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (rec->body_case == SCSMS__RECORD__BODY_PARTNER) {
        text_copy(p->name, sizeof p->name, rec->partner->name);
        p->exempt = rec->partner->exempt;
        text_copy(p->reason, sizeof p->reason, rec->partner->exemption_reason);
    } else if (rec->body_case == SCSMS__RECORD__BODY_DECLARATION) {
        const Scsms__Declaration *d = rec->declaration;
        p->n_decl++;
        if (strcmp(rec->status, "withdrawn") != 0 && counts_more(d, p, r->today)) {
            snprintf(p->decl_id, sizeof p->decl_id, "%s", rec->id);
            p->decl_version = rec->version;
            snprintf(p->valid_from, sizeof p->valid_from, "%s", d->valid_from_date);
            snprintf(p->valid_to, sizeof p->valid_to, "%s", d->valid_to_date);
        }
    } else {
        struct cert *v = realloc(p->certs, (p->n_certs + 1) * sizeof *v);
        if (!v)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        p->certs = v;
        struct cert *c = &v[p->n_certs++];
        const ProtobufCEnumValue *sv = protobuf_c_enum_descriptor_get_value(
            &scsms__certificate__scheme__descriptor, (int)rec->certificate->scheme);
        snprintf(c->id, sizeof c->id, "%s", rec->id);
        /* enum values read as in JSON: lower case */
        snprintf(c->scheme, sizeof c->scheme, "%s", sv ? sv->name : "OTHER");
        for (char *q = c->scheme; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        text_copy(c->number, sizeof c->number, rec->certificate->number);
        snprintf(c->valid_from, sizeof c->valid_from, "%s", rec->certificate->valid_from_date);
        snprintf(c->expiry, sizeof c->expiry, "%s", rec->certificate->expiry_date);
        c->withdrawn = !strcmp(rec->status, "withdrawn");
    }
    return 0;
}

/* Reviews, once every declaration is known: the latest review of the
 * version that counts. */
static int take_review(const Scsms__Record *rec, void *ctx)
{
    const Scsms__CredibilityReview *cr = rec->credibility_review;
    struct roster *r = ctx;
    if (record_is_tombstone(rec) || strcmp(rec->owner, r->hq) != 0)
        return 0; /* only head office's own verdicts count */
    struct partner key, *p;
    snprintf(key.id, sizeof key.id, "%s", cr->partner_id);
    p = r->n ? bsearch(&key, r->v, r->n, sizeof *r->v, by_id) : NULL;
    char at[RECORD_REVIEW_KEY_LEN + 1];
    record_review_key(rec, at);
    if (!p || strcmp(p->decl_id, cr->declaration_id) || p->decl_version != cr->declaration_version ||
        strcmp(at, p->review_at) < 0)
        return 0;
    snprintf(p->review_at, sizeof p->review_at, "%s", at);
    snprintf(p->decision, sizeof p->decision, "%s", rec->status);
    text_copy(p->reviewer, sizeof p->reviewer, cr->reviewer);
    snprintf(p->reviewed, sizeof p->reviewed, "%s", cr->reviewed_date);
    text_copy(p->review_reason, sizeof p->review_reason, cr->reason);
    return 0;
}

static int roster_load(store_t *s, struct roster *r)
{
    static const char *types[] = {"partner", "declaration", "certificate"};
    int rc = store_identity_list(s, take_identity, r);
    for (size_t i = 0; rc == 0 && i < sizeof types / sizeof types[0]; i++) {
        struct store_filter f = {.type = types[i]};
        rc = store_list(s, &f, take_record, r);
    }
    if (rc == 0) {
        struct store_filter f = {.type = "credibility_review"};
        rc = store_list(s, &f, take_review, r);
    }
    return rc;
}

/* Where a date stands against today and the horizon. */
static const char *standing(const char *until, int64_t today, long within)
{
    int64_t day;
    if (!until[0] || isotime_parse_date(until, &day))
        return "never submitted";
    if (day < today)
        return "expired";
    return day - today <= within ? "expiring" : "valid";
}

static const char *decl_state(const struct partner *p, int64_t today, long within)
{
    int64_t from;
    if (p->exempt)
        return "exempt";
    if (!p->decl_id[0]) /* none in force: every one it sent withdrawn, or none */
        return p->n_decl ? "withdrawn" : "never submitted";
    if (isotime_parse_date(p->valid_from, &from) == 0 && from > today)
        return "not yet valid";
    return standing(p->valid_to, today, within);
}

/* A certificate granted ahead of its start is no evidence yet: it is
 * "not yet valid" until valid_from_date, however far off its expiry. */
static int cert_not_yet_valid(const struct cert *c, int64_t today)
{
    int64_t from;
    return !c->withdrawn && isotime_parse_date(c->valid_from, &from) == 0 && from > today;
}

static const char *cert_state(const struct cert *c, int64_t today, long within)
{
    if (c->withdrawn)
        return "withdrawn";
    return cert_not_yet_valid(c, today) ? "not yet valid" : standing(c->expiry, today, within);
}

/* One certificate for the table and CSV: "aeo NL1 valid 2029-01-01", or,
 * when it has not started, "c_tpat CT-9 not yet valid from 2027-03-01 to
 * 2030-03-01": its start is what the reader needs. */
static int cert_text(char *buf, size_t len, const struct cert *c, int64_t today, long within)
{
    if (cert_not_yet_valid(c, today))
        return snprintf(buf, len, "%s %s not yet valid from %s to %s", c->scheme, c->number,
                        c->valid_from, c->expiry);
    return snprintf(buf, len, "%s %s %s %s", c->scheme, c->number, cert_state(c, today, within),
                    c->expiry);
}

/* ------------------------------------------------------------ partners */

enum { OPT_WITHIN = CLI_OPT_FIRST_OWN, OPT_FORMAT, OPT_DECISION, OPT_REASON, OPT_REVIEWER,
       OPT_DATE, OPT_VERSION, OPT_PARTNER, OPT_NAME, OPT_CLEAR };

static void print_table(const struct roster *r, int64_t today, long within)
{
    printf("%-16s %-20s %-16s %-10s %-9s %s\n", "PARTNER", "NAME", "DECLARATION", "VALID TO",
           "REVIEW", "CERTIFICATES");
    for (size_t i = 0; i < r->n; i++) {
        const struct partner *p = &r->v[i];
        struct text_cell name, reason;
        printf("%-16s %-20s %-16s %-10s %-9s ", p->id, text_cell(p->name[0] ? p->name : "-", 20, &name),
               decl_state(p, today, within), p->valid_to[0] ? p->valid_to : "-",
               p->decl_id[0] ? (p->decision[0] ? p->decision : "pending") : "-");
        if (!p->n_certs)
            printf("none");
        for (size_t k = 0; k < p->n_certs; k++) {
            char text[512];
            cert_text(text, sizeof text, &p->certs[k], today, within);
            text_oneline(text); /* a certificate number is the partner's text */
            printf("%s%s", k ? "; " : "", text);
        }
        if (p->exempt)
            printf(" (exempt: %s)", text_cell(p->reason, TEXT_CELL_MAX, &reason));
        if (p->revoked)
            printf(" (revoked)");
        printf("\n");
    }
}

static struct json_object *partner_json(const struct partner *p, int64_t today, long within)
{
    struct json_object *j = json_object_new_object(), *certs = json_object_new_array();
#define STR(k, v) json_object_object_add(j, k, json_object_new_string(v))
    STR("partner_id", p->id);
    STR("name", p->name);
    json_object_object_add(j, "enrolled", json_object_new_boolean(p->enrolled));
    json_object_object_add(j, "revoked", json_object_new_boolean(p->revoked));
    json_object_object_add(j, "exempt", json_object_new_boolean(p->exempt));
    STR("exemption_reason", p->reason);
    STR("declaration", decl_state(p, today, within));
    STR("declaration_id", p->decl_id);
    json_object_object_add(j, "declaration_version", json_object_new_int64(p->decl_version));
    json_object_object_add(j, "declarations", json_object_new_int64((int64_t)p->n_decl));
    STR("valid_from_date", p->valid_from);
    STR("valid_to_date", p->valid_to);
    STR("review", p->decl_id[0] ? (p->decision[0] ? p->decision : "pending") : "");
    STR("reviewer", p->reviewer);
    STR("reviewed_date", p->reviewed);
    STR("review_reason", p->review_reason);
#undef STR
    for (size_t k = 0; k < p->n_certs; k++) {
        struct json_object *c = json_object_new_object();
        json_object_object_add(c, "id", json_object_new_string(p->certs[k].id));
        json_object_object_add(c, "scheme", json_object_new_string(p->certs[k].scheme));
        json_object_object_add(c, "number", json_object_new_string(p->certs[k].number));
        json_object_object_add(c, "valid_from_date", json_object_new_string(p->certs[k].valid_from));
        json_object_object_add(c, "expiry_date", json_object_new_string(p->certs[k].expiry));
        json_object_object_add(c, "state",
                               json_object_new_string(cert_state(&p->certs[k], today, within)));
        json_object_array_add(certs, c);
    }
    json_object_object_add(j, "certificates", certs);
    return j;
}

static void print_csv(const struct roster *r, int64_t today, long within)
{
    printf("partner_id,name,enrolled,exempt,exemption_reason,declaration,declaration_id,"
           "valid_to_date,review,reviewer,reviewed_date,certificates\n");
    for (size_t i = 0; i < r->n; i++) {
        const struct partner *p = &r->v[i];
        char certs[2048] = "";
        size_t off = 0;
        for (size_t k = 0; k < p->n_certs && off < sizeof certs; k++) {
            if (k)
                off += (size_t)snprintf(certs + off, sizeof certs - off, "; ");
            if (off < sizeof certs)
                off += (size_t)cert_text(certs + off, sizeof certs - off, &p->certs[k], today,
                                         within);
        }
        csv_write_field(stdout, p->id, 0);
        csv_write_field(stdout, p->name, 0);
        csv_write_field(stdout, p->enrolled ? "yes" : "no", 0);
        csv_write_field(stdout, p->exempt ? "yes" : "no", 0);
        csv_write_field(stdout, p->reason, 0);
        csv_write_field(stdout, decl_state(p, today, within), 0);
        csv_write_field(stdout, p->decl_id, 0);
        csv_write_field(stdout, p->valid_to, 0);
        csv_write_field(stdout, p->decl_id[0] ? (p->decision[0] ? p->decision : "pending") : "", 0);
        csv_write_field(stdout, p->reviewer, 0);
        csv_write_field(stdout, p->reviewed, 0);
        csv_write_field(stdout, certs, 1);
    }
}

#define PARTNERS_USAGE                                                                       \
    "scsms-server partners [--within DAYS] [--format table|json|csv] --store DIR"

int srv_partners(int argc, char **argv)
{
    static const struct option opts[] = {
        {"within", required_argument, NULL, OPT_WITHIN},
        {"format", required_argument, NULL, OPT_FORMAT},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    const char *format = "table";
    long within = -1;
    int opt, rc;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_WITHIN) {
            if (cli_parse_within(optarg, &within))
                return CLI_USAGE;
        } else if (opt == OPT_FORMAT)
            format = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", PARTNERS_USAGE);
            return CLI_OK;
        } else
            return cli_usage(PARTNERS_USAGE);
    }
    if ((rc = cli_positionals(argc, argv, NULL, PARTNERS_USAGE)))
        return rc;
    if (cli_check_format(format, "table json csv"))
        return CLI_USAGE;
    if ((rc = cli_common_finish(&c)))
        return rc;
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
    int64_t today = isotime_days(isotime_now());
    struct roster r = {.today = today, .hq = store_owner(s)};
    if (within < 0)
        within = (long)store_config(s)->expiring_days;
    rc = roster_load(s, &r);
    store_close(&s);
    if (rc == 0 && !strcmp(format, "table"))
        print_table(&r, today, within);
    else if (rc == 0 && !strcmp(format, "csv"))
        print_csv(&r, today, within);
    else if (rc == 0) {
        struct json_object *all = json_object_new_array();
        for (size_t i = 0; i < r.n; i++)
            json_object_array_add(all, partner_json(&r.v[i], today, within));
        printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(all);
    }
    roster_free(&r);
    return rc ? cli_error(rc) : CLI_OK;
}

/* ------------------------------------------------------------ review */


#define REVIEW_USAGE                                                                         \
    "scsms-server review-declaration ID --decision accepted|rejected --reason TEXT "         \
    "--reviewer NAME [--version N] [--date YYYY-MM-DD] --store DIR"

struct review_args {
    const char *id, *decision, *reason, *reviewer, *date;
    uint32_t version;
};

/* The declaration's exact bytes, checked once more against its partner's
 * enrolled key: head office judges only what the partner really signed. */
static int load_declaration(store_t *s, const struct review_args *a, Scsms__Record **decl,
                            uint8_t hash[CRYPTO_HASH_LEN])
{
    uint8_t *bytes = NULL;
    size_t len;
    Scsms__Identity *who = NULL;
    /* the bytes as signed, and the record decoded from them: one read */
    int rc = store_get_bytes(s, a->id, a->version, &bytes, &len);
    if (rc == 0)
        rc = record_unpack(bytes, len, decl);
    if (rc) {
        free(bytes);
        return rc;
    }
    if ((*decl)->body_case != SCSMS__RECORD__BODY_DECLARATION)
        rc = scsms_fail(SCSMS_EINVAL, "'%s' is a %s, not a declaration of security", a->id,
                        record_type_of(*decl)->name);
    else if (record_is_tombstone(*decl))
        rc = scsms_fail(SCSMS_EINVAL, "declaration '%s' was disposed of: nothing to review",
                        a->id);
    else if (store_identity_get(s, (*decl)->owner, &who))
        rc = scsms_fail(SCSMS_EPERM, "declaration '%s' comes from %s, who is not enrolled here",
                        a->id, (*decl)->owner);
    else if ((rc = seal_check(*decl, bytes, len, who->sign_key.data)) == 0)
        crypto_sha256(bytes, len, hash);
    free(bytes);
    scsms__identity__free_unpacked(who, NULL);
    return rc;
}

static int write_review(store_t *s, const struct review_args *a, const Scsms__Record *decl,
                        const uint8_t hash[CRYPTO_HASH_LEN], char *id_out)
{
    Scsms__Record *rec = record_new(record_type_by_name("credibility_review"));
    int64_t submitted, reviewed;
    if (!rec)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    Scsms__CredibilityReview *cr = rec->credibility_review;
    cr->declaration_version = decl->version;
    cr->decision = !strcmp(a->decision, "accepted") ? SCSMS__CREDIBILITY_REVIEW__DECISION__ACCEPTED
                                                    : SCSMS__CREDIBILITY_REVIEW__DECISION__REJECTED;
    int rc = record_set_string(&cr->declaration_id, decl->id);
    if (rc == 0)
        rc = record_set_string(&cr->partner_id, decl->declaration->partner_id);
    if (rc == 0)
        rc = record_set_string(&cr->reviewer, a->reviewer);
    if (rc == 0)
        rc = record_set_string(&cr->reason, a->reason);
    if (rc == 0)
        rc = record_set_string(&cr->reviewed_date, a->date);
    if (rc == 0)
        rc = record_set_string(&rec->status, a->decision);
    if (rc == 0 && !(cr->declaration_sha256.data = malloc(CRYPTO_HASH_LEN)))
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (rc == 0) {
        memcpy(cr->declaration_sha256.data, hash, CRYPTO_HASH_LEN);
        cr->declaration_sha256.len = CRYPTO_HASH_LEN;
        if (isotime_parse_date(a->date, &reviewed) == 0 &&
            isotime_parse_instant(decl->created_at, &submitted) == 0 &&
            reviewed < isotime_days(submitted))
            rc = scsms_fail(SCSMS_ERULE, "--date %s is before the declaration was submitted "
                            "(%.10s)", a->date, decl->created_at);
    }
    if (rc == 0)
        rc = store_put(s, rec, id_out);
    record_free(rec);
    return rc;
}

int srv_review_declaration(int argc, char **argv)
{
    static const struct option opts[] = {
        {"decision", required_argument, NULL, OPT_DECISION},
        {"reason", required_argument, NULL, OPT_REASON},
        {"reviewer", required_argument, NULL, OPT_REVIEWER},
        {"date", required_argument, NULL, OPT_DATE},
        {"version", required_argument, NULL, OPT_VERSION},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    struct review_args a = {0};
    char today[ISOTIME_DATE_LEN + 1];
    int opt, rc;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        switch (opt) {
        case OPT_DECISION: a.decision = optarg; break;
        case OPT_REASON: a.reason = optarg; break;
        case OPT_REVIEWER: a.reviewer = optarg; break;
        case OPT_DATE: a.date = optarg; break;
        case OPT_VERSION:
            if (cli_parse_version(optarg, &a.version))
                return CLI_USAGE;
            break;
        case 'h': printf("usage: %s\n", REVIEW_USAGE); return CLI_OK;
        default: return cli_usage(REVIEW_USAGE);
        }
    }
    const char *missing = optind + 1 != argc ? NULL : !a.decision ? "--decision accepted|rejected"
                                                      : !a.reason   ? "--reason TEXT"
                                                      : !a.reviewer ? "--reviewer NAME"
                                                                    : NULL;
    if (missing) {
        fprintf(stderr, "%s: a credibility review needs %s\n", cli_prog, missing);
        return CLI_USAGE;
    }
    if ((rc = cli_positionals(argc, argv, "DECLARATION-ID", REVIEW_USAGE)))
        return rc;
    a.id = argv[optind];
    if (cli_check_choice("--decision", a.decision, "accepted rejected"))
        return CLI_USAGE;
    if (record_text_blank(a.reason) || record_text_blank(a.reviewer)) {
        fprintf(stderr, "%s: a credibility review needs a reviewer and a reason\n", cli_prog);
        return CLI_USAGE;
    }
    if (a.date && cli_check_date("--date", a.date, NULL))
        return CLI_USAGE;
    isotime_format_date(isotime_days(isotime_now()), today);
    if (!a.date)
        a.date = today;
    if ((rc = cli_common_finish(&c)))
        return rc;
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
    Scsms__Record *decl = NULL;
    uint8_t hash[CRYPTO_HASH_LEN];
    char id[RECORD_MAX_ID + 1];
    if ((rc = load_declaration(s, &a, &decl, hash)) == 0 &&
        (rc = write_review(s, &a, decl, hash, id)) == 0)
        printf("%s\n%s version %u of %s: %s by %s\n", id, decl->id, decl->version,
               decl->declaration->partner_id, a.decision, a.reviewer);
    record_free(decl);
    store_close(&s);
    return rc ? cli_error(rc) : CLI_OK;
}

/* ------------------------------------------------------------ exempt */

#define EXEMPT_USAGE                                                                         \
    "scsms-server exempt --partner ID (--reason TEXT | --clear) [--name NAME] --store DIR"

struct find_partner {
    const char *id;
    Scsms__Record *found;
};

static int find_partner_record(const Scsms__Record *rec, void *ctx)
{
    struct find_partner *f = ctx;
    if (record_is_tombstone(rec) || strcmp(rec->partner->partner_id, f->id) != 0)
        return 0;
    int rc = record_dup(rec, &f->found); /* the scan's record is borrowed */
    return rc ? rc : 1;
}

/* partner may be exempted: a name an identity can have, not head office
 * itself, and not one enrolled here in another role (a site is no
 * business partner). */
static int exemptible(store_t *s, const char *partner)
{
    Scsms__Identity *id = NULL;
    if (strcmp(partner, store_owner(s)) == 0)
        return scsms_fail(SCSMS_EINVAL, "'%s' is head office itself, not a business partner",
                          partner);
    if (!store_valid_identity(partner))
        return scsms_fail(SCSMS_EINVAL, "partner '%.64s' must be 1 to 64 letters, digits, '-', "
                          "'_' or '.', as its identity is", partner);
    int rc = store_identity_get(s, partner, &id);
    if (rc == SCSMS_ENOTFOUND)
        return 0;
    if (rc == 0 && id->role != SCSMS__IDENTITY__ROLE__PARTNER)
        rc = scsms_fail(SCSMS_EINVAL, "'%s' is enrolled as a %s, not a business partner", partner,
                        id->role == SCSMS__IDENTITY__ROLE__SITE ? "site" : "head-office user");
    scsms__identity__free_unpacked(id, NULL);
    return rc;
}

/* The partner's record as it will be written: the next version of the one
 * held, or a new one (none to clear: refused). */
static int exemption_record(store_t *s, const char *partner, const char *name, int clear,
                            Scsms__Record **out)
{
    struct find_partner f = {partner, NULL};
    struct store_filter only = {.type = "partner"};
    /* an exemption held is cleared whatever its id (one written before
     * exemptible() was), as nothing new is named */
    int rc = clear ? 0 : exemptible(s, partner);
    if (rc == 0)
        rc = store_list(s, &only, find_partner_record, &f);
    if (rc < 0)
        return rc;
    rc = 0; /* 1: the scan stopped at the partner's record */
    if (clear && (!f.found || !f.found->partner->exempt)) {
        record_free(f.found);
        return scsms_fail(SCSMS_EINVAL, "partner '%s' is not exempt: nothing to clear", partner);
    }
    if (!f.found) {
        if (!(f.found = record_new(record_type_by_name("partner"))))
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        if ((rc = record_set_string(&f.found->partner->partner_id, partner)) == 0)
            rc = record_set_string(&f.found->partner->name, name ? name : partner);
    } else if (name) {
        rc = record_set_string(&f.found->partner->name, name);
    }
    if (rc)
        record_free(f.found);
    else
        *out = f.found;
    return rc;
}

int srv_exempt(int argc, char **argv)
{
    static const struct option opts[] = {
        {"partner", required_argument, NULL, OPT_PARTNER},
        {"reason", required_argument, NULL, OPT_REASON},
        {"name", required_argument, NULL, OPT_NAME},
        {"clear", no_argument, NULL, OPT_CLEAR},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    const char *partner = NULL, *reason = NULL, *name = NULL;
    int opt, rc, clear = 0;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        switch (opt) {
        case OPT_PARTNER: partner = optarg; break;
        case OPT_REASON: reason = optarg; break;
        case OPT_NAME: name = optarg; break;
        case OPT_CLEAR: clear = 1; break;
        case 'h': printf("usage: %s\n", EXEMPT_USAGE); return CLI_OK;
        default: return cli_usage(EXEMPT_USAGE);
        }
    }
    if (optind == argc && partner && partner[0] && !reason && !clear) {
        fprintf(stderr, "%s: give the exemption's --reason TEXT, or --clear to end it\n",
                cli_prog);
        return CLI_USAGE;
    }
    if (optind != argc || !partner || !partner[0] || !!reason == clear)
        return cli_usage(EXEMPT_USAGE);
    if (reason && record_text_blank(reason)) {
        fprintf(stderr, "%s: an exemption needs its reason (ISO 28001 4.4)\n", cli_prog);
        return CLI_USAGE;
    }
    if ((rc = cli_common_finish(&c)))
        return rc;
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
    Scsms__Record *rec = NULL;
    char id[RECORD_MAX_ID + 1];
    if ((rc = exemption_record(s, partner, name, clear, &rec)) == 0) {
        rec->partner->exempt = !clear;
        rc = record_set_string(&rec->partner->exemption_reason, clear ? "" : reason);
        if (rc == 0)
            rc = store_put(s, rec, id);
    }
    if (rc == 0)
        printf("%s\npartner %s %s\n", id, partner, clear ? "no longer exempt" : "exempt");
    record_free(rec);
    store_close(&s);
    return rc ? cli_error(rc) : CLI_OK;
}

/* cmd_partner.c -- scsms-agent submissions: what a business partner sees
 * of its own declarations and certificates, and head office's verdict on
 * each declaration (the credibility reviews fetched by 'run', each checked
 * against head office's signature and the declaration's bytes when it
 * came). */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "isotime.h"
#include "rules.h"
#include "text.h"

#define SUBMISSIONS_USAGE "scsms-agent submissions [--format table|json] --store DIR"

enum { OPT_FORMAT = CLI_OPT_FIRST_OWN };

struct verdict {
    char decl[RECORD_MAX_ID + 1];
    uint32_t version;
    char decision[16], reviewer[128], date[ISOTIME_DATE_LEN + 1], reason[256];
    char at[RECORD_REVIEW_KEY_LEN + 1]; /* record_review_key of that review */
};

struct submissions {
    struct verdict *v;
    size_t n;
    int json;
    struct json_object *out;
};

/* Keep the latest review of each declaration version. */
static int take_verdict(const Scsms__Record *rec, const uint8_t *bytes, size_t len, void *ctx)
{
    struct submissions *s = ctx;
    (void)bytes;
    (void)len;
    if (rec->body_case != SCSMS__RECORD__BODY_CREDIBILITY_REVIEW)
        return 0;
    const Scsms__CredibilityReview *cr = rec->credibility_review;
    struct verdict *v = NULL;
    for (size_t i = 0; i < s->n && !v; i++)
        if (!strcmp(s->v[i].decl, cr->declaration_id) && s->v[i].version == cr->declaration_version)
            v = &s->v[i];
    if (!v) {
        struct verdict *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
        if (!nv)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        s->v = nv;
        v = &s->v[s->n++];
        memset(v, 0, sizeof *v);
        snprintf(v->decl, sizeof v->decl, "%s", cr->declaration_id);
        v->version = cr->declaration_version;
    }
    char at[RECORD_REVIEW_KEY_LEN + 1];
    record_review_key(rec, at);
    if (v->at[0] && strcmp(at, v->at) < 0)
        return 0;
    snprintf(v->at, sizeof v->at, "%s", at);
    /* the sealed decision, not the envelope's status (checked equal on
     * arrival) */
    const char *decision = rules_decision_name(cr);
    snprintf(v->decision, sizeof v->decision, "%s", decision ? decision : "");
    snprintf(v->reviewer, sizeof v->reviewer, "%s", cr->reviewer);
    snprintf(v->date, sizeof v->date, "%s", cr->reviewed_date);
    snprintf(v->reason, sizeof v->reason, "%s", cr->reason);
    return 0;
}

static const struct verdict *verdict_of(const struct submissions *s, const Scsms__Record *rec)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].decl, rec->id) && s->v[i].version == rec->version)
            return &s->v[i];
    return NULL;
}

static int show_submission(const Scsms__Record *rec, void *ctx)
{
    struct submissions *s = ctx;
    const int decl = rec->body_case == SCSMS__RECORD__BODY_DECLARATION;
    if (!decl && rec->body_case != SCSMS__RECORD__BODY_CERTIFICATE)
        return 0;
    const struct verdict *v = decl ? verdict_of(s, rec) : NULL;
    const char *review = !decl ? "" : v ? v->decision : "pending";
    const char *until = decl ? rec->declaration->valid_to_date : rec->certificate->expiry_date;
    if (s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "id", json_object_new_string(rec->id));
        json_object_object_add(j, "version", json_object_new_int64(rec->version));
        json_object_object_add(j, "type", json_object_new_string(record_type_of(rec)->name));
        json_object_object_add(j, "status", json_object_new_string(rec->status));
        json_object_object_add(j, "valid_until", json_object_new_string(until));
        if (decl) {
            json_object_object_add(j, "review", json_object_new_string(review));
            json_object_object_add(j, "reviewer", json_object_new_string(v ? v->reviewer : ""));
            json_object_object_add(j, "reviewed_date", json_object_new_string(v ? v->date : ""));
            json_object_object_add(j, "reason", json_object_new_string(v ? v->reason : ""));
        }
        json_object_array_add(s->out, j);
        return 0;
    }
    struct text_cell by, why;
    printf("%-26s %-3u %-12s %-10s %-10s %-9s %s%s%s\n", rec->id, rec->version,
           record_type_of(rec)->name, rec->status, until, decl ? review : "-",
           v ? text_cell(v->reviewer, 60, &by) : "", v ? ": " : "",
           v ? text_cell(v->reason, TEXT_CELL_MAX, &why) : "");
    return 0;
}

int cmd_submissions(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT}, CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    struct submissions s = {0};
    const char *format = "table";
    int opt, rc;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_FORMAT)
            format = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", SUBMISSIONS_USAGE);
            return CLI_OK;
        } else
            return cli_usage(SUBMISSIONS_USAGE);
    }
    if ((rc = cli_positionals(argc, argv, NULL, SUBMISSIONS_USAGE)))
        return rc;
    if (cli_check_format(format, "table json"))
        return CLI_USAGE;
    if ((rc = cli_common_finish(&c)))
        return rc;
    store_t *st = NULL;
    if ((rc = cli_open(&c, &st)))
        return rc;
    if (store_role(st) != STORE_ROLE_PARTNER) { /* head office's verdicts reach partners only */
        rc = scsms_fail(SCSMS_EINVAL, "'%s' is a %s's store: submissions lists a partner's own "
                        "declarations and head office's verdicts (head office: 'scsms-server "
                        "partners')", c.store_dir,
                        store_role(st) == STORE_ROLE_SITE ? "site" : "head office");
        store_close(&st);
        return cli_error(rc);
    }
    s.json = !strcmp(format, "json");
    if (s.json)
        s.out = json_object_new_array();
    else
        printf("%-26s %-3s %-12s %-10s %-10s %-9s %s\n", "ID", "V", "TYPE", "STATUS", "UNTIL",
               "REVIEW", "BY: REASON");
    struct store_filter decl = {.type = "declaration"}, cert = {.type = "certificate"};
    if ((rc = store_received_list(st, take_verdict, &s)) == 0 &&
        (rc = store_list(st, &decl, show_submission, &s)) == 0)
        rc = store_list(st, &cert, show_submission, &s);
    store_close(&st);
    if (rc == 0 && s.json)
        printf("%s\n", json_object_to_json_string_ext(s.out, JSON_C_TO_STRING_PRETTY |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(s.out);
    free(s.v);
    return rc ? cli_error(rc) : CLI_OK;
}

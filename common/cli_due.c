/* cli_due.c -- every overdue and expiring item (DOMAIN.md rule 7), as
 * 'scsms-agent due' at a site and 'scsms-server alerts' across every site
 * head office holds. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "jsonpb.h"
#include "text.h"

enum { OPT_WITHIN = CLI_OPT_FIRST_OWN, OPT_FORMAT };

struct due_out {
    int64_t today;
    int json;
    int owners; /* a column for whose record it is */
    const char *self; /* this store's identity */
    size_t n;
};

/* Whose to-do an item is: an action head office addresses to a site
 * (its `site`) is that site's; anything else is its owner's. */
static const char *due_for(const Scsms__Record *rec)
{
    if (rec->body_case == SCSMS__RECORD__BODY_ACTION && rec->action->site[0])
        return rec->action->site;
    return rec->owner;
}

/* Head office's log reaches every site whole, but a store's `due` is its
 * own to-do list: its own items and what head office addresses to it, not
 * head office's internal items (its own actions, its appointees'
 * clearances, its policy and document reviews) nor another site's
 * actions. The record model addresses only actions, and each to one site;
 * nothing is addressed to every site. */
static int not_ours(const struct due_out *o, const Scsms__Record *rec)
{
    return !o->owners && strcmp(due_for(rec), o->self) != 0;
}

static int print_due(const Scsms__Record *rec, void *ctx)
{
    struct due_out *o = ctx;
    int64_t day;
    const char *field;
    char date[ISOTIME_DATE_LEN + 1], when[48];
    if (!record_due(rec, &day, &field) || not_ours(o, rec))
        return 0;
    isotime_format_date(day, date);
    long long late = (long long)(o->today - day);
    if (o->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "owner", json_object_new_string(rec->owner));
        json_object_object_add(j, "site", json_object_new_string(due_for(rec)));
        json_object_object_add(j, "id", json_object_new_string(rec->id));
        json_object_object_add(j, "type", json_object_new_string(record_type_of(rec)->name));
        json_object_object_add(j, "status", json_object_new_string(rec->status));
        json_object_object_add(j, "field", json_object_new_string(field));
        json_object_object_add(j, "date", json_object_new_string(date));
        json_object_object_add(j, "days_late", json_object_new_int64(late));
        json_object_object_add(j, "summary", json_object_new_string(cli_summary(rec)));
        printf("%s  %s", o->n ? ",\n" : "", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
    } else {
        if (late > 0)
            snprintf(when, sizeof when, "overdue %lld day%s", late, late == 1 ? "" : "s");
        else if (late == 0)
            snprintf(when, sizeof when, "due today");
        else
            snprintf(when, sizeof when, "due in %lld day%s", -late, late == -1 ? "" : "s");
        if (o->owners)
            printf("%-12s ", due_for(rec));
        struct text_cell c;
        printf("%-18s %-10s %-26s %-14s %-22s %s\n", when, date, rec->id,
               record_type_of(rec)->name, field, text_cell(cli_summary(rec), 40, &c));
    }
    o->n++;
    return 0;
}

int cli_due(int argc, char **argv, const char *usage, int owners)
{
    static const struct option opts[] = {
        {"within", required_argument, NULL, OPT_WITHIN},
        {"format", required_argument, NULL, OPT_FORMAT},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    const char *within = NULL, *format = "table";
    int opt;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_WITHIN)
            within = optarg;
        else if (opt == OPT_FORMAT)
            format = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", usage);
            return CLI_OK;
        } else
            return cli_usage(usage);
    }
    int rc = cli_positionals(argc, argv, NULL, usage);
    if (rc)
        return rc;
    if (cli_check_format(format, "table json"))
        return CLI_USAGE;
    long days = -1;
    if (within && cli_parse_within(within, &days))
        return CLI_USAGE;
    if ((rc = cli_common_finish(&c)))
        return rc;
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
    if (days < 0)
        days = (long)store_config(s)->expiring_days;
    struct due_out o = {.today = isotime_days(isotime_now()), .json = !strcmp(format, "json"),
                        .owners = owners, .self = store_owner(s)};
    if (o.json)
        printf("[\n");
    else if (owners)
        printf("%-12s %-18s %-10s %-26s %-14s %-22s %s\n", "SITE", "WHEN", "DATE", "ID", "TYPE",
               "FIELD", "SUMMARY");
    else
        printf("%-18s %-10s %-26s %-14s %-22s %s\n", "WHEN", "DATE", "ID", "TYPE", "FIELD",
               "SUMMARY");
    rc = store_due(s, o.today + days, print_due, &o);
    if (o.json)
        printf("%s]\n", o.n ? "\n" : "");
    store_close(&s);
    return rc ? cli_error(rc) : CLI_OK;
}

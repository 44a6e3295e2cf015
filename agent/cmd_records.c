/* cmd_records.c -- add, update, show, history, list. */
#include "cmd.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "jsonpb.h"
#include "text.h"

/* ------------------------------------------------------------ add/update */

/* Write rec in its own durable transaction; print its id (and version for
 * an update), then every record the rules raised with it, one a line. */
static int write_one(store_t *s, Scsms__Record *rec, int update)
{
    store_batch_t *b = NULL;
    size_t n;
    int rc = store_batch_new(s, &b);
    if (rc == 0 && (rc = store_batch_add(b, rec)) == 0 && (rc = store_batch_commit(b)) == 0) {
        if (update)
            printf("%s version %u\n", store_batch_id(b, 0), rec->version + 1);
        else
            printf("%s\n", store_batch_id(b, 0));
        const char *const *raised = store_batch_raised(b, &n);
        for (size_t i = 0; i < n; i++)
            printf("%s\n", raised[i]);
    }
    store_batch_destroy(&b);
    return rc;
}

#define ADD_USAGE "scsms-agent add TYPE [--json JSON|@FILE|-] [--set FIELD=VALUE]... --store DIR"
#define UPDATE_USAGE "scsms-agent update ID [--json JSON|@FILE|-] [--set FIELD=VALUE]... --store DIR"

enum { OPT_JSON = CLI_OPT_FIRST_OWN, OPT_SET, OPT_FORMAT, OPT_TYPE, OPT_STATUS, OPT_VERSION };

struct edit_args {
    struct cli_common c;
    const char *json;
    const char **sets;
    size_t n_sets;
    const char *target; /* TYPE for add, ID for update */
};

/* what: the one argument's name (add's TYPE, update's ID) */
static int parse_edit(int argc, char **argv, const char *usage, const char *what,
                      struct edit_args *a)
{
    static const struct option opts[] = {
        {"json", required_argument, NULL, OPT_JSON},
        {"set", required_argument, NULL, OPT_SET},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    int opt;
    a->sets = calloc((size_t)argc, sizeof *a->sets);
    if (!a->sets)
        return CLI_FAIL;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&a->c, opt, optarg))
            continue;
        if (opt == OPT_JSON) /* given twice, refused by cli_getopt */
            a->json = optarg;
        else if (opt == OPT_SET)
            a->sets[a->n_sets++] = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", usage);
            return -1;
        } else
            return cli_usage(usage);
    }
    int rc = cli_positionals(argc, argv, what, usage);
    if (rc)
        return rc;
    a->target = argv[optind];
    if (!a->json && a->n_sets == 0) {
        fprintf(stderr, "scsms-agent: give the record as --json or --set FIELD=VALUE\n");
        return CLI_USAGE;
    }
    return cli_common_finish(&a->c);
}

/* --set i names a field of one value that an earlier --set named: which
 * to keep would be a guess (a repeated field takes each as one more). */
static int set_twice(const struct edit_args *a, size_t i, const char *type_name)
{
    size_t len = strcspn(a->sets[i], "=");
    char name[128];
    if (len >= sizeof name)
        return 0; /* no such field: jsonpb_set_text says so */
    memcpy(name, a->sets[i], len);
    name[len] = '\0';
    const struct record_type *t = record_type_by_name(type_name);
    const ProtobufCFieldDescriptor *f = t ? jsonpb_flat_field(t, name) : NULL;
    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    for (size_t j = 0; j < i; j++)
        if (strncmp(a->sets[j], name, len) == 0 && a->sets[j][len] == '=')
            return 1;
    return 0;
}

/* The JSON object the user gave: --json first, then each --set on top. */
static int edit_object(const struct edit_args *a, const char *type_name, struct json_object **out)
{
    struct json_object *obj = NULL;
    int rc;
    if (a->json) {
        char *text;
        size_t len;
        if ((rc = cli_read_json_arg(a->json, &text, &len)))
            return rc;
        rc = jsonpb_parse(text, len, &obj);
        free(text);
        if (rc)
            return rc;
        if (!json_object_is_type(obj, json_type_object)) {
            json_object_put(obj);
            return scsms_fail(SCSMS_EINVAL, "--json must be a JSON object");
        }
    } else if (!(obj = json_object_new_object())) {
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < a->n_sets; i++) {
        char *eq = strchr(a->sets[i], '=');
        if (!eq || eq == a->sets[i]) {
            json_object_put(obj);
            return scsms_fail(SCSMS_EINVAL, "--set '%s' must be FIELD=VALUE", a->sets[i]);
        }
        if (set_twice(a, i, type_name)) {
            json_object_put(obj);
            return scsms_fail(SCSMS_EINVAL, "field '%.*s' is given twice with --set: give it once",
                              (int)(eq - a->sets[i]), a->sets[i]);
        }
        *eq = '\0';
        rc = jsonpb_set_text(obj, type_name, a->sets[i], eq + 1);
        *eq = '=';
        if (rc) {
            json_object_put(obj);
            return rc;
        }
    }
    *out = obj;
    return 0;
}

int cmd_add(int argc, char **argv)
{
    struct edit_args a = {0};
    struct json_object *obj = NULL;
    Scsms__Record *rec = NULL;
    store_t *s = NULL;
    int rc = parse_edit(argc, argv, ADD_USAGE, "TYPE", &a);
    if (rc)
        goto out;
    rc = CLI_FAIL;
    if (!record_type_by_name(a.target)) {
        scsms_fail(SCSMS_EINVAL, "unknown record type '%.64s': use one of %s", a.target,
                   record_type_names());
        cli_error(SCSMS_EINVAL);
        goto out;
    }
    int err = edit_object(&a, a.target, &obj);
    const char *set_by_store = err == 0 ? jsonpb_store_field(obj) : NULL;
    if (set_by_store && !strcmp(set_by_store, "id"))
        err = scsms_fail(SCSMS_EINVAL, "field 'id' is given by the store: to change a record use "
                         "'scsms-agent update ID'");
    else if (set_by_store) /* the store writes its own: what was given would be lost */
        err = scsms_fail(SCSMS_EINVAL, "field '%s' is set by the store: leave it out",
                         set_by_store);
    if (err == 0)
        err = jsonpb_to_record(obj, a.target, &rec);
    if (err) {
        rc = cli_error(err);
        goto out;
    }
    if ((rc = cli_open(&a.c, &s)))
        goto out;
    if ((err = write_one(s, rec, 0))) {
        rc = cli_error(err);
        goto out;
    }
    rc = CLI_OK;
out:
    store_close(&s);
    record_free(rec);
    json_object_put(obj);
    free(a.sets);
    return rc < 0 ? CLI_OK : rc;
}

int cmd_update(int argc, char **argv)
{
    struct edit_args a = {0};
    struct json_object *obj = NULL;
    Scsms__Record *rec = NULL;
    store_t *s = NULL;
    int err, rc = parse_edit(argc, argv, UPDATE_USAGE, "ID", &a);
    if (rc)
        goto out;
    if ((rc = cli_open(&a.c, &s)))
        goto out;
    if ((err = store_get(s, a.target, 0, &rec)) ||
        (err = edit_object(&a, record_type_of(rec)->name, &obj)) ||
        (err = json_object_object_length(obj) ? 0
                                              : scsms_fail(SCSMS_EINVAL, "nothing to change: give "
                                                           "the fields to change")) ||
        (err = jsonpb_merge(obj, &rec)) ||
        (err = write_one(s, rec, 1))) {
        rc = cli_error(err);
        goto out;
    }
    rc = CLI_OK;
out:
    store_close(&s);
    record_free(rec);
    json_object_put(obj);
    free(a.sets);
    return rc < 0 ? CLI_OK : rc;
}

/* ------------------------------------------------------------ output */

static int print_json(const Scsms__Record *rec, void *ctx)
{
    int *first = ctx;
    struct json_object *o = jsonpb_from_record(rec);
    if (!o)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (first) {
        printf("%s  %s", *first ? "" : ",\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        *first = 0;
    } else {
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_SPACED));
    }
    json_object_put(o);
    return 0;
}

static int print_row(const Scsms__Record *rec, void *ctx)
{
    (void)ctx;
    struct text_cell c;
    printf("%-26s %-16s %-14s %3u  %-20s  %s\n", rec->id, record_type_of(rec)->name,
           rec->status, rec->version, rec->updated_at, text_cell(cli_summary(rec), 48, &c));
    return 0;
}

static void print_header(void)
{
    printf("%-26s %-16s %-14s %3s  %-20s  %s\n", "ID", "TYPE", "STATUS", "V", "UPDATED",
           "SUMMARY");
}

static const char *const csv_columns[] = {"id", "type", "version", "status", "updated_at",
                                          "author", "sensitivity", NULL};

static int print_csv(const Scsms__Record *rec, void *ctx)
{
    (void)ctx;
    struct json_object *o = jsonpb_from_record(rec), *v;
    if (!o)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (const char *const *c = csv_columns; *c; c++) {
        const char *text = json_object_object_get_ex(o, *c, &v) ? json_object_get_string(v) : "";
        csv_write_field(stdout, text, c[1] == NULL);
    }
    json_object_put(o);
    return 0;
}

/* ------------------------------------------------------------ show/history */

#define SHOW_USAGE "scsms-agent show ID [--version N] --store DIR"
#define HISTORY_USAGE "scsms-agent history ID [--format table|json] --store DIR"
#define LIST_USAGE "scsms-agent list [--type TYPE] [--status STATUS] [--format table|json|csv] --store DIR"

struct read_args {
    struct cli_common c;
    const char *format, *type, *status, *id;
    unsigned version;
};

static int parse_read(int argc, char **argv, const char *usage, int want_id, struct read_args *a)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"type", required_argument, NULL, OPT_TYPE},
        {"status", required_argument, NULL, OPT_STATUS},
        {"version", required_argument, NULL, OPT_VERSION},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    int opt;
    a->format = "table";
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&a->c, opt, optarg))
            continue;
        switch (opt) {
        case OPT_FORMAT: a->format = optarg; break;
        case OPT_TYPE: a->type = optarg; break;
        case OPT_STATUS: a->status = optarg; break;
        case OPT_VERSION: {
            uint32_t v;
            if (cli_parse_version(optarg, &v))
                return CLI_USAGE;
            a->version = v;
            break;
        }
        case 'h': printf("usage: %s\n", usage); return -1;
        default: return cli_usage(usage);
        }
    }
    int rc = cli_positionals(argc, argv, want_id ? "ID" : NULL, usage);
    if (rc)
        return rc;
    if (want_id)
        a->id = argv[optind];
    if (cli_check_format(a->format, "table json csv"))
        return CLI_USAGE;
    return cli_common_finish(&a->c);
}

int cmd_show(int argc, char **argv)
{
    struct read_args a = {0};
    Scsms__Record *rec = NULL;
    int rc = parse_read(argc, argv, SHOW_USAGE, 1, &a);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    store_t *s = NULL;
    if ((rc = cli_open(&a.c, &s)))
        return rc;
    int err = store_get(s, a.id, a.version, &rec);
    rc = err ? cli_error(err) : print_json(rec, NULL);
    record_free(rec);
    store_close(&s);
    return rc;
}

static int run_listing(struct read_args *a, int history)
{
    store_t *s = NULL;
    int first = 1, err = cli_open(&a->c, &s);
    if (err)
        return err;
    int json = strcmp(a->format, "json") == 0, csv = strcmp(a->format, "csv") == 0;
    /* refuse before printing a header, so a refusal prints nothing on stdout */
    const struct record_type *t = a->type ? record_type_by_name(a->type) : NULL;
    if (a->type && !t) {
        store_close(&s);
        return cli_error(scsms_fail(SCSMS_EINVAL, "unknown record type '%.64s': use one of %s",
                                    a->type, record_type_names()));
    }
    if (a->status && (err = record_status_known(t, a->status))) {
        store_close(&s);
        return cli_error(err);
    }
    if (a->status && !t) {
        store_close(&s);
        return cli_error(scsms_fail(SCSMS_EINVAL, "a status filter needs a type: give --type "
                                    "with --status"));
    }
    if (history) {
        Scsms__Record *cur = NULL;
        if ((err = store_get(s, a->id, 0, &cur))) {
            store_close(&s);
            return cli_error(err);
        }
        record_free(cur);
    }
    store_visit_fn fn = json ? print_json : csv ? print_csv : print_row;
    if (json)
        printf("[\n");
    else if (csv)
        for (const char *const *c = csv_columns; *c; c++)
            csv_write_field(stdout, *c, c[1] == NULL);
    else
        print_header();
    struct store_filter f = {a->type, a->status};
    err = history ? store_history(s, a->id, fn, json ? &first : NULL)
                  : store_list(s, &f, fn, json ? &first : NULL);
    if (json)
        printf("%s]\n", first ? "" : "\n");
    store_close(&s);
    return err ? cli_error(err) : CLI_OK;
}

int cmd_history(int argc, char **argv)
{
    struct read_args a = {0};
    int rc = parse_read(argc, argv, HISTORY_USAGE, 1, &a);
    return rc ? (rc < 0 ? CLI_OK : rc) : run_listing(&a, 1);
}

int cmd_list(int argc, char **argv)
{
    struct read_args a = {0};
    int rc = parse_read(argc, argv, LIST_USAGE, 0, &a);
    return rc ? (rc < 0 ? CLI_OK : rc) : run_listing(&a, 0);
}

int cmd_due(int argc, char **argv)
{
    return cli_due(argc, argv, "scsms-agent due [--within DAYS] [--format table|json] --store DIR",
                   0);
}

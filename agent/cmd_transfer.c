/* cmd_transfer.c -- export and import of records as JSON or CSV.
 *
 * Field names are those of proto/scsms.proto, mapped once through the
 * protobuf-c descriptors (jsonpb), so every type travels the same way.
 * Import itself is common/import.c.
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "import.h"
#include "jsonpb.h"

#define EXPORT_USAGE "scsms-agent export [--format json|csv] [--type TYPE] --store DIR"
#define IMPORT_USAGE                                                                      \
    "scsms-agent import FILE.json|FILE.csv [--type TYPE] [--preserve] [--progress] "      \
    "--store DIR"
#define MAX_SHOWN 100 /* bad rows printed; the rest are counted */

enum { OPT_FORMAT = CLI_OPT_FIRST_OWN, OPT_TYPE, OPT_PRESERVE, OPT_PROGRESS };

/* ------------------------------------------------------------ export */

struct export_out {
    int csv;
    const char **cols;
    size_t n_cols;
    size_t n;
};

static int export_one(const Scsms__Record *rec, void *ctx)
{
    struct export_out *o = ctx;
    struct json_object *obj = jsonpb_from_record(rec);
    if (!obj)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (o->csv) {
        for (size_t i = 0; i < o->n_cols; i++)
            csv_write_field(stdout, jsonpb_cell(obj, o->cols[i]), i + 1 == o->n_cols);
    } else {
        printf("%s%s", o->n ? ",\n" : "", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(obj);
    o->n++;
    return 0;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"type", required_argument, NULL, OPT_TYPE},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    const char *format = "json", *type = NULL;
    int opt, rc;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_FORMAT)
            format = optarg;
        else if (opt == OPT_TYPE)
            type = optarg;
        else if (opt == 'h') {
            printf("usage: %s\n", EXPORT_USAGE);
            return CLI_OK;
        } else
            return cli_usage(EXPORT_USAGE);
    }
    if ((rc = cli_positionals(argc, argv, NULL, EXPORT_USAGE)))
        return rc;
    if (cli_check_format(format, "json csv"))
        return CLI_USAGE;
    if ((rc = cli_common_finish(&c)))
        return rc;
    struct export_out o = {.csv = !strcmp(format, "csv")};
    if ((rc = jsonpb_columns(type, &o.cols, &o.n_cols)))
        return cli_error(rc);
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s))) {
        free((void *)o.cols);
        return rc;
    }
    if (o.csv)
        for (size_t i = 0; i < o.n_cols; i++)
            csv_write_field(stdout, o.cols[i], i + 1 == o.n_cols);
    else
        printf("[\n");
    struct store_filter f = {type, NULL};
    rc = store_list(s, &f, export_one, &o);
    if (!o.csv)
        printf("%s]\n", o.n ? "\n" : "");
    store_close(&s);
    free((void *)o.cols);
    if (fflush(stdout) != 0)
        rc = scsms_fail(SCSMS_EIO, "cannot write the export: %s", strerror(errno));
    return rc ? cli_error(rc) : CLI_OK;
}

static void show_progress(void *ctx, const char *phase, size_t done, size_t total)
{
    (void)ctx;
    if (total)
        fprintf(stderr, "\r%s: %zu of %zu records (%zu%%)%s", phase, done, total,
                done * 100 / total, done == total ? "\n" : "");
    else
        fprintf(stderr, "\r%s: %zu rows", phase, done);
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, OPT_TYPE},
        {"preserve", no_argument, NULL, OPT_PRESERVE},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    struct import_options io = {0};
    int opt, rc, progress = isatty(2);
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_TYPE)
            io.type = optarg;
        else if (opt == OPT_PRESERVE)
            io.preserve = 1;
        else if (opt == OPT_PROGRESS)
            progress = 1;
        else if (opt == 'h') {
            printf("usage: %s\n", IMPORT_USAGE);
            return CLI_OK;
        } else
            return cli_usage(IMPORT_USAGE);
    }
    if ((rc = cli_positionals(argc, argv, "FILE", IMPORT_USAGE)))
        return rc;
    const char *path = argv[optind];
    if ((rc = cli_common_finish(&c)))
        return rc;
    if (io.type && !record_type_by_name(io.type))
        return cli_error(scsms_fail(SCSMS_EINVAL, "unknown record type '%.64s': use one of %s",
                                    io.type, record_type_names()));
    if (progress)
        io.progress = show_progress;
    io.exiting = 1; /* the command ends with the import */
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
    struct store_stats st;
    /* a restore fills a new store: into one in use, records dated and
     * numbered as exported would be new entries claiming to be old ones */
    if (io.preserve && (rc = store_stats(s, &st)) == 0 && st.head_seq > 0)
        rc = scsms_fail(SCSMS_EINVAL, "import --preserve restores an export into a new store, but "
                        "this one has %llu entries of its own: restore into a store just made "
                        "with 'scsms-agent init'", (unsigned long long)st.head_seq);
    if (rc) {
        store_close(&s);
        return cli_error(rc);
    }
    struct import_result res;
    rc = import_file(s, path, &io, &res);
    store_close(&s);
    if (progress && res.rows >= 4096 && rc)
        fputc('\n', stderr);
    for (size_t i = 0; i < res.n_bad && i < MAX_SHOWN; i++)
        fprintf(stderr, "%s:%zu: %s\n", path, res.bad[i].line,
                res.bad[i].message ? res.bad[i].message : "out of memory");
    if (rc == 0)
        printf("imported %zu records from %s%s\n", res.rows, path,
               res.raised ? " (and records the rules raised)" : "");
    else if (res.n_bad > MAX_SHOWN)
        fprintf(stderr, "scsms-agent: %s (the first %d shown)\n", scsms_errmsg(), MAX_SHOWN);
    else
        fprintf(stderr, "scsms-agent: %s\n", scsms_errmsg());
    import_result_free(&res);
    return rc ? CLI_FAIL : CLI_OK;
}

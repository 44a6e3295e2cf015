/* main.c -- scsms-agent: a site's security management registers. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const struct cli_command commands[] = {
    {"init", cmd_init, "create the store and this identity's keys"},
    {"add", cmd_add, "add one record; prints its id"},
    {"import", cmd_import, "bulk add from JSON or CSV, all or nothing"},
    {"update", cmd_update, "write a new version of a record"},
    {"show", cmd_show, "print a record (latest or --version N) as JSON"},
    {"history", cmd_history, "every version of a record"},
    {"list", cmd_list, "current records, filtered by --type and --status"},
    {"export", cmd_export, "every current record as JSON or CSV"},
    {"due", cmd_due, "overdue and expiring items, most late first"},
    {"dispose", cmd_dispose, "dispose of a record after its retention period"},
    {"run", cmd_run, "sync with head office (CURVE ZeroMQ); --once for one round"},
    {"status", cmd_status, "sync state: last sync, acknowledged head, backlog"},
    {"verify", cmd_verify, "check hash chain, signatures and indices"},
    {"backup", cmd_backup, "online compacted copy of the store, verified"},
    {"restore", cmd_restore, "replace the store by a backup that verifies"},
};

static int usage(FILE *out)
{
    fprintf(out, "usage: scsms-agent COMMAND [OPTIONS] --store DIR\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'scsms-agent COMMAND --help' describes each one. Exit status: 0 done, "
                 "1 refused (nothing changed), 2 usage, 3 integrity failure.\n");
    return out == stdout ? CLI_OK : CLI_USAGE;
}

int main(int argc, char **argv)
{
    cli_prog = "scsms-agent";
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return usage(stdout);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "scsms-agent: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}

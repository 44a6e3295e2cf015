/* main.c -- scsms-agent: a site's security management registers. */
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
    {"submissions", cmd_submissions,
     "a partner's declarations and certificates, and head office's review of each"},
    {"due", cmd_due, "overdue and expiring items, most late first"},
    {"dispose", cmd_dispose, "dispose of a record after its retention period"},
    {"run", cmd_run, "sync with head office (CURVE ZeroMQ); --once for one round"},
    {"status", cmd_status, "sync state: last sync, acknowledged head, backlog"},
    {"verify", cli_verify, "check hash chain, signatures and indices"},
    {"backup", cli_backup, "online compacted copy of the store, verified"},
    {"restore", cli_restore, "replace the store by a backup that verifies"},
};

int main(int argc, char **argv)
{
    cli_prog = "scsms-agent";
    return cli_dispatch(commands, sizeof commands / sizeof commands[0], argc, argv, "");
}

/* main.c -- scsms-server: head office's aggregation server. */
#include <stdio.h>
#include <string.h>

#include "server.h"

static const struct cli_command commands[] = {
    {"init", srv_init, "create the server store and keys; print the public keys"},
    {"enrol", srv_enrol, "allow an identity (site, partner, hq) to connect"},
    {"revoke", srv_revoke, "withdraw an identity: refused from its next message on"},
    {"sites", srv_sites, "every identity: role, state, head sequence and hash"},
    {"alerts", srv_alerts, "overdue and expiring items across every site, most late first"},
    {"run", srv_run, "the sync endpoint (CURVE ZeroMQ)"},
};

static int usage(FILE *out)
{
    fprintf(out, "usage: scsms-server COMMAND [OPTIONS] --store DIR\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nHead-office records are written with 'scsms-agent --store DIR add ...' "
                 "on this store.\n");
    return out == stdout ? CLI_OK : CLI_USAGE;
}

int main(int argc, char **argv)
{
    cli_prog = "scsms-server";
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
        return usage(stdout);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "scsms-server: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}

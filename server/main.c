/* main.c -- scsms-server: head office's aggregation server. */
#include "server.h"

static const struct cli_command commands[] = {
    {"init", srv_init, "create the server store and keys; print the public keys"},
    {"enrol", srv_enrol, "allow an identity (site, partner, hq) to connect"},
    {"revoke", srv_revoke, "withdraw an identity: refused from its next message on"},
    {"sites", srv_sites, "every identity: role, state, head sequence and hash"},
    {"alerts", srv_alerts, "overdue and expiring items across every site, most late first"},
    {"partners", srv_partners, "every business partner: declaration, review and certificates"},
    {"review-declaration", srv_review_declaration,
     "record head office's credibility review of a partner's declaration"},
    {"management-review", srv_management_review,
     "record the management review: decisions, pack SHA-256, actions for the sites"},
    {"exempt", srv_exempt, "record (or clear) a partner's exemption and its reason"},
    {"report", srv_report, "review pack, evidence gaps, AEO readiness: html, table, json or csv"},
    {"run", srv_run, "the sync endpoint (CURVE ZeroMQ)"},
    {"verify", cli_verify, "check every log's hash chain, signatures and indices"},
    {"backup", cli_backup, "online compacted copy of the store, verified"},
    {"restore", cli_restore, "replace the store by a backup that verifies"},
};

int main(int argc, char **argv)
{
    cli_prog = "scsms-server";
    cli_hq_only = 1;
    return cli_dispatch(commands, sizeof commands / sizeof commands[0], argc, argv,
                        "Head-office records are written with 'scsms-agent add TYPE ... --store DIR' "
                        "on this store.\n");
}

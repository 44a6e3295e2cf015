/* server.h -- scsms-server's subcommands; each takes its own argv and
 * returns an exit code of enum cli_exit. */
#ifndef SCSMS_SERVER_H
#define SCSMS_SERVER_H

#include "cli.h"

int srv_init(int argc, char **argv);
int srv_enrol(int argc, char **argv);
int srv_revoke(int argc, char **argv);
int srv_sites(int argc, char **argv);
int srv_alerts(int argc, char **argv);
int srv_partners(int argc, char **argv);
int srv_review_declaration(int argc, char **argv);
int srv_exempt(int argc, char **argv);
int srv_management_review(int argc, char **argv);
int srv_run(int argc, char **argv);
int srv_report(int argc, char **argv);

#endif

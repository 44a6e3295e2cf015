/* cmd.h -- scsms-agent's subcommands: each takes its own argv (argv[0] is
 * the subcommand name) and returns an exit code of enum cli_exit. */
#ifndef SCSMS_AGENT_CMD_H
#define SCSMS_AGENT_CMD_H

#include "cli.h"

int cmd_init(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_due(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_dispose(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_submissions(int argc, char **argv);

#endif

/* cli.h -- what the subcommands of scsms-agent and scsms-server share:
 * options common to all (--store, --key, --author), opening the store,
 * reporting errors as "PROG: message".
 *
 * Exit codes, relied on by scripts:
 *   0 success; 1 refused or failed (nothing was changed); 2 usage error;
 *   3 integrity check failed (verify, restore of a bad backup).
 */
#ifndef SCSMS_AGENT_CLI_H
#define SCSMS_AGENT_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "store.h"

enum cli_exit { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_TAMPER = 3 };

/* The program's name in messages; main() sets it. */
extern const char *cli_prog;

/* Set by scsms-server's main(): cli_open() opens head office's store
 * only, so that no server command enrols into, serves or reports from a
 * site's or a partner's store given by mistake. */
extern int cli_hq_only;

/* Options every subcommand accepts. */
struct cli_common {
    const char *store_dir; /* --store or $SCSMS_STORE */
    const char *key_path;  /* --key; default DIR/keys/sign.key */
    const char *author;    /* --author or $SCSMS_AUTHOR */
};

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* The long options of struct cli_common, to append to a subcommand's own
 * table: ids CLI_OPT_STORE, CLI_OPT_KEY, CLI_OPT_AUTHOR, 'h'. */
enum { CLI_OPT_STORE = 1000, CLI_OPT_KEY, CLI_OPT_AUTHOR, CLI_OPT_FIRST_OWN };
#define CLI_COMMON_OPTIONS                                              \
    {"store", required_argument, NULL, CLI_OPT_STORE},                  \
    {"key", required_argument, NULL, CLI_OPT_KEY},                      \
    {"author", required_argument, NULL, CLI_OPT_AUTHOR},                \
    {"help", no_argument, NULL, 'h'}

/* Run the subcommand argv[1] names from commands[0..n-1] with argv shifted
 * by one, or print the usage (to stdout for --help, and CLI_OK; to stderr
 * with CLI_USAGE otherwise); footer is printed after the command list. */
int cli_dispatch(const struct cli_command *commands, size_t n, int argc, char **argv,
                 const char *footer);

/* getopt_long(argc, argv, shorts, opts, NULL) for a subcommand, silent
 * about a bad option ('?'): it notes "unknown option '--x'" or "option
 * '--x' needs a value" for cli_usage() to say, so that a usage error is
 * one line. */
int cli_getopt(int argc, char **argv, const char *shorts, const struct option *opts);

/* Handle a common option c; returns 1 if it was one. */
int cli_common_option(struct cli_common *c, int opt, const char *arg);

/* Fill defaults from the environment. No store known: one line to stderr
 * saying how to name it, and CLI_USAGE. */
int cli_common_finish(struct cli_common *c);

/* Open the store named by c into *out: 0, or the command's exit code
 * with the error printed in one line and *out NULL (CLI_USAGE for a
 * scsms.ini that cannot be used, CLI_FAIL otherwise). With cli_hq_only
 * set, a store other than head office's is refused; cli_open_any opens
 * any store (backup, which needs no role) and takes a scsms.ini it cannot
 * use as its defaults, with a warning: a copy or a check of the records
 * needs none of it. Caller closes *out with store_close(). */
int cli_open(const struct cli_common *c, store_t **out) SCSMS_MUST_CHECK;
int cli_open_any(const struct cli_common *c, store_t **out) SCSMS_MUST_CHECK;

/* Hold DIR/FILE locked (flock, exclusive) while this process runs a
 * long-lived command that must be the store's only one: 0 and in *fd the
 * descriptor to keep (the lock goes with the process, however it ends),
 * or SCSMS_EBUSY, "WHO '<dir>': stop it first", when another process
 * holds it, or SCSMS_EIO. */
int cli_lock_store(const char *dir, const char *file, const char *who, int *fd) SCSMS_MUST_CHECK;

/* Print "PROG: <current error message>" and return the exit code
 * that fits the error code: CLI_TAMPER for SCSMS_ETAMPER, CLI_USAGE for
 * SCSMS_ECONFIG (settings that cannot be used: a service manager stops
 * rather than restarts until a person mends scsms.ini), else CLI_FAIL. */
int cli_error(int code);

/* After cli_open_any: the one-line warning, if s's scsms.ini could not be
 * used and its defaults were taken for what (a command's name). */
void cli_settings_ignored(const store_t *s, const char *what);

/* --version N: 1 to 4294967295 into *version and 0; else print
 * "PROG: --version must be a number from 1 to 4294967295, got 'x'" and
 * return CLI_USAGE. */
int cli_parse_version(const char *text, uint32_t *version);

/* A number option's value, in decimal digits alone, from lo to hi into
 * *out and 0; else print "PROG: OPTION must be LO to HI UNIT, got 'x'"
 * and return CLI_USAGE. */
int cli_parse_range(const char *option, const char *text, unsigned long lo, unsigned long hi,
                    const char *unit, unsigned long *out);

/* --within DAYS: 0 to 3650 into *days and 0; else print
 * "PROG: --within must be 0 to 3650 days, got 'x'" and return CLI_USAGE. */
int cli_parse_within(const char *text, long *days);

/* 0 when format is one of the space-separated words in allowed; else
 * print "PROG: --format must be a, b or c, got 'x'" and return CLI_USAGE. */
int cli_check_format(const char *format, const char *allowed);

/* The same for any option with a fixed set of values ("--kind"). */
int cli_check_choice(const char *option, const char *value, const char *allowed);

/* The store commands of both programs (cli_store.c), on the store --store
 * names: verify (exit 3 and the first bad entry named when it fails),
 * backup DEST (an online compacted copy, verified), restore SRC (replaces
 * the store by a backup only after verifying it, and only while no other
 * process has the store open). */
int cli_verify(int argc, char **argv);
int cli_backup(int argc, char **argv);
int cli_restore(int argc, char **argv);

/* text, given with option opt ("--to"), is a calendar date that exists
 * (YYYY-MM-DD): 0 and its day in *day (may be NULL), or CLI_USAGE once it
 * is said in one line that names the option, as the user typed it, not
 * the record field it fills. */
int cli_check_date(const char *opt, const char *text, int64_t *day);

/* The head head office last acknowledged, as the agent's DIR/sync.state
 * records it; 0 when there is none (head office's own store, a site never
 * synced). */
uint64_t cli_acked_seq(const char *dir);

/* The next line of sync.state from f into buf (cap bytes, its newline
 * kept if it fits): 1, or 0 at the end. The rest of a line longer than
 * buf is skipped, never read as a line of its own: a `result` line quotes
 * what head office said, which may look like a key. */
int cli_state_line(FILE *f, char *buf, size_t cap);

/* The arguments after the options: 0 when there is exactly one and what
 * is non-NULL (it names it: "ID", "FILE"), or none and what is NULL;
 * otherwise one line, "PROG: missing WHAT; usage: USAGE" or "unexpected
 * argument 'X'; ...", and CLI_USAGE. */
int cli_positionals(int argc, char **argv, const char *what, const char *usage);

/* Print one line to stderr, "PROG: PROBLEM; usage: USAGE" (the problem
 * cli_getopt noted, or "wrong arguments"), and return CLI_USAGE. */
int cli_usage(const char *usage);

/* cli_usage with the problem said (printf-style): "PROG: PROBLEM; usage:
 * USAGE", CLI_USAGE. */
int cli_usage_because(const char *usage, const char *fmt, ...) SCSMS_PRINTF(2, 3);

/* Read a JSON argument: literal text, "@FILE" or "-" for standard input.
 * At most RECORD_MAX_BYTES. Caller frees *out. */
int cli_read_json_arg(const char *arg, char **out, size_t *len);

/* A short human summary of a record: its body's first non-empty title,
 * description, location or similar. Borrowed from rec. */
const char *cli_summary(const Scsms__Record *rec);

/* The overdue and expiring items of the store (rule 7), most late first:
 * `due` at a site (owners = 0: the store's own items and the actions head
 * office addresses to it), `alerts` at head office (owners = 1: every
 * item, with a site column: an action addressed to a site under that
 * site). argv as for a subcommand. */
int cli_due(int argc, char **argv, const char *usage, int owners);

#endif

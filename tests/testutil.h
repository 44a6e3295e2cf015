/* testutil.h -- helpers shared by the Check suites: temporary
 * directories, running the real scsms-agent, reading files. */
#ifndef SCSMS_TESTUTIL_H
#define SCSMS_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Make a fresh directory under $TMPDIR (or /tmp); returns a malloc'd path.
 * Caller removes it with tu_rmdir() and frees the path. */
char *tu_tmpdir(const char *tag);

/* rm -rf path. */
void tu_rmdir(const char *path);

/* path joined with name; malloc'd. */
char *tu_path(const char *dir, const char *name);

/* Result of running a program. */
struct tu_run {
    int status;  /* exit code, or 128 + signal */
    char *out;   /* everything written to stdout, NUL-terminated */
    char *err;   /* everything written to stderr */
};

/* Run the scsms-agent binary (path from $SCSMS_AGENT) with the NULL-
 * terminated arguments, stdin from /dev/null (or from in_text when not
 * NULL). Free the result with tu_run_free(). */
struct tu_run tu_agent(const char *in_text, const char *arg, ...);

/* Same for any argv. */
struct tu_run tu_exec(char *const argv[], const char *in_text);

/* dir/name written by scsms-gen ($SCSMS_GEN) with `rows` generated
 * incidents, JSON or CSV by name's suffix. Returns the path; caller frees. */
char *tu_gen_rows(const char *dir, const char *name, const char *rows);

void tu_run_free(struct tu_run *r);

/* Number of lines in s (a last line without newline counts). */
int tu_lines(const char *s);

/* Read a whole file; malloc'd, NUL-terminated, length in *len. NULL when
 * it cannot be read. */
char *tu_read_file(const char *path, size_t *len);

/* As an intruder with the file but no key would: overwrite byte `at` of
 * every copy of marker in the store's data file DIR/data.mdb with c
 * (later commits copy pages, so stale copies may sit in free pages).
 * Returns how many copies there were. */
int tu_edit_data_file(const char *dir, const char *marker, size_t at, char c);

/* Start argv in the background, its stdout readable at *out_fd (its
 * stderr to err_path, or discarded when NULL). Returns the pid. */
pid_t tu_spawn(char *const argv[], int *out_fd, const char *err_path);

/* Read one line (without newline) from fd within timeout_ms; 1 on success,
 * 0 on timeout or end of file. */
int tu_read_line(int fd, char *buf, size_t len, int timeout_ms);

/* Wait up to timeout_ms for pid to end; its exit code (128 + signal), or
 * -1 if it is still running. */
int tu_wait(pid_t pid, int timeout_ms);

/* A new store of owner in dir with role (store.h), open. Caller closes. */
struct store;
struct store *tu_store_new(const char *dir, const char *owner, int role);

/* Enrol the identity of store s (made in dir) at hq with role
 * (Scsms__Identity__Role). */
void tu_enrol(struct store *hq, struct store *s, const char *dir, int role);

/* A record from flat JSON with a "type" (jsonpb); fails the test when it
 * does not convert. Caller frees with record_free(). */
struct Scsms__Record;
struct Scsms__Record *tu_record(const char *json);

/* Write one record given as flat JSON with a "type" at s; its id into
 * id_out (RECORD_MAX_ID + 1 bytes) unless NULL. Fails the test when the
 * store refuses it. */
void tu_put(struct store *s, const char *json, char *id_out);

/* Hand hq everything of s's log it does not hold yet, as sync does: the
 * exact entries and s's signed checkpoint over the last. */
void tu_ship(struct store *s, struct store *hq);

/* A declaration of partner held at head office hq, as the partner's sync
 * would bring it: the partner's store made in dir/<partner> (or opened,
 * when made before), enrolled at hq, one declaration written and shipped.
 * Its id into dos (RECORD_MAX_ID + 1 bytes), the SHA-256 of its exact
 * bytes in hex into sha (65 bytes), what a credibility review names. */
void tu_held_declaration(struct store *hq, const char *dir, const char *partner, char *dos,
                         char *sha);

/* Copies of at most max of owner's log entries from `from` on at s,
 * each malloc'd, appended to (*e)[0, *n) (realloc'd); how many were
 * there. Fails the test when the log cannot be read. Free with
 * tu_log_free(). */
struct ProtobufCBinaryData;
size_t tu_log_read(struct store *s, const char *owner, uint64_t from, size_t max,
                   struct ProtobufCBinaryData **e, size_t *n);

/* tu_log_read() of entries from..to, failing the test unless all are
 * there. */
void tu_log_copy(struct store *s, const char *owner, uint64_t from, uint64_t to,
                 struct ProtobufCBinaryData **e, size_t *n);
void tu_log_free(struct ProtobufCBinaryData *e, size_t n);

/* owner's head at a and at b: both at sequence want, with the same hash. */
void tu_heads_equal(struct store *a, struct store *b, const char *owner, uint64_t want);

/* Run a suite with CK_NORMAL output and return the process exit code. */
int tu_run_suite(Suite *s);

#endif

/* guard.h -- a damaged data file said in one line, not crashed on.
 *
 * A data file damaged where its pages point (a node's offset, a page
 * number) can make LMDB read through a bad pointer (SIGSEGV, or SIGBUS
 * past the file's end) or fail one of its own assertions (abort, with
 * LMDB's source line). guard_install() makes a command say so in one line
 * and exit 3, as for any damage verify names.
 *
 * Only a fault whose instruction lies in LMDB's own code is taken for
 * damage: any other (a bug elsewhere, in this program or a library) goes on
 * to the handler there was before (the default's core dump and exit by
 * signal, which systemd restarts; a sanitizer's report), as if no guard
 * were there.
 */
#ifndef SCSMS_GUARD_H
#define SCSMS_GUARD_H

/* Install the guard for the rest of the process, for command cmd of
 * program prog ("scsms-agent", "verify"): SIGSEGV and SIGBUS handlers and
 * LMDB's assertion hook (store_on_damage). Both strings must outlive the
 * process's use of the store (string literals, argv). Call once, before
 * any thread starts; the lines are made here, since a signal handler may
 * only write() them. */
void guard_install(const char *prog, const char *cmd);

#endif

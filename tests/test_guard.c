/* test_guard.c -- the crash guard: a fault inside LMDB is a damaged store,
 * said in one line with exit 3; any other fault is left to the handler
 * there was (here the default: killed by the signal, nothing said). */
#include "testutil.h"

#include <lmdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"

/* Run fn in a child with the guard installed; its stderr into err, its
 * wait status returned. */
static int in_child(void (*fn)(void), char *err, size_t cap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        guard_install("scsms-test", "list");
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fds[0], err + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    err[len] = '\0';
    close(fds[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

/* LMDB reading through a bad pointer, as it does on a damaged page: here a
 * transaction handle that points nowhere. */
static void lmdb_faults(void)
{
    unsigned flags;
    MDB_txn *nowhere = (MDB_txn *)(uintptr_t)64;
    int rc = mdb_dbi_flags(nowhere, 1, &flags);
    (void)rc;
}

/* A fault in this program's own code: a bug, not damage. */
static void own_code_faults(void)
{
    volatile int *volatile p = NULL;
    *p = 1;
}

START_TEST(a_fault_inside_lmdb_is_a_damaged_store)
{
    char err[1024];
    int st = in_child(lmdb_faults, err, sizeof err);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %#x: %s", st, err);
    ck_assert_str_eq(err, "scsms-test: list failed: reading the store crashed inside LMDB "
                          "(SIGSEGV), as it does on a damaged data file: run verify, and restore "
                          "from a backup if it fails\n");
}
END_TEST

START_TEST(a_fault_elsewhere_is_left_to_the_handler_before)
{
    char err[4096];
    int st = in_child(own_code_faults, err, sizeof err);
    /* never the guard's exit 3 and line, but what there was before it:
     * the default, killed by SIGSEGV; in the sanitizer build, the
     * sanitizers' report (UBSan's null store, or AddressSanitizer's SEGV)
     * and their abort or exit */
    ck_assert_ptr_null(strstr(err, "crashed inside LMDB"));
#if defined(__SANITIZE_ADDRESS__)
    ck_assert_msg((strstr(err, "runtime error: store to null pointer") ||
                   strstr(err, "AddressSanitizer")) &&
                      !(WIFEXITED(st) && WEXITSTATUS(st) == 3),
                  "status %#x: %s", st, err);
#else
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %#x: %s", st, err);
    ck_assert_str_eq(err, "");
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("guard");
    TCase *t = tcase_create("faults");
    tcase_add_test(t, a_fault_inside_lmdb_is_a_damaged_store);
    tcase_add_test(t, a_fault_elsewhere_is_left_to_the_handler_before);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

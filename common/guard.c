/* guard.c -- see guard.h. */
#define _GNU_SOURCE /* dl_iterate_phdr, dladdr, REG_RIP */
#include "guard.h"

#include <dlfcn.h>
#include <link.h>
#include <lmdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"
#include "text.h"

static const char *guard_prog, *guard_cmd;
static char crash_line[2][400]; /* [0] SIGSEGV, [1] SIGBUS */
static size_t crash_len[2];
static struct sigaction before[2]; /* the handlers there were */
static uintptr_t lmdb_lo, lmdb_hi;  /* LMDB's code, [lo, hi); 0, 0: not found */

/* The instruction that faulted, from the handler's context; 0 where this
 * machine's context is not known (then no fault is taken for damage). */
static uintptr_t fault_pc(const void *ctx)
{
#if defined(REG_RIP)
    return (uintptr_t)((const ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
#elif defined(REG_EIP)
    return (uintptr_t)((const ucontext_t *)ctx)->uc_mcontext.gregs[REG_EIP];
#else
    (void)ctx;
    return 0;
#endif
}

static void on_crash(int sig, siginfo_t *info, void *ctx)
{
    int i = sig == SIGBUS;
    uintptr_t pc = fault_pc(ctx);
    (void)info;
    if (pc && pc >= lmdb_lo && pc < lmdb_hi) {
        ssize_t w = write(STDERR_FILENO, crash_line[i], crash_len[i]);
        (void)w;
        _exit(CLI_TAMPER);
    }
    /* not LMDB's: put back what was there and return; the instruction
     * faults again, into that handler */
    sigaction(sig, &before[i], NULL);
}

/* What comes after the command's name: verify's own verdict, or what to
 * do next for any other command. */
static const char *advice(void)
{
    return strcmp(guard_cmd, "verify") == 0 ? "restore it from a backup"
                                            : "run verify, and restore from a backup if it fails";
}

static void on_damage(const char *what)
{
    fprintf(stderr, "%s: %s failed: LMDB found the store's data file damaged (%s): %s\n",
            guard_prog, guard_cmd, text_quote(what, 200, &(struct text_quote){{0}}), advice());
    _exit(CLI_TAMPER);
}

struct find_code {
    uintptr_t base; /* the load address of the object sought */
    uintptr_t lo, hi;
};

/* The extent of the executable segments of the object loaded at f->base. */
static int code_of(struct dl_phdr_info *obj, size_t size, void *ctx)
{
    struct find_code *f = ctx;
    (void)size;
    if ((uintptr_t)obj->dlpi_addr != f->base)
        return 0;
    for (int i = 0; i < obj->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &obj->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = obj->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        f->lo = f->lo && f->lo < lo ? f->lo : lo;
        f->hi = f->hi > hi ? f->hi : hi;
    }
    return 1;
}

/* Where LMDB's code lies: the object that holds mdb_cursor_get. */
static void find_lmdb(void)
{
    Dl_info dl;
    struct find_code f = {0};
    if (dladdr((void *)(uintptr_t)&mdb_cursor_get, &dl) == 0)
        return;
    f.base = (uintptr_t)dl.dli_fbase;
    dl_iterate_phdr(code_of, &f);
    /* linked in whole (a static build): the object is the program, and its
     * code is not only LMDB's; take no fault for damage then */
    if (f.lo && (uintptr_t)&find_lmdb >= f.lo && (uintptr_t)&find_lmdb < f.hi)
        f.lo = f.hi = 0;
    lmdb_lo = f.lo;
    lmdb_hi = f.hi;
}

void guard_install(const char *prog, const char *cmd)
{
    static const char *const names[2] = {"SIGSEGV", "SIGBUS"};
    static const int sigs[2] = {SIGSEGV, SIGBUS};
    guard_prog = prog;
    guard_cmd = cmd;
    find_lmdb();
    for (int i = 0; i < 2; i++) {
        int n = snprintf(crash_line[i], sizeof crash_line[i], "%s: %s failed: reading the store "
                         "crashed inside LMDB (%s), as it does on a damaged data file: %s\n",
                         prog, cmd, names[i], advice());
        crash_len[i] = n > 0 && (size_t)n < sizeof crash_line[i] ? (size_t)n
                                                                  : strlen(crash_line[i]);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_crash;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_SIGINFO;
        sigaction(sigs[i], &sa, &before[i]);
    }
    store_on_damage(on_damage);
}

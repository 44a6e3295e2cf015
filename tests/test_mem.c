/* test_mem.c -- Check suite for mem: the hints give huge pages where the
 * kernel offers them on request, and nothing below the threshold. Each
 * test runs in its own process (Check forks), so heaps do not mix. */
#include "mem.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OWN_MALLOC 0 /* the sanitizer's allocator, not glibc's heap */
#else
#define OWN_MALLOC 1
#endif

/* The kernel's transparent huge page mode: "always", "madvise" or "never". */
static const char *thp_mode(void)
{
    static char mode[16];
    char line[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = 0;
        fclose(f);
    }
    char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
    snprintf(mode, sizeof mode, "%.*s", open && close ? (int)(close - open - 1) : 5,
             open && close ? open + 1 : "never");
    return mode;
}

/* Anonymous memory of this process in huge pages, in kB. */
static long huge_kb(void)
{
    char line[256];
    long kb = 0, v;
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &v) == 1)
            kb = v;
    fclose(f);
    return kb;
}

/* Huge-page faults the kernel could not serve (memory too fragmented),
 * machine-wide, from /proc/vmstat. */
static long thp_fallbacks(void)
{
    char line[128];
    long v, n = 0;
    FILE *f = fopen("/proc/vmstat", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "thp_fault_fallback %ld", &v) == 1)
            n = v;
    if (f)
        fclose(f);
    return n;
}

#if OWN_MALLOC /* glibc's heap: under a sanitizer there is none to test */
/* The hint asked for huge pages: they came (gained kB), or the kernel
 * tried and had none to give (a fragmented machine), which is not the
 * hint's failure. */
static void assert_huge(long gained_kb, long fallbacks_before, const char *what)
{
    if (strcmp(thp_mode(), "never") == 0)
        return;
    if (gained_kb < 16 * 1024 && thp_fallbacks() > fallbacks_before)
        return;
    ck_assert_msg(gained_kb >= 16 * 1024, "%s, THP %s: %ld kB more in huge pages", what,
                  thp_mode(), gained_kb);
}

/* 48 MiB in the small pieces an import allocates, each touched. */
static void **small_pieces(size_t *n)
{
    *n = (size_t)48 << 20 >> 8;
    void **v = malloc(*n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < *n; i++) {
        ck_assert_ptr_nonnull(v[i] = malloc(200));
        memset(v[i], (int)i, 200);
    }
    return v;
}

static void free_pieces(void **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

START_TEST(bulk_heap_gets_huge_pages)
{
    long before = huge_kb(), fallbacks = thp_fallbacks();
    mem_bulk_begin((size_t)64 << 20);
    size_t n;
    void **v = small_pieces(&n);
    assert_huge(huge_kb() - before, fallbacks, "main heap");
    free_pieces(v, n);
}
END_TEST

/* Without the hint, the same allocations stay in small pages where the
 * kernel gives huge ones only on request: the gain above is the hint's. */
START_TEST(without_hint_small_pages)
{
    if (strcmp(thp_mode(), "madvise") != 0)
        return; /* "always" gives them anyway, "never" never */
    long before = huge_kb();
    size_t n;
    void **v = small_pieces(&n);
    ck_assert_int_le(huge_kb(), before + 2048);
    free_pieces(v, n);
}
END_TEST

struct thread_run {
    int hint;
    long gained_kb;
};

/* On a thread of its own (its own arena), with or without the hint. */
static void *thread_pieces(void *arg)
{
    struct thread_run *r = arg;
    if (r->hint) /* first: the thread's first allocation makes its arena */
        mem_bulk_thread((size_t)48 << 20);
    long before = huge_kb();
    size_t n;
    void **v = small_pieces(&n);
    r->gained_kb = huge_kb() - before;
    free_pieces(v, n);
    return NULL;
}

static long on_a_thread(int hint)
{
    pthread_t t;
    struct thread_run r = {hint, 0};
    ck_assert_int_eq(pthread_create(&t, NULL, thread_pieces, &r), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    return r.gained_kb;
}

START_TEST(thread_heap_gets_huge_pages)
{
    long fallbacks = thp_fallbacks();
    assert_huge(on_a_thread(1), fallbacks, "a thread's heap");
}
END_TEST

/* (A test of its own: a later thread would reuse the first one's arena.) */
START_TEST(thread_heap_without_hint_small_pages)
{
    if (strcmp(thp_mode(), "madvise") == 0)
        ck_assert_int_le(on_a_thread(0), 2048);
}
END_TEST

#endif

START_TEST(small_expectation_changes_nothing)
{
    void *brk = sbrk(0);
    mem_bulk_begin(MEM_BULK_MIN - 1);
    ck_assert_ptr_eq(sbrk(0), brk);
}
END_TEST

START_TEST(one_buffer_gets_huge_pages)
{
    size_t len = (size_t)16 << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    long before = huge_kb(), fallbacks = thp_fallbacks();
    mem_advise_huge(p + 1, len - 1); /* unaligned ends: only whole 2 MiB pages inside */
    memset(p, 1, len);
    if (strcmp(thp_mode(), "never") != 0 && thp_fallbacks() == fallbacks)
        ck_assert_int_ge(huge_kb(), before + 8 * 1024);
    ck_assert_int_eq(p[len - 1], 1);
    munmap(p, len);
    mem_advise_huge(NULL, 0); /* nothing inside: nothing done */
}
END_TEST

static Suite *mem_suite(void)
{
    Suite *s = suite_create("mem");
    TCase *t = tcase_create("hints");
#if OWN_MALLOC
    tcase_add_test(t, bulk_heap_gets_huge_pages);
    tcase_add_test(t, without_hint_small_pages);
    tcase_add_test(t, thread_heap_gets_huge_pages);
    tcase_add_test(t, thread_heap_without_hint_small_pages);
#endif
    tcase_add_test(t, small_expectation_changes_nothing);
    tcase_add_test(t, one_buffer_gets_huge_pages);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mem_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

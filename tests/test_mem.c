/* test_mem.c -- Check suite for mem: the hints give huge pages where the
 * kernel offers them on request, and nothing below the threshold. Each
 * test runs in its own process (Check forks), so heaps do not mix. */
#include "crypto.h"
#include "mem.h"
#include "testutil.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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

/* A figure of /proc/self/smaps_rollup, in kB: `format` is its line,
 * "Field: %ld kB". */
static long rollup_kb(const char *format)
{
    char line[256];
    long kb = 0, v;
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, format, &v) == 1)
            kb = v;
    fclose(f);
    return kb;
}

/* Anonymous memory of this process in huge pages, in kB. */
static long huge_kb(void)
{
    return rollup_kb("AnonHugePages: %ld kB");
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

/* One mapping of /proc/self/smaps, as these tests read it. */
struct smap {
    unsigned long lo, hi;
    char perms[8];
    char path[4096];   /* "" for anonymous memory */
    long rss_kb, anon_kb;
    int hg;            /* VmFlags carries the huge-page advice */
};

/* Call fn for every mapping of this process, once all its fields are read. */
static void each_mapping(void (*fn)(const struct smap *m, void *ctx), void *ctx)
{
    char line[4352];
    struct smap m;
    int have = 0;
    FILE *f = fopen("/proc/self/smaps", "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        int at = 0;
        long v;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &at) == 3 && at) {
            if (have)
                fn(&m, ctx);
            m = (struct smap){.lo = lo, .hi = hi};
            memcpy(m.perms, perms, sizeof m.perms);
            snprintf(m.path, sizeof m.path, "%.*s", (int)strcspn(line + at, "\n"), line + at);
            have = 1;
        } else if (sscanf(line, "Rss: %ld kB", &v) == 1) {
            m.rss_kb = v;
        } else if (sscanf(line, "Anonymous: %ld kB", &v) == 1) {
            m.anon_kb = v;
        } else if (strncmp(line, "VmFlags:", 8) == 0) {
            m.hg = strstr(line, " hg") != NULL; /* flags are two letters each */
        }
    }
    if (have)
        fn(&m, ctx);
    fclose(f);
}

struct hg_query {
    unsigned long at;
    int hg;
};

static void note_hg(const struct smap *m, void *ctx)
{
    struct hg_query *q = ctx;
    if (m->lo <= q->at && q->at < m->hi)
        q->hg = m->hg;
}

/* Whether the mapping that holds p carries the huge-page advice (VmFlags
 * "hg"): what mem_advise_huge asked, whether or not the kernel then had
 * huge pages to give. */
static int advised_huge(const void *p)
{
    struct hg_query q = {(unsigned long)(uintptr_t)p, 0};
    each_mapping(note_hg, &q);
    return q.hg;
}

#if OWN_MALLOC /* glibc's heap: under a sanitizer there is none to test */
/* The hint asked for huge pages: they came (gained kB), or the kernel
 * tried and had none to give (a fragmented machine), which is not the
 * hint's failure. */
static void assert_huge(long gained_kb, long fallbacks_before, int advised, const char *what)
{
    if (strcmp(thp_mode(), "never") == 0)
        return;
    ck_assert_msg(advised, "%s: no huge-page advice (VmFlags hg) on its memory", what);
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
    assert_huge(huge_kb() - before, fallbacks, advised_huge(v[n / 2]), "main heap");
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
    int advised; /* its pieces' memory carries the advice */
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
    r->advised = advised_huge(v[n / 2]);
    free_pieces(v, n);
    return NULL;
}

static struct thread_run on_a_thread(int hint)
{
    pthread_t t;
    struct thread_run r = {hint, 0, 0};
    ck_assert_int_eq(pthread_create(&t, NULL, thread_pieces, &r), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    return r;
}

START_TEST(thread_heap_gets_huge_pages)
{
    long fallbacks = thp_fallbacks();
    struct thread_run r = on_a_thread(1);
    assert_huge(r.gained_kb, fallbacks, r.advised, "a thread's heap");
}
END_TEST

/* (A test of its own: a later thread would reuse the first one's arena.) */
START_TEST(thread_heap_without_hint_small_pages)
{
    struct thread_run r = on_a_thread(0);
    ck_assert(!r.advised);
    if (strcmp(thp_mode(), "madvise") == 0)
        ck_assert_int_le(r.gained_kb, 2048);
}
END_TEST

/* This process's minor page faults so far. */
static long minor_faults(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_minflt;
}

/* Rounds of a sync upload's buffers: BLOCKS of BLOCK bytes allocated,
 * written and freed. The page faults of rounds after the first. */
#define BLOCK ((size_t)350 << 10)
#define BLOCKS 8

static long faults_of_later_rounds(void)
{
    long before = 0;
    for (int round = 0; round < 5; round++) {
        if (round == 1)
            before = minor_faults();
        char *p[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            p[i] = malloc(BLOCK);
            ck_assert_ptr_nonnull(p[i]);
            memset(p[i], round + 1, BLOCK);
        }
        for (int i = 0; i < BLOCKS; i++)
            free(p[i]);
    }
    return minor_faults() - before;
}

START_TEST(kept_buffers_are_reused_without_faults)
{
    mem_keep_freed((size_t)4 << 20); /* above the 2.8 MB a round holds */
    /* four rounds: every page already mapped */
    ck_assert_int_lt(faults_of_later_rounds(), 64);
}
END_TEST

/* What the hint is for: glibc's own thresholds give the pages back after
 * each round and fault them in again (a page a 4 KiB), so the test above
 * would fail without it. */
START_TEST(buffers_fault_again_by_default)
{
    ck_assert_int_gt(faults_of_later_rounds(), 4 * BLOCKS * (long)(BLOCK / 4096) / 2);
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
    ck_assert(!advised_huge(p + len / 2));
    mem_advise_huge(p + 1, len - 1); /* unaligned ends: only whole 2 MiB pages inside */
    if (strcmp(thp_mode(), "never") != 0) {
        ck_assert(advised_huge(p + len / 2));
        ck_assert(!advised_huge(p)); /* the partial first 2 MiB is left alone */
    }
    memset(p, 1, len);
    if (strcmp(thp_mode(), "never") != 0 && thp_fallbacks() == fallbacks)
        ck_assert_int_ge(huge_kb(), before + 8 * 1024);
    ck_assert_int_eq(p[len - 1], 1);
    munmap(p, len);
    mem_advise_huge(NULL, 0); /* nothing inside: nothing done */
}
END_TEST

struct kb_query {
    const char *name;
    int dirty;
    long kb;
};

static void add_mapped(const struct smap *m, void *ctx)
{
    struct kb_query *q = ctx;
    if (m->path[0] == '/' && strstr(m->path, q->name) && m->perms[1] != 'w' &&
        (m->anon_kb > 0) == q->dirty)
        q->kb += m->rss_kb;
}

/* Resident kB of this process's read-only mappings of files whose path
 * contains `name`: those that hold no private copy of a page (clean), or
 * those that do (dirty, such as relocated data made read-only). */
static long mapped_kb(const char *name, int dirty)
{
    struct kb_query q = {name, dirty, 0};
    each_mapping(add_mapped, &q);
    return q.kb;
}

#if OWN_MALLOC
/* This process's anonymous memory in kB. */
static long anon_kb(void)
{
    return rollup_kb("Anonymous: %ld kB");
}

/* Whether this kernel populates a range on request (Linux 5.14 on). */
static int kernel_populates(void)
{
#if defined(MADV_POPULATE_WRITE)
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    int ok = madvise(p, page, MADV_POPULATE_WRITE) == 0;
    munmap(p, page);
    return ok;
#else
    return 0;
#endif
}

/* The heap's free top is in memory once the prefaulting ends, and the
 * allocations that follow land in those pages rather than in new ones. */
START_TEST(prefault_maps_the_heap_top_ahead)
{
    if (!kernel_populates())
        return;
    mem_bulk_begin((size_t)96 << 20);
    long before = anon_kb();
    struct mem_prefault *pf = mem_prefault_start((size_t)48 << 20);
    ck_assert_ptr_nonnull(pf);
    mem_prefault_end(&pf);
    ck_assert_ptr_null(pf);
    long populated = anon_kb();
    ck_assert_msg(populated - before >= 44 * 1024, "%ld kB populated of 48 MiB",
                  populated - before);
    size_t n;
    void **v = small_pieces(&n); /* 48 MiB and their headers, written */
    ck_assert_msg(anon_kb() - populated < 12 * 1024, "%ld kB more after the allocations",
                  anon_kb() - populated);
    free_pieces(v, n);
}
END_TEST

/* Memory kept for reuse goes back when asked: 16 MiB of blocks freed stay
 * with the process, then mem_trim_heap() returns them. */
START_TEST(kept_memory_goes_back_when_trimmed)
{
    enum { N = 64 };
    size_t block = (size_t)256 << 10;
    mem_keep_freed((size_t)32 << 20);
    long before = anon_kb();
    char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = malloc(block);
        ck_assert_ptr_nonnull(p[i]);
        memset(p[i], 1, block);
    }
    for (int i = 0; i < N; i++)
        free(p[i]);
    long kept = anon_kb();
    ck_assert_msg(kept - before >= 14 * 1024, "%ld kB kept of 16 MiB freed", kept - before);
    mem_trim_heap();
    ck_assert_msg(kept - anon_kb() >= 14 * 1024, "%ld kB given back of 16 MiB", kept - anon_kb());
}
END_TEST
#endif

/* Too little to be worth a thread: nothing starts; ending nothing is
 * fine. */
START_TEST(prefault_of_little_starts_nothing)
{
    struct mem_prefault *pf = mem_prefault_start(MEM_BULK_MIN - 1);
    ck_assert_ptr_null(pf);
    mem_prefault_end(&pf);
    mem_prefault_end(NULL);
}
END_TEST

START_TEST(idle_trim_unmaps_clean_library_pages)
{
    static const uint8_t abc_sha256[CRYPTO_HASH_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22,
        0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
        0x15, 0xad};
    uint8_t h[CRYPTO_HASH_LEN];
    crypto_sha256("abc", 3, h); /* libcrypto's code and tables mapped in */
    long before = mapped_kb("libcrypto", 0);
    ck_assert_int_gt(before, 0);
    ck_assert_uint_ge(mem_trim_idle(), (size_t)before << 10);
    /* reading smaps runs libc, never libcrypto: nothing of it mapped again */
    ck_assert_int_eq(mapped_kb("libcrypto", 0), 0);
    memset(h, 0, sizeof h);
    crypto_sha256("abc", 3, h); /* and it maps in again on use */
    ck_assert_mem_eq(h, abc_sha256, sizeof h);
    ck_assert_int_gt(mapped_kb("libcrypto", 0), 0);
}
END_TEST

/* A read-only file mapping holding pages this process wrote (as the
 * loader's relocated data is, once made read-only) keeps them: dropping
 * them would bring back the file's bytes. */
START_TEST(idle_trim_keeps_private_copies)
{
    char path[] = "/tmp/scsms-mem-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *fill = malloc(2 * page);
    ck_assert_ptr_nonnull(fill);
    memset(fill, 'f', 2 * page);
    ck_assert_int_eq(write(fd, fill, 2 * page), (ssize_t)(2 * page));
    char *priv = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const char *shared = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, (off_t)page);
    ck_assert_ptr_ne(priv, MAP_FAILED);
    ck_assert_ptr_ne(shared, MAP_FAILED);
    priv[0] = 'w';
    ck_assert_int_eq(mprotect(priv, page, PROT_READ), 0);
    ck_assert_int_eq(shared[page - 1], 'f');
    const char *name = strrchr(path, '/') + 1;
    ck_assert_int_gt(mapped_kb(name, 1), 0);
    ck_assert_int_gt(mapped_kb(name, 0), 0);
    mem_trim_idle();
    ck_assert_int_gt(mapped_kb(name, 1), 0);  /* the written page stays */
    ck_assert_int_eq(mapped_kb(name, 0), 0);  /* the clean one went */
    ck_assert_int_eq(priv[0], 'w');
    ck_assert_int_eq(priv[1], 'f');
    ck_assert_int_eq(shared[0], 'f'); /* read again from the page cache */
    munmap(priv, page);
    munmap((void *)shared, page);
    close(fd);
    unlink(path);
    free(fill);
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
    tcase_add_test(t, prefault_maps_the_heap_top_ahead);
    tcase_add_test(t, kept_buffers_are_reused_without_faults);
    tcase_add_test(t, buffers_fault_again_by_default);
    tcase_add_test(t, kept_memory_goes_back_when_trimmed);
#endif
    tcase_add_test(t, small_expectation_changes_nothing);
    tcase_add_test(t, one_buffer_gets_huge_pages);
    tcase_add_test(t, prefault_of_little_starts_nothing);
    suite_add_tcase(s, t);
    t = tcase_create("idle");
    tcase_add_test(t, idle_trim_unmaps_clean_library_pages);
    tcase_add_test(t, idle_trim_keeps_private_copies);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(mem_suite());
}

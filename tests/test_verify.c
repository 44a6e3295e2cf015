/* test_verify.c -- tampering with a store is found and the entry named.
 *
 * Each test builds a store through the API, alters it underneath (straight
 * through LMDB, or by editing bytes of data.mdb as an intruder would), and
 * checks verify_store() refuses it naming the exact entry. */
#include "testutil.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonpb.h"
#include "store.h"
#include "verify.h"

enum { N = 12, PER_BATCH = 3 }; /* entries 1..12, checkpoints at 3, 6, 9, 12 */

static Scsms__Record *incident(unsigned i)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"type\":\"incident\",\"kind\":\"breach\",\"occurred_at\":\"2026-09-%02uT10:00:00Z\","
             "\"location\":\"MARKER-%04u-LOCATION\",\"severity\":2}",
             1 + i % 28, i);
    return tu_record(json);
}

/* Incidents from+1 .. from+per into s in one batch: a signed checkpoint. */
static int add_batch(store_t *s, unsigned from, unsigned per)
{
    store_batch_t *b = NULL;
    Scsms__Record *r[64];
    ck_assert_uint_le(per, 64);
    ck_assert_int_eq(store_batch_new(s, &b), 0);
    for (unsigned i = 0; i < per; i++) {
        r[i] = incident(from + i + 1);
        ck_assert_int_eq(store_batch_add(b, r[i]), 0);
    }
    int rc = store_batch_commit(b);
    store_batch_destroy(&b);
    for (unsigned i = 0; i < per; i++)
        record_free(r[i]);
    return rc;
}

/* A store of n incidents written in batches of per: a signed checkpoint
 * after each batch. */
static char *build(const char *tag, unsigned n, unsigned per)
{
    char *dir = tu_tmpdir(tag);
    store_t *s = NULL;
    ck_assert_msg(store_create(dir, "SITE-V", STORE_ROLE_SITE, NULL) == 0, "%s", scsms_errmsg());
    ck_assert_int_eq(store_open(dir, NULL, &s), 0);
    for (unsigned done = 0; done < n; done += per)
        ck_assert_msg(add_batch(s, done, per) == 0, "%s", scsms_errmsg());
    store_close(&s);
    return dir;
}

/* Run verify on dir; returns the code and fills rep. The log is also
 * checked cut into pieces of every size from 1 to N + 1 (each piece
 * starting from the stored entry before it, two threads taking them):
 * wherever the cuts fall, the same entry must be named with the same
 * words, and a sound store must give the same counts. */
static int run_verify(const char *dir, struct verify_report *rep)
{
    store_t *s = NULL;
    ck_assert_msg(store_open(dir, NULL, &s) == 0, "%s", scsms_errmsg());
    int rc = verify_store(s, rep);
    char said[512];
    snprintf(said, sizeof said, "%s", rc ? scsms_errmsg() : "");
    for (uint64_t piece = 1; piece <= N + 1; piece++) {
        struct verify_report cut;
        int crc = verify_store_pieces(s, piece, &cut);
        ck_assert_msg(crc == rc, "pieces of %llu: %d, whole: %d", (unsigned long long)piece, crc,
                      rc);
        ck_assert_uint_eq(cut.seq, rep->seq);
        ck_assert_str_eq(cut.owner, rep->owner);
        ck_assert_str_eq(cut.message, rep->message);
        ck_assert_str_eq(crc ? scsms_errmsg() : "", said);
        if (rc == 0) {
            ck_assert_uint_eq(cut.entries, rep->entries);
            ck_assert_uint_eq(cut.records, rep->records);
            ck_assert_uint_eq(cut.checkpoints, rep->checkpoints);
            ck_assert_uint_eq(cut.due, rep->due);
            ck_assert_uint_eq(cut.owners, rep->owners);
        }
    }
    store_close(&s);
    return rc;
}

/* verify of dir fails naming entry seq (0: no entry) with words `says`;
 * dir is then removed and freed. */
static void expect_found(char *dir, uint64_t seq, const char *says)
{
    struct verify_report rep;
    ck_assert_int_eq(run_verify(dir, &rep), SCSMS_ETAMPER);
    ck_assert_msg(rep.seq == seq && strstr(rep.message, says), "want entry %llu (%s), got %llu: %s",
                  (unsigned long long)seq, says, (unsigned long long)rep.seq, rep.message);
    tu_rmdir(dir);
    free(dir);
}

/* ---------------------------------------------------------------- raw LMDB */

struct raw {
    MDB_env *env;
    MDB_txn *txn;
};

static MDB_dbi raw_open(struct raw *r, const char *dir, const char *table)
{
    MDB_dbi dbi;
    ck_assert_int_eq(mdb_env_create(&r->env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(r->env, 16), 0);
    ck_assert_int_eq(mdb_env_open(r->env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
    ck_assert_int_eq(mdb_dbi_open(r->txn, table, 0, &dbi), 0);
    return dbi;
}

static void raw_close(struct raw *r)
{
    ck_assert_int_eq(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
}

static void logkey(uint64_t seq, uint8_t k[12])
{
    memset(k, 0, 12); /* owner index 0: the store's own log */
    for (int i = 0; i < 8; i++)
        k[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

/* A malloc'd copy of the value under log key seq of table dbi. */
static uint8_t *value_copy(struct raw *r, MDB_dbi dbi, uint64_t seq, size_t *len)
{
    uint8_t k[12];
    logkey(seq, k);
    MDB_val key = {12, k}, v;
    ck_assert_int_eq(mdb_get(r->txn, dbi, &key, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    *len = v.mv_size;
    return copy;
}

/* XOR one byte of the stored log entry seq (offset from its start, or from
 * its end when negative). Returns the entry's length. */
static size_t flip_entry_byte(const char *dir, uint64_t seq, long offset)
{
    struct raw r;
    MDB_dbi log = raw_open(&r, dir, "log");
    size_t len;
    uint8_t *copy = value_copy(&r, log, seq, &len), k[12];
    size_t at = offset >= 0 ? (size_t)offset : len - (size_t)(-offset);
    ck_assert_uint_lt(at, len);
    copy[at] ^= 0x20;
    logkey(seq, k);
    MDB_val key = {12, k}, nv = {len, copy};
    ck_assert_int_eq(mdb_put(r.txn, log, &key, &nv, 0), 0);
    raw_close(&r);
    free(copy);
    return len;
}

/* ---------------------------------------------------------------- tests */

START_TEST(clean_store_verifies)
{
    char *dir = build("clean", N, PER_BATCH);
    struct verify_report rep;
    ck_assert_msg(run_verify(dir, &rep) == 0, "%s", scsms_errmsg());
    ck_assert_uint_eq(rep.entries, N);
    ck_assert_uint_eq(rep.records, N);
    ck_assert_uint_eq(rep.checkpoints, N / PER_BATCH);
    ck_assert_uint_eq(rep.seq, 0);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* One byte changed anywhere in any entry: at the start (header), in the
 * previous-hash, in the middle (record) and at the end. Every time verify
 * fails and names exactly that entry. */
START_TEST(flipped_byte_in_any_entry_is_named)
{
    char *dir = build("flip", N, PER_BATCH);
    const long offsets[] = {1, 20, -40, -1};
    for (uint64_t seq = 1; seq <= N; seq++) {
        for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
            struct verify_report rep;
            flip_entry_byte(dir, seq, offsets[o]);
            int rc = run_verify(dir, &rep);
            ck_assert_msg(rc == SCSMS_ETAMPER && rep.seq == seq,
                          "entry %llu offset %ld: rc %d, named %llu: %s",
                          (unsigned long long)seq, offsets[o], rc, (unsigned long long)rep.seq,
                          rep.message);
            char want[32];
            snprintf(want, sizeof want, "entry %llu of SITE-V", (unsigned long long)seq);
            ck_assert_ptr_nonnull(strstr(rep.message, want));
            flip_entry_byte(dir, seq, offsets[o]); /* put it back */
            ck_assert_int_eq(run_verify(dir, &rep), 0);
        }
    }
    tu_rmdir(dir);
    free(dir);
}
END_TEST

static void delete_key(const char *dir, const char *table, const void *k, size_t kl)
{
    struct raw r;
    MDB_dbi dbi = raw_open(&r, dir, table);
    MDB_val key = {kl, (void *)k};
    ck_assert_int_eq(mdb_del(r.txn, dbi, &key, NULL), 0);
    raw_close(&r);
}

START_TEST(deleted_entry_is_named)
{
    const uint64_t targets[] = {1, 5, N};
    for (size_t t = 0; t < 3; t++) {
        char *dir = build("del", N, PER_BATCH);
        uint8_t k[12];
        logkey(targets[t], k);
        delete_key(dir, "log", k, sizeof k);
        expect_found(dir, targets[t], "deleted");
    }
}
END_TEST

START_TEST(swapped_entries_are_named)
{
    char *dir = build("swap", N, PER_BATCH);
    struct raw r;
    MDB_dbi log = raw_open(&r, dir, "log");
    uint8_t k4[12], k9[12];
    logkey(4, k4);
    logkey(9, k9);
    MDB_val a = {12, k4}, b = {12, k9}, va, vb;
    ck_assert_int_eq(mdb_get(r.txn, log, &a, &va), 0);
    ck_assert_int_eq(mdb_get(r.txn, log, &b, &vb), 0);
    void *ca = malloc(va.mv_size), *cb = malloc(vb.mv_size);
    memcpy(ca, va.mv_data, va.mv_size);
    memcpy(cb, vb.mv_data, vb.mv_size);
    MDB_val na = {vb.mv_size, cb}, nb = {va.mv_size, ca};
    ck_assert_int_eq(mdb_put(r.txn, log, &a, &na, 0), 0);
    ck_assert_int_eq(mdb_put(r.txn, log, &b, &nb, 0), 0);
    raw_close(&r);
    free(ca);
    free(cb);
    struct verify_report rep;
    ck_assert_int_eq(run_verify(dir, &rep), SCSMS_ETAMPER);
    ck_assert_uint_eq(rep.seq, 4);
    ck_assert_ptr_nonnull(strstr(rep.message, "holds entry 9"));
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* Rewrite the checkpoint at seq with one signature byte flipped. */
static void damage_checkpoint_signature(const char *dir, uint64_t seq)
{
    struct raw r;
    MDB_dbi cps = raw_open(&r, dir, "checkpoints");
    uint8_t k[12];
    logkey(seq, k);
    MDB_val key = {12, k}, v;
    ck_assert_int_eq(mdb_get(r.txn, cps, &key, &v), 0);
    Scsms__Checkpoint *cp = scsms__checkpoint__unpack(NULL, v.mv_size, v.mv_data);
    ck_assert_ptr_nonnull(cp);
    ck_assert_uint_eq(cp->signature.len, 64);
    cp->signature.data[10] ^= 1;
    size_t len = scsms__checkpoint__get_packed_size(cp);
    uint8_t *buf = malloc(len);
    scsms__checkpoint__pack(cp, buf);
    MDB_val nv = {len, buf};
    ck_assert_int_eq(mdb_put(r.txn, cps, &key, &nv, 0), 0);
    raw_close(&r);
    scsms__checkpoint__free_unpacked(cp, NULL);
    free(buf);
}

START_TEST(replaced_checkpoint_signature_is_named)
{
    char *dir = build("sig", N, PER_BATCH);
    struct verify_report rep;
    damage_checkpoint_signature(dir, 6);
    ck_assert_int_eq(run_verify(dir, &rep), SCSMS_ETAMPER);
    ck_assert_uint_eq(rep.seq, 6);
    ck_assert_ptr_nonnull(strstr(rep.message, "signature"));
    tu_rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(removed_head_checkpoint_is_found)
{
    char *dir = build("nocp", N, PER_BATCH);
    struct verify_report rep;
    uint8_t k[12];
    logkey(N, k);
    delete_key(dir, "checkpoints", k, sizeof k);
    ck_assert_int_eq(run_verify(dir, &rep), SCSMS_ETAMPER);
    ck_assert_uint_eq(rep.seq, N - PER_BATCH + 1); /* first entry no signature covers */
    ck_assert_ptr_nonnull(strstr(rep.message, "not covered"));
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* The store head (meta "heads") of dir copied into head, or with put
 * set written from it, or with drop set deleted. */
static void store_head_io(const char *dir, uint8_t head[104], int put, int drop)
{
    struct raw r;
    MDB_dbi meta = raw_open(&r, dir, "meta");
    MDB_val k = {5, "heads"}, v = {104, head};
    if (drop)
        ck_assert_int_eq(mdb_del(r.txn, meta, &k, NULL), 0);
    else if (put)
        ck_assert_int_eq(mdb_put(r.txn, meta, &k, &v, 0), 0);
    else {
        ck_assert_int_eq(mdb_get(r.txn, meta, &k, &v), 0);
        ck_assert_uint_eq(v.mv_size, 104);
        memcpy(head, v.mv_data, 104);
    }
    raw_close(&r);
}

/* An intruder cuts the log back to an earlier checkpoint, with the
 * checkpoints and index entries of what went: what is left is a log its
 * owner signed, but not the log the owner signed for last (the store
 * head). A copy of the store taken at that checkpoint is that state
 * exactly; given the store head signed since, it is what the intruder
 * leaves. */
START_TEST(log_cut_back_to_an_earlier_checkpoint_is_found)
{
    char *dir = build("cut", N - PER_BATCH, PER_BATCH), *later = tu_tmpdir("cut-later");
    char from[4200];
    snprintf(from, sizeof from, "%s/.", dir);
    char *argv[] = {"/bin/cp", "-a", from, later, NULL};
    struct tu_run run = tu_exec(argv, NULL);
    ck_assert_msg(run.status == 0, "%s", run.err);
    tu_run_free(&run);
    store_t *s = NULL;
    ck_assert_int_eq(store_open(later, NULL, &s), 0);
    ck_assert_msg(add_batch(s, N - PER_BATCH, PER_BATCH) == 0, "%s", scsms_errmsg());
    store_close(&s);
    struct verify_report rep;
    ck_assert_msg(run_verify(later, &rep) == 0, "%s", rep.message);
    ck_assert_uint_eq(rep.entries, N);
    ck_assert_msg(run_verify(dir, &rep) == 0, "%s", rep.message);
    ck_assert_uint_eq(rep.entries, N - PER_BATCH);
    uint8_t head[104];
    store_head_io(later, head, 0, 0);
    store_head_io(dir, head, 1, 0);
    expect_found(dir, 0, "its logs and their heads are not the ones its owner last signed for: "
                 "a log was cut back to an earlier checkpoint");
    /* without a store head, verify says so and nothing more is written */
    store_head_io(later, head, 0, 1);
    ck_assert_msg(store_open(later, NULL, &s) == 0, "%s", scsms_errmsg());
    ck_assert_int_eq(add_batch(s, N, 1), SCSMS_ETAMPER);
    ck_assert_msg(strstr(scsms_errmsg(), "store of SITE-V: the signed list of the logs this "
                         "store holds is missing"),
                  "%s", scsms_errmsg());
    struct store_stats st;
    ck_assert_int_eq(store_stats(s, &st), 0);
    ck_assert_uint_eq(st.head_seq, N);
    store_close(&s);
    expect_found(later, 0, "is missing: it was altered outside the store");
}
END_TEST

START_TEST(index_without_its_entry_is_found)
{
    char *dir = build("idx", N, PER_BATCH);
    struct verify_report rep;
    /* the status index key of record SITE-V-INC-000007 */
    uint8_t k[64];
    const char *status = "open", *id = "SITE-V-INC-000007";
    k[0] = 36; /* body case of incident */
    memcpy(k + 1, status, 4);
    k[5] = 0;
    memcpy(k + 6, id, strlen(id));
    delete_key(dir, "by_status", k, 6 + strlen(id));
    ck_assert_int_eq(run_verify(dir, &rep), SCSMS_ETAMPER);
    ck_assert_uint_eq(rep.seq, 7);
    ck_assert_ptr_nonnull(strstr(rep.message, "status index"));
    tu_rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(extra_index_entry_is_found)
{
    char *dir = build("extra", N, PER_BATCH);
    struct raw r;
    MDB_dbi st = raw_open(&r, dir, "by_status");
    uint8_t k[32] = {36, 'c', 'l', 'o', 's', 'e', 'd', 0, 'F', 'A', 'K', 'E'};
    MDB_val key = {12, k}, v = {0, ""};
    ck_assert_int_eq(mdb_put(r.txn, st, &key, &v, 0), 0);
    raw_close(&r);
    struct verify_report rep;
    ck_assert_int_eq(run_verify(dir, &rep), SCSMS_ETAMPER);
    ck_assert_ptr_nonnull(strstr(rep.message, "by_status"));
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* An intruder edits data.mdb itself: one byte of one record's text. All
 * records are written in one commit so each appears in the file once. */
START_TEST(byte_edited_in_data_file_is_named)
{
    char *dir = build("file", N, N);
    ck_assert_int_eq(tu_edit_data_file(dir, "MARKER-0008-LOCATION", 7, 'X'), 1);
    struct verify_report rep;
    ck_assert_int_eq(run_verify(dir, &rep), SCSMS_ETAMPER);
    ck_assert_uint_eq(rep.seq, 8);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(forged_entry_without_signature_is_found)
{
    /* An intruder with write access but without the key appends a well
     * formed entry and moves the head: no checkpoint covers it. */
    char *dir = build("forge", N, PER_BATCH);
    struct raw r;
    MDB_dbi log = raw_open(&r, dir, "log");
    MDB_dbi owners;
    ck_assert_int_eq(mdb_dbi_open(r.txn, "owners", 0, &owners), 0);
    uint8_t k[12], nk[12];
    logkey(N, k);
    logkey(N + 1, nk);
    MDB_val key = {12, k}, v, ok = {6, "SITE-V"}, ov;
    ck_assert_int_eq(mdb_get(r.txn, log, &key, &v), 0);
    Scsms__LogEntry *e = scsms__log_entry__unpack(NULL, v.mv_size, v.mv_data);
    ck_assert_ptr_nonnull(e);
    uint8_t prev[32];
    crypto_sha256(v.mv_data, v.mv_size, prev);
    memcpy(e->prev_hash.data, prev, 32);
    e->seq = N + 1;
    size_t len = scsms__log_entry__get_packed_size(e);
    uint8_t *buf = malloc(len);
    scsms__log_entry__pack(e, buf);
    MDB_val nkey = {12, nk}, nv = {len, buf};
    ck_assert_int_eq(mdb_put(r.txn, log, &nkey, &nv, 0), 0);
    ck_assert_int_eq(mdb_get(r.txn, owners, &ok, &ov), 0);
    uint8_t st[44];
    memcpy(st, ov.mv_data, 44);
    for (int i = 0; i < 8; i++)
        st[4 + i] = (uint8_t)((uint64_t)(N + 1) >> (56 - 8 * i));
    crypto_sha256(buf, len, st + 12);
    MDB_val sv = {44, st};
    ck_assert_int_eq(mdb_put(r.txn, owners, &ok, &sv, 0), 0);
    raw_close(&r);
    scsms__log_entry__free_unpacked(e, NULL);
    free(buf);
    struct verify_report rep;
    ck_assert_int_eq(run_verify(dir, &rep), SCSMS_ETAMPER);
    ck_assert_uint_eq(rep.seq, N + 1);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* Copy the value under key `from` of table to a new key `to` (to_len
 * bytes: a well-formed 12-byte log key, or one of the wrong size). */
static void plant_copy(const char *dir, const char *table, uint64_t from, const uint8_t *to,
                       size_t to_len)
{
    struct raw r;
    MDB_dbi dbi = raw_open(&r, dir, table);
    size_t len;
    uint8_t *copy = value_copy(&r, dbi, from, &len);
    MDB_val nk = {to_len, (void *)to}, nv = {len, copy};
    ck_assert_int_eq(mdb_put(r.txn, dbi, &nk, &nv, MDB_NOOVERWRITE), 0);
    raw_close(&r);
    free(copy);
}

/* Keys planted where no entry or checkpoint can be, each found as a walk
 * of the whole log in order finds it, wherever the log is cut: an entry at
 * sequence 0 is out of order before entry 1; a log key one byte too long
 * just after entry 6 ends the log there (entry 7 missing); a checkpoint key
 * one byte too long just after checkpoint 3 stops the reading of
 * checkpoints, so the head is not covered from entry 4. */
START_TEST(keys_out_of_place_are_found)
{
    struct {
        const char *table;
        uint64_t copy_of, at;
        size_t len;
        uint64_t named;
        const char *says;
    } cases[] = {{"log", 1, 0, 12, 1, "out of order"},
                 {"log", 6, 6, 13, 7, "missing from the log (deleted)"},
                 {"checkpoints", 3, 3, 13, 4, "not covered by any signed checkpoint"},
                 {"checkpoints", 3, 0, 12, 0, "checkpoint names no entry"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *dir = build("plant", N, PER_BATCH);
        uint8_t key[13] = {0};
        logkey(cases[c].at, key);
        plant_copy(dir, cases[c].table, cases[c].copy_of, key, cases[c].len);
        expect_found(dir, cases[c].named, cases[c].says);
    }
}
END_TEST

/* A head altered to claim 2^62 entries: the entries after the real last
 * are missing, found without cutting the claimed log into pieces (which
 * would take memory in proportion to the claim). */
START_TEST(inflated_head_is_missing_entries)
{
    char *dir = build("inflate", N, PER_BATCH);
    struct raw r;
    MDB_dbi owners = raw_open(&r, dir, "owners");
    MDB_val ok = {6, "SITE-V"}, ov;
    ck_assert_int_eq(mdb_get(r.txn, owners, &ok, &ov), 0);
    uint8_t st[44];
    memcpy(st, ov.mv_data, 44);
    for (int i = 0; i < 8; i++)
        st[4 + i] = (uint8_t)(((uint64_t)1 << 62) >> (56 - 8 * i));
    MDB_val sv = {44, st};
    ck_assert_int_eq(mdb_put(r.txn, owners, &ok, &sv, 0), 0);
    raw_close(&r);
    expect_found(dir, N + 1, "missing from the log (deleted)");
}
END_TEST

/* Append `batches` batches of PER_BATCH incidents to the store at dir, in
 * a process of its own: its exit status says how it went (0 done). */
static pid_t write_in_child(const char *dir, unsigned batches)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid)
        return pid;
    store_t *s = NULL;
    if (store_open(dir, NULL, &s))
        _exit(1);
    for (unsigned b = 0; b < batches; b++) {
        store_batch_t *batch = NULL;
        Scsms__Record *r[PER_BATCH];
        if (store_batch_new(s, &batch))
            _exit(2);
        for (unsigned i = 0; i < PER_BATCH; i++)
            if (!(r[i] = incident(100 + b * PER_BATCH + i)) || store_batch_add(batch, r[i]))
                _exit(3);
        if (store_batch_commit(batch))
            _exit(4);
        store_batch_destroy(&batch);
        for (unsigned i = 0; i < PER_BATCH; i++)
            record_free(r[i]);
    }
    store_close(&s);
    _exit(0);
}

/* verify while writers go on: another process commits batch after batch
 * while verify runs again and again on two threads, the log cut small.
 * Each run must see the store at one moment (both threads on the same
 * snapshot, or one thread alone): it verifies, and holds whole batches,
 * each under its checkpoint. */
START_TEST(verify_sees_one_moment_while_another_process_writes)
{
    enum { BATCHES = 150 };
    char *dir = build("live", N, PER_BATCH);
    pid_t pid = write_in_child(dir, BATCHES);
    store_t *s = NULL;
    ck_assert_msg(store_open(dir, NULL, &s) == 0, "%s", scsms_errmsg());
    int status = 0, runs = 0, done;
    do {
        done = waitpid(pid, &status, WNOHANG) == pid;
        for (uint64_t piece = 1; piece <= 4; piece++, runs++) {
            struct verify_report rep;
            ck_assert_msg(verify_store_pieces(s, piece, &rep) == 0, "run %d: %s", runs,
                          scsms_errmsg());
            ck_assert_uint_eq(rep.entries % PER_BATCH, 0);
            ck_assert_uint_eq(rep.entries, rep.checkpoints * PER_BATCH);
            ck_assert_uint_eq(rep.records, rep.entries);
        }
    } while (!done);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %d", status);
    struct verify_report rep;
    ck_assert_int_eq(verify_store(s, &rep), 0);
    ck_assert_uint_eq(rep.entries, N + BATCHES * PER_BATCH);
    ck_assert_int_gt(runs, 4);
    store_close(&s);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("verify");
    TCase *t = tcase_create("tamper");
    tcase_add_test(t, clean_store_verifies);
    tcase_add_test(t, flipped_byte_in_any_entry_is_named);
    tcase_add_test(t, deleted_entry_is_named);
    tcase_add_test(t, swapped_entries_are_named);
    tcase_add_test(t, replaced_checkpoint_signature_is_named);
    tcase_add_test(t, removed_head_checkpoint_is_found);
    tcase_add_test(t, log_cut_back_to_an_earlier_checkpoint_is_found);
    tcase_add_test(t, index_without_its_entry_is_found);
    tcase_add_test(t, extra_index_entry_is_found);
    tcase_add_test(t, byte_edited_in_data_file_is_named);
    tcase_add_test(t, forged_entry_without_signature_is_found);
    tcase_add_test(t, keys_out_of_place_are_found);
    tcase_add_test(t, inflated_head_is_missing_entries);
    tcase_add_test(t, verify_sees_one_moment_while_another_process_writes);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

/* store.c -- the LMDB store; see store.h for the layout and guarantees. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "chain.h"
#include "identity.h"
#include "isotime.h"
#include "verify.h"

#define FORMAT_VERSION "2" /* 2: the store head (meta "heads") */
#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define MAX_GROW_STEP ((size_t)1 << 30)
#define MAX_DBS 16

/* ------------------------------------------------------------ helpers */

void store_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void store_put_be64(uint8_t *p, uint64_t v)
{
    store_put_be32(p, (uint32_t)(v >> 32));
    store_put_be32(p + 4, (uint32_t)v);
}

uint32_t store_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t store_get_be64(const uint8_t *p)
{
    return (uint64_t)store_get_be32(p) << 32 | store_get_be32(p + 4);
}

int store_lmdb_fail(int mrc, const char *what)
{
    switch (mrc) {
    case MDB_NOTFOUND:
        return scsms_fail(SCSMS_ENOTFOUND, "%s: not found", what);
    case MDB_MAP_FULL:
        return scsms_fail(SCSMS_EMAPFULL, "%s: store map full", what);
    case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: case MDB_INVALID:
    case MDB_VERSION_MISMATCH: case MDB_BAD_TXN:
        return scsms_fail(SCSMS_ECORRUPT, "%s: store data file is damaged (%s); restore it from a backup",
                          what, mdb_strerror(mrc));
    case ENOSPC: case EFBIG: case EDQUOT:
        return scsms_fail(SCSMS_ENOSPC, "%s: disk full; nothing of this change was stored", what);
    case MDB_READERS_FULL:
        return scsms_fail(SCSMS_EBUSY, "%s: too many processes reading the store", what);
    default:
        return scsms_fail(SCSMS_EIO, "%s: %s", what, mdb_strerror(mrc));
    }
}

int store_error_fatal(int rc)
{
    return rc == SCSMS_EMAPFULL || rc == SCSMS_ENOSPC || rc == SCSMS_EIO || rc == SCSMS_ENOMEM ||
           rc == SCSMS_ECORRUPT || rc == SCSMS_ECRYPTO;
}

void store_txn_forget(store_t *s)
{
    s->tail_latest.state = STORE_TAIL_UNKNOWN;
    s->tail_status.state = STORE_TAIL_UNKNOWN;
    s->tail_due.state = STORE_TAIL_UNKNOWN;
    if (s->memo)
        s->memo_ops->free(s->memo);
    s->memo = NULL;
    s->memo_ops = NULL;
}

void *store_txn_memo(store_t *s, const struct store_memo_ops *ops)
{
    return s->memo_ops == ops ? s->memo : NULL;
}

void store_txn_memo_keep(store_t *s, void *memo, const struct store_memo_ops *ops)
{
    if (s->memo)
        s->memo_ops->free(s->memo);
    s->memo = memo;
    s->memo_ops = ops;
}

int store_txn_commit_nested(store_t *s, MDB_txn *child, const char *what)
{
    int mrc = mdb_txn_commit(child);
    if (mrc == 0)
        return 0;
    store_txn_forget(s); /* LMDB freed child */
    return store_lmdb_fail(mrc, what);
}

void store_txn_abort_nested(store_t *s, MDB_txn *child)
{
    mdb_txn_abort(child);
    store_txn_forget(s);
}

int store_txn_begin(store_t *s, unsigned flags, MDB_txn **txn)
{
    int mrc = mdb_txn_begin(s->env, NULL, flags, txn);
    if (mrc == MDB_MAP_RESIZED) { /* another process grew the map: adopt its size */
        mrc = mdb_env_set_mapsize(s->env, 0);
        if (mrc == 0)
            mrc = mdb_txn_begin(s->env, NULL, flags, txn);
    }
    if (mrc)
        return store_lmdb_fail(mrc, "begin transaction");
    if (!(flags & MDB_RDONLY)) /* this thread now holds the writer's lock and the tails */
        store_txn_forget(s);
    return 0;
}

void store_owner_decode(const MDB_val *v, struct store_owner_state *st)
{
    const uint8_t *p = v->mv_data;
    st->idx = store_get_be32(p);
    st->seq = store_get_be64(p + 4);
    memcpy(st->head, p + 12, CRYPTO_HASH_LEN);
}

void store_owner_encode(const struct store_owner_state *st, uint8_t buf[STORE_OWNER_LEN])
{
    store_put_be32(buf, st->idx);
    store_put_be64(buf + 4, st->seq);
    memcpy(buf + 12, st->head, CRYPTO_HASH_LEN);
}

void store_log_key(uint32_t idx, uint64_t seq, uint8_t buf[STORE_LOGKEY_LEN])
{
    store_put_be32(buf, idx);
    store_put_be64(buf + 4, seq);
}

size_t store_status_key(const Scsms__Record *rec, const char *id, uint8_t *buf)
{
    size_t sl = strlen(rec->status), il = strlen(id);
    buf[0] = (uint8_t)rec->body_case;
    memcpy(buf + 1, rec->status, sl);
    buf[1 + sl] = 0;
    memcpy(buf + 2 + sl, id, il);
    return 2 + sl + il;
}

size_t store_due_key(int64_t day, const char *id, uint8_t *buf)
{
    size_t il = strlen(id);
    /* offset so that days before 1970 still sort first as unsigned */
    store_put_be32(buf, (uint32_t)(day + INT32_MAX));
    memcpy(buf + 4, id, il);
    return 4 + il;
}

size_t store_versions_key(const char *id, uint32_t version, uint8_t *buf)
{
    size_t il = strlen(id);
    memcpy(buf, id, il);
    buf[il] = 0;
    store_put_be32(buf + il + 1, version);
    return il + 5;
}

static int valid_owner_name(const char *owner)
{
    size_t n = strlen(owner);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = owner[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

int store_valid_identity(const char *name)
{
    return valid_owner_name(name);
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int file_exists(const char *dir, const char *name, off_t *size)
{
    struct stat st;
    char *p = path_join(dir, name);
    int ok = p && stat(p, &st) == 0;
    if (ok && size)
        *size = st.st_size;
    free(p);
    return ok;
}

/* ------------------------------------------------------------ open/close */

static int open_dbis(store_t *s, MDB_txn *txn, unsigned flags)
{
    static const char *names[] = {"meta", "owners", "log", "checkpoints", "versions",
                                  "latest", "by_status", "by_due", "identities", "received"};
    MDB_dbi *dbis[] = {&s->meta, &s->owners, &s->log, &s->checkpoints, &s->versions,
                       &s->latest, &s->by_status, &s->by_due, &s->identities, &s->received};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int mrc = mdb_dbi_open(txn, names[i], flags, dbis[i]);
        if (mrc == MDB_NOTFOUND)
            return scsms_fail(SCSMS_ECORRUPT, "store is missing its '%s' table: damaged or not "
                              "an scsms store", names[i]);
        if (mrc)
            return store_lmdb_fail(mrc, "open table");
    }
    return 0;
}

static void (*on_damage)(const char *what);

void store_on_damage(void (*fn)(const char *what))
{
    on_damage = fn;
}

/* LMDB's assertion hook; LMDB aborts when it returns. */
static void lmdb_assert(MDB_env *env, const char *what)
{
    (void)env;
    if (on_damage)
        on_damage(what);
}

static int env_open(store_t *s, size_t map_size, unsigned flags)
{
    int mrc = mdb_env_create(&s->env);
    if (mrc == 0)
        mrc = mdb_env_set_assert(s->env, lmdb_assert);
    if (mrc == 0)
        mrc = mdb_env_set_maxdbs(s->env, MAX_DBS);
    if (mrc == 0)
        mrc = mdb_env_set_mapsize(s->env, map_size ? map_size : DEFAULT_MAP_SIZE);
    /* MDB_NOTLS: reader slots belong to transactions, not threads, so a
     * callback of a scan may read the store again (sites, rules) */
    if (mrc == 0)
        mrc = mdb_env_open(s->env, s->dir, flags | MDB_NOTLS, 0600);
    if (mrc)
        return store_lmdb_fail(mrc, "open store");
    return 0;
}

/* LMDB maps the data file and would fault on pages past a truncated end:
 * compare the file with the last page the meta page says is in use. */
static int check_not_truncated(store_t *s)
{
    MDB_envinfo info;
    MDB_stat st;
    off_t size = 0;
    if (mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &st))
        return scsms_fail(SCSMS_EIO, "cannot read the store's size");
    file_exists(s->dir, "data.mdb", &size);
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)size < need)
        return scsms_fail(SCSMS_ECORRUPT, "store data file '%s/data.mdb' is truncated (%lld bytes "
                          "of %llu); restore it from a backup", s->dir, (long long)size,
                          (unsigned long long)need);
    return 0;
}

static int meta_get(store_t *s, MDB_txn *txn, const char *name, MDB_val *out)
{
    MDB_val k = {strlen(name), (void *)name};
    int mrc = mdb_get(txn, s->meta, &k, out);
    if (mrc == MDB_NOTFOUND)
        return scsms_fail(SCSMS_ECORRUPT, "store metadata '%s' is missing: damaged store", name);
    return mrc ? store_lmdb_fail(mrc, "read metadata") : 0;
}

static int meta_put(store_t *s, MDB_txn *txn, const char *name, const void *v, size_t len)
{
    MDB_val k = {strlen(name), (void *)name}, d = {len, (void *)v};
    int mrc = mdb_put(txn, s->meta, &k, &d, 0);
    return mrc ? store_lmdb_fail(mrc, "write metadata") : 0;
}

static int load_meta(store_t *s, MDB_txn *txn)
{
    MDB_val v;
    int rc;
    if ((rc = meta_get(s, txn, "format", &v)))
        return rc;
    if (v.mv_size != 1 || memcmp(v.mv_data, FORMAT_VERSION, 1) != 0)
        return scsms_fail(SCSMS_ECORRUPT, "store format %.*s is not supported (this is %s)",
                          (int)(v.mv_size < 8 ? v.mv_size : 8), (char *)v.mv_data, FORMAT_VERSION);
    if ((rc = meta_get(s, txn, "owner", &v)))
        return rc;
    if (v.mv_size == 0 || v.mv_size > RECORD_MAX_ID)
        return scsms_fail(SCSMS_ECORRUPT, "store owner is malformed");
    memcpy(s->owner, v.mv_data, v.mv_size);
    s->owner[v.mv_size] = 0;
    if ((rc = meta_get(s, txn, "role", &v)))
        return rc;
    if (v.mv_size != 1 || *(uint8_t *)v.mv_data < 1 || *(uint8_t *)v.mv_data > 3)
        return scsms_fail(SCSMS_ECORRUPT, "store role is malformed");
    s->role = (enum store_role) * (uint8_t *)v.mv_data;
    if ((rc = meta_get(s, txn, "sign_pub", &v)))
        return rc;
    if (v.mv_size != CRYPTO_PUB_LEN)
        return scsms_fail(SCSMS_ECORRUPT, "store public key is malformed");
    memcpy(s->pub, v.mv_data, CRYPTO_PUB_LEN);
    return 0;
}

static int load_key(store_t *s, const char *key_path)
{
    uint8_t pub[CRYPTO_PUB_LEN];
    char *def = key_path ? NULL : path_join(s->dir, "keys/sign.key");
    const char *path = key_path ? key_path : def;
    if (!path)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    int rc = crypto_key_load(path, &s->key);
    if (rc == 0) {
        crypto_key_public(s->key, pub);
        if (memcmp(pub, s->pub, CRYPTO_PUB_LEN) != 0) {
            crypto_key_destroy(&s->key);
            rc = scsms_fail(SCSMS_EKEY, "key '%s' is not the signing key of store '%s' (owner %s)",
                            path, s->dir, s->owner);
        }
    }
    free(def);
    return rc;
}

static store_t *store_alloc(const char *dir)
{
    store_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->lock_fd = -1;
    s->dir = strdup(dir);
    if (!s->dir || pthread_mutex_init(&s->seal_mu, NULL) != 0) {
        free(s->dir);
        free(s);
        return NULL;
    }
    return s;
}

/* Every process holds scsms.lock shared while it has the store open, so
 * restore (which takes it exclusively) never swaps a file under a reader. */
static int take_lock(store_t *s, int op)
{
    char *p = path_join(s->dir, "scsms.lock");
    if (!p)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(p);
    if (s->lock_fd < 0)
        return scsms_fail(SCSMS_EIO, "cannot open lock file in '%s': %s", s->dir, strerror(errno));
    if (flock(s->lock_fd, op | LOCK_NB) != 0)
        return scsms_fail(SCSMS_EBUSY, op == LOCK_EX ? "store '%s' is in use by another process: "
                          "stop it first" : "store '%s' is being restored: try again when it ends",
                          s->dir);
    return 0;
}

int store_open(const char *dir, const struct store_options *opts, store_t **out)
{
    struct store_options none = {0};
    MDB_txn *txn = NULL;
    off_t size = 0;
    int rc;
    if (!opts)
        opts = &none;
    if (!file_exists(dir, "data.mdb", &size))
        /* its keys there and its records gone is damage, not a new place */
        return file_exists(dir, "keys/sign.pub", NULL)
                   ? scsms_fail(SCSMS_ECORRUPT, "store '%s' has lost its data file (data.mdb; "
                                "its keys are there): restore it from a backup", dir)
                   : scsms_fail(SCSMS_ENOTFOUND, "no store in '%s': run init first", dir);
    if (size == 0)
        return scsms_fail(SCSMS_ECORRUPT, "store data file '%s/data.mdb' is empty; restore it "
                          "from a backup", dir);
    store_t *s = store_alloc(dir);
    if (!s)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    s->read_only = opts->read_only;
    if (!s->read_only && (rc = take_lock(s, LOCK_SH)))
        goto fail;
    if ((rc = env_open(s, opts->map_size, s->read_only ? MDB_RDONLY | MDB_NOLOCK : 0)) ||
        (rc = check_not_truncated(s)) || (rc = store_txn_begin(s, MDB_RDONLY, &txn)) ||
        (rc = open_dbis(s, txn, 0)) || (rc = load_meta(s, txn)))
        goto fail;
    mdb_txn_commit(txn); /* keeps the dbi handles open for the environment */
    txn = NULL;
    if (!s->read_only || opts->key_path || file_exists(dir, "keys/sign.key", NULL))
        if ((rc = load_key(s, opts->key_path)))
            goto fail;
    if ((rc = config_load(dir, &s->cfg)) == SCSMS_ECONFIG && opts->settings_optional) {
        if (!(s->cfg_refused = strdup(scsms_errmsg()))) {
            rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
            goto fail;
        }
        config_defaults(&s->cfg);
        rc = 0;
    }
    if (rc)
        goto fail;
    snprintf(s->author, sizeof s->author, "%s", s->owner);
    *out = s;
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    store_close(&s);
    return rc;
}

void store_close(store_t **sp)
{
    store_t *s = sp ? *sp : NULL;
    if (!s)
        return;
    if (s->env)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    store_txn_forget(s); /* a memo a transaction left, if any */
    crypto_key_destroy(&s->key);
    pthread_mutex_destroy(&s->seal_mu);
    free(s->heads_buf);
    free(s->cfg_refused);
    free(s->dir);
    free(s);
    *sp = NULL;
}

const char *store_owner(const store_t *s) { return s->owner; }
const struct scsms_config *store_config(const store_t *s) { return &s->cfg; }
const char *store_settings_refused(const store_t *s) { return s->cfg_refused; }
enum store_role store_role(const store_t *s) { return s->role; }
const char *store_dir(const store_t *s) { return s->dir; }

void store_public_key(const store_t *s, uint8_t pub[CRYPTO_PUB_LEN])
{
    memcpy(pub, s->pub, CRYPTO_PUB_LEN);
}

int store_set_author(store_t *s, const char *author)
{
    if (!author[0] || strlen(author) > RECORD_MAX_ID)
        return scsms_fail(SCSMS_EINVAL, "author must be 1 to %d characters", RECORD_MAX_ID);
    if (strpbrk(author, "\t\r\n"))
        return scsms_fail(SCSMS_EINVAL, "author must be one line of text");
    int rc = record_check_text(author, "author");
    if (rc)
        return rc;
    snprintf(s->author, sizeof s->author, "%s", author);
    return 0;
}

/* ------------------------------------------------------------ create */

static int write_public_key(const char *dir, const uint8_t pub[CRYPTO_PUB_LEN])
{
    char hex[2 * CRYPTO_PUB_LEN + 2];
    char *p = path_join(dir, "keys/sign.pub");
    FILE *f = p ? fopen(p, "wx") : NULL;
    free(p);
    if (!f)
        return scsms_fail(SCSMS_EIO, "cannot write public key in '%s/keys'", dir);
    crypto_hex(pub, CRYPTO_PUB_LEN, hex);
    int ok = fprintf(f, "%s\n", hex) > 0;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : scsms_fail(SCSMS_EIO, "cannot write public key in '%s/keys'", dir);
}

/* ---------------------------------------------------------- store head */

int store_reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : need < 4096 ? need : 4096;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    *buf = p;
    *cap = n;
    return 0;
}

/* The SHA-256 of every log's head in txn, in the owners table's order:
 * per log its name's length (1 byte), name, head sequence (8, big-endian)
 * and head hash (32), listed in *buf (*cap bytes); and how many logs. */
static int heads_digest(store_t *s, MDB_txn *txn, uint8_t **buf, size_t *cap,
                        uint8_t digest[CRYPTO_HASH_LEN], uint64_t *logs)
{
    MDB_cursor *cur;
    MDB_val k, v;
    size_t used = 0;
    int rc = 0, mrc = mdb_cursor_open(txn, s->owners, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "read log heads");
    *logs = 0;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_owner_state st;
        if (k.mv_size == 0 || k.mv_size > RECORD_MAX_ID || v.mv_size != STORE_OWNER_LEN) {
            rc = scsms_fail(SCSMS_ECORRUPT, "the table of log heads holds a malformed entry");
            break;
        }
        if ((rc = store_reserve(buf, cap, used + 1 + k.mv_size + 8 + CRYPTO_HASH_LEN)))
            break;
        store_owner_decode(&v, &st);
        uint8_t *p = *buf + used;
        *p++ = (uint8_t)k.mv_size;
        memcpy(p, k.mv_data, k.mv_size);
        p += k.mv_size;
        store_put_be64(p, st.seq);
        memcpy(p + 8, st.head, CRYPTO_HASH_LEN);
        used += 1 + k.mv_size + 8 + CRYPTO_HASH_LEN;
        (*logs)++;
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read log heads");
    if (rc == 0)
        crypto_sha256(*buf, used, digest);
    return rc;
}

/* Remember head as signed by this store's owner. */
static void heads_known_good(store_t *s, const uint8_t head[STORE_HEADS_LEN])
{
    pthread_mutex_lock(&s->seal_mu);
    memcpy(s->heads_ok, head, STORE_HEADS_LEN);
    s->heads_ok_set = 1;
    pthread_mutex_unlock(&s->seal_mu);
}

/* Whether head is the one last signed or seen to verify here. */
static int heads_seen_good(store_t *s, const uint8_t head[STORE_HEADS_LEN])
{
    pthread_mutex_lock(&s->seal_mu);
    int same = s->heads_ok_set && memcmp(s->heads_ok, head, STORE_HEADS_LEN) == 0;
    pthread_mutex_unlock(&s->seal_mu);
    return same;
}

/* Sign the store head of txn as it stands (store_internal.h). */
static int heads_sign(store_t *s, MDB_txn *txn)
{
    uint8_t val[STORE_HEADS_LEN];
    uint64_t logs;
    char note[CHAIN_NOTE_MAX];
    int rc = heads_digest(s, txn, &s->heads_buf, &s->heads_cap, val + 8, &logs);
    if (rc)
        return rc;
    size_t len = chain_heads_note(s->owner, logs, val + 8, note);
    if (len == 0)
        return scsms_fail(SCSMS_EINVAL, "owner name too long for a store head");
    store_put_be64(val, logs);
    if ((rc = crypto_sign(s->key, note, len, val + 8 + CRYPTO_HASH_LEN)) ||
        (rc = meta_put(s, txn, "heads", val, sizeof val)))
        return rc;
    heads_known_good(s, val); /* whether or not this commits: it is the owner's */
    return 0;
}

/* store_heads_check(), listing the heads in buf. */
static int heads_check(store_t *s, MDB_txn *txn, uint8_t **buf, size_t *cap)
{
    MDB_val k = {5, "heads"}, v;
    uint8_t signed_head[STORE_HEADS_LEN], digest[CRYPTO_HASH_LEN];
    char note[CHAIN_NOTE_MAX];
    uint64_t logs;
    int mrc = mdb_get(txn, s->meta, &k, &v);
    if (mrc == MDB_NOTFOUND || (mrc == 0 && v.mv_size != STORE_HEADS_LEN))
        return scsms_fail(SCSMS_ETAMPER, "the signed list of the logs this store holds is %s: "
                          "it was altered outside the store", mrc ? "missing" : "malformed");
    if (mrc)
        return store_lmdb_fail(mrc, "read the store head");
    memcpy(signed_head, v.mv_data, sizeof signed_head); /* v lives as long as txn: kept apart */
    uint64_t signed_logs = store_get_be64(signed_head);
    if (!heads_seen_good(s, signed_head)) {
        size_t len = chain_heads_note(s->owner, signed_logs, signed_head + 8, note);
        if (len == 0 || crypto_verify(s->pub, note, len, signed_head + 8 + CRYPTO_HASH_LEN,
                                      CRYPTO_SIG_LEN))
            return scsms_fail(SCSMS_ETAMPER, "the signature over the list of the logs this "
                              "store holds does not verify: it was altered outside the store");
        heads_known_good(s, signed_head);
    }
    int rc = heads_digest(s, txn, buf, cap, digest, &logs);
    if (rc)
        return rc;
    if (logs < signed_logs)
        return scsms_fail(SCSMS_ETAMPER, "holds %llu logs where its owner last signed for %llu: "
                          "a whole log was removed outside the store; restore it from a backup",
                          (unsigned long long)logs, (unsigned long long)signed_logs);
    if (logs > signed_logs || memcmp(digest, signed_head + 8, CRYPTO_HASH_LEN) != 0)
        return scsms_fail(SCSMS_ETAMPER, "its logs and their heads are not the ones its owner "
                          "last signed for: a log was cut back to an earlier checkpoint, or "
                          "removed or added, outside the store; restore it from a backup");
    return 0;
}

int store_heads_check(store_t *s, MDB_txn *txn)
{
    uint8_t *own = NULL; /* a reader's: the writer's may be in use */
    size_t cap = 0;
    int rc = heads_check(s, txn, &own, &cap);
    free(own);
    return rc;
}

static int init_meta(store_t *s, enum store_role role)
{
    MDB_txn *txn;
    uint8_t r = (uint8_t)role, own[STORE_OWNER_LEN];
    struct store_owner_state st = {0};
    int rc = store_txn_begin(s, 0, &txn);
    if (rc)
        return rc;
    MDB_val k = {strlen(s->owner), s->owner}, v = {sizeof own, own};
    store_owner_encode(&st, own);
    uint8_t next[4];
    store_put_be32(next, 1);
    int mrc = 0;
    if ((rc = open_dbis(s, txn, MDB_CREATE)) ||
        (rc = meta_put(s, txn, "format", FORMAT_VERSION, 1)) ||
        (rc = meta_put(s, txn, "owner", s->owner, strlen(s->owner))) ||
        (rc = meta_put(s, txn, "role", &r, 1)) ||
        (rc = meta_put(s, txn, "sign_pub", s->pub, CRYPTO_PUB_LEN)) ||
        (rc = meta_put(s, txn, "next_owner", next, sizeof next)) ||
        (mrc = mdb_put(txn, s->owners, &k, &v, 0)) || (rc = heads_sign(s, txn))) {
        mdb_txn_abort(txn);
        return mrc ? store_lmdb_fail(mrc, "create store") : rc;
    }
    mrc = mdb_txn_commit(txn);
    return mrc ? store_lmdb_fail(mrc, "create store") : 0;
}

/* Remove what a failed store_create made; a settings file it did not
 * write (one an administrator put there first) stays. */
static void remove_partial(const char *dir, int made_dir, int made_config)
{
    static const char *files[] = {"keys/sign.key", "keys/sign.pub", "keys/curve.key",
                                  "keys/curve.pub", "data.mdb", "lock.mdb", "scsms.lock",
                                  CONFIG_FILE};
    size_t n = sizeof files / sizeof files[0] - !made_config; /* the config is last */
    for (size_t i = 0; i < n; i++) {
        char *p = path_join(dir, files[i]);
        if (p)
            unlink(p);
        free(p);
    }
    char *k = path_join(dir, "keys");
    if (k)
        rmdir(k);
    free(k);
    if (made_dir)
        rmdir(dir);
}

int store_create(const char *dir, const char *owner, enum store_role role,
                 const struct store_options *opts)
{
    int made_dir = 0, made_config = 0, rc;
    store_t *s = NULL;
    char *keys = NULL, *keyfile = NULL;
    if (!valid_owner_name(owner))
        return scsms_fail(SCSMS_EINVAL, "identity '%.64s' must be 1 to 64 letters, digits, '-', "
                          "'_' or '.'", owner);
    /* head office's address goes into the settings only as they will read
     * it back: checked before anything is made */
    if (role == STORE_ROLE_HQ && opts && (opts->server || opts->server_key))
        return scsms_fail(SCSMS_EINVAL, "head office is the server: --server and --server-key "
                          "are for a site's or a partner's store");
    if (opts && opts->server && (rc = config_check_endpoint(opts->server)))
        return rc;
    if (opts && opts->server_key && (rc = config_check_server_key(opts->server_key, "--server-key")))
        return rc;
    if (mkdir(dir, 0700) == 0)
        made_dir = 1;
    else if (errno != EEXIST)
        return scsms_fail(SCSMS_EIO, "cannot create '%s': %s", dir, strerror(errno));
    /* any part of a store: its signing key may be kept elsewhere (--key),
     * and a failed create removes what it would have made */
    static const char *const parts[] = {"data.mdb", "keys/sign.key", "keys/sign.pub",
                                        "keys/curve.key", "keys/curve.pub"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (file_exists(dir, parts[i], NULL))
            return scsms_fail(SCSMS_EEXIST, "'%s' already holds a store ('%s' is there); choose "
                              "another directory", dir, parts[i]);
    /* settings put there beforehand are kept: the store would not open
     * with ones it cannot use, so they are read before anything is made */
    struct scsms_config pre;
    if ((rc = config_load(dir, &pre))) {
        if (made_dir) /* empty: it had none */
            rmdir(dir);
        return rc;
    }
    keys = path_join(dir, "keys");
    keyfile = path_join(dir, "keys/sign.key");
    s = store_alloc(dir);
    if (!keys || !keyfile || !s) {
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
        goto fail;
    }
    if (mkdir(keys, 0700) != 0 && errno != EEXIST) {
        rc = scsms_fail(SCSMS_EIO, "cannot create '%s': %s", keys, strerror(errno));
        goto fail;
    }
    snprintf(s->owner, sizeof s->owner, "%s", owner);
    if ((rc = crypto_key_generate(&s->key)) || (rc = crypto_key_save(s->key, keyfile)))
        goto fail;
    crypto_key_public(s->key, s->pub);
    if ((rc = write_public_key(dir, s->pub)) || (rc = identity_curve_create(dir)) ||
        (rc = config_write_default(dir, role == STORE_ROLE_HQ, opts ? opts->server : NULL,
                                   opts ? opts->server_key : NULL, &made_config)) ||
        (rc = env_open(s, opts ? opts->map_size : 0, 0)) || (rc = init_meta(s, role)))
        goto fail;
    free(keys);
    free(keyfile);
    store_close(&s);
    return 0;
fail:
    store_close(&s);
    remove_partial(dir, made_dir, made_config);
    free(keys);
    free(keyfile);
    return rc;
}

/* ------------------------------------------------------------ write path */

/* LMDB reports a short write (what a full disk gives) as plain EIO; look
 * at the disk and at this process's file-size limit to say which it was.
 * Either way the transaction was aborted and nothing committed is lost. */
static int commit_failed(store_t *s, int mrc)
{
    struct statvfs vfs;
    struct rlimit lim;
    off_t size = 0;
    if (mrc != EIO)
        return store_lmdb_fail(mrc, "commit");
    file_exists(s->dir, "data.mdb", &size);
    if (statvfs(s->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < ((uint64_t)1 << 20))
        return store_lmdb_fail(ENOSPC, "commit");
    if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
        (uint64_t)size + ((uint64_t)1 << 20) > (uint64_t)lim.rlim_cur)
        return scsms_fail(SCSMS_ENOSPC, "commit: disk full (file size limit of %llu bytes "
                          "reached); nothing of this change was stored",
                          (unsigned long long)lim.rlim_cur);
    return scsms_fail(SCSMS_EIO, "commit: write to '%s/data.mdb' failed; nothing of this "
                      "change was stored", s->dir);
}

/* Grow the map after MDB_MAP_FULL: double it (at most 1 GiB a step), but
 * only when the disk has the room, so a full disk is reported rather than
 * found out by a write failing half-way. */
static int grow_map(store_t *s)
{
    MDB_envinfo info;
    struct statvfs vfs;
    if (mdb_env_info(s->env, &info) != 0)
        return scsms_fail(SCSMS_EIO, "cannot read the store's map size");
    size_t cur = info.me_mapsize;
    size_t step = cur < MAX_GROW_STEP ? cur : MAX_GROW_STEP;
    if (statvfs(s->dir, &vfs) != 0)
        return scsms_fail(SCSMS_EIO, "cannot read free disk space of '%s': %s", s->dir,
                          strerror(errno));
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (avail < step)
        return scsms_fail(SCSMS_ENOSPC, "disk full: the store in '%s' needs %zu MiB more and the "
                          "disk has %llu MiB free; free space, nothing was lost", s->dir,
                          step >> 20, (unsigned long long)(avail >> 20));
    int mrc = mdb_env_set_mapsize(s->env, cur + step);
    return mrc ? store_lmdb_fail(mrc, "grow store map") : 0;
}

/* Run body in one write transaction; on a full map, grow it and run the
 * whole body again from the start, so the result is as if the map had
 * always been large enough. */
int store_write_txn(store_t *s, store_txn_body_fn body, void *ctx)
{
    if (s->read_only || !s->key)
        return scsms_fail(SCSMS_EPERM, "store '%s' is open read-only", s->dir);
    for (;;) {
        MDB_txn *txn;
        int rc = store_txn_begin(s, 0, &txn);
        if (rc)
            return rc;
        s->heads_moved = 0;
        rc = body(s, txn, ctx);
        if (rc == 0 && s->heads_moved) /* last, over the heads as committed */
            rc = heads_sign(s, txn);
        if (rc == 0) {
            int mrc = mdb_txn_commit(txn); /* frees txn whatever happens */
            rc = mrc ? commit_failed(s, mrc) : 0;
        } else {
            mdb_txn_abort(txn);
        }
        store_txn_forget(s);
        if (rc != SCSMS_EMAPFULL)
            return rc;
        if ((rc = grow_map(s)))
            return rc;
    }
}

int store_owner_load(store_t *s, MDB_txn *txn, const char *owner,
                      struct store_owner_state *st)
{
    MDB_val k = {strlen(owner), (void *)owner}, v;
    int mrc = mdb_get(txn, s->owners, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return scsms_fail(SCSMS_ECORRUPT, "store has no log for its owner %s: damaged store", owner);
    if (mrc)
        return store_lmdb_fail(mrc, "read log head");
    if (v.mv_size != STORE_OWNER_LEN)
        return scsms_fail(SCSMS_ECORRUPT, "log head of %s is malformed", owner);
    store_owner_decode(&v, st);
    return 0;
}

/* The latest version of id in txn: its version and log key. */
int store_owner_save(store_t *s, MDB_txn *txn, const char *owner,
                     const struct store_owner_state *st)
{
    uint8_t own[STORE_OWNER_LEN];
    store_owner_encode(st, own);
    MDB_val k = {strlen(owner), (void *)owner}, v = {sizeof own, own};
    /* the first head this transaction moves: what it builds on must be
     * what was signed, or the signature at its end would cover a log taken
     * away meanwhile outside the store */
    int rc = s->heads_moved ? 0 : heads_check(s, txn, &s->heads_buf, &s->heads_cap);
    if (rc == SCSMS_ETAMPER || rc == SCSMS_ECORRUPT) /* said so whoever asked (a site, say) */
        return scsms_fail(rc, "store of %s: %s; nothing was written: run verify", s->owner,
                          scsms_errmsg());
    if (rc)
        return rc;
    int mrc = mdb_put(txn, s->owners, &k, &v, 0);
    if (mrc)
        return store_lmdb_fail(mrc, "write log head");
    s->heads_moved = 1;
    return 0;
}

int store_log_is_last(store_t *s, MDB_txn *txn, const struct store_owner_state *st)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int mrc = mdb_cursor_open(txn, s->log, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "read log");
    mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (mrc == MDB_NOTFOUND)
        return 1;
    if (mrc)
        return store_lmdb_fail(mrc, "read log");
    if (k.mv_size != STORE_LOGKEY_LEN)
        return 0;
    uint32_t idx = store_get_be32(k.mv_data);
    /* its own last entry; or, for a log still empty, only lower indices */
    return idx == st->idx ? store_get_be64((uint8_t *)k.mv_data + 4) == st->seq
                          : st->seq == 0 && idx < st->idx;
}

int store_owner_ensure(store_t *s, MDB_txn *txn, const char *owner,
                       struct store_owner_state *st)
{
    MDB_val k = {strlen(owner), (void *)owner}, v, nk = {10, "next_owner"};
    int mrc = mdb_get(txn, s->owners, &k, &v);
    if (mrc != MDB_NOTFOUND)
        return store_owner_load(s, txn, owner, st);
    if ((mrc = mdb_get(txn, s->meta, &nk, &v)) || v.mv_size != 4)
        return mrc ? store_lmdb_fail(mrc, "read metadata")
                   : scsms_fail(SCSMS_ECORRUPT, "metadata 'next_owner' is malformed");
    uint8_t next[4];
    memset(st, 0, sizeof *st);
    st->idx = store_get_be32(v.mv_data);
    store_put_be32(next, st->idx + 1);
    MDB_val nv = {4, next};
    if ((mrc = mdb_put(txn, s->meta, &nk, &nv, 0)))
        return store_lmdb_fail(mrc, "write metadata");
    return store_owner_save(s, txn, owner, st);
}

int store_latest_get(store_t *s, MDB_txn *txn, const char *id, uint32_t *version,
                      uint8_t ref[STORE_LOGKEY_LEN])
{
    MDB_val k = {strlen(id), (void *)id}, v;
    int mrc = mdb_get(txn, s->latest, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return scsms_fail(SCSMS_ENOTFOUND, "no record '%.128s'", id);
    if (mrc)
        return store_lmdb_fail(mrc, "read record");
    if (v.mv_size != STORE_LATEST_LEN)
        return scsms_fail(SCSMS_ECORRUPT, "index entry of '%.128s' is malformed", id);
    *version = store_get_be32(v.mv_data);
    memcpy(ref, (uint8_t *)v.mv_data + 4, STORE_LOGKEY_LEN);
    return 0;
}

/* Decode the log entry at ref. Caller frees with
 * scsms__log_entry__free_unpacked(). */
static int load_entry(store_t *s, MDB_txn *txn, const uint8_t ref[STORE_LOGKEY_LEN],
                      Scsms__LogEntry **out)
{
    MDB_val k = {STORE_LOGKEY_LEN, (void *)ref}, v;
    int mrc = mdb_get(txn, s->log, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return scsms_fail(SCSMS_ECORRUPT, "log entry %llu is missing; run verify",
                          (unsigned long long)store_get_be64(ref + 4));
    if (mrc)
        return store_lmdb_fail(mrc, "read log");
    int rc = chain_entry_decode(v.mv_data, v.mv_size, out);
    return rc ? scsms_fail_context(rc, "log entry %llu",
                                   (unsigned long long)store_get_be64(ref + 4))
              : 0;
}

/* Decode the record stored in the log entry at ref. Caller frees. */
int store_load_record(store_t *s, MDB_txn *txn, const uint8_t ref[STORE_LOGKEY_LEN],
                       Scsms__Record **out)
{
    Scsms__LogEntry *e;
    int rc = load_entry(s, txn, ref, &e);
    if (rc)
        return rc;
    rc = record_unpack(e->record.data, e->record.len, out);
    scsms__log_entry__free_unpacked(e, NULL);
    return rc;
}

/* ------------------------------------------------------------ reads */

/* Earlier versions of a disposed record are not served any more. */
static int refuse_if_disposed(store_t *s, MDB_txn *txn, const char *id,
                              const uint8_t ref[STORE_LOGKEY_LEN])
{
    Scsms__Record *cur = NULL;
    int rc = store_load_record(s, txn, ref, &cur);
    if (rc == 0 && record_is_tombstone(cur))
        rc = scsms_fail(SCSMS_ENOTFOUND, "record '%s' was disposed of; only its tombstone "
                        "remains", id);
    record_free(cur);
    return rc;
}

/* The log key of version `version` (0 = latest) of id, in txn. */
static int resolve_version(store_t *s, MDB_txn *txn, const char *id, uint32_t version,
                           uint8_t ref[STORE_LOGKEY_LEN])
{
    uint8_t key[RECORD_MAX_ID + 8];
    uint32_t latest = 0; /* set by store_latest_get (gcc -O3 cannot tell) */
    int rc;
    if ((rc = store_latest_get(s, txn, id, &latest, ref)) || !version || version == latest ||
        (rc = refuse_if_disposed(s, txn, id, ref)))
        return rc;
    /* superseded versions live in `versions` */
    MDB_val k = {store_versions_key(id, version, key), key}, v;
    int mrc = mdb_get(txn, s->versions, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return scsms_fail(SCSMS_ENOTFOUND, "record '%s' has no version %u (latest is %u)", id,
                          version, latest);
    if (mrc)
        return store_lmdb_fail(mrc, "read version");
    if (v.mv_size != STORE_LOGKEY_LEN)
        return scsms_fail(SCSMS_ECORRUPT, "version index of '%s' is malformed", id);
    memcpy(ref, v.mv_data, STORE_LOGKEY_LEN);
    return 0;
}

int store_get(store_t *s, const char *id, uint32_t version, Scsms__Record **out)
{
    MDB_txn *txn;
    uint8_t ref[STORE_LOGKEY_LEN];
    if (strlen(id) > RECORD_MAX_ID)
        return scsms_fail(SCSMS_ENOTFOUND, "no record '%.128s...'", id);
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    if ((rc = resolve_version(s, txn, id, version, ref)) == 0)
        rc = store_load_record(s, txn, ref, out);
    mdb_txn_abort(txn);
    return rc;
}

int store_version_bytes(store_t *s, MDB_txn *txn, const char *id, uint32_t version,
                        uint8_t **out, size_t *len)
{
    uint8_t ref[STORE_LOGKEY_LEN];
    Scsms__LogEntry *e = NULL;
    *out = NULL;
    *len = 0;
    if (strlen(id) > RECORD_MAX_ID)
        return scsms_fail(SCSMS_ENOTFOUND, "no record '%.128s...'", id);
    int rc = resolve_version(s, txn, id, version, ref);
    if (rc == 0 && (rc = load_entry(s, txn, ref, &e)) == 0) {
        /* the entry's record field holds the exact bytes as written */
        *out = e->record.data;
        *len = e->record.len;
        e->record.data = NULL;
        e->record.len = 0;
        scsms__log_entry__free_unpacked(e, NULL);
    }
    return rc;
}

int store_get_bytes(store_t *s, const char *id, uint32_t version, uint8_t **out, size_t *len)
{
    MDB_txn *txn;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = store_version_bytes(s, txn, id, version, out, len);
    mdb_txn_abort(txn);
    return rc;
}

/* Call fn on the record at ref, freeing it after. */
static int visit_ref(store_t *s, MDB_txn *txn, const uint8_t *ref, store_visit_fn fn, void *ctx)
{
    Scsms__Record *rec;
    int rc = store_load_record(s, txn, ref, &rec);
    if (rc)
        return rc;
    rc = fn(rec, ctx);
    record_free(rec);
    return rc;
}

static int visit_latest(store_t *s, MDB_txn *txn, const char *id, size_t idlen,
                        store_visit_fn fn, void *ctx)
{
    char buf[RECORD_MAX_ID + 1];
    uint8_t ref[STORE_LOGKEY_LEN];
    uint32_t v;
    if (idlen > RECORD_MAX_ID)
        return scsms_fail(SCSMS_ECORRUPT, "index holds an id longer than %d", RECORD_MAX_ID);
    memcpy(buf, id, idlen);
    buf[idlen] = 0;
    int rc = store_latest_get(s, txn, buf, &v, ref);
    if (rc == SCSMS_ENOTFOUND)
        return scsms_fail(SCSMS_ECORRUPT, "index names '%s' but no such record; run verify", buf);
    return rc ? rc : visit_ref(s, txn, ref, fn, ctx);
}

int store_history(store_t *s, const char *id, store_visit_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    uint8_t key[RECORD_MAX_ID + 8];
    size_t il = strlen(id);
    int found = 0;
    if (il > RECORD_MAX_ID)
        return scsms_fail(SCSMS_ENOTFOUND, "no record '%.128s...'", id);
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    uint8_t lref[STORE_LOGKEY_LEN];
    uint32_t lv;
    if (store_latest_get(s, txn, id, &lv, lref) == 0 && refuse_if_disposed(s, txn, id, lref)) {
        rc = visit_ref(s, txn, lref, fn, ctx); /* the tombstone alone */
        mdb_txn_abort(txn);
        return rc;
    }
    int mrc = mdb_cursor_open(txn, s->versions, &cur);
    if (mrc) {
        mdb_txn_abort(txn);
        return store_lmdb_fail(mrc, "read history");
    }
    MDB_val k = {store_versions_key(id, 0, key), key}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != il + 5 || memcmp(k.mv_data, id, il + 1) != 0)
            break;
        if (v.mv_size != STORE_LOGKEY_LEN)
            rc = scsms_fail(SCSMS_ECORRUPT, "version index of '%s' is malformed", id);
        else
            rc = visit_ref(s, txn, v.mv_data, fn, ctx);
        found++;
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read history");
    mdb_cursor_close(cur);
    if (rc == 0) { /* then the current version */
        uint8_t ref[STORE_LOGKEY_LEN];
        uint32_t latest;
        rc = store_latest_get(s, txn, id, &latest, ref);
        if (rc == SCSMS_ENOTFOUND && found)
            rc = scsms_fail(SCSMS_ECORRUPT, "record '%s' has old versions but no current one; "
                            "run verify", id);
        if (rc == 0)
            rc = visit_ref(s, txn, ref, fn, ctx);
    }
    mdb_txn_abort(txn);
    return rc;
}

/* Scan dbi from its first key, up to keys that sort after `until` (its
 * first ulen bytes) when given; for each key call fn with the record whose
 * id starts at offset id_off of the key. */
static int scan_index(store_t *s, MDB_txn *txn, MDB_dbi dbi, size_t id_off,
                      const uint8_t *until, size_t ulen, store_visit_fn fn, void *ctx)
{
    MDB_cursor *cur;
    int rc = 0, mrc = mdb_cursor_open(txn, dbi, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "scan index");
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (until && memcmp(k.mv_data, until, k.mv_size < ulen ? k.mv_size : ulen) > 0)
            break;
        if (k.mv_size < id_off)
            rc = scsms_fail(SCSMS_ECORRUPT, "malformed index key; run verify");
        else
            rc = visit_latest(s, txn, (const char *)k.mv_data + id_off, k.mv_size - id_off, fn,
                              ctx);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "scan index");
    return rc;
}

/* Scan by_status under prefix; each key's id follows the status NUL. */
int store_scan_status(store_t *s, MDB_txn *txn, const uint8_t *prefix, size_t plen,
                       store_visit_fn fn, void *ctx)
{
    MDB_cursor *cur;
    int rc = 0, mrc = mdb_cursor_open(txn, s->by_status, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "scan index");
    MDB_val k = {plen, (void *)prefix}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        const uint8_t *nul = memchr((const uint8_t *)k.mv_data + 1, 0, k.mv_size - 1);
        if (!nul)
            rc = scsms_fail(SCSMS_ECORRUPT, "malformed status index key; run verify");
        else
            rc = visit_latest(s, txn, (const char *)nul + 1,
                              k.mv_size - (size_t)(nul + 1 - (const uint8_t *)k.mv_data), fn, ctx);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "scan index");
    return rc;
}

int store_list(store_t *s, const struct store_filter *f, store_visit_fn fn, void *ctx)
{
    MDB_txn *txn;
    uint8_t prefix[128];
    size_t plen = 0;
    const struct record_type *t = NULL;
    if (f && f->type && !(t = record_type_by_name(f->type)))
        return scsms_fail(SCSMS_EINVAL, "unknown record type '%.64s': use one of %s", f->type,
                          record_type_names());
    if (f && f->status && !t)
        return scsms_fail(SCSMS_EINVAL, "a status filter needs a type");
    if (t) {
        prefix[plen++] = (uint8_t)t->body_case;
        if (f->status) {
            size_t sl = strlen(f->status);
            if (sl > sizeof prefix - 2)
                return scsms_fail(SCSMS_EINVAL, "status too long");
            memcpy(prefix + plen, f->status, sl);
            plen += sl;
            prefix[plen++] = 0;
        }
    }
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    if (t)
        rc = store_scan_status(s, txn, prefix, plen, fn, ctx);
    else
        rc = scan_index(s, txn, s->latest, 0, NULL, 0, fn, ctx);
    mdb_txn_abort(txn);
    return rc;
}

int store_due(store_t *s, int64_t until_day, store_visit_fn fn, void *ctx)
{
    MDB_txn *txn;
    uint8_t until[4];
    store_put_be32(until, (uint32_t)(until_day + INT32_MAX));
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = scan_index(s, txn, s->by_due, 4, until, sizeof until, fn, ctx);
    mdb_txn_abort(txn);
    return rc;
}

int store_stats(store_t *s, struct store_stats *out)
{
    MDB_txn *txn;
    MDB_stat st;
    MDB_envinfo info;
    struct store_owner_state own;
    memset(out, 0, sizeof *out);
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    if ((rc = store_owner_load(s, txn, s->owner, &own)) == 0) {
        out->head_seq = own.seq;
        memcpy(out->head_hash, own.head, CRYPTO_HASH_LEN);
        if (mdb_stat(txn, s->latest, &st) == 0)
            out->records = st.ms_entries;
        if (mdb_stat(txn, s->log, &st) == 0)
            out->entries = st.ms_entries;
        if (mdb_stat(txn, s->checkpoints, &st) == 0)
            out->checkpoints = st.ms_entries;
        if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0) {
            out->map_size = info.me_mapsize;
            out->map_used = (info.me_last_pgno + 1) * st.ms_psize;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

/* ------------------------------------------------------------ identities */

/* id packed with its seal left out: what the seal signs. Caller frees. */
static uint8_t *identity_unsealed(const Scsms__Identity *id, size_t *len)
{
    Scsms__Identity bare = *id;
    bare.seal.data = NULL;
    bare.seal.len = 0;
    *len = scsms__identity__get_packed_size(&bare);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        scsms__identity__pack(&bare, buf);
    return buf;
}

/* Whether an identity stored as bytes hashing to h has had its seal
 * verified here (store.sealed_ok). */
static int seal_known(store_t *s, const uint8_t h[CRYPTO_HASH_LEN])
{
    pthread_mutex_lock(&s->seal_mu);
    int known = memcmp(s->sealed_ok[h[0] % STORE_SEALED_OK], h, CRYPTO_HASH_LEN) == 0;
    pthread_mutex_unlock(&s->seal_mu);
    return known;
}

static void seal_remember(store_t *s, const uint8_t h[CRYPTO_HASH_LEN])
{
    pthread_mutex_lock(&s->seal_mu);
    memcpy(s->sealed_ok[h[0] % STORE_SEALED_OK], h, CRYPTO_HASH_LEN);
    pthread_mutex_unlock(&s->seal_mu);
}

int store_identity_read(store_t *s, MDB_txn *txn, const char *id, Scsms__Identity **out)
{
    MDB_val k = {strlen(id), (void *)id}, v;
    uint8_t h[CRYPTO_HASH_LEN];
    size_t len;
    int mrc = mdb_get(txn, s->identities, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return scsms_fail(SCSMS_ENOTFOUND, "no identity '%.64s'", id);
    if (mrc)
        return store_lmdb_fail(mrc, "read identity");
    *out = scsms__identity__unpack(NULL, v.mv_size, v.mv_data);
    if (!*out)
        return scsms_fail(SCSMS_ECORRUPT, "identity '%.64s' is malformed", id);
    crypto_sha256(v.mv_data, v.mv_size, h);
    if (seal_known(s, h))
        return 0;
    uint8_t *bare = identity_unsealed(*out, &len);
    int rc = bare ? crypto_verify(s->pub, bare, len, (*out)->seal.data, (*out)->seal.len)
                  : scsms_fail(SCSMS_ENOMEM, "out of memory");
    free(bare);
    if (rc == 0)
        seal_remember(s, h);
    if (rc) {
        scsms__identity__free_unpacked(*out, NULL);
        *out = NULL;
        return rc == SCSMS_ENOMEM ? rc
                                  : scsms_fail(SCSMS_ETAMPER, "identity '%.64s' is not as this "
                                               "store wrote it (its seal does not verify): "
                                               "altered outside the store", id);
    }
    return 0;
}

int store_identity_get(store_t *s, const char *id, Scsms__Identity **out)
{
    MDB_txn *txn;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = store_identity_read(s, txn, id, out);
    mdb_txn_abort(txn);
    return rc;
}

/* Write id sealed with this store's key (see Identity.seal). */
static int identity_body(store_t *s, MDB_txn *txn, void *ctx)
{
    Scsms__Identity sealed = *(const Scsms__Identity *)ctx;
    uint8_t sig[CRYPTO_SIG_LEN];
    size_t len;
    uint8_t *buf = identity_unsealed(&sealed, &len);
    if (!buf)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    int rc = crypto_sign(s->key, buf, len, sig);
    free(buf);
    if (rc)
        return rc;
    sealed.seal.data = sig;
    sealed.seal.len = sizeof sig;
    len = scsms__identity__get_packed_size(&sealed);
    if (!(buf = malloc(len)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    scsms__identity__pack(&sealed, buf);
    MDB_val k = {strlen(sealed.id), sealed.id}, v = {len, buf};
    int mrc = mdb_put(txn, s->identities, &k, &v, 0);
    free(buf);
    return mrc ? store_lmdb_fail(mrc, "write identity") : 0;
}

static int identity_check(store_t *s, const Scsms__Identity *id)
{
    if (!valid_owner_name(id->id))
        return scsms_fail(SCSMS_EINVAL, "identity '%.64s' must be 1 to 64 letters, digits, '-', "
                          "'_' or '.'", id->id);
    if (id->role < SCSMS__IDENTITY__ROLE__SITE || id->role > SCSMS__IDENTITY__ROLE__PARTNER)
        return scsms_fail(SCSMS_EINVAL, "identity '%s' needs a role: site, hq or partner", id->id);
    if (id->sign_key.len != CRYPTO_PUB_LEN)
        return scsms_fail(SCSMS_EINVAL, "identity '%s' needs a 32-byte signing key", id->id);
    if (!strcmp(id->id, s->owner))
        return scsms_fail(SCSMS_EEXIST, "'%s' is this store's own identity", id->id);
    return 0;
}

int store_identity_put(store_t *s, const Scsms__Identity *id)
{
    int rc = identity_check(s, id);
    return rc ? rc : store_write_txn(s, identity_body, (void *)id);
}

/* The identity in txn that holds want's CURVE key or its signing key,
 * into holder, and which of the two in *what; 0 when one does,
 * SCSMS_ENOTFOUND when none. A scan: enrolment is rare. */
static int key_holder(store_t *s, MDB_txn *txn, const Scsms__Identity *want, char *holder,
                      size_t len, const char **what)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = SCSMS_ENOTFOUND, mrc = mdb_cursor_open(txn, s->identities, &cur);
    if (mrc)
        return store_lmdb_fail(mrc, "read identities");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == SCSMS_ENOTFOUND;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Scsms__Identity *id = scsms__identity__unpack(NULL, v.mv_size, v.mv_data);
        if (!id) {
            rc = scsms_fail(SCSMS_ECORRUPT, "an identity is malformed");
            break;
        }
        int curve = !strcmp(id->curve_key, want->curve_key);
        int sign = id->sign_key.len == want->sign_key.len &&
                   memcmp(id->sign_key.data, want->sign_key.data, id->sign_key.len) == 0;
        if (curve || sign) {
            snprintf(holder, len, "%s", id->id);
            *what = curve ? "CURVE key" : "signing key";
            rc = 0;
        }
        scsms__identity__free_unpacked(id, NULL);
    }
    if (rc == SCSMS_ENOTFOUND && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read identities");
    mdb_cursor_close(cur);
    return rc;
}

static int enrol_body(store_t *s, MDB_txn *txn, void *ctx)
{
    const Scsms__Identity *id = ctx;
    char holder[RECORD_MAX_ID + 1];
    const char *what = "";
    MDB_val k = {strlen(id->id), id->id}, v;
    int mrc = mdb_get(txn, s->identities, &k, &v);
    if (mrc == 0)
        return scsms_fail(SCSMS_EEXIST, "'%.64s' is enrolled already: an identity is enrolled "
                          "once, and a revoked one stays revoked", id->id);
    if (mrc != MDB_NOTFOUND)
        return store_lmdb_fail(mrc, "read identity");
    /* head office's own key would let the identity pass for it */
    if (id->sign_key.len == CRYPTO_PUB_LEN && memcmp(id->sign_key.data, s->pub, CRYPTO_PUB_LEN) == 0)
        return scsms_fail(SCSMS_EEXIST, "signing key is head office's own: each identity signs "
                          "with its own key");
    /* a key stays its holder's, revoked or not: under a new id, a revoked
     * (perhaps stolen) key would be trusted again */
    int rc = key_holder(s, txn, id, holder, sizeof holder, &what);
    if (rc == 0 && what[0] == 'C')
        return scsms_fail(SCSMS_EEXIST, "CURVE key '%.40s' is enrolled already, as '%.64s': each "
                          "identity connects with its own key", id->curve_key, holder);
    if (rc == 0)
        return scsms_fail(SCSMS_EEXIST, "signing key is enrolled already, as '%.64s': each "
                          "identity signs with its own key", holder);
    return rc == SCSMS_ENOTFOUND ? identity_body(s, txn, ctx) : rc;
}

int store_identity_enrol(store_t *s, const Scsms__Identity *id)
{
    int rc = identity_check(s, id);
    return rc ? rc : store_write_txn(s, enrol_body, (void *)id);
}

int store_identity_list(store_t *s, int (*fn)(const Scsms__Identity *id, void *ctx), void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    int mrc = mdb_cursor_open(txn, s->identities, &cur);
    for (mrc = mrc ? mrc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Scsms__Identity *id = scsms__identity__unpack(NULL, v.mv_size, v.mv_data);
        if (!id) {
            rc = scsms_fail(SCSMS_ECORRUPT, "an identity is malformed");
            break;
        }
        rc = fn(id, ctx);
        scsms__identity__free_unpacked(id, NULL);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read identities");
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

/* ------------------------------------------------------------ backup */

/* 1 when dir holds nothing, 0 when it holds something, -1 (errno set)
 * when it cannot be read. */
static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    const struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

int store_backup(store_t *s, const char *dest)
{
    store_t *copy = NULL;
    struct verify_report rep;
    if (mkdir(dest, 0700) != 0 && errno != EEXIST)
        return scsms_fail(SCSMS_EIO, "cannot create '%s': %s", dest, strerror(errno));
    if (file_exists(dest, "data.mdb", NULL))
        return scsms_fail(SCSMS_EEXIST, "'%s' already holds a backup; choose an empty directory",
                          dest);
    /* a backup is a directory of its own: beside other files, a restore
     * or a clean-up of it would take them too */
    int empty = dir_is_empty(dest);
    if (empty < 0)
        return scsms_fail(SCSMS_EIO, "cannot use '%s' for a backup: %s", dest, strerror(errno));
    if (!empty)
        return scsms_fail(SCSMS_EEXIST, "'%s' is not empty: choose a new or empty directory",
                          dest);
    /* made here, 0600 like the store's own (LMDB's copy would follow the
     * umask): a backup holds every record the store does */
    char *p = path_join(dest, "data.mdb");
    int fd = p ? open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    if (fd < 0) {
        int e = errno;
        free(p);
        return scsms_fail(SCSMS_EIO, "cannot write a backup in '%s': %s", dest, strerror(e));
    }
    int mrc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    if (mrc == 0 && fsync(fd) != 0)
        mrc = errno;
    if (close(fd) != 0 && mrc == 0)
        mrc = errno;
    if (mrc) {
        unlink(p);
        free(p);
        return store_lmdb_fail(mrc, "write backup");
    }
    free(p);
    /* Check the copy now rather than on the day it is needed. */
    struct store_options ro = {.read_only = 1, .settings_optional = 1};
    int rc = store_open(dest, &ro, &copy);
    if (rc == 0) {
        memcpy(copy->pub, s->pub, CRYPTO_PUB_LEN);
        rc = verify_store(copy, &rep);
        store_close(&copy);
    }
    return rc ? scsms_fail_context(rc, "backup in '%s' does not verify", dest) : 0;
}

static int copy_file(const char *from, const char *to)
{
    char buf[1 << 16];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return scsms_fail(SCSMS_EIO, "cannot read '%s': %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return scsms_fail(SCSMS_EIO, "cannot write '%s': %s", to, strerror(errno));
    }
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0) {
        /* a short write is retried for the rest: the error, if any, is the
         * next write's (a full disk says ENOSPC there) */
        for (ssize_t done = 0, w; rc == 0 && done < n; done += w)
            if ((w = write(out, buf + done, (size_t)(n - done))) < 0)
                rc = scsms_fail(errno == ENOSPC ? SCSMS_ENOSPC : SCSMS_EIO,
                                "cannot write '%s': %s", to, strerror(errno));
    }
    if (n < 0 && rc == 0)
        rc = scsms_fail(SCSMS_EIO, "cannot read '%s': %s", from, strerror(errno));
    if (rc == 0 && fsync(out) != 0)
        rc = scsms_fail(SCSMS_EIO, "cannot flush '%s': %s", to, strerror(errno));
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = scsms_fail(SCSMS_EIO, "cannot write '%s': %s", to, strerror(errno));
    if (rc)
        unlink(to);
    return rc;
}

/* The backup b is of the store in dir: its signing key is the one in
 * dir/keys/sign.pub, which a store keeps whatever --key names (a key
 * given for the restore would otherwise vouch for any backup it made). */
static int same_identity(const char *dir, store_t *b, const char *src)
{
    char *p = path_join(dir, "keys/sign.pub"), hex[2 * CRYPTO_PUB_LEN + 2] = "";
    uint8_t pub[CRYPTO_PUB_LEN], ours[CRYPTO_PUB_LEN];
    FILE *f = p ? fopen(p, "r") : NULL;
    free(p);
    if (!f)
        return 0; /* no record of the store's key here: the key given decides */
    int ok = fgets(hex, sizeof hex, f) != NULL;
    fclose(f);
    hex[strcspn(hex, "\n")] = 0;
    if (!ok || crypto_unhex(hex, ours, sizeof ours) != 0)
        return scsms_fail(SCSMS_EKEY, "'%s/keys/sign.pub' is unreadable; nothing was replaced",
                          dir);
    store_public_key(b, pub);
    return memcmp(pub, ours, sizeof pub) == 0
               ? 0
               : scsms_fail(SCSMS_EKEY, "backup in '%s' is of %s, not of the store in '%s' (its "
                            "keys/sign.pub differs); nothing was replaced", src, store_owner(b),
                            dir);
}

/* owner is enrolled at head office's store s and not revoked: it sends
 * again what a restore drops, from head office's head on. */
static int still_sends(store_t *s, const char *owner)
{
    Scsms__Identity *id = NULL;
    if (store_identity_get(s, owner, &id) != 0) {
        scsms_errclear();
        return 0;
    }
    int active = !id->revoked;
    scsms__identity__free_unpacked(id, NULL);
    return active;
}

/* Head office's copies of the logs of revoked identities are in the backup
 * as far as the live store holds them: otherwise the restore would drop
 * entries head office acknowledged to owners that will not send them again
 * (an active site resends from head office's head at its next sync; a
 * site's copy of head office's log is fetched again). */
static int others_kept(store_t *live, store_t *b, const char *src)
{
    MDB_txn *lt = NULL, *bt = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = store_txn_begin(live, MDB_RDONLY, &lt);
    if (rc == 0)
        rc = store_txn_begin(b, MDB_RDONLY, &bt);
    int mrc = rc ? 0 : mdb_cursor_open(lt, live->owners, &cur);
    if (mrc)
        rc = store_lmdb_fail(mrc, "read logs");
    for (mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char owner[RECORD_MAX_ID + 1];
        struct store_owner_state ls, bs = {0};
        if (k.mv_size > RECORD_MAX_ID || v.mv_size != STORE_OWNER_LEN)
            continue; /* verify names a malformed one */
        memcpy(owner, k.mv_data, k.mv_size);
        owner[k.mv_size] = '\0';
        store_owner_decode(&v, &ls);
        MDB_val bk = {k.mv_size, k.mv_data}, bv;
        if (strcmp(owner, live->owner) == 0 || still_sends(live, owner))
            continue; /* its own: reaches(); an active one's come again */
        int brc = mdb_get(bt, b->owners, &bk, &bv);
        if (brc == 0 && bv.mv_size == STORE_OWNER_LEN)
            store_owner_decode(&bv, &bs);
        else if (brc != MDB_NOTFOUND)
            rc = store_lmdb_fail(brc, "read the backup's logs");
        if (rc == 0 && bs.seq < ls.seq)
            rc = scsms_fail(SCSMS_ERULE, "backup in '%s' holds the log of %s up to entry %llu, "
                            "but the store holds it up to %llu, and %s, revoked or no longer "
                            "enrolled, will not send them again: nothing was replaced (to give "
                            "them up, restore with --drop-newer)", src, owner, (unsigned long long)bs.seq,
                            (unsigned long long)ls.seq, owner);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read logs");
    if (cur)
        mdb_cursor_close(cur);
    if (bt)
        mdb_txn_abort(bt);
    if (lt)
        mdb_txn_abort(lt);
    return rc;
}

/* The backup b's own log reaches as far as it must: the live store's own
 * head (when it opens at all: a damaged one is what a restore is for) and
 * what head office acknowledged. */
static int reaches(const char *dir, store_t *b, const char *src, uint64_t acked,
                   int drop_newer)
{
    struct store_stats bs, ls;
    store_t *live = NULL;
    /* its records, whatever its settings: a bad scsms.ini must not skip this check */
    struct store_options ro = {.read_only = 1, .settings_optional = 1};
    int rc = store_stats(b, &bs);
    if (rc)
        return rc;
    if (bs.head_seq < acked)
        return scsms_fail(SCSMS_ERULE, "backup in '%s' ends at entry %llu of %s, but head office "
                          "has acknowledged entries up to %llu: the next record would take a "
                          "number head office holds for another, a fork; nothing was replaced",
                          src, (unsigned long long)bs.head_seq, store_owner(b),
                          (unsigned long long)acked);
    if (!drop_newer && store_open(dir, &ro, &live) == 0 && store_stats(live, &ls) == 0 &&
        bs.head_seq < ls.head_seq)
        rc = scsms_fail(SCSMS_ERULE, "backup in '%s' ends at entry %llu, but the store holds "
                        "entries up to %llu: restoring it would drop entries %llu to %llu; "
                        "nothing was replaced (to give them up, restore with --drop-newer)", src,
                        (unsigned long long)bs.head_seq, (unsigned long long)ls.head_seq,
                        (unsigned long long)bs.head_seq + 1, (unsigned long long)ls.head_seq);
    if (rc == 0 && !drop_newer && live && store_role(live) == STORE_ROLE_HQ)
        rc = others_kept(live, b, src);
    store_close(&live);
    return rc;
}

/* Verify the backup in src against the key of the store in dir. */
static int check_backup(const char *dir, const char *src, const struct store_options *opts)
{
    store_t *b = NULL;
    struct verify_report rep;
    char *def = opts && opts->key_path ? NULL : path_join(dir, "keys/sign.key");
    struct store_options ro = {.read_only = 1, .settings_optional = 1,
                               .key_path = def ? def : opts->key_path};
    int rc = store_open(src, &ro, &b);
    if (rc == SCSMS_EKEY)
        rc = scsms_fail(SCSMS_EKEY, "backup in '%s' was not made by this store's key; nothing "
                        "was replaced", src);
    else if (rc)
        rc = scsms_fail_context(rc, "backup in '%s'", src);
    else if ((rc = verify_store(b, &rep)))
        rc = scsms_fail_context(rc, "backup in '%s' does not verify; nothing was replaced", src);
    else if ((rc = same_identity(dir, b, src)) == 0)
        rc = reaches(dir, b, src, opts && opts->restore_reach ? opts->restore_reach(dir) : 0,
                     opts && opts->restore_drop_newer);
    store_close(&b);
    free(def);
    return rc;
}

int store_restore(const char *dir, const char *src, const struct store_options *opts)
{
    store_t *lk = store_alloc(dir);
    char *from = path_join(src, "data.mdb"), *tmp = path_join(dir, "data.mdb.restore");
    char *to = path_join(dir, "data.mdb"), *lock = path_join(dir, "lock.mdb");
    int rc;
    if (!lk || !from || !tmp || !to || !lock) {
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
        goto out;
    }
    if (!file_exists(src, "data.mdb", NULL)) {
        rc = scsms_fail(SCSMS_ENOTFOUND, "no backup in '%s'", src);
        goto out;
    }
    /* locked first: a sync that landed between the checks and the copy
     * would leave sync.state ahead of the store restored */
    if ((rc = take_lock(lk, LOCK_EX)) || (rc = check_backup(dir, src, opts)))
        goto out;
    /* copy beside, then rename: the old store stays whole until the new
     * one is complete on disk */
    if ((rc = copy_file(from, tmp)))
        goto out;
    unlink(lock); /* stale reader table of the replaced file */
    if (rename(tmp, to) != 0) {
        rc = scsms_fail(SCSMS_EIO, "cannot replace '%s': %s", to, strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    store_close(&lk);
    free(from);
    free(tmp);
    free(to);
    free(lock);
    return rc;
}

/* ------------------------------------------------------------ raw scans */

/* A bump allocator for protobuf-c: a log entry decodes into one buffer
 * that is reused for the next, so a scan of millions of entries makes no
 * allocation per entry. Sized before each unpack to hold the whole entry
 * (the decoded message never needs more than twice its packed size plus
 * the structures). */
struct scan_arena {
    uint8_t *buf;
    size_t used, cap;
};

static void *scan_arena_alloc(void *data, size_t size)
{
    struct scan_arena *a = data;
    size_t at = (a->used + 15) & ~(size_t)15;
    if (at > a->cap || a->cap - at < size)
        return NULL; /* unpack then fails and the entry is reported damaged */
    a->used = at + size;
    return a->buf + at;
}

static void scan_arena_free(void *data, void *p)
{
    (void)data;
    (void)p; /* everything goes at once, when the arena is reset */
}

static int scan_arena_fit(struct scan_arena *a, size_t entry_len)
{
    size_t need = 2 * entry_len + 1024;
    a->used = 0;
    if (need <= a->cap)
        return 0;
    uint8_t *p = realloc(a->buf, need);
    if (!p)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    a->buf = p;
    a->cap = need;
    return 0;
}

/* The span of the map a scan has read since it last gave pages back. */
struct scan_span {
    uintptr_t lo, hi;
};

static void span_note(struct scan_span *sp, const void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p;
    if (!sp->lo || a < sp->lo)
        sp->lo = a;
    if (a + len > sp->hi)
        sp->hi = a + len;
}

/* Give back the map's pages in the span (whole pages inside it): a scan
 * of a 500 MB store would otherwise end with 500 MB of the file mapped
 * and counted as its resident memory. Safe while other threads read the
 * same pages: the map is read-only and file-backed, so a page touched
 * again faults back in from the page cache. */
static void span_release(struct scan_span *sp)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (sp->lo + page - 1) & ~(page - 1), hi = sp->hi & ~(page - 1);
    if (sp->lo && hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
    sp->lo = sp->hi = 0;
}

int store_scan_current(store_t *s, const char *start, const char *end, store_current_fn fn,
                       void (*progress)(void *ctx, uint64_t done), uint64_t every, void *ctx)
{
    struct scan_span span = {0, 0};
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    struct scan_arena arena = {0};
    ProtobufCAllocator alloc = {scan_arena_alloc, scan_arena_free, &arena};
    size_t elen = end ? strlen(end) : 0;
    uint64_t done = 0;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn), mrc;
    if (rc)
        return rc;
    if ((mrc = mdb_cursor_open(txn, s->latest, &cur))) {
        rc = store_lmdb_fail(mrc, "scan records");
        goto fail;
    }
    MDB_val k = {start ? strlen(start) : 0, (void *)start}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, start ? MDB_SET_RANGE : MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (end) { /* memcmp order is LMDB's key order */
            int c = memcmp(k.mv_data, end, k.mv_size < elen ? k.mv_size : elen);
            if (c > 0 || (c == 0 && k.mv_size >= elen))
                break;
        }
        if (v.mv_size != STORE_LATEST_LEN) {
            rc = scsms_fail(SCSMS_ECORRUPT, "index entry of '%.*s' is malformed; run verify",
                            (int)(k.mv_size < 128 ? k.mv_size : 128), (char *)k.mv_data);
            goto fail;
        }
        const uint8_t *ref = (const uint8_t *)v.mv_data + 4;
        MDB_val lk = {STORE_LOGKEY_LEN, (void *)ref}, lv;
        if ((mrc = mdb_get(txn, s->log, &lk, &lv))) {
            rc = mrc == MDB_NOTFOUND
                     ? scsms_fail(SCSMS_ECORRUPT, "log entry of '%.*s' is missing; run verify",
                                  (int)(k.mv_size < 128 ? k.mv_size : 128), (char *)k.mv_data)
                     : store_lmdb_fail(mrc, "read log");
            goto fail;
        }
        if ((rc = scan_arena_fit(&arena, lv.mv_size)))
            goto fail;
        Scsms__LogEntry *e = scsms__log_entry__unpack(&alloc, lv.mv_size, lv.mv_data);
        if (!e || !e->record.len) {
            rc = scsms_fail(SCSMS_ECORRUPT, "log entry of '%.*s' does not decode; run verify",
                            (int)(k.mv_size < 128 ? k.mv_size : 128), (char *)k.mv_data);
            goto fail;
        }
        struct store_current c = {k.mv_data, k.mv_size, store_get_be32(ref), e->record.data,
                                  e->record.len};
        if ((rc = fn(&c, ctx)))
            goto fail;
        span_note(&span, lv.mv_data, lv.mv_size);
        span_note(&span, k.mv_data, k.mv_size);
        if (++done % 4096 == 0)
            span_release(&span);
        if (progress && every && done % every == 0)
            progress(ctx, done);
    }
    if (mrc != MDB_NOTFOUND && mrc != 0)
        rc = store_lmdb_fail(mrc, "scan records");
fail:
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    free(arena.buf);
    return rc;
}

int store_owners(store_t *s, int (*fn)(const char *owner, uint32_t idx, uint64_t head, void *ctx),
                 void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    char name[RECORD_MAX_ID + 1];
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    int mrc = mdb_cursor_open(txn, s->owners, &cur);
    for (mrc = mrc ? mrc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_owner_state st;
        if (k.mv_size == 0 || k.mv_size > RECORD_MAX_ID || v.mv_size != STORE_OWNER_LEN) {
            rc = scsms_fail(SCSMS_ECORRUPT, "a log head is malformed; run verify");
            break;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = 0;
        store_owner_decode(&v, &st);
        rc = fn(name, st.idx, st.seq, ctx);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read log heads");
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

/* ------------------------------------------------------------ received */

struct received_put {
    const Scsms__Record *rec;
    const uint8_t *bytes;
    size_t len;
    int *added;
};

static int received_put_body(store_t *s, MDB_txn *txn, void *ctx)
{
    struct received_put *p = ctx;
    uint8_t key[RECORD_MAX_ID + 8];
    MDB_val k = {store_versions_key(p->rec->id, p->rec->version, key), key}, v;
    int mrc = mdb_get(txn, s->received, &k, &v);
    *p->added = 0;
    if (mrc == 0) /* held already: the same bytes, or a second story */
        return v.mv_size == p->len && memcmp(v.mv_data, p->bytes, p->len) == 0
                   ? 0
                   : scsms_fail(SCSMS_ETAMPER, "version %u of '%s' differs from the one "
                                "received before", p->rec->version, p->rec->id);
    if (mrc != MDB_NOTFOUND)
        return store_lmdb_fail(mrc, "read received");
    v.mv_size = p->len;
    v.mv_data = (void *)p->bytes;
    if ((mrc = mdb_put(txn, s->received, &k, &v, 0)))
        return store_lmdb_fail(mrc, "write received");
    *p->added = 1;
    return 0;
}

int store_received_put(store_t *s, const Scsms__Record *rec, const uint8_t *bytes, size_t len,
                       int *added)
{
    struct received_put p = {rec, bytes, len, added};
    if (!rec->id[0] || strlen(rec->id) > RECORD_MAX_ID || rec->version < 1)
        return scsms_fail(SCSMS_EINVAL, "a received record needs an id and a version");
    return store_write_txn(s, received_put_body, &p);
}

int store_received_list(store_t *s, store_received_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    int mrc = mdb_cursor_open(txn, s->received, &cur);
    for (mrc = mrc ? mrc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Scsms__Record *rec = NULL;
        /* the bytes were verified when they came; a record that no longer
         * decodes means the file was damaged since */
        if ((rc = record_unpack(v.mv_data, v.mv_size, &rec)) == 0)
            rc = fn(rec, v.mv_data, v.mv_size, ctx);
        record_free(rec);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = store_lmdb_fail(mrc, "read received");
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

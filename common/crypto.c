/* crypto.c -- SHA-256 and Ed25519 through OpenSSL EVP; see crypto.h. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct crypto_key {
    EVP_PKEY *pkey;
    uint8_t pub[CRYPTO_PUB_LEN];
};

/* Fetching an algorithm costs a lock and a lookup in OpenSSL 3, and a
 * digest context an allocation: do both once per thread, so hashing a
 * 350-byte log entry is the hashing and little else (bulk adds and verify
 * hash every entry). The context is freed when the thread ends. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_ctx_key;

static void sha256_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha256_init(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (pthread_key_create(&sha256_ctx_key, sha256_ctx_free) != 0)
        sha256_md = NULL;
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
    pthread_once(&sha256_once, sha256_init);
    EVP_MD_CTX *ctx = sha256_md ? pthread_getspecific(sha256_ctx_key) : NULL;
    if (sha256_md && !ctx) {
        ctx = EVP_MD_CTX_new();
        if (ctx && pthread_setspecific(sha256_ctx_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    if (!ctx || EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, data, len) != 1 || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
        abort(); /* no SHA-256 in libcrypto: nothing in scsms can be trusted */
}

int crypto_sha256_file(const char *path, uint8_t out[CRYPTO_HASH_LEN], uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return scsms_fail(SCSMS_ENOTFOUND, "cannot read '%s'", path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t buf[1 << 16];
    size_t n;
    uint64_t total = 0;
    int rc = 0;
    pthread_once(&sha256_once, sha256_init);
    if (!ctx || !sha256_md || EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1)
        rc = scsms_fail(SCSMS_ECRYPTO, "cannot start SHA-256");
    /* in pieces: a file may be larger than memory */
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        total += n;
        if (EVP_DigestUpdate(ctx, buf, n) != 1)
            rc = scsms_fail(SCSMS_ECRYPTO, "SHA-256 failed");
    }
    if (rc == 0 && ferror(f))
        rc = scsms_fail(SCSMS_EIO, "cannot read '%s'", path);
    if (rc == 0 && EVP_DigestFinal_ex(ctx, out, NULL) != 1)
        rc = scsms_fail(SCSMS_ECRYPTO, "SHA-256 failed");
    if (rc == 0 && size)
        *size = total;
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}

static int key_wrap(EVP_PKEY *pkey, crypto_key_t **out)
{
    size_t plen = CRYPTO_PUB_LEN;
    crypto_key_t *key = calloc(1, sizeof *key);
    if (!key) {
        EVP_PKEY_free(pkey);
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    }
    key->pkey = pkey;
    if (EVP_PKEY_get_raw_public_key(pkey, key->pub, &plen) != 1 || plen != CRYPTO_PUB_LEN) {
        crypto_key_destroy(&key);
        return scsms_fail(SCSMS_EKEY, "key is not an Ed25519 key");
    }
    *out = key;
    return 0;
}

int crypto_key_generate(crypto_key_t **out)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return scsms_fail(SCSMS_ECRYPTO, "cannot generate an Ed25519 key");
    }
    EVP_PKEY_CTX_free(ctx);
    return key_wrap(pkey, out);
}

int crypto_key_save(const crypto_key_t *key, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return scsms_fail(errno == EEXIST ? SCSMS_EEXIST : SCSMS_EIO,
                          "cannot create key file '%s': %s", path, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
        return scsms_fail(SCSMS_EIO, "cannot write key file '%s': %s", path, strerror(errno));
    }
    int ok = PEM_write_PrivateKey(f, key->pkey, NULL, NULL, 0, NULL, NULL) == 1;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        unlink(path);
        return scsms_fail(SCSMS_EIO, "cannot write key file '%s'", path);
    }
    return 0;
}

int crypto_key_load(const char *path, crypto_key_t **out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return scsms_fail(errno == ENOENT ? SCSMS_ENOTFOUND : SCSMS_EIO,
                          "cannot open key file '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return scsms_fail(SCSMS_EKEY, "key file '%s' is not a file: name the signing key file "
                          "(DIR/keys/sign.key)", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return scsms_fail(SCSMS_EKEY, "key file '%s' is accessible to others: chmod 600 it",
                          path);
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return scsms_fail(SCSMS_EIO, "cannot read key file '%s'", path);
    }
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!pkey || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        return scsms_fail(SCSMS_EKEY, "key file '%s' holds no Ed25519 private key", path);
    }
    return key_wrap(pkey, out);
}

void crypto_key_destroy(crypto_key_t **key)
{
    if (!key || !*key)
        return;
    EVP_PKEY_free((*key)->pkey);
    free(*key);
    *key = NULL;
}

void crypto_key_public(const crypto_key_t *key, uint8_t pub[CRYPTO_PUB_LEN])
{
    memcpy(pub, key->pub, CRYPTO_PUB_LEN);
}

int crypto_sign(const crypto_key_t *key, const void *msg, size_t len,
                uint8_t sig[CRYPTO_SIG_LEN])
{
    size_t siglen = CRYPTO_SIG_LEN;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == CRYPTO_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : scsms_fail(SCSMS_ECRYPTO, "Ed25519 signing failed");
}

int crypto_verify(const uint8_t pub[CRYPTO_PUB_LEN], const void *msg, size_t len,
                  const uint8_t *sig, size_t sig_len)
{
    if (sig_len != CRYPTO_SIG_LEN)
        return scsms_fail(SCSMS_ETAMPER, "signature is %zu bytes, not %d", sig_len,
                          CRYPTO_SIG_LEN);
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, CRYPTO_PUB_LEN);
    if (!pkey)
        return scsms_fail(SCSMS_EKEY, "public key is not a valid Ed25519 key");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = SCSMS_ECRYPTO;
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
        rc = EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1 ? 0 : SCSMS_ETAMPER;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    if (rc == SCSMS_ETAMPER)
        return scsms_fail(rc, "signature does not verify");
    if (rc)
        return scsms_fail(rc, "Ed25519 verification could not run");
    return 0;
}

void crypto_hex(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int crypto_unhex(const char *hex, uint8_t *bytes, size_t len)
{
    if (strlen(hex) != 2 * len)
        return scsms_fail(SCSMS_EINVAL, "expected %zu hex digits, got %zu", 2 * len,
                          strlen(hex));
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return scsms_fail(SCSMS_EINVAL, "'%c%c' is not hex", hex[2 * i], hex[2 * i + 1]);
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

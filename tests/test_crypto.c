/* test_crypto.c -- Check suite for common/crypto.{h,c}: SHA-256, Ed25519,
 * key files and hex. */
#include "crypto.h"
#include "error.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* RFC 8032 section 7.1, TEST 1, as a PKCS#8 PEM file. */
static const char rfc8032_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
static const char rfc8032_pub[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc8032_sig_empty[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
/* the same key over "abc", from `openssl pkeyutl -sign -rawin` */
static const char rfc8032_sig_abc[] =
    "80d724b01e7ca260f4cc7f8de7c95f73cfac615bab1f762b6435b6ec26c8cf6d2c758dae2f87399a8eeda1cbcd2835ac5ba66d6ecaa3aba5e567a751053dc207";

/* The same seed as an X25519 key: a valid PKCS#8 key of the wrong kind. */
static const char x25519_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
    ck_assert_int_eq(chmod(path, mode), 0); /* whatever the umask */
}

static void hash_hex(const void *data, size_t len, char hex[2 * CRYPTO_HASH_LEN + 1])
{
    uint8_t h[CRYPTO_HASH_LEN];
    crypto_sha256(data, len, h);
    crypto_hex(h, sizeof h, hex);
}

static crypto_key_t *new_key(void)
{
    crypto_key_t *key = NULL;
    ck_assert_int_eq(crypto_key_generate(&key), 0);
    ck_assert_ptr_nonnull(key);
    return key;
}

START_TEST(sha256_vectors)
{
    char hex[2 * CRYPTO_HASH_LEN + 1];
    /* FIPS 180-2 / sha256sum */
    hash_hex("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hash_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* bytes i % 251 for i in 0..999, hashed with sha256sum when written */
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i % 251);
    hash_hex(buf, sizeof buf, hex);
    ck_assert_str_eq(hex, "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d");
    /* 1000 x 'a': the per-thread context must not carry state across calls */
    memset(buf, 'a', sizeof buf);
    hash_hex(buf, sizeof buf, hex);
    ck_assert_str_eq(hex, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
    hash_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

/* A file hashed in pieces gives the one-shot digest of its bytes. */
START_TEST(sha256_of_a_file)
{
    char *dir = tu_tmpdir("sha"), *path = tu_path(dir, "f");
    uint8_t got[CRYPTO_HASH_LEN], want[CRYPTO_HASH_LEN];
    char hex[2 * CRYPTO_HASH_LEN + 1];
    uint64_t size = 1;
    FILE *f = fopen(path, "wb");
    fclose(f);
    ck_assert_int_eq(crypto_sha256_file(path, got, &size), 0);
    crypto_hex(got, sizeof got, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_uint_eq(size, 0);
    /* larger than one read, and not a multiple of it */
    size_t n = 200003;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    f = fopen(path, "wb");
    fwrite(big, 1, n, f);
    fclose(f);
    ck_assert_int_eq(crypto_sha256_file(path, got, &size), 0);
    crypto_sha256(big, n, want);
    ck_assert_mem_eq(got, want, CRYPTO_HASH_LEN);
    ck_assert_uint_eq(size, n);
    free(big);
    char *missing = tu_path(dir, "none");
    ck_assert_int_eq(crypto_sha256_file(missing, got, NULL), SCSMS_ENOTFOUND);
    free(missing);
    free(path);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(sign_verify)
{
    static const char msg[] = "scsms-checkpoint/v1\nsite-a\n1\n00\n";
    size_t len = sizeof msg - 1;
    uint8_t pub[CRYPTO_PUB_LEN], sig[CRYPTO_SIG_LEN], sig2[CRYPTO_SIG_LEN];
    crypto_key_t *key = new_key();
    crypto_key_public(key, pub);
    ck_assert_int_eq(crypto_sign(key, msg, len, sig), 0);
    ck_assert_int_eq(crypto_verify(pub, msg, len, sig, sizeof sig), 0);
    /* pure Ed25519 is deterministic */
    ck_assert_int_eq(crypto_sign(key, msg, len, sig2), 0);
    ck_assert_mem_eq(sig, sig2, sizeof sig);

    /* every single flipped bit of the message or the signature is caught */
    char bad[sizeof msg];
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, msg, sizeof msg);
        bad[i] ^= 1;
        ck_assert_int_eq(crypto_verify(pub, bad, len, sig, sizeof sig), SCSMS_ETAMPER);
    }
    for (size_t i = 0; i < sizeof sig; i++) {
        memcpy(sig2, sig, sizeof sig);
        sig2[i] ^= 0x80;
        ck_assert_int_eq(crypto_verify(pub, msg, len, sig2, sizeof sig2), SCSMS_ETAMPER);
    }
    /* a shorter message is a different message */
    ck_assert_int_eq(crypto_verify(pub, msg, len - 1, sig, sizeof sig), SCSMS_ETAMPER);

    /* another key's public key */
    uint8_t other_pub[CRYPTO_PUB_LEN];
    crypto_key_t *other = new_key();
    crypto_key_public(other, other_pub);
    ck_assert_mem_ne(pub, other_pub, sizeof pub);
    scsms_errclear();
    ck_assert_int_eq(crypto_verify(other_pub, msg, len, sig, sizeof sig), SCSMS_ETAMPER);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "does not verify"));

    /* wrong signature lengths */
    uint8_t longer[CRYPTO_SIG_LEN + 1] = {0};
    memcpy(longer, sig, sizeof sig);
    scsms_errclear();
    ck_assert_int_eq(crypto_verify(pub, msg, len, sig, sizeof sig - 1), SCSMS_ETAMPER);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "63 bytes"));
    ck_assert_int_eq(crypto_verify(pub, msg, len, longer, sizeof longer), SCSMS_ETAMPER);
    ck_assert_int_eq(crypto_verify(pub, msg, len, sig, 0), SCSMS_ETAMPER);

    crypto_key_destroy(&key);
    crypto_key_destroy(&other);
    ck_assert_ptr_null(key);
    crypto_key_destroy(&key); /* accepts NULL */
    crypto_key_destroy(NULL);
}
END_TEST

START_TEST(rfc8032_vector)
{
    char *dir = tu_tmpdir("crypto");
    char *path = tu_path(dir, "rfc8032.pem");
    write_file(path, rfc8032_pem, 0600);
    crypto_key_t *key = NULL;
    ck_assert_int_eq(crypto_key_load(path, &key), 0);

    uint8_t pub[CRYPTO_PUB_LEN], sig[CRYPTO_SIG_LEN], want[CRYPTO_SIG_LEN];
    char hex[2 * CRYPTO_SIG_LEN + 1];
    crypto_key_public(key, pub);
    crypto_hex(pub, sizeof pub, hex);
    ck_assert_str_eq(hex, rfc8032_pub);

    ck_assert_int_eq(crypto_sign(key, "", 0, sig), 0);
    crypto_hex(sig, sizeof sig, hex);
    ck_assert_str_eq(hex, rfc8032_sig_empty);
    ck_assert_int_eq(crypto_sign(key, "abc", 3, sig), 0);
    crypto_hex(sig, sizeof sig, hex);
    ck_assert_str_eq(hex, rfc8032_sig_abc);

    /* verification needs only the published values */
    uint8_t rpub[CRYPTO_PUB_LEN];
    ck_assert_int_eq(crypto_unhex(rfc8032_pub, rpub, sizeof rpub), 0);
    ck_assert_int_eq(crypto_unhex(rfc8032_sig_empty, want, sizeof want), 0);
    ck_assert_int_eq(crypto_verify(rpub, "", 0, want, sizeof want), 0);
    ck_assert_int_eq(crypto_verify(rpub, "abc", 3, want, sizeof want), SCSMS_ETAMPER);

    crypto_key_destroy(&key);
    tu_rmdir(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(key_files)
{
    char *dir = tu_tmpdir("crypto");
    char *path = tu_path(dir, "site.key");
    crypto_key_t *key = new_key(), *loaded = NULL;
    uint8_t pub[CRYPTO_PUB_LEN], lpub[CRYPTO_PUB_LEN], sig[CRYPTO_SIG_LEN];
    struct stat st;

    ck_assert_int_eq(crypto_key_save(key, path), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert(S_ISREG(st.st_mode));

    /* never overwrite a key */
    size_t before_len = 0, after_len = 0;
    char *before = tu_read_file(path, &before_len);
    crypto_key_t *other = new_key();
    ck_assert_int_eq(crypto_key_save(other, path), SCSMS_EEXIST);
    char *after = tu_read_file(path, &after_len);
    ck_assert_uint_eq(before_len, after_len);
    ck_assert_mem_eq(before, after, before_len);

    ck_assert_int_eq(crypto_key_load(path, &loaded), 0);
    crypto_key_public(key, pub);
    crypto_key_public(loaded, lpub);
    ck_assert_mem_eq(pub, lpub, sizeof pub);
    /* the loaded key signs for the original public key */
    ck_assert_int_eq(crypto_sign(loaded, "abc", 3, sig), 0);
    ck_assert_int_eq(crypto_verify(pub, "abc", 3, sig, sizeof sig), 0);
    crypto_key_destroy(&loaded);

    /* readable by others: refused, however good the key */
    ck_assert_int_eq(chmod(path, 0644), 0);
    loaded = NULL;
    scsms_errclear();
    ck_assert_int_eq(crypto_key_load(path, &loaded), SCSMS_EKEY);
    ck_assert_ptr_null(loaded);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "accessible to others"));
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(crypto_key_load(path, &loaded), SCSMS_EKEY);
    ck_assert_int_eq(chmod(path, 0602), 0);
    ck_assert_int_eq(crypto_key_load(path, &loaded), SCSMS_EKEY);
    ck_assert_int_eq(chmod(path, 0400), 0);
    ck_assert_int_eq(crypto_key_load(path, &loaded), 0);
    crypto_key_destroy(&loaded);

    char *missing = tu_path(dir, "missing.key");
    ck_assert_int_eq(crypto_key_load(missing, &loaded), SCSMS_ENOTFOUND);
    char *nodir = tu_path(dir, "no/such/dir.key");
    ck_assert_int_eq(crypto_key_save(key, nodir), SCSMS_EIO);

    crypto_key_destroy(&key);
    crypto_key_destroy(&other);
    free(before);
    free(after);
    tu_rmdir(dir);
    free(nodir);
    free(missing);
    free(path);
    free(dir);
}
END_TEST

START_TEST(key_files_bad)
{
    char *dir = tu_tmpdir("crypto");
    char *garbage = tu_path(dir, "garbage.key");
    char *empty = tu_path(dir, "empty.key");
    char *x25519 = tu_path(dir, "x25519.key");
    char *truncated = tu_path(dir, "truncated.key");
    crypto_key_t *key = NULL;

    write_file(garbage, "this is not a key\n", 0600);
    write_file(empty, "", 0600);
    write_file(x25519, x25519_pem, 0600);
    write_file(truncated, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw\n", 0600);

    scsms_errclear();
    ck_assert_int_eq(crypto_key_load(garbage, &key), SCSMS_EKEY);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "no Ed25519 private key"));
    ck_assert_int_eq(crypto_key_load(empty, &key), SCSMS_EKEY);
    ck_assert_int_eq(crypto_key_load(x25519, &key), SCSMS_EKEY);
    ck_assert_int_eq(crypto_key_load(truncated, &key), SCSMS_EKEY);
    ck_assert_ptr_null(key);

    tu_rmdir(dir);
    free(truncated);
    free(x25519);
    free(empty);
    free(garbage);
    free(dir);
}
END_TEST

START_TEST(hex)
{
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    char hex[2 * sizeof bytes + 1];
    uint8_t back[sizeof bytes];

    crypto_hex(bytes, sizeof bytes, hex);
    ck_assert_str_eq(hex, "00017f80abcdefff");
    ck_assert_int_eq(crypto_unhex(hex, back, sizeof back), 0);
    ck_assert_mem_eq(back, bytes, sizeof bytes);
    memset(back, 0, sizeof back);
    ck_assert_int_eq(crypto_unhex("00017F80ABCDEFFF", back, sizeof back), 0);
    ck_assert_mem_eq(back, bytes, sizeof bytes);

    crypto_hex(bytes, 0, hex);
    ck_assert_str_eq(hex, "");
    ck_assert_int_eq(crypto_unhex("", back, 0), 0);

    /* every byte value survives the round trip */
    uint8_t all[256], all_back[256];
    char all_hex[2 * sizeof all + 1];
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (uint8_t)i;
    crypto_hex(all, sizeof all, all_hex);
    ck_assert_int_eq(crypto_unhex(all_hex, all_back, sizeof all_back), 0);
    ck_assert_mem_eq(all, all_back, sizeof all);

    scsms_errclear();
    ck_assert_int_eq(crypto_unhex("00017f80abcdefgf", back, sizeof back), SCSMS_EINVAL);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "'gf' is not hex"));
    ck_assert_int_eq(crypto_unhex("00017f80abcdef-f", back, sizeof back), SCSMS_EINVAL);
    ck_assert_int_eq(crypto_unhex(" 0017f80abcdefff", back, sizeof back), SCSMS_EINVAL);
    ck_assert_int_eq(crypto_unhex("0x017f80abcdefff", back, sizeof back), SCSMS_EINVAL);
    scsms_errclear();
    ck_assert_int_eq(crypto_unhex("00017f80abcdeff", back, sizeof back), SCSMS_EINVAL);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "expected 16 hex digits, got 15"));
    ck_assert_int_eq(crypto_unhex("00017f80abcdefff00", back, sizeof back), SCSMS_EINVAL);
    ck_assert_int_eq(crypto_unhex("", back, sizeof back), SCSMS_EINVAL);
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, sha256_of_a_file);
    tcase_add_test(tc, sign_verify);
    tcase_add_test(tc, rfc8032_vector);
    tcase_add_test(tc, key_files);
    tcase_add_test(tc, key_files_bad);
    tcase_add_test(tc, hex);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(crypto_suite());
}

/* crypto.h -- the only module that calls OpenSSL: SHA-256 and Ed25519.
 *
 * OpenSSL failures are translated to SCSMS_ECRYPTO; a signature that does
 * not verify is SCSMS_ETAMPER. Private keys live in PEM (PKCS#8) files
 * created with mode 0600; a key file that others can read is refused.
 */
#ifndef SCSMS_CRYPTO_H
#define SCSMS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CRYPTO_HASH_LEN 32
#define CRYPTO_SIG_LEN 64
#define CRYPTO_PUB_LEN 32

typedef struct crypto_key crypto_key_t; /* an Ed25519 private key */

/* SHA-256 of len bytes. Cannot fail once the library is initialised; aborts
 * if OpenSSL has no SHA-256 at all (a broken installation). */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_HASH_LEN]);

/* SHA-256 of a whole file, read in pieces; its size in *size unless NULL.
 * SCSMS_ENOTFOUND when it cannot be opened, SCSMS_EIO on a read error. */
int crypto_sha256_file(const char *path, uint8_t out[CRYPTO_HASH_LEN],
                       uint64_t *size) SCSMS_MUST_CHECK;

/* Make a new random key. Caller destroys with crypto_key_destroy(). */
int crypto_key_generate(crypto_key_t **out) SCSMS_MUST_CHECK;

/* Write the private key to path, which must not exist yet (O_EXCL, 0600). */
int crypto_key_save(const crypto_key_t *key, const char *path) SCSMS_MUST_CHECK;

/* Read a private key written by crypto_key_save(). Refuses a file that is
 * readable or writable by group or others. Caller destroys. */
int crypto_key_load(const char *path, crypto_key_t **out) SCSMS_MUST_CHECK;

/* Free the key and set *key to NULL. Accepts NULL. */
void crypto_key_destroy(crypto_key_t **key);

/* The raw 32-byte public key. */
void crypto_key_public(const crypto_key_t *key, uint8_t pub[CRYPTO_PUB_LEN]);

/* Sign len bytes of msg (pure Ed25519). */
int crypto_sign(const crypto_key_t *key, const void *msg, size_t len,
                uint8_t sig[CRYPTO_SIG_LEN]) SCSMS_MUST_CHECK;

/* 0 when sig is pub's signature over msg; SCSMS_ETAMPER when not. */
int crypto_verify(const uint8_t pub[CRYPTO_PUB_LEN], const void *msg, size_t len,
                  const uint8_t *sig, size_t sig_len) SCSMS_MUST_CHECK;

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void crypto_hex(const uint8_t *bytes, size_t len, char *out);

/* Parse exactly 2 * len hex digits. SCSMS_EINVAL otherwise. */
int crypto_unhex(const char *hex, uint8_t *bytes, size_t len) SCSMS_MUST_CHECK;

#endif

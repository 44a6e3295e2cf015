/* identity.h -- the transport identity of a store: a CURVE keypair for
 * ZeroMQ (Z85 text, 40 characters each), made at init beside the Ed25519
 * signing key. The secret key lives in DIR/keys/curve.key, mode 0600. */
#ifndef SCSMS_IDENTITY_H
#define SCSMS_IDENTITY_H

#include "error.h"

#define IDENTITY_Z85_LEN 40

/* Make DIR/keys/curve.key and curve.pub (neither may exist yet). */
int identity_curve_create(const char *dir) SCSMS_MUST_CHECK;

/* Read them; pub and sec hold IDENTITY_Z85_LEN + 1 bytes. Refuses a secret
 * key file others can read. */
int identity_curve_load(const char *dir, char *pub, char *sec) SCSMS_MUST_CHECK;

/* 1 when text is a well-formed Z85 CURVE key (40 characters that decode
 * to 32 bytes). */
int identity_curve_valid(const char *text);

/* Enrol at store `at` the identity of store `who` (made in who_dir): its
 * CURVE public key, its signing key, role (Scsms__Identity__Role),
 * enrolled now; as 'scsms-server enrol' does with keys typed in. For
 * tests and benchmarks that build many stores in one process. */
struct store;
int identity_enrol_store(struct store *at, struct store *who, const char *who_dir,
                         int role) SCSMS_MUST_CHECK;

#endif

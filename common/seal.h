/* seal.h -- records that carry their own signature ("sealed" records).
 *
 * The chain's checkpoint signs everything before it, but some records must
 * stand on their own: a partner's declaration of security (non-repudiation
 * by the partner), head office's credibility review of it and its
 * management review (delivered to a partner or a site outside head office's
 * chain). Each such body has a signature field; the signature is Ed25519
 * over
 *
 *     "scsms-seal/v1\n" TYPE "\n" BODY
 *
 * where TYPE is the record type's name and BODY the body message's exact
 * bytes as they sit inside the stored record, minus the signature field.
 * Nothing is re-serialised to verify: the body is cut out of the record's
 * bytes and the signature field dropped at the wire level, so any encoder
 * that wrote the bytes verifies. The context prefix keeps a seal from being
 * taken for a checkpoint (which begins "scsms-checkpoint/v1") or for a
 * seal of another type.
 *
 *   type               signature field          signed by
 *   declaration        partner_signature (9)    the partner
 *   credibility_review hq_signature (9)         head office
 *   management_review  hq_signature (6)         head office
 */
#ifndef SCSMS_SEAL_H
#define SCSMS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "record.h"

/* 1 when records of rec's type are sealed. */
int seal_is_sealed(const Scsms__Record *rec);

/* Sign rec's body with key, in place: the signature field is cleared, the
 * body packed, signed, and the signature set (replacing any given, which
 * is freed). Call after validation, before the record is packed for
 * storage. SCSMS_EINVAL when rec's type is not sealed. */
int seal_record_sign(Scsms__Record *rec, const crypto_key_t *key) SCSMS_MUST_CHECK;

/* Check the seal of the packed record in bytes (exact stored bytes) against
 * pub. 0 when it verifies, or when the type is not sealed. SCSMS_ETAMPER,
 * with a message naming the type, when the signature is missing or does
 * not match the bytes; SCSMS_ECORRUPT when bytes are not a well-formed
 * record. */
int seal_record_check(const uint8_t *bytes, size_t len,
                      const uint8_t pub[CRYPTO_PUB_LEN]) SCSMS_MUST_CHECK;

/* The same for a record already decoded from bytes (rec is the decode of
 * exactly those bytes): the callers that have decoded it do not again. */
int seal_check(const Scsms__Record *rec, const uint8_t *bytes, size_t len,
               const uint8_t pub[CRYPTO_PUB_LEN]) SCSMS_MUST_CHECK;

/* Wire-level helpers, exposed for tests and the fuzz harness. */

/* The exact bytes of top-level length-delimited field `field` of the
 * protobuf message in msg: *out borrowed from msg. SCSMS_ENOTFOUND when
 * absent, SCSMS_ECORRUPT when msg does not parse or holds the field twice. */
int seal_find_field(const uint8_t *msg, size_t len, uint32_t field, const uint8_t **out,
                    size_t *out_len) SCSMS_MUST_CHECK;

/* msg without its field `field`, into a malloc'd *out (caller frees; may be
 * of length 0); the field's value, if length-delimited and present once,
 * borrowed into *val (NULL and 0 when absent). SCSMS_ECORRUPT when msg does
 * not parse or holds the field twice or not length-delimited. */
int seal_strip_field(const uint8_t *msg, size_t len, uint32_t field, uint8_t **out,
                     size_t *out_len, const uint8_t **val, size_t *val_len) SCSMS_MUST_CHECK;

#endif

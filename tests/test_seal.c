/* test_seal.c -- sealed records: a seal verifies with its signer's key
 * only, over the body's exact bytes, and for its own type only; and the
 * wire-level helpers cut out exactly the field they are asked for and
 * refuse malformed bytes. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "jsonpb.h"
#include "record.h"
#include "seal.h"

/* ------------------------------------------------------------ helpers */

static const char *const decl_json =
    "{\"type\":\"declaration\",\"id\":\"P-42-DOS-000001\",\"owner\":\"P-42\",\"version\":1,"
    "\"status\":\"submitted\",\"partner_id\":\"P-42\",\"coverage\":\"all road flows NL-DE\","
    "\"flows\":[\"NL-DE\",\"NL-BE\"],\"measures\":[\"seals\",\"escort\"],"
    "\"valid_from_date\":\"2026-01-01\",\"valid_to_date\":\"2026-12-31\"}";

static const char *const review_json =
    "{\"type\":\"credibility_review\",\"id\":\"HQ-CRV-000001\",\"owner\":\"HQ\",\"version\":1,"
    "\"status\":\"accepted\",\"declaration_id\":\"P-42-DOS-000001\",\"declaration_version\":1,"
    "\"declaration_sha256\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
    "\"partner_id\":\"P-42\",\"reviewer\":\"k.li\",\"decision\":\"accepted\",\"reason\":\"fits\","
    "\"reviewed_date\":\"2026-11-20\"}";

static const char *const mreview_json =
    "{\"type\":\"management_review\",\"id\":\"HQ-MRV-000001\",\"owner\":\"HQ\",\"version\":1,"
    "\"status\":\"held\",\"period_from_date\":\"2026-01-01\",\"period_to_date\":\"2026-06-30\","
    "\"held_date\":\"2026-07-10\",\"decisions\":[\"continue\",\"more drills\"],"
    "\"pack_sha256\":\"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\"}";

static const char *const incident_json =
    "{\"type\":\"incident\",\"id\":\"SITE-A-INC-000001\",\"owner\":\"SITE-A\",\"version\":1,"
    "\"status\":\"open\",\"kind\":\"breach\",\"occurred_at\":\"2026-11-01T10:00:00Z\","
    "\"location\":\"Gate 3\"}";

static uint8_t *pack(const Scsms__Record *r, size_t *len)
{
    *len = scsms__record__get_packed_size(r);
    uint8_t *buf = malloc(*len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(scsms__record__pack(r, buf), *len);
    return buf;
}

/* json signed with key and packed. */
static uint8_t *sealed_bytes(const char *json, const crypto_key_t *key, size_t *len)
{
    Scsms__Record *r = tu_record(json);
    ck_assert_msg(seal_record_sign(r, key) == 0, "%s", scsms_errmsg());
    uint8_t *b = pack(r, len);
    record_free(r);
    return b;
}

static crypto_key_t *new_key(uint8_t pub[CRYPTO_PUB_LEN])
{
    crypto_key_t *k = NULL;
    ck_assert_int_eq(crypto_key_generate(&k), 0);
    crypto_key_public(k, pub);
    return k;
}

/* Where needle (text) sits in bytes; fails the test when absent. */
static size_t offset_of(const uint8_t *bytes, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(bytes + i, needle, n) == 0)
            return i;
    ck_abort_msg("'%s' not in the bytes", needle);
    return 0;
}

static void check_fails(const uint8_t *b, size_t len, const uint8_t pub[CRYPTO_PUB_LEN], int code,
                        const char *want)
{
    int rc = seal_record_check(b, len, pub);
    ck_assert_msg(rc == code, "rc %d want %d: %s", rc, code, scsms_errmsg());
    if (want)
        ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'",
                      scsms_errmsg(), want);
}

/* ------------------------------------------------------------ seals */

START_TEST(declaration_verifies_with_its_key_only)
{
    uint8_t pub[CRYPTO_PUB_LEN], other_pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub), *other = new_key(other_pub);
    size_t len;
    uint8_t *b = sealed_bytes(decl_json, k, &len);
    ck_assert_msg(seal_record_check(b, len, pub) == 0, "%s", scsms_errmsg());
    check_fails(b, len, other_pub, SCSMS_ETAMPER,
                "declaration 'P-42-DOS-000001': partner_signature does not match its bytes");
    /* the signature set is 64 bytes; decoding the record shows it */
    Scsms__Record *r = NULL;
    ck_assert_int_eq(record_unpack(b, len, &r), 0);
    ck_assert_uint_eq(r->declaration->partner_signature.len, CRYPTO_SIG_LEN);
    /* Ed25519 is deterministic: signing again replaces the signature with
     * the same one, and the bytes come out identical */
    ck_assert_int_eq(seal_record_sign(r, k), 0);
    size_t len2;
    uint8_t *b2 = pack(r, &len2);
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(memcmp(b, b2, len), 0);
    /* a given (bogus) signature is replaced, not kept */
    Scsms__Record *j = tu_record(decl_json);
    j->declaration->partner_signature.data = malloc(3);
    memcpy(j->declaration->partner_signature.data, "abc", 3);
    j->declaration->partner_signature.len = 3;
    ck_assert_int_eq(seal_record_sign(j, k), 0);
    size_t len3;
    uint8_t *b3 = pack(j, &len3);
    ck_assert_uint_eq(len3, len);
    ck_assert_int_eq(memcmp(b, b3, len), 0);
    free(b);
    free(b2);
    free(b3);
    record_free(r);
    record_free(j);
    crypto_key_destroy(&k);
    crypto_key_destroy(&other);
}
END_TEST

START_TEST(altered_content_does_not_verify)
{
    uint8_t pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub);
    size_t len;
    uint8_t *b = sealed_bytes(decl_json, k, &len);
    /* the coverage text changed after signing, same length */
    size_t at = offset_of(b, len, "all road flows");
    b[at] = 'A';
    check_fails(b, len, pub, SCSMS_ETAMPER, "partner_signature does not match its bytes");
    b[at] = 'a';
    ck_assert_int_eq(seal_record_check(b, len, pub), 0);
    /* every byte of the body (tags, lengths, values, the signature itself),
     * one bit flipped: never verifies */
    const uint8_t *body;
    size_t blen;
    ck_assert_int_eq(seal_find_field(b, len, SCSMS__RECORD__BODY_DECLARATION, &body, &blen), 0);
    size_t from = (size_t)(body - b);
    ck_assert_uint_gt(blen, CRYPTO_SIG_LEN + 40);
    for (size_t i = from; i < from + blen; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            b[i] ^= (uint8_t)(1u << bit);
            int rc = seal_record_check(b, len, pub);
            ck_assert_msg(rc == SCSMS_ETAMPER || rc == SCSMS_ECORRUPT,
                          "byte %zu bit %d: rc %d", i - from, bit, rc);
            b[i] ^= (uint8_t)(1u << bit);
        }
    ck_assert_int_eq(seal_record_check(b, len, pub), 0);
    free(b);
    crypto_key_destroy(&k);
}
END_TEST

START_TEST(unsigned_declaration_is_refused)
{
    uint8_t pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub);
    Scsms__Record *r = tu_record(decl_json);
    size_t len;
    uint8_t *b = pack(r, &len);
    check_fails(b, len, pub, SCSMS_ETAMPER,
                "declaration 'P-42-DOS-000001' is not signed: its partner_signature is missing");
    free(b);
    /* a signature of the wrong length is no signature either */
    r->declaration->partner_signature.data = calloc(1, 10);
    r->declaration->partner_signature.len = 10;
    b = pack(r, &len);
    check_fails(b, len, pub, SCSMS_ETAMPER, "is not signed");
    free(b);
    record_free(r);
    crypto_key_destroy(&k);
}
END_TEST

START_TEST(unsealed_types_pass_and_cannot_be_signed)
{
    uint8_t pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub);
    Scsms__Record *r = tu_record(incident_json);
    ck_assert_int_eq(seal_is_sealed(r), 0);
    /* exactly these three types are sealed */
    size_t nt;
    const struct record_type *types = record_types(&nt);
    for (size_t i = 0; i < nt; i++) {
        Scsms__Record *x = record_new(&types[i]);
        int want = !strcmp(types[i].name, "declaration") ||
                   !strcmp(types[i].name, "credibility_review") ||
                   !strcmp(types[i].name, "management_review");
        ck_assert_msg(seal_is_sealed(x) == want, "%s", types[i].name);
        record_free(x);
    }
    size_t len;
    uint8_t *b = pack(r, &len);
    ck_assert_int_eq(seal_record_check(b, len, pub), 0);
    ck_assert_int_eq(seal_record_sign(r, k), SCSMS_EINVAL);
    /* not a record at all */
    static const uint8_t junk[] = {0x0b, 0x01};
    check_fails(junk, sizeof junk, pub, SCSMS_ECORRUPT, NULL);
    free(b);
    record_free(r);
    crypto_key_destroy(&k);
}
END_TEST

START_TEST(head_office_seals_round_trip)
{
    uint8_t pub[CRYPTO_PUB_LEN], other_pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub), *other = new_key(other_pub);
    const char *const json[] = {review_json, mreview_json};
    const char *const want[] = {"credibility_review 'HQ-CRV-000001': hq_signature does not match",
                                "management_review 'HQ-MRV-000001': hq_signature does not match"};
    const char *const text[] = {"fits", "more drills"};
    for (int i = 0; i < 2; i++) {
        size_t len;
        uint8_t *b = sealed_bytes(json[i], k, &len);
        ck_assert_msg(seal_record_check(b, len, pub) == 0, "%s", scsms_errmsg());
        check_fails(b, len, other_pub, SCSMS_ETAMPER, want[i]);
        size_t at = offset_of(b, len, text[i]);
        b[at] ^= 0x20;
        check_fails(b, len, pub, SCSMS_ETAMPER, want[i]);
        b[at] ^= 0x20;
        ck_assert_int_eq(seal_record_check(b, len, pub), 0);
        free(b);
    }
    crypto_key_destroy(&k);
    crypto_key_destroy(&other);
}
END_TEST

START_TEST(envelope_is_outside_the_seal)
{
    /* the seal covers the body; the envelope (id, version, times) is
     * covered by the owner's chain instead, so changing it keeps the seal */
    uint8_t pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub);
    size_t len;
    uint8_t *b = sealed_bytes(decl_json, k, &len);
    size_t at = offset_of(b, len, "P-42-DOS-000001");
    b[at + 14] = '9';
    ck_assert_int_eq(seal_record_check(b, len, pub), 0);
    free(b);
    crypto_key_destroy(&k);
}
END_TEST

START_TEST(a_second_body_is_refused)
{
    /* protobuf merges a repeated message field: a body appended after the
     * signed one would change what the record decodes to while the first
     * body's bytes still verify. The seal check refuses the record. */
    uint8_t pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub);
    size_t len;
    uint8_t *b = sealed_bytes(decl_json, k, &len);
    /* field 43 (wire type 2) = tag 0xda 0x02; body: coverage (field 2) "X" */
    static const uint8_t extra[] = {0xda, 0x02, 0x03, 0x12, 0x01, 'X'};
    uint8_t *m = malloc(len + sizeof extra);
    memcpy(m, b, len);
    memcpy(m + len, extra, sizeof extra);
    Scsms__Record *r = NULL;
    ck_assert_int_eq(record_unpack(m, len + sizeof extra, &r), 0);
    ck_assert_str_eq(r->declaration->coverage, "X"); /* merged: what a reader would see */
    record_free(r);
    check_fails(m, len + sizeof extra, pub, SCSMS_ECORRUPT, "field 43 appears twice");
    free(m);
    free(b);
    crypto_key_destroy(&k);
}
END_TEST

START_TEST(a_declaration_seal_is_not_a_review_seal)
{
    /* A declaration whose body fields all read as well as credibility
     * review fields (1 partner_id -> declaration_id, 7 valid_from_date ->
     * reason, 8 valid_to_date -> reviewed_date, 9 the signature in both),
     * signed as a declaration, then relabelled: the same body bytes under
     * field 44. Only the type in the signed context differs. */
    uint8_t pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub);
    Scsms__Record *r = record_new(record_type_by_name("declaration"));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(record_set_string(&r->id, "HQ-CRV-000001"), 0);
    ck_assert_int_eq(record_set_string(&r->owner, "HQ"), 0);
    ck_assert_int_eq(record_set_string(&r->status, "accepted"), 0);
    r->version = 1;
    ck_assert_int_eq(record_set_string(&r->declaration->partner_id, "P-42-DOS-000001"), 0);
    ck_assert_int_eq(record_set_string(&r->declaration->valid_from_date, "fits"), 0);
    ck_assert_int_eq(record_set_string(&r->declaration->valid_to_date, "2026-11-20"), 0);
    ck_assert_int_eq(seal_record_sign(r, k), 0);
    size_t len;
    uint8_t *b = pack(r, &len);
    ck_assert_int_eq(seal_record_check(b, len, pub), 0);
    const uint8_t *body;
    size_t blen;
    ck_assert_int_eq(seal_find_field(b, len, 43, &body, &blen), 0);
    size_t tag = (size_t)(body - b) - 3; /* tag 0xda 0x02, then a one-byte length */
    ck_assert_uint_lt(blen, 128);
    ck_assert_uint_eq(b[tag], 0xda);
    ck_assert_uint_eq(b[tag + 1], 0x02);
    b[tag] = 0xe2; /* field 44, wire type 2 */
    Scsms__Record *as_review = NULL;
    ck_assert_int_eq(record_unpack(b, len, &as_review), 0);
    ck_assert_int_eq(as_review->body_case, SCSMS__RECORD__BODY_CREDIBILITY_REVIEW);
    ck_assert_str_eq(as_review->credibility_review->reason, "fits");
    ck_assert_uint_eq(as_review->credibility_review->hq_signature.len, CRYPTO_SIG_LEN);
    const uint8_t *body2;
    size_t blen2;
    ck_assert_int_eq(seal_find_field(b, len, 44, &body2, &blen2), 0);
    ck_assert_ptr_eq(body2, body);
    ck_assert_uint_eq(blen2, blen);
    check_fails(b, len, pub, SCSMS_ETAMPER, "credibility_review 'HQ-CRV-000001': hq_signature "
                "does not match");
    /* and back: the declaration verifies again */
    b[tag] = 0xda;
    ck_assert_int_eq(seal_record_check(b, len, pub), 0);
    record_free(as_review);
    record_free(r);
    free(b);
    crypto_key_destroy(&k);
}
END_TEST

START_TEST(a_tombstone_excuses_only_an_empty_body)
{
    /* a disposal tombstone (status "disposed", empty body) has nothing to
     * seal and passes; the status is in the envelope, outside the seal, so
     * it must not excuse content: a tombstone that carries an altered body
     * is checked like any record */
    uint8_t pub[CRYPTO_PUB_LEN];
    crypto_key_t *k = new_key(pub);
    Scsms__Record *t = record_new(record_type_by_name("declaration"));
    ck_assert_int_eq(record_set_string(&t->id, "P-42-DOS-000001"), 0);
    ck_assert_int_eq(record_set_string(&t->status, RECORD_DISPOSED), 0);
    ck_assert_int_eq(record_set_string(&t->disposal_reason, "retention over"), 0);
    t->version = 2;
    size_t len;
    uint8_t *b = pack(t, &len);
    ck_assert_int_eq(seal_record_check(b, len, pub), 0);
    free(b);
    record_free(t);
    /* a signed declaration, its coverage changed and its status set to
     * disposed after signing */
    b = sealed_bytes(decl_json, k, &len);
    Scsms__Record *r = NULL;
    ck_assert_int_eq(record_unpack(b, len, &r), 0);
    free(b);
    ck_assert_int_eq(record_set_string(&r->status, RECORD_DISPOSED), 0);
    b = pack(r, &len);
    ck_assert_int_eq(seal_record_check(b, len, pub), 0); /* content as signed: verifies */
    free(b);
    ck_assert_int_eq(record_set_string(&r->declaration->coverage, "nothing at all"), 0);
    b = pack(r, &len);
    check_fails(b, len, pub, SCSMS_ETAMPER, "partner_signature does not match its bytes");
    free(b);
    /* and without any signature */
    free(r->declaration->partner_signature.data);
    r->declaration->partner_signature.data = NULL;
    r->declaration->partner_signature.len = 0;
    b = pack(r, &len);
    check_fails(b, len, pub, SCSMS_ETAMPER, "is not signed");
    free(b);
    record_free(r);
    crypto_key_destroy(&k);
}
END_TEST

/* ------------------------------------------------------------ wire level */

/* field 1 varint 150; field 2 "abc"; field 3 fixed32; field 4 fixed64;
 * field 5 "xy"; field 44 (two-byte tag) "Q" */
static const uint8_t msg[] = {
    0x08, 0x96, 0x01,                               /* 0..2 */
    0x12, 0x03, 'a',  'b',  'c',                    /* 3..7 */
    0x1d, 0x01, 0x02, 0x03, 0x04,                   /* 8..12 */
    0x21, 1,    2,    3,    4,    5, 6, 7, 8,       /* 13..21 */
    0x2a, 0x02, 'x',  'y',                          /* 22..25 */
    0xe2, 0x02, 0x01, 'Q',                          /* 26..29 */
};

static void find_is(const uint8_t *m, size_t len, uint32_t field, int code)
{
    const uint8_t *out = (const uint8_t *)"unset";
    size_t out_len = 999;
    int rc = seal_find_field(m, len, field, &out, &out_len);
    ck_assert_msg(rc == code, "field %u: rc %d want %d: %s", field, rc, code, scsms_errmsg());
}

static void strip_is(const uint8_t *m, size_t len, uint32_t field, int code)
{
    uint8_t *out = NULL;
    const uint8_t *val = (const uint8_t *)"unset";
    size_t out_len = 0, val_len = 999;
    int rc = seal_strip_field(m, len, field, &out, &out_len, &val, &val_len);
    ck_assert_msg(rc == code, "field %u: rc %d want %d: %s", field, rc, code, scsms_errmsg());
    if (rc) {
        ck_assert_ptr_null(val);
        ck_assert_uint_eq(val_len, 0);
    } else {
        free(out);
    }
}

START_TEST(find_field_gives_the_exact_value)
{
    const uint8_t *out;
    size_t n;
    ck_assert_int_eq(seal_find_field(msg, sizeof msg, 2, &out, &n), 0);
    ck_assert_ptr_eq(out, msg + 5);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(seal_find_field(msg, sizeof msg, 5, &out, &n), 0);
    ck_assert_ptr_eq(out, msg + 24);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(seal_find_field(msg, sizeof msg, 44, &out, &n), 0);
    ck_assert_ptr_eq(out, msg + 29);
    ck_assert_uint_eq(n, 1);
    /* absent */
    find_is(msg, sizeof msg, 6, SCSMS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "no field 6"));
    find_is(msg, 0, 2, SCSMS_ENOTFOUND);
    /* present but not length-delimited */
    find_is(msg, sizeof msg, 1, SCSMS_ECORRUPT);
    find_is(msg, sizeof msg, 3, SCSMS_ECORRUPT);
    find_is(msg, sizeof msg, 4, SCSMS_ECORRUPT);
    /* an empty value is found, with length 0 */
    static const uint8_t empty[] = {0x12, 0x00};
    ck_assert_int_eq(seal_find_field(empty, sizeof empty, 2, &out, &n), 0);
    ck_assert_ptr_eq(out, empty + 2);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(strip_field_removes_exactly_its_bytes)
{
    uint8_t *out = NULL;
    const uint8_t *val;
    size_t n, vn;
    /* field 2 from the middle */
    ck_assert_int_eq(seal_strip_field(msg, sizeof msg, 2, &out, &n, &val, &vn), 0);
    ck_assert_uint_eq(n, sizeof msg - 5);
    ck_assert_int_eq(memcmp(out, msg, 3), 0);
    ck_assert_int_eq(memcmp(out + 3, msg + 8, sizeof msg - 8), 0);
    ck_assert_ptr_eq(val, msg + 5);
    ck_assert_uint_eq(vn, 3);
    free(out);
    /* the two-byte tag at the end */
    ck_assert_int_eq(seal_strip_field(msg, sizeof msg, 44, &out, &n, &val, &vn), 0);
    ck_assert_uint_eq(n, 26);
    ck_assert_int_eq(memcmp(out, msg, 26), 0);
    ck_assert_ptr_eq(val, msg + 29);
    ck_assert_uint_eq(vn, 1);
    free(out);
    /* absent: everything, in order; no value */
    ck_assert_int_eq(seal_strip_field(msg, sizeof msg, 9, &out, &n, &val, &vn), 0);
    ck_assert_uint_eq(n, sizeof msg);
    ck_assert_int_eq(memcmp(out, msg, sizeof msg), 0);
    ck_assert_ptr_null(val);
    ck_assert_uint_eq(vn, 0);
    free(out);
    /* the only field: nothing left */
    static const uint8_t one[] = {0x4a, 0x02, 0xaa, 0xbb};
    ck_assert_int_eq(seal_strip_field(one, sizeof one, 9, &out, &n, &val, &vn), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_eq(val, one + 2);
    ck_assert_uint_eq(vn, 2);
    free(out);
    /* an empty message */
    ck_assert_int_eq(seal_strip_field(msg, 0, 9, &out, &n, &val, &vn), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(val);
    free(out);
    /* not length-delimited, or an empty signature */
    strip_is(msg, sizeof msg, 1, SCSMS_ECORRUPT);
    strip_is(msg, sizeof msg, 3, SCSMS_ECORRUPT);
    static const uint8_t empty[] = {0x08, 0x01, 0x4a, 0x00};
    strip_is(empty, sizeof empty, 9, SCSMS_ECORRUPT);
    strip_is(empty, sizeof empty, 2, 0);
}
END_TEST

START_TEST(duplicate_field_is_corrupt)
{
    static const uint8_t twice[] = {0x12, 0x01, 'a', 0x08, 0x01, 0x12, 0x01, 'b'};
    find_is(twice, sizeof twice, 2, SCSMS_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "field 2 appears twice"));
    strip_is(twice, sizeof twice, 2, SCSMS_ECORRUPT);
    /* another field twice is none of their business */
    static const uint8_t other[] = {0x08, 0x01, 0x08, 0x02, 0x12, 0x01, 'a'};
    const uint8_t *out;
    size_t n;
    ck_assert_int_eq(seal_find_field(other, sizeof other, 2, &out, &n), 0);
    ck_assert_ptr_eq(out, other + 6);
    strip_is(other, sizeof other, 2, 0);
}
END_TEST

START_TEST(truncated_bytes_are_corrupt)
{
    static const struct {
        uint8_t b[12];
        size_t len;
    } bad[] = {
        {{0x96}, 1},                   /* tag varint cut */
        {{0x08}, 1},                   /* varint value missing */
        {{0x08, 0x96}, 2},             /* varint value cut */
        {{0x12}, 1},                   /* length missing */
        {{0x12, 0x80}, 2},             /* length varint cut */
        {{0x12, 0x05, 'a', 'b'}, 4},   /* value shorter than its length */
        {{0x1d, 0x01, 0x02, 0x03}, 4}, /* fixed32 cut */
        {{0x21, 1, 2, 3, 4, 5, 6, 7}, 8}, /* fixed64 cut */
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 12},
        {{0x02, 0x00}, 2},             /* field number 0 */
        {{0x12, 0x01, 'a', 0x12}, 4},  /* good field, then a cut one */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        find_is(bad[i].b, bad[i].len, 2, SCSMS_ECORRUPT);
        find_is(bad[i].b, bad[i].len, 7, SCSMS_ECORRUPT);
        strip_is(bad[i].b, bad[i].len, 2, SCSMS_ECORRUPT);
        strip_is(bad[i].b, bad[i].len, 7, SCSMS_ECORRUPT);
    }
    /* a length that would run past the end by a huge amount */
    static const uint8_t huge[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    find_is(huge, sizeof huge, 2, SCSMS_ECORRUPT);
    strip_is(huge, sizeof huge, 2, SCSMS_ECORRUPT);
}
END_TEST

START_TEST(group_and_unknown_wire_types_are_corrupt)
{
    for (uint8_t wt = 3; wt <= 7; wt++) {
        if (wt == 5)
            continue; /* fixed32: valid */
        uint8_t m[] = {0x12, 0x01, 'a', (uint8_t)((1u << 3) | wt), 0x00, 0x00, 0x00, 0x00};
        find_is(m, sizeof m, 2, SCSMS_ECORRUPT);
        strip_is(m, sizeof m, 2, SCSMS_ECORRUPT);
        strip_is(m, sizeof m, 1, SCSMS_ECORRUPT);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seal");
    TCase *t = tcase_create("seal");
    tcase_add_test(t, declaration_verifies_with_its_key_only);
    tcase_add_test(t, altered_content_does_not_verify);
    tcase_add_test(t, unsigned_declaration_is_refused);
    tcase_add_test(t, unsealed_types_pass_and_cannot_be_signed);
    tcase_add_test(t, head_office_seals_round_trip);
    tcase_add_test(t, envelope_is_outside_the_seal);
    tcase_add_test(t, a_second_body_is_refused);
    tcase_add_test(t, a_declaration_seal_is_not_a_review_seal);
    tcase_add_test(t, a_tombstone_excuses_only_an_empty_body);
    suite_add_tcase(s, t);
    TCase *w = tcase_create("wire");
    tcase_add_test(w, find_field_gives_the_exact_value);
    tcase_add_test(w, strip_field_removes_exactly_its_bytes);
    tcase_add_test(w, duplicate_field_is_corrupt);
    tcase_add_test(w, truncated_bytes_are_corrupt);
    tcase_add_test(w, group_and_unknown_wire_types_are_corrupt);
    suite_add_tcase(s, w);
    return tu_run_suite(s);
}

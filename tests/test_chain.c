/* test_chain.c -- Check suite for common/chain.{h,c}: the signed note, log
 * entry decoding and signed checkpoints. */
#include "chain.h"
#include "crypto.h"
#include "error.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define SIGNED_AT "2026-11-20T06:15:00Z"

static void fill_head(uint8_t head[CRYPTO_HASH_LEN])
{
    for (int i = 0; i < CRYPTO_HASH_LEN; i++)
        head[i] = (uint8_t)(0xa0 + i);
}

static crypto_key_t *new_key(uint8_t pub[CRYPTO_PUB_LEN])
{
    crypto_key_t *key = NULL;
    ck_assert_int_eq(crypto_key_generate(&key), 0);
    crypto_key_public(key, pub);
    return key;
}

/* Pack a checkpoint message into a malloc'd buffer. */
static uint8_t *pack_checkpoint(const Scsms__Checkpoint *cp, size_t *len)
{
    *len = scsms__checkpoint__get_packed_size(cp);
    uint8_t *buf = malloc(*len ? *len : 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(scsms__checkpoint__pack(cp, buf), *len);
    return buf;
}

static uint8_t *pack_entry(const Scsms__LogEntry *e, size_t *len)
{
    *len = scsms__log_entry__get_packed_size(e);
    uint8_t *buf = malloc(*len ? *len : 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(scsms__log_entry__pack(e, buf), *len);
    return buf;
}

/* Assert chain_checkpoint_check(pub, bytes) fails with want, with the
 * message containing text (when not NULL) and nothing handed out. */
static void check_fails(const uint8_t pub[CRYPTO_PUB_LEN], const uint8_t *bytes, size_t len,
                        int want, const char *text)
{
    Scsms__Checkpoint *cp = NULL;
    scsms_errclear();
    int rc = chain_checkpoint_check(pub, bytes, len, &cp);
    ck_assert_msg(rc == want, "checkpoint check gave %d (%s), want %d", rc, scsms_errmsg(),
                  want);
    ck_assert_ptr_null(cp);
    if (text)
        ck_assert_msg(strstr(scsms_errmsg(), text) != NULL, "message '%s' lacks '%s'",
                      scsms_errmsg(), text);
}

static void entry_fails(const uint8_t *bytes, size_t len, const char *text)
{
    Scsms__LogEntry *e = NULL;
    scsms_errclear();
    int rc = chain_entry_decode(bytes, len, &e);
    ck_assert_msg(rc == SCSMS_ECORRUPT, "entry decode gave %d (%s), want ECORRUPT", rc,
                  scsms_errmsg());
    ck_assert_ptr_null(e);
    if (text)
        ck_assert_msg(strstr(scsms_errmsg(), text) != NULL, "message '%s' lacks '%s'",
                      scsms_errmsg(), text);
}

START_TEST(note_format)
{
    uint8_t head[CRYPTO_HASH_LEN];
    char buf[CHAIN_NOTE_MAX];
    for (int i = 0; i < CRYPTO_HASH_LEN; i++)
        head[i] = (uint8_t)i;
    static const char want[] = "scsms-checkpoint/v1\nsite-a\n42\n"
                               "000102030405060708090a0b0c0d0e0f"
                               "101112131415161718191a1b1c1d1e1f\n";
    size_t n = chain_note("site-a", 42, head, buf);
    ck_assert_uint_eq(n, sizeof want - 1);
    ck_assert_str_eq(buf, want);

    memset(head, 0xff, sizeof head);
    static const char want_max[] = "scsms-checkpoint/v1\nhq\n18446744073709551615\n"
                                   "ffffffffffffffffffffffffffffffff"
                                   "ffffffffffffffffffffffffffffffff\n";
    n = chain_note("hq", UINT64_MAX, head, buf);
    ck_assert_uint_eq(n, sizeof want_max - 1);
    ck_assert_str_eq(buf, want_max);

    /* an owner that would not fit: 0, never a truncated note */
    char owner[CHAIN_NOTE_MAX];
    memset(owner, 'o', sizeof owner - 1);
    owner[sizeof owner - 1] = '\0';
    ck_assert_uint_eq(chain_note(owner, 1, head, buf), 0);
    /* the longest owner that fits: 20 + owner + 1 + 20 + 1 + 64 + 1 < 256 */
    size_t fits = CHAIN_NOTE_MAX - 1 - (20 + 1 + 20 + 1 + 64 + 1);
    owner[fits] = '\0';
    n = chain_note(owner, UINT64_MAX, head, buf);
    ck_assert_uint_eq(n, CHAIN_NOTE_MAX - 1);
    ck_assert_uint_eq(strlen(buf), n);
    owner[fits] = 'o';
    owner[fits + 1] = '\0';
    ck_assert_uint_eq(chain_note(owner, UINT64_MAX, head, buf), 0);

    /* the store head's note: the same shape, its own first line */
    static const char want_heads[] = "scsms-store-head/v1\nHQ\n1001\n"
                                     "ffffffffffffffffffffffffffffffff"
                                     "ffffffffffffffffffffffffffffffff\n";
    n = chain_heads_note("HQ", 1001, head, buf);
    ck_assert_uint_eq(n, sizeof want_heads - 1);
    ck_assert_str_eq(buf, want_heads);
    ck_assert_uint_eq(chain_heads_note(owner, UINT64_MAX, head, buf), 0); /* too long, as above */
}
END_TEST

START_TEST(entry_hash)
{
    uint8_t a[CRYPTO_HASH_LEN], b[CRYPTO_HASH_LEN];
    chain_entry_hash((const uint8_t *)"abc", 3, a);
    crypto_sha256("abc", 3, b);
    ck_assert_mem_eq(a, b, sizeof a);
    char hex[2 * CRYPTO_HASH_LEN + 1];
    crypto_hex(a, sizeof a, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(checkpoint_round_trip)
{
    uint8_t pub[CRYPTO_PUB_LEN], head[CRYPTO_HASH_LEN];
    crypto_key_t *key = new_key(pub);
    uint8_t *bytes = NULL;
    size_t len = 0;
    fill_head(head);

    ck_assert_int_eq(chain_checkpoint_make(key, "site-a", 7, head, SIGNED_AT, &bytes, &len), 0);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_gt(len, 0);

    Scsms__Checkpoint *cp = NULL;
    ck_assert_int_eq(chain_checkpoint_check(pub, bytes, len, &cp), 0);
    ck_assert_ptr_nonnull(cp);
    ck_assert_str_eq(cp->owner, "site-a");
    ck_assert_uint_eq(cp->seq, 7);
    ck_assert_uint_eq(cp->head_hash.len, CRYPTO_HASH_LEN);
    ck_assert_mem_eq(cp->head_hash.data, head, CRYPTO_HASH_LEN);
    ck_assert_str_eq(cp->signed_at, SIGNED_AT);
    ck_assert_uint_eq(cp->signature.len, CRYPTO_SIG_LEN);

    /* it names that entry of that log with that head, and no other */
    ck_assert_int_eq(chain_checkpoint_names(cp, "site-a", 7, head), 1);
    ck_assert_int_eq(chain_checkpoint_names(cp, "site-b", 7, head), 0);
    ck_assert_int_eq(chain_checkpoint_names(cp, "site-a", 8, head), 0);
    head[CRYPTO_HASH_LEN - 1] ^= 1;
    ck_assert_int_eq(chain_checkpoint_names(cp, "site-a", 7, head), 0);
    head[CRYPTO_HASH_LEN - 1] ^= 1;

    /* the signature is over the documented note, checkable without chain.c */
    char note[CHAIN_NOTE_MAX];
    size_t nlen = chain_note("site-a", 7, head, note);
    ck_assert_int_eq(crypto_verify(pub, note, nlen, cp->signature.data, cp->signature.len), 0);
    scsms__checkpoint__free_unpacked(cp, NULL);

    /* an owner too long for a note is refused */
    char owner[CHAIN_NOTE_MAX + 1];
    memset(owner, 'o', sizeof owner - 1);
    owner[sizeof owner - 1] = '\0';
    uint8_t *none = NULL;
    size_t none_len = 0;
    ck_assert_int_eq(chain_checkpoint_make(key, owner, 7, head, SIGNED_AT, &none, &none_len),
                     SCSMS_EINVAL);
    ck_assert_ptr_null(none);

    free(bytes);
    crypto_key_destroy(&key);
}
END_TEST

START_TEST(checkpoint_tampered)
{
    uint8_t pub[CRYPTO_PUB_LEN], other_pub[CRYPTO_PUB_LEN], head[CRYPTO_HASH_LEN];
    crypto_key_t *key = new_key(pub), *other = new_key(other_pub);
    uint8_t *bytes = NULL, *mod;
    size_t len = 0, mlen;
    fill_head(head);
    ck_assert_int_eq(chain_checkpoint_make(key, "site-a", 7, head, SIGNED_AT, &bytes, &len), 0);

    /* another owner's key */
    check_fails(other_pub, bytes, len, SCSMS_ETAMPER, "does not verify");

    Scsms__Checkpoint *cp = scsms__checkpoint__unpack(NULL, len, bytes);
    ck_assert_ptr_nonnull(cp);

    /* sanity: re-packing the untouched message still verifies */
    mod = pack_checkpoint(cp, &mlen);
    Scsms__Checkpoint *ok = NULL;
    ck_assert_int_eq(chain_checkpoint_check(pub, mod, mlen, &ok), 0);
    scsms__checkpoint__free_unpacked(ok, NULL);
    free(mod);

    /* each signature byte flipped */
    for (size_t i = 0; i < CRYPTO_SIG_LEN; i++) {
        cp->signature.data[i] ^= 0x01;
        mod = pack_checkpoint(cp, &mlen);
        check_fails(pub, mod, mlen, SCSMS_ETAMPER, "site-a at 7 does not verify");
        free(mod);
        cp->signature.data[i] ^= 0x01;
    }

    /* a later or earlier seq */
    cp->seq = 8;
    mod = pack_checkpoint(cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ETAMPER, "site-a at 8 does not verify");
    free(mod);
    cp->seq = 6;
    mod = pack_checkpoint(cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ETAMPER, NULL);
    free(mod);
    cp->seq = 7;

    /* each head byte changed */
    for (size_t i = 0; i < CRYPTO_HASH_LEN; i++) {
        cp->head_hash.data[i] ^= 0x40;
        mod = pack_checkpoint(cp, &mlen);
        check_fails(pub, mod, mlen, SCSMS_ETAMPER, NULL);
        free(mod);
        cp->head_hash.data[i] ^= 0x40;
    }

    /* another owner's name */
    char *owner = cp->owner;
    cp->owner = "site-b";
    mod = pack_checkpoint(cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ETAMPER, "site-b");
    free(mod);
    cp->owner = owner;

    /* signature of the wrong length */
    size_t siglen = cp->signature.len;
    cp->signature.len = CRYPTO_SIG_LEN - 1;
    mod = pack_checkpoint(cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ETAMPER, NULL);
    free(mod);
    cp->signature.len = 0;
    mod = pack_checkpoint(cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ETAMPER, NULL);
    free(mod);
    cp->signature.len = siglen;

    scsms__checkpoint__free_unpacked(cp, NULL);
    free(bytes);
    crypto_key_destroy(&other);
    crypto_key_destroy(&key);
}
END_TEST

START_TEST(checkpoint_corrupt)
{
    uint8_t pub[CRYPTO_PUB_LEN], head[CRYPTO_HASH_LEN], sig[CRYPTO_SIG_LEN];
    crypto_key_t *key = new_key(pub);
    uint8_t *bytes = NULL, *mod;
    size_t len = 0, mlen;
    fill_head(head);
    ck_assert_int_eq(chain_checkpoint_make(key, "site-a", 7, head, SIGNED_AT, &bytes, &len), 0);

    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x13, 0x37};
    check_fails(pub, garbage, sizeof garbage, SCSMS_ECORRUPT, "do not decode");

    /* cut inside signed_at (the last field) and inside the signature */
    check_fails(pub, bytes, len - 1, SCSMS_ECORRUPT, NULL);
    size_t sig_cut = len - (2 + sizeof SIGNED_AT - 1) - CRYPTO_SIG_LEN / 2;
    check_fails(pub, bytes, sig_cut, SCSMS_ECORRUPT, NULL);
    check_fails(pub, bytes, 3, SCSMS_ECORRUPT, NULL);
    /* nothing at all decodes as an empty checkpoint, which is malformed */
    check_fails(pub, bytes, 0, SCSMS_ECORRUPT, "malformed");

    /* oversized input */
    uint8_t *big = calloc(1, 4097);
    ck_assert_ptr_nonnull(big);
    check_fails(pub, big, 4097, SCSMS_ECORRUPT, "too large");
    free(big);

    /* well-formed protobuf, malformed checkpoint: a 31-byte head is refused
     * for its shape (ECORRUPT), not reported as a bad signature */
    memset(sig, 0x5a, sizeof sig);
    Scsms__Checkpoint cp = SCSMS__CHECKPOINT__INIT;
    cp.owner = "site-a";
    cp.seq = 7;
    cp.head_hash.data = head;
    cp.head_hash.len = CRYPTO_HASH_LEN - 1;
    cp.signature.data = sig;
    cp.signature.len = sizeof sig;
    cp.signed_at = SIGNED_AT;
    mod = pack_checkpoint(&cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ECORRUPT, "malformed");
    free(mod);
    cp.head_hash.len = CRYPTO_HASH_LEN + 1;
    uint8_t head33[CRYPTO_HASH_LEN + 1] = {0};
    cp.head_hash.data = head33;
    mod = pack_checkpoint(&cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ECORRUPT, "malformed");
    free(mod);
    cp.head_hash.data = head;
    cp.head_hash.len = CRYPTO_HASH_LEN;

    /* seq 0 and an empty owner, each correctly signed */
    char note[CHAIN_NOTE_MAX];
    size_t nlen = chain_note("site-a", 0, head, note);
    ck_assert_int_eq(crypto_sign(key, note, nlen, sig), 0);
    cp.seq = 0;
    mod = pack_checkpoint(&cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ECORRUPT, "malformed");
    free(mod);
    cp.seq = 7;
    nlen = chain_note("", 7, head, note);
    ck_assert_int_eq(crypto_sign(key, note, nlen, sig), 0);
    cp.owner = "";
    mod = pack_checkpoint(&cp, &mlen);
    check_fails(pub, mod, mlen, SCSMS_ECORRUPT, "malformed");
    free(mod);

    free(bytes);
    crypto_key_destroy(&key);
}
END_TEST

START_TEST(entry_decode)
{
    uint8_t prev[CRYPTO_HASH_LEN + 1] = {0}, record[] = {0x0a, 0x03, 'a', 'b', 'c'};
    Scsms__LogEntry e = SCSMS__LOG_ENTRY__INIT;
    e.owner = "site-a";
    e.seq = 1;
    e.prev_hash.data = prev;
    e.prev_hash.len = CRYPTO_HASH_LEN;
    e.record.data = record;
    e.record.len = sizeof record;

    size_t len;
    uint8_t *bytes = pack_entry(&e, &len);
    Scsms__LogEntry *out = NULL;
    ck_assert_int_eq(chain_entry_decode(bytes, len, &out), 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out->owner, "site-a");
    ck_assert_uint_eq(out->seq, 1);
    ck_assert_uint_eq(out->prev_hash.len, CRYPTO_HASH_LEN);
    ck_assert_mem_eq(out->prev_hash.data, prev, CRYPTO_HASH_LEN);
    ck_assert_uint_eq(out->record.len, sizeof record);
    ck_assert_mem_eq(out->record.data, record, sizeof record);
    scsms__log_entry__free_unpacked(out, NULL);
    free(bytes);

    /* a later entry with a real previous hash */
    e.seq = 123456789012ULL;
    chain_entry_hash(record, sizeof record, prev);
    bytes = pack_entry(&e, &len);
    out = NULL;
    ck_assert_int_eq(chain_entry_decode(bytes, len, &out), 0);
    ck_assert_uint_eq(out->seq, 123456789012ULL);
    ck_assert_mem_eq(out->prev_hash.data, prev, CRYPTO_HASH_LEN);
    scsms__log_entry__free_unpacked(out, NULL);
    free(bytes);
    e.seq = 1;
}
END_TEST

START_TEST(entry_malformed)
{
    uint8_t prev[CRYPTO_HASH_LEN + 1] = {0}, record[] = {0x0a, 0x03, 'a', 'b', 'c'};
    Scsms__LogEntry e = SCSMS__LOG_ENTRY__INIT;
    e.owner = "site-a";
    e.seq = 1;
    e.prev_hash.data = prev;
    e.prev_hash.len = CRYPTO_HASH_LEN;
    e.record.data = record;
    e.record.len = sizeof record;
    uint8_t *bytes;
    size_t len;

    e.seq = 0;
    bytes = pack_entry(&e, &len);
    entry_fails(bytes, len, "sequence 0");
    free(bytes);
    e.seq = 1;

    e.owner = "";
    bytes = pack_entry(&e, &len);
    entry_fails(bytes, len, "owner");
    free(bytes);
    char long_owner[130];
    memset(long_owner, 'o', sizeof long_owner - 1);
    long_owner[sizeof long_owner - 1] = '\0';
    e.owner = long_owner;
    bytes = pack_entry(&e, &len);
    entry_fails(bytes, len, "owner");
    free(bytes);
    e.owner = "site-a";

    e.prev_hash.len = CRYPTO_HASH_LEN - 1;
    bytes = pack_entry(&e, &len);
    entry_fails(bytes, len, "previous hash");
    free(bytes);
    e.prev_hash.len = CRYPTO_HASH_LEN + 1;
    bytes = pack_entry(&e, &len);
    entry_fails(bytes, len, "previous hash");
    free(bytes);
    e.prev_hash.len = 0;
    bytes = pack_entry(&e, &len);
    entry_fails(bytes, len, "previous hash");
    free(bytes);
    e.prev_hash.len = CRYPTO_HASH_LEN;

    e.record.len = 0;
    bytes = pack_entry(&e, &len);
    entry_fails(bytes, len, "record");
    free(bytes);
    e.record.len = sizeof record;

    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x13, 0x37};
    entry_fails(garbage, sizeof garbage, "do not decode");

    /* truncated inside the record field */
    bytes = pack_entry(&e, &len);
    entry_fails(bytes, len - 1, NULL);
    entry_fails(bytes, 0, NULL);
    free(bytes);

    /* over the size limit, before any decoding */
    uint8_t *big = calloc(1, CHAIN_ENTRY_MAX + 1);
    ck_assert_ptr_nonnull(big);
    entry_fails(big, CHAIN_ENTRY_MAX + 1, "exceeds the limit");
    free(big);
}
END_TEST

static Suite *chain_suite(void)
{
    Suite *s = suite_create("chain");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, note_format);
    tcase_add_test(tc, entry_hash);
    tcase_add_test(tc, checkpoint_round_trip);
    tcase_add_test(tc, checkpoint_tampered);
    tcase_add_test(tc, checkpoint_corrupt);
    tcase_add_test(tc, entry_decode);
    tcase_add_test(tc, entry_malformed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(chain_suite());
}

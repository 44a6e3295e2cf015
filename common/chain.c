/* chain.c -- log entries and signed checkpoints; see chain.h. */
#include "chain.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chain_entry_hash(const uint8_t *bytes, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
    crypto_sha256(bytes, len, out);
}

/* A note signed over one 32-byte hash: "scsms-KIND/v1\n" owner "\n" n
 * "\n" hex(hash) "\n". Its length, or 0 if it does not fit. */
static size_t signed_note(const char *kind, const char *owner, uint64_t n,
                          const uint8_t hash[CRYPTO_HASH_LEN], char buf[CHAIN_NOTE_MAX])
{
    char hex[2 * CRYPTO_HASH_LEN + 1];
    crypto_hex(hash, CRYPTO_HASH_LEN, hex);
    int len = snprintf(buf, CHAIN_NOTE_MAX, "scsms-%s/v1\n%s\n%llu\n%s\n", kind, owner,
                       (unsigned long long)n, hex);
    return len > 0 && len < CHAIN_NOTE_MAX ? (size_t)len : 0;
}

size_t chain_note(const char *owner, uint64_t seq, const uint8_t head[CRYPTO_HASH_LEN],
                  char buf[CHAIN_NOTE_MAX])
{
    return signed_note("checkpoint", owner, seq, head, buf);
}

size_t chain_heads_note(const char *owner, uint64_t logs, const uint8_t digest[CRYPTO_HASH_LEN],
                        char buf[CHAIN_NOTE_MAX])
{
    return signed_note("store-head", owner, logs, digest, buf);
}

int chain_entry_decode(const uint8_t *bytes, size_t len, Scsms__LogEntry **out)
{
    return chain_entry_decode_with(NULL, bytes, len, out);
}

int chain_entry_decode_with(ProtobufCAllocator *with, const uint8_t *bytes, size_t len,
                            Scsms__LogEntry **out)
{
    if (len > CHAIN_ENTRY_MAX)
        return scsms_fail(SCSMS_ECORRUPT, "log entry of %zu bytes exceeds the limit", len);
    Scsms__LogEntry *e = scsms__log_entry__unpack(with, len, bytes);
    if (!e)
        return scsms_fail(SCSMS_ECORRUPT, "bytes do not decode as a log entry");
    const char *why = NULL;
    if (!e->owner[0] || strlen(e->owner) > RECORD_MAX_ID)
        why = "owner missing or too long";
    else if (e->seq == 0)
        why = "sequence 0";
    else if (e->prev_hash.len != CRYPTO_HASH_LEN)
        why = "previous hash is not 32 bytes";
    else if (e->record.len == 0 || e->record.len > RECORD_MAX_BYTES)
        why = "record missing or too large";
    if (why) {
        scsms__log_entry__free_unpacked(e, with);
        return scsms_fail(SCSMS_ECORRUPT, "malformed log entry: %s", why);
    }
    *out = e;
    return 0;
}

int chain_checkpoint_make(const crypto_key_t *key, const char *owner, uint64_t seq,
                          const uint8_t head[CRYPTO_HASH_LEN], const char *signed_at,
                          uint8_t **out, size_t *out_len)
{
    char note[CHAIN_NOTE_MAX];
    uint8_t sig[CRYPTO_SIG_LEN], h[CRYPTO_HASH_LEN];
    size_t nlen = chain_note(owner, seq, head, note);
    if (nlen == 0)
        return scsms_fail(SCSMS_EINVAL, "owner name too long for a checkpoint");
    int rc = crypto_sign(key, note, nlen, sig);
    if (rc)
        return rc;
    memcpy(h, head, sizeof h);
    Scsms__Checkpoint cp = SCSMS__CHECKPOINT__INIT;
    cp.owner = (char *)owner;
    cp.seq = seq;
    cp.head_hash.data = h;
    cp.head_hash.len = sizeof h;
    cp.signature.data = sig;
    cp.signature.len = sizeof sig;
    cp.signed_at = (char *)signed_at;
    size_t len = scsms__checkpoint__get_packed_size(&cp);
    uint8_t *buf = malloc(len);
    if (!buf)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    scsms__checkpoint__pack(&cp, buf);
    *out = buf;
    *out_len = len;
    return 0;
}

int chain_checkpoint_names(const Scsms__Checkpoint *cp, const char *owner, uint64_t seq,
                           const uint8_t head[CRYPTO_HASH_LEN])
{
    /* the decoder let no other length through: checked again, as cheap */
    return cp->seq == seq && strcmp(cp->owner, owner) == 0 &&
           cp->head_hash.len == CRYPTO_HASH_LEN &&
           memcmp(cp->head_hash.data, head, CRYPTO_HASH_LEN) == 0;
}

int chain_checkpoint_check(const uint8_t pub[CRYPTO_PUB_LEN], const uint8_t *bytes,
                           size_t len, Scsms__Checkpoint **out)
{
    char note[CHAIN_NOTE_MAX];
    if (len > 4096)
        return scsms_fail(SCSMS_ECORRUPT, "checkpoint of %zu bytes is too large", len);
    Scsms__Checkpoint *cp = scsms__checkpoint__unpack(NULL, len, bytes);
    if (!cp)
        return scsms_fail(SCSMS_ECORRUPT, "bytes do not decode as a checkpoint");
    size_t nlen = 0;
    if (cp->head_hash.len == CRYPTO_HASH_LEN && cp->seq > 0 && cp->owner[0])
        nlen = chain_note(cp->owner, cp->seq, cp->head_hash.data, note);
    if (nlen == 0) {
        scsms__checkpoint__free_unpacked(cp, NULL);
        return scsms_fail(SCSMS_ECORRUPT, "malformed checkpoint");
    }
    int rc = crypto_verify(pub, note, nlen, cp->signature.data, cp->signature.len);
    if (rc) {
        /* format before freeing: the message quotes the decoded owner */
        rc = scsms_fail(rc, "checkpoint signature of %s at %llu does not verify", cp->owner,
                        (unsigned long long)cp->seq);
        scsms__checkpoint__free_unpacked(cp, NULL);
        return rc;
    }
    *out = cp;
    return 0;
}

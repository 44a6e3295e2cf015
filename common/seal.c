/* seal.c -- records that carry their own signature; see seal.h. */
#include "seal.h"

#include <stdlib.h>
#include <string.h>

#define SEAL_CONTEXT "scsms-seal/v1\n"

/* The sealed types and their signature fields are the record-type table's
 * (record.h, sig_field). */
static const struct record_type *sealed_of(const Scsms__Record *rec)
{
    const struct record_type *t = record_type_of(rec);
    return t && t->sig_field ? t : NULL;
}

int seal_is_sealed(const Scsms__Record *rec)
{
    return sealed_of(rec) != NULL;
}

/* ------------------------------------------------------------ wire level */

/* A varint at *p (below end): its value, and *p moved past it. -1 when
 * truncated or longer than ten bytes. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* One field at *p: its number, wire type, where it starts (tag included)
 * and where its value lies; *p moved past it. -1 when malformed. */
struct wire_field {
    uint32_t number;
    const uint8_t *start, *val;
    size_t val_len;
    int delimited;
};

static int next_field(const uint8_t **p, const uint8_t *end, struct wire_field *f)
{
    uint64_t tag, n;
    f->start = *p;
    if (read_varint(p, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > 536870911u)
        return -1;
    f->number = (uint32_t)(tag >> 3);
    f->delimited = 0;
    f->val = *p;
    switch (tag & 7) {
    case 0: /* varint */
        if (read_varint(p, end, &n))
            return -1;
        break;
    case 1: /* 64-bit */
        if (end - *p < 8)
            return -1;
        *p += 8;
        break;
    case 2: /* length-delimited */
        if (read_varint(p, end, &n) || n > (uint64_t)(end - *p))
            return -1;
        f->val = *p;
        f->delimited = 1;
        *p += n;
        break;
    case 5: /* 32-bit */
        if (end - *p < 4)
            return -1;
        *p += 4;
        break;
    default: /* groups (3, 4) are not used by this schema; 6 and 7 do not exist */
        return -1;
    }
    f->val_len = (size_t)(*p - f->val);
    return 0;
}

int seal_find_field(const uint8_t *msg, size_t len, uint32_t field, const uint8_t **out,
                    size_t *out_len)
{
    const uint8_t *p = msg, *end = msg + len;
    int found = 0;
    while (p < end) {
        struct wire_field f;
        if (next_field(&p, end, &f))
            return scsms_fail(SCSMS_ECORRUPT, "malformed protobuf bytes");
        if (f.number != field)
            continue;
        if (found || !f.delimited)
            return scsms_fail(SCSMS_ECORRUPT, "field %u appears twice or is not a message",
                              field);
        found = 1;
        *out = f.val;
        *out_len = f.val_len;
    }
    return found ? 0 : scsms_fail(SCSMS_ENOTFOUND, "no field %u", field);
}

int seal_strip_field(const uint8_t *msg, size_t len, uint32_t field, uint8_t **out,
                     size_t *out_len, const uint8_t **val, size_t *val_len)
{
    const uint8_t *p = msg, *end = msg + len;
    uint8_t *buf = malloc(len ? len : 1);
    size_t n = 0;
    *val = NULL;
    *val_len = 0;
    if (!buf)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    while (p < end) {
        struct wire_field f;
        if (next_field(&p, end, &f))
            goto corrupt;
        if (f.number != field) {
            memcpy(buf + n, f.start, (size_t)(p - f.start));
            n += (size_t)(p - f.start);
            continue;
        }
        if (*val || !f.delimited)
            goto corrupt;
        *val = f.val;
        *val_len = f.val_len;
        if (!f.val_len) /* an empty signature: never written by protobuf-c */
            goto corrupt;
    }
    *out = buf;
    *out_len = n;
    return 0;
corrupt:
    free(buf);
    *val = NULL;
    *val_len = 0;
    return scsms_fail(SCSMS_ECORRUPT, "malformed protobuf bytes, or field %u twice", field);
}

/* ------------------------------------------------------------ signing */

/* "scsms-seal/v1\n" TYPE "\n" BODY in one malloc'd buffer. */
static uint8_t *seal_message(const char *type, const uint8_t *body, size_t len, size_t *out_len)
{
    size_t cl = strlen(SEAL_CONTEXT), tl = strlen(type);
    uint8_t *m = malloc(cl + tl + 1 + len);
    if (!m)
        return NULL;
    memcpy(m, SEAL_CONTEXT, cl);
    memcpy(m + cl, type, tl);
    m[cl + tl] = '\n';
    if (len)
        memcpy(m + cl + tl + 1, body, len);
    *out_len = cl + tl + 1 + len;
    return m;
}

static ProtobufCBinaryData *sig_slot(ProtobufCMessage *body, const struct record_type *st)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(body->descriptor, st->sig_field);
    return f ? (ProtobufCBinaryData *)((char *)body + f->offset) : NULL;
}

int seal_record_sign(Scsms__Record *rec, const crypto_key_t *key)
{
    const struct record_type *st = sealed_of(rec);
    const struct record_type *t = record_type_of(rec);
    ProtobufCMessage *body = st ? record_body(rec) : NULL;
    ProtobufCBinaryData *sig = body ? sig_slot(body, st) : NULL;
    uint8_t *packed = NULL, *msg = NULL, *out = NULL;
    size_t mlen;
    int rc;
    if (!sig || !t)
        return scsms_fail(SCSMS_EINVAL, "records of this type are not sealed");
    free(sig->data); /* the records scsms handles own their bytes (record.h) */
    sig->data = NULL;
    sig->len = 0;
    size_t plen = protobuf_c_message_get_packed_size(body);
    if (!(packed = malloc(plen ? plen : 1)) || !(out = malloc(CRYPTO_SIG_LEN))) {
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
        goto fail;
    }
    protobuf_c_message_pack(body, packed);
    if (!(msg = seal_message(t->name, packed, plen, &mlen))) {
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = crypto_sign(key, msg, mlen, out)))
        goto fail;
    sig->data = out;
    sig->len = CRYPTO_SIG_LEN;
    out = NULL;
fail:
    free(out);
    free(msg);
    free(packed);
    return rc;
}

int seal_check(const Scsms__Record *rec, const uint8_t *bytes, size_t len,
               const uint8_t pub[CRYPTO_PUB_LEN])
{
    const struct record_type *st = sealed_of(rec);
    const struct record_type *t = record_type_of(rec);
    const uint8_t *body, *sig;
    uint8_t *stripped = NULL, *msg = NULL;
    size_t blen, slen, siglen, mlen;
    int rc;
    if (!st)
        return 0;
    if ((rc = seal_find_field(bytes, len, (uint32_t)rec->body_case, &body, &blen)))
        return rc;
    /* a tombstone keeps no content to seal; the status is in the envelope,
     * outside the seal, so it excuses only a body that is empty */
    if (record_is_tombstone(rec) && blen == 0)
        return 0;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
        record_body((Scsms__Record *)rec)->descriptor, st->sig_field);
    if ((rc = seal_strip_field(body, blen, f->id, &stripped, &slen, &sig, &siglen)))
        goto out;
    if (siglen != CRYPTO_SIG_LEN) {
        rc = scsms_fail(SCSMS_ETAMPER, "%s '%.128s' is not signed: its %s is missing", t->name,
                        rec->id, st->sig_field);
        goto out;
    }
    if (!(msg = seal_message(t->name, stripped, slen, &mlen))) {
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
        goto out;
    }
    if (crypto_verify(pub, msg, mlen, sig, siglen))
        rc = scsms_fail(SCSMS_ETAMPER, "%s '%.128s': %s does not match its bytes (altered, or "
                        "signed by another key)", t->name, rec->id, st->sig_field);
out:
    free(msg);
    free(stripped);
    return rc;
}

int seal_record_check(const uint8_t *bytes, size_t len, const uint8_t pub[CRYPTO_PUB_LEN])
{
    Scsms__Record *rec = NULL;
    int rc = record_unpack(bytes, len, &rec);
    if (rc == 0)
        rc = seal_check(rec, bytes, len, pub);
    record_free(rec);
    return rc;
}

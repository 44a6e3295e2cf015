/* fuzz_seal.c -- fuzz harness for the seal checker and its wire-level
 * helpers: every input is checked as a sealed record (seal_record_check(),
 * as head office checks what a partner sends and a partner what head
 * office sends), and read as a bare protobuf message whose field number is
 * the input's first byte (seal_find_field(), seal_strip_field()). The two
 * helpers must agree with each other; a disagreement aborts, so it shows
 * as a failure under ctest. */
#include "seal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The public half of a key made once when the seed corpus was written;
 * corpus/fuzz_seal/{declaration,credibility_review,management_review}.bin
 * are sealed by it, so mutations reach the signature check with seals
 * that verified before the mutation. Nothing is generated at run time. */
static const uint8_t seed_pub[CRYPTO_PUB_LEN] = {
    0xf0, 0x62, 0xe5, 0x11, 0x25, 0x9d, 0x1a, 0xc7, 0x67, 0x3f, 0xbc, 0x6f, 0x46, 0xbd, 0xb8, 0x25,
    0x45, 0xcd, 0x5c, 0x8f, 0xd6, 0xab, 0x72, 0x48, 0xf3, 0xaf, 0xea, 0x70, 0xb6, 0x26, 0xf5, 0xea,
};

static void wire(const uint8_t *msg, size_t len, uint32_t field)
{
    const uint8_t *found = NULL, *val = NULL;
    size_t found_len = 0, out_len = 0, val_len = 0;
    uint8_t *out = NULL;
    int frc = seal_find_field(msg, len, field, &found, &found_len);
    int src = seal_strip_field(msg, len, field, &out, &out_len, &val, &val_len);
    if (frc != 0 && frc != SCSMS_ENOTFOUND && frc != SCSMS_ECORRUPT)
        abort();
    if (src != 0 && src != SCSMS_ECORRUPT)
        abort();
    if (src) {
        /* refused: nothing handed out */
        if (val || val_len || frc == SCSMS_ENOTFOUND || (frc == 0 && found_len != 0))
            abort();
        return;
    }
    if (frc == SCSMS_ECORRUPT)
        abort();
    if (frc == SCSMS_ENOTFOUND) {
        /* absent: every byte kept, in order */
        if (val || val_len || out_len != len || (len && memcmp(out, msg, len) != 0))
            abort();
    } else {
        /* present once: the same value, and at least its bytes removed */
        if (val != found || val_len != found_len || !val_len || out_len + val_len + 2 > len)
            abort();
        if (val < msg || val + val_len > msg + len)
            abort();
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = seal_record_check(data, size, seed_pub);
    if (rc != 0 && rc != SCSMS_ETAMPER && rc != SCSMS_ECORRUPT)
        abort();
    if (size)
        wire(data + 1, size - 1, data[0]);
    /* the whole input as a message, looking for the declaration's body */
    wire(data, size, SCSMS__RECORD__BODY_DECLARATION);
    return 0;
}

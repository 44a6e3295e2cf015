/* fuzz_entry.c -- fuzz harness for the chain decoders: every input is read
 * both as a LogEntry (chain_entry_decode()) and as a signed Checkpoint
 * (chain_checkpoint_check()), as verify and a receiving head office would
 * read bytes from disk or the network. */
#include "chain.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The public half of a key made once when the seed corpus was written;
 * corpus/fuzz_entry/checkpoint_*.bin are signed by it, so mutations reach
 * the signature check with well-formed notes. Nothing is generated at run
 * time, so every run is the same. */
static const uint8_t seed_pub[CRYPTO_PUB_LEN] = {
    0xaf, 0xbf, 0x48, 0x55, 0x89, 0x4a, 0x20, 0x81, 0x3f, 0x7d, 0x61, 0xf3, 0x1e, 0xbb, 0xa9, 0x82,
    0x35, 0x07, 0x37, 0xa5, 0xce, 0x0f, 0x4b, 0xc2, 0xc5, 0xe2, 0x56, 0x6a, 0x9e, 0x4a, 0xa3, 0x68,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Scsms__LogEntry *entry = NULL;
    if (chain_entry_decode(data, size, &entry) == 0) {
        uint8_t hash[CRYPTO_HASH_LEN];
        chain_entry_hash(data, size, hash);
        scsms__log_entry__free_unpacked(entry, NULL);
    }
    Scsms__Checkpoint *cp = NULL;
    if (chain_checkpoint_check(seed_pub, data, size, &cp) == 0)
        scsms__checkpoint__free_unpacked(cp, NULL);
    return 0;
}

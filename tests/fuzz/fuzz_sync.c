/* fuzz_sync.c -- fuzz harness for the sync messages: the server decodes a
 * SyncRequest from any connected client, and an agent a SyncReply from the
 * server. Each input is read as both; an Upload's or a reply's entries go
 * through the checks ingest makes before it writes (sync_upload_precheck,
 * as head office's precheck thread runs it) and its checkpoint through the
 * signature check. */
#include "chain.h"
#include "record.h"
#include "sync.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key corpus/fuzz_entry's checkpoints are signed with (see
 * fuzz_entry.c), so well-formed seeds reach the signature check. */
static const uint8_t seed_pub[CRYPTO_PUB_LEN] = {
    0xaf, 0xbf, 0x48, 0x55, 0x89, 0x4a, 0x20, 0x81, 0x3f, 0x7d, 0x61, 0xf3, 0x1e, 0xbb, 0xa9, 0x82,
    0x35, 0x07, 0x37, 0xa5, 0xce, 0x0f, 0x4b, 0xc2, 0xc5, 0xe2, 0x56, 0x6a, 0x9e, 0x4a, 0xa3, 0x68,
};

static void check_batch(const ProtobufCBinaryData *entries, size_t n,
                        const ProtobufCBinaryData *cp)
{
    /* the checks head office makes ahead of the write, on its precheck
     * thread: every entry and record decoded into an arena and checked */
    struct sync_upload u = {.owner = "SITE-A", .entries = entries, .n = n};
    if (sync_upload_precheck(&u, STORE_ROLE_HQ) == 0) /* refusals are kept, not raised */
        sync_upload_clear(&u, 1);
    Scsms__Checkpoint *c = NULL;
    if (cp->len && chain_checkpoint_check(seed_pub, cp->data, cp->len, &c) == 0)
        scsms__checkpoint__free_unpacked(c, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Scsms__SyncRequest *req = scsms__sync_request__unpack(NULL, size, data);
    if (req) {
        if (req->msg_case == SCSMS__SYNC_REQUEST__MSG_UPLOAD && req->upload)
            check_batch(req->upload->entries, req->upload->n_entries, &req->upload->checkpoint);
        scsms__sync_request__free_unpacked(req, NULL);
    }
    Scsms__SyncReply *rep = scsms__sync_reply__unpack(NULL, size, data);
    if (rep) {
        check_batch(rep->entries, rep->n_entries, &rep->checkpoint);
        scsms__sync_reply__free_unpacked(rep, NULL);
    }
    return 0;
}

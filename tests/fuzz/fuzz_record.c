/* fuzz_record.c -- fuzz harness for record_unpack(): the bytes of a stored
 * or received record. A record that decodes is rendered as JSON (as
 * `scsms-agent show` would) and that JSON read back, before and after
 * record_validate(); nothing here may crash, leak or read out of bounds.
 *
 * One property is checked, and aborts when it fails: a record that
 * validated packs to bytes that decode, validate again and pack the same,
 * since the store keeps exactly those bytes and checks them on read. */
#include "jsonpb.h"
#include "record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read JSON text back as a record; any outcome is fine, only memory
 * safety counts (a decoded record may hold enum numbers JSON cannot name). */
static void read_back(const char *text)
{
    struct json_object *obj = NULL;
    Scsms__Record *rec = NULL;
    if (jsonpb_parse(text, strlen(text), &obj) == 0 && jsonpb_to_record(obj, NULL, &rec) == 0)
        record_free(rec);
    json_object_put(obj);
}

static void render(const Scsms__Record *rec)
{
    struct json_object *obj = jsonpb_from_record(rec);
    if (obj)
        read_back(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
    json_object_put(obj);
}

static uint8_t *pack(const Scsms__Record *rec, size_t *len)
{
    *len = scsms__record__get_packed_size(rec);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf && scsms__record__pack(rec, buf) != *len)
        abort();
    return buf;
}

/* rec has just been validated. */
static void check_stored(const Scsms__Record *rec)
{
    size_t len, len2;
    uint8_t *buf = pack(rec, &len), *buf2 = NULL;
    Scsms__Record *again = NULL;
    if (!buf)
        return;
    if (record_unpack(buf, len, &again) != 0 || record_validate(again) != 0)
        abort();
    buf2 = pack(again, &len2);
    if (buf2 && (len2 != len || memcmp(buf, buf2, len) != 0))
        abort();
    free(buf2);
    record_free(again);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Scsms__Record *rec = NULL;
    if (record_unpack(data, size, &rec) != 0)
        return 0;
    /* validation normalises in place, and a refused record may be left
     * half normalised: render it both before and after */
    render(rec);
    if (record_validate(rec) == 0) {
        int64_t day;
        (void)record_due_day(rec, &day);
        check_stored(rec);
    }
    render(rec);
    record_free(rec);
    return 0;
}

/* fuzz_json.c -- fuzz harness for the JSON a user gives (`scsms-agent add
 * --json`): jsonpb_parse(), jsonpb_to_record() with the type taken from the
 * text, record_validate(), then packing as the store would, and the same
 * object applied as an update (jsonpb_merge()).
 *
 * Beyond memory safety it checks what the store relies on, and aborts when
 * that fails: a record that validated packs to bytes that decode again,
 * are still valid, and that a second validation leaves unchanged; and its
 * JSON reads back as the same bytes. */
#include "jsonpb.h"
#include "record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Packed bytes of rec in a malloc'd buffer, or NULL when out of memory. */
static uint8_t *pack(const Scsms__Record *rec, size_t *len)
{
    *len = scsms__record__get_packed_size(rec);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf && scsms__record__pack(rec, buf) != *len)
        abort();
    return buf;
}

static void require_same(const uint8_t *a, size_t alen, const Scsms__Record *rec)
{
    size_t blen;
    uint8_t *b = pack(rec, &blen);
    if (b && (blen != alen || memcmp(a, b, alen) != 0))
        abort();
    free(b);
}

/* rec has just been validated. */
static void check_stored(const Scsms__Record *rec)
{
    size_t len;
    uint8_t *buf = pack(rec, &len);
    if (!buf)
        return;
    Scsms__Record *again = NULL;
    if (record_unpack(buf, len, &again) != 0 || record_validate(again) != 0)
        abort();
    require_same(buf, len, again);
    record_free(again);

    struct json_object *obj = jsonpb_from_record(rec), *back = NULL;
    const char *text = obj ? json_object_to_json_string(obj) : NULL;
    if (text) {
        again = NULL;
        if (jsonpb_parse(text, strlen(text), &back) != 0 ||
            jsonpb_to_record(back, NULL, &again) != 0)
            abort();
        require_same(buf, len, again);
        record_free(again);
    }
    json_object_put(back);
    json_object_put(obj);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_object *obj = NULL;
    Scsms__Record *rec = NULL;
    if (jsonpb_parse((const char *)data, size, &obj) != 0)
        return 0;
    if (jsonpb_to_record(obj, NULL, &rec) == 0) {
        if (record_validate(rec) == 0) {
            check_stored(rec);
            /* the same object as an update of the record it made */
            if (jsonpb_merge(obj, &rec) == 0 && record_validate(rec) == 0)
                check_stored(rec);
        }
        record_free(rec);
    }
    json_object_put(obj);
    return 0;
}

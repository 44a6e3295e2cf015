/* fuzz_record.c -- fuzz harness for record_unpack(): the bytes of a stored
 * or received record. A record that decodes is rendered as JSON (as
 * `scsms-agent show` would) and that JSON read back, before and after
 * record_validate(); nothing here may crash, leak or read out of bounds.
 *
 * Two properties are checked, and abort when they fail: a record that
 * validated packs to bytes that decode, validate again and pack the same,
 * since the store keeps exactly those bytes and checks them on read; and a
 * record decoded into an arena that record_check() accepts (as head office
 * takes one in) is one record_validate() accepts and leaves as it was,
 * but for the checks made only when a record is written (text, blank
 * required fields, finite numbers: record.h), which record_validate()
 * may refuse it for. */
#include "arena.h"
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

/* record_validate() refused rec for a check made only when a record is
 * written, not when one is taken in (record.h: record_check_text, a
 * required field of blanks, NaN or infinity): by their messages, which
 * test_record asserts. */
static int written_only(void)
{
    const char *m = scsms_errmsg();
    return strstr(m, "is not valid UTF-8 at byte") || strstr(m, "has a control character") ||
           strstr(m, "blanks alone say nothing") || strstr(m, "must be a finite number");
}

/* The bytes as head office receives them: decoded into an arena and
 * checked, never changed. What record_check accepts, record_validate
 * accepts without changing a byte of it (but for written_only()). */
static void check_received(const uint8_t *data, size_t size)
{
    struct arena ar = {0};
    Scsms__Record *rec = NULL;
    if (record_unpack_with(arena_allocator(&ar), data, size, &rec) == 0 && record_check(rec) == 0) {
        size_t len, len2;
        uint8_t *before = pack(rec, &len), *after = NULL;
        Scsms__Record *copy = NULL;
        if (before && record_unpack(before, len, &copy) != 0)
            abort();
        if (copy && record_validate(copy) != 0) {
            if (!written_only())
                abort();
            record_free(copy);
            copy = NULL;
        }
        if (copy && (after = pack(copy, &len2)) && (len2 != len || memcmp(before, after, len)))
            abort();
        free(after);
        free(before);
        record_free(copy);
    }
    arena_free(&ar);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_received(data, size);
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

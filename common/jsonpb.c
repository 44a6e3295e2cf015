/* jsonpb.c -- generic JSON <-> protobuf-c mapping; see jsonpb.h. */
#include "jsonpb.h"
#include "crypto.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int jsonpb_parse(const char *text, size_t len, struct json_object **out)
{
    if (len > (size_t)INT_MAX)
        return scsms_fail(SCSMS_EINVAL, "JSON text too large");
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    /* strict: no single quotes, trailing commas or other JavaScript-isms,
     * so what a partner's tool accepts as JSON is what scsms accepts; and
     * valid UTF-8 only. Text after the value is checked below, to say so. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                    JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (err == json_tokener_continue) {
        /* A number or literal at the very end ("42", "true") is complete
         * only once the tokener sees the end: give it the NUL a C string
         * would have. Anything else still open stays "unexpected end". */
        obj = json_tokener_parse_ex(tok, "", 1);
        if (json_tokener_get_error(tok) == json_tokener_success)
            err = json_tokener_success;
    }
    json_tokener_free(tok);
    if (err == json_tokener_success && !obj)
        return scsms_fail(SCSMS_EINVAL, "JSON text is null, not a value");
    if (!obj || err != json_tokener_success) {
        json_object_put(obj);
        return scsms_fail(SCSMS_EINVAL, "bad JSON at byte %zu: %s", used,
                          err == json_tokener_continue ? "unexpected end of input"
                                                       : json_tokener_error_desc(err));
    }
    while (used < len && isspace((unsigned char)text[used]))
        used++;
    if (used < len) {
        json_object_put(obj);
        return scsms_fail(SCSMS_EINVAL, "bad JSON at byte %zu: text after the value", used);
    }
    *out = obj;
    return 0;
}

/* ------------------------------------------------------------ JSON -> pb */

static int fill_message(ProtobufCMessage *msg, struct json_object *obj, const char *path);

static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static const char *json_kind(struct json_object *v)
{
    return json_type_to_name(json_object_get_type(v));
}

static int want(const char *path, const char *what, struct json_object *v)
{
    return scsms_fail(SCSMS_EINVAL, "field '%s' must be %s, got %s", path, what, json_kind(v));
}

static int get_int(struct json_object *v, const char *path, int64_t lo, int64_t hi,
                   int64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return want(path, "an integer", v);
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (x < lo || x > hi || errno == ERANGE)
        return scsms_fail(SCSMS_EINVAL, "field '%s' is out of range %lld to %lld", path,
                          (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

static int set_enum(const ProtobufCEnumDescriptor *ed, struct json_object *v, const char *path,
                    int32_t *out)
{
    char names[512];
    size_t off = 0;
    if (!json_object_is_type(v, json_type_string))
        return want(path, "a string", v);
    const char *s = json_object_get_string(v);
    for (unsigned i = 0; i < ed->n_values; i++) {
        if (ed->values[i].value != 0 && strcasecmp(ed->values[i].name, s) == 0) {
            *out = ed->values[i].value;
            return 0;
        }
    }
    for (unsigned i = 0; i < ed->n_values && off < sizeof names; i++) {
        if (ed->values[i].value == 0)
            continue;
        off += (size_t)snprintf(names + off, sizeof names - off, "%s", off ? ", " : "");
        for (const char *c = ed->values[i].name; *c && off + 1 < sizeof names; c++)
            names[off++] = (char)tolower((unsigned char)*c);
        names[off < sizeof names ? off : sizeof names - 1] = '\0';
    }
    return scsms_fail(SCSMS_EINVAL, "field '%s': '%.64s' is not one of %s", path, s, names);
}

static int set_string(struct json_object *v, const char *path, char **out)
{
    if (!json_object_is_type(v, json_type_string))
        return want(path, "a string", v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len > RECORD_MAX_FIELD)
        return scsms_fail(SCSMS_EINVAL, "field '%s' is %zu bytes; the limit is %u", path, len,
                          RECORD_MAX_FIELD);
    const char *s = json_object_get_string(v);
    if (strlen(s) != len)
        return scsms_fail(SCSMS_EINVAL, "field '%s' contains a NUL character", path);
    *out = strdup(s);
    return *out ? 0 : scsms_fail(SCSMS_ENOMEM, "out of memory");
}

static int set_bytes(struct json_object *v, const char *path, ProtobufCBinaryData *out)
{
    if (!json_object_is_type(v, json_type_string))
        return want(path, "a hex string", v);
    const char *s = json_object_get_string(v);
    size_t n = strlen(s) / 2;
    if (n > RECORD_MAX_FIELD)
        return scsms_fail(SCSMS_EINVAL, "field '%s' is %zu bytes; the limit is %u", path, n,
                          RECORD_MAX_FIELD);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (crypto_unhex(s, buf, n) != 0) {
        free(buf);
        return scsms_fail(SCSMS_EINVAL, "field '%s' must be a hex string", path);
    }
    out->data = buf;
    out->len = n;
    return 0;
}

static int set_message(const ProtobufCMessageDescriptor *md, struct json_object *v,
                       const char *path, ProtobufCMessage **out)
{
    if (!json_object_is_type(v, json_type_object))
        return want(path, "an object", v);
    ProtobufCMessage *sub = malloc(md->sizeof_message);
    if (!sub)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    md->message_init(sub);
    *out = sub; /* owned by the parent from here, so freed with it on error */
    return fill_message(sub, v, path);
}

/* Set one value of field f at p (an element slot). */
static int set_value(const ProtobufCFieldDescriptor *f, struct json_object *v,
                     const char *path, void *p)
{
    int64_t x;
    int rc;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = get_int(v, path, INT32_MIN, INT32_MAX, &x)) == 0)
            *(int32_t *)p = (int32_t)x;
        return rc;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = get_int(v, path, 0, UINT32_MAX, &x)) == 0)
            *(uint32_t *)p = (uint32_t)x;
        return rc;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = get_int(v, path, INT64_MIN, INT64_MAX, &x)) == 0)
            *(int64_t *)p = x;
        return rc;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = get_int(v, path, 0, INT64_MAX, &x)) == 0)
            *(uint64_t *)p = (uint64_t)x;
        return rc;
    case PROTOBUF_C_TYPE_DOUBLE: case PROTOBUF_C_TYPE_FLOAT:
        if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
            return want(path, "a number", v);
        if (f->type == PROTOBUF_C_TYPE_DOUBLE)
            *(double *)p = json_object_get_double(v);
        else
            *(float *)p = (float)json_object_get_double(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return want(path, "true or false", v);
        *(protobuf_c_boolean *)p = json_object_get_boolean(v) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return set_enum(f->descriptor, v, path, (int32_t *)p);
    case PROTOBUF_C_TYPE_STRING:
        return set_string(v, path, (char **)p);
    case PROTOBUF_C_TYPE_BYTES:
        return set_bytes(v, path, (ProtobufCBinaryData *)p);
    case PROTOBUF_C_TYPE_MESSAGE:
        return set_message(f->descriptor, v, path, (ProtobufCMessage **)p);
    }
    return scsms_fail(SCSMS_EINVAL, "field '%s' has an unsupported type", path);
}

/* Set field f of msg, which must still hold its default. */
static int set_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                     struct json_object *v, const char *path)
{
    void *slot = (char *)msg + f->offset;
    if (json_object_is_type(v, json_type_null))
        return 0; /* null means "not set" */
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return set_value(f, v, path, slot);
    if (!json_object_is_type(v, json_type_array))
        return want(path, "an array", v);
    size_t n = json_object_array_length(v), esz = elem_size(f->type);
    if (n == 0)
        return 0;
    char *arr = calloc(n, esz);
    if (!arr)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    /* Publish the array first with a zero count and grow the count as
     * elements are set, so freeing the message on error frees exactly
     * what was built. */
    *(void **)slot = arr;
    size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
    for (size_t i = 0; i < n; i++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        int rc = set_value(f, json_object_array_get_idx(v, i), sub, arr + i * esz);
        if (rc) {
            /* a half-built string or message element is owned by the array */
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && ((void **)arr)[i])
                *count = i + 1;
            return rc;
        }
        *count = i + 1;
    }
    return 0;
}

static int fill_message(ProtobufCMessage *msg, struct json_object *obj, const char *path)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    json_object_object_foreach(obj, key, val)
    {
        char sub[256];
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        snprintf(sub, sizeof sub, "%s.%s", path, key);
        if (!f)
            return scsms_fail(SCSMS_EINVAL, "unknown field '%s'", sub);
        int rc = set_field(msg, f, val, sub);
        if (rc)
            return rc;
    }
    return 0;
}

static const char *const store_fields[] = {"id",         "owner",      "version",
                                           "created_at", "updated_at", "author"};

const char *jsonpb_store_field(struct json_object *obj)
{
    for (size_t i = 0; i < sizeof store_fields / sizeof store_fields[0]; i++)
        if (json_object_object_get_ex(obj, store_fields[i], NULL))
            return store_fields[i];
    return NULL;
}

/* Fill rec (a fresh record of type t) from a flat object. */
static int fill_record(Scsms__Record *rec, const struct record_type *t, struct json_object *obj)
{
    const ProtobufCFieldDescriptor *bf =
        protobuf_c_message_descriptor_get_field(&scsms__record__descriptor, t->body_case);
    ProtobufCMessage *body = *(ProtobufCMessage **)((char *)rec + bf->offset);
    json_object_object_foreach(obj, key, val)
    {
        if (strcmp(key, "type") == 0)
            continue;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(&scsms__record__descriptor, key);
        int rc;
        if (f && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
            rc = set_field(&rec->base, f, val, key);
        } else {
            f = protobuf_c_message_descriptor_get_field_by_name(body->descriptor, key);
            if (!f)
                return scsms_fail(SCSMS_EINVAL, "unknown field '%.64s' for type %s", key,
                                  t->name);
            rc = set_field(body, f, val, key);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int resolve_type(struct json_object *obj, const char *type_name,
                        const struct record_type **out)
{
    struct json_object *tv = NULL;
    const char *name = type_name;
    if (json_object_object_get_ex(obj, "type", &tv)) {
        if (!json_object_is_type(tv, json_type_string))
            return want("type", "a string", tv);
        const char *given = json_object_get_string(tv);
        if (type_name && strcmp(type_name, given) != 0)
            return scsms_fail(SCSMS_EINVAL, "field 'type' is '%.64s' but the command says '%s'",
                              given, type_name);
        name = given;
    }
    if (!name)
        return scsms_fail(SCSMS_EINVAL, "record has no 'type': use one of %s",
                          record_type_names());
    *out = record_type_by_name(name);
    if (!*out)
        return scsms_fail(SCSMS_EINVAL, "unknown record type '%.64s': use one of %s", name,
                          record_type_names());
    return 0;
}

int jsonpb_to_record(struct json_object *obj, const char *type_name, Scsms__Record **out)
{
    const struct record_type *t;
    if (!json_object_is_type(obj, json_type_object))
        return scsms_fail(SCSMS_EINVAL, "a record must be a JSON object, got %s", json_kind(obj));
    int rc = resolve_type(obj, type_name, &t);
    if (rc)
        return rc;
    Scsms__Record *rec = record_new(t);
    if (!rec)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    rc = fill_record(rec, t, obj);
    if (rc) {
        record_free(rec);
        return rc;
    }
    *out = rec;
    return 0;
}

int jsonpb_merge(struct json_object *obj, Scsms__Record **rec)
{
    const struct record_type *t = record_type_of(*rec);
    if (!json_object_is_type(obj, json_type_object))
        return scsms_fail(SCSMS_EINVAL, "an update must be a JSON object, got %s", json_kind(obj));
    const char *set_by_store = jsonpb_store_field(obj);
    if (set_by_store)
        return scsms_fail(SCSMS_EINVAL, "field '%s' is set by the store and cannot be updated",
                          set_by_store);
    struct json_object *merged = jsonpb_from_record(*rec);
    if (!merged)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    json_object_object_foreach(obj, key, val)
    {
        if (json_object_object_add(merged, key, json_object_get(val)) != 0) {
            json_object_put(merged);
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        }
    }
    Scsms__Record *next = NULL;
    int rc = jsonpb_to_record(merged, t->name, &next);
    json_object_put(merged);
    if (rc)
        return rc;
    record_free(*rec);
    *rec = next;
    return 0;
}

/* ------------------------------------------------------------ pb -> JSON */

static struct json_object *message_to_json(const ProtobufCMessage *msg);

static struct json_object *enum_to_json(const ProtobufCEnumDescriptor *ed, int32_t v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
    if (!ev)
        return json_object_new_int(v);
    char buf[128];
    size_t i = 0;
    for (; ev->name[i] && i + 1 < sizeof buf; i++)
        buf[i] = (char)tolower((unsigned char)ev->name[i]);
    buf[i] = '\0';
    return json_object_new_string(buf);
}

static struct json_object *value_to_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        return json_object_new_int64(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        return json_object_new_int64(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        return json_object_new_int64(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return json_object_new_uint64(*(const uint64_t *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_object_new_double(*(const double *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_object_new_double(*(const float *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_object_new_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM:
        return enum_to_json(f->descriptor, *(const int32_t *)p);
    case PROTOBUF_C_TYPE_STRING:
        return json_object_new_string(*(char *const *)p);
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        char *hex = malloc(2 * b->len + 1);
        if (!hex)
            return NULL;
        crypto_hex(b->data, b->len, hex);
        struct json_object *o = json_object_new_string(hex);
        free(hex);
        return o;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return message_to_json(*(const ProtobufCMessage *const *)p);
    }
    return NULL;
}

static int is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: return !*(char *const *)p || !**(char *const *)p;
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)p == NULL;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
    default: return elem_size(f->type) == 8 ? *(const uint64_t *)p == 0 : *(const uint32_t *)p == 0;
    }
}

/* Add msg's non-default fields to obj. Oneof members are skipped: scsms
 * uses a oneof only for the record body, which the caller flattens. */
static int add_fields(struct json_object *obj, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *p = (const char *)msg + f->offset;
        struct json_object *v;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
            if (n == 0)
                continue;
            v = json_object_new_array_ext((int)n);
            const char *arr = *(const char *const *)p;
            for (size_t k = 0; v && k < n; k++) {
                struct json_object *e = value_to_json(f, arr + k * elem_size(f->type));
                if (!e || json_object_array_add(v, e) != 0) {
                    json_object_put(e);
                    json_object_put(v);
                    v = NULL;
                }
            }
        } else {
            if (is_default(f, p))
                continue;
            v = value_to_json(f, p);
        }
        if (!v || json_object_object_add(obj, f->name, v) != 0) {
            json_object_put(v);
            return -1;
        }
    }
    return 0;
}

static struct json_object *message_to_json(const ProtobufCMessage *msg)
{
    struct json_object *obj = json_object_new_object();
    if (obj && add_fields(obj, msg) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

struct json_object *jsonpb_from_record(const Scsms__Record *rec)
{
    const struct record_type *t = record_type_of(rec);
    if (!t)
        return NULL;
    const ProtobufCFieldDescriptor *bf =
        protobuf_c_message_descriptor_get_field(&scsms__record__descriptor, t->body_case);
    const ProtobufCMessage *body = *(const ProtobufCMessage *const *)((const char *)rec + bf->offset);
    struct json_object *obj = json_object_new_object();
    if (!obj || json_object_object_add(obj, "type", json_object_new_string(t->name)) != 0 ||
        add_fields(obj, &rec->base) != 0 || (body && add_fields(obj, body) != 0)) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

/* ------------------------------------------------------------ typed text */

const ProtobufCFieldDescriptor *jsonpb_flat_field(const struct record_type *t, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&scsms__record__descriptor, name);
    if (f && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return f;
    const ProtobufCFieldDescriptor *bf =
        protobuf_c_message_descriptor_get_field(&scsms__record__descriptor, t->body_case);
    return protobuf_c_message_descriptor_get_field_by_name(bf->descriptor, name);
}

/* text is a number as a person writes one in decimal: an optional minus,
 * digits and, for a fraction, a point and an exponent; not hexadecimal,
 * "inf" or padded with blanks, which strtod and strtoll also take. */
static int plain_number(const char *text, int fraction)
{
    const char *p = text + (text[0] == '-');
    if (!(p[0] >= '0' && p[0] <= '9') && !(fraction && p[0] == '.'))
        return 0;
    return p[strspn(p, fraction ? "0123456789.eE+-" : "0123456789")] == '\0';
}

static int text_to_json(const ProtobufCFieldDescriptor *f, const char *name, const char *text,
                        struct json_object **out)
{
    char *end;
    errno = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_ENUM:
        *out = json_object_new_string(text);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (strcmp(text, "true") && strcmp(text, "false"))
            return scsms_fail(SCSMS_EINVAL, "field '%s' must be true or false, got '%.64s'", name,
                              text);
        *out = json_object_new_boolean(text[0] == 't');
        break;
    case PROTOBUF_C_TYPE_DOUBLE: case PROTOBUF_C_TYPE_FLOAT: {
        double d = strtod(text, &end);
        if (!plain_number(text, 1) || *end || errno)
            return scsms_fail(SCSMS_EINVAL, "field '%s' must be a finite number in decimal, got "
                              "'%.64s'", name, text);
        *out = json_object_new_double(d);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        int rc = jsonpb_parse(text, strlen(text), out);
        if (rc)
            return scsms_fail_context(rc, "field '%s'", name);
        return 0;
    }
    default: {
        long long v = strtoll(text, &end, 10);
        if (!plain_number(text, 0) || *end || errno)
            return scsms_fail(SCSMS_EINVAL, "field '%s' must be an integer, got '%.64s'", name,
                              text);
        *out = json_object_new_int64(v);
        break;
    }
    }
    return *out ? 0 : scsms_fail(SCSMS_ENOMEM, "out of memory");
}

static int set_field_text(struct json_object *obj, const ProtobufCFieldDescriptor *f,
                          const char *text, int cell);

int jsonpb_set_text(struct json_object *obj, const char *type_name, const char *name,
                    const char *text)
{
    const struct record_type *t = record_type_by_name(type_name);
    if (!t)
        return scsms_fail(SCSMS_EINVAL, "unknown record type '%.64s': use one of %s", type_name,
                          record_type_names());
    const ProtobufCFieldDescriptor *f = jsonpb_flat_field(t, name);
    if (!f)
        return scsms_fail(SCSMS_EINVAL, "unknown field '%.64s' for type %s", name, t->name);
    return set_field_text(obj, f, text, 0);
}

int jsonpb_set_cell(struct json_object *obj, const ProtobufCFieldDescriptor *f, const char *text)
{
    return set_field_text(obj, f, text, 1);
}

static int set_field_text(struct json_object *obj, const ProtobufCFieldDescriptor *f,
                          const char *text, int cell)
{
    const char *name = f->name;
    struct json_object *v = NULL, *arr = NULL;
    int rc;
    if (cell && f->label == PROTOBUF_C_LABEL_REPEATED) {
        if ((rc = jsonpb_parse(text, strlen(text), &v)))
            return scsms_fail_context(rc, "field '%s' (a JSON array)", name);
        if (json_object_object_add(obj, name, v) != 0) {
            json_object_put(v);
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        }
        return 0;
    }
    if ((rc = text_to_json(f, name, text, &v)))
        return rc;
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return json_object_object_add(obj, name, v) == 0 ? 0 : scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (!json_object_object_get_ex(obj, name, &arr) || !json_object_is_type(arr, json_type_array)) {
        arr = json_object_new_array();
        if (!arr || json_object_object_add(obj, name, arr) != 0) {
            json_object_put(v);
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        }
    }
    return json_object_array_add(arr, v) == 0 ? 0 : scsms_fail(SCSMS_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------ CSV columns */

static int add_column(const char ***v, size_t *n, size_t *cap, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], name) == 0)
            return 0;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        const char **p = realloc((void *)*v, c * sizeof *p);
        if (!p)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = name;
    return 0;
}

int jsonpb_columns(const char *type_name, const char ***names, size_t *n)
{
    const ProtobufCMessageDescriptor *rd = &scsms__record__descriptor;
    const char **v = NULL;
    size_t cap = 0, count;
    const struct record_type *types = record_types(&count), *only = NULL;
    int rc;
    *n = 0;
    if (type_name && !(only = record_type_by_name(type_name)))
        return scsms_fail(SCSMS_EINVAL, "unknown record type '%.64s': use one of %s", type_name,
                          record_type_names());
    if ((rc = add_column(&v, n, &cap, "type")))
        goto fail;
    for (unsigned i = 0; i < rd->n_fields; i++)
        if (!(rd->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            (rc = add_column(&v, n, &cap, rd->fields[i].name)))
            goto fail;
    for (size_t t = 0; t < count; t++) {
        if (only && &types[t] != only)
            continue;
        const ProtobufCMessageDescriptor *bd =
            protobuf_c_message_descriptor_get_field(rd, types[t].body_case)->descriptor;
        for (unsigned i = 0; i < bd->n_fields; i++)
            if ((rc = add_column(&v, n, &cap, bd->fields[i].name)))
                goto fail;
    }
    *names = v;
    return 0;
fail:
    free((void *)v);
    return rc;
}

const char *jsonpb_cell(struct json_object *obj, const char *name)
{
    struct json_object *v;
    if (!json_object_object_get_ex(obj, name, &v) || !v)
        return "";
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

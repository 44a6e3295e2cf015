/* jsonpb.h -- records to and from JSON, driven by protobuf-c descriptors.
 *
 * One generic mapping for every record type, so a field added to the
 * schema is at once readable and writable: a record is a flat JSON object of
 * "type", the envelope fields and the body fields, each named exactly as in
 * proto/scsms.proto. Nested messages (links, inspection items, tasks) are
 * objects, repeated fields arrays, enums lower-case value names, bytes hex.
 * Errors name the field ("field 'likelihood' must be an integer").
 */
#ifndef SCSMS_JSONPB_H
#define SCSMS_JSONPB_H

#include <json-c/json.h>

#include "error.h"
#include "record.h"

/* Parse text (len bytes, need not be NUL-terminated) as one JSON value.
 * Caller releases *out with json_object_put(). */
int jsonpb_parse(const char *text, size_t len, struct json_object **out) SCSMS_MUST_CHECK;

/* Build a new record from a flat JSON object. type_name may be NULL, in
 * which case obj must carry "type"; when both are given they must agree.
 * Unknown fields, wrong value types and oversized values are refused.
 * The record is not yet validated (see record_validate()). Caller frees
 * *out with record_free(). */
int jsonpb_to_record(struct json_object *obj, const char *type_name,
                     Scsms__Record **out) SCSMS_MUST_CHECK;

/* Apply the fields of obj on top of rec, as an update does: named fields
 * replace their values (a repeated field is replaced whole), others keep
 * theirs. On success *rec is replaced by the merged record and the old one
 * freed; on failure *rec is untouched. */
int jsonpb_merge(struct json_object *obj, Scsms__Record **rec) SCSMS_MUST_CHECK;

/* The first field of obj that only the store sets (id, owner, version,
 * created_at, updated_at, author), or NULL: what a new record or an update
 * may not carry, and only a restore may. A lookup each (obj is a hash
 * table), not a comparison of every key with every name. */
const char *jsonpb_store_field(struct json_object *obj);

/* Set field `name` of a flat record of type type_name in obj from text,
 * converted by the field's schema type (so "5" becomes 5 for an integer,
 * "near_miss" stays a string for an enum). A repeated field gets text
 * appended as one more element. This is how typed command-line flags
 * (--set likelihood=4) become a record. */
int jsonpb_set_text(struct json_object *obj, const char *type_name, const char *name,
                    const char *text) SCSMS_MUST_CHECK;

/* The field a flat record's key names for type t: one of the envelope or
 * of t's body; NULL when neither has it. Static: look it up once a column. */
const ProtobufCFieldDescriptor *jsonpb_flat_field(const struct record_type *t,
                                                  const char *name);

/* The same as jsonpb_set_text for a CSV cell of field f (from
 * jsonpb_flat_field()), but a repeated field or a nested message is given
 * whole as JSON text ('["a","b"]', '[{"rel":"source","target":"X"}]'), as
 * export writes it. */
int jsonpb_set_cell(struct json_object *obj, const ProtobufCFieldDescriptor *f,
                    const char *text) SCSMS_MUST_CHECK;

/* The CSV columns of a type (type_name) or of every type (NULL): "type",
 * the envelope fields, then the body fields, each once, in schema order.
 * *names is a malloc'd array of borrowed strings; the caller frees it. */
int jsonpb_columns(const char *type_name, const char ***names, size_t *n) SCSMS_MUST_CHECK;

/* The text of one column of a flat record object, as export writes it:
 * strings as they are, other values as JSON, "" when absent. Borrowed from
 * obj. */
const char *jsonpb_cell(struct json_object *obj, const char *name);

/* The flat JSON object of rec, fields at their default omitted. NULL on
 * ENOMEM. Caller releases with json_object_put(). */
struct json_object *jsonpb_from_record(const Scsms__Record *rec);

#endif

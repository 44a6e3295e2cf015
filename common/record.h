/* record.h -- the record model: types, lifecycles, validation.
 *
 * A record is a Scsms__Record envelope with one body (see proto/scsms.proto).
 * Every Scsms__Record handled by scsms is heap-allocated with the system
 * allocator, whether it came from record_unpack(), jsonpb_to_record() or
 * record_new(), and is freed with record_free().
 */
#ifndef SCSMS_RECORD_H
#define SCSMS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "scsms.pb-c.h"

#define RECORD_MAX_BYTES (1u << 20)     /* one packed record */
#define RECORD_MAX_FIELD (64u * 1024)   /* one string or bytes field */
#define RECORD_MAX_ID 128               /* id and owner length */
#define RECORD_DISPOSED "disposed"      /* the status of a disposal tombstone */

/* Which identities may issue a type (DOMAIN.md rule 8). */
enum record_issuer {
    RECORD_BY_SITE = 1,
    RECORD_BY_HQ = 2,
    RECORD_BY_PARTNER = 4,
};

struct record_type {
    Scsms__Record__BodyCase body_case; /* oneof field number */
    const char *name;                  /* oneof field name: "incident" */
    const char *code;                  /* id infix: "INC" */
    const char *clause;                /* ISO 28000 clause it evidences */
    const char *const *statuses;       /* NULL-terminated; [0] is the initial one */
    const char *const *required;       /* body fields that must be set */
    const char *const *due_fields;     /* first set one is the record's due date */
    const char *const *done;           /* statuses in which nothing is due any more */
    uint32_t retention_days;           /* default retention */
    unsigned issuers;                  /* enum record_issuer bits */
    const char *sig_field;             /* a sealed type's signature field in its
                                          body (seal.h); NULL: not sealed */
    const char *partner_field;         /* the business partner it is about
                                          (rule 8); NULL: none */
    const char *subject_field;         /* rule 5: a new current version of the
                                          same subject obsoletes the one before */
};

/* All types, in field-number order, and their count. */
const struct record_type *record_types(size_t *count);

/* Look up by name ("risk") or by body case; NULL when unknown. */
const struct record_type *record_type_by_name(const char *name);
const struct record_type *record_type_of(const Scsms__Record *rec);

/* The text of rec's body field `name` ("" when unset), or NULL when the
 * body has no such string field. Borrowed from rec. */
const char *record_text(const Scsms__Record *rec, const char *name);

/* rec's body (the message of its type), or NULL for a record without one. */
ProtobufCMessage *record_body(Scsms__Record *rec);

/* "a, b, c" list of every type name, for error messages. Static storage. */
const char *record_type_names(void);

/* A new, empty record of the given type, body allocated. NULL on ENOMEM. */
Scsms__Record *record_new(const struct record_type *type);

/* Free a record and everything it owns. Accepts NULL. */
void record_free(Scsms__Record *rec);

/* Decode packed bytes. SCSMS_ECORRUPT when they are not a record. */
int record_unpack(const uint8_t *data, size_t len, Scsms__Record **out) SCSMS_MUST_CHECK;

/* The same, with memory from `with` (NULL: malloc). A record decoded into
 * an arena (arena.h) is freed by the arena's reset, not by record_free(),
 * and must not be changed: read it, check it with record_check(). */
int record_unpack_with(ProtobufCAllocator *with, const uint8_t *data, size_t len,
                       Scsms__Record **out) SCSMS_MUST_CHECK;

/* A deep copy of rec (through its wire form), to keep beyond a borrowed
 * one. Caller frees *out with record_free(). */
int record_dup(const Scsms__Record *rec, Scsms__Record **out) SCSMS_MUST_CHECK;

/* Check a record as given by a user before the store assigns identity and
 * time: known type, status valid for the type, required fields present
 * (and not blanks alone), text as record_check_text() says, finite
 * numbers, value ranges, field sizes; and normalise it in place: dates and instants
 * to canonical UTC text, sensitivity and retention to their defaults,
 * status to the type's initial one when empty. Returns 0, or SCSMS_EINVAL
 * with a one-line message naming the field and what would be right. */
int record_validate(Scsms__Record *rec) SCSMS_MUST_CHECK;

/* record_validate for a record restored as it was exported (import
 * --preserve): the same, but for the checks record_check skips, which
 * the record's first writing may have come before. */
int record_validate_restored(Scsms__Record *rec) SCSMS_MUST_CHECK;

/* record_validate for a record as its writer's store wrote it (one
 * received): the same checks, and what record_validate would set or
 * normalise is refused (SCSMS_EINVAL) instead, so rec is only read. The
 * checks added after entries were written (text, blank required fields,
 * finite numbers) are not made: such an entry stays in its log, and
 * refusing it would stop the log's sync for good. */
int record_check(const Scsms__Record *rec) SCSMS_MUST_CHECK;

/* text is well-formed UTF-8 (no overlong form, surrogate or code point
 * past U+10FFFF: what every protobuf decoder requires of a string field)
 * and holds no control character but tab, line feed and carriage return
 * (none of U+0000-U+001F but those three, U+007F or U+0080-U+009F).
 * 0, or SCSMS_EINVAL with "WHAT has ..." naming the byte, what being the
 * field or option. record_validate checks every text field of a record
 * so when it is written; record_check, for one taken in, does not: an
 * entry written before this check existed stays in its log, and refusing
 * it would stop that log's sync for good. */
int record_check_text(const char *text, const char *what) SCSMS_MUST_CHECK;

/* 1 when text (NULL too) is empty or blanks alone (spaces, tabs, line
 * breaks): what a person wrote says nothing. */
int record_text_blank(const char *text);

/* The record's due day (days since the epoch) from its type's due fields:
 * returns 1 and sets *day_out when it has one and its status is not one
 * in which nothing is due (a closed action, a held drill), 0 when not.
 * Call on a validated record. */
int record_due_day(const Scsms__Record *rec, int64_t *day_out);

/* The same, also naming the field the date came from (static storage). */
int record_due(const Scsms__Record *rec, int64_t *day_out, const char **field);

/* status is one a record of type t can have (t NULL: of any type), or
 * RECORD_DISPOSED: 0, else SCSMS_EINVAL naming those it can have. For a
 * filter (list --status), which would otherwise silently match nothing. */
int record_status_known(const struct record_type *t, const char *status) SCSMS_MUST_CHECK;

/* 1 when rec is the tombstone a disposal leaves (status "disposed"). */
int record_is_tombstone(const Scsms__Record *rec);

/* 1 when id is one the store of owner gives: "OWNER-CODE-DIGITS", CODE a
 * type's code, optionally followed by "-" and a suffix (what the rules
 * raise: "...-NCR"). A bare prefix test would let "CAR" write ids of
 * "CAR-A"; this form cannot collide across owners. */
int record_id_is_owners(const char *id, const char *owner);

/* 1 when the owner's id names a record of type t: "OWNER-CODE-DIGITS"
 * with t's code, or, for a nonconformity a rule raised, another record's
 * id with a suffix "-NCR..." (record_id_is_owners() holds too). Checked
 * where a store restores records with their ids (import --preserve), not
 * in entries taken in: one written before the check stays in its log. */
int record_id_fits_type(const char *id, const char *owner, const struct record_type *t);

/* Which of two credibility reviews of the same declaration version is
 * the later: compare these keys as text. The sealed reviewed_date first
 * (an unsealed time alone could be changed in transit to bring an older
 * verdict forward), then updated_at for reviews of the same day, then the
 * number in the id for reviews of the same second: two reviews never tie,
 * so every reader picks the same one. */
#define RECORD_REVIEW_KEY_LEN 50
void record_review_key(const Scsms__Record *rec, char out[RECORD_REVIEW_KEY_LEN + 1]);

/* Append a typed link (rel, target: copied) to rec. */
int record_add_link(Scsms__Record *rec, const char *rel, const char *target) SCSMS_MUST_CHECK;

/* Replace a string field's value with a malloc'd copy of text, freeing the
 * previous one unless it is the protobuf-c default. */
int record_set_string(char **field, const char *text) SCSMS_MUST_CHECK;

#endif

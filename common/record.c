/* record.c -- record types, lifecycles and validation; see record.h. */
#include "record.h"
#include "text.h"
#include "isotime.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})
#define YEARS(n) ((uint32_t)(n) * 365u)
#define SITE RECORD_BY_SITE
#define HQ RECORD_BY_HQ
#define PARTNER RECORD_BY_PARTNER

/* One row per body in the Record oneof, in field-number order; the table is
 * checked against the descriptor by tests/test_record.c. Retention defaults
 * follow common practice for security evidence (customs expects AEO evidence
 * kept several years); a record may set its own. */
static const struct record_type types[] = {
    {SCSMS__RECORD__BODY_SCOPE, "scope", "SCO", "4.1", L("draft", "current", "obsolete"),
     L("boundaries"), NONE, L("obsolete"), YEARS(10), HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_POLICY, "policy", "POL", "4.2", L("draft", "current", "obsolete"),
     L("title", "statement"), L("review_date"), L("obsolete"), YEARS(10), HQ, NULL, NULL, "title"},
    {SCSMS__RECORD__BODY_ACKNOWLEDGEMENT, "acknowledgement", "ACK", "4.4.3", L("recorded"),
     L("subject_id", "acknowledged_by"), NONE, NONE, YEARS(7), SITE, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_RISK, "risk", "RSK", "4.3.1",
     L("open", "in_treatment", "accepted", "closed"),
     L("threat_category", "threatened", "likelihood", "consequence", "residual_likelihood",
       "residual_consequence", "treatment"),
     L("next_review_date"), L("closed"), YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_LEGAL_REQUIREMENT, "legal_requirement", "LEG", "4.3.2",
     L("current", "superseded"), L("source", "summary"), L("review_date"), L("superseded"), YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_OBJECTIVE, "objective", "OBJ", "4.3.3",
     L("open", "achieved", "missed", "cancelled"), L("title", "indicator"), L("due_date"), L("achieved", "missed", "cancelled"),
     YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_TARGET, "target", "TGT", "4.3.4",
     L("open", "met", "missed", "cancelled"), L("description", "due_date"), L("due_date"), L("met", "missed", "cancelled"),
     YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_PROGRAMME, "programme", "PRG", "4.3.5",
     L("planned", "in_progress", "complete", "cancelled"), L("title"), NONE, L("complete", "cancelled"), YEARS(7),
     SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_APPOINTMENT, "appointment", "APT", "4.4.1", L("active", "ended"),
     L("person", "role"), L("clearance_expiry_date"), L("ended"), YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_TRAINING, "training", "TRN", "4.4.2", L("completed", "failed"),
     L("person", "course", "completed_date"), L("expiry_date"), L("failed"), YEARS(7), SITE, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_COMMUNICATION, "communication", "COM", "4.4.3", L("recorded"),
     L("kind", "subject"), NONE, NONE, YEARS(5), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_DOCUMENT, "document", "DOC", "4.4.5",
     L("draft", "current", "obsolete", "archived"), L("doc_id", "doc_version", "title"),
     L("review_date"), L("obsolete", "archived"), YEARS(10), HQ, NULL, NULL, "doc_id"},
    {SCSMS__RECORD__BODY_PROCEDURE, "procedure", "PRC", "4.4.6",
     L("draft", "in_effect", "withdrawn"), L("task_or_area", "control"), NONE, L("withdrawn"), YEARS(7),
     SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_EMERGENCY_PLAN, "emergency_plan", "EMP", "4.4.7",
     L("draft", "current", "obsolete"), L("title", "person_in_charge"), L("review_date"), L("obsolete"),
     YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_DRILL, "drill", "DRL", "4.4.7", L("planned", "held", "cancelled"),
     L("scenario", "planned_date"), L("planned_date"), L("held", "cancelled"), YEARS(7), SITE, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_MEASUREMENT, "measurement", "MEA", "4.5.1", L("recorded"),
     L("indicator", "period_end_date"), NONE, NONE, YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_EQUIPMENT, "equipment", "EQP", "4.5.1",
     L("in_service", "out_of_calibration", "removed_from_use"),
     L("equipment_id", "kind", "location"), L("next_calibration_date"), L("removed_from_use"), YEARS(7), SITE, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_CALIBRATION, "calibration", "CAL", "4.5.1", L("recorded"),
     L("performed_date", "result"), NONE, NONE, YEARS(7), SITE, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_INSPECTION, "inspection", "INS", "4.5.1", L("recorded"),
     L("area", "inspector", "inspected_date"), NONE, NONE, YEARS(7), SITE, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_EVALUATION, "evaluation", "EVL", "4.5.2", L("recorded"),
     L("subject", "evaluated_date", "result"), L("next_date"), NONE, YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_INCIDENT, "incident", "INC", "4.5.3",
     L("open", "investigating", "closed"), L("kind", "occurred_at", "location"), NONE, NONE,
     YEARS(7), SITE, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_NONCONFORMITY, "nonconformity", "NCR", "4.5.3", L("open", "closed"),
     L("source", "description"), NONE, NONE, YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_ACTION, "action", "ACT", "4.5.3",
     L("open", "implemented", "verified_effective", "closed"),
     L("kind", "description", "responsible", "due_date"), L("due_date"), L("implemented", "verified_effective", "closed"), YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_AUDIT, "audit", "AUD", "4.5.5",
     L("planned", "held", "reported", "cancelled"), L("planned_date", "audit_scope", "auditor"),
     L("planned_date"), L("held", "reported", "cancelled"), YEARS(7), SITE | HQ, NULL, NULL, NULL},
    {SCSMS__RECORD__BODY_MANAGEMENT_REVIEW, "management_review", "MRV", "4.6", L("held"),
     L("period_from_date", "period_to_date", "held_date"), NONE, NONE, YEARS(10), HQ,
     "hq_signature", NULL, NULL},
    {SCSMS__RECORD__BODY_PARTNER, "partner", "BPT", "ISO 28001 4.2", L("active", "inactive"),
     L("partner_id", "name"), NONE, L("inactive"), YEARS(7), HQ, NULL, "partner_id", NULL},
    {SCSMS__RECORD__BODY_CERTIFICATE, "certificate", "CRT", "ISO 28001 4.2",
     L("active", "withdrawn"), L("partner_id", "scheme", "number", "expiry_date"),
     L("expiry_date"), L("withdrawn"), YEARS(7), PARTNER | HQ, NULL, "partner_id", NULL},
    {SCSMS__RECORD__BODY_DECLARATION, "declaration", "DOS", "ISO 28001 4.5",
     L("submitted", "withdrawn"),
     L("partner_id", "coverage", "measures", "valid_from_date", "valid_to_date"),
     L("valid_to_date"), L("withdrawn"),
     YEARS(7), PARTNER, "partner_signature", "partner_id", NULL},
    {SCSMS__RECORD__BODY_CREDIBILITY_REVIEW, "credibility_review", "CRV", "ISO 28001 4.5",
     L("accepted", "rejected"),
     L("declaration_id", "declaration_version", "declaration_sha256", "partner_id", "reviewer",
       "decision", "reason", "reviewed_date"), NONE, NONE, YEARS(7), HQ, "hq_signature", NULL, NULL},
};

#define N_TYPES (sizeof types / sizeof types[0])

const struct record_type *record_types(size_t *count)
{
    *count = N_TYPES;
    return types;
}

const struct record_type *record_type_by_name(const char *name)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

static const struct record_type *type_by_case(Scsms__Record__BodyCase c)
{
    /* the bodies' field numbers run on without a gap: one look, mostly */
    size_t at = (size_t)c - (size_t)types[0].body_case;
    if (at < N_TYPES && types[at].body_case == c)
        return &types[at];
    for (size_t i = 0; i < N_TYPES; i++)
        if (types[i].body_case == c)
            return &types[i];
    return NULL;
}

const struct record_type *record_type_of(const Scsms__Record *rec)
{
    return type_by_case(rec->body_case);
}

static char type_names[1024];
static pthread_once_t type_names_once = PTHREAD_ONCE_INIT;

static void type_names_init(void)
{
    size_t off = 0;
    for (size_t i = 0; i < N_TYPES; i++)
        off += (size_t)snprintf(type_names + off, sizeof type_names - off, "%s%s", i ? ", " : "",
                                types[i].name);
}

/* Built once: the store's preparers may both refuse a record at once. */
const char *record_type_names(void)
{
    pthread_once(&type_names_once, type_names_init);
    return type_names;
}

/* The body's field descriptor in the Record oneof. */
static const ProtobufCFieldDescriptor *body_field(Scsms__Record__BodyCase c)
{
    return protobuf_c_message_descriptor_get_field(&scsms__record__descriptor, (unsigned)c);
}

static ProtobufCMessage **body_slot(Scsms__Record *rec)
{
    const ProtobufCFieldDescriptor *f = body_field(rec->body_case);
    return (ProtobufCMessage **)((char *)rec + f->offset);
}

ProtobufCMessage *record_body(Scsms__Record *rec)
{
    return body_field(rec->body_case) ? *body_slot(rec) : NULL;
}

Scsms__Record *record_new(const struct record_type *type)
{
    Scsms__Record *rec = malloc(sizeof *rec);
    if (!rec)
        return NULL;
    scsms__record__init(rec);
    const ProtobufCMessageDescriptor *bd = body_field(type->body_case)->descriptor;
    ProtobufCMessage *body = malloc(bd->sizeof_message);
    if (!body) {
        free(rec);
        return NULL;
    }
    bd->message_init(body);
    rec->body_case = type->body_case;
    *body_slot(rec) = body;
    return rec;
}

void record_free(Scsms__Record *rec)
{
    if (rec)
        protobuf_c_message_free_unpacked(&rec->base, NULL);
}

int record_unpack_with(ProtobufCAllocator *with, const uint8_t *data, size_t len,
                       Scsms__Record **out)
{
    if (len > RECORD_MAX_BYTES)
        return scsms_fail(SCSMS_ECORRUPT, "record of %zu bytes exceeds the limit of %u", len,
                          RECORD_MAX_BYTES);
    Scsms__Record *rec = scsms__record__unpack(with, len, data);
    if (!rec)
        return scsms_fail(SCSMS_ECORRUPT, "bytes do not decode as a record");
    if (!record_type_of(rec)) {
        scsms__record__free_unpacked(rec, with);
        return scsms_fail(SCSMS_ECORRUPT, "record has no known type");
    }
    *out = rec;
    return 0;
}

int record_unpack(const uint8_t *data, size_t len, Scsms__Record **out)
{
    return record_unpack_with(NULL, data, len, out);
}

int record_dup(const Scsms__Record *rec, Scsms__Record **out)
{
    size_t len = scsms__record__get_packed_size(rec);
    uint8_t *buf = malloc(len ? len : 1);
    *out = NULL;
    if (!buf)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    scsms__record__pack(rec, buf);
    int rc = record_unpack(buf, len, out);
    free(buf);
    return rc;
}

int record_set_string(char **field, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Normalise one date or instant field in place; with fix 0, refuse one
 * that is not in canonical form instead. */
static int normalise_time(char **field, const char *name, int is_date, int fix)
{
    char buf[ISOTIME_INSTANT_LEN + 1];
    int64_t v;
    int rc;
    if (!*field || !**field)
        return 0;
    size_t len = strlen(*field);
    /* Already canonical (the common case): parsing alone validates it. */
    if (is_date && len == ISOTIME_DATE_LEN)
        return isotime_parse_date(*field, &v) ? scsms_fail_context(SCSMS_EINVAL, "field '%s'", name) : 0;
    if (!is_date && len == ISOTIME_INSTANT_LEN && (*field)[10] == 'T' && (*field)[19] == 'Z')
        return isotime_parse_instant(*field, &v) ? scsms_fail_context(SCSMS_EINVAL, "field '%s'", name) : 0;
    if (is_date) {
        rc = isotime_parse_date(*field, &v);
        if (rc == 0)
            isotime_format_date(v, buf);
    } else {
        rc = isotime_parse_instant(*field, &v);
        if (rc == 0)
            isotime_format_instant(v, buf);
    }
    if (rc)
        return scsms_fail_context(rc, "field '%s'", name);
    if (strcmp(buf, *field) == 0)
        return 0;
    return fix ? record_set_string(field, buf)
               : scsms_fail(SCSMS_EINVAL, "field '%s' is '%.40s', not in the form its writer's "
                            "store gives it ('%s')", name, *field, buf);
}

/* Eight bytes at once: nonzero when any of them is a control character
 * (below 0x20, or DEL), or not ASCII (0x80 and up). Most text is ASCII,
 * so most fields are checked a word at a time. A byte of DEL is a zero
 * byte of w ^ 0x7f..7f, which the usual zero-byte test finds. */
static uint64_t word_needs_look(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t del = w ^ (0x7f * ones);
    return (((w - 0x20 * ones) | w) & highs) | ((del - ones) & ~del & highs);
}

/* Where text[0, len) stops being acceptable (record.h), or NULL. */
static const char *text_flaw(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    while (p < end) {
        uint64_t w;
        if (end - p >= (ptrdiff_t)sizeof w) {
            memcpy(&w, p, sizeof w);
            if (!word_needs_look(w)) {
                p += sizeof w; /* eight printable ASCII bytes */
                continue;
            }
        }
        int line_break = *p == '\t' || *p == '\n' || *p == '\r';
        if (!line_break && text_is_control(p, (size_t)(end - p)))
            return (const char *)p;
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = text_utf8_len(p, (size_t)(end - p));
        if (n == 0)
            return (const char *)p;
        p += n;
    }
    return NULL;
}

/* The refusal of text for its flaw at bad, what being the field or option. */
static int text_refused(const char *text, const char *bad, const char *what)
{
    unsigned char c = (unsigned char)*bad;
    size_t at = (size_t)(bad - text) + 1;
    /* text ends with a NUL, so a second byte is there to look at */
    if (c >= 0x80 && text_is_control((const unsigned char *)bad, 2))
        return scsms_fail(SCSMS_EINVAL, "%s has a control character (U+%04X) at byte %zu: "
                          "remove it", what, (unsigned char)bad[1], at);
    return c < 0x80 ? scsms_fail(SCSMS_EINVAL, "%s has a control character (0x%02x) at byte %zu: "
                                 "remove it", what, c, at)
                    : scsms_fail(SCSMS_EINVAL, "%s is not valid UTF-8 at byte %zu (0x%02x): save "
                                 "the text as UTF-8", what, at, c);
}

int record_check_text(const char *text, const char *what)
{
    const char *bad = text_flaw(text, strlen(text));
    return bad ? text_refused(text, bad, what) : 0;
}

/* A string field's size; and, with text set, that it is text as
 * record_check_text() says. */
static int check_string(const char *s, const char *name, int text)
{
    size_t len = s ? strlen(s) : 0;
    const char *bad = text && len ? text_flaw(s, len) : NULL;
    if (bad) {
        char what[96];
        snprintf(what, sizeof what, "field '%s'", name);
        return text_refused(s, bad, what);
    }
    if (len > RECORD_MAX_FIELD)
        return scsms_fail(SCSMS_EINVAL, "field '%s' is %zu bytes; the limit is %u", name, len,
                          RECORD_MAX_FIELD);
    return 0;
}

/* What kind of text a field holds, decided once per schema by name: a
 * suffix test per field per record showed up in the bulk-add profile. */
enum text_kind { TEXT_PLAIN = 0, TEXT_DATE = 1, TEXT_INSTANT = 2 };

#define PLAN_MAX 64
#define PLAN_FIELDS_MAX 64

/* What walk_fields checks of one message type, worked out once from its
 * descriptor: only its string, bytes and message fields (the others
 * need nothing), each with its text kind and, for a message, the plan of
 * its type. Walking the whole descriptor per record, finding the kinds
 * by a search, was a fifth of validation. */
struct plan_field {
    const ProtobufCFieldDescriptor *f;
    uint8_t kind;
    const struct plan *sub;
};

struct plan {
    const ProtobufCMessageDescriptor *desc;
    unsigned n;
    struct plan_field fields[PLAN_FIELDS_MAX];
};

static struct plan plans[PLAN_MAX];
static size_t plan_count;
static pthread_once_t plan_once = PTHREAD_ONCE_INIT;

static const struct plan *plan_add(const ProtobufCMessageDescriptor *d)
{
    for (size_t i = 0; i < plan_count; i++)
        if (plans[i].desc == d)
            return &plans[i];
    if (plan_count == PLAN_MAX || d->n_fields > PLAN_FIELDS_MAX)
        abort(); /* the schema outgrew the table: raise the limits */
    struct plan *p = &plans[plan_count++];
    p->desc = d; /* before the fields: a type may contain itself */
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        struct plan_field *pf = &p->fields[p->n];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BYTES &&
            f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_DOUBLE &&
            f->type != PROTOBUF_C_TYPE_FLOAT)
            continue;
        pf->f = f;
        pf->kind = TEXT_PLAIN;
        if (f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED)
            pf->kind = has_suffix(f->name, "_date") ? TEXT_DATE
                       : has_suffix(f->name, "_at") ? TEXT_INSTANT : TEXT_PLAIN;
        p->n++;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            pf->sub = plan_add(f->descriptor);
    }
    return p;
}

static void plan_init(void)
{
    plan_add(&scsms__record__descriptor);
}

/* validate()'s fix: 0 checks a record taken in and changes nothing;
 * FIX_NEW checks one written now and normalises it; FIX_RESTORED does so
 * for one restored as exported, without the checks added after entries
 * were first written (text, blank required fields), which it passed. */
enum { FIX_NEW = 1, FIX_RESTORED = 2 };

static int check_value(const struct plan_field *pf, char *p, size_t k, int fix)
{
    const ProtobufCFieldDescriptor *f = pf->f;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char **s = (char **)p + k;
        /* text is checked when a record is written, not in one taken in
         * (as NaN below), and a date or an instant is read strictly by
         * normalise_time whatever it holds */
        int rc = check_string(*s, f->name, fix == FIX_NEW && pf->kind == TEXT_PLAIN);
        return rc == 0 && pf->kind != TEXT_PLAIN
                   ? normalise_time(s, f->name, pf->kind == TEXT_DATE, fix)
                   : rc;
    }
    /* NaN and infinity are no measurement, and JSON has no way to write
     * them: export would give text no JSON reader takes back. Refused
     * when a record is written (fix), not in one taken in: an entry
     * already in a log stays there, and refusing it would stop its log's
     * sync for good. */
    if (fix && (f->type == PROTOBUF_C_TYPE_DOUBLE || f->type == PROTOBUF_C_TYPE_FLOAT)) {
        double d = f->type == PROTOBUF_C_TYPE_DOUBLE ? ((const double *)p)[k]
                                                     : ((const float *)p)[k];
        return isfinite(d) ? 0
                           : scsms_fail(SCSMS_EINVAL, "field '%s' must be a finite number",
                                        f->name);
    }
    if (f->type == PROTOBUF_C_TYPE_BYTES) {
        const ProtobufCBinaryData *b = (const ProtobufCBinaryData *)p + k;
        return b->len > RECORD_MAX_FIELD
                   ? scsms_fail(SCSMS_EINVAL, "field '%s' is %zu bytes; the limit is %u",
                                f->name, b->len, RECORD_MAX_FIELD)
                   : 0;
    }
    return 0;
}

/* Walk every field of msg (recursing into sub-messages) as plan says:
 * size limits on strings and bytes, and date/instant normalisation by
 * field-name suffix (with fix 0, a refusal where it would change one). */
static int walk_fields(ProtobufCMessage *msg, const struct plan *plan, int fix)
{
    /* protobuf-c decodes field number 0 when its tag is padded ("82 00")
     * but refuses it once packed plainly: keep such bytes out of a store */
    for (unsigned i = 0; i < msg->n_unknown_fields; i++)
        if (msg->unknown_fields[i].tag == 0)
            return scsms_fail(SCSMS_EINVAL, "field number 0 in %s is not valid protobuf",
                              plan->desc->short_name);
    for (unsigned i = 0; i < plan->n; i++) {
        const struct plan_field *pf = &plan->fields[i];
        const ProtobufCFieldDescriptor *f = pf->f;
        char *p = (char *)msg + f->offset;
        size_t n = 1;
        int rc = 0;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)((char *)msg + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(size_t *)((char *)msg + f->quantifier_offset);
            p = *(char **)p;
        }
        for (size_t k = 0; k < n && rc == 0; k++) {
            if (f->type != PROTOBUF_C_TYPE_MESSAGE)
                rc = check_value(pf, p, k, fix);
            else if (((ProtobufCMessage **)p)[k])
                rc = walk_fields(((ProtobufCMessage **)p)[k], pf->sub, fix);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* True when a body field holds a non-default value. */
static int field_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const char *p = (const char *)msg + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)((const char *)msg + f->quantifier_offset) > 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: return *(char *const *)p && **(char *const *)p;
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)p != NULL;
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)p != 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p != 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p != 0;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64:
        return *(const uint64_t *)p != 0;
    default: return *(const uint32_t *)p != 0;
    }
}

static int check_scale(uint32_t v, const char *name)
{
    if (v < 1 || v > 5)
        return scsms_fail(SCSMS_EINVAL, "field '%s' must be 1 to 5, got %u", name, v);
    return 0;
}

/* Ranges that protobuf types alone do not express. */
static int check_ranges(const Scsms__Record *rec)
{
    int rc = 0;
    switch (rec->body_case) {
    case SCSMS__RECORD__BODY_RISK: {
        const Scsms__Risk *r = rec->risk;
        if ((rc = check_scale(r->likelihood, "likelihood")) ||
            (rc = check_scale(r->consequence, "consequence")) ||
            (rc = check_scale(r->residual_likelihood, "residual_likelihood")) ||
            (rc = check_scale(r->residual_consequence, "residual_consequence")))
            return rc;
        break;
    }
    case SCSMS__RECORD__BODY_INCIDENT:
        if (rec->incident->severity)
            rc = check_scale(rec->incident->severity, "severity");
        break;
    case SCSMS__RECORD__BODY_PROGRAMME:
        if (rec->programme->progress_pct > 100)
            rc = scsms_fail(SCSMS_EINVAL, "field 'progress_pct' must be 0 to 100, got %u",
                            rec->programme->progress_pct);
        break;
    default:
        break;
    }
    return rc;
}

/* status is one of t's: 0; else SCSMS_EINVAL naming t's statuses, and
 * `also` after them (a status every type has, or ""). */
static int status_of_type(const struct record_type *t, const char *status, const char *also)
{
    char allowed[512];
    size_t off = 0;
    for (const char *const *s = t->statuses; *s; s++) {
        if (strcmp(*s, status) == 0)
            return 0;
        if (off < sizeof allowed)
            off += (size_t)snprintf(allowed + off, sizeof allowed - off, "%s%s",
                                    s == t->statuses ? "" : ", ", *s);
    }
    return scsms_fail(SCSMS_EINVAL, "status '%.64s' is not valid for %s: use one of %s%s",
                      status, t->name, allowed, also);
}

int record_status_known(const struct record_type *t, const char *status)
{
    if (strcmp(status, RECORD_DISPOSED) == 0)
        return 0;
    if (t)
        return status_of_type(t, status, ", " RECORD_DISPOSED);
    size_t n;
    const struct record_type *all = record_types(&n);
    for (size_t i = 0; i < n; i++)
        for (const char *const *s = all[i].statuses; *s; s++)
            if (strcmp(*s, status) == 0)
                return 0;
    return scsms_fail(SCSMS_EINVAL, "no record type has status '%.64s': name the type with "
                      "--type to see its statuses", status);
}

static int check_status(Scsms__Record *rec, const struct record_type *t, int fix)
{
    if ((!rec->status || !*rec->status) && !fix)
        return scsms_fail(SCSMS_EINVAL, "record has no status");
    if (!rec->status || !*rec->status)
        return record_set_string(&rec->status, t->statuses[0]);
    if (record_is_tombstone(rec))
        return 0;
    return status_of_type(t, rec->status, "");
}

/* Each type's required and due-date fields, looked up by name once: a
 * search by name per field per record showed in the ingest profile. */
#define TYPE_FIELDS_MAX 12

static struct {
    const ProtobufCFieldDescriptor *required[TYPE_FIELDS_MAX], *due[TYPE_FIELDS_MAX];
} type_fields[N_TYPES];
static pthread_once_t type_fields_once = PTHREAD_ONCE_INIT;

static void resolve_names(const ProtobufCMessageDescriptor *d, const char *const *names,
                          const ProtobufCFieldDescriptor **out)
{
    size_t n = 0;
    for (; names[n]; n++) {
        if (n + 1 == TYPE_FIELDS_MAX)
            abort(); /* the schema outgrew the table: raise the limit */
        /* a name the body lacks is a defect test_record catches */
        out[n] = protobuf_c_message_descriptor_get_field_by_name(d, names[n]);
    }
    out[n] = NULL;
}

static void type_fields_init(void)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        const ProtobufCMessageDescriptor *d = body_field(types[i].body_case)->descriptor;
        resolve_names(d, types[i].required, type_fields[i].required);
        resolve_names(d, types[i].due_fields, type_fields[i].due);
    }
}

static size_t type_index(const struct record_type *t)
{
    pthread_once(&type_fields_once, type_fields_init);
    return (size_t)(t - types);
}

int record_text_blank(const char *text)
{
    return !text || text[strspn(text, " \t\r\n")] == '\0';
}

/* A required text field of blanks alone (or a list of them holding one)
 * says nothing: refused when a record is written (fix), as any text
 * check, not in one taken in. */
static int blank_required(const ProtobufCMessage *body, const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_STRING)
        return 0;
    const char *p = (const char *)body + f->offset;
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return record_text_blank(*(char *const *)p);
    size_t n = *(const size_t *)((const char *)body + f->quantifier_offset);
    for (size_t i = 0; i < n; i++)
        if (record_text_blank((*(char **const *)p)[i]))
            return 1;
    return 0;
}

static int check_required(const Scsms__Record *rec, const struct record_type *t, int fix)
{
    const ProtobufCMessage *body = *body_slot((Scsms__Record *)rec);
    const ProtobufCFieldDescriptor *const *f = type_fields[type_index(t)].required;
    for (size_t i = 0; t->required[i]; i++) {
        if (f[i] && !field_is_set(body, f[i]))
            return scsms_fail(SCSMS_EINVAL, "%s needs field '%s'", t->name, t->required[i]);
        if (f[i] && fix == FIX_NEW && blank_required(body, f[i]))
            return scsms_fail(SCSMS_EINVAL, "%s needs field '%s': blanks alone say nothing",
                              t->name, t->required[i]);
    }
    return 0;
}

static int check_links(const Scsms__Record *rec)
{
    for (size_t i = 0; i < rec->n_links; i++) {
        const Scsms__Link *l = rec->links[i];
        if (!l->rel[0] || !l->target[0])
            return scsms_fail(SCSMS_EINVAL, "link %zu needs both 'rel' and 'target'", i + 1);
        if (strlen(l->target) > RECORD_MAX_ID)
            return scsms_fail(SCSMS_EINVAL, "link %zu: target id longer than %d", i + 1,
                              RECORD_MAX_ID);
    }
    return 0;
}

/* record_validate, and with fix 0 record_check: what one would set or
 * normalise, the other refuses, and rec is not written. */
static int validate(Scsms__Record *rec, int fix)
{
    const struct record_type *t = record_type_of(rec);
    int rc;
    if (!t || !*body_slot(rec))
        return scsms_fail(SCSMS_EINVAL, "record has no type: use one of %s",
                          record_type_names());
    pthread_once(&plan_once, plan_init);
    if ((rc = walk_fields(&rec->base, &plans[0], fix)) || (rc = check_status(rec, t, fix)))
        return rc;
    if (record_is_tombstone(rec)) /* what is left of a disposed record */
        return rec->disposal_reason[0] ? 0 : scsms_fail(SCSMS_EINVAL, "a disposal needs a reason");
    if (rec->disposal_reason[0])
        return scsms_fail(SCSMS_EINVAL, "field 'disposal_reason' is only for a disposal: use "
                          "'scsms-agent dispose'");
    if ((rc = check_required(rec, t, fix)) || (rc = check_ranges(rec)) ||
        (rc = check_links(rec)))
        return rc;
    if (!fix && (rec->sensitivity == SCSMS__SENSITIVITY__SENSITIVITY_UNSET ||
                 rec->retention_days == 0))
        return scsms_fail(SCSMS_EINVAL, "record has no %s",
                          rec->retention_days ? "sensitivity" : "retention period");
    if (rec->sensitivity == SCSMS__SENSITIVITY__SENSITIVITY_UNSET)
        rec->sensitivity = SCSMS__SENSITIVITY__INTERNAL;
    if (rec->retention_days == 0)
        rec->retention_days = t->retention_days;
    return 0;
}

int record_validate(Scsms__Record *rec)
{
    return validate(rec, FIX_NEW);
}

int record_validate_restored(Scsms__Record *rec)
{
    return validate(rec, FIX_RESTORED);
}

int record_check(const Scsms__Record *rec)
{
    /* with fix 0 nothing is written through the pointer */
    return validate((Scsms__Record *)rec, 0);
}

int record_due_day(const Scsms__Record *rec, int64_t *day_out)
{
    const char *field;
    return record_due(rec, day_out, &field);
}

int record_is_tombstone(const Scsms__Record *rec)
{
    return rec->status && strcmp(rec->status, RECORD_DISPOSED) == 0;
}

const char *record_text(const Scsms__Record *rec, const char *name)
{
    const ProtobufCMessage *body = record_body((Scsms__Record *)rec);
    const ProtobufCFieldDescriptor *f =
        body ? protobuf_c_message_descriptor_get_field_by_name(body->descriptor, name) : NULL;
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    const char *v = *(char *const *)((const char *)body + f->offset);
    return v ? v : "";
}

int record_due(const Scsms__Record *rec, int64_t *day_out, const char **field)
{
    const struct record_type *t = record_type_of(rec);
    *day_out = 0;
    *field = NULL;
    if (!t || record_is_tombstone(rec))
        return 0;
    for (const char *const *d = t->done; *d; d++)
        if (strcmp(*d, rec->status) == 0)
            return 0;
    const ProtobufCMessage *body = *body_slot((Scsms__Record *)rec);
    const ProtobufCFieldDescriptor *const *f = type_fields[type_index(t)].due;
    for (size_t i = 0; t->due_fields[i]; i++) {
        const char *v = f[i] ? *(char *const *)((const char *)body + f[i]->offset) : NULL;
        if (v && *v && isotime_parse_date(v, day_out) == 0) {
            *field = t->due_fields[i];
            return 1;
        }
    }
    return 0;
}

int record_add_link(Scsms__Record *rec, const char *rel, const char *target)
{
    Scsms__Link **v = realloc(rec->links, (rec->n_links + 1) * sizeof *v);
    if (!v)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    rec->links = v;
    Scsms__Link *l = malloc(sizeof *l);
    if (!l)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    scsms__link__init(l);
    v[rec->n_links++] = l;
    int rc = record_set_string(&l->rel, rel);
    return rc ? rc : record_set_string(&l->target, target);
}

int record_id_is_owners(const char *id, const char *owner)
{
    size_t ol = strlen(owner);
    if (strncmp(id, owner, ol) != 0 || id[ol] != '-')
        return 0;
    const char *code = id + ol + 1, *dash = strchr(code, '-');
    if (!dash || dash == code)
        return 0;
    /* every code is three letters: one compare each (this runs for every
     * entry the server takes in) */
    int known = 0;
    for (size_t i = 0; i < N_TYPES && !known && dash - code == 3; i++)
        known = types[i].code[0] == code[0] && memcmp(types[i].code, code, 3) == 0;
    const char *d = dash + 1;
    size_t nd = strspn(d, "0123456789");
    return known && nd > 0 && (d[nd] == 0 || d[nd] == '-');
}

int record_id_fits_type(const char *id, const char *owner, const struct record_type *t)
{
    if (!record_id_is_owners(id, owner))
        return 0;
    const char *code = id + strlen(owner) + 1, *d = code + 4;
    const char *suffix = d + strspn(d, "0123456789");
    if (*suffix == '\0')
        return memcmp(code, t->code, 3) == 0;
    return t->body_case == SCSMS__RECORD__BODY_NONCONFORMITY && strncmp(suffix, "-NCR", 4) == 0 &&
           (suffix[4] == '\0' || suffix[4] == '-');
}

void record_review_key(const Scsms__Record *rec, char out[RECORD_REVIEW_KEY_LEN + 1])
{
    const char *day = rec->body_case == SCSMS__RECORD__BODY_CREDIBILITY_REVIEW
                          ? rec->credibility_review->reviewed_date
                          : "";
    /* the id's number last: of two reviews in the same second, the one
     * written after (ids number by log position) */
    const char *dash = strrchr(rec->id, '-');
    unsigned long long n = dash ? strtoull(dash + 1, NULL, 10) : 0;
    snprintf(out, RECORD_REVIEW_KEY_LEN + 1, "%-10.10s%-20.20s%020llu", day, rec->updated_at, n);
}

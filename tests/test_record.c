/* test_record.c -- Check suite for common/record.{h,c}: the type table
 * against the schema, validation and normalisation, due days, decoding. */
#include "arena.h"
#include "error.h"
#include "isotime.h"
#include "record.h"
#include "testutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_body_field(const ProtobufCFieldDescriptor *f)
{
    return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static const ProtobufCMessageDescriptor *body_descriptor(const struct record_type *t)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&scsms__record__descriptor, t->body_case);
    ck_assert_msg(f != NULL, "type %s: no Record field %d", t->name, (int)t->body_case);
    ck_assert_int_eq(f->type, PROTOBUF_C_TYPE_MESSAGE);
    return f->descriptor;
}

static void set(char **field, const char *text)
{
    ck_assert_int_eq(record_set_string(field, text), 0);
}

static Scsms__Record *new_of(const char *name)
{
    const struct record_type *t = record_type_by_name(name);
    ck_assert_msg(t != NULL, "no type %s", name);
    Scsms__Record *rec = record_new(t);
    ck_assert_ptr_nonnull(rec);
    return rec;
}

/* A risk that satisfies every rule. */
static Scsms__Record *valid_risk(void)
{
    Scsms__Record *rec = new_of("risk");
    Scsms__Risk *r = rec->risk;
    r->threat_category = SCSMS__THREAT_CATEGORY__PHYSICAL_FAILURE_OR_MALICIOUS_ACT;
    set(&r->threatened, "container yard");
    set(&r->scenario, "seal tampering at night");
    r->likelihood = 3;
    r->consequence = 4;
    r->residual_likelihood = 2;
    r->residual_consequence = 2;
    r->treatment = SCSMS__RISK__TREATMENT__REDUCE;
    set(&r->next_review_date, "2027-01-15");
    return rec;
}

static Scsms__Record *valid_incident(void)
{
    Scsms__Record *rec = new_of("incident");
    Scsms__Incident *in = rec->incident;
    in->kind = SCSMS__INCIDENT__KIND__SECURITY_INCIDENT;
    set(&in->occurred_at, "2026-11-20T10:15:00Z");
    set(&in->location, "gate 3");
    return rec;
}

/* Assert record_validate refuses rec with SCSMS_EINVAL and a message
 * containing each of the NULL-terminated texts; frees rec. */
static void refused(Scsms__Record *rec, ...)
{
    scsms_errclear();
    int rc = record_validate(rec);
    ck_assert_msg(rc == SCSMS_EINVAL, "validate gave %d (%s), want EINVAL", rc, scsms_errmsg());
    va_list ap;
    va_start(ap, rec);
    for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *))
        ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'",
                      scsms_errmsg(), want);
    va_end(ap);
    record_free(rec);
}

static void validates(Scsms__Record *rec)
{
    int rc = record_validate(rec);
    ck_assert_msg(rc == 0, "validate gave %d: %s", rc, scsms_errmsg());
}

/* ---------------------------------------------------------------- schema */

START_TEST(table_matches_oneof)
{
    size_t n;
    const struct record_type *types = record_types(&n);
    const ProtobufCMessageDescriptor *rd = &scsms__record__descriptor;
    size_t n_body = 0;

    /* every oneof field: exactly one row, same name and case */
    for (unsigned i = 0; i < rd->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &rd->fields[i];
        if (!is_body_field(f))
            continue;
        n_body++;
        int rows = 0;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(types[k].name, f->name) == 0 || (unsigned)types[k].body_case == f->id) {
                ck_assert_msg(strcmp(types[k].name, f->name) == 0 &&
                                  (unsigned)types[k].body_case == f->id,
                              "row %s/%d does not match field %s = %u", types[k].name,
                              (int)types[k].body_case, f->name, f->id);
                rows++;
            }
        }
        ck_assert_msg(rows == 1, "body field %s has %d rows in record_types()", f->name, rows);
    }
    ck_assert_uint_eq(n_body, n);
    ck_assert_uint_eq(n, 29);

    /* every row: a oneof field of that number and name; field-number order */
    for (size_t k = 0; k < n; k++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(rd, types[k].body_case);
        ck_assert_msg(f != NULL && is_body_field(f), "type %s: case %d is no body field",
                      types[k].name, (int)types[k].body_case);
        ck_assert_str_eq(f->name, types[k].name);
        ck_assert_ptr_eq(protobuf_c_message_descriptor_get_field_by_name(rd, types[k].name), f);
        if (k > 0)
            ck_assert_int_lt(types[k - 1].body_case, types[k].body_case);
        ck_assert_ptr_eq(record_type_by_name(types[k].name), &types[k]);

        Scsms__Record *rec = record_new(&types[k]);
        ck_assert_ptr_nonnull(rec);
        ck_assert_int_eq(rec->body_case, types[k].body_case);
        ck_assert_ptr_eq(record_type_of(rec), &types[k]);
        ck_assert_ptr_nonnull(strstr(record_type_names(), types[k].name));
        record_free(rec);
    }
    ck_assert_ptr_null(record_type_by_name("bogus"));
    ck_assert_ptr_null(record_type_by_name(""));
    Scsms__Record empty = SCSMS__RECORD__INIT;
    ck_assert_ptr_null(record_type_of(&empty));
}
END_TEST

START_TEST(table_rows_well_formed)
{
    size_t n;
    const struct record_type *types = record_types(&n);
    for (size_t k = 0; k < n; k++) {
        const struct record_type *t = &types[k];
        const ProtobufCMessageDescriptor *bd = body_descriptor(t);

        ck_assert_msg(t->statuses[0] != NULL, "type %s has no status", t->name);
        for (const char *const *s = t->statuses; *s; s++) {
            ck_assert_msg(**s != '\0', "type %s: empty status", t->name);
            for (const char *const *o = s + 1; *o; o++)
                ck_assert_msg(strcmp(*s, *o) != 0, "type %s: status %s twice", t->name, *s);
        }
        for (const char *const *r = t->required; *r; r++) {
            ck_assert_msg(protobuf_c_message_descriptor_get_field_by_name(bd, *r) != NULL,
                          "type %s: required field '%s' is not in %s", t->name, *r, bd->name);
            for (const char *const *o = r + 1; *o; o++)
                ck_assert_msg(strcmp(*r, *o) != 0, "type %s: %s required twice", t->name, *r);
        }
        for (const char *const *d = t->due_fields; *d; d++) {
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field_by_name(bd, *d);
            ck_assert_msg(f != NULL, "type %s: due field '%s' is not in %s", t->name, *d,
                          bd->name);
            ck_assert_msg(ends_with(*d, "_date"), "type %s: due field '%s' is not a _date",
                          t->name, *d);
            ck_assert_msg(f->type == PROTOBUF_C_TYPE_STRING &&
                              f->label != PROTOBUF_C_LABEL_REPEATED,
                          "type %s: due field '%s' is not a single string", t->name, *d);
        }
        ck_assert_msg(t->retention_days > 0, "type %s: no retention", t->name);
        ck_assert_msg(t->issuers != 0 &&
                          (t->issuers & ~(unsigned)(RECORD_BY_SITE | RECORD_BY_HQ |
                                                    RECORD_BY_PARTNER)) == 0,
                      "type %s: issuers %#x", t->name, t->issuers);
        ck_assert_msg(t->clause && *t->clause, "type %s: no clause", t->name);

        /* ids are CODE-..., so codes are three capitals and unique */
        ck_assert_msg(strlen(t->code) == 3 && isupper((unsigned char)t->code[0]) &&
                          isupper((unsigned char)t->code[1]) &&
                          isupper((unsigned char)t->code[2]),
                      "type %s: code '%s'", t->name, t->code);
        for (size_t o = k + 1; o < n; o++)
            ck_assert_msg(strcmp(t->code, types[o].code) != 0, "types %s and %s share %s",
                          t->name, types[o].name, t->code);
    }
    /* a state in which nothing is due must be one of the type's states */
    for (size_t k2 = 0; k2 < n; k2++)
        for (const char *const *d = types[k2].done; *d; d++) {
            int found = 0;
            for (const char *const *st = types[k2].statuses; *st; st++)
                found |= strcmp(*st, *d) == 0;
            ck_assert_msg(found, "%s: done state '%s' is not one of its statuses", types[k2].name, *d);
        }
}
END_TEST

START_TEST(body_names_do_not_clash)
{
    size_t n;
    const struct record_type *types = record_types(&n);
    const ProtobufCMessageDescriptor *rd = &scsms__record__descriptor;
    unsigned n_envelope = 0;
    for (unsigned i = 0; i < rd->n_fields; i++)
        n_envelope += !is_body_field(&rd->fields[i]);
    ck_assert_uint_eq(n_envelope, 11); /* id ... links, disposal_reason */

    for (size_t k = 0; k < n; k++) {
        const ProtobufCMessageDescriptor *bd = body_descriptor(&types[k]);
        for (unsigned j = 0; j < bd->n_fields; j++) {
            const char *name = bd->fields[j].name;
            ck_assert_msg(strcmp(name, "type") != 0, "%s.type clashes with the type column",
                          bd->name);
            for (unsigned i = 0; i < rd->n_fields; i++) {
                if (is_body_field(&rd->fields[i]))
                    continue;
                ck_assert_msg(strcmp(name, rd->fields[i].name) != 0,
                              "%s.%s clashes with the envelope field", bd->name, name);
            }
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- validation */

START_TEST(valid_records)
{
    const struct record_type *rt = record_type_by_name("risk");
    Scsms__Record *rec = valid_risk();
    validates(rec);
    ck_assert_str_eq(rec->status, "open");
    ck_assert_str_eq(rec->status, rt->statuses[0]);
    ck_assert_int_eq(rec->sensitivity, SCSMS__SENSITIVITY__INTERNAL);
    ck_assert_uint_eq(rec->retention_days, rt->retention_days);
    ck_assert_uint_eq(rec->retention_days, 7 * 365);
    ck_assert_str_eq(rec->risk->next_review_date, "2027-01-15");
    /* validating again changes nothing */
    validates(rec);
    ck_assert_str_eq(rec->status, "open");
    record_free(rec);

    const struct record_type *it = record_type_by_name("incident");
    rec = valid_incident();
    validates(rec);
    ck_assert_str_eq(rec->status, "open");
    ck_assert_int_eq(rec->sensitivity, SCSMS__SENSITIVITY__INTERNAL);
    ck_assert_uint_eq(rec->retention_days, it->retention_days);
    ck_assert_str_eq(rec->incident->occurred_at, "2026-11-20T10:15:00Z");
    record_free(rec);

    /* given values are kept */
    rec = valid_risk();
    set(&rec->status, "accepted");
    rec->sensitivity = SCSMS__SENSITIVITY__RESTRICTED;
    rec->retention_days = 100;
    validates(rec);
    ck_assert_str_eq(rec->status, "accepted");
    ck_assert_int_eq(rec->sensitivity, SCSMS__SENSITIVITY__RESTRICTED);
    ck_assert_uint_eq(rec->retention_days, 100);
    record_free(rec);

    /* the type's own default, not one shared value */
    rec = new_of("scope");
    set(&rec->scope->boundaries, "port of Rotterdam terminal");
    validates(rec);
    ck_assert_str_eq(rec->status, "draft");
    ck_assert_uint_eq(rec->retention_days, 10 * 365);
    record_free(rec);
}
END_TEST

START_TEST(risk_scales)
{
    Scsms__Record *rec = valid_risk();
    rec->risk->likelihood = 0;
    refused(rec, "likelihood", NULL);
    rec = valid_risk();
    rec->risk->likelihood = 6;
    refused(rec, "'likelihood'", "1 to 5", "6", NULL);
    rec = valid_risk();
    rec->risk->consequence = 6;
    refused(rec, "'consequence'", NULL);
    rec = valid_risk();
    rec->risk->residual_likelihood = 7;
    refused(rec, "'residual_likelihood'", NULL);
    rec = valid_risk();
    rec->risk->residual_consequence = 100;
    refused(rec, "'residual_consequence'", NULL);

    /* the bounds themselves are valid */
    rec = valid_risk();
    rec->risk->likelihood = 1;
    rec->risk->consequence = 5;
    validates(rec);
    record_free(rec);

    /* incident severity is optional, but 1..5 when given */
    rec = valid_incident();
    rec->incident->severity = 6;
    refused(rec, "'severity'", NULL);
    rec = valid_incident();
    rec->incident->severity = 5;
    validates(rec);
    record_free(rec);
}
END_TEST

START_TEST(required_fields)
{
    Scsms__Record *rec = valid_risk();
    free(rec->risk->threatened);
    rec->risk->threatened = (char *)protobuf_c_empty_string;
    refused(rec, "risk needs field 'threatened'", NULL);
    rec = valid_risk();
    rec->risk->treatment = SCSMS__RISK__TREATMENT__TREATMENT_UNSET;
    refused(rec, "'treatment'", NULL);
    rec = valid_incident();
    set(&rec->incident->location, "");
    refused(rec, "incident needs field 'location'", NULL);
    rec = valid_incident();
    set(&rec->incident->occurred_at, "");
    refused(rec, "'occurred_at'", NULL);
    /* blanks alone say nothing, when written; a record taken in as its
     * store wrote it keeps them (an entry already in a log stays) */
    rec = valid_incident();
    validates(rec);
    set(&rec->incident->location, " \t ");
    ck_assert_msg(record_check(rec) == 0, "%s", scsms_errmsg());
    refused(rec, "incident needs field 'location': blanks alone say nothing", NULL);
    rec = new_of("declaration");
    set(&rec->declaration->partner_id, "P-1");
    set(&rec->declaration->coverage, "road");
    set(&rec->declaration->valid_from_date, "2026-01-01");
    set(&rec->declaration->valid_to_date, "2027-01-01");
    rec->declaration->measures = calloc(2, sizeof *rec->declaration->measures);
    ck_assert_ptr_nonnull(rec->declaration->measures);
    rec->declaration->n_measures = 2;
    set(&rec->declaration->measures[0], "seals");
    set(&rec->declaration->measures[1], "  ");
    refused(rec, "declaration needs field 'measures': blanks alone say nothing", NULL);

    /* no body at all */
    rec = malloc(sizeof *rec);
    ck_assert_ptr_nonnull(rec);
    scsms__record__init(rec);
    refused(rec, "no type", "risk", "incident", NULL);
}
END_TEST

START_TEST(status_values)
{
    Scsms__Record *rec = valid_risk();
    set(&rec->status, "bogus");
    refused(rec, "'bogus'", "open, in_treatment, accepted, closed", NULL);
    rec = valid_incident();
    set(&rec->status, "accepted"); /* valid for a risk, not for an incident */
    refused(rec, "'accepted'", "open, investigating, closed", NULL);
    rec = valid_risk();
    set(&rec->status, "Open"); /* exact match only */
    refused(rec, "'Open'", NULL);

    /* each listed status is accepted for its type */
    const struct record_type *risk = record_type_by_name("risk");
    for (const char *const *s = risk->statuses; *s; s++) {
        rec = valid_risk();
        set(&rec->status, *s);
        validates(rec);
        ck_assert_str_eq(rec->status, *s);
        record_free(rec);
    }
}
END_TEST

START_TEST(dates_and_instants)
{
    Scsms__Record *rec = valid_risk();
    set(&rec->risk->next_review_date, "2026-2-3");
    refused(rec, "next_review_date", "2026-2-3", NULL);
    rec = valid_risk();
    set(&rec->risk->next_review_date, "2026-02-30");
    refused(rec, "next_review_date", "day 30", NULL);
    rec = valid_risk();
    set(&rec->risk->next_review_date, "2026-11-20T10:15:00Z");
    refused(rec, "next_review_date", NULL);

    /* an offset in an _at field is normalised to UTC */
    rec = valid_incident();
    set(&rec->incident->occurred_at, "2026-11-20T10:15:00+01:00");
    validates(rec);
    ck_assert_str_eq(rec->incident->occurred_at, "2026-11-20T09:15:00Z");
    record_free(rec);

    rec = valid_incident();
    set(&rec->incident->occurred_at, "2026-11-20T09:15:00.250Z");
    set(&rec->incident->reported_at, "2026-11-20t09:45:00z");
    set(&rec->created_at, "2026-11-21T01:00:00+02:00");
    validates(rec);
    ck_assert_str_eq(rec->incident->occurred_at, "2026-11-20T09:15:00Z");
    ck_assert_str_eq(rec->incident->reported_at, "2026-11-20T09:45:00Z");
    ck_assert_str_eq(rec->created_at, "2026-11-20T23:00:00Z");
    record_free(rec);

    /* an instant needs a time and a zone */
    rec = valid_incident();
    set(&rec->incident->occurred_at, "2026-11-20");
    refused(rec, "occurred_at", "not an instant", NULL);
    rec = valid_incident();
    set(&rec->incident->occurred_at, "2026-11-20T10:15:00");
    refused(rec, "occurred_at", "time zone", NULL);
    rec = valid_incident();
    set(&rec->incident->reported_at, "2026-11-20T25:15:00Z");
    refused(rec, "reported_at", NULL);

    /* found by fuzz_json: an offset must not carry an instant out of the
     * year range once it is in UTC */
    rec = valid_incident();
    set(&rec->incident->occurred_at, "9999-12-31T23:30:00-01:00");
    refused(rec, "occurred_at", "outside the years", NULL);
    rec = valid_incident();
    set(&rec->incident->occurred_at, "1900-01-01T00:30:00+01:00");
    refused(rec, "occurred_at", "outside the years", NULL);

    /* dates inside repeated sub-messages are checked too */
    rec = new_of("programme");
    set(&rec->programme->title, "fence upgrade");
    rec->programme->tasks = malloc(sizeof *rec->programme->tasks);
    ck_assert_ptr_nonnull(rec->programme->tasks);
    rec->programme->tasks[0] = malloc(sizeof **rec->programme->tasks);
    ck_assert_ptr_nonnull(rec->programme->tasks[0]);
    scsms__programme_task__init(rec->programme->tasks[0]);
    rec->programme->n_tasks = 1;
    set(&rec->programme->tasks[0]->due_date, "2026-13-01");
    refused(rec, "due_date", "month 13", NULL);
}
END_TEST

START_TEST(field_sizes)
{
    char *big = malloc(70001);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 70000);
    big[70000] = '\0';
    Scsms__Record *rec = valid_risk();
    set(&rec->risk->scenario, big);
    refused(rec, "'scenario'", "70000 bytes", NULL);

    /* exactly the limit is accepted */
    big[RECORD_MAX_FIELD] = '\0';
    rec = valid_risk();
    set(&rec->risk->scenario, big);
    validates(rec);
    ck_assert_uint_eq(strlen(rec->risk->scenario), RECORD_MAX_FIELD);
    record_free(rec);
    big[RECORD_MAX_FIELD] = 'x';

    /* envelope strings and bytes fields too */
    rec = valid_risk();
    set(&rec->author, big);
    refused(rec, "'author'", NULL);

    rec = new_of("management_review");
    set(&rec->management_review->period_from_date, "2026-01-01");
    set(&rec->management_review->period_to_date, "2026-06-30");
    set(&rec->management_review->held_date, "2026-07-15");
    rec->management_review->pack_sha256.data = (uint8_t *)big;
    rec->management_review->pack_sha256.len = 70000;
    big = NULL; /* now owned by the record */
    refused(rec, "'pack_sha256'", NULL);
}
END_TEST

/* text refused by record_check_text, naming byte `at` and saying why. */
static void text_refused(const char *text, size_t at, const char *why)
{
    char where[32];
    snprintf(where, sizeof where, "at byte %zu", at);
    ck_assert_int_eq(record_check_text(text, "field 'x'"), SCSMS_EINVAL);
    ck_assert_msg(strstr(scsms_errmsg(), where) && strstr(scsms_errmsg(), why) &&
                      strstr(scsms_errmsg(), "field 'x'"),
                  "'%s': %s", text, scsms_errmsg());
}

/* Every string field must be UTF-8 (a protobuf string, which other
 * languages' decoders refuse otherwise) and hold no control character
 * but tab and line breaks. Positions around the eight-byte words the
 * check reads at once, and sequences cut at the end, are named too. */
START_TEST(text_is_utf8_without_controls)
{
    static const char *const good[] = {
        "", "plain", "a\tb\nc\r", "\xc3\xa9t\xc3\xa9",             /* été */
        "\xe6\x97\xa5\xe6\x9c\xac",                                /* two CJK */
        "1234567\xc3\xa9", "12345678\xc3\xa9", "123456\xf0\x9f\x98\x80", /* 😀 */
        "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf",        /* U+D7FF, U+E000, U+10FFFF */
        "\xf0\x90\x80\x80",                                        /* U+10000 */
        "\xc2\xa0no-break", "\xc2\xbf~",                             /* U+00A0, U+00BF, tilde */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(record_check_text(good[i], "x") == 0, "'%s': %s", good[i],
                      scsms_errmsg());
    text_refused("\xc0\xaf", 1, "UTF-8");          /* an overlong '/' */
    text_refused("ab\xe0\x80\xaf", 3, "UTF-8");    /* overlong in three bytes */
    text_refused("\xed\xa0\x80", 1, "UTF-8");      /* a surrogate */
    text_refused("\xf4\x90\x80\x80", 1, "UTF-8"); /* past U+10FFFF */
    text_refused("\xf5\x80\x80\x80", 1, "UTF-8");
    text_refused("\x80", 1, "UTF-8");               /* a lone continuation byte */
    text_refused("abc\xe6\x97", 4, "UTF-8");        /* cut at the end */
    text_refused("1234567\xff", 8, "UTF-8");
    text_refused("12345678\xc3", 9, "UTF-8");
    text_refused("123456789012345\xe6\x97x", 16, "UTF-8");
    text_refused("a\x1b[31m", 2, "control character (0x1b)");
    /* inside a whole word of eight, where the check reads words */
    text_refused("ab\x01" "defgh12345678", 3, "control character (0x01)");
    text_refused("abcdefg~\x80" "bcdefgh", 9, "UTF-8");
    ck_assert_int_eq(record_check_text("abcdefgh1234\t678ijklmnop", "x"), 0);
    text_refused("12345678\x01", 9, "control character (0x01)");
    /* DEL, alone and inside a word of eight; the C1 controls (U+009B
     * starts an escape sequence on some terminals) */
    text_refused("a\x7f", 2, "control character (0x7f)");
    text_refused("abcdef\x7fh12345678", 7, "control character (0x7f)");
    text_refused("ab\xc2\x9b" "31m", 3, "control character (U+009B)");
    text_refused("12345678\xc2\x80", 9, "control character (U+0080)");
    text_refused("\xc2\x9f", 1, "control character (U+009F)");
    text_refused("\xc2" "A", 1, "UTF-8"); /* 0xc2 that begins no sequence */

    /* a record's fields as given are refused; one taken in as its store
     * wrote it is not (an entry written before the check stays in its
     * log, and refusing it would stop the log's sync for good) */
    Scsms__Record *rec = valid_risk();
    set(&rec->risk->scenario, "Seal \xc0\xaf tampering");
    refused(rec, "'scenario'", "UTF-8", NULL);
    rec = valid_risk();
    validates(rec);
    set(&rec->author, "J. \x07Ode");
    ck_assert_int_eq(record_check(rec), 0);
    refused(rec, "'author'", "control character (0x07) at byte 4", NULL);
}
END_TEST

static Scsms__Link *new_link(const char *rel, const char *target)
{
    Scsms__Link *l = malloc(sizeof *l);
    ck_assert_ptr_nonnull(l);
    scsms__link__init(l);
    set(&l->rel, rel);
    set(&l->target, target);
    return l;
}

static void add_link(Scsms__Record *rec, const char *rel, const char *target)
{
    Scsms__Link **links = realloc(rec->links, (rec->n_links + 1) * sizeof *links);
    ck_assert_ptr_nonnull(links);
    links[rec->n_links++] = new_link(rel, target);
    rec->links = links;
}

START_TEST(links)
{
    Scsms__Record *rec = valid_incident();
    add_link(rec, "risk", "RSK-site-a-1");
    add_link(rec, "action", "ACT-site-a-4");
    validates(rec);
    record_free(rec);

    rec = valid_incident();
    add_link(rec, "risk", "RSK-site-a-1");
    add_link(rec, "source", "");
    refused(rec, "link 2", "'target'", NULL);

    rec = valid_incident();
    add_link(rec, "", "RSK-site-a-1");
    refused(rec, "link 1", "'rel'", NULL);

    char target[RECORD_MAX_ID + 2];
    memset(target, 't', sizeof target - 1);
    target[sizeof target - 1] = '\0';
    rec = valid_incident();
    add_link(rec, "risk", target);
    refused(rec, "link 1", "target", NULL);
}
END_TEST

START_TEST(due_day)
{
    int64_t day = -1, want;
    Scsms__Record *rec = valid_risk();
    validates(rec);
    ck_assert_int_eq(record_due_day(rec, &day), 1);
    ck_assert_int_eq(day, 20833); /* 2027-01-15 */
    ck_assert_int_eq(isotime_parse_date("2027-01-15", &want), 0);
    ck_assert_int_eq(day, want);
    record_free(rec);

    /* a risk without a review date has no due day */
    rec = valid_risk();
    set(&rec->risk->next_review_date, "");
    validates(rec);
    day = -1;
    ck_assert_int_eq(record_due_day(rec, &day), 0);
    ck_assert_int_eq(day, 0);
    record_free(rec);

    /* an incident never has one */
    rec = valid_incident();
    validates(rec);
    day = -1;
    ck_assert_int_eq(record_due_day(rec, &day), 0);
    ck_assert_int_eq(day, 0);
    record_free(rec);

    /* an action is due on its due_date */
    rec = new_of("action");
    rec->action->kind = SCSMS__ACTION__KIND__CORRECTIVE;
    set(&rec->action->description, "replace seal log");
    set(&rec->action->responsible, "site manager");
    set(&rec->action->due_date, "2026-12-01");
    validates(rec);
    ck_assert_int_eq(record_due_day(rec, &day), 1);
    ck_assert_int_eq(day, 20788);
    record_free(rec);
}
END_TEST

START_TEST(unpack)
{
    Scsms__Record *rec = valid_risk(), *back = NULL;
    set(&rec->id, "RSK-site-a-1");
    set(&rec->owner, "site-a");
    rec->version = 2;
    validates(rec);
    size_t len = scsms__record__get_packed_size(rec);
    uint8_t *buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(scsms__record__pack(rec, buf), len);

    ck_assert_int_eq(record_unpack(buf, len, &back), 0);
    ck_assert_ptr_eq(record_type_of(back), record_type_by_name("risk"));
    ck_assert_str_eq(back->id, "RSK-site-a-1");
    ck_assert_str_eq(back->owner, "site-a");
    ck_assert_uint_eq(back->version, 2);
    ck_assert_str_eq(back->status, "open");
    ck_assert_uint_eq(back->risk->likelihood, 3);
    ck_assert_str_eq(back->risk->next_review_date, "2027-01-15");
    record_free(back);
    back = NULL;

    /* cut inside the body */
    scsms_errclear();
    ck_assert_int_eq(record_unpack(buf, len - 1, &back), SCSMS_ECORRUPT);
    ck_assert_ptr_null(back);
    free(buf);
    record_free(rec);

    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x13, 0x37};
    scsms_errclear();
    ck_assert_int_eq(record_unpack(garbage, sizeof garbage, &back), SCSMS_ECORRUPT);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "record"));

    /* a well-formed envelope without a body is not a record */
    Scsms__Record env = SCSMS__RECORD__INIT;
    env.id = "RSK-site-a-1";
    len = scsms__record__get_packed_size(&env);
    buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    scsms__record__pack(&env, buf);
    scsms_errclear();
    ck_assert_int_eq(record_unpack(buf, len, &back), SCSMS_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "no known type"));
    ck_assert_ptr_null(back);
    free(buf);

    /* over the record size limit */
    uint8_t *big = calloc(1, RECORD_MAX_BYTES + 1);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(record_unpack(big, RECORD_MAX_BYTES + 1, &back), SCSMS_ECORRUPT);
    ck_assert_ptr_null(back);
    free(big);

    /* found by fuzz_record: field number 0 written as a padded tag
     * (0x82 0x00) decodes, but would pack to bytes that do not; a record
     * carrying it must not validate */
    rec = valid_risk();
    len = scsms__record__get_packed_size(rec);
    buf = malloc(len + 3);
    ck_assert_ptr_nonnull(buf);
    scsms__record__pack(rec, buf);
    buf[len] = 0x82;
    buf[len + 1] = 0x00; /* tag 2 padded to two bytes: field 0, length-delimited */
    buf[len + 2] = 0x00; /* of length 0 */
    ck_assert_int_eq(record_unpack(buf, len + 3, &back), 0);
    ck_assert_int_eq(record_validate(back), SCSMS_EINVAL);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "field number 0"));
    record_free(back);
    back = NULL;
    free(buf);
    record_free(rec);

    record_free(NULL);
}

/* rec packed, unpacked into `with` (NULL: malloc): a received copy. */
static Scsms__Record *received(const Scsms__Record *rec, ProtobufCAllocator *with)
{
    size_t len = scsms__record__get_packed_size(rec);
    uint8_t *buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    scsms__record__pack(rec, buf);
    Scsms__Record *back = NULL;
    ck_assert_int_eq(record_unpack_with(with, buf, len, &back), 0);
    free(buf);
    return back;
}

/* record_check refuses (EINVAL, message holding want) what record_validate
 * would have had to change, and changes nothing itself. */
static void check_refuses(Scsms__Record *rec, const char *want)
{
    Scsms__Record *copy = received(rec, NULL);
    size_t len = scsms__record__get_packed_size(copy);
    uint8_t *before = malloc(len), *after = malloc(len);
    scsms__record__pack(copy, before);
    scsms_errclear();
    int rc = record_check(copy);
    ck_assert_msg(rc == SCSMS_EINVAL, "check gave %d (%s), want EINVAL", rc, scsms_errmsg());
    ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'",
                  scsms_errmsg(), want);
    ck_assert_uint_eq(scsms__record__get_packed_size(copy), len);
    scsms__record__pack(copy, after);
    ck_assert_mem_eq(after, before, len);
    free(before);
    free(after);
    record_free(copy);
    record_free(rec);
}

/* A received record is checked, not normalised: one its writer's store
 * wrote passes as it is; what that store would have set or normalised is
 * refused; what it would have refused is refused the same way. */
START_TEST(check_without_change)
{
    Scsms__Record *rec = valid_incident();
    set(&rec->incident->occurred_at, "2026-11-20T10:15:00+01:00");
    validates(rec); /* as the writer's store leaves it */
    Scsms__Record *copy = received(rec, NULL);
    ck_assert_int_eq(record_check(copy), 0);
    ck_assert_str_eq(copy->incident->occurred_at, "2026-11-20T09:15:00Z");
    record_free(copy);

    /* an offset a store would have turned into UTC */
    copy = received(rec, NULL);
    set(&copy->incident->occurred_at, "2026-11-20T10:15:00+01:00");
    check_refuses(copy, "field 'occurred_at' is '2026-11-20T10:15:00+01:00', not in the form "
                        "its writer's store gives it ('2026-11-20T09:15:00Z')");
    /* a status, sensitivity or retention a store would have set */
    copy = received(rec, NULL);
    set(&copy->status, "");
    check_refuses(copy, "record has no status");
    copy = received(rec, NULL);
    copy->sensitivity = SCSMS__SENSITIVITY__SENSITIVITY_UNSET;
    check_refuses(copy, "record has no sensitivity");
    copy = received(rec, NULL);
    copy->retention_days = 0;
    check_refuses(copy, "record has no retention period");
    /* what a store refuses, refused alike */
    copy = received(rec, NULL);
    set(&copy->incident->occurred_at, "2026-11-20");
    check_refuses(copy, "not an instant");
    copy = received(rec, NULL);
    copy->incident->severity = 9;
    check_refuses(copy, "field 'severity' must be 1 to 5, got 9");
    copy = received(rec, NULL);
    set(&copy->status, "pondering");
    check_refuses(copy, "status 'pondering' is not valid for incident");
    record_free(rec);
}
END_TEST

/* Decoded into an arena, a record is the same record, and a reset gives
 * its memory back for the next. */
START_TEST(unpack_into_an_arena)
{
    struct arena ar = {0};
    Scsms__Record *rec = valid_risk();
    validates(rec);
    for (int round = 0; round < 3; round++) {
        Scsms__Record *back = received(rec, arena_allocator(&ar));
        ck_assert_ptr_eq(record_type_of(back), record_type_by_name("risk"));
        ck_assert_str_eq(back->risk->threatened, "container yard");
        ck_assert_str_eq(back->risk->next_review_date, "2027-01-15");
        ck_assert_int_eq(record_check(back), 0);
        arena_reset(&ar);
    }
    /* bytes that are no record leave nothing to free by hand */
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x13, 0x37};
    Scsms__Record *back = NULL;
    ck_assert_int_eq(record_unpack_with(arena_allocator(&ar), garbage, sizeof garbage, &back),
                     SCSMS_ECORRUPT);
    ck_assert_ptr_null(back);
    arena_free(&ar);
    record_free(rec);
}
END_TEST

START_TEST(text_of_a_body_field)
{
    Scsms__Record *a = record_new(record_type_by_name("incident"));
    ck_assert_int_eq(record_set_string(&a->incident->location, "Gate 3"), 0);
    ck_assert_str_eq(record_text(a, "location"), "Gate 3");
    ck_assert_str_eq(record_text(a, "activity"), ""); /* unset */
    ck_assert_ptr_null(record_text(a, "severity"));   /* not text */
    ck_assert_ptr_null(record_text(a, "no_such_field"));
    record_free(a);
}
END_TEST

START_TEST(dup_is_a_deep_copy)
{
    Scsms__Record *a = record_new(record_type_by_name("incident")), *b = NULL;
    ck_assert_int_eq(record_set_string(&a->incident->location, "Gate 3"), 0);
    ck_assert_int_eq(record_dup(a, &b), 0);
    ck_assert_str_eq(b->incident->location, "Gate 3");
    ck_assert_ptr_ne(b->incident->location, a->incident->location);
    ck_assert_int_eq(record_set_string(&b->incident->location, "Gate 4"), 0);
    ck_assert_str_eq(a->incident->location, "Gate 3");
    record_free(a);
    record_free(b);
}
END_TEST

START_TEST(later_review_by_sealed_date)
{
    const struct record_type *t = record_type_by_name("credibility_review");
    Scsms__Record *a = record_new(t), *b = record_new(t);
    char ka[RECORD_REVIEW_KEY_LEN + 1], kb[RECORD_REVIEW_KEY_LEN + 1];
    ck_assert_int_eq(record_set_string(&a->credibility_review->reviewed_date, "2026-06-01"), 0);
    ck_assert_int_eq(record_set_string(&a->updated_at, "2026-06-30T13:00:00Z"), 0);
    ck_assert_int_eq(record_set_string(&b->credibility_review->reviewed_date, "2026-06-30"), 0);
    ck_assert_int_eq(record_set_string(&b->updated_at, "2026-06-30T09:00:00Z"), 0);
    record_review_key(a, ka);
    record_review_key(b, kb);
    /* the review dated later is the later one, whatever the unsealed time */
    ck_assert_str_eq(kb, "2026-06-302026-06-30T09:00:00Z00000000000000000000");
    ck_assert_int_gt(strcmp(kb, ka), 0);
    /* the same day: the time decides */
    ck_assert_int_eq(record_set_string(&a->credibility_review->reviewed_date, "2026-06-30"), 0);
    record_review_key(a, ka);
    ck_assert_int_gt(strcmp(ka, kb), 0);
    /* the same second: the one written after, by the number in its id
     * (as a number: 1000000 after 999999) */
    ck_assert_int_eq(record_set_string(&a->updated_at, "2026-06-30T09:00:00Z"), 0);
    ck_assert_int_eq(record_set_string(&a->id, "HQ-CRV-999999"), 0);
    ck_assert_int_eq(record_set_string(&b->id, "HQ-CRV-1000000"), 0);
    record_review_key(a, ka);
    record_review_key(b, kb);
    ck_assert_int_gt(strcmp(kb, ka), 0);
    record_free(a);
    record_free(b);
}
END_TEST

START_TEST(ids_belong_to_their_owner)
{
    size_t n;
    const struct record_type *t = record_types(&n);
    for (size_t i = 0; i < n; i++) /* record_id_is_owners() relies on it */
        ck_assert_msg(strlen(t[i].code) == 3, "code of %s", t[i].name);
    ck_assert(record_id_is_owners("CAR-DOS-000001", "CAR"));
    ck_assert(record_id_is_owners("DXB-WH1-CAL-000002-NCR", "DXB-WH1"));
    ck_assert(record_id_is_owners("DXB-WH1-EQP-000007-NCR-2026-11-23", "DXB-WH1"));
    ck_assert(record_id_is_owners("CAR-A-DOS-000001", "CAR-A"));
    /* another owner's, though it starts with this owner's name */
    ck_assert(!record_id_is_owners("CAR-A-DOS-000001", "CAR"));
    ck_assert(!record_id_is_owners("X-DOS-DOS-000001", "X"));
    ck_assert(!record_id_is_owners("CARX-DOS-000001", "CAR"));
    /* not the form a store gives */
    ck_assert(!record_id_is_owners("CAR-DOS-", "CAR"));
    ck_assert(!record_id_is_owners("CAR-DOS", "CAR"));
    ck_assert(!record_id_is_owners("CAR--000001", "CAR"));
    ck_assert(!record_id_is_owners("CAR-XYZ-000001", "CAR"));
    ck_assert(!record_id_is_owners("CAR-DOS-12a", "CAR"));
    ck_assert(!record_id_is_owners("CAR", "CAR"));
    ck_assert(!record_id_is_owners("", "CAR"));
    /* and of the record's own type: its code, or a raised nonconformity's
     * suffix after the id of the record that raised it */
    const struct record_type *dos = record_type_by_name("declaration"),
                             *ncr = record_type_by_name("nonconformity");
    ck_assert(record_id_fits_type("CAR-DOS-000001", "CAR", dos));
    ck_assert(!record_id_fits_type("CAR-CRT-000001", "CAR", dos));
    ck_assert(!record_id_fits_type("CAR-DOS-000001", "CAR", ncr));
    ck_assert(record_id_fits_type("DXB-WH1-CAL-000002-NCR", "DXB-WH1", ncr));
    ck_assert(record_id_fits_type("DXB-WH1-INS-000003-NCR-2", "DXB-WH1", ncr));
    ck_assert(!record_id_fits_type("DXB-WH1-CAL-000002-NCR", "DXB-WH1", dos));
    ck_assert(!record_id_fits_type("DXB-WH1-CAL-000002-XYZ", "DXB-WH1", ncr));
    ck_assert(!record_id_fits_type("CAR-A-DOS-000001", "CAR", dos));
}
END_TEST

END_TEST

static Suite *record_suite(void)
{
    Suite *s = suite_create("record");
    TCase *schema = tcase_create("schema");
    tcase_add_test(schema, table_matches_oneof);
    tcase_add_test(schema, table_rows_well_formed);
    tcase_add_test(schema, body_names_do_not_clash);
    suite_add_tcase(s, schema);
    TCase *tc = tcase_create("validate");
    tcase_add_test(tc, valid_records);
    tcase_add_test(tc, ids_belong_to_their_owner);
    tcase_add_test(tc, later_review_by_sealed_date);
    tcase_add_test(tc, dup_is_a_deep_copy);
    tcase_add_test(tc, text_of_a_body_field);
    tcase_add_test(tc, risk_scales);
    tcase_add_test(tc, required_fields);
    tcase_add_test(tc, status_values);
    tcase_add_test(tc, dates_and_instants);
    tcase_add_test(tc, field_sizes);
    tcase_add_test(tc, text_is_utf8_without_controls);
    tcase_add_test(tc, links);
    tcase_add_test(tc, due_day);
    tcase_add_test(tc, unpack);
    tcase_add_test(tc, check_without_change);
    tcase_add_test(tc, unpack_into_an_arena);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(record_suite());
}

/* test_jsonpb.c -- Check suite for common/jsonpb.{h,c}: flat JSON records
 * to and from protobuf-c, driven by the descriptors. Every refusal is
 * checked for its code and for a message that names the field; error paths
 * that free half-built records run under the sanitizers (LeakSanitizer). */
#include "error.h"
#include "jsonpb.h"
#include "record.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static struct json_object *parse_ok(const char *text)
{
    struct json_object *obj = NULL;
    int rc = jsonpb_parse(text, strlen(text), &obj);
    ck_assert_msg(rc == 0, "JSON refused: %s\n%s", scsms_errmsg(), text);
    ck_assert_ptr_nonnull(obj);
    return obj;
}

/* A record from JSON text; type may be NULL when the text has "type". */
static Scsms__Record *record_from(const char *text, const char *type)
{
    struct json_object *obj = parse_ok(text);
    Scsms__Record *rec = NULL;
    int rc = jsonpb_to_record(obj, type, &rec);
    json_object_put(obj);
    ck_assert_msg(rc == 0, "record refused: %s\n%s", scsms_errmsg(), text);
    ck_assert_ptr_nonnull(rec);
    return rec;
}

/* Assert that obj does not become a record of type: code, and a message
 * holding each of the NULL-terminated substrings. *out must stay NULL. */
static void refuse_obj(struct json_object *obj, const char *type, int code, ...)
{
    Scsms__Record *rec = NULL;
    scsms_errclear();
    int rc = jsonpb_to_record(obj, type, &rec);
    ck_assert_msg(rc == code, "expected %d, got %d (%s)", code, rc, scsms_errmsg());
    ck_assert_ptr_null(rec);
    va_list ap;
    va_start(ap, code);
    for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *))
        ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'",
                      scsms_errmsg(), want);
    va_end(ap);
}

#define refuse(text, type, ...)                                                                    \
    do {                                                                                           \
        struct json_object *o_ = parse_ok(text);                                                   \
        refuse_obj(o_, type, SCSMS_EINVAL, __VA_ARGS__, (const char *)NULL);                       \
        json_object_put(o_);                                                                       \
    } while (0)

static uint8_t *pack(const Scsms__Record *rec, size_t *len)
{
    *len = scsms__record__get_packed_size(rec);
    uint8_t *buf = malloc(*len ? *len : 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(scsms__record__pack(rec, buf), *len);
    return buf;
}

static void assert_same_bytes(const Scsms__Record *a, const Scsms__Record *b, const char *what)
{
    size_t la, lb;
    uint8_t *pa = pack(a, &la), *pb = pack(b, &lb);
    ck_assert_msg(la == lb && memcmp(pa, pb, la) == 0, "%s: packed records differ (%zu vs %zu bytes)",
                  what, la, lb);
    free(pa);
    free(pb);
}

/* ------------------------------------------------------------ JSON -> record */

static const char incident_json[] =
    "{\"type\":\"incident\",\"status\":\"investigating\",\"sensitivity\":\"restricted\","
    "\"author\":\"guard-7\",\"retention_days\":3650,"
    "\"links\":[{\"rel\":\"risk_review\",\"target\":\"RTM-RSK-1\"},"
    "{\"rel\":\"action\",\"target\":\"RTM-ACT-9\"}],"
    "\"kind\":\"NEAR_MISS\",\"occurred_at\":\"2026-02-05T10:15:00Z\",\"location\":\"Gate 3\","
    "\"category\":\"operational_and_human_factors\",\"severity\":2,"
    "\"reported_to_authority\":true,\"impact\":\"none\"}";

START_TEST(incident_from_flat_json)
{
    Scsms__Record *rec = record_from(incident_json, NULL);
    ck_assert_int_eq(rec->body_case, SCSMS__RECORD__BODY_INCIDENT);
    ck_assert_ptr_eq(record_type_of(rec), record_type_by_name("incident"));
    ck_assert_str_eq(rec->status, "investigating");
    ck_assert_int_eq(rec->sensitivity, SCSMS__SENSITIVITY__RESTRICTED);
    ck_assert_str_eq(rec->author, "guard-7");
    ck_assert_uint_eq(rec->retention_days, 3650);
    ck_assert_uint_eq(rec->n_links, 2);
    ck_assert_str_eq(rec->links[0]->rel, "risk_review");
    ck_assert_str_eq(rec->links[0]->target, "RTM-RSK-1");
    ck_assert_str_eq(rec->links[1]->rel, "action");
    ck_assert_str_eq(rec->links[1]->target, "RTM-ACT-9");
    /* envelope fields the JSON did not give stay at their defaults */
    ck_assert_str_eq(rec->id, "");
    ck_assert_uint_eq(rec->version, 0);

    const Scsms__Incident *inc = rec->incident;
    ck_assert_int_eq(inc->kind, SCSMS__INCIDENT__KIND__NEAR_MISS);
    ck_assert_str_eq(inc->occurred_at, "2026-02-05T10:15:00Z");
    ck_assert_str_eq(inc->location, "Gate 3");
    ck_assert_int_eq(inc->category, SCSMS__THREAT_CATEGORY__OPERATIONAL_AND_HUMAN_FACTORS);
    ck_assert_uint_eq(inc->severity, 2);
    ck_assert_int_eq(inc->reported_to_authority, 1);
    ck_assert_str_eq(inc->impact, "none");
    ck_assert_str_eq(inc->root_cause, "");
    ck_assert_int_eq(record_validate(rec), 0);
    record_free(rec);
}
END_TEST

START_TEST(risk_from_flat_json)
{
    Scsms__Record *rec = record_from(
        "{\"status\":\"in_treatment\",\"sensitivity\":\"CONFIDENTIAL\","
        "\"threat_category\":\"Natural_Events\",\"threatened\":\"bonded warehouse\","
        "\"scenario\":\"flood\",\"likelihood\":3,\"consequence\":5,\"residual_likelihood\":2,"
        "\"residual_consequence\":4,\"treatment\":\"transfer\",\"risk_owner\":\"site manager\","
        "\"next_review_date\":\"2026-09-30\",\"hq_accepted\":true,\"accepted_by\":\"HQ\","
        "\"links\":null}",
        "risk");
    ck_assert_int_eq(rec->body_case, SCSMS__RECORD__BODY_RISK);
    ck_assert_str_eq(rec->status, "in_treatment");
    ck_assert_int_eq(rec->sensitivity, SCSMS__SENSITIVITY__CONFIDENTIAL);
    ck_assert_uint_eq(rec->n_links, 0);
    const Scsms__Risk *r = rec->risk;
    ck_assert_int_eq(r->threat_category, SCSMS__THREAT_CATEGORY__NATURAL_EVENTS);
    ck_assert_str_eq(r->threatened, "bonded warehouse");
    ck_assert_str_eq(r->scenario, "flood");
    ck_assert_uint_eq(r->likelihood, 3);
    ck_assert_uint_eq(r->consequence, 5);
    ck_assert_uint_eq(r->residual_likelihood, 2);
    ck_assert_uint_eq(r->residual_consequence, 4);
    ck_assert_int_eq(r->treatment, SCSMS__RISK__TREATMENT__TRANSFER);
    ck_assert_str_eq(r->risk_owner, "site manager");
    ck_assert_str_eq(r->next_review_date, "2026-09-30");
    ck_assert_int_eq(r->hq_accepted, 1);
    ck_assert_str_eq(r->accepted_by, "HQ");
    ck_assert_str_eq(r->existing_controls, "");
    ck_assert_int_eq(record_validate(rec), 0);
    record_free(rec);
}
END_TEST

START_TEST(enum_names_any_case)
{
    static const char *const kinds[] = {"near_miss", "NEAR_MISS", "Near_Miss"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"kind\":\"%s\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"location\":\"x\"}",
                 kinds[i]);
        Scsms__Record *rec = record_from(text, "incident");
        ck_assert_msg(rec->incident->kind == SCSMS__INCIDENT__KIND__NEAR_MISS, "'%s' gave %d",
                      kinds[i], rec->incident->kind);
        record_free(rec);
    }
    /* the unset value is not a name a user may give */
    refuse("{\"kind\":\"kind_unset\"}", "incident", "field 'kind'", "kind_unset");
}
END_TEST

/* ------------------------------------------------------------ refusals */

START_TEST(refuse_unknown_type)
{
    refuse("{\"type\":\"bogus\",\"location\":\"x\"}", NULL, "unknown record type 'bogus'",
           record_type_names());
    refuse("{\"location\":\"x\"}", "bogus", "unknown record type 'bogus'", record_type_names());
    /* the list really is every type */
    size_t n;
    const struct record_type *types = record_types(&n);
    for (size_t i = 0; i < n; i++)
        ck_assert_ptr_nonnull(strstr(record_type_names(), types[i].name));
    refuse("{\"location\":\"x\"}", NULL, "record has no 'type'", "incident");
    refuse("{\"type\":7}", NULL, "field 'type' must be a string");
}
END_TEST

START_TEST(refuse_unknown_field)
{
    refuse("{\"type\":\"incident\",\"location\":\"x\",\"colour\":\"red\"}", NULL,
           "unknown field 'colour' for type incident");
    /* a field of another body is unknown here, and so is a body name */
    refuse("{\"likelihood\":3}", "incident", "unknown field 'likelihood' for type incident");
    refuse("{\"incident\":{}}", "incident", "unknown field 'incident' for type incident");
}
END_TEST

START_TEST(refuse_wrong_json_types)
{
    refuse("{\"likelihood\":\"3\"}", "risk", "field 'likelihood' must be an integer, got string");
    refuse("{\"likelihood\":3.5}", "risk", "field 'likelihood' must be an integer, got double");
    refuse("{\"location\":7}", "incident", "field 'location' must be a string, got int");
    refuse("{\"location\":[\"x\"]}", "incident", "field 'location' must be a string, got array");
    refuse("{\"severity\":[2]}", "incident", "field 'severity' must be an integer, got array");
    refuse("{\"hq_accepted\":\"yes\"}", "risk", "field 'hq_accepted' must be true or false");
    refuse("{\"kind\":3}", "incident", "field 'kind' must be a string, got int");
    refuse("{\"links\":{\"rel\":\"a\",\"target\":\"b\"}}", "incident",
           "field 'links' must be an array, got object");
    refuse("{\"links\":[\"RTM-1\"]}", "incident", "field 'links[0]' must be an object, got string");
    refuse("{\"baseline\":\"high\"}", "objective", "field 'baseline' must be a number");
}
END_TEST

START_TEST(refuse_uint32_range)
{
    refuse("{\"likelihood\":-1}", "risk", "field 'likelihood' is out of range 0 to 4294967295");
    refuse("{\"likelihood\":4294967296}", "risk",
           "field 'likelihood' is out of range 0 to 4294967295");
    refuse("{\"retention_days\":-1}", "risk", "field 'retention_days' is out of range");
    /* the edges themselves are accepted (record_validate judges 1 to 5) */
    Scsms__Record *rec = record_from("{\"likelihood\":4294967295,\"consequence\":0}", "risk");
    ck_assert_uint_eq(rec->risk->likelihood, UINT32_MAX);
    ck_assert_uint_eq(rec->risk->consequence, 0);
    record_free(rec);
}
END_TEST

START_TEST(refuse_bad_enum)
{
    refuse("{\"kind\":\"explosion\"}", "incident", "field 'kind'", "'explosion'",
           "security_incident, breach, near_miss, false_alarm, emergency");
    refuse("{\"sensitivity\":\"secret\"}", "incident", "field 'sensitivity'",
           "public, internal, confidential, restricted");
    refuse("{\"treatment\":\"\"}", "risk", "field 'treatment'", "avoid, reduce, transfer, accept");
}
END_TEST

START_TEST(refuse_not_an_object)
{
    refuse("[{\"type\":\"incident\"}]", "incident", "a record must be a JSON object, got array");
    refuse("\"incident\"", "incident", "a record must be a JSON object, got string");
    refuse("42", NULL, "a record must be a JSON object, got int");
}
END_TEST

START_TEST(refuse_type_disagreement)
{
    refuse("{\"type\":\"risk\",\"likelihood\":3}", "incident", "field 'type' is 'risk'",
           "'incident'");
    /* agreement is fine */
    Scsms__Record *rec = record_from("{\"type\":\"risk\",\"likelihood\":3}", "risk");
    ck_assert_uint_eq(rec->risk->likelihood, 3);
    record_free(rec);
}
END_TEST

START_TEST(refuse_oversized_string)
{
    size_t big = 70000;
    char *s = malloc(big);
    ck_assert_ptr_nonnull(s);
    memset(s, 'a', big);
    struct json_object *obj = parse_ok("{\"location\":\"Gate 3\"}");
    ck_assert_int_eq(json_object_object_add(obj, "impact", json_object_new_string_len(s, (int)big)),
                     0);
    refuse_obj(obj, "incident", SCSMS_EINVAL, "field 'impact' is 70000 bytes",
               "the limit is 65536", (const char *)NULL);
    json_object_put(obj);

    /* exactly the limit is accepted; one more byte is not */
    obj = json_object_new_object();
    ck_assert_int_eq(json_object_object_add(obj, "impact",
                                            json_object_new_string_len(s, RECORD_MAX_FIELD)),
                     0);
    Scsms__Record *rec = NULL;
    ck_assert_int_eq(jsonpb_to_record(obj, "incident", &rec), 0);
    ck_assert_uint_eq(strlen(rec->incident->impact), RECORD_MAX_FIELD);
    record_free(rec);
    ck_assert_int_eq(json_object_object_add(obj, "impact",
                                            json_object_new_string_len(s, RECORD_MAX_FIELD + 1)),
                     0);
    refuse_obj(obj, "incident", SCSMS_EINVAL, "field 'impact' is 65537 bytes", (const char *)NULL);
    json_object_put(obj);

    /* also inside a repeated field and a nested message */
    obj = json_object_new_object();
    struct json_object *arr = json_object_new_array();
    ck_assert_int_eq(json_object_array_add(arr, json_object_new_string("fine")), 0);
    ck_assert_int_eq(json_object_array_add(arr, json_object_new_string_len(s, (int)big)), 0);
    ck_assert_int_eq(json_object_object_add(obj, "measures", arr), 0);
    refuse_obj(obj, "declaration", SCSMS_EINVAL, "field 'measures[1]' is 70000 bytes",
               (const char *)NULL);
    json_object_put(obj);
    free(s);
}
END_TEST

START_TEST(refuse_strings_with_nul)
{
    struct json_object *obj = parse_ok("{\"location\":\"Gate\\u00003\"}");
    refuse_obj(obj, "incident", SCSMS_EINVAL, "field 'location' contains a NUL",
               (const char *)NULL);
    json_object_put(obj);
}
END_TEST

START_TEST(refuse_bad_hex)
{
    refuse("{\"pack_sha256\":\"zz\"}", "management_review",
           "field 'pack_sha256' must be a hex string");
    refuse("{\"pack_sha256\":\"abc\"}", "management_review",
           "field 'pack_sha256' must be a hex string");
    refuse("{\"pack_sha256\":\"0g\"}", "management_review",
           "field 'pack_sha256' must be a hex string");
    refuse("{\"pack_sha256\":12}", "management_review",
           "field 'pack_sha256' must be a hex string, got int");
    Scsms__Record *rec = record_from("{\"partner_signature\":\"00Ff7a\"}", "declaration");
    ck_assert_uint_eq(rec->declaration->partner_signature.len, 3);
    ck_assert_mem_eq(rec->declaration->partner_signature.data, "\x00\xff\x7a", 3);
    record_free(rec);
}
END_TEST

START_TEST(refuse_nested_unknown_key)
{
    refuse("{\"links\":[{\"rel\":\"source\",\"bogus\":1}]}", "incident",
           "unknown field 'links[0].bogus'");
    /* a later element, after earlier ones were built, and deeper bodies */
    refuse("{\"links\":[{\"rel\":\"a\",\"target\":\"b\"},{\"target\":\"c\",\"rel\":5}]}",
           "incident", "field 'links[1].rel' must be a string, got int");
    refuse("{\"title\":\"t\",\"tasks\":[{\"description\":\"d\",\"done\":true},"
           "{\"description\":\"e\",\"due\":\"2026-01-01\"}]}",
           "programme", "unknown field 'tasks[1].due'");
    refuse("{\"items\":[{\"question\":\"q\",\"answer\":\"maybe\"}]}", "inspection",
           "field 'items[0].answer'", "conform, nonconform, not_applicable");
    refuse("{\"measures\":[\"seals\",\"guards\",7]}", "declaration",
           "field 'measures[2]' must be a string, got int");
}
END_TEST

/* ------------------------------------------------------------ round trip */

/* One valid record body per type: the required fields and a few more, so
 * every kind of field (enum, repeated, nested, bytes, double, bool) is
 * exercised somewhere. The round trip adds common envelope fields. */
static const struct {
    const char *type;
    const char *json;
} samples[] = {
    {"scope", "{\"boundaries\":\"Rotterdam site A and its yard\",\"sites\":[\"RTM-A\",\"RTM-B\"],"
              "\"activities\":[\"storage\",\"cross-docking\"],\"outsourced\":[{\"process\":"
              "\"guarding\",\"provider\":\"SecureCo\",\"control\":\"contract KPI\"}]}"},
    {"policy", "{\"title\":\"Security policy\",\"statement\":\"We protect the supply chain.\","
               "\"edition\":\"3\",\"approved_by\":\"CEO\",\"approved_date\":\"2026-01-15\","
               "\"review_date\":\"2027-01-15\"}"},
    {"acknowledgement", "{\"subject_id\":\"HQ-POL-1\",\"subject_version\":2,"
                        "\"acknowledged_by\":\"site manager\",\"acknowledged_date\":\"2026-02-01\"}"},
    {"risk", "{\"threat_category\":\"natural_events\",\"threatened\":\"warehouse\",\"likelihood\":3,"
             "\"consequence\":4,\"residual_likelihood\":2,\"residual_consequence\":2,"
             "\"treatment\":\"reduce\",\"hq_accepted\":true,\"next_review_date\":\"2026-09-30\"}"},
    {"legal_requirement", "{\"source\":\"EU 952/2013\",\"summary\":\"AEO security criteria\","
                          "\"applies_to\":[\"RTM-A\"],\"jurisdiction\":\"EU\"}"},
    {"objective", "{\"title\":\"Fewer seal breaches\",\"indicator\":\"breaches per month\","
                  "\"baseline\":12.5,\"target_value\":0.1,\"unit\":\"count\","
                  "\"due_date\":\"2026-12-31\"}"},
    {"target", "{\"description\":\"Zero breaches in Q2\",\"due_date\":\"2026-06-30\","
               "\"value\":-3.25,\"indicator\":\"breaches\"}"},
    {"programme", "{\"title\":\"Fence upgrade\",\"progress_pct\":40,\"tasks\":["
                  "{\"description\":\"survey\",\"done\":true,\"due_date\":\"2026-03-01\"},"
                  "{\"description\":\"install\",\"responsible\":\"facilities\"}]}"},
    {"appointment", "{\"person\":\"A. Jansen\",\"role\":\"management_representative\","
                    "\"clearance_expiry_date\":\"2028-01-01\"}"},
    {"training", "{\"person\":\"B. Smit\",\"course\":\"Seal handling\","
                 "\"completed_date\":\"2026-01-20\",\"expiry_date\":\"2027-01-20\"}"},
    {"communication", "{\"kind\":\"briefing\",\"subject\":\"New gate procedure\","
                      "\"audience\":[\"employees\",\"contractors\"]}"},
    {"document", "{\"doc_id\":\"SOP-7\",\"doc_version\":\"2\",\"title\":\"Gate SOP\","
                 "\"available_at\":[\"RTM-A\",\"intranet\"]}"},
    {"procedure", "{\"task_or_area\":\"Gate 3\",\"control\":\"Two-person check\","
                  "\"management_of_change\":true,\"effective_date\":\"2026-03-01\"}"},
    {"emergency_plan", "{\"title\":\"Fire\",\"person_in_charge\":\"C. de Vries\","
                       "\"scenarios\":[\"fire\",\"flood\"],\"external_services\":[\"brandweer\"]}"},
    {"drill", "{\"scenario\":\"Intrusion at night\",\"planned_date\":\"2026-04-01\","
              "\"participants\":[\"night shift\"]}"},
    {"measurement", "{\"indicator\":\"badge misuse\",\"period_end_date\":\"2026-03-31\","
                    "\"value\":1e-07,\"kind\":\"reactive\"}"},
    {"equipment", "{\"equipment_id\":\"CAM-12\",\"kind\":\"camera\",\"location\":\"Gate 3\","
                  "\"calibration_interval_days\":180}"},
    {"calibration", "{\"performed_date\":\"2026-02-02\",\"result\":\"pass\","
                    "\"performed_by\":\"vendor\"}"},
    {"inspection", "{\"area\":\"Yard\",\"inspector\":\"D. Bakker\",\"inspected_date\":\"2026-02-03\","
                   "\"items\":[{\"question\":\"Fence intact?\",\"answer\":\"conform\"},"
                   "{\"question\":\"Lights on?\",\"answer\":\"not_applicable\",\"note\":\"day\"}]}"},
    {"evaluation", "{\"subject\":\"legal_compliance\",\"evaluated_date\":\"2026-02-04\","
                   "\"result\":\"compliant\",\"compliant\":true}"},
    {"incident", "{\"kind\":\"near_miss\",\"occurred_at\":\"2026-02-05T10:00:00Z\","
                 "\"location\":\"Gate 3\",\"severity\":2,"
                 "\"category\":\"operational_and_human_factors\"}"},
    {"nonconformity", "{\"source\":\"audit\",\"description\":\"Seal log incomplete\","
                      "\"severity\":\"minor\"}"},
    {"action", "{\"kind\":\"corrective\",\"description\":\"Retrain staff\","
               "\"responsible\":\"E. Visser\",\"due_date\":\"2026-05-01\",\"immediate\":true}"},
    {"audit", "{\"planned_date\":\"2026-06-01\",\"audit_scope\":\"Gate operations\","
              "\"auditor\":\"F. Mulder\",\"findings\":[{\"kind\":\"observation\","
              "\"clause\":\"4.4.6\",\"description\":\"log kept\"}]}"},
    {"management_review", "{\"period_from_date\":\"2025-01-01\",\"period_to_date\":\"2025-12-31\","
                          "\"held_date\":\"2026-01-31\",\"decisions\":[\"continue\"],"
                          "\"pack_sha256\":\"00112233445566778899aabbccddeeff"
                          "00112233445566778899aabbccddeeff\"}"},
    {"partner", "{\"partner_id\":\"P-42\",\"name\":\"Acme Haulage\",\"partner_role\":\"carrier\"}"},
    {"certificate", "{\"partner_id\":\"P-42\",\"scheme\":\"aeo\",\"number\":\"NL-AEO-1\","
                    "\"expiry_date\":\"2027-12-31\"}"},
    {"declaration", "{\"partner_id\":\"P-42\",\"coverage\":\"all road flows\","
                    "\"valid_from_date\":\"2026-01-01\",\"valid_to_date\":\"2026-12-31\","
                    "\"measures\":[\"seals\"],\"partner_signature\":\"deadbeef\"}"},
    {"credibility_review", "{\"declaration_id\":\"P-42-DOS-1\",\"declaration_version\":2,"
                           "\"declaration_sha256\":\"00112233445566778899aabbccddeeff"
                           "00112233445566778899aabbccddeeff\",\"partner_id\":\"P-42\","
                           "\"reviewer\":\"J. Ode\",\"decision\":\"rejected\",\"reason\":"
                           "\"no seal log\",\"reviewed_date\":\"2026-02-01\","
                           "\"hq_signature\":\"abcd\"}"},
};

#define N_SAMPLES (sizeof samples / sizeof samples[0])

static const char *sample_of(const char *type)
{
    for (size_t i = 0; i < N_SAMPLES; i++)
        if (strcmp(samples[i].type, type) == 0)
            return samples[i].json;
    return NULL;
}

/* A valid record of type t from its sample plus envelope fields. */
static Scsms__Record *sample_record(const struct record_type *t)
{
    const char *json = sample_of(t->name);
    ck_assert_msg(json != NULL, "no round-trip sample for type %s", t->name);
    struct json_object *obj = parse_ok(json);
    const char *last_status = t->statuses[0];
    for (const char *const *s = t->statuses; *s; s++)
        last_status = *s;
    ck_assert_int_eq(jsonpb_set_text(obj, t->name, "status", last_status), 0);
    ck_assert_int_eq(jsonpb_set_text(obj, t->name, "author", "qa"), 0);
    ck_assert_int_eq(jsonpb_set_text(obj, t->name, "sensitivity", "confidential"), 0);
    ck_assert_int_eq(
        jsonpb_set_text(obj, t->name, "links", "{\"rel\":\"source\",\"target\":\"RTM-INC-1\"}"),
        0);
    Scsms__Record *rec = NULL;
    int rc = jsonpb_to_record(obj, t->name, &rec);
    ck_assert_msg(rc == 0, "%s: %s", t->name, scsms_errmsg());
    json_object_put(obj);
    rc = record_validate(rec);
    ck_assert_msg(rc == 0, "%s sample invalid: %s", t->name, scsms_errmsg());
    ck_assert_ptr_eq(record_type_of(rec), t);
    ck_assert_str_eq(rec->status, last_status);
    ck_assert_int_eq(rec->sensitivity, SCSMS__SENSITIVITY__CONFIDENTIAL);
    ck_assert_uint_eq(rec->n_links, 1);
    ck_assert_uint_eq(rec->retention_days, t->retention_days);
    return rec;
}

START_TEST(round_trip_every_type)
{
    size_t n;
    const struct record_type *types = record_types(&n);
    ck_assert_uint_eq(n, N_SAMPLES); /* a new type needs a sample here */
    for (size_t i = 0; i < n; i++) {
        const struct record_type *t = &types[i];
        Scsms__Record *rec = sample_record(t);
        /* the envelope a store would add, so it round-trips as well */
        ck_assert_int_eq(record_set_string(&rec->id, "RTM-X-1"), 0);
        ck_assert_int_eq(record_set_string(&rec->owner, "site-rtm"), 0);
        rec->version = 3;
        ck_assert_int_eq(record_set_string(&rec->created_at, "2026-01-01T00:00:00Z"), 0);

        struct json_object *out = jsonpb_from_record(rec);
        ck_assert_ptr_nonnull(out);
        const char *text = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
        ck_assert_ptr_nonnull(text);
        ck_assert_msg(strstr(text, "\"type\":\"") != NULL, "%s: no type in %s", t->name, text);
        ck_assert_ptr_nonnull(strstr(text, t->name));
        struct json_object *back = NULL;
        int rc = jsonpb_parse(text, strlen(text), &back);
        ck_assert_msg(rc == 0, "%s: own output refused: %s\n%s", t->name, scsms_errmsg(), text);
        json_object_put(out);

        Scsms__Record *again = NULL;
        rc = jsonpb_to_record(back, NULL, &again);
        ck_assert_msg(rc == 0, "%s: own output refused: %s", t->name, scsms_errmsg());
        json_object_put(back);
        ck_assert_ptr_eq(record_type_of(again), t);
        assert_same_bytes(rec, again, t->name);
        /* and it is still valid, unchanged by validation */
        ck_assert_int_eq(record_validate(again), 0);
        assert_same_bytes(rec, again, t->name);
        record_free(again);
        record_free(rec);
    }
}
END_TEST

START_TEST(from_record_flat_lowercase)
{
    Scsms__Record *rec = record_from(incident_json, "incident");
    struct json_object *obj = jsonpb_from_record(rec);
    ck_assert_ptr_nonnull(obj);
    struct json_object *v;
    ck_assert(json_object_object_get_ex(obj, "type", &v));
    ck_assert_str_eq(json_object_get_string(v), "incident");
    ck_assert(json_object_object_get_ex(obj, "kind", &v));
    ck_assert_str_eq(json_object_get_string(v), "near_miss");
    ck_assert(json_object_object_get_ex(obj, "sensitivity", &v));
    ck_assert_str_eq(json_object_get_string(v), "restricted");
    ck_assert(json_object_object_get_ex(obj, "severity", &v));
    ck_assert(json_object_is_type(v, json_type_int));
    ck_assert_int_eq(json_object_get_int(v), 2);
    ck_assert(json_object_object_get_ex(obj, "links", &v));
    ck_assert_uint_eq(json_object_array_length(v), 2);
    /* defaults are left out */
    ck_assert(!json_object_object_get_ex(obj, "id", NULL));
    ck_assert(!json_object_object_get_ex(obj, "version", NULL));
    ck_assert(!json_object_object_get_ex(obj, "root_cause", NULL));
    ck_assert(!json_object_object_get_ex(obj, "incident", NULL));
    json_object_put(obj);
    record_free(rec);
}
END_TEST

/* ------------------------------------------------------------ merge */

START_TEST(merge_replaces_given_fields)
{
    Scsms__Record *rec = record_from(incident_json, NULL);
    ck_assert_int_eq(record_set_string(&rec->id, "RTM-INC-4"), 0);
    rec->version = 2;
    struct json_object *upd =
        parse_ok("{\"location\":\"Gate 4\",\"severity\":4,\"status\":\"closed\","
                 "\"links\":[{\"rel\":\"source\",\"target\":\"RTM-INS-2\"}],\"impact\":null}");
    ck_assert_int_eq(jsonpb_merge(upd, &rec), 0);
    json_object_put(upd);
    ck_assert_int_eq(rec->body_case, SCSMS__RECORD__BODY_INCIDENT);
    /* given: replaced */
    ck_assert_str_eq(rec->incident->location, "Gate 4");
    ck_assert_uint_eq(rec->incident->severity, 4);
    ck_assert_str_eq(rec->status, "closed");
    ck_assert_str_eq(rec->incident->impact, ""); /* null clears */
    /* a repeated field is replaced whole, not appended to */
    ck_assert_uint_eq(rec->n_links, 1);
    ck_assert_str_eq(rec->links[0]->rel, "source");
    ck_assert_str_eq(rec->links[0]->target, "RTM-INS-2");
    /* not given: kept, store fields included */
    ck_assert_str_eq(rec->id, "RTM-INC-4");
    ck_assert_uint_eq(rec->version, 2);
    ck_assert_int_eq(rec->incident->kind, SCSMS__INCIDENT__KIND__NEAR_MISS);
    ck_assert_str_eq(rec->incident->occurred_at, "2026-02-05T10:15:00Z");
    ck_assert_str_eq(rec->author, "guard-7");
    ck_assert_int_eq(rec->sensitivity, SCSMS__SENSITIVITY__RESTRICTED);
    ck_assert_int_eq(rec->incident->reported_to_authority, 1);
    ck_assert_uint_eq(rec->retention_days, 3650);

    /* an empty array empties the repeated field */
    upd = parse_ok("{\"links\":[]}");
    ck_assert_int_eq(jsonpb_merge(upd, &rec), 0);
    json_object_put(upd);
    ck_assert_uint_eq(rec->n_links, 0);
    ck_assert_str_eq(rec->incident->location, "Gate 4");
    record_free(rec);
}
END_TEST

static void refuse_merge(const char *update, const char *want1, const char *want2)
{
    Scsms__Record *rec = record_from(incident_json, NULL);
    ck_assert_int_eq(record_set_string(&rec->id, "RTM-INC-4"), 0);
    rec->version = 2;
    size_t before_len;
    uint8_t *before = pack(rec, &before_len);
    Scsms__Record *const same = rec;
    struct json_object *upd = parse_ok(update);
    scsms_errclear();
    int rc = jsonpb_merge(upd, &rec);
    json_object_put(upd);
    ck_assert_msg(rc == SCSMS_EINVAL, "merge of %s: rc %d", update, rc);
    ck_assert_msg(strstr(scsms_errmsg(), want1) != NULL, "message '%s' lacks '%s'",
                  scsms_errmsg(), want1);
    if (want2)
        ck_assert_msg(strstr(scsms_errmsg(), want2) != NULL, "message '%s' lacks '%s'",
                      scsms_errmsg(), want2);
    ck_assert_ptr_eq(rec, same); /* untouched: same record, same bytes */
    size_t after_len;
    uint8_t *after = pack(rec, &after_len);
    ck_assert_uint_eq(after_len, before_len);
    ck_assert_mem_eq(after, before, before_len);
    free(after);
    free(before);
    record_free(rec);
}

START_TEST(merge_refusals_leave_record)
{
    refuse_merge("{\"id\":\"RTM-INC-5\"}", "field 'id'", "set by the store");
    refuse_merge("{\"version\":7,\"location\":\"Gate 9\"}", "field 'version'", "set by the store");
    refuse_merge("{\"owner\":\"other\"}", "field 'owner'", NULL);
    refuse_merge("{\"created_at\":\"2026-01-01T00:00:00Z\"}", "field 'created_at'", NULL);
    refuse_merge("{\"location\":\"Gate 9\",\"severity\":\"high\"}",
                 "field 'severity' must be an integer", NULL);
    refuse_merge("{\"likelihood\":3}", "unknown field 'likelihood' for type incident", NULL);
    refuse_merge("{\"type\":\"risk\"}", "field 'type' is 'risk'", NULL);
    refuse_merge("{\"links\":[{\"rel\":\"a\",\"target\":\"b\"},{\"bogus\":1}]}",
                 "unknown field 'links[1].bogus'", NULL);
    refuse_merge("[1]", "must be a JSON object", NULL);
}
END_TEST

/* ------------------------------------------------------------ set_text */

START_TEST(set_text_typed)
{
    struct json_object *obj = json_object_new_object(), *v;
    ck_assert_ptr_nonnull(obj);
    ck_assert_int_eq(jsonpb_set_text(obj, "risk", "likelihood", "4"), 0);
    ck_assert(json_object_object_get_ex(obj, "likelihood", &v));
    ck_assert(json_object_is_type(v, json_type_int));
    ck_assert_int_eq(json_object_get_int64(v), 4);
    ck_assert_int_eq(jsonpb_set_text(obj, "risk", "hq_accepted", "true"), 0);
    ck_assert(json_object_object_get_ex(obj, "hq_accepted", &v));
    ck_assert(json_object_is_type(v, json_type_boolean));
    ck_assert(json_object_get_boolean(v));
    ck_assert_int_eq(jsonpb_set_text(obj, "risk", "treatment", "reduce"), 0);
    ck_assert(json_object_object_get_ex(obj, "treatment", &v));
    ck_assert(json_object_is_type(v, json_type_string));
    ck_assert_str_eq(json_object_get_string(v), "reduce");
    /* decimal numbers in the forms people write */
    static const char *const nums[][2] = {{"-2.5e3", "-2500"}, {".5", "0.5"}, {"1E2", "100"},
                                          {"-0.25", "-0.25"}, {"12", "12"}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        ck_assert_msg(jsonpb_set_text(obj, "objective", "baseline", nums[i][0]) == 0, "%s: %s",
                      nums[i][0], scsms_errmsg());
        ck_assert(json_object_object_get_ex(obj, "baseline", &v));
        ck_assert_double_eq(json_object_get_double(v), strtod(nums[i][1], NULL));
    }
    json_object_object_del(obj, "baseline");
    /* a later --set of the same scalar wins */
    ck_assert_int_eq(jsonpb_set_text(obj, "risk", "likelihood", "2"), 0);
    ck_assert(json_object_object_get_ex(obj, "likelihood", &v));
    ck_assert_int_eq(json_object_get_int64(v), 2);

    Scsms__Record *rec = NULL;
    ck_assert_int_eq(jsonpb_to_record(obj, "risk", &rec), 0);
    ck_assert_uint_eq(rec->risk->likelihood, 2);
    ck_assert_int_eq(rec->risk->hq_accepted, 1);
    ck_assert_int_eq(rec->risk->treatment, SCSMS__RISK__TREATMENT__REDUCE);
    record_free(rec);
    json_object_put(obj);
}
END_TEST

START_TEST(set_text_repeated_appends)
{
    struct json_object *obj = parse_ok("{\"measures\":[\"seals\"]}"), *v;
    ck_assert_int_eq(jsonpb_set_text(obj, "declaration", "measures", "guards"), 0);
    ck_assert_int_eq(jsonpb_set_text(obj, "declaration", "measures", "cameras"), 0);
    ck_assert(json_object_object_get_ex(obj, "measures", &v));
    ck_assert(json_object_is_type(v, json_type_array));
    ck_assert_uint_eq(json_object_array_length(v), 3);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "seals");
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), "guards");
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 2)), "cameras");
    json_object_put(obj);

    /* from nothing, and for a repeated message given as JSON text */
    obj = json_object_new_object();
    ck_assert_int_eq(jsonpb_set_text(obj, "declaration", "measures", "seals"), 0);
    ck_assert_int_eq(
        jsonpb_set_text(obj, "declaration", "links", "{\"rel\":\"partner\",\"target\":\"P-42\"}"),
        0);
    Scsms__Record *rec = NULL;
    ck_assert_int_eq(jsonpb_to_record(obj, "declaration", &rec), 0);
    ck_assert_uint_eq(rec->declaration->n_measures, 1);
    ck_assert_str_eq(rec->declaration->measures[0], "seals");
    ck_assert_uint_eq(rec->n_links, 1);
    ck_assert_str_eq(rec->links[0]->target, "P-42");
    record_free(rec);
    json_object_put(obj);
}
END_TEST

static void refuse_set(const char *type, const char *name, const char *text, const char *want)
{
    struct json_object *obj = parse_ok("{\"location\":\"kept\"}");
    scsms_errclear();
    int rc = jsonpb_set_text(obj, type, name, text);
    ck_assert_msg(rc == SCSMS_EINVAL, "%s=%s accepted (rc %d)", name, text, rc);
    ck_assert_msg(strstr(scsms_errmsg(), want) != NULL, "message '%s' lacks '%s'",
                  scsms_errmsg(), want);
    /* the object is not changed by a refusal */
    ck_assert_int_eq(json_object_object_length(obj), 1);
    ck_assert(!json_object_object_get_ex(obj, name, NULL));
    json_object_put(obj);
}

START_TEST(set_text_refusals)
{
    refuse_set("risk", "likelihood", "four", "field 'likelihood' must be an integer, got 'four'");
    refuse_set("risk", "likelihood", "", "field 'likelihood' must be an integer");
    refuse_set("risk", "likelihood", "4x", "field 'likelihood' must be an integer");
    refuse_set("risk", "likelihood", "99999999999999999999", "field 'likelihood' must be an integer");
    refuse_set("risk", "hq_accepted", "yes", "field 'hq_accepted' must be true or false");
    refuse_set("risk", "colour", "red", "unknown field 'colour' for type risk");
    refuse_set("risk", "risk", "{}", "unknown field 'risk' for type risk");
    refuse_set("objective", "baseline", "lots", "field 'baseline' must be a finite number");
    /* numbers in decimal, as written: what strtod and strtoll also read */
    refuse_set("objective", "baseline", "0x10", "must be a finite number in decimal, got '0x10'");
    refuse_set("objective", "baseline", "0x1p3", "must be a finite number in decimal");
    refuse_set("objective", "baseline", "inf", "must be a finite number in decimal");
    refuse_set("objective", "baseline", " 2", "must be a finite number in decimal");
    refuse_set("objective", "baseline", "+2", "must be a finite number in decimal");
    refuse_set("risk", "likelihood", " 2", "field 'likelihood' must be an integer, got ' 2'");
    refuse_set("risk", "likelihood", "+2", "field 'likelihood' must be an integer");
    refuse_set("risk", "likelihood", "0x2", "field 'likelihood' must be an integer");
    refuse_set("incident", "links", "{\"rel\":", "field 'links'");
    refuse_set("bogus", "likelihood", "4", "unknown record type 'bogus'");
}
END_TEST

/* ------------------------------------------------------------ parse */

static void refuse_parse(const char *text, size_t len, const char *want1, const char *want2)
{
    struct json_object *obj = NULL;
    scsms_errclear();
    int rc = jsonpb_parse(text, len, &obj);
    ck_assert_msg(rc == SCSMS_EINVAL, "'%.*s' parsed (rc %d)", (int)len, text, rc);
    ck_assert_ptr_null(obj);
    ck_assert_msg(strstr(scsms_errmsg(), want1) != NULL, "message '%s' lacks '%s'",
                  scsms_errmsg(), want1);
    if (want2)
        ck_assert_msg(strstr(scsms_errmsg(), want2) != NULL, "message '%s' lacks '%s'",
                      scsms_errmsg(), want2);
}

#define REFUSE_PARSE(lit, w1, w2) refuse_parse(lit, sizeof lit - 1, w1, w2)

START_TEST(parse_trailing_garbage)
{
    REFUSE_PARSE("{\"type\":\"risk\"} }", "text after the value", "at byte 16");
    REFUSE_PARSE("{}x", "text after the value", "at byte 2");
    REFUSE_PARSE("{} {}", "text after the value", "at byte 3");
    REFUSE_PARSE("{}\0", "text after the value", "at byte 2");
    REFUSE_PARSE("42 43", "text after the value", "at byte 3");
    /* trailing white space is fine */
    struct json_object *obj = NULL;
    ck_assert_int_eq(jsonpb_parse("{\"a\":1} \n\t", 10, &obj), 0);
    ck_assert(json_object_is_type(obj, json_type_object));
    json_object_put(obj);
}
END_TEST

START_TEST(parse_truncated)
{
    REFUSE_PARSE("{\"type\":\"risk\",", "unexpected end", "at byte 15");
    REFUSE_PARSE("{\"type\":\"risk\",\"likelihood\":", "unexpected end", "at byte 28");
    REFUSE_PARSE("[1,2", "unexpected end", "at byte 4");
    REFUSE_PARSE("{\"type\":\"ri", "unexpected end", "at byte 11");
    REFUSE_PARSE("tru", "unexpected end", "at byte 3");
    REFUSE_PARSE("", "unexpected end", "at byte 0");
    REFUSE_PARSE("  \n", "unexpected end", "at byte 3");
}
END_TEST

START_TEST(parse_bad_syntax)
{
    REFUSE_PARSE("{\"a\" 1}", "bad JSON at byte 5", "':' expected");
    REFUSE_PARSE("{,}", "bad JSON at byte 1", "property name");
    REFUSE_PARSE("[1 2]", "bad JSON at byte 3", NULL);
    REFUSE_PARSE("{\"a\":}", "bad JSON at byte 5", NULL);
    REFUSE_PARSE("null", "null", NULL);
    /* strict JSON: no trailing comma, valid UTF-8 (json-c 0.16 still takes
     * single-quoted strings even in strict mode) */
    REFUSE_PARSE("{\"a\":1,}", "bad JSON at byte 7", NULL);
    REFUSE_PARSE("{\"a\":\"\xff\xfe\"}", "bad JSON at byte", NULL);
}
END_TEST

START_TEST(parse_values_and_length)
{
    /* len bounds the text: no NUL needed, and what follows is not read */
    static const char buf[] = {'{', '"', 'a', '"', ':', '1', '}', 'x', 'y', 'z'};
    struct json_object *obj = NULL, *v;
    ck_assert_int_eq(jsonpb_parse(buf, 7, &obj), 0);
    ck_assert(json_object_object_get_ex(obj, "a", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    json_object_put(obj);
    /* a value that ends exactly at the end of the text is complete */
    obj = NULL;
    ck_assert_msg(jsonpb_parse("42", 2, &obj) == 0, "%s", scsms_errmsg());
    ck_assert(json_object_is_type(obj, json_type_int));
    ck_assert_int_eq(json_object_get_int(obj), 42);
    json_object_put(obj);
    obj = NULL;
    ck_assert_msg(jsonpb_parse("true", 4, &obj) == 0, "%s", scsms_errmsg());
    ck_assert(json_object_is_type(obj, json_type_boolean));
    json_object_put(obj);
    obj = NULL;
    ck_assert_int_eq(jsonpb_parse("\"x\"", 3, &obj), 0);
    ck_assert_str_eq(json_object_get_string(obj), "x");
    json_object_put(obj);
}
END_TEST

static Suite *jsonpb_suite(void)
{
    Suite *s = suite_create("jsonpb");
    TCase *tc = tcase_create("to_record");
    tcase_add_test(tc, incident_from_flat_json);
    tcase_add_test(tc, risk_from_flat_json);
    tcase_add_test(tc, enum_names_any_case);
    tcase_add_test(tc, refuse_unknown_type);
    tcase_add_test(tc, refuse_unknown_field);
    tcase_add_test(tc, refuse_wrong_json_types);
    tcase_add_test(tc, refuse_uint32_range);
    tcase_add_test(tc, refuse_bad_enum);
    tcase_add_test(tc, refuse_not_an_object);
    tcase_add_test(tc, refuse_type_disagreement);
    tcase_add_test(tc, refuse_oversized_string);
    tcase_add_test(tc, refuse_strings_with_nul);
    tcase_add_test(tc, refuse_bad_hex);
    tcase_add_test(tc, refuse_nested_unknown_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("from_record");
    tcase_add_test(tc, round_trip_every_type);
    tcase_add_test(tc, from_record_flat_lowercase);
    suite_add_tcase(s, tc);

    tc = tcase_create("merge");
    tcase_add_test(tc, merge_replaces_given_fields);
    tcase_add_test(tc, merge_refusals_leave_record);
    suite_add_tcase(s, tc);

    tc = tcase_create("set_text");
    tcase_add_test(tc, set_text_typed);
    tcase_add_test(tc, set_text_repeated_appends);
    tcase_add_test(tc, set_text_refusals);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse");
    tcase_add_test(tc, parse_trailing_garbage);
    tcase_add_test(tc, parse_truncated);
    tcase_add_test(tc, parse_bad_syntax);
    tcase_add_test(tc, parse_values_and_length);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(jsonpb_suite());
}

/* rules.c -- DOMAIN.md's rules at write time; see rules.h. */
#include "rules.h"
#include "text.h"
#include "store_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "isotime.h"

/* ------------------------------------------------------------ links */

struct link_rule {
    const char *type;    /* record type that carries the link */
    const char *rel;     /* relation */
    const char *targets; /* space-separated types it may point to */
};

/* The typed links of the registers: incident -> nonconformity -> action ->
 * risk review; drill -> recommended actions; equipment -> calibration;
 * objective -> targets -> programme; and the few others evidence needs. */
static const struct link_rule link_rules[] = {
    {"nonconformity", "source", "incident inspection calibration audit drill evaluation equipment"},
    {"nonconformity", "equipment", "equipment"},
    {"action", "source", "nonconformity incident audit drill inspection evaluation management_review"},
    {"action", "risk_review", "risk"},
    {"drill", "action", "action"},
    {"drill", "emergency_plan", "emergency_plan"},
    {"calibration", "equipment", "equipment"},
    {"inspection", "equipment", "equipment"},
    {"incident", "risk", "risk"},
    {"risk", "legal_requirement", "legal_requirement"},
    {"objective", "policy", "policy"},
    {"target", "objective", "objective"},
    {"programme", "objective", "objective"},
    {"programme", "target", "target"},
    {"measurement", "objective", "objective"},
    {"measurement", "target", "target"},
    {"procedure", "risk_review", "risk"},
    {"evaluation", "legal_requirement", "legal_requirement"},
    {"audit", "programme", "programme"},
    {"management_review", "action", "action"},
    {"certificate", "partner", "partner"},
    {"declaration", "partner", "partner"},
    {"training", "appointment", "appointment"},
};

#define N_LINK_RULES (sizeof link_rules / sizeof link_rules[0])

const char *rules_link_rels(const char *type)
{
    static _Thread_local char buf[256];
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_LINK_RULES; i++)
        if (strcmp(link_rules[i].type, type) == 0)
            off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", off ? ", " : "",
                                    link_rules[i].rel);
    return off ? buf : "(none)";
}

static const struct link_rule *link_rule_of(const char *type, const char *rel)
{
    for (size_t i = 0; i < N_LINK_RULES; i++)
        if (strcmp(link_rules[i].type, type) == 0 && strcmp(link_rules[i].rel, rel) == 0)
            return &link_rules[i];
    return NULL;
}

static int word_in(const char *word, const char *list)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

static const Scsms__Link *find_link(const Scsms__Record *rec, const char *rel)
{
    for (size_t i = 0; i < rec->n_links; i++)
        if (strcmp(rec->links[i]->rel, rel) == 0)
            return rec->links[i];
    return NULL;
}

/* Load the current version of id in txn; SCSMS_ENOTFOUND when none. */
static int load_current(store_t *s, MDB_txn *txn, const char *id, Scsms__Record **out)
{
    uint8_t ref[STORE_LOGKEY_LEN];
    uint32_t v;
    int rc = store_latest_get(s, txn, id, &v, ref);
    return rc ? rc : store_load_record(s, txn, ref, out);
}

static const char *article(const char *noun)
{
    return strchr("aeiou", noun[0]) ? "an" : "a";
}

static int check_links(store_t *s, MDB_txn *txn, const Scsms__Record *rec, const char *type)
{
    for (size_t i = 0; i < rec->n_links; i++) {
        const Scsms__Link *l = rec->links[i];
        const struct link_rule *lr = link_rule_of(type, l->rel);
        Scsms__Record *target = NULL;
        if (!lr)
            return scsms_fail(SCSMS_ERULE, "%s %s cannot link '%s': its links are %s",
                              article(type), type, l->rel, rules_link_rels(type));
        int rc = load_current(s, txn, l->target, &target);
        if (rc == SCSMS_ENOTFOUND)
            return scsms_fail(SCSMS_ERULE, "link '%s' names '%s', which is not in this store",
                              l->rel, l->target);
        if (rc)
            return rc;
        const char *tt = record_type_of(target)->name;
        int ok = word_in(tt, lr->targets);
        record_free(target);
        if (!ok)
            return scsms_fail(SCSMS_ERULE, "link '%s' of %s %s must name a %s, but '%s' is %s %s",
                              l->rel, article(type), type, lr->targets, l->target, article(tt), tt);
    }
    return 0;
}

/* ------------------------------------------------------------ rule 1 */

static int check_risk(const Scsms__Risk *r, enum store_role role, const struct scsms_config *cfg)
{
    unsigned residual = r->residual_likelihood * r->residual_consequence;
    if (r->hq_accepted && role != STORE_ROLE_HQ)
        return scsms_fail(SCSMS_EPERM, "only head office can accept an intolerable risk: leave "
                          "hq_accepted unset at a site (rule 1)");
    if (r->hq_accepted && !r->accepted_by[0])
        return scsms_fail(SCSMS_ERULE, "hq_accepted needs accepted_by: who in head office "
                          "accepted the risk (rule 1)");
    if (residual > cfg->risk_threshold && r->treatment == SCSMS__RISK__TREATMENT__ACCEPT &&
        !r->hq_accepted)
        return scsms_fail(SCSMS_ERULE, "risk is intolerable: residual score %u (%u x %u) is "
                          "above the threshold %u, so it cannot be treated by 'accept': choose "
                          "avoid, reduce or transfer, or have head office accept it (rule 1)",
                          residual, r->residual_likelihood, r->residual_consequence,
                          cfg->risk_threshold);
    return 0;
}

/* ------------------------------------------------------------ rule 2 */

static int status_at_least_implemented(const char *status)
{
    return !strcmp(status, "implemented") || !strcmp(status, "verified_effective") ||
           !strcmp(status, "closed");
}

/* Both gates need only the record: the risk_review link's target is
 * checked against the store like every link. */
static int check_action_record(const Scsms__Record *rec)
{
    const Scsms__Action *a = rec->action;
    if ((!strcmp(rec->status, "closed") || !strcmp(rec->status, "verified_effective")) &&
        (!a->effectiveness_check[0] || !a->effectiveness_date[0]))
        return scsms_fail(SCSMS_ERULE, "an action cannot be %s without a recorded effectiveness "
                          "check: set effectiveness_check and effectiveness_date (rule 2)",
                          rec->status);
    if (status_at_least_implemented(rec->status) && !a->immediate &&
        !find_link(rec, "risk_review"))
        return scsms_fail(SCSMS_ERULE, "an action cannot be %s before it links the risk review "
                          "that approved it: add a 'risk_review' link to a risk, or set "
                          "immediate if it protects life or public safety (rule 2)",
                          rec->status);
    return 0;
}


/* ------------------------------------------------------------ rule 6 */

/* Compare activities, or people's names, as words: ignoring case, blanks
 * around them, and how many blanks stand between two words ("Bob  Smith"
 * is Bob Smith, typed with one space too many). */
static int same_activity(const char *a, size_t al, const char *b, size_t bl)
{
    const char *ae = a + al, *be = b + bl;
    int words = 0;
    for (;;) {
        while (a < ae && isspace((unsigned char)*a))
            a++;
        while (b < be && isspace((unsigned char)*b))
            b++;
        if (a == ae || b == be)
            return a == ae && b == be && words;
        while (a < ae && b < be && !isspace((unsigned char)*a) && !isspace((unsigned char)*b)) {
            if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
                return 0;
            a++, b++;
        }
        if ((a < ae && !isspace((unsigned char)*a)) || (b < be && !isspace((unsigned char)*b)))
            return 0; /* one word ended before the other */
        words++;
    }
}

/* The audited activity the list (separated by ',' or ';') names, or NULL. */
static const char *audited_in(const Scsms__Audit *au, const char *list)
{
    for (const char *p = list; *p;) {
        const char *e = p + strcspn(p, ",;");
        for (size_t k = 0; k < au->n_activities_audited; k++) {
            const char *act = au->activities_audited[k];
            if (same_activity(p, (size_t)(e - p), act, strlen(act)))
                return act;
        }
        p = *e ? e + 1 : e;
    }
    return NULL;
}

static int not_independent(const Scsms__Audit *au, const char *activity, const char *where)
{
    return scsms_fail(SCSMS_ERULE, "auditor %s is responsible for '%s'%s, an activity this "
                      "audit covers: choose an auditor independent of it (rule 6)",
                      au->auditor, activity, where);
}

static int check_audit_record(const Scsms__Audit *au)
{
    for (size_t i = 0; i < au->n_auditor_responsibilities; i++) {
        const char *hit = audited_in(au, au->auditor_responsibilities[i]);
        if (hit)
            return not_independent(au, hit, "");
    }
    return 0;
}

struct appointment_scan {
    const Scsms__Audit *au;
    const char *hit;
    char id[RECORD_MAX_ID + 1];
};

static int scan_appointment(const Scsms__Record *rec, void *ctx)
{
    struct appointment_scan *sc = ctx;
    const char *person = rec->appointment->person, *auditor = sc->au->auditor;
    if (!same_activity(person, strlen(person), auditor, strlen(auditor)))
        return 0;
    sc->hit = audited_in(sc->au, rec->appointment->responsibilities);
    if (sc->hit)
        snprintf(sc->id, sizeof sc->id, "%s", rec->id);
    return sc->hit ? 1 : 0;
}

/* The auditor's active appointments, read in txn. */
static int check_audit_store(store_t *s, MDB_txn *txn, const Scsms__Audit *au)
{
    struct appointment_scan sc = {.au = au};
    uint8_t prefix[16];
    size_t plen = 0;
    prefix[plen++] = (uint8_t)SCSMS__RECORD__BODY_APPOINTMENT;
    memcpy(prefix + plen, "active", 7);
    plen += 7;
    int rc = store_scan_status(s, txn, prefix, plen, scan_appointment, &sc);
    if (rc == 1) {
        char where[RECORD_MAX_ID + 32];
        snprintf(where, sizeof where, " (appointment %s)", sc.id);
        return not_independent(au, sc.hit, where);
    }
    return rc;
}

/* ------------------------------------------------------------ rule 3 */

/* A date later than today anywhere: today is a UTC day, and a site east
 * of Greenwich is a day ahead of it for part of the day. */
static int after_today(const char *date, int64_t today)
{
    int64_t d;
    return date[0] && isotime_parse_date(date, &d) == 0 && d > today + 1;
}

static int calibration_overdue(const Scsms__Record *rec, int64_t today)
{
    int64_t day;
    const char *next = rec->equipment->next_calibration_date;
    return !strcmp(rec->status, "in_service") && next[0] &&
           isotime_parse_date(next, &day) == 0 && day < today;
}

/* What only the calibrations recorded against equipment may change
 * (rule 3): its status out of calibration, its last calibration date, and
 * its next one to later. Bringing the next date forward only tightens. */
static int check_equipment_update(const Scsms__Record *old, const Scsms__Record *rec)
{
    const Scsms__Equipment *o = old->equipment, *n = rec->equipment;
    if (!strcmp(old->status, "out_of_calibration") && !strcmp(rec->status, "in_service"))
        return scsms_fail(SCSMS_ERULE, "equipment %s is out of calibration: record a passing "
                          "calibration (with its next_due_date) to put it back in service "
                          "(rule 3)", old->id);
    /* back from removal by way of a calibration too: removed, it may have
     * failed one, and its status no longer says so */
    if (!strcmp(old->status, "removed_from_use") && !strcmp(rec->status, "in_service"))
        return scsms_fail(SCSMS_ERULE, "equipment %s was removed from use: set it "
                          "out_of_calibration and record a passing calibration to put it back in "
                          "service (rule 3)", old->id);
    if (strcmp(o->last_calibration_date, n->last_calibration_date) != 0 ||
        strcmp(o->last_calibration_id, n->last_calibration_id) != 0)
        return scsms_fail(SCSMS_ERULE, "last_calibration_date and last_calibration_id are kept "
                          "by the calibrations recorded against the equipment: record a "
                          "calibration (rule 3)");
    if (o->next_calibration_date[0] &&
        (!n->next_calibration_date[0] ||
         strcmp(n->next_calibration_date, o->next_calibration_date) > 0))
        return scsms_fail(SCSMS_ERULE, "next_calibration_date moves later only when a "
                          "calibration is recorded (rule 3): record the calibration, or keep "
                          "%s or an earlier date", o->next_calibration_date);
    return 0;
}

/* ------------------------------------------------------------ partners */

/* Dates are canonical YYYY-MM-DD after validation: text order is date
 * order. */
static int ends_before_start(const char *from, const char *to)
{
    return from[0] && to[0] && strcmp(to, from) < 0;
}

static int check_declaration(const Scsms__Declaration *d)
{
    if (ends_before_start(d->valid_from_date, d->valid_to_date))
        return scsms_fail(SCSMS_ERULE, "valid_to_date %s is before valid_from_date %s: a "
                          "declaration must end after it starts", d->valid_to_date,
                          d->valid_from_date);
    return 0;
}

static int check_certificate(const Scsms__Certificate *c)
{
    if (ends_before_start(c->valid_from_date, c->expiry_date))
        return scsms_fail(SCSMS_ERULE, "expiry_date %s is before valid_from_date %s",
                          c->expiry_date, c->valid_from_date);
    return 0;
}

static int check_partner(const Scsms__Partner *p)
{
    if (p->exempt && !p->exemption_reason[0])
        return scsms_fail(SCSMS_ERULE, "an exempt partner needs its exemption_reason (ISO 28001 "
                          "4.4)");
    if (!p->exempt && p->exemption_reason[0])
        return scsms_fail(SCSMS_ERULE, "exemption_reason is set but exempt is not");
    return 0;
}

const char *rules_decision_name(const Scsms__CredibilityReview *r)
{
    return r->decision == SCSMS__CREDIBILITY_REVIEW__DECISION__ACCEPTED   ? "accepted"
           : r->decision == SCSMS__CREDIBILITY_REVIEW__DECISION__REJECTED ? "rejected"
                                                                          : NULL;
}

/* What holds of a review whenever it is read: the envelope's status is
 * outside head office's seal, so it must repeat the sealed decision. */
static int check_review_content(const Scsms__Record *rec)
{
    const Scsms__CredibilityReview *r = rec->credibility_review;
    const char *decision = rules_decision_name(r);
    if (!decision)
        return scsms_fail(SCSMS_EINVAL, "decision must be accepted or rejected");
    if (strcmp(rec->status, decision) != 0)
        return scsms_fail(SCSMS_ERULE, "status '%s' differs from the decision '%s'", rec->status,
                          decision);
    if (r->declaration_sha256.len != CRYPTO_HASH_LEN)
        return scsms_fail(SCSMS_EINVAL, "declaration_sha256 must be 32 bytes");
    return 0;
}

/* A verdict goes to the partner it names: about one of its own
 * declarations, never another's. Checked where head office writes or
 * restores a review (no upload brings one in). */
static int review_names_its_partner(const Scsms__CredibilityReview *r)
{
    if (record_id_fits_type(r->declaration_id, r->partner_id, record_type_by_name("declaration")))
        return 0;
    return scsms_fail(SCSMS_ERULE, "declaration_id '%.128s' is not a declaration of partner "
                      "'%.64s' (%.64s-DOS-NNNNNN)", r->declaration_id, r->partner_id,
                      r->partner_id);
}

static int check_credibility_review(const Scsms__Record *rec, int64_t today)
{
    const Scsms__CredibilityReview *r = rec->credibility_review;
    int64_t day;
    int rc = check_review_content(rec);
    if (rc == 0)
        rc = review_names_its_partner(r);
    if (rc == 0 && isotime_parse_date(r->reviewed_date, &day) == 0 && day > today)
        rc = scsms_fail(SCSMS_ERULE, "reviewed_date %s is in the future", r->reviewed_date);
    return rc;
}

int rules_check_received(const Scsms__Record *rec)
{
    switch (rec->body_case) {
    case SCSMS__RECORD__BODY_DECLARATION:
        return check_declaration(rec->declaration);
    case SCSMS__RECORD__BODY_CERTIFICATE:
        return check_certificate(rec->certificate);
    case SCSMS__RECORD__BODY_PARTNER:
        return check_partner(rec->partner);
    case SCSMS__RECORD__BODY_CREDIBILITY_REVIEW:
        return record_is_tombstone(rec) ? 0 : check_review_content(rec);
    default:
        return 0;
    }
}

int rules_check_subject(const Scsms__Record *rec, const char *owner, enum store_role role)
{
    /* what only head office sets, whoever's agent (a store's role is a byte
     * of its own data file, unsigned) says otherwise */
    if (role != STORE_ROLE_HQ && rec->body_case == SCSMS__RECORD__BODY_RISK &&
        rec->risk->hq_accepted)
        return scsms_fail(SCSMS_EPERM, "only head office accepts an intolerable risk: %s sent "
                          "one with hq_accepted set (rule 1)", owner);
    if (role != STORE_ROLE_HQ && rec->body_case == SCSMS__RECORD__BODY_ACTION &&
        rec->action->site[0])
        return scsms_fail(SCSMS_EPERM, "only head office addresses an action to a site: %s sent "
                          "one for '%.64s'", owner, rec->action->site);
    if (role != STORE_ROLE_PARTNER) /* every record written or synced in passes here */
        return 0;
    const struct record_type *t = record_type_of(rec);
    const char *about = t && t->partner_field ? record_text(rec, t->partner_field) : NULL;
    if (!about || strcmp(about, owner) == 0)
        return 0;
    return scsms_fail(SCSMS_EPERM, "partner %s may submit only its own %ss, not one about %.128s "
                      "(rule 8)", owner, t->name, about);
}

/* ------------------------------------------------------------ what has happened */

/* The fields that say when something happened: an incident, a course
 * completed, an audit or drill held, an approval. None can be later than
 * the record's writing. A held_date ahead would also silence rule 7's
 * alert for a drill or audit not held; an incident dated ahead is one a
 * review counts in the wrong period. (Equipment, calibrations and reviews
 * have checks of their own.) Plans and validity periods (planned_date,
 * effective_date, valid_from_date) may lie ahead. */
static const struct happened {
    Scsms__Record__BodyCase body;
    const char *field;
    size_t offset; /* of the field's char * in the body */
    int date;      /* a date (YYYY-MM-DD); otherwise an instant */
} happened[] = {
#define HAPPENED(CASE, TYPE, FIELD, DATE)                                                        \
    {SCSMS__RECORD__BODY_##CASE, #FIELD, offsetof(TYPE, FIELD), DATE}
    HAPPENED(INCIDENT, Scsms__Incident, occurred_at, 0),
    HAPPENED(INCIDENT, Scsms__Incident, reported_at, 0),
    HAPPENED(TRAINING, Scsms__Training, completed_date, 1),
    HAPPENED(COMMUNICATION, Scsms__Communication, held_date, 1),
    HAPPENED(DRILL, Scsms__Drill, held_date, 1),
    HAPPENED(INSPECTION, Scsms__Inspection, inspected_date, 1),
    HAPPENED(EVALUATION, Scsms__Evaluation, evaluated_date, 1),
    HAPPENED(NONCONFORMITY, Scsms__Nonconformity, raised_date, 1),
    HAPPENED(ACTION, Scsms__Action, effectiveness_date, 1),
    HAPPENED(AUDIT, Scsms__Audit, held_date, 1),
    HAPPENED(MANAGEMENT_REVIEW, Scsms__ManagementReview, held_date, 1),
    HAPPENED(ACKNOWLEDGEMENT, Scsms__Acknowledgement, acknowledged_date, 1),
    HAPPENED(POLICY, Scsms__Policy, approved_date, 1),
    HAPPENED(DOCUMENT, Scsms__Document, approved_date, 1),
#undef HAPPENED
};

/* An instant may be a quarter of an hour ahead of the clock (a time
 * rounded up, a watch a little fast); a date one day, as after_today()
 * allows for a site east of Greenwich. */
#define HAPPENED_GRACE_SECS (15 * 60)

/* rec's dates of what has happened, none after `now` (seconds; the grace
 * above allowed). */
static int check_happened(const Scsms__Record *rec, int64_t now)
{
    for (size_t i = 0; i < sizeof happened / sizeof happened[0]; i++) {
        if (happened[i].body != rec->body_case)
            continue;
        /* the offset, not record_text(): a lookup by name was 2% of bulk adds */
        const char *body = (const char *)record_body((Scsms__Record *)rec);
        const char *v = body ? *(char *const *)(body + happened[i].offset) : NULL;
        int64_t t;
        int date = happened[i].date;
        /* not a date at all: the record's own check says so */
        if (!v || !(date ? after_today(v, isotime_days(now))
                         : isotime_parse_instant(v, &t) == 0 && t > now + HAPPENED_GRACE_SECS))
            continue;
        char at[ISOTIME_INSTANT_LEN + 1];
        if (date)
            isotime_format_date(isotime_days(now), at);
        else
            isotime_format_instant(now, at);
        const char *type = record_type_of(rec)->name;
        return scsms_fail(SCSMS_ERULE, "%s %.40s is after %s, %s: record the %s once it has "
                          "happened, with %s", happened[i].field, v, date ? "today" : "now", at,
                          type, date ? "the date it did" : "its time and UTC offset");
    }
    return 0;
}

/* An incident is reported to the authorities once it has happened. */
static int check_incident_order(const Scsms__Record *rec)
{
    const Scsms__Incident *in = rec->incident;
    int64_t occurred, reported;
    if (rec->body_case != SCSMS__RECORD__BODY_INCIDENT || !in->reported_at[0] ||
        isotime_parse_instant(in->occurred_at, &occurred) != 0 ||
        isotime_parse_instant(in->reported_at, &reported) != 0 || reported >= occurred)
        return 0;
    return scsms_fail(SCSMS_ERULE, "reported_at %.40s is before occurred_at %.40s: an incident "
                      "is reported once it has happened", in->reported_at, in->occurred_at);
}

/* ------------------------------------------------------------ entry points */

int rules_check_record(Scsms__Record *rec, enum store_role role, const struct scsms_config *cfg,
                       int64_t now)
{
    int64_t today = isotime_days(now);
    int rc = check_happened(rec, now);
    if (rc == 0)
        rc = check_incident_order(rec);
    if (rc)
        return rc;
    switch (rec->body_case) {
    case SCSMS__RECORD__BODY_RISK:
        return check_risk(rec->risk, role, cfg);
    case SCSMS__RECORD__BODY_ACTION:
        if (rec->action->site[0] && role != STORE_ROLE_HQ)
            return scsms_fail(SCSMS_EPERM, "only head office addresses an action to a site: "
                              "leave 'site' empty");
        return check_action_record(rec);
    case SCSMS__RECORD__BODY_AUDIT:
        return check_audit_record(rec->audit);
    case SCSMS__RECORD__BODY_EQUIPMENT:
        if (after_today(rec->equipment->last_calibration_date, today))
            return scsms_fail(SCSMS_ERULE, "last_calibration_date %s is in the future",
                              rec->equipment->last_calibration_date);
        if (calibration_overdue(rec, today))
            return record_set_string(&rec->status, "out_of_calibration");
        return 0;
    case SCSMS__RECORD__BODY_CALIBRATION:
        /* a calibration dated ahead would govern its equipment until then */
        if (after_today(rec->calibration->performed_date, today))
            return scsms_fail(SCSMS_ERULE, "performed_date %s is in the future: record a "
                              "calibration once it is done", rec->calibration->performed_date);
        return 0;
    case SCSMS__RECORD__BODY_CREDIBILITY_REVIEW:
        return check_credibility_review(rec, today);
    default:
        return rules_check_received(rec); /* the partner rules */
    }
}

/* Rule 4's nonconformities are named by item position (ID-NCR-N): an item
 * that raised one keeps its place and question, so that the name goes on
 * meaning that item; new items go after the existing ones. */
static int check_inspection_update(const Scsms__Record *old, const Scsms__Record *rec)
{
    const Scsms__Inspection *o = old->inspection, *n = rec->inspection;
    for (size_t i = 0; i < o->n_items; i++) {
        if (o->items[i]->answer != SCSMS__INSPECTION_ITEM__ANSWER__NONCONFORM)
            continue;
        if (i >= n->n_items || strcmp(o->items[i]->question, n->items[i]->question) != 0)
            return scsms_fail(SCSMS_ERULE, "item %zu ('%.64s') raised nonconformity %s-NCR-%zu: "
                              "keep it in its place, and add new items after the existing ones "
                              "(rule 4)", i + 1, o->items[i]->question, old->id, i + 1);
    }
    return 0;
}

int rules_check_update(const Scsms__Record *old, const Scsms__Record *rec)
{
    switch (rec->body_case) {
    case SCSMS__RECORD__BODY_EQUIPMENT:
        return check_equipment_update(old, rec);
    case SCSMS__RECORD__BODY_INSPECTION:
        return check_inspection_update(old, rec);
    default:
        return 0;
    }
}

int rules_check_restored(const Scsms__Record *rec, enum store_role role,
                         const struct scsms_config *cfg)
{
    struct scsms_config then = *cfg;
    /* not the dates of what has happened: an export is the site's own
     * records, and one written before that check must restore as it is */
    switch (rec->body_case) {
    case SCSMS__RECORD__BODY_RISK:
        /* who may accept holds always; the threshold is the one of the day
         * the risk was written, which the export does not carry */
        then.risk_threshold = 25;
        return check_risk(rec->risk, role, &then);
    case SCSMS__RECORD__BODY_ACTION:
        if (rec->action->site[0] && role != STORE_ROLE_HQ)
            return scsms_fail(SCSMS_EPERM, "only head office addresses an action to a site");
        return check_action_record(rec);
    case SCSMS__RECORD__BODY_AUDIT:
        return check_audit_record(rec->audit);
    case SCSMS__RECORD__BODY_CREDIBILITY_REVIEW: {
        int rc = rules_check_received(rec);
        return rc || record_is_tombstone(rec) ? rc
                                              : review_names_its_partner(rec->credibility_review);
    }
    default:
        return rules_check_received(rec); /* the partner rules */
    }
}

static int inspection_nonconforming(const Scsms__Inspection *in)
{
    for (size_t i = 0; i < in->n_items; i++)
        if (in->items[i]->answer == SCSMS__INSPECTION_ITEM__ANSWER__NONCONFORM)
            return 1;
    return 0;
}

/* Rule 5: a policy or controlled document made current supersedes the one
 * current before it on the same subject (its type's subject_field: the
 * policy's title, the document's id). */
static int supersedes(const Scsms__Record *rec)
{
    const struct record_type *t = record_type_of(rec);
    return t && t->subject_field && !strcmp(rec->status, "current");
}

int rules_raises(const Scsms__Record *rec)
{
    if (supersedes(rec))
        return 1;
    switch (rec->body_case) {
    case SCSMS__RECORD__BODY_CALIBRATION:
        return 1; /* a failure takes the equipment out; a pass may put it back */
    case SCSMS__RECORD__BODY_INSPECTION:
        return inspection_nonconforming(rec->inspection);
    case SCSMS__RECORD__BODY_EQUIPMENT:
        return !strcmp(rec->status, "out_of_calibration");
    default:
        return 0;
    }
}

static int exists(store_t *s, MDB_txn *txn, const char *id)
{
    uint8_t ref[STORE_LOGKEY_LEN];
    uint32_t v;
    return store_latest_get(s, txn, id, &v, ref) == 0;
}

/* A nonconformity rule 4 raised from `id` is held; refuse if not. */
static int raised_is_held(store_t *s, MDB_txn *txn, const char *id, const char *suffix,
                          const char *why)
{
    char ncid[RECORD_MAX_ID + 32];
    snprintf(ncid, sizeof ncid, "%.*s%s", RECORD_MAX_ID - 12, id, suffix);
    return exists(s, txn, ncid) ? 0
                                : scsms_fail(SCSMS_ERULE, "%s, but its nonconformity %s is not "
                                             "in the file or the store (rule 4)", why, ncid);
}

int rules_check_restored_store(store_t *s, MDB_txn *txn, const Scsms__Record *rec)
{
    int rc = check_links(s, txn, rec, record_type_of(rec)->name);
    if (rc || record_is_tombstone(rec))
        return rc;
    /* not a failed calibration's: one on equipment already out of
     * calibration raised none before rule 3 raised one for every failure */
    if (rec->body_case == SCSMS__RECORD__BODY_INSPECTION) {
        const Scsms__Inspection *in = rec->inspection;
        for (size_t i = 0; rc == 0 && i < in->n_items; i++) {
            char suffix[32], why[64];
            if (in->items[i]->answer != SCSMS__INSPECTION_ITEM__ANSWER__NONCONFORM)
                continue;
            snprintf(suffix, sizeof suffix, "-NCR-%zu", i + 1);
            snprintf(why, sizeof why, "item %zu does not conform", i + 1);
            rc = raised_is_held(s, txn, rec->id, suffix, why);
        }
    }
    return rc;
}

/* A new review of a declaration its partner has withdrawn (its latest
 * version says so) is refused, whichever version it names: an acceptance
 * would stand for a commitment the partner no longer makes. A review
 * written before may still change (turned to a rejection, say). */
static int check_not_withdrawn(store_t *s, MDB_txn *txn, const char *decl_id)
{
    uint8_t ref[STORE_LOGKEY_LEN];
    uint32_t latest;
    Scsms__Record *now = NULL;
    int rc = store_latest_get(s, txn, decl_id, &latest, ref);
    if (rc == SCSMS_ENOTFOUND) /* not held: check_review_store says so */
        return 0;
    if (rc == 0 && (rc = store_load_record(s, txn, ref, &now)) == 0 &&
        !strcmp(now->status, "withdrawn"))
        rc = scsms_fail(SCSMS_ERULE, "declaration '%.128s' was withdrawn by %s (version %u): "
                        "nothing to review", decl_id, now->owner, now->version);
    record_free(now);
    return rc;
}

/* A credibility review written at head office names a declaration
 * version head office holds, by the SHA-256 of its exact bytes (its id
 * is the partner's: check_credibility_review). review-declaration writes
 * it so; one added or imported by hand that names other bytes, or a
 * declaration not yet here, would show head office a verdict on content
 * nobody read, which the partner then refuses. (A review restored with
 * import --preserve is not checked here: it was when first written, and
 * the declarations it names come back by their partners' sync.) */
static int check_review_store(store_t *s, MDB_txn *txn, const Scsms__Record *rec)
{
    const Scsms__CredibilityReview *r = rec->credibility_review;
    uint8_t *bytes = NULL, hash[CRYPTO_HASH_LEN], ref[STORE_LOGKEY_LEN];
    size_t len;
    uint32_t latest;
    /* a new one: its id is given as it is written */
    int rc = rec->id[0] ? 0 : check_not_withdrawn(s, txn, r->declaration_id);
    if (rc)
        return rc;
    rc = store_version_bytes(s, txn, r->declaration_id, r->declaration_version, &bytes, &len);
    if (rc == SCSMS_ENOTFOUND && store_latest_get(s, txn, r->declaration_id, &latest, ref) == 0)
        return scsms_fail(SCSMS_ERULE, "declaration '%.128s' has no version %u here (the latest "
                          "is %u)", r->declaration_id, r->declaration_version, latest);
    if (rc == SCSMS_ENOTFOUND)
        return scsms_fail(SCSMS_ERULE, "declaration '%.128s' is not held here: review it once "
                          "the partner's sync has brought it ('scsms-server partners' lists "
                          "those held)", r->declaration_id);
    if (rc)
        return rc;
    crypto_sha256(bytes, len, hash);
    free(bytes);
    if (r->declaration_sha256.len != CRYPTO_HASH_LEN ||
        memcmp(hash, r->declaration_sha256.data, CRYPTO_HASH_LEN) != 0)
        return scsms_fail(SCSMS_ERULE, "declaration_sha256 is not that of declaration '%.128s' "
                          "version %u as head office holds it: review it with 'scsms-server "
                          "review-declaration'", r->declaration_id, r->declaration_version);
    return 0;
}

/* Head office's business partners by partner_id, for the partner and
 * certificate checks: read once a write transaction (store_txn_memo) and
 * kept true of it as versions are written. Each check used to read every
 * partner record, in the writer's transaction: an import of 2,000
 * certificates against 2,000 partners took 2.4 s, and 2,000 partners 1.3
 * s. Sorted by partner_id; a store written before the one-record rule may
 * hold two records for one partner, so a partner_id may appear twice. */
struct partner_held {
    char *pid;
    char id[RECORD_MAX_ID + 1]; /* the partner record holding it */
};

struct partners {
    struct partner_held *v;
    size_t n, cap;
    int failed; /* out of memory while kept: no longer true of the store */
};

static void partners_free(void *memo)
{
    struct partners *p = memo;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].pid);
    free(p->v);
    free(p);
}

/* The first entry for pid or after it. */
static size_t partners_lower(const struct partners *p, const char *pid)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(p->v[mid].pid, pid) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int partners_add(struct partners *p, const char *pid, const char *id)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        struct partner_held *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        p->v = v;
        p->cap = cap;
    }
    char *copy = strdup(pid);
    if (!copy)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    size_t at = partners_lower(p, pid);
    memmove(&p->v[at + 1], &p->v[at], (p->n - at) * sizeof *p->v);
    p->v[at].pid = copy;
    snprintf(p->v[at].id, sizeof p->v[at].id, "%s", id);
    p->n++;
    return 0;
}

/* A version of record id was written: whatever partner_id it held before
 * is its no longer; a partner record not disposed of holds its own. */
static void partners_written(void *memo, const Scsms__Record *rec, const char *id)
{
    struct partners *p = memo;
    if (rec->body_case != SCSMS__RECORD__BODY_PARTNER || p->failed)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].id, id) == 0) {
            free(p->v[i].pid);
            memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof *p->v);
            p->n--;
            break;
        }
    if (!record_is_tombstone(rec) && partners_add(p, rec->partner->partner_id, id))
        p->failed = 1; /* partners_of() reads them again */
}

static const struct store_memo_ops partners_ops = {partners_written, partners_free};

static int collect_partner(const Scsms__Record *rec, void *ctx)
{
    if (record_is_tombstone(rec))
        return 0;
    return partners_add(ctx, rec->partner->partner_id, rec->id);
}

/* The partners as txn holds them: kept from an earlier check of the same
 * transaction, or read now (every partner record) and kept. */
static int partners_of(store_t *s, MDB_txn *txn, struct partners **out)
{
    struct partners *p = store_txn_memo(s, &partners_ops);
    if (p && !p->failed) {
        *out = p;
        return 0;
    }
    if (!(p = calloc(1, sizeof *p)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    uint8_t prefix[1] = {(uint8_t)SCSMS__RECORD__BODY_PARTNER};
    int rc = store_scan_status(s, txn, prefix, sizeof prefix, collect_partner, p);
    if (rc) { /* collect_partner's ENOMEM, or the scan's error */
        partners_free(p);
        return rc;
    }
    store_txn_memo_keep(s, p, &partners_ops);
    *out = p;
    return 0;
}

/* One record per business partner: with two, 'exempt' would change one
 * and 'partners' show the other. */
static int check_partner_store(store_t *s, MDB_txn *txn, const Scsms__Record *rec)
{
    struct partners *p;
    int rc = partners_of(s, txn, &p);
    if (rc)
        return rc;
    const char *pid = rec->partner->partner_id;
    for (size_t i = partners_lower(p, pid); i < p->n && !strcmp(p->v[i].pid, pid); i++)
        if (strcmp(p->v[i].id, rec->id) != 0)
            return scsms_fail(SCSMS_ERULE, "partner '%.64s' has its record already (%s): update "
                              "that one", pid, p->v[i].id);
    return 0;
}

/* A certificate head office records names a partner it keeps a record of:
 * one with a partner_id mistyped would count for no partner's coverage
 * (AEO area G) and be listed under nobody. (Partners' own certificates
 * reach head office by sync, checked there.) */
static int check_certificate_store(store_t *s, MDB_txn *txn, const Scsms__Record *rec)
{
    struct partners *p;
    const char *id = rec->certificate->partner_id;
    int rc = partners_of(s, txn, &p);
    if (rc)
        return rc;
    size_t at = partners_lower(p, id);
    if (at < p->n && strcmp(p->v[at].pid, id) == 0)
        return 0;
    return scsms_fail(SCSMS_ERULE, "no business partner '%.64s' here: add its partner record "
                      "first ('scsms-server partners' lists those held)", id);
}

int rules_check_store(store_t *s, MDB_txn *txn, const Scsms__Record *rec)
{
    const char *type = record_type_of(rec)->name;
    int rc = check_links(s, txn, rec, type);
    if (rc)
        return rc;
    switch (rec->body_case) {
    case SCSMS__RECORD__BODY_AUDIT:
        return check_audit_store(s, txn, rec->audit);
    case SCSMS__RECORD__BODY_CALIBRATION:
        if (!find_link(rec, "equipment"))
            return scsms_fail(SCSMS_ERULE, "a calibration must link the equipment it was done on: "
                              "add a link with rel 'equipment'");
        return 0;
    case SCSMS__RECORD__BODY_CERTIFICATE:
        return store_role(s) == STORE_ROLE_HQ && !record_is_tombstone(rec)
                   ? check_certificate_store(s, txn, rec)
                   : 0;
    case SCSMS__RECORD__BODY_CREDIBILITY_REVIEW:
        return store_role(s) == STORE_ROLE_HQ && !record_is_tombstone(rec)
                   ? check_review_store(s, txn, rec)
                   : 0;
    case SCSMS__RECORD__BODY_PARTNER:
        return record_is_tombstone(rec) ? 0 : check_partner_store(s, txn, rec);
    case SCSMS__RECORD__BODY_PROCEDURE:
        if (rec->procedure->management_of_change && !find_link(rec, "risk_review"))
            return scsms_fail(SCSMS_ERULE, "a new or revised arrangement needs the risk review "
                              "done before it takes effect: add a 'risk_review' link (4.4.6)");
        return 0;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ follow-ups */

struct fu_list {
    struct rules_followup *v;
    size_t n, cap;
};

static int fu_push(struct fu_list *l, Scsms__Record *rec, int create, const char *fmt, ...)
    SCSMS_PRINTF(4, 5);

static int fu_push(struct fu_list *l, Scsms__Record *rec, int create, const char *fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        struct rules_followup *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            record_free(rec);
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        }
        l->v = v;
        l->cap = cap;
    }
    struct rules_followup *f = &l->v[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
    f->rec = rec;
    f->create = create;
    return 0;
}

/* A new nonconformity with id, from source, linked to it. */
static int new_nonconformity(const char *id, Scsms__Nonconformity__Source source,
                             const char *source_id, const char *equipment_id,
                             const char *description, int64_t today, Scsms__Record **out)
{
    char date[ISOTIME_DATE_LEN + 1];
    Scsms__Record *nc = record_new(record_type_by_name("nonconformity"));
    if (!nc)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    isotime_format_date(today, date);
    nc->nonconformity->source = source;
    nc->nonconformity->severity = SCSMS__NONCONFORMITY__SEVERITY__MINOR;
    int rc = record_set_string(&nc->id, id);
    if (rc == 0)
        rc = record_set_string(&nc->nonconformity->description, description);
    if (rc == 0) /* it quotes records, some written before a character was refused */
        text_scrub(nc->nonconformity->description);
    if (rc == 0)
        rc = record_set_string(&nc->nonconformity->raised_date, date);
    if (rc == 0 && source_id)
        rc = record_add_link(nc, "source", source_id);
    if (rc == 0 && equipment_id)
        rc = record_add_link(nc, "equipment", equipment_id);
    if (rc) {
        record_free(nc);
        return rc;
    }
    *out = nc;
    return 0;
}

/* Rule 3 from equipment found overdue: one nonconformity per lapse day. */
static int equipment_followups(store_t *s, MDB_txn *txn, const Scsms__Record *rec,
                               const char *id, int64_t today, struct fu_list *l)
{
    char ncid[RECORD_MAX_ID + 16], date[ISOTIME_DATE_LEN + 1], text[512];
    Scsms__Record *nc;
    isotime_format_date(today, date);
    snprintf(ncid, sizeof ncid, "%.*s-NCR-%s", RECORD_MAX_ID - 15, id, date);
    if (exists(s, txn, ncid))
        return 0;
    snprintf(text, sizeof text, "Equipment %s (%.*s) is out of calibration: its calibration was "
             "due %s; out of use until calibrated", id,
             (int)text_cut(rec->equipment->equipment_id, 160), rec->equipment->equipment_id,
             rec->equipment->next_calibration_date[0] ? rec->equipment->next_calibration_date
                                                      : "(no date)");
    int rc = new_nonconformity(ncid, SCSMS__NONCONFORMITY__SOURCE__CALIBRATION, id, id, text,
                               today, &nc);
    return rc ? rc : fu_push(l, nc, 1, "rule 3: raised nonconformity %s", ncid);
}

/* The nonconformity of a failed calibration, unless raised already (by
 * an earlier version of the same calibration). */
static int failed_calibration_ncr(store_t *s, MDB_txn *txn, const Scsms__Record *rec,
                                  const char *id, const char *eqid, int64_t today,
                                  struct fu_list *l)
{
    const Scsms__Calibration *c = rec->calibration;
    char ncid[RECORD_MAX_ID + 8], text[640]; /* room for every part cut below */
    Scsms__Record *nc;
    snprintf(ncid, sizeof ncid, "%.*s-NCR", RECORD_MAX_ID - 4, id);
    if (exists(s, txn, ncid))
        return 0;
    snprintf(text, sizeof text, "Equipment %s failed calibration %s (readings before '%.*s', "
             "after '%.*s'): out of use until it passes", eqid, id,
             (int)text_cut(c->reading_before, 100), c->reading_before,
             (int)text_cut(c->reading_after, 100), c->reading_after);
    int rc = new_nonconformity(ncid, SCSMS__NONCONFORMITY__SOURCE__CALIBRATION, id, eqid, text,
                               today, &nc);
    return rc ? rc : fu_push(l, nc, 1, "rule 3: raised nonconformity %s", ncid);
}

/* performed + days, as a date; "" when performed is not one. */
static void date_after(const char *performed, uint32_t days, char out[ISOTIME_DATE_LEN + 1])
{
    int64_t d;
    out[0] = 0;
    if (isotime_parse_date(performed, &d) == 0)
        isotime_format_date(d + days, out);
}

/* What a calibration does to its equipment when it is the latest one
 * recorded against it: a failure takes it out of use; a pass dates its next
 * calibration (the calibration's next_due_date, or its interval from this
 * one) and puts it back in service only when that date has not passed.
 * Sets *why for the follow-up line, and returns 1 when eq changed. */
static int apply_calibration(Scsms__Record *eq, const Scsms__Calibration *c, const char *id,
                             int64_t today, const char **why, int *rc)
{
    Scsms__Equipment *e = eq->equipment;
    char next[ISOTIME_DATE_LEN + 1];
    int64_t due;
    *rc = record_set_string(&e->last_calibration_date, c->performed_date);
    if (*rc == 0)
        *rc = record_set_string(&e->last_calibration_id, id);
    if (c->result == SCSMS__CALIBRATION__RESULT__FAIL) {
        *why = "failed calibration: marked out_of_calibration";
        if (*rc == 0)
            *rc = record_set_string(&eq->status, "out_of_calibration");
        return 1;
    }
    if (c->next_due_date[0])
        snprintf(next, sizeof next, "%s", c->next_due_date);
    else if (e->calibration_interval_days)
        date_after(c->performed_date, e->calibration_interval_days, next);
    else
        snprintf(next, sizeof next, "%s", e->next_calibration_date);
    if (*rc == 0)
        *rc = record_set_string(&e->next_calibration_date, next);
    if (next[0] && isotime_parse_date(next, &due) == 0 && due < today) {
        *why = "passed calibration but is due again already: out of use until calibrated";
        if (*rc == 0)
            *rc = record_set_string(&eq->status, "out_of_calibration");
    } else {
        *why = strcmp(eq->status, "in_service") != 0 ? "passed calibration: back in service"
                                                      : "passed calibration: in service";
        if (*rc == 0)
            *rc = record_set_string(&eq->status, "in_service");
    }
    return 1;
}

/* Rule 3 from a calibration, when it is recorded. Only the latest
 * calibration (by performed_date) governs the equipment: one recorded late
 * for an earlier date is history. Equipment removed from use stays so. A
 * correction of a calibration already recorded never puts equipment back
 * in service: a corrected failure still takes it out (and raises its
 * nonconformity, once); a pass must be recorded as a calibration of its
 * own. A failure raises a nonconformity whatever its date. */
static int calibration_followups(store_t *s, MDB_txn *txn, const Scsms__Record *rec,
                                 const char *id, int create, int64_t today, struct fu_list *l)
{
    const Scsms__Calibration *c = rec->calibration;
    const Scsms__Link *el = find_link(rec, "equipment");
    Scsms__Record *eq = NULL;
    int rc = el ? load_current(s, txn, el->target, &eq) : 0;
    if (rc || !eq)
        return rc;
    char eqid[RECORD_MAX_ID + 1], was[32];
    snprintf(eqid, sizeof eqid, "%s", eq->id);
    snprintf(was, sizeof was, "%s", eq->status);
    int fail = c->result == SCSMS__CALIBRATION__RESULT__FAIL;
    /* The latest: a new calibration dated on or after the last one (one
     * recorded later the same day is later); a correction only of the
     * latest itself, or of one dated after it. Dates are canonical
     * YYYY-MM-DD after validation: text order is date order. */
    int order = strcmp(c->performed_date, eq->equipment->last_calibration_date);
    int latest = create ? order >= 0
                        : order > 0 || !strcmp(id, eq->equipment->last_calibration_id);
    const char *why = NULL;
    if (latest && strcmp(was, "removed_from_use") != 0 && (fail || create) &&
        apply_calibration(eq, c, id, today, &why, &rc) && rc == 0) {
        int lapsed = !fail && !strcmp(eq->status, "out_of_calibration") &&
                     strcmp(was, "out_of_calibration") != 0;
        rc = fu_push(l, eq, 0, "rule 3: equipment %s %s", eqid, why);
        eq = NULL;
        if (rc == 0 && lapsed) {
            Scsms__Record *now = l->v[l->n - 1].rec;
            rc = equipment_followups(s, txn, now, eqid, today, l);
        }
    }
    record_free(eq);
    if (rc == 0 && fail)
        rc = failed_calibration_ncr(s, txn, rec, id, eqid, today, l);
    return rc;
}

/* Rule 4: one nonconformity per nonconforming inspection item, raised
 * once: a later version of the inspection raises only those of items
 * newly found nonconforming. */
static int inspection_followups(store_t *s, MDB_txn *txn, const Scsms__Record *rec,
                                const char *id, int64_t today, struct fu_list *l)
{
    const Scsms__Inspection *in = rec->inspection;
    for (size_t i = 0; i < in->n_items; i++) {
        const Scsms__InspectionItem *it = in->items[i];
        char ncid[RECORD_MAX_ID + 16], text[1280]; /* room for every part cut below */
        Scsms__Record *nc;
        if (it->answer != SCSMS__INSPECTION_ITEM__ANSWER__NONCONFORM)
            continue;
        snprintf(ncid, sizeof ncid, "%.*s-NCR-%zu", RECORD_MAX_ID - 12, id, i + 1);
        if (exists(s, txn, ncid))
            continue;
        /* cut where a character begins, so the record raised is text */
        snprintf(text, sizeof text, "Inspection %s of %.*s by %.*s: item %zu '%.*s' does not "
                 "conform%s%.*s", id, (int)text_cut(in->area, 160), in->area,
                 (int)text_cut(in->inspector, 160), in->inspector, i + 1,
                 (int)text_cut(it->question, 300), it->question, it->note[0] ? ": " : "",
                 (int)text_cut(it->note, 300), it->note);
        int rc = new_nonconformity(ncid, SCSMS__NONCONFORMITY__SOURCE__INSPECTION, id, NULL, text,
                                   today, &nc);
        if (rc == 0)
            rc = fu_push(l, nc, 1, "rule 4: item %zu nonconforming: raised nonconformity %s",
                         i + 1, ncid);
        if (rc)
            return rc;
    }
    return 0;
}

struct earlier {
    const Scsms__Record *now;
    const char *id;
    const char *owner; /* the store's: the record being written has none yet */
    struct fu_list *l;
    int rc;
};

/* Same subject (record_type.subject_field) of the same type. */
static int same_subject(const Scsms__Record *a, const Scsms__Record *b)
{
    const char *field = record_type_of(a)->subject_field;
    return a->body_case == b->body_case &&
           !strcmp(record_text(a, field), record_text(b, field));
}

static int mark_obsolete(const Scsms__Record *old, void *ctx)
{
    struct earlier *e = ctx;
    if (!strcmp(old->id, e->id) || strcmp(old->owner, e->owner) != 0 ||
        !same_subject(old, e->now))
        return 0;
    Scsms__Record *copy = NULL;
    e->rc = record_dup(old, &copy);
    if (e->rc == 0)
        e->rc = record_set_string(&copy->status, "obsolete");
    if (e->rc == 0)
        e->rc = fu_push(e->l, copy, 0, "rule 5: %s %s is now obsolete, superseded by %s",
                        record_type_of(old)->name, old->id, e->id);
    else
        record_free(copy);
    return e->rc;
}

/* Rule 5: the current records of the same subject become obsolete. */
static int supersede_followups(store_t *s, MDB_txn *txn, const Scsms__Record *rec,
                               const char *id, struct fu_list *l)
{
    uint8_t prefix[16];
    size_t plen = 0;
    struct earlier e = {rec, id, s->owner, l, 0};
    prefix[plen++] = (uint8_t)rec->body_case;
    memcpy(prefix + plen, "current", 8);
    plen += 8;
    int rc = store_scan_status(s, txn, prefix, plen, mark_obsolete, &e);
    return e.rc ? e.rc : rc;
}

int rules_followups(store_t *s, MDB_txn *txn, const Scsms__Record *rec, const char *id,
                    const char *old_status, int64_t today, struct rules_followup **out,
                    size_t *n)
{
    struct fu_list l = {0};
    int rc = 0;
    /* every version written current: one whose subject an update changed
     * to another current record's supersedes that one too */
    if (supersedes(rec))
        rc = supersede_followups(s, txn, rec, id, &l);
    switch (rc ? SCSMS__RECORD__BODY__NOT_SET : rec->body_case) {
    case SCSMS__RECORD__BODY_CALIBRATION:
        rc = calibration_followups(s, txn, rec, id, !old_status, today, &l);
        break;
    case SCSMS__RECORD__BODY_EQUIPMENT:
        if (!strcmp(rec->status, "out_of_calibration") &&
            (!old_status || strcmp(old_status, "out_of_calibration") != 0))
            rc = equipment_followups(s, txn, rec, id, today, &l);
        break;
    case SCSMS__RECORD__BODY_INSPECTION:
        rc = inspection_followups(s, txn, rec, id, today, &l);
        break;
    default:
        break;
    }
    if (rc) {
        rules_followups_free(l.v, l.n);
        return rc;
    }
    *out = l.v;
    *n = l.n;
    return 0;
}

void rules_followups_free(struct rules_followup *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        record_free(f[i].rec);
    free(f);
}

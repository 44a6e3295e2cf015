/* report.c -- building the review, gaps and aeo reports in one streaming
 * pass; see report.h. Rendering is in report_text.c and report_html.c. */
#include "report.h"
#include "report_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "isotime.h"

/* ------------------------------------------------------------ tables */

/* The ISO 28000 clauses 4.1 to 4.6 a gap analysis walks, in order. */
static const char *const clauses[] = {
    "4.1", "4.2", "4.3.1", "4.3.2", "4.3.3", "4.3.4", "4.3.5", "4.4.1", "4.4.2", "4.4.3",
    "4.4.4", "4.4.5", "4.4.6", "4.4.7", "4.5.1", "4.5.2", "4.5.3", "4.5.4", "4.5.5", "4.6"};
#define N_CLAUSES (sizeof clauses / sizeof clauses[0])
#define CLAUSE_OTHER N_CLAUSES /* audit findings naming no clause of the list */

/* Clauses head office answers for every site at once: a current scope,
 * policy, legal requirement, objective, controlled document or management
 * review of head office's is evidence for each site. */
static const char *const hq_clauses[] = {"4.1", "4.2", "4.3.2", "4.3.3", "4.4.4", "4.4.5",
                                         "4.6"};

/* Clause 4.5.4 (control of records) has no record type of its own: the
 * store is that control (retention, sensitivity, a signed hash chain head
 * office verified), so any current record of the site evidences it. */
#define CLAUSE_RECORDS "4.5.4"

/* A controlled document evidences 4.4.4 (documentation) as well as 4.4.5
 * (document control), the clause of its type. */
#define CLAUSE_DOCS "4.4.4"

/* The customs AEO areas (ISO 28004-4 tables 1-9) and the clauses whose
 * evidence shows them; "4.3" stands for all of 4.3.1 to 4.3.5. */
static const struct {
    const char *area, *requirement, *clauses;
    int partners; /* also needs partner, certificate and declaration evidence */
} aeo_areas[] = {
    {"A", "education, training and awareness", "4.4.2", 0},
    {"B", "information exchange, access and confidentiality", "4.2 4.4.5 4.5.4", 0},
    {"C", "cargo security", "4.4.6", 0},
    {"D", "conveyance security", "4.4.6", 0},
    {"E", "premises security", "4.4.6", 0},
    {"F", "personnel security", "4.4.6", 0},
    {"G", "trading partner security", "4.4.6", 1},
    {"H", "crisis management and incident recovery", "4.5.3 4.4.6 4.4.7", 0},
    {"I", "measurement, analyses and improvement", "4.1 4.3.1 4.3.2 4.3.3 4.3.4 4.3.5", 0},
};

/* Statuses in which a record is no longer evidence of anything current. */
static const char *const retired[] = {"draft", "obsolete", "superseded", "withdrawn", "archived",
                                      "cancelled", "inactive", "ended", "rejected", "failed",
                                      "removed_from_use", RECORD_DISPOSED, NULL};

static const char *const categories[] = {
    "unset", "physical_failure_or_malicious_act", "operational_and_human_factors",
    "natural_events", "external_suppliers_and_services", "stakeholder_regulatory_reputation",
    "security_equipment_lifecycle", "information_data_communications",
    "continuity_of_operations"};
static const char *const incident_kinds[] = {"unset", "security_incident", "breach", "near_miss",
                                             "false_alarm", "emergency"};
static const char *const action_statuses[] = {"open", "implemented", "verified_effective",
                                              "closed"};
static const char *const ageing[] = {"1-30", "31-90", "91-180", "over_180"};
static const char *const objective_statuses[] = {"open", "achieved", "missed", "cancelled"};
static const char *const target_statuses[] = {"open", "met", "missed", "cancelled"};
static const char *const equipment_statuses[] = {"in_service", "out_of_calibration",
                                                 "removed_from_use"};
static const char *const comm_kinds[] = {"unset", "consultation", "briefing", "report"};

#define N_OF(a) (sizeof a / sizeof a[0])
#define MAX_TYPES 48      /* record types the counters have room for */
#define MAX_INDICATORS 24 /* measured indicators shown one by one; more are counted */

/* ------------------------------------------------------------ counters */

/* Everything the report counts for one site. Only uint32_t members: two
 * threads' counters are merged by adding them as an array. */
struct site_agg {
    uint32_t inc_month[REPORT_MAX_MONTHS], nm_month[REPORT_MAX_MONTHS];
    uint32_t inc_category[N_OF(categories)], inc_kind[N_OF(incident_kinds)], inc_reported;
    uint32_t risk_open, risk_intolerable, risk_new, risk_inherent[25], risk_residual[25];
    uint32_t act_status[N_OF(action_statuses)], act_overdue[N_OF(ageing)];
    uint32_t act_raised_corrective, act_raised_preventive;
    uint32_t audits_held, audits_planned, audits_not_held;
    uint32_t find_obs[N_CLAUSES + 1], find_nc[N_CLAUSES + 1];
    uint32_t meas_count, obj_status[N_OF(objective_statuses)], tgt_status[N_OF(target_statuses)];
    uint32_t trn_valid, trn_expiring, trn_expired, trn_in_period, trn_failed;
    uint32_t eqp_status[N_OF(equipment_statuses)], eqp_cal_overdue, cal_pass, cal_fail;
    uint32_t drl_planned, drl_held, drl_cancelled, drl_not_held, drl_pending;
    uint32_t decl_in_force;  /* accepted declarations in force of active partners */
    uint32_t decl_certified; /* those of them whose partner holds a valid certificate */
    uint32_t evl_count, evl_compliant, com_kind[N_OF(comm_kinds)], ncr_raised, legal_new;
    uint32_t evidence[MAX_TYPES]; /* current records by type index */
};

#define SITE_WORDS (sizeof(struct site_agg) / sizeof(uint32_t))
_Static_assert(sizeof(struct site_agg) % sizeof(uint32_t) == 0, "site_agg holds uint32_t only");

/* What is known of one business partner, by partner_id. decl_valid and
 * the declaration counts are set by part_join, after the scan. */
struct partner_agg {
    char *id;
    unsigned listed : 1, active : 1, exempt : 1, cert_valid : 1, cert_expiring : 1,
        decl_valid : 1;
    uint32_t decl_awaiting, decl_rejected; /* declarations in force */
};

/* One version of a declaration, by declaration id and version: the
 * declaration itself when it is current and in force at --to (partner's
 * log), and head office's latest credibility review of exactly that
 * version (head office's log). The two logs may be scanned by different
 * threads, so both halves are kept until part_join puts them together.
 * There is one entry per declaration in force and per version reviewed:
 * the table grows with declarations, never with records. */
struct decl_agg {
    char *id;          /* declaration id; NULL: an empty slot */
    char *partner_id;  /* of the declaration; NULL until it is seen */
    int32_t *sites;    /* the chosen sites it names (slots) */
    uint32_t version, n_sites;
    char review_at[RECORD_REVIEW_KEY_LEN + 1]; /* that review's order (record_review_key) */
    unsigned has_decl : 1, all_sites : 1, has_review : 1, accepted : 1;
};

/* A measured indicator: only measurements make one, so an objective
 * nothing was measured against never takes a place in the table. */
struct indicator_agg {
    char name[96], unit[24];
    uint32_t n;
    double sum, latest;
    char latest_end[ISOTIME_DATE_LEN + 1];
    long objective; /* index in ctx.objectives of its open objectives; -1 */
};

/* The open objectives of one indicator (of the chosen sites and head
 * office), read before the scan: the first one's target is the
 * indicator's. One per distinct indicator: few, never one per record. */
struct objective_ref {
    char *indicator;
    char unit[24];
    double target, baseline;
    uint32_t count; /* open objectives with this indicator */
    size_t seq;     /* the order they were read in */
};

struct review_agg {
    char id[RECORD_MAX_ID + 1];
    char held[ISOTIME_DATE_LEN + 1], pfrom[ISOTIME_DATE_LEN + 1], pto[ISOTIME_DATE_LEN + 1];
    int is_review;      /* seen the review itself (else only actions naming it) */
    uint32_t act_status[N_OF(action_statuses)], act_overdue;
};

/* An action a management review raised that is still open, for the
 * follow-up's list: kept whatever the review, which may be scanned by the
 * other thread, and listed when that review is an earlier one. As many as
 * reviews raise and leave open: a few dozen, never one per record. */
struct open_action {
    char id[RECORD_MAX_ID + 1], review[RECORD_MAX_ID + 1];
    char site[RECORD_MAX_ID + 1]; /* whose to do: the site, or head office */
    char due[ISOTIME_DATE_LEN + 1];
};

struct open_actions {
    struct open_action *v;
    size_t n, cap;
};

struct ctx; /* shared, read-only while scanning */

/* One scanning thread's counters. */
struct part {
    const struct ctx *c;
    struct site_agg *sites;  /* c->n_sites */
    struct site_agg hq;      /* head office's own records: evidence and figures */
    struct partner_agg *partners; /* open addressing, cap a power of two */
    size_t n_partners, cap_partners;
    struct decl_agg *decls;       /* open addressing, cap a power of two */
    size_t n_decls, cap_decls;
    struct indicator_agg ind[MAX_INDICATORS];
    size_t n_ind;
    uint32_t ind_more;       /* measurements of indicators beyond the table */
    uint8_t *obj_measured;   /* per c->objectives: measured in the period */
    struct review_agg *reviews;
    size_t n_reviews, cap_reviews;
    struct open_actions open;     /* actions of reviews still open */
    struct arena arena;      /* each record decodes into it (arena.h) */
    const char *start, *end; /* id range */
    int rc;
    char err[512];
};

enum { OWNER_IGNORE = -1, OWNER_HQ = -2, OWNER_PARTNER = -3 };

struct ctx {
    const struct report_options *o;
    store_t *s;
    const char *hq_name;       /* head office's identity (store_owner) */
    char from[ISOTIME_DATE_LEN + 1], to[ISOTIME_DATE_LEN + 1], soon[ISOTIME_DATE_LEN + 1];
    int64_t to_day;
    unsigned threshold;
    int first_month, n_months; /* year * 12 + month - 1 of --from */
    char **sites;              /* sorted, owned */
    size_t n_sites;
    char **hq_owners;          /* head office's identities with a log, sorted, owned */
    size_t n_hq_owners;
    struct objective_ref *objectives; /* by indicator, owned */
    size_t n_objectives, cap_objectives;
    int32_t *owner_map;        /* owner index -> site slot or OWNER_* */
    size_t n_owner_map;
    int type_index[128];       /* body case -> index in record_types(); -1 */
    size_t n_types;
    const struct record_type *types;
    uint64_t total;            /* records in the store, for progress */
    uint64_t done;
    pthread_mutex_t lock;      /* done and the progress callback */
};

/* ------------------------------------------------------------ helpers */

/* A date field (or the date of an instant) within [from, to]. Canonical
 * dates sort as text, so no parsing is needed. */
static int in_period(const struct ctx *c, const char *date)
{
    return date && strlen(date) >= ISOTIME_DATE_LEN &&
           strncmp(date, c->from, ISOTIME_DATE_LEN) >= 0 &&
           strncmp(date, c->to, ISOTIME_DATE_LEN) <= 0;
}

/* Set, and strictly before the as-of date. */
static int before_to(const struct ctx *c, const char *date)
{
    return date && date[0] && strncmp(date, c->to, ISOTIME_DATE_LEN) < 0;
}

static int status_is(const Scsms__Record *r, const char *status)
{
    return strcmp(r->status, status) == 0;
}

static int index_of(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return (int)i;
    return -1;
}

/* An audit finding's clause as written ("4.4.6", "4.4.6 c)", "ISO 28000
 * 4.4.6"): the first run of digits and dots that names a listed clause. */
static int finding_clause(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            continue;
        char buf[16];
        size_t n = strspn(p, "0123456789.");
        if (n >= sizeof buf)
            break;
        memcpy(buf, p, n);
        while (n && buf[n - 1] == '.')
            n--;
        buf[n] = 0;
        int i = index_of(clauses, N_CLAUSES, buf);
        return i < 0 ? (int)CLAUSE_OTHER : i;
    }
    return (int)CLAUSE_OTHER;
}

/* For qsort and bsearch over tables whose elements begin with a string
 * pointer (char *, struct ident). */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int site_slot(const struct ctx *c, const char *name)
{
    char *const *at = c->n_sites ? bsearch(&name, c->sites, c->n_sites, sizeof *c->sites, cmp_str)
                                 : NULL;
    return at ? (int)(at - c->sites) : -1;
}

/* Whose an owner's record is, by the owner's name: a chosen site's slot,
 * OWNER_HQ, or OWNER_IGNORE (another site, a partner). */
static int32_t owner_who(const struct ctx *c, const char *owner)
{
    int slot = site_slot(c, owner);
    if (slot >= 0)
        return slot;
    if (c->n_hq_owners &&
        bsearch(&owner, c->hq_owners, c->n_hq_owners, sizeof *c->hq_owners, cmp_str))
        return OWNER_HQ;
    return OWNER_IGNORE;
}

/* Current evidence: written by the as-of date, not retired, not expired. */
static int is_current(const struct ctx *c, const Scsms__Record *r)
{
    for (const char *const *s = retired; *s; s++)
        if (status_is(r, *s))
            return 0;
    switch (r->body_case) {
    case SCSMS__RECORD__BODY_TRAINING:
        return !before_to(c, r->training->expiry_date);
    case SCSMS__RECORD__BODY_CERTIFICATE:
        return !before_to(c, r->certificate->expiry_date);
    case SCSMS__RECORD__BODY_DECLARATION:
        return !before_to(c, r->declaration->valid_to_date);
    default:
        return 1;
    }
}

/* ------------------------------------------------------------ partners */

static uint64_t hash_text(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int partners_grow(struct part *p)
{
    size_t cap = p->cap_partners ? 2 * p->cap_partners : 64;
    struct partner_agg *t = calloc(cap, sizeof *t);
    if (!t)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->cap_partners; i++) {
        if (!p->partners[i].id)
            continue;
        size_t h = (size_t)hash_text(p->partners[i].id) & (cap - 1);
        while (t[h].id)
            h = (h + 1) & (cap - 1);
        t[h] = p->partners[i];
    }
    free(p->partners);
    p->partners = t;
    p->cap_partners = cap;
    return 0;
}

/* The entry of partner id, made when new; NULL on ENOMEM. */
static struct partner_agg *partner_of(struct part *p, const char *id)
{
    if (2 * (p->n_partners + 1) > p->cap_partners && partners_grow(p))
        return NULL;
    size_t h = (size_t)hash_text(id) & (p->cap_partners - 1);
    while (p->partners[h].id) {
        if (strcmp(p->partners[h].id, id) == 0)
            return &p->partners[h];
        h = (h + 1) & (p->cap_partners - 1);
    }
    if (!(p->partners[h].id = strdup(id))) {
        scsms_fail(SCSMS_ENOMEM, "out of memory");
        return NULL;
    }
    p->n_partners++;
    return &p->partners[h];
}

/* ------------------------------------------------------------ declarations */

static size_t decl_hash(const char *id, uint32_t version)
{
    return (size_t)((hash_text(id) ^ version) * 0x9e3779b97f4a7c15ull);
}

static int decls_grow(struct part *p)
{
    size_t cap = p->cap_decls ? 2 * p->cap_decls : 64;
    struct decl_agg *t = calloc(cap, sizeof *t);
    if (!t)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->cap_decls; i++) {
        if (!p->decls[i].id)
            continue;
        size_t h = decl_hash(p->decls[i].id, p->decls[i].version) & (cap - 1);
        while (t[h].id)
            h = (h + 1) & (cap - 1);
        t[h] = p->decls[i];
    }
    free(p->decls);
    p->decls = t;
    p->cap_decls = cap;
    return 0;
}

/* The entry of version `version` of declaration id, made when new; NULL
 * on ENOMEM. */
static struct decl_agg *decl_of(struct part *p, const char *id, uint32_t version)
{
    if (2 * (p->n_decls + 1) > p->cap_decls && decls_grow(p))
        return NULL;
    size_t h = decl_hash(id, version) & (p->cap_decls - 1);
    while (p->decls[h].id) {
        if (p->decls[h].version == version && strcmp(p->decls[h].id, id) == 0)
            return &p->decls[h];
        h = (h + 1) & (p->cap_decls - 1);
    }
    if (!(p->decls[h].id = strdup(id))) {
        scsms_fail(SCSMS_ENOMEM, "out of memory");
        return NULL;
    }
    p->decls[h].version = version;
    p->n_decls++;
    return &p->decls[h];
}

static void decl_free(struct decl_agg *d)
{
    free(d->id);
    free(d->partner_id);
    free(d->sites);
}

/* Is the review with order key at (record_review_key) later than the one
 * d holds? */
static int review_later(const struct decl_agg *d, const char *at)
{
    return !d->has_review || strcmp(at, d->review_at) > 0;
}

/* A declaration (the current version of one): kept when it is not
 * withdrawn (nor otherwise retired) and in force at --to, with the chosen
 * sites it covers, to be joined with head office's review after the scan. */
static int take_declaration(struct part *p, const Scsms__Record *r)
{
    const struct ctx *c = p->c;
    const Scsms__Declaration *d = r->declaration;
    if (!is_current(c, r) || strncmp(d->valid_from_date, c->to, ISOTIME_DATE_LEN) > 0)
        return 0;
    struct decl_agg *x = decl_of(p, r->id, r->version);
    if (!x)
        return SCSMS_ENOMEM;
    if (x->has_decl)
        return 0; /* the current version is scanned once */
    if (!(x->partner_id = strdup(d->partner_id)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    x->has_decl = 1;
    /* which sites it covers: the ones it names, or every site */
    x->all_sites = d->n_covered_sites == 0;
    if (d->n_covered_sites && !(x->sites = malloc(d->n_covered_sites * sizeof *x->sites)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n_covered_sites; i++) {
        int slot = site_slot(c, d->covered_sites[i]);
        int seen = 0;
        for (uint32_t k = 0; k < x->n_sites && !seen; k++)
            seen = x->sites[k] == slot;
        if (slot >= 0 && !seen)
            x->sites[x->n_sites++] = slot;
    }
    return 0;
}

/* Head office's credibility review of one version of a declaration: the
 * latest review of each version is kept. */
static int take_credibility_review(struct part *p, const Scsms__Record *r)
{
    const Scsms__CredibilityReview *cr = r->credibility_review;
    int accepted = cr->decision == SCSMS__CREDIBILITY_REVIEW__DECISION__ACCEPTED;
    if (!accepted && cr->decision != SCSMS__CREDIBILITY_REVIEW__DECISION__REJECTED)
        return 0;
    struct decl_agg *x = decl_of(p, cr->declaration_id, cr->declaration_version);
    if (!x)
        return SCSMS_ENOMEM;
    char at[RECORD_REVIEW_KEY_LEN + 1];
    record_review_key(r, at);
    if (!review_later(x, at))
        return 0;
    snprintf(x->review_at, sizeof x->review_at, "%s", at);
    x->has_review = 1;
    x->accepted = (unsigned)accepted;
    return 0;
}

static int take_partner_side(struct part *p, const Scsms__Record *r)
{
    const struct ctx *c = p->c;
    struct partner_agg *pa;
    switch (r->body_case) {
    case SCSMS__RECORD__BODY_PARTNER:
        if (!(pa = partner_of(p, r->partner->partner_id)))
            return SCSMS_ENOMEM;
        pa->listed = 1;
        pa->active |= status_is(r, "active");
        pa->exempt |= r->partner->exempt && status_is(r, "active");
        break;
    case SCSMS__RECORD__BODY_CERTIFICATE: {
        const Scsms__Certificate *ct = r->certificate;
        if (!(pa = partner_of(p, ct->partner_id)))
            return SCSMS_ENOMEM;
        if (status_is(r, "active") && !before_to(c, ct->expiry_date) &&
            strncmp(ct->valid_from_date, c->to, ISOTIME_DATE_LEN) <= 0) {
            pa->cert_valid = 1;
            pa->cert_expiring |= strncmp(ct->expiry_date, c->soon, ISOTIME_DATE_LEN) <= 0;
        }
        break;
    }
    case SCSMS__RECORD__BODY_DECLARATION:
        if (!partner_of(p, r->declaration->partner_id))
            return SCSMS_ENOMEM;
        return take_declaration(p, r);
    default:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------ reviews */

static struct review_agg *review_of(struct part *p, const char *id)
{
    for (size_t i = 0; i < p->n_reviews; i++)
        if (strcmp(p->reviews[i].id, id) == 0)
            return &p->reviews[i];
    if (p->n_reviews == p->cap_reviews) {
        size_t cap = p->cap_reviews ? 2 * p->cap_reviews : 8;
        struct review_agg *t = realloc(p->reviews, cap * sizeof *t);
        if (!t) {
            scsms_fail(SCSMS_ENOMEM, "out of memory");
            return NULL;
        }
        p->reviews = t;
        p->cap_reviews = cap;
    }
    struct review_agg *rv = &p->reviews[p->n_reviews++];
    memset(rv, 0, sizeof *rv);
    snprintf(rv->id, sizeof rv->id, "%s", id);
    return rv;
}

static int take_review(struct part *p, const Scsms__Record *r)
{
    const Scsms__ManagementReview *m = r->management_review;
    struct review_agg *rv = review_of(p, r->id);
    if (!rv)
        return SCSMS_ENOMEM;
    rv->is_review = 1;
    snprintf(rv->held, sizeof rv->held, "%.10s", m->held_date);
    snprintf(rv->pfrom, sizeof rv->pfrom, "%.10s", m->period_from_date);
    snprintf(rv->pto, sizeof rv->pto, "%.10s", m->period_to_date);
    return 0;
}

/* The name of whose to do an action is (slot or OWNER_HQ, as figures_of
 * gives it). Borrowed from c. */
static const char *whose_name(const struct ctx *c, int32_t whose)
{
    return whose == OWNER_HQ ? c->hq_name : c->sites[whose];
}

/* Append an open action of review `review` to l. */
static int open_action_add(struct open_actions *l, const char *id, const char *review,
                           const char *site, const char *due)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct open_action *t = realloc(l->v, cap * sizeof *t);
        if (!t)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        l->v = t;
        l->cap = cap;
    }
    struct open_action *a = &l->v[l->n++];
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->review, sizeof a->review, "%s", review);
    snprintf(a->site, sizeof a->site, "%s", site);
    snprintf(a->due, sizeof a->due, "%.10s", due);
    return 0;
}

/* An action raised by a management review (its source link names one):
 * counted against that review for the next review's follow-up, and kept
 * for the follow-up's list while it is open. whose: as figures_of. */
static int take_review_action(struct part *p, int32_t whose, const Scsms__Record *r)
{
    for (size_t i = 0; i < r->n_links; i++) {
        const Scsms__Link *l = r->links[i];
        if (strcmp(l->rel, "source") || !strstr(l->target, "-MRV-"))
            continue;
        struct review_agg *rv = review_of(p, l->target);
        if (!rv)
            return SCSMS_ENOMEM;
        int st = index_of(action_statuses, N_OF(action_statuses), r->status);
        if (st >= 0)
            rv->act_status[st]++;
        if (st == 0 && before_to(p->c, r->action->due_date))
            rv->act_overdue++;
        if (st == 0 && open_action_add(&p->open, r->id, l->target, whose_name(p->c, whose),
                                       r->action->due_date))
            return SCSMS_ENOMEM;
    }
    return 0;
}

/* ------------------------------------------------------------ indicators */

static struct indicator_agg *indicator_of(struct part *p, const char *name)
{
    for (size_t i = 0; i < p->n_ind; i++)
        if (strncmp(p->ind[i].name, name, sizeof p->ind[i].name - 1) == 0)
            return &p->ind[i];
    if (p->n_ind == MAX_INDICATORS)
        return NULL;
    struct indicator_agg *ia = &p->ind[p->n_ind++];
    memset(ia, 0, sizeof *ia);
    snprintf(ia->name, sizeof ia->name, "%s", name);
    ia->objective = -1;
    return ia;
}

/* By indicator alone: to find one (bsearch). */
static int cmp_objective_name(const void *a, const void *b)
{
    return strcmp(((const struct objective_ref *)a)->indicator,
                  ((const struct objective_ref *)b)->indicator);
}

/* By indicator, then in the order read: to keep the first of each. */
static int cmp_objective(const void *a, const void *b)
{
    const struct objective_ref *x = a, *y = b;
    int d = strcmp(x->indicator, y->indicator);
    return d ? d : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The index of indicator's open objectives in c->objectives, or -1. */
static long objective_of(const struct ctx *c, const char *indicator)
{
    struct objective_ref key = {.indicator = (char *)indicator};
    const struct objective_ref *at =
        c->n_objectives ? bsearch(&key, c->objectives, c->n_objectives, sizeof key,
                                  cmp_objective_name)
                        : NULL;
    return at ? (long)(at - c->objectives) : -1;
}

static void take_measurement(struct part *p, const Scsms__Measurement *m)
{
    long k = objective_of(p->c, m->indicator);
    if (k >= 0)
        p->obj_measured[k] = 1; /* beyond the table too: it was measured */
    struct indicator_agg *ia = indicator_of(p, m->indicator);
    if (!ia) {
        p->ind_more++;
        return;
    }
    ia->objective = k;
    ia->n++;
    ia->sum += m->value;
    if (!ia->unit[0])
        snprintf(ia->unit, sizeof ia->unit, "%s", m->unit);
    if (strncmp(m->period_end_date, ia->latest_end, ISOTIME_DATE_LEN) >= 0) {
        ia->latest = m->value;
        snprintf(ia->latest_end, sizeof ia->latest_end, "%.10s", m->period_end_date);
    }
}


/* ------------------------------------------------------------ one record */

static int month_of(const struct ctx *c, const char *date)
{
    int y = atoi(date), m = atoi(date + 5);
    return y * 12 + m - 1 - c->first_month;
}

static void take_incident(const struct ctx *c, struct site_agg *a, const Scsms__Incident *in)
{
    if (!in_period(c, in->occurred_at))
        return;
    int m = month_of(c, in->occurred_at);
    if (m >= 0 && m < c->n_months) {
        if (in->kind == SCSMS__INCIDENT__KIND__NEAR_MISS)
            a->nm_month[m]++;
        else
            a->inc_month[m]++;
    }
    a->inc_category[(unsigned)in->category < N_OF(categories) ? in->category : 0]++;
    a->inc_kind[(unsigned)in->kind < N_OF(incident_kinds) ? in->kind : 0]++;
    a->inc_reported += in->reported_to_authority != 0;
}

static void take_risk(const struct ctx *c, struct site_agg *a, const Scsms__Record *r)
{
    const Scsms__Risk *k = r->risk;
    a->risk_new += in_period(c, r->created_at);
    if (status_is(r, "closed"))
        return;
    a->risk_open++;
    if (k->likelihood >= 1 && k->likelihood <= 5 && k->consequence >= 1 && k->consequence <= 5)
        a->risk_inherent[(k->likelihood - 1) * 5 + k->consequence - 1]++;
    if (k->residual_likelihood >= 1 && k->residual_likelihood <= 5 &&
        k->residual_consequence >= 1 && k->residual_consequence <= 5)
        a->risk_residual[(k->residual_likelihood - 1) * 5 + k->residual_consequence - 1]++;
    a->risk_intolerable += k->residual_likelihood * k->residual_consequence > c->threshold;
}

static void take_action(const struct ctx *c, struct site_agg *a, const Scsms__Record *r)
{
    const Scsms__Action *x = r->action;
    int st = index_of(action_statuses, N_OF(action_statuses), r->status);
    if (st >= 0)
        a->act_status[st]++;
    if (in_period(c, r->created_at)) {
        a->act_raised_corrective += x->kind == SCSMS__ACTION__KIND__CORRECTIVE;
        a->act_raised_preventive += x->kind == SCSMS__ACTION__KIND__PREVENTIVE;
    }
    int64_t due;
    if (st == 0 && before_to(c, x->due_date) && isotime_parse_date(x->due_date, &due) == 0) {
        int64_t late = c->to_day - due;
        a->act_overdue[late <= 30 ? 0 : late <= 90 ? 1 : late <= 180 ? 2 : 3]++;
    }
}

static void take_audit(const struct ctx *c, struct site_agg *a, const Scsms__Record *r)
{
    const Scsms__Audit *x = r->audit;
    if (in_period(c, x->planned_date)) {
        a->audits_planned++;
        a->audits_not_held += status_is(r, "planned") && before_to(c, x->planned_date);
    }
    if (!in_period(c, x->held_date) || !(status_is(r, "held") || status_is(r, "reported")))
        return;
    a->audits_held++;
    for (size_t i = 0; i < x->n_findings; i++) {
        int k = finding_clause(x->findings[i]->clause);
        if (x->findings[i]->kind == SCSMS__FINDING__KIND__NONCONFORMITY)
            a->find_nc[k]++;
        else
            a->find_obs[k]++;
    }
}

static void take_training(const struct ctx *c, struct site_agg *a, const Scsms__Record *r)
{
    const Scsms__Training *t = r->training;
    if (in_period(c, t->completed_date)) {
        a->trn_in_period += status_is(r, "completed");
        a->trn_failed += status_is(r, "failed");
    }
    if (!status_is(r, "completed") || strncmp(t->completed_date, c->to, ISOTIME_DATE_LEN) > 0)
        return;
    if (before_to(c, t->expiry_date)) {
        a->trn_expired++;
    } else {
        a->trn_valid++;
        a->trn_expiring += t->expiry_date[0] && strncmp(t->expiry_date, c->soon, ISOTIME_DATE_LEN) <= 0;
    }
}

static void take_drill(const struct ctx *c, struct site_agg *a, const Scsms__Record *r)
{
    const Scsms__Drill *d = r->drill;
    if (!in_period(c, d->planned_date))
        return;
    a->drl_planned++;
    if (status_is(r, "held"))
        a->drl_held++;
    else if (status_is(r, "cancelled"))
        a->drl_cancelled++;
    else if (before_to(c, d->planned_date))
        a->drl_not_held++;
    else
        a->drl_pending++;
}

/* The figures of one record (a: the counters of the site, or of head
 * office, whose figures they are). */
static void take_figures(const struct ctx *c, struct site_agg *a, const Scsms__Record *r)
{
    int st;
    switch (r->body_case) {
    case SCSMS__RECORD__BODY_INCIDENT: take_incident(c, a, r->incident); break;
    case SCSMS__RECORD__BODY_RISK: take_risk(c, a, r); break;
    case SCSMS__RECORD__BODY_ACTION: take_action(c, a, r); break;
    case SCSMS__RECORD__BODY_AUDIT: take_audit(c, a, r); break;
    case SCSMS__RECORD__BODY_TRAINING: take_training(c, a, r); break;
    case SCSMS__RECORD__BODY_DRILL: take_drill(c, a, r); break;
    case SCSMS__RECORD__BODY_MEASUREMENT:
        a->meas_count += in_period(c, r->measurement->period_end_date);
        break;
    case SCSMS__RECORD__BODY_OBJECTIVE:
        if ((st = index_of(objective_statuses, N_OF(objective_statuses), r->status)) >= 0)
            a->obj_status[st]++;
        break;
    case SCSMS__RECORD__BODY_TARGET:
        if ((st = index_of(target_statuses, N_OF(target_statuses), r->status)) >= 0)
            a->tgt_status[st]++;
        break;
    case SCSMS__RECORD__BODY_EQUIPMENT:
        if ((st = index_of(equipment_statuses, N_OF(equipment_statuses), r->status)) >= 0)
            a->eqp_status[st]++;
        a->eqp_cal_overdue += st == 0 && before_to(c, r->equipment->next_calibration_date);
        break;
    case SCSMS__RECORD__BODY_CALIBRATION:
        if (in_period(c, r->calibration->performed_date)) {
            a->cal_pass += r->calibration->result == SCSMS__CALIBRATION__RESULT__PASS;
            a->cal_fail += r->calibration->result == SCSMS__CALIBRATION__RESULT__FAIL;
        }
        break;
    case SCSMS__RECORD__BODY_EVALUATION:
        if (in_period(c, r->evaluation->evaluated_date)) {
            a->evl_count++;
            a->evl_compliant += r->evaluation->compliant != 0;
        }
        break;
    case SCSMS__RECORD__BODY_COMMUNICATION:
        if (in_period(c, r->communication->held_date[0] ? r->communication->held_date
                                                         : r->created_at))
            a->com_kind[(unsigned)r->communication->kind < N_OF(comm_kinds)
                            ? r->communication->kind : 0]++;
        break;
    case SCSMS__RECORD__BODY_NONCONFORMITY:
        a->ncr_raised += in_period(c, r->nonconformity->raised_date[0]
                                          ? r->nonconformity->raised_date : r->created_at);
        break;
    case SCSMS__RECORD__BODY_LEGAL_REQUIREMENT:
        a->legal_new += in_period(c, r->created_at);
        break;
    default:
        break;
    }
}

static void count_evidence(struct part *p, struct site_agg *a, const Scsms__Record *r)
{
    const struct ctx *c = p->c;
    if (!is_current(c, r))
        return;
    int t = c->type_index[r->body_case];
    /* a scope that names its sites is evidence of 4.1 for those alone */
    if (r->body_case == SCSMS__RECORD__BODY_SCOPE && r->scope->n_sites && a == &p->hq) {
        for (size_t i = 0; i < r->scope->n_sites; i++) {
            int slot = site_slot(c, r->scope->sites[i]);
            if (slot >= 0)
                p->sites[slot].evidence[t]++;
        }
        return;
    }
    a->evidence[t]++;
}

/* Whose figures a record adds to: its owner's (a chosen site's slot, or
 * OWNER_HQ), but an action head office addresses to a site (its `site`)
 * is that site's to do, and OWNER_IGNORE when --sites leaves that site
 * out. Without --sites, one addressed to no enrolled site (a name
 * mistyped, a site since gone) stays head office's: open work all the
 * same. */
static int32_t figures_of(const struct ctx *c, int32_t who, const Scsms__Record *r)
{
    if (who != OWNER_HQ || r->body_case != SCSMS__RECORD__BODY_ACTION || !r->action->site[0])
        return who;
    int slot = site_slot(c, r->action->site);
    /* without --sites every enrolled site is chosen: a miss is no site */
    return slot >= 0 ? slot : c->o->sites ? OWNER_IGNORE : OWNER_HQ;
}

static int take_record(struct part *p, int32_t who, const Scsms__Record *r)
{
    const struct ctx *c = p->c;
    int rc = 0;
    if (record_is_tombstone(r) || c->type_index[r->body_case] < 0)
        return 0;
    /* what was written after the as-of date did not exist then */
    if (strncmp(r->created_at, c->to, ISOTIME_DATE_LEN) > 0)
        return 0;
    int32_t whose = figures_of(c, who, r);
    if (whose == OWNER_IGNORE)
        return 0; /* another site's action: in no figure, nor the follow-up */
    if (r->body_case == SCSMS__RECORD__BODY_PARTNER ||
        r->body_case == SCSMS__RECORD__BODY_CERTIFICATE ||
        r->body_case == SCSMS__RECORD__BODY_DECLARATION)
        rc = take_partner_side(p, r);
    if (rc == 0 && r->body_case == SCSMS__RECORD__BODY_CREDIBILITY_REVIEW && who == OWNER_HQ)
        rc = take_credibility_review(p, r);
    if (rc == 0 && r->body_case == SCSMS__RECORD__BODY_MANAGEMENT_REVIEW)
        rc = take_review(p, r);
    if (rc == 0 && r->body_case == SCSMS__RECORD__BODY_ACTION && whose != OWNER_PARTNER)
        rc = take_review_action(p, whose, r);
    if (rc)
        return rc;
    if (who == OWNER_PARTNER)
        return 0;
    if (r->body_case == SCSMS__RECORD__BODY_MEASUREMENT &&
        in_period(c, r->measurement->period_end_date))
        take_measurement(p, r->measurement);
    /* head office's own risks, audits, actions, measurements ... are
     * review inputs like a site's: its figures are counted as its own */
    take_figures(c, whose == OWNER_HQ ? &p->hq : &p->sites[whose], r);
    count_evidence(p, who == OWNER_HQ ? &p->hq : &p->sites[who], r);
    return 0;
}

static void progress_tick(void *ctx, uint64_t done)
{
    struct part *p = ctx;
    struct ctx *c = (struct ctx *)p->c;
    (void)done;
    pthread_mutex_lock(&c->lock);
    c->done += 1 << 14;
    if (c->o->progress)
        c->o->progress(c->o->progress_ctx, c->done < c->total ? c->done : c->total, c->total);
    pthread_mutex_unlock(&c->lock);
}

static int visit(const struct store_current *cur, void *ctx)
{
    struct part *p = ctx;
    const struct ctx *c = p->c;
    int32_t who = cur->owner < c->n_owner_map ? c->owner_map[cur->owner] : OWNER_IGNORE;
    if (who == OWNER_IGNORE)
        return 0; /* another site's: not even decoded */
    Scsms__Record *r =
        scsms__record__unpack(arena_allocator(&p->arena), cur->record_len, cur->record);
    int rc = 0;
    if (!r)
        rc = p->arena.failed ? scsms_fail(SCSMS_ENOMEM, "out of memory")
                          : scsms_fail(SCSMS_ECORRUPT, "record '%.*s' does not decode; run verify",
                                       (int)(cur->id_len < 128 ? cur->id_len : 128), cur->id);
    else
        rc = take_record(p, who, r);
    arena_reset(&p->arena);
    return rc;
}

static void *scan_part(void *arg)
{
    struct part *p = arg;
    p->rc = store_scan_current(p->c->s, p->start, p->end, visit, progress_tick, 1 << 14, p);
    if (p->rc)
        snprintf(p->err, sizeof p->err, "%s", scsms_errmsg());
    return NULL;
}

/* ------------------------------------------------------------ set-up */

struct ident {
    char *id;
    Scsms__Identity__Role role;
};

struct idents {
    struct ident *v;
    size_t n, cap;
};

static int collect_identity(const Scsms__Identity *id, void *ctx)
{
    struct idents *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct ident *t = realloc(l->v, cap * sizeof *t);
        if (!t)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        l->v = t;
        l->cap = cap;
    }
    if (!(l->v[l->n].id = strdup(id->id)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    l->v[l->n++].role = id->role;
    return 0;
}

static void idents_free(struct idents *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].id);
    free(l->v);
}

static const struct ident *ident_find(const struct idents *l, const char *id)
{
    /* sorted by id, its first member */
    return l->n ? bsearch(&id, l->v, l->n, sizeof *l->v, cmp_str) : NULL;
}

/* The chosen sites, sorted and without repeats: every enrolled site, or
 * those o names, each of which must be one. */
static int choose_sites(struct ctx *c, const struct idents *ids)
{
    const struct report_options *o = c->o;
    size_t n = o->sites ? o->n_sites : ids->n;
    if (!(c->sites = calloc(n ? n : 1, sizeof *c->sites)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = o->sites ? o->sites[i] : ids->v[i].id;
        const struct ident *id = ident_find(ids, name);
        if (o->sites && (!id || id->role != SCSMS__IDENTITY__ROLE__SITE))
            return scsms_fail(SCSMS_EINVAL, "unknown site '%.64s' in --sites: not an enrolled "
                              "site (see 'scsms-server sites')", name);
        if (!o->sites && id->role != SCSMS__IDENTITY__ROLE__SITE)
            continue;
        if (!(c->sites[c->n_sites++] = strdup(name)))
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
    }
    qsort(c->sites, c->n_sites, sizeof *c->sites, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < c->n_sites; i++) {
        if (k && strcmp(c->sites[k - 1], c->sites[i]) == 0)
            free(c->sites[i]);
        else
            c->sites[k++] = c->sites[i];
    }
    c->n_sites = k;
    return 0;
}

struct owner_walk {
    struct ctx *c;
    const struct idents *ids;
    uint64_t weight, half;  /* records of the owners read, for the split */
    char split[RECORD_MAX_ID + 1];
};

/* One more of head office's identities with a log; owners come by name
 * (store_owners), so the list stays sorted. */
static int hq_owner_add(struct ctx *c, const char *owner)
{
    char **t = realloc(c->hq_owners, (c->n_hq_owners + 1) * sizeof *t);
    if (!t)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    c->hq_owners = t;
    if (!(t[c->n_hq_owners] = strdup(owner)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    c->n_hq_owners++;
    return 0;
}

static int map_owner(const char *owner, uint32_t idx, uint64_t head, void *ctx)
{
    struct owner_walk *w = ctx;
    struct ctx *c = w->c;
    if (idx >= c->n_owner_map) {
        size_t n = 2 * (size_t)idx + 16;
        int32_t *m = realloc(c->owner_map, n * sizeof *m);
        if (!m)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        for (size_t i = c->n_owner_map; i < n; i++)
            m[i] = OWNER_IGNORE;
        c->owner_map = m;
        c->n_owner_map = n;
    }
    const struct ident *id = ident_find(w->ids, owner);
    int32_t who = OWNER_IGNORE;
    int slot = site_slot(c, owner);
    if (slot >= 0)
        who = slot;
    else if (strcmp(owner, store_owner(c->s)) == 0 || (id && id->role == SCSMS__IDENTITY__ROLE__HQ))
        who = OWNER_HQ;
    else if (id && id->role == SCSMS__IDENTITY__ROLE__PARTNER)
        who = OWNER_PARTNER;
    c->owner_map[idx] = who;
    if (who == OWNER_HQ && hq_owner_add(c, owner))
        return SCSMS_ENOMEM;
    /* split the id space where half the records read so far lie before:
     * every id starts with its owner's name, so an owner's records all
     * fall on one side of the boundary */
    if (who != OWNER_IGNORE) {
        if (!w->split[0] && w->weight >= w->half && w->weight)
            snprintf(w->split, sizeof w->split, "%s", owner);
        w->weight += head;
    }
    return 0;
}

static int weigh_owner(const char *owner, uint32_t idx, uint64_t head, void *ctx)
{
    struct owner_walk *w = ctx;
    (void)idx;
    if (site_slot(w->c, owner) >= 0 || strcmp(owner, store_owner(w->c->s)) == 0 ||
        ident_find(w->ids, owner))
        w->half += head;
    return 0;
}

static void ctx_free(struct ctx *c)
{
    for (size_t i = 0; i < c->n_sites; i++)
        free(c->sites[i]);
    free(c->sites);
    for (size_t i = 0; i < c->n_hq_owners; i++)
        free(c->hq_owners[i]);
    free(c->hq_owners);
    for (size_t i = 0; i < c->n_objectives; i++)
        free(c->objectives[i].indicator);
    free(c->objectives);
    free(c->owner_map);
    pthread_mutex_destroy(&c->lock);
}

static void part_free(struct part *p)
{
    for (size_t i = 0; i < p->cap_partners; i++)
        free(p->partners[i].id);
    free(p->partners);
    for (size_t i = 0; i < p->cap_decls; i++)
        decl_free(&p->decls[i]);
    free(p->decls);
    free(p->reviews);
    free(p->open.v);
    free(p->obj_measured);
    free(p->sites);
    arena_free(&p->arena);
}

/* Add q's counters into p. */
static int part_merge(struct part *p, struct part *q)
{
    const struct ctx *c = p->c;
    for (size_t i = 0; i < c->n_sites; i++) {
        uint32_t *a = (uint32_t *)&p->sites[i], *b = (uint32_t *)&q->sites[i];
        for (size_t k = 0; k < SITE_WORDS; k++)
            a[k] += b[k];
    }
    uint32_t *a = (uint32_t *)&p->hq, *b = (uint32_t *)&q->hq;
    for (size_t k = 0; k < SITE_WORDS; k++)
        a[k] += b[k];
    for (size_t i = 0; i < q->cap_partners; i++) {
        const struct partner_agg *x = &q->partners[i];
        struct partner_agg *y;
        if (!x->id)
            continue;
        if (!(y = partner_of(p, x->id)))
            return SCSMS_ENOMEM;
        y->listed |= x->listed;
        y->active |= x->active;
        y->exempt |= x->exempt;
        y->cert_valid |= x->cert_valid;
        y->cert_expiring |= x->cert_expiring; /* decl_*: set by part_join, later */
    }
    /* declarations and reviews: q's strings and site lists move to p */
    for (size_t i = 0; i < q->cap_decls; i++) {
        struct decl_agg *x = &q->decls[i], *y;
        if (!x->id)
            continue;
        if (!(y = decl_of(p, x->id, x->version)))
            return SCSMS_ENOMEM;
        if (x->has_decl && !y->has_decl) {
            y->has_decl = 1;
            y->all_sites = x->all_sites;
            y->partner_id = x->partner_id;
            y->sites = x->sites;
            y->n_sites = x->n_sites;
            x->partner_id = NULL;
            x->sites = NULL;
        }
        if (x->has_review && review_later(y, x->review_at)) {
            memcpy(y->review_at, x->review_at, sizeof y->review_at);
            y->has_review = 1;
            y->accepted = x->accepted;
        }
    }
    for (size_t i = 0; i < q->n_ind; i++) {
        const struct indicator_agg *x = &q->ind[i];
        struct indicator_agg *y = indicator_of(p, x->name);
        if (!y) {
            p->ind_more += x->n;
            continue;
        }
        if (y->n == 0 || (x->n && strcmp(x->latest_end, y->latest_end) > 0)) {
            y->latest = x->latest;
            memcpy(y->latest_end, x->latest_end, sizeof y->latest_end);
        }
        y->n += x->n;
        y->sum += x->sum;
        y->objective = x->objective;
        if (!y->unit[0])
            memcpy(y->unit, x->unit, sizeof y->unit);
    }
    p->ind_more += q->ind_more;
    for (size_t i = 0; i < c->n_objectives; i++)
        p->obj_measured[i] |= q->obj_measured[i];
    for (size_t i = 0; i < q->n_reviews; i++) {
        const struct review_agg *x = &q->reviews[i];
        struct review_agg *y = review_of(p, x->id);
        if (!y)
            return SCSMS_ENOMEM;
        if (x->is_review) {
            y->is_review = 1;
            memcpy(y->held, x->held, sizeof y->held);
            memcpy(y->pfrom, x->pfrom, sizeof y->pfrom);
            memcpy(y->pto, x->pto, sizeof y->pto);
        }
        for (size_t k = 0; k < N_OF(action_statuses); k++)
            y->act_status[k] += x->act_status[k];
        y->act_overdue += x->act_overdue;
    }
    for (size_t i = 0; i < q->open.n; i++) {
        const struct open_action *x = &q->open.v[i];
        if (open_action_add(&p->open, x->id, x->review, x->site, x->due))
            return SCSMS_ENOMEM;
    }
    return 0;
}

/* Each declaration in force with head office's latest review of its very
 * version: accepted, it is the partner's accepted declaration and counts
 * at each site it covers, when head office lists the partner as active (a
 * partner it made inactive is no longer one); rejected, or not reviewed
 * yet (a new version is a new declaration to review), it counts as such
 * and nowhere else. */
static int part_join(struct part *p)
{
    const struct ctx *c = p->c;
    for (size_t i = 0; i < p->cap_decls; i++) {
        const struct decl_agg *x = &p->decls[i];
        struct partner_agg *pa;
        if (!x->id || !x->has_decl)
            continue;
        if (!(pa = partner_of(p, x->partner_id)))
            return SCSMS_ENOMEM;
        if (!x->has_review) {
            pa->decl_awaiting++;
            continue;
        }
        if (!x->accepted) {
            pa->decl_rejected++;
            continue;
        }
        pa->decl_valid = 1;
        if (!pa->listed || !pa->active)
            continue;
        for (size_t k = 0; k < (x->all_sites ? c->n_sites : x->n_sites); k++) {
            struct site_agg *a = &p->sites[x->all_sites ? k : (size_t)x->sites[k]];
            a->decl_in_force++;
            a->decl_certified += pa->cert_valid;
        }
    }
    return 0;
}

/* One open objective, of a chosen site or head office, written by --to. */
static int collect_objective(const Scsms__Record *r, void *ctx)
{
    struct ctx *c = ctx;
    if (record_is_tombstone(r) || strncmp(r->created_at, c->to, ISOTIME_DATE_LEN) > 0 ||
        owner_who(c, r->owner) == OWNER_IGNORE)
        return 0;
    if (c->n_objectives == c->cap_objectives) {
        size_t cap = c->cap_objectives ? 2 * c->cap_objectives : 16;
        struct objective_ref *t = realloc(c->objectives, cap * sizeof *t);
        if (!t)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        c->objectives = t;
        c->cap_objectives = cap;
    }
    struct objective_ref *ob = &c->objectives[c->n_objectives];
    if (!(ob->indicator = strdup(r->objective->indicator)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    snprintf(ob->unit, sizeof ob->unit, "%s", r->objective->unit);
    ob->target = r->objective->target_value;
    ob->baseline = r->objective->baseline;
    ob->count = 1;
    ob->seq = c->n_objectives++;
    return 0;
}

/* The open objectives, one entry per indicator (the first read gives the
 * target), before the scan: a measurement can then tell it measured one,
 * whichever thread reads it. Read through the by-status index: a few
 * hundred point reads at most, not a pass over the records. */
static int load_objectives(struct ctx *c)
{
    struct store_filter f = {.type = "objective", .status = "open"};
    int rc = store_list(c->s, &f, collect_objective, c);
    if (rc || !c->n_objectives)
        return rc;
    qsort(c->objectives, c->n_objectives, sizeof *c->objectives, cmp_objective);
    size_t k = 0;
    for (size_t i = 0; i < c->n_objectives; i++) {
        if (k && !strcmp(c->objectives[k - 1].indicator, c->objectives[i].indicator)) {
            c->objectives[k - 1].count++;
            free(c->objectives[i].indicator);
        } else {
            c->objectives[k++] = c->objectives[i];
        }
    }
    c->n_objectives = k;
    return 0;
}

static int setup(struct ctx *c, store_t *s, const struct report_options *o, struct owner_walk *w)
{
    struct idents ids = {0};
    struct store_stats st;
    int rc;
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->o = o;
    c->s = s;
    c->hq_name = store_owner(s);
    if (o->from > o->to)
        return scsms_fail(SCSMS_EINVAL, "--from is after --to: give a period that starts "
                          "before it ends");
    isotime_format_date(o->from, c->from);
    isotime_format_date(o->to, c->to);
    isotime_format_date(o->to + store_config(s)->expiring_days, c->soon);
    c->to_day = o->to;
    c->threshold = store_config(s)->risk_threshold;
    c->first_month = atoi(c->from) * 12 + atoi(c->from + 5) - 1;
    c->n_months = atoi(c->to) * 12 + atoi(c->to + 5) - 1 - c->first_month + 1;
    if (o->kind == REPORT_REVIEW && c->n_months > REPORT_MAX_MONTHS)
        return scsms_fail(SCSMS_EINVAL, "the period %s to %s spans %d months; a review covers at "
                          "most %d", c->from, c->to, c->n_months, REPORT_MAX_MONTHS);
    if (c->n_months > REPORT_MAX_MONTHS)
        c->n_months = REPORT_MAX_MONTHS; /* gaps and aeo do not count by month */
    c->types = record_types(&c->n_types);
    if (c->n_types > MAX_TYPES)
        return scsms_fail(SCSMS_EINVAL, "%zu record types: raise MAX_TYPES in report.c", c->n_types);
    for (size_t i = 0; i < N_OF(c->type_index); i++)
        c->type_index[i] = -1;
    for (size_t i = 0; i < c->n_types; i++)
        if ((size_t)c->types[i].body_case < N_OF(c->type_index))
            c->type_index[c->types[i].body_case] = (int)i;
    if ((rc = store_identity_list(s, collect_identity, &ids)) || (rc = choose_sites(c, &ids)))
        goto out;
    memset(w, 0, sizeof *w);
    w->c = c;
    w->ids = &ids;
    if ((rc = store_owners(s, weigh_owner, w)))
        goto out;
    w->half /= 2;
    if ((rc = store_owners(s, map_owner, w)) || (rc = load_objectives(c)) ||
        (rc = store_stats(s, &st)))
        goto out;
    c->total = st.records;
out:
    idents_free(&ids);
    return rc;
}

static int part_init(struct part *p, const struct ctx *c)
{
    memset(p, 0, sizeof *p);
    p->c = c;
    if (!(p->sites = calloc(c->n_sites ? c->n_sites : 1, sizeof *p->sites)) ||
        !(p->obj_measured = calloc(c->n_objectives ? c->n_objectives : 1, 1)))
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    return 0;
}

/* Scan on two threads: ids before the split and from it. */
static int scan(struct ctx *c, const char *split, struct part parts[2])
{
    int rc;
    if ((rc = part_init(&parts[0], c)) || (rc = part_init(&parts[1], c)))
        return rc;
    parts[0].end = split[0] ? split : NULL;
    parts[1].start = split;
    pthread_t t;
    int threaded = split[0] && pthread_create(&t, NULL, scan_part, &parts[1]) == 0;
    scan_part(&parts[0]);
    if (threaded)
        pthread_join(t, NULL);
    else if (split[0])
        scan_part(&parts[1]);
    for (int i = 0; i < 2; i++)
        if (parts[i].rc)
            return scsms_fail(parts[i].rc, "%s", parts[i].err);
    if ((rc = part_merge(&parts[0], &parts[1])))
        return rc;
    return part_join(&parts[0]);
}

/* ------------------------------------------------------------ JSON */

static struct json_object *child(struct json_object *parent, const char *key)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(parent, key, o);
    return o;
}

static void put_int(struct json_object *o, const char *key, int64_t v)
{
    json_object_object_add(o, key, json_object_new_int64(v));
}

static void put_str(struct json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, json_object_new_string(v));
}

static void put_counts(struct json_object *o, const char *key, const char *const *names,
                       const uint32_t *v, size_t n)
{
    struct json_object *x = child(o, key);
    for (size_t i = 0; i < n; i++)
        put_int(x, names[i], v[i]);
}

static void month_label(const struct ctx *c, int m, char buf[16])
{
    int mi = c->first_month + m;
    snprintf(buf, 16, "%04d-%02d", (mi / 12) % 10000, mi % 12 + 1);
}

static uint32_t sum(const uint32_t *v, size_t n)
{
    uint32_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += v[i];
    return t;
}

/* Each section has "total" (all chosen sites and head office) and
 * "by_site" objects of the same shape (each chosen site, then head office
 * under its own name), made by one function per section from a site_agg. */
typedef void (*section_fn)(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                           int total);

static void sec_incidents(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                          int total)
{
    (void)total;
    uint32_t nm = sum(a->nm_month, REPORT_MAX_MONTHS), inc = sum(a->inc_month, REPORT_MAX_MONTHS);
    put_int(o, "incidents", inc);
    put_int(o, "near_misses", nm);
    put_int(o, "reported_to_authority", a->inc_reported);
    struct json_object *m = child(o, "by_month");
    for (int i = 0; i < c->n_months; i++) {
        char label[16];
        month_label(c, i, label);
        struct json_object *x = child(m, label);
        put_int(x, "incidents", a->inc_month[i]);
        put_int(x, "near_misses", a->nm_month[i]);
    }
    put_counts(o, "by_category", categories, a->inc_category, N_OF(categories));
    put_counts(o, "by_kind", incident_kinds, a->inc_kind, N_OF(incident_kinds));
}

static void heat_map(struct json_object *o, const char *key, const uint32_t *cells)
{
    struct json_object *rows = json_object_new_array();
    for (int l = 0; l < 5; l++) {
        struct json_object *row = json_object_new_array();
        for (int k = 0; k < 5; k++)
            json_object_array_add(row, json_object_new_int64(cells[l * 5 + k]));
        json_object_array_add(rows, row);
    }
    json_object_object_add(o, key, rows);
}

static void sec_risks(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                      int total)
{
    put_int(o, "open", a->risk_open);
    put_int(o, "intolerable", a->risk_intolerable);
    put_int(o, "new_in_period", a->risk_new);
    if (total) { /* the heat maps are across sites */
        put_int(o, "threshold", c->threshold);
        heat_map(o, "inherent", a->risk_inherent);
        heat_map(o, "residual", a->risk_residual);
    }
}

static void sec_actions(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                        int total)
{
    (void)c;
    (void)total;
    put_counts(o, "by_status", action_statuses, a->act_status, N_OF(action_statuses));
    put_int(o, "overdue", sum(a->act_overdue, N_OF(ageing)));
    put_counts(o, "overdue_days", ageing, a->act_overdue, N_OF(ageing));
    put_int(o, "raised_corrective", a->act_raised_corrective);
    put_int(o, "raised_preventive", a->act_raised_preventive);
}

static void sec_audits(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                       int total)
{
    (void)c;
    put_int(o, "planned", a->audits_planned);
    put_int(o, "held", a->audits_held);
    put_int(o, "not_held", a->audits_not_held);
    put_int(o, "findings", sum(a->find_obs, N_CLAUSES + 1) + sum(a->find_nc, N_CLAUSES + 1));
    struct json_object *f = child(o, "findings_by_clause");
    for (size_t i = 0; i <= N_CLAUSES; i++) {
        if (!total && !a->find_obs[i] && !a->find_nc[i])
            continue; /* a site lists the clauses it has findings against */
        struct json_object *x = child(f, i < N_CLAUSES ? clauses[i] : "other");
        put_int(x, "observation", a->find_obs[i]);
        put_int(x, "nonconformity", a->find_nc[i]);
    }
}

static void sec_measurements(const struct ctx *c, const struct site_agg *a,
                             struct json_object *o, int total)
{
    (void)c;
    (void)total;
    put_int(o, "measurements", a->meas_count);
    put_counts(o, "objectives", objective_statuses, a->obj_status, N_OF(objective_statuses));
    put_counts(o, "targets", target_statuses, a->tgt_status, N_OF(target_statuses));
}

static void sec_training(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                         int total)
{
    (void)c;
    (void)total;
    put_int(o, "valid", a->trn_valid);
    put_int(o, "expiring", a->trn_expiring);
    put_int(o, "expired", a->trn_expired);
    put_int(o, "completed_in_period", a->trn_in_period);
    put_int(o, "failed_in_period", a->trn_failed);
}

static void sec_equipment(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                          int total)
{
    (void)c;
    (void)total;
    put_counts(o, "by_status", equipment_statuses, a->eqp_status, N_OF(equipment_statuses));
    put_int(o, "calibration_overdue", a->eqp_cal_overdue);
    put_int(o, "calibrations_passed", a->cal_pass);
    put_int(o, "calibrations_failed", a->cal_fail);
}

static void sec_drills(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                       int total)
{
    (void)c;
    (void)total;
    put_int(o, "planned", a->drl_planned);
    put_int(o, "held", a->drl_held);
    put_int(o, "not_held", a->drl_not_held);
    put_int(o, "pending", a->drl_pending);
    put_int(o, "cancelled", a->drl_cancelled);
}

static void sec_other(const struct ctx *c, const struct site_agg *a, struct json_object *o,
                      int total)
{
    (void)c;
    (void)total;
    put_int(o, "evaluations", a->evl_count);
    put_int(o, "evaluations_compliant", a->evl_compliant);
    put_counts(o, "communications", comm_kinds, a->com_kind, N_OF(comm_kinds));
    put_int(o, "nonconformities_raised", a->ncr_raised);
    put_int(o, "new_legal_requirements", a->legal_new);
}

static void section(const struct ctx *c, const struct site_agg *tot, const struct part *p,
                    struct json_object *rep, const char *name, section_fn fn)
{
    struct json_object *o = child(rep, name);
    fn(c, tot, child(o, "total"), 1);
    struct json_object *by = child(o, "by_site");
    for (size_t i = 0; i < c->n_sites; i++)
        fn(c, &p->sites[i], child(by, c->sites[i]), 0);
    fn(c, &p->hq, child(by, c->hq_name), 0);
}

static void measurements_by_indicator(const struct part *p, struct json_object *rep)
{
    struct json_object *o = child(json_object_object_get(json_object_object_get(rep, "measurements"),
                                                         "total"), "by_indicator");
    const struct ctx *c = p->c;
    for (size_t i = 0; i < p->n_ind; i++) {
        const struct indicator_agg *ia = &p->ind[i];
        const struct objective_ref *ob = ia->objective >= 0 ? &c->objectives[ia->objective] : NULL;
        struct json_object *x = child(o, ia->name);
        put_int(x, "measurements", ia->n);
        json_object_object_add(x, "mean", json_object_new_double(ia->sum / ia->n));
        json_object_object_add(x, "latest", json_object_new_double(ia->latest));
        put_str(x, "latest_period_end", ia->latest_end);
        put_str(x, "unit", ia->unit[0] || !ob ? ia->unit : ob->unit);
        if (ob) {
            json_object_object_add(x, "objective_target", json_object_new_double(ob->target));
            json_object_object_add(x, "baseline", json_object_new_double(ob->baseline));
        }
    }
    /* open objectives whose indicator nothing measured in the period:
     * counted here, never in the table of measured indicators */
    uint32_t unmeasured = 0;
    for (size_t i = 0; i < c->n_objectives; i++)
        unmeasured += p->obj_measured[i] ? 0 : c->objectives[i].count;
    struct json_object *tot = json_object_object_get(json_object_object_get(rep, "measurements"),
                                                     "total");
    put_int(tot, "other_indicators", p->ind_more);
    put_int(tot, "objectives_unmeasured", unmeasured);
}

static void partners_section(const struct part *p, const struct site_agg *sites,
                             struct json_object *rep)
{
    const struct ctx *c = p->c;
    uint32_t active = 0, exempt = 0, inactive = 0, cert = 0, decl = 0, both = 0, neither = 0,
             expiring = 0, awaiting = 0, rejected = 0, unlisted = 0;
    for (size_t i = 0; i < p->cap_partners; i++) {
        const struct partner_agg *x = &p->partners[i];
        if (!x->id)
            continue;
        if (!x->listed) { /* evidence from a partner head office keeps no record of */
            unlisted++;
            continue;
        }
        if (!x->active) {
            inactive++;
            continue;
        }
        active++;
        expiring += x->cert_expiring;
        awaiting += x->decl_awaiting;
        rejected += x->decl_rejected;
        if (x->exempt) {
            exempt++;
            continue;
        }
        cert += x->cert_valid;
        decl += x->decl_valid;
        both += x->cert_valid && x->decl_valid;
        neither += !x->cert_valid && !x->decl_valid;
    }
    struct json_object *o = child(rep, "partners"), *t = child(o, "total");
    put_int(t, "active", active);
    put_int(t, "exempt", exempt);
    put_int(t, "inactive", inactive);
    put_int(t, "with_certificate", cert);
    put_int(t, "with_declaration", decl);
    put_int(t, "with_both", both);
    put_int(t, "with_neither", neither);
    put_int(t, "certificates_expiring", expiring);
    put_int(t, "declarations_awaiting_review", awaiting);
    put_int(t, "declarations_rejected", rejected);
    put_int(t, "unlisted", unlisted);
    struct json_object *by = child(o, "by_site");
    for (size_t i = 0; i < c->n_sites; i++)
        put_int(child(by, c->sites[i]), "declarations_in_force", sites[i].decl_in_force);
}

/* An earlier review: held by --to, other than one over this very period
 * (the review this pack is for, when it is rebuilt). */
static int earlier_review(const struct ctx *c, const struct review_agg *r)
{
    return r->is_review && strcmp(r->held, c->to) <= 0 &&
           (strcmp(r->pfrom, c->from) || strcmp(r->pto, c->to));
}

/* The previous review: the latest earlier one. */
static const struct review_agg *previous_review(const struct part *p)
{
    const struct review_agg *best = NULL;
    for (size_t i = 0; i < p->n_reviews; i++) {
        const struct review_agg *r = &p->reviews[i];
        if (!earlier_review(p->c, r))
            continue;
        if (!best || strcmp(r->held, best->held) > 0 ||
            (!strcmp(r->held, best->held) && strcmp(r->id, best->id) > 0))
            best = r;
    }
    return best;
}

static const struct review_agg *review_find(const struct part *p, const char *id)
{
    for (size_t i = 0; i < p->n_reviews; i++)
        if (!strcmp(p->reviews[i].id, id))
            return &p->reviews[i];
    return NULL;
}

/* The actions review rv links to itself (rel "action") without their
 * naming it back, which the scan could not tell were its: a handful of
 * point reads. Each one of the chosen sites' or head office's counts in
 * status (when not NULL: the previous review's) and, open, joins l. */
static int linked_actions(const struct part *p, const struct review_agg *rv,
                          uint32_t *status, uint32_t *overdue, struct open_actions *l)
{
    const struct ctx *c = p->c;
    Scsms__Record *review = NULL;
    int rc = store_get(c->s, rv->id, 0, &review);
    if (rc == SCSMS_ENOTFOUND)
        return 0;
    for (size_t i = 0; rc == 0 && review && i < review->n_links; i++) {
        Scsms__Record *a = NULL;
        if (strcmp(review->links[i]->rel, "action"))
            continue;
        if ((rc = store_get(c->s, review->links[i]->target, 0, &a)) == SCSMS_ENOTFOUND) {
            rc = 0; /* disposed of, or never synced: nothing to follow up */
            continue;
        }
        if (rc)
            break;
        int named_back = 0;
        for (size_t k = 0; k < a->n_links; k++)
            named_back |= !strcmp(a->links[k]->rel, "source") && !strcmp(a->links[k]->target, rv->id);
        int32_t whose = OWNER_IGNORE;
        if (!named_back && a->body_case == SCSMS__RECORD__BODY_ACTION && !record_is_tombstone(a) &&
            strncmp(a->created_at, c->to, ISOTIME_DATE_LEN) <= 0)
            whose = owner_who(c, a->owner);
        if (whose != OWNER_IGNORE)
            whose = figures_of(c, whose, a);
        if (whose != OWNER_IGNORE) {
            int st = index_of(action_statuses, N_OF(action_statuses), a->status);
            if (status && st >= 0)
                status[st]++;
            if (status)
                *overdue += st == 0 && before_to(c, a->action->due_date);
            if (st == 0)
                rc = open_action_add(l, a->id, rv->id, whose_name(c, whose), a->action->due_date);
        }
        record_free(a);
    }
    record_free(review);
    return rc;
}

/* Most late first (the earliest due date), then by id. */
static int cmp_open_action(const void *a, const void *b)
{
    const struct open_action *x = a, *y = b;
    int d = strcmp(x->due, y->due);
    return d ? d : strcmp(x->id, y->id);
}

/* The list of every action an earlier review raised that is still open
 * (status "open": not yet implemented), however old the review: a
 * follow-up of the latest review alone would drop what the ones before
 * it left undone. */
static void open_actions_list(const struct ctx *c, struct open_actions *l, struct json_object *o)
{
    struct json_object *a = json_object_new_array();
    uint32_t overdue = 0;
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, cmp_open_action);
    size_t listed = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct open_action *x = &l->v[i];
        int64_t due;
        if (i && !strcmp(x->id, l->v[i - 1].id))
            continue; /* raised by one review, linked by another too: once */
        listed++;
        struct json_object *e = json_object_new_object();
        put_str(e, "id", x->id);
        put_str(e, "review", x->review);
        put_str(e, "site", x->site);
        put_str(e, "due_date", x->due);
        if (isotime_parse_date(x->due, &due) == 0)
            put_int(e, "days_late", c->to_day - due);
        overdue += before_to(c, x->due);
        json_object_array_add(a, e);
    }
    json_object_object_add(o, "open_actions", a);
    put_int(o, "open_actions_total", (int64_t)listed);
    put_int(o, "open_actions_overdue", overdue);
}

/* The previous review's actions by status: those naming it as their
 * source were counted in the scan, those it links to are read now; then
 * every earlier review's actions still open. */
static int followup_section(const struct part *p, struct json_object *rep)
{
    const struct ctx *c = p->c;
    const struct review_agg *rv = previous_review(p);
    struct json_object *o = child(rep, "followup");
    uint32_t status[N_OF(action_statuses)] = {0}, overdue = 0;
    struct open_actions l = {0};
    int rc = 0;
    if (rv) {
        memcpy(status, rv->act_status, sizeof status);
        overdue = rv->act_overdue;
    }
    /* the scan's open actions whose review is an earlier one */
    for (size_t i = 0; rc == 0 && i < p->open.n; i++) {
        const struct open_action *x = &p->open.v[i];
        const struct review_agg *of = review_find(p, x->review);
        if (of && earlier_review(c, of))
            rc = open_action_add(&l, x->id, x->review, x->site, x->due);
    }
    for (size_t i = 0; rc == 0 && i < p->n_reviews; i++)
        if (earlier_review(c, &p->reviews[i]))
            rc = linked_actions(p, &p->reviews[i], &p->reviews[i] == rv ? status : NULL,
                                &overdue, &l);
    if (rc) {
        free(l.v);
        return rc;
    }
    if (rv) {
        put_str(o, "previous_review", rv->id);
        put_str(o, "held_date", rv->held);
        put_str(o, "period_from", rv->pfrom);
        put_str(o, "period_to", rv->pto);
    } else {
        json_object_object_add(o, "previous_review", NULL);
    }
    put_counts(o, "actions", action_statuses, status, N_OF(action_statuses));
    if (rv)
        put_int(o, "actions_total", sum(status, N_OF(action_statuses)));
    put_int(o, "overdue", overdue);
    open_actions_list(c, &l, o);
    free(l.v);
    return 0;
}

static int build_review(const struct part *p, struct json_object *rep)
{
    const struct ctx *c = p->c;
    struct site_agg *tot = calloc(1, sizeof *tot);
    if (!tot)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    for (size_t i = 0; i <= c->n_sites; i++) { /* the sites, then head office */
        const uint32_t *b = (const uint32_t *)(i < c->n_sites ? &p->sites[i] : &p->hq);
        for (size_t k = 0; k < SITE_WORDS; k++)
            ((uint32_t *)tot)[k] += b[k];
    }
    struct json_object *months = json_object_new_array();
    for (int i = 0; i < c->n_months; i++) {
        char label[16];
        month_label(c, i, label);
        json_object_array_add(months, json_object_new_string(label));
    }
    json_object_object_add(rep, "months", months);
    section(c, tot, p, rep, "incidents", sec_incidents);
    section(c, tot, p, rep, "risks", sec_risks);
    section(c, tot, p, rep, "actions", sec_actions);
    section(c, tot, p, rep, "audits", sec_audits);
    section(c, tot, p, rep, "measurements", sec_measurements);
    measurements_by_indicator(p, rep);
    section(c, tot, p, rep, "training", sec_training);
    uint32_t covered = 0;
    for (size_t i = 0; i < c->n_sites; i++)
        covered += p->sites[i].trn_valid > 0;
    put_int(report_json_at(rep, "training", "total", NULL), "sites_covered", covered);
    section(c, tot, p, rep, "equipment", sec_equipment);
    section(c, tot, p, rep, "drills", sec_drills);
    partners_section(p, p->sites, rep);
    section(c, tot, p, rep, "other_inputs", sec_other);
    free(tot);
    return followup_section(p, rep);
}

/* ------------------------------------------------------------ gaps, aeo */

/* The records evidencing clause k at a site: {"type": count} into recs
 * (may be NULL); returns how many. */
static uint32_t clause_evidence(const struct part *p, size_t site, size_t k,
                                struct json_object *recs)
{
    const struct ctx *c = p->c;
    const char *clause = clauses[k];
    int records = !strcmp(clause, CLAUSE_RECORDS);
    int hq = index_of(hq_clauses, N_OF(hq_clauses), clause) >= 0;
    uint32_t n = 0;
    for (size_t t = 0; t < c->n_types; t++) {
        uint32_t m;
        if (records) /* 4.5.4: any current record the site keeps itself */
            m = p->sites[site].evidence[t];
        else if (!strcmp(c->types[t].clause, clause) ||
                 (!strcmp(clause, CLAUSE_DOCS) &&
                  c->types[t].body_case == SCSMS__RECORD__BODY_DOCUMENT))
            m = p->sites[site].evidence[t] + (hq ? p->hq.evidence[t] : 0);
        else
            continue;
        if (m && recs)
            put_int(recs, c->types[t].name, m);
        n += m;
    }
    return n;
}

static void build_gaps(const struct part *p, struct json_object *rep)
{
    const struct ctx *c = p->c;
    struct json_object *cl = json_object_new_array();
    for (size_t k = 0; k < N_CLAUSES; k++)
        json_object_array_add(cl, json_object_new_string(clauses[k]));
    json_object_object_add(rep, "clauses", cl);
    struct json_object *by = child(rep, "by_site");
    uint32_t total_gaps = 0;
    for (size_t i = 0; i < c->n_sites; i++) {
        struct json_object *so = child(by, c->sites[i]), *co = child(so, "clauses");
        struct json_object *gaps = json_object_new_array();
        for (size_t k = 0; k < N_CLAUSES; k++) {
            struct json_object *x = child(co, clauses[k]), *recs = json_object_new_object();
            uint32_t n = clause_evidence(p, i, k, recs);
            json_object_object_add(x, "evidence", json_object_new_boolean(n > 0));
            json_object_object_add(x, "records", recs);
            if (!n)
                json_object_array_add(gaps, json_object_new_string(clauses[k]));
        }
        total_gaps += (uint32_t)json_object_array_length(gaps);
        json_object_object_add(so, "gaps", gaps);
    }
    put_int(rep, "gaps_total", total_gaps);
}

/* Partner evidence for area G at a site. The rule: one business partner
 * head office lists as active that holds a valid certificate and whose
 * accepted declaration of security in force covers the site (ISO 28001
 * 4.2, 4.3, 4.5). Evidence of different partners does not add up: one
 * partner's certificate says nothing of the measures another declared,
 * and an inactive partner is no partner. Missing: "partner" when head
 * office lists no active partner; "declaration" when no active partner's
 * accepted declaration covers the site; "certificate" when no active
 * partner holds a valid one, or, if declarations cover the site, none of
 * their partners does. */
static void partner_missing(const struct part *p, size_t site, struct json_object *missing)
{
    const struct site_agg *a = &p->sites[site];
    int listed = 0, cert = 0;
    for (size_t i = 0; i < p->cap_partners; i++) {
        const struct partner_agg *x = &p->partners[i];
        if (x->id && x->listed && x->active) {
            listed = 1;
            cert |= x->cert_valid;
        }
    }
    if (a->decl_in_force)
        cert = a->decl_certified > 0;
    if (!listed)
        json_object_array_add(missing, json_object_new_string("partner"));
    if (!cert)
        json_object_array_add(missing, json_object_new_string("certificate"));
    if (!a->decl_in_force)
        json_object_array_add(missing, json_object_new_string("declaration"));
}

static void build_aeo(const struct part *p, struct json_object *rep)
{
    const struct ctx *c = p->c;
    struct json_object *areas = child(rep, "areas");
    for (size_t a = 0; a < N_OF(aeo_areas); a++) {
        struct json_object *x = child(areas, aeo_areas[a].area);
        put_str(x, "requirement", aeo_areas[a].requirement);
        put_str(x, "clauses", aeo_areas[a].clauses);
    }
    struct json_object *by = child(rep, "by_site");
    uint32_t ready_total = 0;
    for (size_t i = 0; i < c->n_sites; i++) {
        struct json_object *so = child(by, c->sites[i]);
        uint32_t ready_n = 0;
        for (size_t a = 0; a < N_OF(aeo_areas); a++) {
            struct json_object *x = child(so, aeo_areas[a].area);
            struct json_object *missing = json_object_new_array();
            char list[128];
            snprintf(list, sizeof list, "%s", aeo_areas[a].clauses);
            for (char *save = NULL, *tok = strtok_r(list, " ", &save); tok;
                 tok = strtok_r(NULL, " ", &save)) {
                int k = index_of(clauses, N_CLAUSES, tok);
                if (k >= 0 && !clause_evidence(p, i, (size_t)k, NULL))
                    json_object_array_add(missing, json_object_new_string(tok));
            }
            if (aeo_areas[a].partners)
                partner_missing(p, i, missing);
            int ready = json_object_array_length(missing) == 0;
            ready_n += ready;
            json_object_object_add(x, "ready", json_object_new_boolean(ready));
            json_object_object_add(x, "missing", missing);
        }
        put_int(so, "areas_ready", ready_n);
        ready_total += ready_n == N_OF(aeo_areas);
    }
    put_int(rep, "sites_ready", ready_total);
}

/* ------------------------------------------------------------ entry */

/* By enum report_kind; the "report" member of a report says which. */
static const char *const kind_names[] = {"review", "gaps", "aeo"};

int report_kind_parse(const char *text, enum report_kind *out)
{
    int i = index_of(kind_names, N_OF(kind_names), text);
    if (i < 0)
        return scsms_fail(SCSMS_EINVAL, "unknown report '%.32s': use review, gaps or aeo", text);
    *out = (enum report_kind)i;
    return 0;
}

int report_format_parse(const char *text, enum report_format *out)
{
    static const char *const names[] = {"table", "json", "csv", "html"};
    int i = index_of(names, N_OF(names), text);
    if (i < 0)
        return scsms_fail(SCSMS_EINVAL, "unknown format '%.32s': use html, json, csv or table",
                          text);
    *out = (enum report_format)i;
    return 0;
}

int report_build(store_t *s, const struct report_options *o, struct json_object **out)
{
    struct ctx c;
    struct owner_walk w;
    struct part parts[2];
    struct json_object *rep = NULL;
    memset(parts, 0, sizeof parts);
    int rc = setup(&c, s, o, &w);
    if (rc == 0)
        rc = scan(&c, w.split, parts);
    if (rc)
        goto fail;
    if (!(rep = json_object_new_object())) {
        rc = scsms_fail(SCSMS_ENOMEM, "out of memory");
        goto fail;
    }
    put_str(rep, "report", kind_names[o->kind]);
    if (o->kind == REPORT_REVIEW)
        put_str(rep, "from", c.from);
    put_str(rep, o->kind == REPORT_REVIEW ? "to" : "as_of", c.to);
    put_str(rep, "head_office", store_owner(s));
    struct json_object *sites = json_object_new_array();
    for (size_t i = 0; i < c.n_sites; i++)
        json_object_array_add(sites, json_object_new_string(c.sites[i]));
    json_object_object_add(rep, "sites", sites);
    if (o->kind == REPORT_REVIEW)
        rc = build_review(&parts[0], rep);
    else if (o->kind == REPORT_GAPS)
        build_gaps(&parts[0], rep);
    else
        build_aeo(&parts[0], rep);
    if (rc)
        goto fail;
    *out = rep;
    rep = NULL;
fail:
    json_object_put(rep);
    part_free(&parts[0]);
    part_free(&parts[1]);
    ctx_free(&c);
    return rc;
}

/* rules.h -- the rules of DOMAIN.md, applied when a record version is
 * written. Each refusal is SCSMS_ERULE (or SCSMS_EPERM for who may write
 * what) with one line saying what is wrong and what would make it right.
 *
 *   rule 1  risk: residual likelihood x consequence above the threshold is
 *           intolerable, and then "accept" needs head office's acceptance
 *   rule 2  action: "implemented" and beyond need a linked risk review (or
 *           the immediate flag); "verified_effective" and "closed" need a
 *           recorded effectiveness check
 *   rule 3  a failed calibration, or equipment whose calibration is overdue,
 *           puts the equipment out of use and raises a nonconformity
 *   rule 4  a nonconforming inspection item raises a nonconformity
 *   rule 5  a policy or controlled document made current makes the one
 *           current before it (same title, same document id) obsolete; the
 *           obsolete version reaches every site like any other
 *   rule 6  an auditor may not audit an activity they are responsible for
 *   links   every link names an existing record of a type its relation allows
 *
 * Rule 8 (who issues which type, a site writes only its own records) is
 * the store's (batch.c) and the server's (sync.c), with the partner's part
 * here (rules_check_subject); rule 7 is computed by 'due'.
 *   partners  a declaration ends after it starts, a certificate expires
 *           after it is valid; an exempt partner names the reason (ISO 28001
 *           4.4); a credibility review's status is its decision
 */
#ifndef SCSMS_RULES_H
#define SCSMS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

/* LMDB's transaction, as lmdb.h declares it: the checks that read the
 * store run inside the writer's transaction (store_internal.h). */
typedef struct MDB_txn MDB_txn;

/* The checks that need only the record: rules 1, 2 and 6 (the audit's own
 * fields), and that no date of what has happened (an incident's time, an
 * audit or drill held, a course completed...) is after now. For equipment
 * in service whose calibration date has passed (rule 3) it sets the status
 * to out_of_calibration; the nonconformity follows from rules_followups().
 * now: seconds since the epoch (isotime_now()). */
int rules_check_record(Scsms__Record *rec, enum store_role role, const struct scsms_config *cfg,
                       int64_t now) SCSMS_MUST_CHECK;

/* The checks of a user's update of old into rec that need both versions:
 * equipment out of calibration goes back in service, and its calibration
 * dates move later, only through a calibration recorded (rule 3). Not
 * for the versions the rules themselves write. */
int rules_check_update(const Scsms__Record *old, const Scsms__Record *rec) SCSMS_MUST_CHECK;

/* Rule 8 for partners: a partner's declarations and certificates are
 * about itself (partner_id is the writer, owner). SCSMS_EPERM otherwise. */
int rules_check_subject(const Scsms__Record *rec, const char *owner,
                        enum store_role role) SCSMS_MUST_CHECK;

/* The checks of rules_check_record() that change nothing and hold for a
 * record whatever the day: for records another store wrote and this one
 * takes in (declaration and certificate dates, an exemption's reason, a
 * review's decision and its status repeating it). */
int rules_check_received(const Scsms__Record *rec) SCSMS_MUST_CHECK;

/* "accepted" or "rejected" for a review's (sealed) decision; NULL when it
 * has none. Static storage. */
const char *rules_decision_name(const Scsms__CredibilityReview *r);

/* 1 when writing rec raises follow-up records (rules 3, 4 and 5). */
int rules_raises(const Scsms__Record *rec);

/* The checks of rules_check_record() a record restored from an export
 * must pass as it stands (rule 1's who may accept, 2, 6 and the partner
 * rules): those that hold whatever the day and the settings, and change
 * nothing, since a restore writes the exported bytes exactly (not the
 * dates of what has happened: an export written before that check restores
 * as it is). */
int rules_check_restored(const Scsms__Record *rec, enum store_role role,
                         const struct scsms_config *cfg) SCSMS_MUST_CHECK;

/* Once a whole restore is written: rec's links resolve, and what rule 4
 * raised from it (one nonconformity per nonconforming inspection item)
 * came with it. */
int rules_check_restored_store(store_t *s, MDB_txn *txn,
                               const Scsms__Record *rec) SCSMS_MUST_CHECK;

/* The checks that read the store in txn: links (so rule 2's risk review
 * is a risk that exists), rule 6 against the auditor's appointments. */
int rules_check_store(store_t *s, MDB_txn *txn, const Scsms__Record *rec) SCSMS_MUST_CHECK;

struct rules_followup {
    Scsms__Record *rec; /* owned: free with record_free() */
    int create;         /* 1: a new record with rec->id; 0: next version of rec->id */
    char why[160];      /* for the user: "rule 4: item 2 'Seals intact?' nonconforming" */
};

/* What writing rec (stored as id; old_status is the status of the version
 * it replaces, NULL for a new record) raises. *out is a malloc'd array
 * the caller frees with rules_followups_free(). Equipment raises a
 * nonconformity when it goes out of calibration, not on every later
 * version; the same lapse is not raised twice in a day. */
int rules_followups(store_t *s, MDB_txn *txn, const Scsms__Record *rec, const char *id,
                    const char *old_status, int64_t today, struct rules_followup **out,
                    size_t *n) SCSMS_MUST_CHECK;

void rules_followups_free(struct rules_followup *f, size_t n);

/* The relations a type's links may use, "source, risk_review", for help. */
const char *rules_link_rels(const char *type);

#endif

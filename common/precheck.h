/* precheck.h -- a thread that makes uploads' checks ahead of their write.
 *
 * Head office took a backlog's uploads in on one thread: decode and check
 * every entry (about half its time), write them, then wait for the disk at
 * each group's commit, with nothing else done meanwhile. LMDB has one
 * writer, and a commit returns once its pages are on disk, so what can
 * overlap the wait is what needs no store: sync_upload_precheck(). A
 * precheck runs it on a thread of its own for the uploads handed to it,
 * oldest first, while the caller writes; the caller then finishes each
 * job as it needs it, in order (sync_ingest_group_then's step), checking
 * one itself rather than waiting when the thread has not begun it, so the
 * thread checks the next upload while the caller writes the last.
 *
 * Used by one thread (the caller) besides its own; a job is the caller's
 * memory, lent from precheck_submit() until precheck_finish() returns.
 */
#ifndef SCSMS_PRECHECK_H
#define SCSMS_PRECHECK_H

#include "store.h"
#include "sync.h"

struct precheck;

enum precheck_state {
    PRECHECK_IDLE = 0, /* never submitted, or finished and reset */
    PRECHECK_QUEUED,
    PRECHECK_RUNNING,
    PRECHECK_DONE,
};

/* An upload to check ahead. Zero it (or set state to PRECHECK_IDLE) and
 * fill up.owner, up.entries and up.n (borrowed: they must stay until the
 * job is finished); once finished, up.pre is the outcome (NULL when it was
 * not wanted, or out of memory: sync_ingest_group() then checks it
 * itself). The caller owns up.pre (sync_upload_clear()). */
struct precheck_job {
    struct sync_upload up;
    enum precheck_state state; /* read and written under the precheck's lock */
    struct precheck_job *next; /* in its queue */
};

/* Start the thread, for uploads to a store of the given role. 0, or
 * SCSMS_ENOMEM / SCSMS_EIO (no thread): the caller then checks every
 * upload itself, as sync_ingest_group() does with none made ahead. */
int precheck_start(enum store_role role, struct precheck **out) SCSMS_MUST_CHECK;

/* Queue j for the thread. With p NULL, nothing happens (j stays idle and
 * precheck_finish() checks it on the caller's thread). */
void precheck_submit(struct precheck *p, struct precheck_job *j);

/* Once this returns, j is the caller's again and its state PRECHECK_DONE.
 * wanted: its outcome is needed (the caller is about to write it): when
 * the thread has not begun j, it is checked here and now (with p NULL it
 * is left to sync_ingest_group()). Not wanted (its
 * request was refused): a queued j is taken off the queue unchecked. A j
 * the thread is checking is waited for either way. */
void precheck_finish(struct precheck *p, struct precheck_job *j, int wanted);

/* Stop the thread and free p; *p becomes NULL; NULL is fine. Every job
 * submitted must be finished first. */
void precheck_stop(struct precheck **p);

#endif

/* precheck.c -- a thread that makes uploads' checks ahead; see precheck.h. */
#include "precheck.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

struct precheck {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work;  /* the thread waits for a job, or the stop */
    pthread_cond_t done;  /* the caller waits for a job the thread is checking */
    struct precheck_job *head, *tail;
    enum store_role role;
    int stopping;
};

/* Check j; out of memory leaves j->up.pre NULL for the writer to retry. */
static void check(enum store_role role, struct precheck_job *j)
{
    if (sync_upload_precheck(&j->up, role) != 0)
        j->up.pre = NULL;
}

static void *precheck_main(void *arg)
{
    struct precheck *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && !p->head)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stopping)
            break;
        struct precheck_job *j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        j->state = PRECHECK_RUNNING;
        pthread_mutex_unlock(&p->lock);
        check(p->role, j);
        pthread_mutex_lock(&p->lock);
        j->state = PRECHECK_DONE;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int precheck_start(enum store_role role, struct precheck **out)
{
    struct precheck *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    p->role = role;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    if (pthread_create(&p->thread, NULL, precheck_main, p) != 0) {
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return scsms_fail(SCSMS_EIO, "cannot start the thread that checks uploads ahead");
    }
    *out = p;
    return 0;
}

void precheck_submit(struct precheck *p, struct precheck_job *j)
{
    if (!p)
        return;
    j->next = NULL;
    pthread_mutex_lock(&p->lock);
    j->state = PRECHECK_QUEUED;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

/* Take queued j off p's queue; under p's lock. */
static void unqueue(struct precheck *p, struct precheck_job *j)
{
    struct precheck_job *prev = NULL;
    for (struct precheck_job *x = p->head; x && x != j; x = x->next)
        prev = x;
    if (prev)
        prev->next = j->next;
    else
        p->head = j->next;
    if (p->tail == j)
        p->tail = prev;
    j->next = NULL;
}

void precheck_finish(struct precheck *p, struct precheck_job *j, int wanted)
{
    if (!p) { /* no thread: sync_ingest_group() checks it, in its place */
        j->state = PRECHECK_DONE;
        return;
    }
    pthread_mutex_lock(&p->lock); /* the thread writes j->state under it */
    enum precheck_state was = j->state;
    if (was == PRECHECK_QUEUED)
        unqueue(p, j);
    if (was == PRECHECK_IDLE || was == PRECHECK_QUEUED) {
        j->state = PRECHECK_DONE; /* the thread never sees it now */
        pthread_mutex_unlock(&p->lock);
        if (wanted)
            check(p->role, j);
        return;
    }
    while (j->state == PRECHECK_RUNNING)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void precheck_stop(struct precheck **pp)
{
    struct precheck *p = pp ? *pp : NULL;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    assert(!p->head && "every job is finished before the stop");
    p->stopping = 1;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}

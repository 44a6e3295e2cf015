/* serve.c -- scsms-server run: the sync endpoint.
 *
 * One ROUTER socket, CURVE server, ZAP domain "scsms". The ZAP handler (an
 * inproc REP socket polled in the same loop) lets a client finish its
 * handshake only when its CURVE key belongs to an enrolled identity that is
 * not revoked, and names it as the connection's User-Id; every message then
 * carries that identity, so nothing in a message can claim another.
 * Revocation is read from the store at every message: a revoked identity's
 * live session is refused from its next message on.
 */
#include "server.h"
#include "text.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "arena.h"
#include "crypto.h"
#include "identity.h"
#include "isotime.h"
#include "mem.h"
#include "netmon.h"
#include "precheck.h"
#include "sync.h"

#define FETCH_MAX 1000
#define CREDIT 4 /* uploads a client may have in flight: enough to keep a core
                    busy while the next batch crosses the network */

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

#define WARN_SLOTS 16      /* kinds of warning x senders, each limited apart */
#define SEEN_MAX 4096      /* identities whose last contact is tracked in memory */
#define SEEN_FLUSH_MS 200  /* written at most this often, in one transaction:
                              soon after contact, without a write per message */

struct server {
    store_t *s;
    void *router, *zap;
    void *monitor;         /* the router's failed handshakes, for the log */
    int64_t handshake_logged; /* when one was last logged (ms); */
    unsigned long handshakes_unlogged; /* failures since, not logged */
    int verbose;
    size_t queue_max;      /* requests read at once; beyond: "retry later" */
    uint64_t shed;
    struct sync_seen seen[SEEN_MAX];
    int seen_dirty[SEEN_MAX];
    int clock_said[SEEN_MAX]; /* its clock said to be wrong since this process began, */
    int64_t clock_said_off[SEEN_MAX]; /* by this much */
    size_t n_seen;
    int64_t flushed_at;    /* milliseconds, monotonic */
    /* A round's requests, and those read ahead for the next while its
     * commit waits for the disk: each decoded into its own arena (an
     * upload of 1000 entries was 1000 allocations) and swapped at the
     * round's end. */
    struct request *q[2];
    struct arena arena[2];
    int cur;               /* this round's: q[cur], arena[cur] */
    size_t n_ahead;        /* requests in q[!cur] */
    struct precheck *pc;   /* checks uploads ahead; NULL: none, all done here */
    struct sync_batch fetch; /* head office's entries for a Fetch, borrowed */
    struct warned {        /* warnings alike but for their numbers (warn_limited) */
        char like[200];    /* the text, its digits as '#' */
        int64_t at;        /* when last logged, ms */
        unsigned long held; /* since, not logged */
    } warned[WARN_SLOTS];
};

#define WARN_AGAIN_MS 60000

/* Log a warning at most once a minute among those alike but for their
 * numbers: a site whose uploads head office cannot store (its disk full,
 * say) asks again every second, with messages that differ only in their
 * sequence numbers, and a line each time would fill the log of a machine
 * short of disk already. A warning that says something else (another
 * site, another reason) is logged as before. The next line logged of one
 * held back says how many were. Sixteen are kept; a new one takes the
 * slot logged longest ago. */
static void warn_limited(struct server *sv, const char *fmt, ...) SCSMS_PRINTF(2, 3);

static void warn_limited(struct server *sv, const char *fmt, ...)
{
    char line[600], like[sizeof sv->warned[0].like];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (; line[n] && n + 1 < sizeof like; n++)
        like[n] = line[n] >= '0' && line[n] <= '9' ? '#' : line[n];
    like[n] = '\0';
    int64_t now = isotime_monotonic_ms();
    struct warned *w = NULL, *oldest = &sv->warned[0];
    for (size_t i = 0; i < WARN_SLOTS && !w; i++) {
        struct warned *t = &sv->warned[i];
        if (strcmp(t->like, like) == 0)
            w = t;
        else if (t->at < oldest->at)
            oldest = t;
    }
    if (w && now - w->at < WARN_AGAIN_MS) {
        w->held++;
        return;
    }
    if (!w) {
        w = oldest;
        *w = (struct warned){0};
        memcpy(w->like, like, n + 1);
    }
    if (w->held)
        fprintf(stderr, "scsms-server: warning: %s (%lu more like it in the last minute, not "
                "logged)\n", line, w->held);
    else
        fprintf(stderr, "scsms-server: warning: %s\n", line);
    w->at = now;
    w->held = 0;
}

/* ------------------------------------------------------------ ZAP */

struct key_match {
    char key[IDENTITY_Z85_LEN + 1];
    char id[RECORD_MAX_ID + 1];
    int revoked;
    char also[RECORD_MAX_ID + 1]; /* another live identity with the key */
};

/* Enrol refuses a key enrolled already, but a store enrolled before it did
 * may hold one key under two ids: the live one is taken, and two live ones
 * are refused (whichever came first by id would be a guess). */
static int match_key(const Scsms__Identity *id, void *ctx)
{
    struct key_match *m = ctx;
    if (strcmp(id->curve_key, m->key) != 0 || (m->id[0] && id->revoked))
        return 0;
    if (m->id[0] && !m->revoked) {
        snprintf(m->also, sizeof m->also, "%s", id->id);
        return 0;
    }
    snprintf(m->id, sizeof m->id, "%s", id->id);
    m->revoked = id->revoked;
    return 0;
}

/* The scan that found the key reads identities as they lie; the one it
 * matched is let in only as this store wrote it (its seal verifies): a
 * CURVE key put into the table by an edit of the data file opens nothing.
 * One check a handshake, not one an identity scanned. */
static int read_as_written(struct server *sv, const char *id)
{
    Scsms__Identity *ident = NULL;
    int rc = store_identity_get(sv->s, id, &ident);
    if (ident)
        scsms__identity__free_unpacked(ident, NULL);
    return rc;
}

static void send_str(void *sock, const char *s, int more)
{
    zmq_send(sock, s, strlen(s), more ? ZMQ_SNDMORE : 0);
}

/* Answer one ZAP request (RFC 27): 200 with the identity as User-Id, 400
 * for a key nobody enrolled or a revoked one (the agent stops: a person
 * must look), or 500 when the table cannot be read (the agent tries
 * again). */
static void serve_zap(struct server *sv)
{
    zmq_msg_t f[7];
    int n = 0, more = 1;
    while (more && n < 7) {
        zmq_msg_init(&f[n]);
        if (zmq_msg_recv(&f[n], sv->zap, 0) < 0)
            break;
        more = zmq_msg_more(&f[n]);
        n++;
    }
    while (more) { /* drain anything beyond what RFC 27 sends for CURVE */
        zmq_msg_t x;
        zmq_msg_init(&x);
        zmq_msg_recv(&x, sv->zap, 0);
        more = zmq_msg_more(&x);
        zmq_msg_close(&x);
    }
    const char *status = "400", *text = "unknown key", *user = "";
    struct key_match m = {0};
    int altered = 0;
    if (n == 7 && zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
        zmq_msg_size(&f[6]) == 32) {
        zmq_z85_encode(m.key, zmq_msg_data(&f[6]), 32);
        int rc = store_identity_list(sv->s, match_key, &m);
        if (rc == 0 && m.id[0] && !m.revoked && !m.also[0] &&
            (rc = read_as_written(sv, m.id)) == SCSMS_ETAMPER) {
            altered = 1;
            rc = 0;
        }
        if (rc) {
            status = "500";
            text = "enrolment table unreadable";
        } else if (m.also[0]) {
            text = "key enrolled twice";
        } else if (altered) {
            text = "enrolment altered outside the store";
        } else if (m.id[0] && !m.revoked) {
            status = "200";
            text = "OK";
            user = m.id;
        } else if (m.id[0]) {
            text = "revoked";
        }
    }
    /* who knocked: the peer's address (RFC 27's fourth frame) */
    char from[64] = "?";
    if (n >= 4 && zmq_msg_size(&f[3]) > 0)
        snprintf(from, sizeof from, "%.*s", (int)zmq_msg_size(&f[3]), (char *)zmq_msg_data(&f[3]));
    if (status[0] == '2')
        fprintf(stderr, "scsms-server: info: connection from %s (%s)\n", user, from);
    else if (status[0] == '5')
        fprintf(stderr, "scsms-server: warning: connection from %s refused: %s: %s\n", from, text,
                scsms_errmsg());
    else if (altered)
        fprintf(stderr, "scsms-server: warning: connection from %s refused: the enrolment of %s "
                "was altered outside the store; run verify\n", from, m.id);
    else if (m.also[0])
        fprintf(stderr, "scsms-server: warning: connection from %s refused: one key is enrolled "
                "as both %s and %s: revoke the one that is not this key's\n", from, m.id, m.also);
    else if (m.id[0])
        fprintf(stderr, "scsms-server: warning: connection from %s refused: %s identity %s\n",
                from, text, m.id);
    else
        fprintf(stderr, "scsms-server: warning: connection from %s refused: unknown key %s (not "
                "enrolled)\n", from, m.key[0] ? m.key : "(not CURVE)");
    send_str(sv->zap, "1.0", 1);
    if (n >= 2)
        zmq_send(sv->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    else
        send_str(sv->zap, "", 1);
    send_str(sv->zap, status, 1);
    send_str(sv->zap, text, 1);
    send_str(sv->zap, user, 1);
    send_str(sv->zap, "", 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

/* ------------------------------------------------------------ requests */

/* 0, or what reading who's head failed with (the reply then says 0). */
static int set_head(struct server *sv, const char *who, Scsms__SyncReply *r, uint8_t *hash)
{
    int rc = sync_head(sv->s, who, &r->head_seq, hash);
    if (rc == 0) {
        r->head_hash.data = hash;
        r->head_hash.len = CRYPTO_HASH_LEN;
    }
    return rc;
}

static void do_hello(struct server *sv, const char *who, Scsms__SyncReply *r, uint8_t *hash,
                     uint8_t *hq_pub)
{
    uint8_t hq_hash[CRYPTO_HASH_LEN];
    /* heads that could not be read (the store busy, its readers full) are
     * not heads of 0: a site would resend all, or take head office for one
     * restored from an older backup */
    if (set_head(sv, who, r, hash) != 0 ||
        sync_head(sv->s, store_owner(sv->s), &r->hq_head_seq, hq_hash) != 0) {
        r->code = SCSMS__SYNC_REPLY__CODE__RETRY_LATER;
        r->message = "head office cannot read its store now: retry later";
        return;
    }
    store_public_key(sv->s, hq_pub);
    r->hq_id = (char *)store_owner(sv->s);
    r->hq_sign_key.data = hq_pub;
    r->hq_sign_key.len = CRYPTO_PUB_LEN;
    r->hq_time = isotime_now(); /* for the agent to check its clock by */
}

/* The answer to an upload, taken in with the others waiting with it. */
static void do_upload(struct server *sv, const char *who, const struct sync_upload *u,
                      Scsms__SyncReply *r, uint8_t *hash, char *msg, size_t msg_len)
{
    int rc = u->rc;
    if (rc == 0 && u->seen) /* written with the batch */
        sv->seen_dirty[u->seen - sv->seen] = 0;
    r->head_seq = u->res.head_seq;
    memcpy(hash, u->res.head, CRYPTO_HASH_LEN);
    r->head_hash.data = hash;
    r->head_hash.len = CRYPTO_HASH_LEN;
    if (rc == 0) {
        if (sv->verbose)
            fprintf(stderr, "scsms-server: info: %s: %llu entries applied, %llu held already, "
                    "head %llu\n", who, (unsigned long long)u->res.applied,
                    (unsigned long long)u->res.duplicates, (unsigned long long)u->res.head_seq);
        return;
    }
    text_copy(msg, msg_len, u->message ? u->message : scsms_strerror(rc)); /* a proto string */
    r->message = msg;
    r->code = rc == SCSMS_EGAP ? SCSMS__SYNC_REPLY__CODE__GAP
              : rc == SCSMS_EPERM || rc == SCSMS_ETAMPER || rc == SCSMS_ECORRUPT ||
                        rc == SCSMS_EEXIST || rc == SCSMS_EINVAL || rc == SCSMS_ERULE
                  /* the same again cannot succeed */
                  ? SCSMS__SYNC_REPLY__CODE__REFUSED
                  : SCSMS__SYNC_REPLY__CODE__RETRY_LATER;
    if (rc != SCSMS_EGAP || sv->verbose) /* a gap follows any upload refused in flight */
        warn_limited(sv, "upload from %s refused: %s", who, msg);
}

/* Head office's own entries after the client's copy, as stored, under a
 * checkpoint signed now; f is ended once the reply is sent. */
static void do_fetch(struct server *sv, const Scsms__Fetch *fe, Scsms__SyncReply *r,
                     struct sync_batch *f)
{
    size_t max = fe->max && fe->max < FETCH_MAX ? fe->max : FETCH_MAX;
    if (sync_batch_read(sv->s, fe->after_seq + 1, max, f)) {
        r->code = SCSMS__SYNC_REPLY__CODE__RETRY_LATER;
        return;
    }
    r->n_entries = f->n;
    r->entries = f->v;
    r->checkpoint.data = f->cp;
    r->checkpoint.len = f->cp_len;
}

/* What a partner may read: head office's sealed records about it (its
 * credibility reviews), never head office's log, which holds every other
 * partner's reviews too. Each is sent as its exact bytes; the partner
 * checks head office's signature on each. */
struct partner_mail {
    const char *who, *hq; /* only head office's own reviews of who */
    int truncated;
    char (*ids)[RECORD_MAX_ID + 1];
    uint32_t *versions;
    size_t n, cap;
};

static int pick_reviews(const Scsms__Record *rec, void *ctx)
{
    struct partner_mail *m = ctx;
    if (strcmp(rec->owner, m->hq) != 0 || record_is_tombstone(rec) ||
        strcmp(rec->credibility_review->partner_id, m->who) != 0)
        return 0;
    if (m->n == m->cap) {
        m->truncated = 1;
        return 0;
    }
    snprintf(m->ids[m->n], sizeof m->ids[m->n], "%s", rec->id);
    m->versions[m->n++] = rec->version;
    return 0;
}

static void do_fetch_partner(struct server *sv, const char *who, Scsms__SyncReply *r)
{
    struct store_filter only = {.type = "credibility_review"};
    struct partner_mail m = {.who = who, .hq = store_owner(sv->s), .cap = FETCH_MAX};
    m.ids = calloc(m.cap, sizeof *m.ids);
    m.versions = calloc(m.cap, sizeof *m.versions);
    r->sealed = calloc(m.cap, sizeof *r->sealed);
    if (!m.ids || !m.versions || !r->sealed || store_list(sv->s, &only, pick_reviews, &m) != 0) {
        r->code = SCSMS__SYNC_REPLY__CODE__RETRY_LATER;
        m.n = 0;
    }
    for (size_t i = 0; i < m.n; i++) {
        ProtobufCBinaryData *b = &r->sealed[r->n_sealed];
        if (store_get_bytes(sv->s, m.ids[i], m.versions[i], &b->data, &b->len) == 0)
            r->n_sealed++;
        else
            fprintf(stderr, "scsms-server: warning: review %s for %s: %s\n", m.ids[i], who,
                    scsms_errmsg());
    }
    if (m.truncated)
        fprintf(stderr, "scsms-server: warning: %s has more than %d reviews; the first %d by id "
                "are sent\n", who, FETCH_MAX, FETCH_MAX);
    free(m.ids);
    free(m.versions);
}

static void free_sealed(Scsms__SyncReply *r)
{
    for (size_t i = 0; i < r->n_sealed; i++)
        free(r->sealed[i].data);
    free(r->sealed);
    r->sealed = NULL;
    r->n_sealed = 0;
}

static struct sync_seen *seen_entry(struct server *sv, const char *who)
{
    size_t i = 0;
    while (i < sv->n_seen && strcmp(sv->seen[i].id, who) != 0)
        i++;
    return i < sv->n_seen ? &sv->seen[i] : NULL;
}

/* Keep how far e's clock is from this one, as its Hello said (sent_at 0:
 * not said), and log once when it goes wrong (SYNC_CLOCK_TOLERANCE_S), or
 * wrong by another tolerance's worth, and once when it is right again
 * (sync_clock_right): a daemon says hello every few seconds. */
static void note_clock(struct server *sv, struct sync_seen *e, int64_t sent_at)
{
    int64_t off = sync_clock_offset(sent_at, isotime_now());
    if (off == SYNC_CLOCK_UNKNOWN)
        return; /* not said, or not a time */
    int *said = &sv->clock_said[e - sv->seen];
    int64_t *said_off = &sv->clock_said_off[e - sv->seen];
    char span[ISOTIME_SPAN_MAX + 1];
    isotime_format_span(off, span);
    if (sync_clock_wrong(off) && (!*said || sync_clock_wrong(off - *said_off))) {
        fprintf(stderr, "scsms-server: warning: %s's clock is %s %s head office's: the records "
                "it writes are dated by it; have it set right (NTP)\n", e->id, span,
                off > 0 ? "ahead of" : "behind");
        *said = 1;
        *said_off = off;
    } else if (*said && sync_clock_right(off)) {
        fprintf(stderr, "scsms-server: info: %s's clock agrees with head office's again (%s "
                "off)\n", e->id, span);
        *said = 0;
    }
    e->clock_offset = off;
}

/* Note contact from who (sent_at: its clock, when a Hello says it); its
 * entry in the table, or NULL when full. */
static struct sync_seen *saw(struct server *sv, const char *who, uint64_t backlog,
                             int64_t sent_at)
{
    struct sync_seen *e = seen_entry(sv, who);
    if (!e) {
        if (sv->n_seen == SEEN_MAX)
            return NULL;
        e = &sv->seen[sv->n_seen++];
        /* its clock as last said, kept until its next Hello */
        if (sync_seen_get(sv->s, who, e) != 0)
            e->clock_offset = SYNC_CLOCK_UNKNOWN;
        snprintf(e->id, sizeof e->id, "%s", who);
        sv->clock_said[e - sv->seen] = 0;
    }
    e->last_seen = isotime_now();
    e->backlog = backlog;
    note_clock(sv, e, sent_at);
    sv->seen_dirty[e - sv->seen] = 1;
    return e;
}

static void flush_seen(struct server *sv, int force)
{
    struct sync_seen dirty[64];
    int64_t now = isotime_monotonic_ms();
    if (!force && now - sv->flushed_at < SEEN_FLUSH_MS)
        return;
    sv->flushed_at = now;
    size_t n = 0;
    for (size_t i = 0; i < sv->n_seen; i++) {
        if (!sv->seen_dirty[i])
            continue;
        dirty[n++] = sv->seen[i];
        sv->seen_dirty[i] = 0;
        if (n == 64 || i + 1 == sv->n_seen) {
            if (sync_seen_put(sv->s, dirty, n) != 0)
                warn_limited(sv, "last contact not written: %s", scsms_errmsg());
            n = 0;
        }
    }
    if (n && sync_seen_put(sv->s, dirty, n) != 0)
        warn_limited(sv, "last contact not written: %s", scsms_errmsg());
}

/* A request read off the ROUTER: [routing id][payload], decoded. */
struct request {
    zmq_msg_t id, body;
    const char *who;             /* the authenticated identity (ZAP User-Id) */
    Scsms__SyncRequest *req;     /* NULL: not a SyncRequest */
    int admitted;                /* 0, or why who may not sync now (admit()) */
    char refusal[192];           /* and the reason's one line */
    int partner;                 /* who is enrolled as a partner */
    struct sync_seen *seen;      /* its sender's contact entry (NULL: table full) */
    struct sync_upload *up;      /* an upload's outcome, once taken in */
    struct precheck_job job;     /* an upload's checks made ahead (job.up.pre) */
};

/* Read one request if one is waiting. 1 when read, 0 when none. */
static int read_request(struct server *sv, struct request *q)
{
    zmq_msg_init(&q->id);
    zmq_msg_init(&q->body);
    if (zmq_msg_recv(&q->id, sv->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&q->id);
        zmq_msg_close(&q->body);
        return 0;
    }
    if (!zmq_msg_more(&q->id) || zmq_msg_recv(&q->body, sv->router, 0) < 0) {
        zmq_msg_close(&q->id);
        zmq_msg_close(&q->body);
        return read_request(sv, q);
    }
    while (zmq_msg_more(&q->body)) { /* one frame per request: drop the rest */
        zmq_msg_t x;
        zmq_msg_init(&x);
        zmq_msg_recv(&x, sv->router, 0);
        int more = zmq_msg_more(&x);
        zmq_msg_close(&x);
        if (!more)
            break;
    }
    return 1;
}

static void send_reply(struct server *sv, struct request *q, Scsms__SyncReply *r)
{
    size_t len = scsms__sync_reply__get_packed_size(r);
    uint8_t *out = malloc(len ? len : 1);
    if (out) {
        scsms__sync_reply__pack(r, out);
        zmq_msg_send(&q->id, sv->router, ZMQ_SNDMORE);
        zmq_send(sv->router, out, len, 0);
    }
    free(out);
}

/* Whether q's sender may sync now, read from the enrolment table at every
 * request: the ZAP handler admitted it at the handshake, but a session
 * lives on after its identity is revoked. Sets q->admitted (0, SCSMS_EPERM
 * with the reason in q->refusal, or a store error: then it is answered
 * "retry later", and a partner is never taken for a site) and q->partner. */
static void admit(struct server *sv, struct request *q)
{
    Scsms__Identity *id = NULL;
    q->admitted = sync_admitted(sv->s, q->who, &id);
    q->partner = 0;
    if (q->admitted) {
        text_copy(q->refusal, sizeof q->refusal, scsms_errmsg());
        if (q->admitted == SCSMS_EPERM)
            fprintf(stderr, "scsms-server: warning: request from %s refused: %s\n", q->who,
                    q->refusal);
        return;
    }
    q->partner = id->role == SCSMS__IDENTITY__ROLE__PARTNER;
    scsms__identity__free_unpacked(id, NULL);
}

/* The answer to a request admit() did not admit. */
static void refuse(const struct request *q, Scsms__SyncReply *r)
{
    r->code = q->admitted == SCSMS_EPERM ? SCSMS__SYNC_REPLY__CODE__REFUSED
                                         : SCSMS__SYNC_REPLY__CODE__RETRY_LATER;
    r->message = (char *)q->refusal;
}

/* More was waiting than the queue holds: answer "retry later" without
 * doing the work, keeping the connection; an identity that may not sync
 * is refused here as anywhere. */
static void shed(struct server *sv, struct request *q)
{
    Scsms__SyncReply r = SCSMS__SYNC_REPLY__INIT;
    Scsms__SyncRequest *req =
        scsms__sync_request__unpack(NULL, zmq_msg_size(&q->body), zmq_msg_data(&q->body));
    uint8_t hash[CRYPTO_HASH_LEN];
    q->who = zmq_msg_gets(&q->body, "User-Id");
    r.code = SCSMS__SYNC_REPLY__CODE__RETRY_LATER;
    r.message = "server busy: retry later";
    r.credit = 1;
    if (req)
        r.request_id = req->request_id;
    if (q->who && *q->who) {
        admit(sv, q);
        if (q->admitted == SCSMS_EPERM)
            refuse(q, &r);
        else
            set_head(sv, q->who, &r, hash);
    }
    send_reply(sv, q, &r);
    if (req)
        scsms__sync_request__free_unpacked(req, NULL);
    if (sv->shed++ % 1000 == 0)
        fprintf(stderr, "scsms-server: warning: busy: answered retry later (%llu so far)\n",
                (unsigned long long)sv->shed);
}

/* Decode q into ar and name its sender, reading no store (a write
 * transaction may be open); an upload goes to the precheck thread. */
static void decode_body(struct server *sv, struct request *q, struct arena *ar)
{
    q->who = zmq_msg_gets(&q->body, "User-Id");
    q->req = scsms__sync_request__unpack(arena_allocator(ar), zmq_msg_size(&q->body),
                                         zmq_msg_data(&q->body));
    q->up = NULL;
    q->seen = NULL;
    q->admitted = 0;
    memset(&q->job, 0, sizeof q->job);
    if (!q->who || !*q->who || !q->req || q->req->msg_case != SCSMS__SYNC_REQUEST__MSG_UPLOAD)
        return;
    const Scsms__Upload *up = q->req->upload;
    q->job.up.owner = q->who;
    q->job.up.entries = up->entries;
    q->job.up.n = up->n_entries;
    precheck_submit(sv->pc, &q->job);
}

/* Check q's sender may sync, and note the contact, in the order the
 * requests came: the last one an identity sent says its backlog. A
 * refused identity is not noted as seen. */
static void admit_request(struct server *sv, struct request *q)
{
    if (!q->who || !*q->who || !q->req)
        return;
    admit(sv, q);
    if (q->admitted)
        return;
    if (q->req->msg_case == SCSMS__SYNC_REQUEST__MSG_HELLO)
        q->seen = saw(sv, q->who, q->req->hello->backlog, q->req->hello->sent_at);
    else if (q->req->msg_case == SCSMS__SYNC_REQUEST__MSG_UPLOAD)
        q->seen = saw(sv, q->who, q->req->upload->backlog, 0);
}

/* The requests that arrived while this round writes, read and decoded
 * for the next: the precheck thread checks their uploads while the commit
 * waits for the disk. */
static void read_ahead(struct server *sv)
{
    struct request *a = sv->q[!sv->cur];
    while (sv->n_ahead < sv->queue_max && read_request(sv, &a[sv->n_ahead]))
        decode_body(sv, &a[sv->n_ahead++], &sv->arena[!sv->cur]);
}

static int is_upload(const struct request *q)
{
    return q->who && *q->who && q->req && !q->admitted &&
           q->req->msg_case == SCSMS__SYNC_REQUEST__MSG_UPLOAD;
}

/* sync_ingest_group_then's step, in the write transaction: read ahead,
 * and give the upload about to be written its checks, waited for if the
 * precheck thread is making them, made here if it has not begun. Taken
 * in order as the writer needs them, the thread (which takes the oldest
 * first) checks the next upload while this thread writes the last. */
static void step(void *arg, struct sync_upload *next)
{
    struct server *sv = arg;
    read_ahead(sv);
    if (!next || next->pre)
        return;
    struct request *q = next->caller;
    precheck_finish(sv->pc, &q->job, 1);
    next->pre = q->job.up.pre;
    q->job.up.pre = NULL; /* the group's now */
}

/* One transaction holds at most this much of uploads' entries: a round of
 * 256 large uploads is written in a few, not one that must fit whole. */
#define GROUP_MAX_BYTES ((size_t)32 << 20)

static size_t upload_bytes(const struct sync_upload *u)
{
    size_t n = u->cp_len;
    for (size_t i = 0; i < u->n; i++)
        n += u->entries[i].len;
    return n;
}

/* Take in every upload among q[0, n), in order, in transactions of up to
 * GROUP_MAX_BYTES each (sync_ingest_group: one flush to disk each), before
 * any is answered: an answer says durable. */
static struct sync_upload *take_uploads(struct server *sv, struct request *q, size_t n,
                                        size_t *n_ups)
{
    struct sync_upload *ups = calloc(n, sizeof *ups);
    size_t k = 0;
    /* what is not taken in is not checked; what is, is finished by step */
    for (size_t i = 0; i < n; i++)
        if (!ups || !is_upload(&q[i]))
            precheck_finish(sv->pc, &q[i].job, 0);
    for (size_t i = 0; ups && i < n; i++) {
        if (!is_upload(&q[i]))
            continue;
        const Scsms__Upload *up = q[i].req->upload;
        ups[k] = (struct sync_upload){.owner = q[i].who, .entries = up->entries,
                                      .n = up->n_entries, .checkpoint = up->checkpoint.data,
                                      .cp_len = up->checkpoint.len,
                                      .seen = q[i].seen, .caller = &q[i]};
        q[i].up = &ups[k++];
    }
    for (size_t from = 0, to; from < k; from = to) {
        size_t bytes = upload_bytes(&ups[from]), next = 0;
        for (to = from + 1; to < k && bytes + (next = upload_bytes(&ups[to])) <= GROUP_MAX_BYTES;
             to++)
            bytes += next;
        if (sync_ingest_group_then(sv->s, ups + from, to - from, step, sv) != 0)
            warn_limited(sv, "%zu uploads not taken in: %s", to - from, scsms_errmsg());
    }
    /* a group that failed before its turn came: the thread lets it go */
    for (size_t i = 0; i < n; i++)
        precheck_finish(sv->pc, &q[i].job, 0);
    /* out of memory: q[i].up stays NULL (decode_body), each is answered retry later */
    *n_ups = k;
    return ups;
}

/* One decoded request: do, answer. */
static void serve_message(struct server *sv, struct request *q)
{
    const char *who = q->who;
    Scsms__SyncReply r = SCSMS__SYNC_REPLY__INIT;
    uint8_t hash[CRYPTO_HASH_LEN], hq_pub[CRYPTO_PUB_LEN];
    char msg[600];
    Scsms__SyncRequest *req = q->req;
    if (!who || !*who) {
        r.code = SCSMS__SYNC_REPLY__CODE__REFUSED;
        r.message = "no authenticated identity";
    } else if (!req) {
        r.code = SCSMS__SYNC_REPLY__CODE__REFUSED;
        r.message = "malformed message: not a SyncRequest";
        fprintf(stderr, "scsms-server: warning: malformed message from %s refused\n", who);
    } else if (q->admitted) {
        r.request_id = req->request_id;
        refuse(q, &r);
    } else {
        r.request_id = req->request_id;
        switch (req->msg_case) {
        case SCSMS__SYNC_REQUEST__MSG_HELLO:
            do_hello(sv, who, &r, hash, hq_pub);
            break;
        case SCSMS__SYNC_REQUEST__MSG_UPLOAD:
            if (q->up) {
                do_upload(sv, who, q->up, &r, hash, msg, sizeof msg);
            } else {
                r.code = SCSMS__SYNC_REPLY__CODE__RETRY_LATER;
                r.message = "server out of memory: retry later";
            }
            break;
        case SCSMS__SYNC_REQUEST__MSG_FETCH:
            if (q->partner)
                do_fetch_partner(sv, who, &r);
            else
                do_fetch(sv, req->fetch, &r, &sv->fetch);
            break;
        default:
            r.code = SCSMS__SYNC_REPLY__CODE__REFUSED;
            r.message = "unknown request";
        }
    }
    r.credit = CREDIT;
    send_reply(sv, q, &r);
    free_sealed(&r);
    sync_batch_end(&sv->fetch); /* before the next write: the entries are the store's pages */
}

/* Everything waiting, after what was read ahead: up to queue_max requests
 * are served in order; any more are shed. The uploads among them are
 * taken in first, together, in one transaction and one flush to disk
 * (group commit): with 200 sites uploading at once that is one flush per
 * round, not one per upload. */
static void serve_waiting(struct server *sv)
{
    struct request *q = sv->q[sv->cur], extra;
    struct arena *ar = &sv->arena[sv->cur];
    size_t n = sv->n_ahead, decoded = sv->n_ahead;
    sv->n_ahead = 0; /* read_ahead fills the other pair now */
    while (n < sv->queue_max && read_request(sv, &q[n]))
        n++;
    while (n == sv->queue_max && read_request(sv, &extra)) {
        shed(sv, &extra);
        zmq_msg_close(&extra.id);
        zmq_msg_close(&extra.body);
    }
    for (size_t i = decoded; i < n; i++)
        decode_body(sv, &q[i], ar);
    for (size_t i = 0; i < n; i++)
        admit_request(sv, &q[i]);
    size_t n_ups = 0;
    struct sync_upload *ups = n ? take_uploads(sv, q, n, &n_ups) : NULL;
    for (size_t i = 0; i < n; i++) {
        serve_message(sv, &q[i]);
        zmq_msg_close(&q[i].id);
        zmq_msg_close(&q[i].body);
        sync_upload_clear(&q[i].job.up, 1); /* checked ahead, not taken in */
    }
    arena_reset(ar); /* every request of the round */
    sync_upload_clear(ups, n_ups);
    free(ups);
    sv->cur = !sv->cur; /* the next round starts with what was read ahead */
}

/* At the end: the requests read ahead go unanswered (the clients send
 * them again), their checks finished first. */
static void drop_ahead(struct server *sv)
{
    struct request *a = sv->q[sv->cur];
    for (size_t i = 0; a && i < sv->n_ahead; i++) {
        precheck_finish(sv->pc, &a[i].job, 0);
        sync_upload_clear(&a[i].job.up, 1);
        zmq_msg_close(&a[i].id);
        zmq_msg_close(&a[i].body);
    }
    sv->n_ahead = 0;
}

/* ------------------------------------------------------------ run */

/* A tcp:// endpoint's port is '*' or 0 to 65535: ZeroMQ takes 99999 and
 * listens on 99999 - 65536 instead. */
static int check_bind(const char *bind)
{
    const char *colon = strncmp(bind, "tcp://", 6) == 0 ? strrchr(bind + 6, ':') : NULL;
    if (!colon)
        return 0; /* ZeroMQ says what else is wrong */
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (strcmp(colon + 1, "*") == 0 ||
        (colon[1] >= '0' && colon[1] <= '9' && !*end && !errno && port <= 65535))
        return 0;
    return scsms_fail(SCSMS_EINVAL, "--bind '%.64s': the port must be 1 to 65535, or 0 or '*' "
                      "for any free one", bind);
}

/* Watch the router's handshakes that fail before ZAP is asked: a client
 * holding another server key (its CURVE hello does not open with ours),
 * or one not speaking CURVE. Only for the log: without it such a client
 * retried unseen. A failure to watch is logged, not fatal. */
static void watch_handshakes(struct server *sv, void *ctx)
{
    if (netmon_open(ctx, sv->router, "inproc://scsms-server-handshakes",
                    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                    &sv->monitor) != 0)
        fprintf(stderr, "scsms-server: warning: failed handshakes will not be logged: %s\n",
                scsms_errmsg());
}

/* One event of the monitor (zmq_socket_monitor(3): a 16-bit event and a
 * 32-bit value in native order, then the endpoint), logged in a line: at
 * most one a minute, with the count of those not logged since, as a
 * misconfigured agent retries for as long as it runs. */
static void log_handshake(struct server *sv)
{
    uint16_t event;
    uint32_t detail;
    char where[128];
    if (netmon_read(sv->monitor, &event, &detail, where, sizeof where) != 0)
        return;
    int64_t now = isotime_monotonic_ms();
    if (sv->handshake_logged && now - sv->handshake_logged < 60000) {
        sv->handshakes_unlogged++;
        return;
    }
    char more[64] = "";
    if (sv->handshakes_unlogged)
        snprintf(more, sizeof more, " (%lu more since the last such line)",
                 sv->handshakes_unlogged);
    fprintf(stderr, "scsms-server: warning: a handshake on %s failed (ZeroMQ protocol error "
            "0x%x): a client holding another server key, or not speaking CURVE%s\n", where,
            (unsigned)detail, more);
    sv->handshake_logged = now;
    sv->handshakes_unlogged = 0;
}

static int setup(struct server *sv, void *ctx, const char *bind, const char *secret)
{
    int one = 1, hb_ivl = 1000, hb_timeout = 5000, linger = 0;
    int64_t maxmsg = (int64_t)SYNC_MESSAGE_MAX; /* what sync_batch_read's batches fit in */
    sv->zap = zmq_socket(ctx, ZMQ_REP);
    if (!sv->zap || zmq_bind(sv->zap, "inproc://zeromq.zap.01") != 0)
        return scsms_fail(SCSMS_EIO, "cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
    sv->router = zmq_socket(ctx, ZMQ_ROUTER);
    if (!sv->router || zmq_setsockopt(sv->router, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(sv->router, ZMQ_CURVE_SECRETKEY, secret, IDENTITY_Z85_LEN) ||
        zmq_setsockopt(sv->router, ZMQ_ZAP_DOMAIN, "scsms", 5) ||
        zmq_setsockopt(sv->router, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) ||
        zmq_setsockopt(sv->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) ||
        zmq_setsockopt(sv->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
        zmq_setsockopt(sv->router, ZMQ_LINGER, &linger, sizeof linger))
        return scsms_fail(SCSMS_EIO, "cannot set up the sync socket: %s",
                          zmq_strerror(zmq_errno()));
    watch_handshakes(sv, ctx);
    if (zmq_bind(sv->router, bind) != 0)
        /* ZeroMQ takes a host it cannot resolve for a network interface's
         * name, and says there is no such device */
        return scsms_fail(SCSMS_EIO, "cannot listen on '%s': %s", bind,
                          zmq_errno() == ENODEV
                              ? "no such address or network interface on this machine"
                              : zmq_strerror(zmq_errno()));
    char ep[256];
    size_t eplen = sizeof ep;
    zmq_getsockopt(sv->router, ZMQ_LAST_ENDPOINT, ep, &eplen);
    printf("listening on %s\n", ep);
    fflush(stdout);
    return 0;
}

#define RUN_USAGE                                                                        \
    "scsms-server run --bind tcp://ADDRESS:PORT [--queue N] [--verbose] --store DIR"

enum { OPT_BIND = CLI_OPT_FIRST_OWN, OPT_VERBOSE, OPT_QUEUE };

int srv_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bind", required_argument, NULL, OPT_BIND},
        {"verbose", no_argument, NULL, OPT_VERBOSE},
        {"queue", required_argument, NULL, OPT_QUEUE},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    static struct server sv; /* large: the seen table */
    sv.queue_max = 256;
    const char *bind = NULL;
    int opt, rc;
    while ((opt = cli_getopt(argc, argv, "hv", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == OPT_BIND)
            bind = optarg;
        else if (opt == OPT_VERBOSE || opt == 'v')
            sv.verbose = 1;
        else if (opt == OPT_QUEUE) {
            unsigned long q;
            if ((rc = cli_parse_range("--queue", optarg, 1, 100000, "requests", &q)))
                return rc;
            sv.queue_max = q;
        }
        else if (opt == 'h') {
            printf("usage: %s\n", RUN_USAGE);
            return CLI_OK;
        } else
            return cli_usage(RUN_USAGE);
    }
    if ((rc = cli_positionals(argc, argv, NULL, RUN_USAGE)))
        return rc;
    if (!bind)
        return cli_usage_because(RUN_USAGE, "missing --bind ENDPOINT");
    if ((rc = check_bind(bind))) {
        cli_error(rc);
        return CLI_USAGE;
    }
    if ((rc = cli_common_finish(&c)))
        return rc;
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    if ((rc = identity_curve_load(c.store_dir, pub, sec)))
        return cli_error(rc);
    if ((rc = cli_open(&c, &sv.s)))
        return rc;
    /* one server a store: a second `run` on it would take in the same
     * sites' uploads beside the first (LMDB keeps the store whole, but
     * each would answer with heads the other moved) */
    int serving;
    if ((rc = cli_lock_store(c.store_dir, "serve.lock", "another scsms-server is serving",
                             &serving))) {
        store_close(&sv.s);
        return cli_error(rc);
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    sv.q[0] = calloc(sv.queue_max, sizeof *sv.q[0]);
    sv.q[1] = calloc(sv.queue_max, sizeof *sv.q[1]);
    if (!sv.q[0] || !sv.q[1]) {
        free(sv.q[0]);
        free(sv.q[1]);
        store_close(&sv.s);
        close(serving);
        return cli_error(scsms_fail(SCSMS_ENOMEM, "out of memory"));
    }
    /* without the thread, every upload is checked on this one, as before */
    if (precheck_start(store_role(sv.s), &sv.pc) != 0)
        fprintf(stderr, "scsms-server: warning: %s; checking uploads on one thread\n",
                scsms_errmsg());
    /* uploads of the same size come and go: their memory is reused (mem.h) */
    mem_keep_freed(SYNC_MESSAGE_MAX);
    void *ctx = zmq_ctx_new();
    rc = ctx ? setup(&sv, ctx, bind, sec) : scsms_fail(SCSMS_EIO, "cannot start ZeroMQ");
    memset(sec, 0, sizeof sec);
    int worked = 0; /* since memory was last given back */
    while (rc == 0 && !stopping) {
        zmq_pollitem_t items[] = {{sv.zap, 0, ZMQ_POLLIN, 0},
                                  {sv.router, 0, ZMQ_POLLIN, 0},
                                  {sv.monitor, 0, ZMQ_POLLIN, 0}};
        /* requests read ahead are served at once */
        int ready = zmq_poll(items, sv.monitor ? 3 : 2, sv.n_ahead ? 0 : SEEN_FLUSH_MS);
        if (ready < 0)
            continue; /* EINTR: a signal; the loop condition decides */
        if (ready == 0 && !sv.n_ahead && worked) {
            mem_trim_heap(); /* quiet for a while: what a burst kept goes back */
            worked = 0;
        }
        if (items[0].revents & ZMQ_POLLIN)
            serve_zap(&sv);
        if (sv.monitor && (items[2].revents & ZMQ_POLLIN))
            log_handshake(&sv);
        if ((items[1].revents & ZMQ_POLLIN) || sv.n_ahead) {
            serve_waiting(&sv);
            worked = 1;
        }
        flush_seen(&sv, 0);
    }
    drop_ahead(&sv);
    precheck_stop(&sv.pc);
    if (sv.s)
        flush_seen(&sv, 1);
    if (sv.monitor)
        zmq_close(sv.monitor);
    if (sv.router)
        zmq_close(sv.router);
    if (sv.zap)
        zmq_close(sv.zap);
    if (ctx)
        zmq_ctx_term(ctx);
    sync_batch_free(&sv.fetch);
    store_close(&sv.s);
    arena_free(&sv.arena[0]);
    arena_free(&sv.arena[1]);
    free(sv.q[0]);
    free(sv.q[1]);
    close(serving);
    if (rc)
        return cli_error(rc);
    fprintf(stderr, "scsms-server: info: stopped\n");
    return CLI_OK;
}

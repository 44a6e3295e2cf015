/* cmd_run.c -- scsms-agent run: sync with head office.
 *
 * A DEALER socket, CURVE client with the server's public key pinned: a
 * server without that key cannot complete the handshake, so nothing is
 * sent to it. Each round: Hello (where do I stand with you), then upload
 * the log from the server's head on, in batches each under a checkpoint
 * signed for its last entry, then fetch head office's records after the
 * copy held here. The log is the outbox: nothing leaves it, and after any
 * failure the next round starts again from the server's head.
 */
#include "cmd.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "identity.h"
#include "isotime.h"
#include "mem.h"
#include "netmon.h"
#include "rules.h"
#include "seal.h"
#include "sync.h"
#include "text.h"

#define RUN_USAGE                                                                            \
    "scsms-agent run [--server tcp://HOST:PORT --server-key Z85] [--once] [--batch N] "        \
    "[--timeout SECONDS] [--progress] --store DIR"

enum { OPT_SERVER = CLI_OPT_FIRST_OWN, OPT_SERVER_KEY, OPT_ONCE, OPT_BATCH, OPT_TIMEOUT,
       OPT_PROGRESS };

static volatile sig_atomic_t stopping, reload_asked;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* SIGHUP (systemctl reload): scsms.ini is read again between rounds. */
static void on_hangup(int sig)
{
    (void)sig;
    reload_asked = 1;
}

struct link {
    store_t *s;
    void *ctx, *sock;
    void *monitor;  /* sock's handshakes that head office refused */
    unsigned n_monitors; /* each socket's monitor has its own endpoint */
    const char *endpoint, *server_key; /* as given, or copies of the store's settings: */
    char cfg_endpoint[CONFIG_ENDPOINT_MAX + 1], cfg_key[CONFIG_KEY_LEN + 1];
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    uint64_t next_id;
    int timeout_ms;
    size_t batch;
    char hq[RECORD_MAX_ID + 1]; /* head office as pinned here; empty: not yet */
    uint64_t sent, received;
    uint64_t acked; /* this site's head as the server last confirmed it */
    uint32_t credit; /* uploads the server lets this agent have in flight */
    int heard;      /* the server told this site's head in this round */
    int progress;   /* show how an upload goes (standard error is a terminal) */
    struct sync_batch out; /* the batch being sent, kept for its memory */
    struct sync_outbox outbox; /* how far this round's entries are checked */
    uint8_t *buf;   /* a packed request, kept: a fresh one per upload took */
    size_t cap;     /* a page fault per 4 KiB of it */
    int once;       /* run --once: give up rather than wait for ever */
    int64_t retry_since; /* ms: first "retry later" since the last progress; 0: none */
    int64_t retry_said;  /* ms: when that was last logged; 0: not in this spell */
    int64_t clock_offset; /* this clock minus head office's, s, at the last Hello */
    int settings_server; /* endpoint and key are [sync]'s, not --server's */
    int64_t clock_said;   /* ms: when it was last said to be wrong; 0: not */
    int64_t clock_said_off; /* by how much it was then */
};

/* Watch sock for a handshake head office refused (its ZAP handler said
 * 400: this site's key is not enrolled, or revoked): without it, such a
 * site hears nothing at all and can only guess why. */
static int watch_handshakes(struct link *l)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://scsms-agent-monitor-%u", l->n_monitors++);
    return netmon_open(l->ctx, l->sock, ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, &l->monitor);
}

static void close_sockets(struct link *l)
{
    if (l->monitor)
        zmq_close(l->monitor);
    if (l->sock)
        zmq_close(l->sock);
    l->monitor = l->sock = NULL;
}

static int connect_server(struct link *l)
{
    int hb_ivl = 1000, hb_timeout = 5000, linger = 0, ivl = 100 + rand() % 200, ivl_max = 5000;
    close_sockets(l);
    l->sock = zmq_socket(l->ctx, ZMQ_DEALER);
    if (!l->sock || zmq_setsockopt(l->sock, ZMQ_CURVE_SERVERKEY, l->server_key, IDENTITY_Z85_LEN) ||
        zmq_setsockopt(l->sock, ZMQ_CURVE_PUBLICKEY, l->pub, IDENTITY_Z85_LEN) ||
        zmq_setsockopt(l->sock, ZMQ_CURVE_SECRETKEY, l->sec, IDENTITY_Z85_LEN) ||
        zmq_setsockopt(l->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) ||
        zmq_setsockopt(l->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) ||
        zmq_setsockopt(l->sock, ZMQ_LINGER, &linger, sizeof linger) ||
        /* reconnect with jitter, backing off to 5 s, so a thousand sites do
         * not all come back at the same moment after an outage */
        zmq_setsockopt(l->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(l->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max))
        return scsms_fail(SCSMS_EIO, "cannot set up the sync socket: %s",
                          zmq_strerror(zmq_errno()));
    int rc = watch_handshakes(l);
    if (rc)
        return rc;
    if (zmq_connect(l->sock, l->endpoint) != 0)
        return scsms_fail(SCSMS_EINVAL, "cannot connect to '%s': %s", l->endpoint,
                          zmq_strerror(zmq_errno()));
    return 0;
}

/* A busy server asked to come back: a jittered pause of 0.2 to 1 s, so
 * that the sites it turned away do not all return at once. */
static void retry_pause(void)
{
    usleep((useconds_t)(200000 + rand() % 800000));
}

#define ROUND_MS 2000        /* between rounds while the link works */
#define BACKOFF_MAX_MS 300000 /* and at most this while it fails */

/* The pause after another failed round: doubled, with a quarter either
 * way at random so that sites cut off together do not all come back at
 * the same moment, and at most five minutes. */
static int next_pause(int pause_ms)
{
    int base = pause_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pause_ms * 2;
    int jittered = base - base / 4 + rand() % (base / 2 + 1);
    return jittered > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : jittered;
}

#define RETRY_SAY_MS 60000 /* a server that keeps asking is logged this often */

/* Head office answered "retry later" (busy, or it cannot store uploads
 * now: its disk is full, say). Pause and return 0 to ask again; but say
 * so, once a minute while it lasts, with head office's reason, and with
 * --once give up (SCSMS_EIO) once it has lasted the link's timeout: a
 * script must not wait for ever on a server that cannot take its work. */
static int retry_later(struct link *l, const Scsms__SyncReply *r)
{
    int64_t now = isotime_monotonic_ms();
    char why[301]; /* head office's words, shown as one line of text */
    text_copy(why, sizeof why, r->message && r->message[0] ? r->message : "server busy");
    text_printable(why);
    if (!l->retry_since)
        l->retry_since = now;
    if (l->once && now - l->retry_since >= l->timeout_ms)
        return scsms_fail(SCSMS_EIO, "head office asked to retry later for %lld s: %.300s; "
                          "nothing is lost, run again later",
                          (long long)((now - l->retry_since) / 1000), why);
    if (now - l->retry_since >= 5000 && (!l->retry_said || now - l->retry_said >= RETRY_SAY_MS)) {
        fprintf(stderr, "scsms-agent: warning: head office asks to retry later: %.300s; "
                "retrying\n", why);
        l->retry_said = now;
    }
    retry_pause();
    return 0;
}

/* Send req with the next request id. */
static int send_request(struct link *l, Scsms__SyncRequest *req)
{
    req->request_id = ++l->next_id;
    size_t len = scsms__sync_request__get_packed_size(req);
    if (len > l->cap) {
        uint8_t *p = realloc(l->buf, len);
        if (!p)
            return scsms_fail(SCSMS_ENOMEM, "out of memory");
        l->buf = p;
        l->cap = len;
    }
    scsms__sync_request__pack(req, l->buf);
    int sent = zmq_send(l->sock, l->buf, len, 0);
    if (sent < 0)
        return scsms_fail(SCSMS_EIO, "cannot send to %s: %s", l->endpoint,
                          zmq_strerror(zmq_errno()));
    return 0;
}

/* An event of the monitor: a handshake head office refused. */
static int handshake_refused(struct link *l)
{
    uint16_t event = 0;
    uint32_t status = 0; /* the ZAP status code */
    if (netmon_read(l->monitor, &event, &status, NULL, 0) != 0 ||
        event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || status != 400)
        return 0; /* 300, 500: head office could not decide now; keep trying */
    return scsms_fail(SCSMS_EPERM, "head office at %s refused this site's key at the handshake: "
                      "it is not enrolled there, or has been revoked", l->endpoint);
}

/* The next reply to a request with id at least min_id (earlier ones are
 * late answers to requests given up on). SCSMS_EIO on timeout, SCSMS_EPERM
 * when head office refuses this site's key. Caller frees. */
static int wait_reply(struct link *l, uint64_t min_id, Scsms__SyncReply **out)
{
    const int64_t t0 = isotime_monotonic_ms();
    for (;;) {
        long waited = (long)(isotime_monotonic_ms() - t0);
        if (waited >= l->timeout_ms || stopping)
            /* a refused enrolment and an oversized batch are no longer
             * among the causes: the one is reported, the other not sent */
            return scsms_fail(SCSMS_EIO, "no answer from %s within %d s: is head office's server "
                              "running there, with the key given?", l->endpoint,
                              l->timeout_ms / 1000);
        zmq_pollitem_t it[] = {{l->sock, 0, ZMQ_POLLIN, 0}, {l->monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, 2, l->timeout_ms - waited) <= 0)
            continue;
        if ((it[1].revents & ZMQ_POLLIN) && handshake_refused(l))
            return SCSMS_EPERM;
        if (!(it[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, l->sock, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        Scsms__SyncReply *r = scsms__sync_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        if (!r)
            return scsms_fail(SCSMS_ECORRUPT, "malformed reply from %s", l->endpoint);
        if (r->request_id < min_id) {
            scsms__sync_reply__free_unpacked(r, NULL);
            continue;
        }
        if (r->credit >= 1) /* the server's grant, within reason */
            l->credit = r->credit < 16 ? r->credit : 16;
        *out = r;
        return 0;
    }
}

/* Send req and wait for its reply. */
static int call(struct link *l, Scsms__SyncRequest *req, Scsms__SyncReply **out)
{
    int rc = send_request(l, req);
    return rc ? rc : wait_reply(l, req->request_id, out);
}

/* The identities of role hq in a store: a site's holds one, head office
 * as pinned at its first sync. */
struct pinned {
    char id[RECORD_MAX_ID + 1], other[RECORD_MAX_ID + 1];
    char curve_key[IDENTITY_Z85_LEN + 1];
    int n;
};

static int find_hq(const Scsms__Identity *id, void *ctx)
{
    struct pinned *p = ctx;
    if (id->role != SCSMS__IDENTITY__ROLE__HQ)
        return 0;
    if (p->n++ == 0) {
        snprintf(p->id, sizeof p->id, "%s", id->id);
        snprintf(p->curve_key, sizeof p->curve_key, "%s", id->curve_key);
    } else {
        snprintf(p->other, sizeof p->other, "%s", id->id);
    }
    return 0;
}

/* Head office as pinned here (its id into l->hq), before anything is
 * sent: once pinned, the server key given must be the one pinned with it,
 * or this site would hand its log to whoever holds another key. */
static int load_pin(struct link *l)
{
    struct pinned p = {0};
    int rc = store_identity_list(l->s, find_hq, &p);
    if (rc)
        return rc;
    if (p.n > 1)
        return scsms_fail(SCSMS_ETAMPER, "two head offices are pinned here, '%.64s' and '%.64s': "
                          "a site syncs with one; a person must look", p.id, p.other);
    snprintf(l->hq, sizeof l->hq, "%s", p.id);
    if (p.n && strcmp(p.curve_key, l->server_key) != 0)
        return scsms_fail(SCSMS_ETAMPER, "server key '%.40s' is not that of head office %.64s, "
                          "pinned here at the first sync ('%.40s'): nothing sent", l->server_key,
                          p.id, p.curve_key);
    return 0;
}

/* Head office's identity as the server names it: the one pinned here, or
 * pinned now (with the server key it was reached by) the first time. */
static int pin_hq(struct link *l, const Scsms__SyncReply *r)
{
    Scsms__Identity *known = NULL;
    if (!r->hq_id[0] || r->hq_sign_key.len != CRYPTO_PUB_LEN)
        return scsms_fail(SCSMS_ECORRUPT, "the server did not say who head office is");
    if (l->hq[0]) {
        if (strcmp(r->hq_id, l->hq) != 0)
            return scsms_fail(SCSMS_ETAMPER, "the server at %s says head office is '%.64s', but "
                              "'%.64s' is pinned here: nothing sent", l->endpoint, r->hq_id, l->hq);
        int rc = store_identity_get(l->s, l->hq, &known);
        if (rc)
            return rc;
        int same = known->sign_key.len == CRYPTO_PUB_LEN &&
                   memcmp(known->sign_key.data, r->hq_sign_key.data, CRYPTO_PUB_LEN) == 0;
        scsms__identity__free_unpacked(known, NULL);
        return same ? 0 : scsms_fail(SCSMS_ETAMPER, "head office %s now signs with another key "
                                     "than the one pinned here", r->hq_id);
    }
    Scsms__Identity id = SCSMS__IDENTITY__INIT;
    id.id = r->hq_id;
    id.role = SCSMS__IDENTITY__ROLE__HQ;
    id.curve_key = (char *)l->server_key;
    id.sign_key = r->hq_sign_key;
    int rc = store_identity_put(l->s, &id);
    if (rc == 0)
        snprintf(l->hq, sizeof l->hq, "%s", r->hq_id);
    return rc;
}

struct hash_of {
    uint8_t h[CRYPTO_HASH_LEN];
    int found;
};

static int hash_entry(const uint8_t *b, size_t len, uint64_t seq, void *ctx)
{
    struct hash_of *h = ctx;
    (void)seq;
    crypto_sha256(b, len, h->h);
    h->found = 1;
    return 0;
}

/* What the server holds of this log must be this log. */
static int check_server_head(struct link *l, const Scsms__SyncReply *r, uint64_t my_head)
{
    struct hash_of h = {0};
    if (r->head_seq == 0)
        return 0;
    if (r->head_seq > my_head)
        return scsms_fail(SCSMS_ETAMPER, "the server holds %llu entries of this site's log, this "
                          "store %llu: restored from an old backup?",
                          (unsigned long long)r->head_seq, (unsigned long long)my_head);
    int rc = sync_read_log(l->s, store_owner(l->s), r->head_seq, 1, hash_entry, &h);
    if (rc)
        return rc;
    if (!h.found || r->head_hash.len != CRYPTO_HASH_LEN ||
        memcmp(h.h, r->head_hash.data, CRYPTO_HASH_LEN) != 0)
        return scsms_fail(SCSMS_ETAMPER, "the server's copy of entry %llu differs from this "
                          "store's: the histories have forked", (unsigned long long)r->head_seq);
    return 0;
}

static int refused(const Scsms__SyncReply *r)
{
    return scsms_fail(SCSMS_EPERM, "the server refused: %s", r->message[0] ? r->message : "no reason");
}

/* Build and send the upload of entries from `next` on; its last sequence
 * in *last. */
static int send_batch(struct link *l, uint64_t next, uint64_t head, uint64_t *last)
{
    Scsms__Upload up = SCSMS__UPLOAD__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    struct sync_batch *b = &l->out;
    /* no further than the round's head: what was written since goes next
     * round, once checked; and only what this store signed when it wrote
     * it (a refusal of the rest comes with the next upload) */
    uint64_t end = head - next + 1 < l->batch ? head : next + l->batch - 1;
    int rc = sync_outbox_ready(&l->outbox, next, &end);
    if (rc == 0) /* and signed only if what it signs is what was checked */
        rc = sync_batch_read_checked(l->s, next, (size_t)(end - next + 1), b, &l->outbox);
    if (rc == 0 && b->n == 0)
        rc = scsms_fail(SCSMS_ECORRUPT, "the log has no entry %llu below its head; run verify",
                        (unsigned long long)next);
    if (rc == 0) {
        up.entries = b->v;
        up.n_entries = b->n;
        up.checkpoint.data = b->cp;
        up.checkpoint.len = b->cp_len;
        up.backlog = head - b->last;
        req.msg_case = SCSMS__SYNC_REQUEST__MSG_UPLOAD;
        req.upload = &up;
        rc = send_request(l, &req);
        *last = b->last;
    }
    sync_batch_end(b); /* before this thread writes, and the map may move */
    return rc;
}

/* On a terminal (or asked), for a backlog worth watching: the entries
 * acknowledged so far this round, on one line. */
#define PROGRESS_MIN 10000

static void show_progress(uint64_t done, uint64_t total)
{
    fprintf(stderr, "\rsending: %llu of %llu entries (%llu%%)", (unsigned long long)done,
            (unsigned long long)total, (unsigned long long)(100 * done / total));
}

/* Send the log from the server's head to this store's head, with as many
 * uploads in flight as the server grants (credit-based flow control): the
 * next batch is read and signed while the server writes the last. A gap
 * or a "retry later" drops what is in flight and resumes from the head the
 * server reports. */
static int upload(struct link *l, uint64_t next, uint64_t head)
{
    uint64_t min_id = l->next_id + 1; /* replies to older requests are stale */
    const uint64_t start = next - 1;
    const int shown = l->progress && head - start >= PROGRESS_MIN;
    size_t in_flight = 0;
    int rc = 0, refused_next = 0;
    char why[512];
    while (rc == 0 && ((!refused_next && next <= head) || in_flight) && !stopping) {
        while (rc == 0 && !refused_next && next <= head &&
               in_flight < (l->credit ? l->credit : 1)) {
            uint64_t last = next;
            if ((rc = send_batch(l, next, head, &last)) == 0) {
                next = last + 1;
                in_flight++;
            } else if (rc == SCSMS_ETAMPER && in_flight) {
                /* the check stopped the next upload: what went before it
                 * is this site's own, and is taken in before the refusal
                 * is said, so that head office's head is where it stops */
                refused_next = rc;
                snprintf(why, sizeof why, "%s", scsms_errmsg());
                rc = 0;
            }
        }
        if (rc || (refused_next && !in_flight))
            break;
        Scsms__SyncReply *r = NULL;
        if ((rc = wait_reply(l, min_id, &r)))
            break;
        if (r->code != SCSMS__SYNC_REPLY__CODE__REFUSED && r->head_seq > head) {
            /* not a head this round could have made: never taken as
             * acknowledged (sync.state), nor as where to go on from */
            rc = scsms_fail(SCSMS_ETAMPER, "the server says it holds entries up to %llu of this "
                            "site's log, which ends at %llu: nothing more sent",
                            (unsigned long long)r->head_seq, (unsigned long long)head);
        } else if (r->code == SCSMS__SYNC_REPLY__CODE__OK) {
            in_flight--;
            l->acked = r->head_seq;
            l->retry_since = 0;
            if (shown)
                show_progress(l->acked - start, head - start);
        } else if (r->code == SCSMS__SYNC_REPLY__CODE__GAP ||
                   r->code == SCSMS__SYNC_REPLY__CODE__RETRY_LATER) {
            if (r->code == SCSMS__SYNC_REPLY__CODE__RETRY_LATER && !refused_next)
                rc = retry_later(l, r);
            next = r->head_seq + 1;
            l->acked = r->head_seq;
            in_flight = 0;
            min_id = l->next_id + 1;
        } else {
            rc = refused(r);
        }
        scsms__sync_reply__free_unpacked(r, NULL);
    }
    if (refused_next) /* whatever else the wait for the last replies met */
        rc = scsms_fail(refused_next, "%s", why);
    if (shown) /* the line goes once the upload ends */
        fputs(isatty(STDERR_FILENO) ? "\r\033[K" : "\n", stderr);
    return rc;
}

/* One of head office's sealed records for this partner: its own, signed
 * with the key pinned here, and about a declaration this store wrote, byte
 * for byte. */
static int check_review(struct link *l, const uint8_t *hq_key, const Scsms__Record *rec,
                        const ProtobufCBinaryData *b)
{
    const char *me = store_owner(l->s);
    uint8_t *decl = NULL, h[CRYPTO_HASH_LEN];
    size_t dlen;
    if (strcmp(rec->owner, l->hq) != 0 || rec->body_case != SCSMS__RECORD__BODY_CREDIBILITY_REVIEW)
        return scsms_fail(SCSMS_ETAMPER, "the server sent '%.128s' of %.128s: only head office's "
                          "credibility reviews come to a partner", rec->id, rec->owner);
    const Scsms__CredibilityReview *cr = rec->credibility_review;
    if (strcmp(cr->partner_id, me) != 0)
        return scsms_fail(SCSMS_ETAMPER, "the server sent review %.128s of partner %.128s", rec->id,
                          cr->partner_id);
    int rc = seal_check(rec, b->data, b->len, hq_key);
    if (rc)
        return rc;
    /* what head office's own store checked when it wrote it, the status
     * repeating the sealed decision among it */
    if ((rc = rules_check_received(rec)))
        return scsms_fail_context(SCSMS_ETAMPER, "review %.128s", rec->id);
    if ((rc = store_get_bytes(l->s, cr->declaration_id, cr->declaration_version, &decl, &dlen))) {
        char why[256]; /* scsms_fail() writes where scsms_errmsg() points */
        snprintf(why, sizeof why, "%s", scsms_errmsg());
        return rc == SCSMS_ENOMEM || rc == SCSMS_EIO
                   ? rc
                   : scsms_fail(SCSMS_ETAMPER, "review %.128s of declaration %.128s version %u: "
                                "that version is not in this store (%s)", rec->id,
                                cr->declaration_id, cr->declaration_version, why);
    }
    crypto_sha256(decl, dlen, h);
    free(decl);
    if (cr->declaration_sha256.len != CRYPTO_HASH_LEN ||
        memcmp(h, cr->declaration_sha256.data, CRYPTO_HASH_LEN) != 0)
        return scsms_fail(SCSMS_ETAMPER, "review %.128s is of other bytes than declaration %.128s "
                          "version %u as written here", rec->id, cr->declaration_id,
                          cr->declaration_version);
    return 0;
}

/* A partner does not read head office's log: it takes the sealed records
 * about itself (credibility reviews), each checked on its own. */
static int fetch_sealed(struct link *l)
{
    Scsms__Fetch fe = SCSMS__FETCH__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    Scsms__SyncReply *r = NULL;
    Scsms__Identity *hq = NULL;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_FETCH;
    req.fetch = &fe;
    int rc = store_identity_get(l->s, l->hq, &hq);
    if (rc == 0 && (rc = call(l, &req, &r)) == 0 && r->code != SCSMS__SYNC_REPLY__CODE__OK)
        rc = r->code == SCSMS__SYNC_REPLY__CODE__REFUSED
                 ? refused(r)
                 : scsms_fail(SCSMS_EIO, "the server is busy: reviews are fetched next round");
    /* a review that does not check out is refused alone, and said so; the
     * others are kept, and the next round asks again */
    for (size_t i = 0; rc == 0 && i < r->n_sealed; i++) {
        Scsms__Record *rec = NULL;
        int added = 0, bad = record_unpack(r->sealed[i].data, r->sealed[i].len, &rec);
        if (!bad)
            bad = check_review(l, hq->sign_key.data, rec, &r->sealed[i]);
        if (bad == SCSMS_ENOMEM || bad == SCSMS_EIO)
            rc = bad;
        else if (bad)
            fprintf(stderr, "scsms-agent: warning: review refused: %s\n", scsms_errmsg());
        else if ((rc = store_received_put(l->s, rec, r->sealed[i].data, r->sealed[i].len,
                                          &added)) == 0)
            l->received += (uint64_t)added;
        record_free(rec);
    }
    if (r)
        scsms__sync_reply__free_unpacked(r, NULL);
    if (hq)
        scsms__identity__free_unpacked(hq, NULL);
    return rc ? scsms_fail_context(rc, "head office's reviews") : 0;
}

/* Take head office's records after the copy held here. */
static int fetch(struct link *l)
{
    if (store_role(l->s) == STORE_ROLE_PARTNER)
        return fetch_sealed(l);
    for (;;) {
        uint64_t have;
        uint8_t h[CRYPTO_HASH_LEN];
        Scsms__Fetch fe = SCSMS__FETCH__INIT;
        Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
        Scsms__SyncReply *r = NULL;
        struct sync_result res;
        int rc = sync_head(l->s, l->hq, &have, h);
        if (rc)
            return rc;
        fe.after_seq = have;
        fe.max = 1000;
        req.msg_case = SCSMS__SYNC_REQUEST__MSG_FETCH;
        req.fetch = &fe;
        if ((rc = call(l, &req, &r)))
            return rc;
        if (r->code == SCSMS__SYNC_REPLY__CODE__RETRY_LATER) {
            rc = stopping ? 0 : retry_later(l, r);
            scsms__sync_reply__free_unpacked(r, NULL);
            if (stopping || rc)
                return rc;
            continue;
        }
        l->retry_since = 0;
        if (r->code != SCSMS__SYNC_REPLY__CODE__OK || r->n_entries == 0) {
            rc = r->code == SCSMS__SYNC_REPLY__CODE__REFUSED ? refused(r) : 0;
            scsms__sync_reply__free_unpacked(r, NULL);
            return rc;
        }
        rc = sync_ingest(l->s, l->hq, r->entries, r->n_entries, r->checkpoint.data,
                         r->checkpoint.len, NULL, &res);
        l->received += res.applied;
        scsms__sync_reply__free_unpacked(r, NULL);
        if (rc)
            return scsms_fail_context(rc, "head-office records");
    }
}

/* sync.state's line on this clock, as status shows it. */
static void clock_line(int64_t offset, char *buf, size_t cap)
{
    char span[ISOTIME_SPAN_MAX + 1];
    isotime_format_span(offset, span);
    if (sync_clock_wrong(offset))
        snprintf(buf, cap, "clock %s %s head office's when last in touch: set it right (NTP)",
                 span, offset > 0 ? "ahead of" : "behind");
    else
        snprintf(buf, cap, "clock within %d min of head office's when last in touch",
                 SYNC_CLOCK_TOLERANCE_S / 60);
}

/* Record how the last round went in DIR/sync.state (written beside and
 * renamed, so 'status' never reads half a file). */
static void write_state(struct link *l, const char *dir, int rc, uint64_t acked)
{
    char path[4096], tmp[4200], now[ISOTIME_INSTANT_LEN + 1], last_ok[64] = "", clock[160] = "";
    unsigned long long old_acked = 0;
    snprintf(path, sizeof path, "%s/sync.state", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *old = fopen(path, "r");
    if (old) { /* keep the time of the last success across failures */
        char line[256];
        while (cli_state_line(old, line, sizeof line))
            if (!strncmp(line, "last_sync ", 10))
                snprintf(last_ok, sizeof last_ok, "%.*s", (int)strcspn(line + 10, "\n"), line + 10);
            else if (!strncmp(line, "clock ", 6))
                snprintf(clock, sizeof clock, "%.*s", (int)strcspn(line, "\n"), line);
            else
                sscanf(line, "acked_seq %llu", &old_acked);
        fclose(old);
    }
    isotime_format_instant(isotime_now(), now);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    /* a round that never heard the server learned nothing new */
    if (!l->heard)
        acked = old_acked;
    else if (l->clock_offset != SYNC_CLOCK_UNKNOWN)
        clock_line(l->clock_offset, clock, sizeof clock);
    fprintf(f, "server %s\nlast_attempt %s\nlast_sync %s\nacked_seq %llu\nresult %s\n",
            l->endpoint, now, rc == 0 ? now : (last_ok[0] ? last_ok : "never"),
            (unsigned long long)acked, rc == 0 ? "ok" : scsms_errmsg());
    if (clock[0])
        fprintf(f, "%s\n", clock);
    if (fclose(f) == 0)
        rename(tmp, path);
}

/* Give back what an upload held: an agent idles far more than it sends. */
static void link_release(struct link *l)
{
    sync_batch_free(&l->out);
    sync_outbox_end(&l->outbox);
    free(l->buf);
    l->buf = NULL;
    l->cap = 0;
}

/* How far this machine's clock is from head office's: the middle of the
 * Hello's round trip (sent, answered: this clock) against the time head
 * office put in its answer. Said once when it goes wrong, each hour while
 * it stays wrong or at once when it is wrong by another tolerance's worth,
 * and once when it is right again (sync_clock_right: a minute inside the
 * limit, so that a clock at the limit does not flap); run --once says it
 * each time, being one round. */
#define CLOCK_SAY_MS (3600 * 1000)

static void note_clock(struct link *l, int64_t sent, int64_t answered, int64_t hq_time)
{
    int64_t off = sync_clock_offset(sent + (answered - sent) / 2, hq_time);
    int64_t now = isotime_monotonic_ms();
    if (off == SYNC_CLOCK_UNKNOWN)
        return; /* a head office that does not say */
    char span[ISOTIME_SPAN_MAX + 1];
    isotime_format_span(off, span);
    l->clock_offset = off;
    if (sync_clock_wrong(off) && (!l->clock_said || now - l->clock_said >= CLOCK_SAY_MS ||
                                  sync_clock_wrong(off - l->clock_said_off))) {
        fprintf(stderr, "scsms-agent: warning: this machine's clock is %s %s head office's: "
                "records written here are dated by it; set it right (NTP)\n", span,
                off > 0 ? "ahead of" : "behind");
        l->clock_said = now;
        l->clock_said_off = off;
    } else if (l->clock_said && sync_clock_right(off)) {
        fprintf(stderr, "scsms-agent: info: this machine's clock agrees with head office's "
                "again (%s off)\n", span);
        l->clock_said = 0;
    }
}

/* Head office's own log never shrinks: if this site holds more of it
 * than head office says it has, head office was restored from an older
 * backup (and will number its next records as ones this site holds), or
 * is not the one this site knows. Said now, before anything is sent,
 * rather than as a broken link at the next fetch. */
static int check_hq_not_behind(struct link *l, const Scsms__SyncReply *r)
{
    uint64_t have;
    uint8_t h[CRYPTO_HASH_LEN];
    if (!l->hq[0] || store_role(l->s) == STORE_ROLE_PARTNER) /* a partner holds no copy */
        return 0;
    int rc = sync_head(l->s, l->hq, &have, h);
    if (rc || have <= r->hq_head_seq)
        return rc;
    return scsms_fail(SCSMS_ETAMPER, "head office's own log ends at entry %llu, but this site "
                      "holds it up to %llu: head office was restored from an older backup, or is "
                      "another; nothing sent: tell head office", (unsigned long long)r->hq_head_seq,
                      (unsigned long long)have);
}

/* The steps of one round: hello, upload, fetch. */
static int round_steps(struct link *l)
{
    Scsms__Hello hello = SCSMS__HELLO__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    Scsms__SyncReply *r = NULL;
    uint64_t head;
    uint8_t h[CRYPTO_HASH_LEN];
    int rc = sync_head(l->s, store_owner(l->s), &head, h);
    if (rc)
        return rc;
    /* as last acknowledged, by this process or (sync.state) an earlier one */
    hello.backlog = head > l->acked ? head - l->acked : 0;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_HELLO;
    req.hello = &hello;
    l->heard = 0;
    l->retry_since = l->retry_said = 0; /* each round's spell of "retry later" apart */
    int64_t sent;
    for (;;) { /* a busy server asks to come back: do, after a pause */
        hello.sent_at = sent = isotime_now();
        if ((rc = call(l, &req, &r)))
            return rc;
        if (r->code != SCSMS__SYNC_REPLY__CODE__RETRY_LATER || stopping)
            break;
        rc = retry_later(l, r);
        scsms__sync_reply__free_unpacked(r, NULL);
        if (rc)
            return rc;
    }
    l->retry_since = 0;
    if (r->code == SCSMS__SYNC_REPLY__CODE__REFUSED) { /* revoked, say: its head means nothing */
        rc = refused(r);
        scsms__sync_reply__free_unpacked(r, NULL);
        return rc;
    }
    l->heard = 1;
    note_clock(l, sent, isotime_now(), r->hq_time);
    if ((rc = pin_hq(l, r)) == 0)
        rc = check_server_head(l, r, head);
    if (rc == 0)
        rc = check_hq_not_behind(l, r);
    /* sending it again mends head office's copy, but somebody there must
     * know it was lost: said, not silent */
    if (rc == 0 && r->head_seq < l->acked)
        fprintf(stderr, "scsms-agent: warning: head office holds this site's log up to entry "
                "%llu only, though it acknowledged entry %llu before: it lost entries (restored "
                "from an older backup?); sending them again\n", (unsigned long long)r->head_seq,
                (unsigned long long)l->acked);
    uint64_t next = r->head_seq + 1, start = r->head_seq;
    l->acked = r->head_seq;
    scsms__sync_reply__free_unpacked(r, NULL);
    /* what is sent goes under this site's signature, given now: only
     * entries it signed when it wrote them, checked as the upload goes */
    sync_outbox_begin(&l->outbox, l->s, start);
    if (rc == 0)
        rc = upload(l, next, head);
    if (l->acked > start) /* what the server confirmed this round */
        l->sent += l->acked - start;
    if (rc == 0)
        rc = fetch(l);
    return rc;
}

static int round_trip(struct link *l)
{
    int rc = round_steps(l);
    link_release(l); /* whichever way the round ended */
    return rc;
}

/* Head office's endpoint and key: as given to run (both), else as
 * scsms.ini's [sync] says (set by init --server ... --server-key ...).
 * Returns 0 or the exit code, the error printed. */
static int server_of(struct link *l, const char *dir)
{
    const struct scsms_config *cfg = store_config(l->s);
    if (!l->endpoint && cfg->server[0])
        l->endpoint = strcpy(l->cfg_endpoint, cfg->server); /* outlives the store */
    if (!l->server_key && cfg->server_key[0])
        l->server_key = strcpy(l->cfg_key, cfg->server_key);
    l->settings_server = l->endpoint == l->cfg_endpoint;
    if (!l->endpoint || !l->server_key) {
        fprintf(stderr, "%s: no %s for head office: give --server tcp://HOST:PORT and "
                "--server-key, or set server and server_key in [sync] of %s/%s\n", cli_prog,
                l->endpoint ? "key" : "endpoint", dir, CONFIG_FILE);
        return CLI_USAGE;
    }
    /* what the settings give was checked when they were read: this is
     * what the command line gave, a usage error (exit 2) */
    int rc = config_check_endpoint(l->endpoint);
    if (rc == 0)
        rc = config_check_server_key(l->server_key, "--server-key");
    if (rc)
        cli_error(rc);
    return rc ? CLI_USAGE : 0;
}

/* SIGHUP: [sync] of dir/scsms.ini read again, and a new head office
 * endpoint or key taken for the next round. Settings that cannot be used,
 * or a key other than head office's pinned one, are refused in one line
 * and the daemon goes on as it was: a typo must not stop a site's sync.
 * 0, or what connecting to the new endpoint failed with. */
static int reload_settings(struct link *l, const char *dir)
{
    struct scsms_config cfg;
    char was_endpoint[sizeof l->cfg_endpoint], was_key[sizeof l->cfg_key];
    reload_asked = 0;
    if (!l->settings_server) {
        fprintf(stderr, "scsms-agent: info: SIGHUP: head office stays %s, as --server gave it\n",
                l->endpoint);
        return 0;
    }
    if (config_load(dir, &cfg) != 0) {
        fprintf(stderr, "scsms-agent: warning: settings not read again: %s; still syncing with "
                "%s\n", scsms_errmsg(), l->endpoint);
        return 0;
    }
    if (!cfg.server[0] || !cfg.server_key[0]) {
        fprintf(stderr, "scsms-agent: warning: settings not read again: %s/%s names no head "
                "office in [sync]; still syncing with %s\n", dir, CONFIG_FILE, l->endpoint);
        return 0;
    }
    if (!strcmp(cfg.server, l->endpoint) && !strcmp(cfg.server_key, l->server_key)) {
        fprintf(stderr, "scsms-agent: info: settings read again: head office unchanged (%s)\n",
                l->endpoint);
        return 0;
    }
    strcpy(was_endpoint, l->cfg_endpoint);
    strcpy(was_key, l->cfg_key);
    strcpy(l->cfg_endpoint, cfg.server);
    strcpy(l->cfg_key, cfg.server_key);
    if (load_pin(l) != 0) { /* another head office's key: not this site's to talk to */
        strcpy(l->cfg_endpoint, was_endpoint);
        strcpy(l->cfg_key, was_key);
        fprintf(stderr, "scsms-agent: warning: settings not taken: %s; still syncing with %s\n",
                scsms_errmsg(), l->endpoint);
        return 0;
    }
    int rc = connect_server(l);
    if (rc) { /* back to the one that was working */
        fprintf(stderr, "scsms-agent: warning: settings not taken: %s; still syncing with %s\n",
                scsms_errmsg(), was_endpoint);
        strcpy(l->cfg_endpoint, was_endpoint);
        strcpy(l->cfg_key, was_key);
        return connect_server(l);
    }
    fprintf(stderr, "scsms-agent: info: settings read again: head office is now %s (was %s)\n",
            l->endpoint, was_endpoint);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, OPT_SERVER},
        {"server-key", required_argument, NULL, OPT_SERVER_KEY},
        {"once", no_argument, NULL, OPT_ONCE},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    struct link l = {.timeout_ms = 10000, .batch = 1000, .progress = isatty(STDERR_FILENO),
                     .clock_offset = SYNC_CLOCK_UNKNOWN};
    int opt, rc;
    unsigned long n;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        switch (opt) {
        case OPT_SERVER: l.endpoint = optarg; break;
        case OPT_SERVER_KEY: l.server_key = optarg; break;
        case OPT_ONCE: l.once = 1; break;
        case OPT_BATCH:
            if ((rc = cli_parse_range("--batch", optarg, 1, 100000, "entries", &n)))
                return rc;
            l.batch = n;
            break;
        case OPT_TIMEOUT:
            if ((rc = cli_parse_range("--timeout", optarg, 1, 3600, "seconds", &n)))
                return rc;
            l.timeout_ms = (int)n * 1000;
            break;
        case OPT_PROGRESS: l.progress = 1; break; /* even when not on a terminal */
        case 'h': printf("usage: %s\n", RUN_USAGE); return CLI_OK;
        default: return cli_usage(RUN_USAGE);
        }
    }
    /* the endpoint and the key pinned for it come together, never one from
     * the command line and the other from the settings */
    if (optind != argc)
        return cli_usage_because(RUN_USAGE, "unexpected argument '%s'",
                                 text_quote(argv[optind], 32, &(struct text_quote){0}));
    if (!l.endpoint != !l.server_key)
        return cli_usage_because(RUN_USAGE, "%s needs %s: give both, or neither to use [sync] "
                                 "of %s", l.endpoint ? "--server" : "--server-key",
                                 l.endpoint ? "--server-key" : "--server", CONFIG_FILE);
    if ((rc = cli_common_finish(&c)))
        return rc;
    /* from here a stop is a flag the round reads: asked before the first
     * round begins, it is an interrupted run like one asked during it */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!l.once) /* a reload while it starts is read at its first pause */
        signal(SIGHUP, on_hangup);
    if ((rc = cli_open(&c, &l.s)))
        return rc;
    if ((rc = server_of(&l, c.store_dir))) {
        store_close(&l.s);
        return rc;
    }
    /* one sync a store: two would each send the whole backlog */
    int running;
    if ((rc = cli_lock_store(c.store_dir, "run.lock", "another scsms-agent run is syncing",
                             &running))) {
        store_close(&l.s);
        return cli_error(rc);
    }
    if ((rc = load_pin(&l)) == 0)
        rc = identity_curve_load(c.store_dir, l.pub, l.sec);
    if (rc) {
        store_close(&l.s);
        close(running);
        return cli_error(rc);
    }
    /* a new process's first Hello reports its backlog from this, not 0 */
    l.acked = cli_acked_seq(c.store_dir);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    signal(SIGPIPE, SIG_IGN); /* a daemon outlives whatever read its output */
    /* every upload's buffers reuse the last one's pages (mem.h) */
    mem_keep_freed(SYNC_BATCH_MAX_BYTES);
    l.ctx = zmq_ctx_new();
    rc = l.ctx ? connect_server(&l) : scsms_fail(SCSMS_EIO, "cannot start ZeroMQ");
    int pause_ms = ROUND_MS, rounds = 0; /* between rounds: longer while the link fails */
    while (rc == 0 && !stopping) {
        rc = round_trip(&l);
        rounds++;
        /* a signal ends the round where it was (the next run resumes); an
         * error other than the link's is kept, not taken for the stop */
        if (stopping && (rc == 0 || rc == SCSMS_EIO)) {
            write_state(&l, c.store_dir, scsms_fail(SCSMS_EIO, "interrupted"), l.acked);
            rc = 0;
            break;
        }
        write_state(&l, c.store_dir, rc, l.acked);
        if (l.once)
            break;
        mem_trim_idle(); /* idle until the next round */
        if (rc == SCSMS_EIO || rc == SCSMS_ECORRUPT) { /* the link, not the data: try again */
            pause_ms = next_pause(pause_ms);
            fprintf(stderr, "scsms-agent: warning: %s; retrying in %d s\n", scsms_errmsg(),
                    (pause_ms + 999) / 1000);
            rc = connect_server(&l);
        } else if (rc == 0 && pause_ms != ROUND_MS) { /* back after a failure: say so, once */
            fprintf(stderr, "scsms-agent: info: in touch with head office at %s again; %llu "
                    "entries sent since start\n", l.endpoint, (unsigned long long)l.sent);
            pause_ms = ROUND_MS;
        }
        for (int waited = 0; waited < pause_ms && !stopping && rc == 0 && !reload_asked;
             waited += 100)
            usleep(100000);
        if (rc == 0 && reload_asked && !stopping)
            rc = reload_settings(&l, c.store_dir); /* and the next round at once */
    }
    if (stopping && rounds == 0) /* stopped before its first round: recorded as one */
        write_state(&l, c.store_dir, scsms_fail(SCSMS_EIO, "interrupted"), l.acked);
    memset(l.sec, 0, sizeof l.sec);
    link_release(&l);
    close_sockets(&l);
    if (l.ctx)
        zmq_ctx_term(l.ctx);
    int partner = l.s && store_role(l.s) == STORE_ROLE_PARTNER;
    store_close(&l.s);
    close(running);
    if (rc)
        return cli_error(rc);
    if (stopping && l.once) { /* not synced: a script must not take it for done */
        fprintf(stderr, "scsms-agent: interrupted after %llu entries sent to %s; the next run "
                "resumes where head office's head is\n", (unsigned long long)l.sent, l.endpoint);
        return CLI_FAIL;
    }
    /* a daemon stopped (systemctl stop) ends well, saying what it did */
    printf("%s %s: %llu entries sent, %llu head-office %s received\n",
           stopping ? "stopped; since start, with" : "synced with", l.endpoint,
           (unsigned long long)l.sent, (unsigned long long)l.received,
           partner ? "reviews" : "entries");
    return CLI_OK;
}

#define STATUS_USAGE "scsms-agent status --store DIR"

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    struct cli_common c = {0};
    int opt, rc;
    while ((opt = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (cli_common_option(&c, opt, optarg))
            continue;
        if (opt == 'h') {
            printf("usage: %s\n", STATUS_USAGE);
            return CLI_OK;
        }
        return cli_usage(STATUS_USAGE);
    }
    if ((rc = cli_positionals(argc, argv, NULL, STATUS_USAGE)))
        return rc;
    if ((rc = cli_common_finish(&c)))
        return rc;
    store_t *s = NULL;
    if ((rc = cli_open(&c, &s)))
        return rc;
    uint64_t head;
    uint8_t h[CRYPTO_HASH_LEN];
    rc = sync_head(s, store_owner(s), &head, h);
    printf("site %s: head %llu\n", store_owner(s), (unsigned long long)head);
    /* where 'run' goes with no --server: sync.state below says where the
     * last round went, which may differ */
    const struct scsms_config *cfg = store_config(s);
    if (rc == 0 && cfg->server[0])
        printf("head office %s (%s [sync])\n", cfg->server, CONFIG_FILE);
    store_close(&s);
    if (rc)
        return cli_error(rc);
    char path[4096], line[600];
    unsigned long long acked = 0;
    snprintf(path, sizeof path, "%s/sync.state", c.store_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("never synced: backlog %llu entries\n", (unsigned long long)head);
        return CLI_OK;
    }
    while (cli_state_line(f, line, sizeof line)) {
        if (sscanf(line, "acked_seq %llu", &acked) == 1)
            continue;
        fputs(line, stdout);
        if (line[strlen(line) - 1] != '\n') /* cut short */
            putchar('\n');
    }
    fclose(f);
    printf("acknowledged %llu, backlog %llu entries\n", acked,
           head > acked ? (unsigned long long)(head - acked) : 0ULL);
    return CLI_OK;
}

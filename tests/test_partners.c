/* test_partners.c -- business partners against a real scsms-server on
 * loopback: a declaration travels signed, is verified, reviewed, and the
 * partner sees the verdict; a partner cannot read another's submissions
 * nor head office's log; what a partner may not write is refused at the
 * server and logged; expired and expiring declarations and certificates
 * are listed by 'partners' and 'alerts'. */
#include "testnet.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <zmq.h>

#include "chain.h"
#include "crypto.h"
#include "jsonpb.h"
#include "seal.h"
#include "store.h"
#include "sync.h"

/* Every test here runs on this day, its child processes too: validity
 * periods and review dates are facts about the day they are judged on, and
 * a test judged on the real day starts failing once its dates pass. */
#define NOW "2026-11-23T12:00:00Z"

static void pin_clock(void)
{
    setenv("SCSMS_NOW", NOW, 1);
}

/* Run and require success; the output, malloc'd. */
static char *agent_ok(const char *store, const char *a1, const char *a2, const char *a3)
{
    struct tu_run r = a2 ? tu_agent(NULL, a1, a2, a3, "--store", store, NULL)
                         : tu_agent(NULL, a1, "--store", store, NULL);
    ck_assert_msg(r.status == 0, "%s %s: %s", a1, a2 ? a2 : "", r.err);
    free(r.err);
    return r.out;
}

static char *add(const char *store, const char *type, const char *json)
{
    struct tu_run r = tu_agent(NULL, "add", type, "--json", json, "--store", store, NULL);
    ck_assert_msg(r.status == 0, "add %s: %s", type, r.err);
    free(r.err);
    r.out[strcspn(r.out, "\n")] = 0;
    return r.out;
}

static struct json_object *json_of(const char *text)
{
    struct json_object *j = json_tokener_parse(text);
    ck_assert_msg(j != NULL, "not JSON: %s", text);
    return j;
}

static const char *str(struct json_object *o, const char *key)
{
    struct json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no '%s' in %s", key,
                  json_object_to_json_string(o));
    return json_object_get_string(v);
}

/* The object of array a whose field key is value. */
static struct json_object *find(struct json_object *a, const char *key, const char *value)
{
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        struct json_object *o = json_object_array_get_idx(a, i);
        if (strcmp(str(o, key), value) == 0)
            return o;
    }
    ck_abort_msg("no %s %s in %s", key, value, json_object_to_json_string(a));
    return NULL;
}

static char *server_out(struct tn_net *n, const char *a1, const char *a2, const char *a3,
                        const char *a4, const char *a5)
{
    struct tu_run r = tn_server(n, a1, a2, a3, a4, a5, NULL);
    ck_assert_msg(r.status == 0, "%s: %s", a1, r.err);
    free(r.err);
    return r.out;
}

static void sync_ok(struct tn_net *n, const char *dir, const char *want)
{
    struct tu_run r = tn_sync(n, dir, NULL);
    ck_assert_msg(r.status == 0, "%s: %s", dir, r.err);
    ck_assert_msg(strstr(r.out, want), "sync said: %s", r.out);
    tu_run_free(&r);
}

#define DECL_A                                                                               \
    "{\"partner_id\":\"CARRIER-A\",\"coverage\":\"road haulage NL-DE\",\"flows\":[\"export\"]," \
    "\"covered_sites\":[\"WH-1\"],\"modes\":[\"road\"],\"measures\":[\"sealed trailers\","      \
    "\"vetted drivers\"],\"valid_from_date\":\"2026-01-01\",\"valid_to_date\":\"2027-06-30\"}"

/* Fetch as the identity whose store is dir, speaking the protocol
 * directly: what does the server hand it? */
static Scsms__SyncReply *raw_fetch(struct tn_net *n, const char *dir)
{
    struct tn_raw c = tn_raw_connect(n, dir);
    Scsms__Fetch fe = SCSMS__FETCH__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    req.request_id = 7;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_FETCH;
    req.fetch = &fe;
    uint8_t buf[256];
    size_t len = scsms__sync_request__pack(&req, buf);
    ck_assert_int_eq(zmq_send(c.sock, buf, len, 0), (int)len);
    zmq_pollitem_t it = {c.sock, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 20000), 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_gt(zmq_msg_recv(&m, c.sock, 0), 0);
    Scsms__SyncReply *r = scsms__sync_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    tn_raw_close(&c);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->code, SCSMS__SYNC_REPLY__CODE__OK);
    return r;
}

START_TEST(declaration_travels_is_reviewed_and_seen)
{
    struct tn_net n = tn_new("ptn");
    char *a = tn_identity(&n, "CARRIER-A", "partner", "partner");
    char *b = tn_identity(&n, "CARRIER-B", "partner", "partner");
    char *site = tn_site(&n, "WH-1", 1);
    char *decl = add(a, "declaration", DECL_A);
    ck_assert_str_eq(decl, "CARRIER-A-DOS-000001");
    free(add(a, "certificate", "{\"partner_id\":\"CARRIER-A\",\"scheme\":\"aeo\",\"issuer\":"
                               "\"NL customs\",\"number\":\"NLAEOF1\",\"valid_from_date\":"
                               "\"2025-01-01\",\"expiry_date\":\"2029-01-01\"}"));
    free(add(b, "declaration", "{\"partner_id\":\"CARRIER-B\",\"coverage\":\"sea freight\","
                               "\"measures\":[\"ISPS port\"],\"valid_from_date\":\"2026-01-01\","
                               "\"valid_to_date\":\"2027-01-01\"}"));
    sync_ok(&n, a, "2 entries sent");
    sync_ok(&n, b, "1 entries sent");
    /* the same two entries, byte for byte, on both sides */
    tn_heads_equal(&n, a, "CARRIER-A", 2);
    char *list = server_out(&n, "partners", "--format", "json", NULL, NULL);
    struct json_object *all = json_of(list), *pa = find(all, "partner_id", "CARRIER-A");
    ck_assert_str_eq(str(pa, "declaration"), "valid");
    ck_assert_str_eq(str(pa, "review"), "pending");
    ck_assert_str_eq(str(pa, "declaration_id"), decl);
    json_object_put(all);
    free(list);

    /* a verdict given twice is a usage error, not the last one taken */
    struct tu_run r = tn_server(&n, "review-declaration", decl, "--decision", "accepted",
                                "--decision", "rejected", "--reason", "x", "--reviewer", "J. Ode",
                                NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "scsms-server: --decision given twice: give it once; usage: ") &&
                      tu_lines(r.err) == 1, "%s", r.err);
    tu_run_free(&r);
    /* head office reviews; the verdict is sealed and reaches the partner */
    r = tn_server(&n, "review-declaration", decl, "--decision", "accepted",
                                "--reason", "measures seen at the 2026-10 visit", "--reviewer",
                                "J. Ode", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "HQ-CRV-"));
    tu_run_free(&r);
    sync_ok(&n, a, "0 entries sent, 1 head-office reviews received");
    char *sub = agent_ok(a, "submissions", "--format", "json");
    struct json_object *s = json_of(sub), *d = find(s, "id", decl);
    ck_assert_str_eq(str(d, "review"), "accepted");
    ck_assert_str_eq(str(d, "reviewer"), "J. Ode");
    ck_assert_str_eq(str(d, "reason"), "measures seen at the 2026-10 visit");
    ck_assert_int_eq(json_object_array_length(s), 2); /* the declaration and the certificate */
    json_object_put(s);
    free(sub);
    /* again: nothing new */
    sync_ok(&n, a, "0 entries sent, 0 head-office reviews received");

    /* the other partner sees nothing of the first, and no head-office log */
    sync_ok(&n, b, "0 entries sent, 0 head-office reviews received");
    sub = agent_ok(b, "submissions", "--format", "json");
    ck_assert_ptr_null(strstr(sub, "CARRIER-A"));
    /* head office's store is no partner's: its verdicts are in 'partners' */
    struct tu_run hr = tu_agent(NULL, "submissions", "--store", n.hq, NULL);
    ck_assert_int_eq(hr.status, 1);
    ck_assert_str_eq(hr.out, "");
    ck_assert_msg(strstr(hr.err, "is a head office's store: submissions lists a partner's own "
                                 "declarations") && tu_lines(hr.err) == 1, "%s", hr.err);
    tu_run_free(&hr);
    s = json_of(sub);
    ck_assert_str_eq(str(find(s, "id", "CARRIER-B-DOS-000001"), "review"), "pending");
    json_object_put(s);
    free(sub);
    Scsms__SyncReply *fr = raw_fetch(&n, b);
    ck_assert_uint_eq(fr->n_entries, 0);
    ck_assert_uint_eq(fr->n_sealed, 0);
    scsms__sync_reply__free_unpacked(fr, NULL);
    fr = raw_fetch(&n, a);
    ck_assert_uint_eq(fr->n_entries, 0); /* not head office's log: only its own verdict */
    ck_assert_uint_eq(fr->n_sealed, 1);
    scsms__sync_reply__free_unpacked(fr, NULL);
    /* a site, by contrast, reads head office's log (which holds the review) */
    fr = raw_fetch(&n, site);
    ck_assert_uint_eq(fr->n_entries, 1);
    ck_assert_uint_eq(fr->n_sealed, 0);
    scsms__sync_reply__free_unpacked(fr, NULL);

    /* a new version is a new declaration to review: pending, then rejected */
    r = tu_agent(NULL, "update", decl, "--set", "valid_to_date=2027-12-31", "--store", a, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    sync_ok(&n, a, "1 entries sent");
    r = tn_server(&n, "review-declaration", decl, "--decision", "rejected", "--reason",
                  "no seal log kept", "--reviewer", "J. Ode", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "version 2 of CARRIER-A: rejected"));
    tu_run_free(&r);
    sync_ok(&n, a, "1 head-office reviews received");
    sub = agent_ok(a, "submissions", "--format", "json");
    s = json_of(sub);
    d = find(s, "id", decl);
    ck_assert_str_eq(str(d, "review"), "rejected");
    ck_assert_str_eq(str(d, "reason"), "no seal log kept");
    json_object_put(s);
    free(sub);
    tn_verify_dir(a, 3);
    char *v = agent_ok(a, "verify", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(v, "ok: 3 entries, 2 records, 3 signed checkpoints verified, "
                                    "2 sealed records received; head 3 "));
    free(v);
    tn_verify_dir(n.hq, 0);
    free(decl);
    free(a);
    free(b);
    free(site);
    tn_free(&n);
}
END_TEST

/* Does the server's log hold needle? */
static int log_has(struct tn_net *n, const char *needle)
{
    size_t len;
    char *log = tu_read_file(n->server_err, &len);
    int hit = log && strstr(log, needle) != NULL;
    free(log);
    return hit;
}

/* A store that believes it is a site, with a partner's identity at the
 * server: what it sends is judged by the enrolled role. */
static void refused_at_server(struct tn_net *n, const char *id, const char *type,
                              const char *json)
{
    char *dir = tn_identity(n, id, "site", "partner");
    free(add(dir, type, json));
    struct tu_run r = tn_sync(n, dir, NULL);
    ck_assert_int_eq(r.status, 1);
    char want[128];
    snprintf(want, sizeof want, "%s may not issue %s records (rule 8)", id, type);
    ck_assert_msg(strstr(r.err, want), "agent said: %s", r.err);
    tu_run_free(&r);
    snprintf(want, sizeof want, "upload from %s refused: entry 1: %s may not issue %s", id, id,
             type);
    ck_assert_msg(log_has(n, want), "server log lacks '%s'", want);
    ck_assert_uint_eq(tn_hq_head(n, id), 0);
    free(dir);
}

/* A record of partner dir's own making, sent as entry 1 of its log under
 * its own checkpoint, straight over the wire: what a tampered agent could
 * send. mutate, when not NULL, changes the record after it is sealed. */
static Scsms__SyncReply *raw_upload_one(struct tn_net *n, const char *dir, const char *owner,
                                        const char *type, const char *json,
                                        void (*mutate)(Scsms__Record *))
{
    struct json_object *o = NULL;
    Scsms__Record *rec = NULL;
    crypto_key_t *key = NULL;
    char *kp = tu_path(dir, "keys/sign.key");
    ck_assert_int_eq(crypto_key_load(kp, &key), 0);
    free(kp);
    ck_assert_int_eq(jsonpb_parse(json, strlen(json), &o), 0);
    ck_assert_int_eq(jsonpb_to_record(o, type, &rec), 0);
    json_object_put(o);
    char id[64];
    snprintf(id, sizeof id, "%s-DOS-000001", owner);
    ck_assert_int_eq(record_set_string(&rec->id, id), 0);
    ck_assert_int_eq(record_set_string(&rec->owner, owner), 0);
    ck_assert_int_eq(record_set_string(&rec->created_at, "2026-11-20T10:00:00Z"), 0);
    ck_assert_int_eq(record_set_string(&rec->updated_at, "2026-11-20T10:00:00Z"), 0);
    ck_assert_int_eq(record_set_string(&rec->author, owner), 0);
    ck_assert_int_eq(record_validate(rec), 0);
    rec->version = 1;
    ck_assert_int_eq(seal_record_sign(rec, key), 0);
    if (mutate)
        mutate(rec);
    uint8_t rb[4096], eb[4200], prev[CRYPTO_HASH_LEN] = {0}, head[CRYPTO_HASH_LEN];
    size_t rl = scsms__record__pack(rec, rb);
    record_free(rec);
    Scsms__LogEntry e = SCSMS__LOG_ENTRY__INIT;
    e.owner = (char *)owner;
    e.seq = 1;
    e.prev_hash.data = prev;
    e.prev_hash.len = sizeof prev;
    e.record.data = rb;
    e.record.len = rl;
    size_t el = scsms__log_entry__pack(&e, eb);
    chain_entry_hash(eb, el, head);
    uint8_t *cp = NULL;
    size_t cpl = 0;
    ck_assert_int_eq(chain_checkpoint_make(key, owner, 1, head, "2026-11-20T10:00:00Z", &cp, &cpl),
                     0);
    crypto_key_destroy(&key);
    ProtobufCBinaryData entry = {el, eb};
    Scsms__Upload up = SCSMS__UPLOAD__INIT;
    Scsms__SyncRequest req = SCSMS__SYNC_REQUEST__INIT;
    up.entries = &entry;
    up.n_entries = 1;
    up.checkpoint.data = cp;
    up.checkpoint.len = cpl;
    req.request_id = 9;
    req.msg_case = SCSMS__SYNC_REQUEST__MSG_UPLOAD;
    req.upload = &up;
    uint8_t buf[8192];
    size_t len = scsms__sync_request__pack(&req, buf);
    free(cp);
    struct tn_raw c = tn_raw_connect(n, dir);
    ck_assert_int_eq(zmq_send(c.sock, buf, len, 0), (int)len);
    zmq_pollitem_t it = {c.sock, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 20000), 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_gt(zmq_msg_recv(&m, c.sock, 0), 0);
    Scsms__SyncReply *r = scsms__sync_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    tn_raw_close(&c);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* A declaration's JSON for raw_upload_one(): partner, validity. */
static const char *decl_json(const char *partner, const char *from, const char *to)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "{\"partner_id\":\"%s\",\"coverage\":\"road NL\",\"measures\":"
             "[\"seals\"],\"valid_from_date\":\"%s\",\"valid_to_date\":\"%s\"}", partner, from,
             to);
    return buf;
}

static void widen_coverage(Scsms__Record *rec)
{
    ck_assert_int_eq(record_set_string(&rec->declaration->coverage, "every flow, worldwide"), 0);
}

/* CARRIER-A's declaration json (mutated after sealing when mutate is not
 * NULL), sent straight over the wire: refused with exactly want, and the
 * server's log says so. */
static void raw_refused(struct tn_net *n, const char *dir, const char *json,
                        void (*mutate)(Scsms__Record *), const char *want)
{
    Scsms__SyncReply *rep = raw_upload_one(n, dir, "CARRIER-A", "declaration", json, mutate);
    ck_assert_int_eq(rep->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    ck_assert_str_eq(rep->message, want);
    scsms__sync_reply__free_unpacked(rep, NULL);
    char line[600];
    snprintf(line, sizeof line, "upload from CARRIER-A refused: %s", want);
    ck_assert_msg(log_has(n, line), "server log lacks: %s", line);
}

START_TEST(what_a_partner_may_not_write_is_refused)
{
    struct tn_net n = tn_new("ptnbad");
    char *a = tn_identity(&n, "CARRIER-A", "partner", "partner");
    char *b = tn_identity(&n, "CARRIER-B", "partner", "partner");
    /* the agent itself refuses, in partner mode */
    struct tu_run r = tu_agent(NULL, "add", "incident", "--json",
                               "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-01T10:00:00Z\","
                      "\"location\":\"Gate 2\"}",
                               "--store", a, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "scsms-agent: a partner cannot issue incident records (rule 8): they "
                            "come from the sites\n");
    tu_run_free(&r);
    /* a type both head office and the sites issue names both */
    r = tu_agent(NULL, "add", "action", "--json", "{\"description\":\"x\",\"due_date\":"
                 "\"2026-12-01\",\"kind\":\"corrective\",\"responsible\":\"a\"}", "--store", a,
                 NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "scsms-agent: a partner cannot issue action records (rule 8): they "
                            "come from head office and the sites\n");
    tu_run_free(&r);
    /* nor anything else but declarations and certificates (rule 8) */
    r = tu_agent(NULL, "add", "acknowledgement", "--json",
                 "{\"subject_id\":\"HQ-POL-000001\",\"acknowledged_by\":\"ops\"}", "--store", a,
                 NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "a partner cannot issue acknowledgement records (rule 8)"));
    tu_run_free(&r);
    r = tu_agent(NULL, "add", "declaration", "--json",
                 "{\"partner_id\":\"CARRIER-B\",\"coverage\":\"x\",\"measures\":[\"y\"],"
                 "\"valid_from_date\":\"2026-01-01\",\"valid_to_date\":\"2027-01-01\"}",
                 "--store", a, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "partner CARRIER-A may submit only its own "
                                        "declarations, not one about CARRIER-B (rule 8)"));
    tu_run_free(&r);
    /* a tampered agent gets no further: refused at the server, and logged */
    refused_at_server(&n, "PARTNER-X", "incident",
                      "{\"kind\":\"breach\",\"occurred_at\":\"2026-11-01T10:00:00Z\","
                      "\"location\":\"Gate 2\"}");
    refused_at_server(&n, "PARTNER-Y", "risk",
                      "{\"threat_category\":\"physical_failure_or_malicious_act\",\"threatened\":\"cargo\","
                      "\"likelihood\":2,\"consequence\":2,\"residual_likelihood\":1,"
                      "\"residual_consequence\":1,\"treatment\":\"reduce\",\"risk_owner\":\"ops\"}");
    /* B's own submission is at head office */
    free(add(b, "declaration", "{\"partner_id\":\"CARRIER-B\",\"coverage\":\"sea\",\"measures\":"
                               "[\"ISPS\"],\"valid_from_date\":\"2026-01-01\",\"valid_to_date\":"
                               "\"2027-01-01\"}"));
    sync_ok(&n, b, "1 entries sent");
    /* A forges B's log: a store named CARRIER-B holding A's CURVE keys */
    char *forged = tu_path(n.tmp, "forged");
    r = tu_agent(NULL, "init", "--site", "CARRIER-B", "--role", "partner", "--store", forged, NULL);
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "keys/curve.pub" : "keys/curve.key";
        char *from = tu_path(a, name), *to = tu_path(forged, name);
        size_t len;
        char *bytes = tu_read_file(from, &len);
        FILE *f = fopen(to, "w");
        ck_assert_ptr_nonnull(f);
        fwrite(bytes, 1, len, f);
        fclose(f);
        free(bytes);
        free(from);
        free(to);
    }
    free(add(forged, "declaration", "{\"partner_id\":\"CARRIER-B\",\"coverage\":\"forged\","
                                    "\"measures\":[\"none\"],\"valid_from_date\":\"2026-01-01\","
                                    "\"valid_to_date\":\"2030-01-01\"}"));
    r = tn_sync(&n, forged, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "entry 1 belongs to CARRIER-B, not to CARRIER-A"), "%s", r.err);
    tu_run_free(&r);
    ck_assert(log_has(&n, "upload from CARRIER-A refused: entry 1 belongs to CARRIER-B"));
    /* the same, straight over the wire: a declaration about another
     * partner, under A's own seal and log */
    raw_refused(&n, a, decl_json("CARRIER-B", "2026-01-01", "2030-01-01"), NULL,
                "entry 1: partner CARRIER-A may submit only its own declarations, not one about "
                "CARRIER-B (rule 8)");
    /* its own declaration, altered after it was signed */
    raw_refused(&n, a, decl_json("CARRIER-A", "2026-01-01", "2027-01-01"), widen_coverage,
                "entry 1: declaration 'CARRIER-A-DOS-000001': partner_signature does not match "
                "its bytes (altered, or signed by another key)");
    /* a declaration its own agent would refuse (it ends before it starts),
     * correctly sealed: refused at the server too */
    raw_refused(&n, a, decl_json("CARRIER-A", "2027-01-01", "2026-01-01"), NULL,
                "entry 1: record 'CARRIER-A-DOS-000001': valid_to_date 2026-01-01 is before "
                "valid_from_date 2027-01-01: a declaration must end after it starts");
    /* and unaltered, the same construction is taken: the refusals above
     * were for what they say */
    Scsms__SyncReply *rep = raw_upload_one(&n, a, "CARRIER-A", "declaration",
                                           decl_json("CARRIER-A", "2026-01-01", "2027-01-01"), NULL);
    ck_assert_msg(rep->code == SCSMS__SYNC_REPLY__CODE__OK, "%s", rep->message);
    ck_assert_uint_eq(rep->head_seq, 1);
    scsms__sync_reply__free_unpacked(rep, NULL);
    /* another head-office identity cannot hand a partner a verdict */
    char *reg = tn_identity(&n, "REG-EU", "hq", "hq");
    const char *verdict =
        "{\"declaration_id\":\"CARRIER-B-DOS-000001\",\"declaration_version\":1,"
        "\"declaration_sha256\":\"00000000000000000000000000000000"
        "00000000000000000000000000000000\",\"partner_id\":\"CARRIER-B\",\"reviewer\":\"x\","
        "\"decision\":\"accepted\",\"reason\":\"x\",\"reviewed_date\":\"2026-11-01\"}";
    /* its own store does not hold the declaration: refused there, before
     * any verdict on content nobody read could be written */
    r = tu_agent(NULL, "add", "credibility_review", "--json", verdict, "--store", reg, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "declaration 'CARRIER-B-DOS-000001' is not held here: review it "
                                "once the partner's sync has brought it") &&
                      tu_lines(r.err) == 1,
                  "%s", r.err);
    tu_run_free(&r);
    /* and as an entry made by hand, head office refuses it */
    rep = raw_upload_one(&n, reg, "REG-EU", "credibility_review", verdict, NULL);
    ck_assert_int_eq(rep->code, SCSMS__SYNC_REPLY__CODE__REFUSED);
    ck_assert_msg(strstr(rep->message, "entry 1: credibility reviews are written at head "
                                       "office's own store, not uploaded"), "%s", rep->message);
    scsms__sync_reply__free_unpacked(rep, NULL);
    free(reg);
    /* ids are the owner's own: CARRIER cannot take CARRIER-A's */
    char *car = tn_identity(&n, "CARRIER", "partner", "partner");
    char *file = tu_path(n.tmp, "steal.json");
    FILE *f = fopen(file, "w");
    fputs("[{\"type\":\"declaration\",\"id\":\"CARRIER-A-DOS-000001\",\"version\":1,"
          "\"created_at\":\"2026-11-20T10:00:00Z\",\"updated_at\":\"2026-11-20T10:00:00Z\","
          "\"author\":\"x\",\"partner_id\":\"CARRIER\",\"coverage\":\"x\",\"measures\":[\"x\"],"
          "\"valid_from_date\":\"2026-01-01\",\"valid_to_date\":\"2027-01-01\"}]", f);
    fclose(f);
    r = tu_agent(NULL, "import", file, "--preserve", "--store", car, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "record id 'CARRIER-A-DOS-000001' is not one of CARRIER's"), "%s",
                  r.err);
    tu_run_free(&r);
    free(file);
    free(car);
    /* nothing of B's changed, and A has only that one at head office */
    tn_heads_equal(&n, b, "CARRIER-B", 1);
    ck_assert_uint_eq(tn_hq_head(&n, "CARRIER-A"), 1);
    /* B's row shows its own declaration (valid to 2027-01-01), not the
     * forged one (valid to 2030-01-01) */
    char *list = server_out(&n, "partners", "--format", "csv", NULL, NULL);
    ck_assert_msg(strstr(list, "\nCARRIER-B,,yes,no,,valid,CARRIER-B-DOS-000001,2027-01-01,"),
                  "%s", list);
    ck_assert_ptr_null(strstr(list, "2030-01-01"));
    free(list);
    tn_verify_dir(n.hq, 2);
    free(forged);
    free(a);
    free(b);
    tn_free(&n);
}
END_TEST

START_TEST(review_refuses_bad_input)
{
    struct tn_net n = tn_new("ptnrev");
    char *a = tn_identity(&n, "CARRIER-A", "partner", "partner");
    char *site = tn_site(&n, "WH-1", 1);
    char *decl = add(a, "declaration", DECL_A);
    char *inc = add(site, "incident", "{\"kind\":\"breach\",\"occurred_at\":"
                                      "\"2026-11-01T10:00:00Z\",\"location\":\"Gate 2\"}");
    sync_ok(&n, a, "1 entries sent");
    sync_ok(&n, site, "1 entries sent");
    struct {
        const char *id, *decision, *date;
        int status;
        const char *err;
    } cases[] = {
        {"CARRIER-A-DOS-000009", "accepted", NULL, 1, "no record 'CARRIER-A-DOS-000009'"},
        {decl, "maybe", NULL, 2, "--decision must be accepted or rejected, got 'maybe'"},
        {decl, "accepted", "2099-01-01", 1, "reviewed_date 2099-01-01 is in the future"},
        {decl, "accepted", "2026-13-40", 2, "--date '2026-13-40' is not a date: give YYYY-MM-DD"},
        {decl, "accepted", "2000-01-01", 1, "is before the declaration was submitted"},
        {inc, "accepted", NULL, 1, "is a incident, not a declaration of security"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tu_run r = tn_server(&n, "review-declaration", cases[i].id, "--decision",
                                    cases[i].decision, "--reason", "r", "--reviewer", "J. Ode",
                                    cases[i].date ? "--date" : NULL, cases[i].date, NULL);
        ck_assert_msg(r.status == cases[i].status, "case %zu: exit %d: %s", i, r.status, r.err);
        ck_assert_msg(strstr(r.err, cases[i].err), "case %zu: %s", i, r.err);
        ck_assert_int_eq(tu_lines(r.err), 1);
        tu_run_free(&r);
    }
    /* what a review needs, named in one line; blanks are no reason */
    const char *needs[][2] = {{"--reviewer", "a credibility review needs --reviewer NAME"},
                              {"--reason", "a credibility review needs --reason TEXT"}};
    for (size_t i = 0; i < 2; i++) {
        struct tu_run r = i == 0 ? tn_server(&n, "review-declaration", decl, "--decision",
                                             "accepted", "--reason", "r", NULL)
                                 : tn_server(&n, "review-declaration", decl, "--decision",
                                             "accepted", "--reviewer", "J. Ode", NULL);
        ck_assert_msg(r.status == 2 && strstr(r.err, needs[i][1]) && tu_lines(r.err) == 1,
                      "%s: exit %d: %s", needs[i][0], r.status, r.err);
        tu_run_free(&r);
    }
    struct tu_run blank = tn_server(&n, "review-declaration", decl, "--decision", "accepted",
                                    "--reason", "   ", "--reviewer", "J. Ode", NULL);
    ck_assert_int_eq(blank.status, 2);
    ck_assert_ptr_nonnull(strstr(blank.err, "needs a reviewer and a reason"));
    tu_run_free(&blank);
    /* a review written by hand at head office (scsms-agent add on its
     * store) is checked as review-declaration writes one: the version
     * held, its partner, its bytes' SHA-256 */
    store_t *hq = NULL;
    uint8_t *bytes = NULL, hash[CRYPTO_HASH_LEN];
    size_t len;
    char sha[2 * CRYPTO_HASH_LEN + 1], json[1024];
    struct store_options ro = {.read_only = 1};
    ck_assert_int_eq(store_open(n.hq, &ro, &hq), 0);
    ck_assert_int_eq(store_get_bytes(hq, decl, 1, &bytes, &len), 0);
    store_close(&hq);
    crypto_sha256(bytes, len, hash);
    free(bytes);
    crypto_hex(hash, sizeof hash, sha);
    struct {
        const char *id, *partner, *sha, *err;
    } hand[] = {
        {decl, "CARRIER-B", sha, "declaration_id 'CARRIER-A-DOS-000001' is not a declaration "
                                 "of partner 'CARRIER-B'"},
        {decl, "CARRIER-A", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "declaration_sha256 is not that of declaration 'CARRIER-A-DOS-000001' version 1"},
        {"CARRIER-B-DOS-000001", "CARRIER-A", sha,
         "declaration_id 'CARRIER-B-DOS-000001' is not a declaration of partner 'CARRIER-A'"},
        {decl, "CARRIER-A", sha, "declaration 'CARRIER-A-DOS-000001' has no version 9 here (the "
                                 "latest is 1)"},
    };
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"declaration_id\":\"%s\",\"declaration_version\":%d,\"declaration_sha256\":"
                 "\"%s\",\"decision\":\"accepted\",\"status\":\"accepted\",\"reviewer\":"
                 "\"me\",\"reason\":\"x\",\"partner_id\":\"%s\",\"reviewed_date\":"
                 "\"2026-11-20\"}",
                 hand[i].id, i == 3 ? 9 : 1, hand[i].sha, hand[i].partner);
        struct tu_run r = tu_agent(NULL, "add", "credibility_review", "--json", json, "--store",
                                   n.hq, NULL);
        ck_assert_msg(r.status == 1 && strstr(r.err, hand[i].err) && tu_lines(r.err) == 1,
                      "hand %zu: exit %d: %s", i, r.status, r.err);
        tu_run_free(&r);
    }
    /* nothing was written: head office's own log is empty */
    ck_assert_uint_eq(tn_hq_head(&n, "HQ"), 0);
    /* withdrawn by its partner: no new review of any version of it, by
     * review-declaration or by hand; one written before is kept */
    struct tu_run wr = tn_server(&n, "review-declaration", decl, "--decision", "accepted",
                                 "--reason", "coverage matches", "--reviewer", "J. Ode", NULL);
    ck_assert_msg(wr.status == 0, "%s", wr.err);
    char *early = strndup(wr.out, strcspn(wr.out, "\n"));
    tu_run_free(&wr);
    wr = tu_agent(NULL, "update", decl, "--set", "status=withdrawn", "--store", a, NULL);
    ck_assert_msg(wr.status == 0, "%s", wr.err);
    tu_run_free(&wr);
    sync_ok(&n, a, "1 entries sent");
    for (int v = 0; v < 2; v++) {
        struct tu_run r = tn_server(&n, "review-declaration", decl, "--decision", "accepted",
                                    "--reason", "r", "--reviewer", "J. Ode",
                                    v ? "--version" : NULL, "1", NULL);
        char want[256];
        snprintf(want, sizeof want, "scsms-server: declaration '%s' was withdrawn by CARRIER-A "
                 "(version 2): nothing to review\n", decl);
        ck_assert_int_eq(r.status, 1);
        ck_assert_str_eq(r.err, want);
        tu_run_free(&r);
    }
    snprintf(json, sizeof json,
             "{\"declaration_id\":\"%s\",\"declaration_version\":1,\"declaration_sha256\":"
             "\"%s\",\"decision\":\"accepted\",\"status\":\"accepted\",\"reviewer\":"
             "\"me\",\"reason\":\"x\",\"partner_id\":\"CARRIER-A\",\"reviewed_date\":"
             "\"2026-11-20\"}", decl, sha);
    wr = tu_agent(NULL, "add", "credibility_review", "--json", json, "--store", n.hq, NULL);
    ck_assert_int_eq(wr.status, 1);
    ck_assert_msg(strstr(wr.err, "was withdrawn by CARRIER-A (version 2): nothing to review"),
                  "%s", wr.err);
    tu_run_free(&wr);
    /* a review written before the withdrawal may still change: to a
     * rejection, say */
    wr = tu_agent(NULL, "update", early, "--set", "decision=rejected", "--set", "status=rejected",
                  "--set", "reason=withdrawn by the partner", "--store", n.hq, NULL);
    ck_assert_msg(wr.status == 0, "%s", wr.err);
    tu_run_free(&wr);
    ck_assert_uint_eq(tn_hq_head(&n, "HQ"), 2); /* the early review and its change */
    free(early);
    free(decl);
    free(inc);
    free(a);
    free(site);
    tn_free(&n);
}
END_TEST

START_TEST(expired_and_expiring_are_listed)
{
    struct tn_net n = tn_new("ptnexp");
    char *a = tn_identity(&n, "CARRIER-A", "partner", "partner");
    free(tn_identity(&n, "CARRIER-N", "partner", "partner")); /* never submits */
    /* one that submitted and withdrew: not "never submitted" */
    char *w = tn_identity(&n, "CARRIER-W", "partner", "partner");
    char *wd = add(w, "declaration", "{\"partner_id\":\"CARRIER-W\",\"coverage\":\"road\","
                                     "\"measures\":[\"seals\"],\"valid_from_date\":\"2026-01-01\","
                                     "\"valid_to_date\":\"2027-01-10\"}");
    struct tu_run wr = tu_agent(NULL, "update", wd, "--set", "status=withdrawn", "--store", w, NULL);
    ck_assert_msg(wr.status == 0, "%s", wr.err);
    tu_run_free(&wr);
    sync_ok(&n, w, "2 entries sent");
    free(wd);
    free(w);
    free(add(a, "declaration", "{\"partner_id\":\"CARRIER-A\",\"coverage\":\"road\",\"measures\":"
                               "[\"seals\"],\"valid_from_date\":\"2026-01-01\",\"valid_to_date\":"
                               "\"2026-12-10\"}"));
    free(add(a, "certificate", "{\"partner_id\":\"CARRIER-A\",\"scheme\":\"iso_28000\","
                               "\"issuer\":\"BV\",\"number\":\"ISO-77\",\"valid_from_date\":"
                               "\"2023-10-01\",\"expiry_date\":\"2026-10-01\"}"));
    char *aeo = add(a, "certificate", "{\"partner_id\":\"CARRIER-A\",\"scheme\":\"aeo\",\"issuer\":"
                                      "\"NL customs\",\"number\":\"NLAEOF1\",\"valid_from_date\":"
                                      "\"2024-01-01\",\"expiry_date\":\"2029-01-01\"}");
    /* a certificate granted for next year: not valid yet, whatever its expiry */
    free(add(a, "certificate", "{\"partner_id\":\"CARRIER-A\",\"scheme\":\"c_tpat\",\"issuer\":"
                               "\"CBP\",\"number\":\"CT-9\",\"valid_from_date\":\"2027-03-01\","
                               "\"expiry_date\":\"2030-03-01\"}"));
    /* the next declaration, from 2027: the one in force still stands */
    free(add(a, "declaration", "{\"partner_id\":\"CARRIER-A\",\"coverage\":\"road\",\"measures\":"
                               "[\"seals\"],\"valid_from_date\":\"2027-01-01\",\"valid_to_date\":"
                               "\"2029-12-31\"}"));
    sync_ok(&n, a, "5 entries sent");
    struct tu_run r = tn_server(&n, "exempt", "--partner", "RAIL-1", "--reason",
                                "state rail operator under ISO 28001 4.4", "--name", "Rail Co", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    r = tn_server(&n, "exempt", "--partner", "RAIL-2", "--reason", "", NULL);
    ck_assert_int_eq(r.status, 2);
    tu_run_free(&r);
    /* no exemption for what is no partner, nor a clearing of none: each
     * refused in one line, head office's log as it was (the listing below
     * still holds four partners) */
    uint64_t hq_head = tn_hq_head(&n, "HQ");
    free(tn_identity(&n, "WH-9", "site", "site"));
    const char *bad[][3] = {
        {"a b", "state rail", "partner 'a b' must be 1 to 64 letters, digits"},
        {"WH-9", "state rail", "'WH-9' is enrolled as a site, not a business partner"},
        {"HQ", "state rail", "'HQ' is head office itself, not a business partner"},
        {"NOPE", NULL, "partner 'NOPE' is not exempt: nothing to clear"},
        {"CARRIER-N", NULL, "partner 'CARRIER-N' is not exempt: nothing to clear"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = bad[i][1] ? tn_server(&n, "exempt", "--partner", bad[i][0], "--reason", bad[i][1], NULL)
                      : tn_server(&n, "exempt", "--partner", bad[i][0], "--clear", NULL);
        ck_assert_msg(r.status == 1 && strstr(r.err, bad[i][2]) && tu_lines(r.err) == 1,
                      "%s: exit %d: %s", bad[i][0], r.status, r.err);
        tu_run_free(&r);
    }
    ck_assert_uint_eq(tn_hq_head(&n, "HQ"), hq_head);
    r = tn_server(&n, "partners", "--within", "-3", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.err, "scsms-server: --within must be 0 to 3650 days, got '-3'\n");
    tu_run_free(&r);

    char *list = server_out(&n, "partners", "--within", "30", "--format", "json");
    struct json_object *all = json_of(list);
    ck_assert_int_eq(json_object_array_length(all), 4);
    struct json_object *pw = find(all, "partner_id", "CARRIER-W");
    ck_assert_str_eq(str(pw, "declaration"), "withdrawn");
    ck_assert_str_eq(str(find(all, "partner_id", "CARRIER-N"), "declaration"), "never submitted");
    struct json_object *pa = find(all, "partner_id", "CARRIER-A"), *certs;
    ck_assert_str_eq(str(pa, "declaration"), "expiring");
    ck_assert_str_eq(str(pa, "valid_to_date"), "2026-12-10");
    ck_assert(json_object_object_get_ex(pa, "certificates", &certs));
    ck_assert_str_eq(str(find(certs, "number", "ISO-77"), "state"), "expired");
    ck_assert_str_eq(str(find(certs, "number", "NLAEOF1"), "state"), "valid");
    ck_assert_str_eq(str(find(certs, "number", "CT-9"), "state"), "not yet valid");
    ck_assert_str_eq(str(find(certs, "number", "CT-9"), "valid_from_date"), "2027-03-01");
    ck_assert_str_eq(str(find(certs, "number", "CT-9"), "expiry_date"), "2030-03-01");
    ck_assert_str_eq(str(find(all, "partner_id", "CARRIER-N"), "declaration"), "never submitted");
    struct json_object *rail = find(all, "partner_id", "RAIL-1");
    ck_assert_str_eq(str(rail, "declaration"), "exempt");
    ck_assert_str_eq(str(rail, "exemption_reason"), "state rail operator under ISO 28001 4.4");
    json_object_put(all);
    free(list);
    /* the exemption cleared, then given again with a new reason, each time
     * without the name: the partner's record is found and kept */
    r = tn_server(&n, "exempt", "--partner", "RAIL-1", "--clear", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "partner RAIL-1 no longer exempt"));
    tu_run_free(&r);
    list = server_out(&n, "partners", "--within", "30", "--format", "json");
    all = json_of(list);
    ck_assert_str_eq(str(find(all, "partner_id", "RAIL-1"), "declaration"), "never submitted");
    json_object_put(all);
    free(list);
    r = tn_server(&n, "exempt", "--partner", "RAIL-1", "--reason", "state operator, 2027", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    /* the same exemption again writes nothing: the store's update check */
    uint64_t hq_before = tn_hq_head(&n, "HQ");
    r = tn_server(&n, "exempt", "--partner", "RAIL-1", "--reason", "state operator, 2027", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "nothing changes") && tu_lines(r.err) == 1, "%s", r.err);
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(&n, "HQ"), hq_before);
    /* one record per partner: a second would be the one 'partners' shows
     * while 'exempt' changes the first */
    r = tu_agent(NULL, "add", "partner", "--json", "{\"partner_id\":\"RAIL-1\",\"name\":\"Rail "
                 "Co (again)\"}", "--store", n.hq, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "partner 'RAIL-1' has its record already (HQ-BPT-") &&
                      strstr(r.err, "): update that one") && tu_lines(r.err) == 1, "%s", r.err);
    tu_run_free(&r);
    ck_assert_uint_eq(tn_hq_head(&n, "HQ"), hq_before);
    list = server_out(&n, "partners", "--within", "30", "--format", "json");
    all = json_of(list);
    rail = find(all, "partner_id", "RAIL-1");
    ck_assert_str_eq(str(rail, "declaration"), "exempt");
    ck_assert_str_eq(str(rail, "exemption_reason"), "state operator, 2027");
    ck_assert_str_eq(str(rail, "name"), "Rail Co");
    json_object_put(all);
    free(list);
    /* with a shorter horizon the declaration is merely valid */
    list = server_out(&n, "partners", "--within", "7", "--format", "csv");
    ck_assert_ptr_nonnull(strstr(list, "CARRIER-A,,yes,no,,valid,CARRIER-A-DOS-000001,2026-12-10,"
                                       "pending,"));
    ck_assert_ptr_nonnull(strstr(list, "iso_28000 ISO-77 expired 2026-10-01"));
    ck_assert_ptr_nonnull(strstr(list, "c_tpat CT-9 not yet valid from 2027-03-01 to 2030-03-01"));
    free(list);
    list = server_out(&n, "partners", "--within", "30", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(list, "; c_tpat CT-9 not yet valid from 2027-03-01 to 2030-03-01"));
    free(list);

    char *alerts = server_out(&n, "alerts", "--within", "30", "--format", "json");
    all = json_of(alerts);
    struct json_object *c = find(all, "id", "CARRIER-A-CRT-000002");
    ck_assert_str_eq(str(c, "owner"), "CARRIER-A");
    ck_assert_str_eq(str(c, "field"), "expiry_date");
    struct json_object *late;
    ck_assert(json_object_object_get_ex(c, "days_late", &late));
    ck_assert_int_eq(json_object_get_int(late), 53);
    struct json_object *d = find(all, "id", "CARRIER-A-DOS-000001");
    ck_assert_str_eq(str(d, "field"), "valid_to_date");
    ck_assert(json_object_object_get_ex(d, "days_late", &late));
    ck_assert_int_eq(json_object_get_int(late), -17);
    ck_assert_ptr_null(strstr(alerts, aeo)); /* valid into 2029: not an alert */
    free(aeo);
    ck_assert_int_eq(json_object_array_length(all), 2);
    json_object_put(all);
    free(alerts);
    free(a);
    tn_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("partners");
    TCase *tc = tcase_create("partners");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, pin_clock, NULL);
    tcase_add_test(tc, declaration_travels_is_reviewed_and_seen);
    tcase_add_test(tc, what_a_partner_may_not_write_is_refused);
    tcase_add_test(tc, review_refuses_bad_input);
    tcase_add_test(tc, expired_and_expiring_are_listed);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

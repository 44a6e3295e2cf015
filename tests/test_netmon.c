/* test_netmon.c -- Check suite for common/netmon.{h,c}: a socket's
 * handshake failures, read from its monitor. */
#include "netmon.h"
#include "testutil.h"

#include <string.h>
#include <zmq.h>

/* A client holding another server key: the CURVE server's monitor names
 * a failed handshake on its endpoint (a protocol error, before ZAP). */
START_TEST(a_handshake_with_another_server_key_is_seen)
{
    char spub[41], ssec[41], opub[41], osec[41], cpub[41], csec[41], ep[64];
    size_t eplen = sizeof ep;
    int one = 1;
    ck_assert_int_eq(zmq_curve_keypair(spub, ssec), 0);
    ck_assert_int_eq(zmq_curve_keypair(opub, osec), 0);
    ck_assert_int_eq(zmq_curve_keypair(cpub, csec), 0);
    void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER), *mon = NULL;
    ck_assert_int_eq(zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    ck_assert_int_eq(zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, ssec, 40), 0);
    ck_assert_int_eq(netmon_open(ctx, router, "inproc://test-netmon",
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, &mon), 0);
    ck_assert_ptr_nonnull(mon);
    ck_assert_int_eq(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    ck_assert_int_eq(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen), 0);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    ck_assert_int_eq(zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, opub, 40), 0); /* not spub */
    ck_assert_int_eq(zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, cpub, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, csec, 40), 0);
    ck_assert_int_eq(zmq_connect(dealer, ep), 0);
    zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 10000), 1);
    uint16_t event = 0;
    uint32_t value = 0;
    char where[64] = "";
    ck_assert_int_eq(netmon_read(mon, &event, &value, where, sizeof where), 0);
    ck_assert_uint_eq(event, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    ck_assert_uint_eq(value, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    ck_assert_str_eq(where, ep);
    int linger = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(dealer);
    zmq_close(mon);
    zmq_close(router);
    zmq_ctx_term(ctx);
}
END_TEST

/* A monitor ZeroMQ cannot make (it publishes on inproc only): refused,
 * no socket left. */
START_TEST(a_monitor_that_cannot_be_made_is_refused)
{
    void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER), *mon = &ctx;
    ck_assert_int_eq(netmon_open(ctx, router, "tcp://127.0.0.1:1", ZMQ_EVENT_ALL, &mon),
                     SCSMS_EIO);
    ck_assert_ptr_null(mon);
    ck_assert_ptr_nonnull(strstr(scsms_errmsg(), "cannot watch the socket's handshakes"));
    zmq_close(router);
    zmq_ctx_term(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("netmon");
    TCase *t = tcase_create("monitor");
    tcase_add_test(t, a_handshake_with_another_server_key_is_seen);
    tcase_add_test(t, a_monitor_that_cannot_be_made_is_refused);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}

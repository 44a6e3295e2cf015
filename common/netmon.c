/* netmon.c -- a ZeroMQ socket's handshake failures; see netmon.h. */
#include "netmon.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

int netmon_open(void *ctx, void *sock, const char *ep, int mask, void **mon)
{
    int linger = 0;
    *mon = NULL;
    if (zmq_socket_monitor(sock, ep, mask) != 0 || !(*mon = zmq_socket(ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(*mon, ZMQ_LINGER, &linger, sizeof linger) || zmq_connect(*mon, ep) != 0) {
        int rc = scsms_fail(SCSMS_EIO, "cannot watch the socket's handshakes: %s",
                            zmq_strerror(zmq_errno()));
        if (*mon)
            zmq_close(*mon);
        *mon = NULL;
        return rc;
    }
    return 0;
}

int netmon_read(void *mon, uint16_t *event, uint32_t *value, char *where, size_t cap)
{
    zmq_msg_t ev, at;
    zmq_msg_init(&ev);
    zmq_msg_init(&at);
    /* two frames: a 16-bit event and a 32-bit value in native order, then
     * the endpoint */
    int got = zmq_msg_recv(&ev, mon, 0) >= 0 && zmq_msg_more(&ev) &&
              zmq_msg_recv(&at, mon, 0) >= 0 && zmq_msg_size(&ev) == 6;
    if (got) {
        memcpy(event, zmq_msg_data(&ev), sizeof *event);
        memcpy(value, (uint8_t *)zmq_msg_data(&ev) + 2, sizeof *value);
        if (cap)
            snprintf(where, cap, "%.*s", (int)zmq_msg_size(&at), (char *)zmq_msg_data(&at));
    }
    zmq_msg_close(&ev);
    zmq_msg_close(&at);
    return got ? 0 : -1;
}

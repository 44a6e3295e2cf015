/* netmon.h -- a ZeroMQ socket's handshake failures, seen from the side
 * that owns the socket (zmq_socket_monitor(3)): how the agent tells a
 * refused key from a silent server, and head office logs a client that
 * holds another server key.
 *
 * Not thread-safe beyond ZeroMQ's rules: the monitor socket belongs to
 * the thread that owns the watched one.
 */
#ifndef SCSMS_NETMON_H
#define SCSMS_NETMON_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Watch sock's events in mask (ZMQ_EVENT_*) through a PAIR socket of
 * ctx connected to the inproc endpoint ep, one per watched socket. *mon
 * is then the socket to poll and to read with netmon_read(); the caller
 * closes it (zmq_close) before the watched one. 0, or SCSMS_EIO with the
 * reason (*mon NULL). */
int netmon_open(void *ctx, void *sock, const char *ep, int mask, void **mon) SCSMS_MUST_CHECK;

/* Read one event from mon: its number, its value (for a failed
 * authentication, the ZAP status code; for a protocol error, which) and
 * the endpoint it concerns, cut to cap - 1 characters. 0 when an event
 * was read, -1 when what came was not one. */
int netmon_read(void *mon, uint16_t *event, uint32_t *value, char *where, size_t cap);

#endif

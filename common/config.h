/* config.h -- a store's settings, from DIR/scsms.ini (INI, read with
 * libinih). A missing file means the defaults; a bad value is refused with
 * the file, line and what would be right.
 *
 *   [risk]
 *   tolerable_threshold = 8      ; residual likelihood x consequence, 1-25
 *   [due]
 *   expiring_within_days = 30    ; the horizon of 'due' when not given
 *   [records]
 *   disposal_authorised = a.name, b.name   ; who may dispose of records
 *   [sync]
 *   server = tcp://hq.example:7100         ; head office, for 'run'
 *   server_key = <head office's CURVE key, Z85>
 */
#ifndef SCSMS_CONFIG_H
#define SCSMS_CONFIG_H

#include <stdio.h>

#include "error.h"

#define CONFIG_FILE "scsms.ini"
#define CONFIG_NAMES_MAX 1024
/* well within a line libinih reads (199 characters with its newline)
 * after "server = " */
#define CONFIG_ENDPOINT_MAX 160
#define CONFIG_KEY_LEN 40 /* a CURVE public key in Z85 */
#define CONFIG_LINE_MAX 200 /* libinih's line buffer, its newline and NUL included */

struct scsms_config {
    unsigned risk_threshold;            /* rule 1; default 8 */
    unsigned expiring_days;             /* rule 7 horizon; default 30 */
    char disposers[CONFIG_NAMES_MAX];   /* comma-separated authors */
    char server[CONFIG_ENDPOINT_MAX + 1];   /* head office's endpoint; "" = none */
    char server_key[CONFIG_KEY_LEN + 1];    /* its CURVE key; "" = none */
};

/* The defaults. */
void config_defaults(struct scsms_config *cfg);

/* Read dir/scsms.ini over the defaults. No file means the defaults;
 * anything else that cannot be used as written (an unknown section or
 * setting, one given twice, a bad value, a line too long or not text,
 * something other than a file) is SCSMS_ECONFIG, naming the file and the
 * first bad line. */
int config_load(const char *dir, struct scsms_config *cfg) SCSMS_MUST_CHECK;

/* config_load's reading of the file, from f (read to its end or its
 * first bad line; not closed), path naming it in messages: the defaults,
 * then the file's settings over them. */
int config_parse(FILE *f, const char *path, struct scsms_config *cfg) SCSMS_MUST_CHECK;

/* Write a commented dir/scsms.ini holding the defaults, and head office's
 * endpoint and key in [sync] when given (NULL: left empty); hq: head
 * office's own store, whose file has no [sync] (it is the server). A file already
 * there is kept, and *made says whether this wrote one; but given an
 * endpoint, an existing file is refused (SCSMS_EEXIST): the endpoint would
 * otherwise be dropped unsaid. */
int config_write_default(const char *dir, int hq, const char *server, const char *server_key,
                         int *made) SCSMS_MUST_CHECK;

/* 0 when endpoint is one a site can reach head office at: tcp://HOST:PORT
 * with a host name or IPv4 address (not '*', which only a server binds;
 * not IPv6, which the sockets are not set up for), at most
 * CONFIG_ENDPOINT_MAX bytes; otherwise SCSMS_EINVAL saying what is
 * wrong. */
int config_check_endpoint(const char *endpoint) SCSMS_MUST_CHECK;

/* 0 when key is a CURVE public key in Z85 (head office's, to pin);
 * otherwise SCSMS_EINVAL naming it as `what` ("--server-key"). */
int config_check_server_key(const char *key, const char *what) SCSMS_MUST_CHECK;

/* 1 when name is one of cfg's disposal_authorised authors. */
int config_may_dispose(const struct scsms_config *cfg, const char *name);

#endif

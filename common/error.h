/* error.h -- the one error model of scsms.
 *
 * Every function that can fail returns int: 0 on success, or a negative code
 * from enum scsms_err. The module that calls LMDB, OpenSSL, ZeroMQ or
 * protobuf-c translates their errors into these codes at the call site.
 *
 * Alongside the code, the failing function records a one-line human message
 * ("field 'likelihood' must be 1-5, got 7") with scsms_fail(); the message is
 * per thread and stays valid until the next scsms_fail() on that thread.
 * Command-line front ends print scsms_errmsg() and exit non-zero.
 */
#ifndef SCSMS_ERROR_H
#define SCSMS_ERROR_H

#define SCSMS_MUST_CHECK __attribute__((warn_unused_result))
#define SCSMS_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum scsms_err {
    SCSMS_OK = 0,
    SCSMS_ENOMEM = -1,   /* allocation failed */
    SCSMS_EIO = -2,      /* file or system call failed */
    SCSMS_EINVAL = -3,   /* bad input: the message says which field and why */
    SCSMS_ENOTFOUND = -4,/* no such record, store or file */
    SCSMS_EEXIST = -5,   /* already exists */
    SCSMS_ECORRUPT = -6, /* stored bytes unreadable: truncated or damaged file */
    SCSMS_ETAMPER = -7,  /* integrity check failed: chain, signature or index */
    SCSMS_EKEY = -8,     /* wrong, missing or unreadable key */
    SCSMS_ENOSPC = -9,   /* disk full, or not enough free disk to grow */
    SCSMS_EBUSY = -10,   /* store in use by another process */
    SCSMS_ECRYPTO = -11, /* OpenSSL failure */
    SCSMS_ERULE = -12,   /* refused by a rule of the management system */
    SCSMS_EPERM = -13,   /* identity may not do this */
    SCSMS_EMAPFULL = -14,/* LMDB map full: the store grows it and retries */
    SCSMS_EGAP = -15,    /* log entries missing before these: resend from the head */
    SCSMS_ECONFIG = -16, /* a store's settings (scsms.ini) cannot be used as written */
};

/* Short fixed text for a code ("invalid input"). Never NULL. */
const char *scsms_strerror(int code);

/* Record a formatted message for the calling thread and return code, so a
 * failing function can write: return scsms_fail(SCSMS_EINVAL, "...", ...);
 * The arguments may include scsms_errmsg(), the message being replaced. */
int scsms_fail(int code, const char *fmt, ...) SCSMS_PRINTF(2, 3);

/* Prefix the current message with "context: ". Returns code unchanged. */
int scsms_fail_context(int code, const char *fmt, ...) SCSMS_PRINTF(2, 3);

/* The calling thread's last message, or scsms_strerror() of the last code
 * when none was given. Borrowed; valid until the next scsms_fail(). */
const char *scsms_errmsg(void);

/* Forget the calling thread's last message. */
void scsms_errclear(void);

#endif

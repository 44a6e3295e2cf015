/* error.c -- per-thread error messages; see error.h. */
#include "error.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char msg_buf[512];
static _Thread_local int msg_code;

const char *scsms_strerror(int code)
{
    switch (code) {
    case SCSMS_OK: return "success";
    case SCSMS_ENOMEM: return "out of memory";
    case SCSMS_EIO: return "input/output error";
    case SCSMS_EINVAL: return "invalid input";
    case SCSMS_ENOTFOUND: return "not found";
    case SCSMS_EEXIST: return "already exists";
    case SCSMS_ECORRUPT: return "store damaged";
    case SCSMS_ETAMPER: return "integrity check failed";
    case SCSMS_EKEY: return "key error";
    case SCSMS_ENOSPC: return "no space left on device";
    case SCSMS_EBUSY: return "store in use";
    case SCSMS_ECRYPTO: return "cryptographic failure";
    case SCSMS_ERULE: return "refused by rule";
    case SCSMS_EPERM: return "not permitted";
    case SCSMS_EMAPFULL: return "store map full";
    case SCSMS_EGAP: return "entries missing";
    case SCSMS_ECONFIG: return "bad settings";
    default: return "unknown error";
    }
}

int scsms_fail(int code, const char *fmt, ...)
{
    /* formatted aside first: callers may pass scsms_errmsg() itself as an
     * argument, to say more about the failure before */
    char text[sizeof msg_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    memcpy(msg_buf, text, sizeof msg_buf);
    text_printable(msg_buf); /* quoted input may hold anything, cut anywhere */
    msg_code = code;
    return code;
}

int scsms_fail_context(int code, const char *fmt, ...)
{
    char ctx[256], old[sizeof msg_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", scsms_errmsg());
    /* truncation is fine: the message is for people, one line */
    size_t cl = strlen(ctx), ol = strlen(old);
    if (cl > sizeof msg_buf - 3)
        cl = sizeof msg_buf - 3;
    if (ol > sizeof msg_buf - 3 - cl)
        ol = sizeof msg_buf - 3 - cl;
    memcpy(msg_buf, ctx, cl);
    memcpy(msg_buf + cl, ": ", 2);
    memcpy(msg_buf + cl + 2, old, ol);
    msg_buf[cl + 2 + ol] = '\0';
    text_printable(msg_buf);
    msg_code = code;
    return code;
}

const char *scsms_errmsg(void)
{
    if (msg_buf[0] == '\0')
        return scsms_strerror(msg_code);
    return msg_buf;
}

void scsms_errclear(void)
{
    msg_buf[0] = '\0';
    msg_code = 0;
}

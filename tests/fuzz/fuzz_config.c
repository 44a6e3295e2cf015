/* fuzz_config.c -- fuzz harness for a store's settings file (scsms.ini),
 * which an administrator edits by hand and every command reads: the
 * bytes through config_parse(). A refusal must be SCSMS_ECONFIG with a
 * message of one line; what is taken must hold values in their ranges,
 * text without control characters, and an endpoint and key that their own
 * checks take. A bug shows as an abort, a crash or a sanitizer report. */
#include "config.h"
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "r");
    if (!f)
        return 0;
    struct scsms_config cfg;
    int rc = config_parse(f, "scsms.ini", &cfg);
    fclose(f);
    if (rc) {
        if (rc != SCSMS_ECONFIG || strchr(scsms_errmsg(), '\n') ||
            record_check_text(scsms_errmsg(), "message") != 0)
            abort(); /* another error, or a message that is not one line of text */
        return 0;
    }
    if (cfg.risk_threshold < 1 || cfg.risk_threshold > 25 || cfg.expiring_days > 3650 ||
        record_check_text(cfg.disposers, "disposers") != 0 ||
        (cfg.server[0] && config_check_endpoint(cfg.server) != 0) ||
        (cfg.server_key[0] && config_check_server_key(cfg.server_key, "key") != 0))
        abort();
    return 0;
}

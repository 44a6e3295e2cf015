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
 */
#ifndef SCSMS_CONFIG_H
#define SCSMS_CONFIG_H

#include "error.h"

#define CONFIG_FILE "scsms.ini"
#define CONFIG_NAMES_MAX 1024

struct scsms_config {
    unsigned risk_threshold;            /* rule 1; default 8 */
    unsigned expiring_days;             /* rule 7 horizon; default 30 */
    char disposers[CONFIG_NAMES_MAX];   /* comma-separated authors */
};

/* The defaults. */
void config_defaults(struct scsms_config *cfg);

/* Read dir/scsms.ini over the defaults. */
int config_load(const char *dir, struct scsms_config *cfg) SCSMS_MUST_CHECK;

/* Write a commented dir/scsms.ini holding the defaults (not overwriting). */
int config_write_default(const char *dir) SCSMS_MUST_CHECK;

/* 1 when name is one of cfg's disposal_authorised authors. */
int config_may_dispose(const struct scsms_config *cfg, const char *name);

#endif

/* report.h -- head office's reports over every site's records.
 *
 *   review  the management review pack (ISO 28000 4.6 inputs) for a period:
 *           incidents and near misses, risks, corrective and preventive
 *           actions, audit findings, measurements against objectives,
 *           training, equipment, drills, partners, follow-up of the
 *           previous review and every earlier review's actions still open;
 *           head office's own records count as its own, beside the sites;
 *   gaps    per site and ISO 28000 clause 4.1 to 4.6: is there current
 *           evidence, which records, and the list of gaps;
 *   aeo     per site, readiness for each customs AEO area A to I from the
 *           clause evidence (DOMAIN.md's table).
 *
 * A report is built in one streaming pass over the current version of
 * every record (store_scan_current), on two threads over halves of the id
 * space, into counters per site: memory grows with the number of sites and
 * months (and of declarations of security and head office's reviews of
 * them, joined after the scan), never with the number of records. A
 * partner's declaration counts as accepted only when head office's latest
 * credibility review of that very version accepted it. The result is a
 * json-c object (the JSON output as it is); CSV and HTML are rendered from
 * that object, so the three formats carry the same figures.
 *
 * Functions return 0 or a negative enum scsms_err with a message.
 */
#ifndef SCSMS_REPORT_H
#define SCSMS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "crypto.h"
#include "isotime.h"
#include "store.h"

#define REPORT_MAX_MONTHS 60 /* the longest review period, in calendar months */

enum report_kind { REPORT_REVIEW, REPORT_GAPS, REPORT_AEO };
enum report_format { REPORT_TABLE, REPORT_JSON, REPORT_CSV, REPORT_HTML };

struct report_options {
    enum report_kind kind;
    int64_t from, to;          /* days since the epoch; gaps and aeo are as of `to` */
    const char *const *sites;  /* site identities; NULL = every enrolled site */
    size_t n_sites;
    /* called from the scanning threads, serialised, every few 10,000s of
     * records: records scanned so far and the total */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
};

/* Parse "review", "gaps", "aeo" / "table", "json", "csv", "html".
 * SCSMS_EINVAL with a message naming the choices. */
int report_kind_parse(const char *text, enum report_kind *out) SCSMS_MUST_CHECK;
int report_format_parse(const char *text, enum report_format *out) SCSMS_MUST_CHECK;

/* Build the report o asks for from the records of s. Refused: from after
 * to, a review period over REPORT_MAX_MONTHS, a site in o->sites that is
 * not an enrolled site identity (SCSMS_EINVAL). Caller releases *out with
 * json_object_put(). */
int report_build(store_t *s, const struct report_options *o,
                 struct json_object **out) SCSMS_MUST_CHECK;

/* Render a built report as format into a malloc'd, NUL-terminated buffer
 * (*len bytes without the NUL). The caller frees *out. */
int report_render(struct json_object *rep, enum report_format format, char **out,
                  size_t *len) SCSMS_MUST_CHECK;

/* How much of a pack file report_pack_period reads: every format that
 * records the period writes it within its first few hundred bytes. */
#define REPORT_PACK_HEAD 8192

/* The period of a review pack report_render wrote as HTML, JSON or CSV,
 * read back from the start of the file (head: its first len bytes, of
 * which REPORT_PACK_HEAD are enough) into from and to, "YYYY-MM-DD". Read
 * as written, not re-parsed leniently: the pack a review is held on is
 * the file's exact bytes (their SHA-256 is recorded), so a reformatted
 * file is another file. SCSMS_EINVAL when head is not the start of a
 * review pack: a gaps or aeo report, a terminal table, any other file. */
int report_pack_period(const char *head, size_t len, char from[ISOTIME_DATE_LEN + 1],
                       char to[ISOTIME_DATE_LEN + 1]) SCSMS_MUST_CHECK;

/* Write len bytes to path, a new file, atomically: a temporary file
 * beside it, flushed, then linked in its place, which fails if anything
 * is there (SCSMS_EEXIST: a pack a management review recorded by its hash,
 * or the store's own data file or key given by mistake, is never
 * replaced); on failure path is untouched and no temporary file is left.
 * sha (may be NULL) receives the SHA-256 of the bytes written. */
int report_write_file(const char *path, const char *data, size_t len,
                      uint8_t sha[CRYPTO_HASH_LEN]) SCSMS_MUST_CHECK;

#endif

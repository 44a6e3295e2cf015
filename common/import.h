/* import.h -- bulk import of records from a JSON or CSV file into a
 * store, all or nothing.
 *
 * Field names are those of proto/scsms.proto, mapped through the protobuf-c
 * descriptors (jsonpb), so every type travels the same way. Every row is
 * converted and checked and every bad row named by its line and what is
 * wrong; only a file without one is written, in one transaction.
 */
#ifndef SCSMS_IMPORT_H
#define SCSMS_IMPORT_H

#include <stddef.h>

#include "error.h"
#include "store.h"

struct import_bad {
    size_t line;   /* physical line the row starts on */
    char *message; /* one line */
};

struct import_result {
    size_t rows;            /* records read from the file */
    size_t raised;          /* records the rules wrote besides them */
    struct import_bad *bad; /* every refused row, first lines first */
    size_t n_bad;
};

struct import_options {
    const char *type; /* type of rows that name none; NULL: rows must */
    int preserve;     /* restore exported records with their envelopes */
    /* called every few thousand rows: phase "reading" (total 0) or
     * "writing"; may be NULL */
    void (*progress)(void *ctx, const char *phase, size_t done, size_t total);
    void *progress_ctx;
    /* The caller exits right after: the records are left to the process's
     * exit instead of freed one by one (1.5 million allocations: 35 ms
     * of a 0.41 s import of 100,000 rows). They stay reachable from a static until
     * the next import, so leak checkers do not report them (one static:
     * imports with it set must not run on two threads at once). */
    int exiting;
};

/* Import path (.json: an array of flat records; .csv: a header row of
 * field names, then one record a row) into s. Returns 0 when every record
 * was written; SCSMS_EINVAL when rows were refused (in res->bad; nothing
 * written); another error when the file cannot be read at all (nothing
 * written). Free res with import_result_free() in every case. */
int import_file(store_t *s, const char *path, const struct import_options *o,
                struct import_result *res) SCSMS_MUST_CHECK;

void import_result_free(struct import_result *res);

#endif

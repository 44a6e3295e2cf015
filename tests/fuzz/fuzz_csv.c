/* fuzz_csv.c -- fuzz harness for the CSV a user imports (`scsms-agent
 * import rows.csv`): the csv reader over the bytes, the first row as the
 * header, and every further row with as many fields made into an incident
 * as import does: jsonpb_set_cell() per non-empty cell of a known column, jsonpb_to_record(),
 * record_validate(). Refusals are expected and ignored; a bug shows as a
 * crash, a leak or a sanitizer report. */
#include "csv.h"
#include "jsonpb.h"
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One row as an incident, built and validated; errors ignored. */
static void take_row(char **header, char **fields, size_t n)
{
    struct json_object *obj = json_object_new_object();
    if (!obj)
        return;
    const struct record_type *t = record_type_by_name("incident");
    for (size_t i = 0; i < n; i++) {
        const ProtobufCFieldDescriptor *f = jsonpb_flat_field(t, header[i]);
        if (f && fields[i][0]) {
            int rc = jsonpb_set_cell(obj, f, fields[i]);
            (void)rc; /* a bad cell is left out, as a fuzz input may have many */
        }
    }
    Scsms__Record *rec = NULL;
    if (jsonpb_to_record(obj, "incident", &rec) == 0) {
        int rc = record_validate(rec);
        (void)rc;
        record_free(rec);
    }
    json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* read-only: fmemopen does not write to the buffer in mode "r" */
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "r");
    if (!f)
        return 0;
    csv_reader_t *r = NULL;
    char **header = NULL, **fields;
    size_t n_header = 0, n;
    if (csv_reader_new(f, &r) != 0)
        goto done;
    if (csv_read_row(r, &fields, &n) != 1)
        goto done;
    /* the reader's fields last only until the next row */
    if (!(header = calloc(n, sizeof *header)))
        goto done;
    for (n_header = 0; n_header < n; n_header++)
        if (!(header[n_header] = strdup(fields[n_header])))
            goto done;
    while (csv_read_row(r, &fields, &n) == 1)
        if (n == n_header)
            take_row(header, fields, n);
done:
    for (size_t i = 0; header && i < n_header; i++)
        free(header[i]);
    free(header);
    csv_reader_destroy(&r);
    fclose(f);
    return 0;
}

/* report_text.c -- a built report as JSON, CSV or a terminal table, and
 * written to its file atomically; see report.h. */
#include "report.h"
#include "report_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"

struct json_object *report_json_at(struct json_object *o, ...)
{
    va_list ap;
    va_start(ap, o);
    for (const char *k = va_arg(ap, const char *); k && o; k = va_arg(ap, const char *))
        if (!json_object_object_get_ex(o, k, &o))
            o = NULL;
    va_end(ap);
    return o;
}

int64_t report_json_int(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

void report_html_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* ------------------------------------------------------------ CSV */

/* One flat table, "section,site,key,value": every figure of the JSON, the
 * "total" of a section as site ALL, each "by_site" member as its site, the
 * rest of the path as the key (array elements numbered from 1); lists of
 * names are one value joined by ';'. */
static void csv_row(FILE *f, const char *section, const char *site, const char *key,
                    const char *value)
{
    csv_write_field(f, section, 0);
    csv_write_field(f, site, 0);
    csv_write_field(f, key, 0);
    csv_write_field(f, value, 1);
}

static int all_strings(struct json_object *a)
{
    size_t n = json_object_array_length(a);
    for (size_t i = 0; i < n; i++)
        if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
            return 0;
    return 1;
}

static void flatten(FILE *f, const char *section, const char *site, const char *prefix,
                    struct json_object *v)
{
    char key[512];
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, sub) {
            if (!prefix[0] && !strcmp(k, "by_site") && json_object_is_type(sub, json_type_object)) {
                json_object_object_foreach(sub, s, sv)
                    flatten(f, section, s, "", sv);
                continue;
            }
            if (!prefix[0] && !strcmp(k, "total")) {
                flatten(f, section, "ALL", "", sub);
                continue;
            }
            snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            flatten(f, section, site, key, sub);
        }
    } else if (json_object_is_type(v, json_type_array) && !all_strings(v)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            snprintf(key, sizeof key, "%s.%zu", prefix, i + 1);
            flatten(f, section, site, key, json_object_array_get_idx(v, i));
        }
    } else if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        char *joined = NULL;
        size_t cap = 0;
        FILE *m = open_memstream(&joined, &cap);
        for (size_t i = 0; m && i < n; i++)
            fprintf(m, "%s%s", i ? ";" : "", json_object_get_string(json_object_array_get_idx(v, i)));
        if (m)
            fclose(m);
        csv_row(f, section, site, prefix, joined ? joined : "");
        free(joined);
    } else {
        csv_row(f, section, site, prefix, v ? json_object_get_string(v) : "");
    }
}

static void render_csv(struct json_object *rep, FILE *f)
{
    csv_row(f, "section", "site", "key", "value");
    json_object_object_foreach(rep, k, v) {
        if (json_object_is_type(v, json_type_object))
            flatten(f, k, "", "", v);
        else
            flatten(f, "report", "", k, v);
    }
}

/* ------------------------------------------------------------ tables */

static void table_review(struct json_object *rep, FILE *f)
{
    struct json_object *sites = report_json_at(rep, "sites", NULL);
    fprintf(f, "%-20s %9s %11s %9s %11s %8s %9s %10s %9s\n", "SITE", "INCIDENTS", "NEAR-MISSES",
            "RISKS", "INTOLERABLE", "OVERDUE", "TRAINED", "CAL-DUE", "NO-DRILL");
    const char *hq = json_object_get_string(report_json_at(rep, "head_office", NULL));
    size_t n = json_object_array_length(sites);
    /* each site, head office's own records, then the total */
    for (size_t i = 0; i <= n + 1; i++) {
        const char *s = i < n ? json_object_get_string(json_object_array_get_idx(sites, i))
                        : i == n ? hq : NULL;
        const char *who = s ? s : "ALL";
        const char *part = s ? "by_site" : "total";
        struct json_object *inc = report_json_at(rep, "incidents", part, s, NULL);
        struct json_object *rk = report_json_at(rep, "risks", part, s, NULL);
        struct json_object *ac = report_json_at(rep, "actions", part, s, NULL);
        struct json_object *tr = report_json_at(rep, "training", part, s, NULL);
        struct json_object *eq = report_json_at(rep, "equipment", part, s, NULL);
        struct json_object *dr = report_json_at(rep, "drills", part, s, NULL);
        fprintf(f, "%-20s %9lld %11lld %9lld %11lld %8lld %9lld %10lld %9lld\n", who,
                (long long)report_json_int(inc, "incidents"),
                (long long)report_json_int(inc, "near_misses"),
                (long long)report_json_int(rk, "open"), (long long)report_json_int(rk, "intolerable"),
                (long long)report_json_int(ac, "overdue"), (long long)report_json_int(tr, "valid"),
                (long long)report_json_int(eq, "calibration_overdue"),
                (long long)report_json_int(dr, "not_held"));
    }
}

void report_print_list(FILE *f, struct json_object *a, int html)
{
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(a, i));
        if (i)
            fputc(' ', f);
        if (html)
            report_html_escape(f, v);
        else
            fputs(v, f);
    }
}

static void print_list(FILE *f, struct json_object *a)
{
    report_print_list(f, a, 0);
    fputs(json_object_array_length(a) ? "\n" : "none\n", f);
}

static void table_gaps(struct json_object *rep, FILE *f)
{
    fprintf(f, "%-20s %4s  %s\n", "SITE", "GAPS", "CLAUSES WITHOUT CURRENT EVIDENCE");
    json_object_object_foreach(report_json_at(rep, "by_site", NULL), site, v) {
        struct json_object *gaps = report_json_at(v, "gaps", NULL);
        fprintf(f, "%-20s %4zu  ", site, json_object_array_length(gaps));
        print_list(f, gaps);
    }
}

static void table_aeo(struct json_object *rep, FILE *f)
{
    fprintf(f, "%-20s", "SITE");
    json_object_object_foreach(report_json_at(rep, "areas", NULL), area, unused) {
        (void)unused;
        fprintf(f, " %-5s", area);
    }
    fprintf(f, " READY\n");
    json_object_object_foreach(report_json_at(rep, "by_site", NULL), site, v) {
        fprintf(f, "%-20s", site);
        json_object_object_foreach(v, area, a) {
            if (json_object_is_type(a, json_type_object))
                fprintf(f, " %-5s", json_object_get_boolean(report_json_at(a, "ready", NULL))
                                        ? "ready" : "gap");
            (void)area;
        }
        fprintf(f, " %lld/9\n", (long long)report_json_int(v, "areas_ready"));
    }
}

/* ------------------------------------------------------------ a pack's period */

int report_read_date(const char *p, char out[ISOTIME_DATE_LEN + 1])
{
    int64_t day;
    char canon[ISOTIME_DATE_LEN + 1];
    if (strnlen(p, ISOTIME_DATE_LEN) < ISOTIME_DATE_LEN)
        return 0;
    snprintf(out, ISOTIME_DATE_LEN + 1, "%.*s", ISOTIME_DATE_LEN, p);
    if (isotime_parse_date(out, &day))
        return 0;
    isotime_format_date(day, canon);
    return strcmp(canon, out) == 0;
}

/* The JSON as json-c prints it: the top-level members (two spaces in)
 * "report", "from" and "to" come first (report_build adds them so). */
static int json_period(const char *text, char from[ISOTIME_DATE_LEN + 1],
                       char to[ISOTIME_DATE_LEN + 1])
{
    static const char kind[] = "{\n  \"report\":\"review\",\n", at_from[] = "\n  \"from\":\"",
                      at_to[] = "\n  \"to\":\"";
    const char *f = strstr(text, at_from), *t = strstr(text, at_to);
    return !strncmp(text, kind, strlen(kind)) && f && t &&
           report_read_date(f + strlen(at_from), from) &&
           f[strlen(at_from) + ISOTIME_DATE_LEN] == '"' &&
           report_read_date(t + strlen(at_to), to) && t[strlen(at_to) + ISOTIME_DATE_LEN] == '"';
}

/* The CSV: the header, then the "report" section's rows (render_csv). */
static int csv_period(const char *text, char from[ISOTIME_DATE_LEN + 1],
                      char to[ISOTIME_DATE_LEN + 1])
{
    static const char header[] = "section,site,key,value\n", kind[] = "\nreport,,report,review\n",
                      at_from[] = "\nreport,,from,", at_to[] = "\nreport,,to,";
    const char *f = strstr(text, at_from), *t = strstr(text, at_to);
    return !strncmp(text, header, strlen(header)) && strstr(text, kind) && f && t &&
           report_read_date(f + strlen(at_from), from) &&
           f[strlen(at_from) + ISOTIME_DATE_LEN] == '\n' &&
           report_read_date(t + strlen(at_to), to) && t[strlen(at_to) + ISOTIME_DATE_LEN] == '\n';
}

int report_pack_period(const char *head, size_t len, char from[ISOTIME_DATE_LEN + 1],
                       char to[ISOTIME_DATE_LEN + 1])
{
    char text[REPORT_PACK_HEAD + 1]; /* NUL-terminated, to search as text */
    if (len > REPORT_PACK_HEAD)
        len = REPORT_PACK_HEAD;
    memcpy(text, head, len);
    text[len] = 0;
    if (report_html_period(text, from, to) || json_period(text, from, to) ||
        csv_period(text, from, to))
        return 0;
    return scsms_fail(SCSMS_EINVAL, "not the start of a review pack (html, json or csv): no "
                      "period found");
}

/* ------------------------------------------------------------ entry */

int report_render(struct json_object *rep, enum report_format format, char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    enum report_kind kind = REPORT_REVIEW;
    if (report_kind_parse(json_object_get_string(report_json_at(rep, "report", NULL)), &kind)) {
        fclose(f);
        free(buf);
        return SCSMS_EINVAL;
    }
    switch (format) {
    case REPORT_JSON:
        fputs(json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE), f);
        fputc('\n', f);
        break;
    case REPORT_CSV: render_csv(rep, f); break;
    case REPORT_HTML: report_html(rep, kind, f); break;
    case REPORT_TABLE:
        switch (kind) {
        case REPORT_GAPS: table_gaps(rep, f); break;
        case REPORT_AEO: table_aeo(rep, f); break;
        case REPORT_REVIEW: table_review(rep, f); break;
        }
        break;
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || !buf) {
        free(buf);
        return scsms_fail(SCSMS_ENOMEM, "out of memory rendering the report");
    }
    *out = buf;
    *len = n;
    return 0;
}

static int exists_already(const char *path)
{
    return scsms_fail(SCSMS_EEXIST, "'%s' exists: name a new file, or remove it first (a pack a "
                      "management review recorded must stay as it was)", path);
}

/* link() failed other than for a name taken: a file system without hard
 * links (vfat, exFAT, many SMB mounts) takes a rename once nothing is
 * there, which leaves only the moment between the look and the rename. */
static int place_without_link(const char *tmp, const char *path)
{
    struct stat st;
    if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOTSUP && errno != EXDEV)
        return scsms_fail(SCSMS_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (lstat(path, &st) == 0)
        return exists_already(path);
    if (rename(tmp, path) != 0)
        return scsms_fail(SCSMS_EIO, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int report_write_file(const char *path, const char *data, size_t len, uint8_t sha[CRYPTO_HASH_LEN])
{
    size_t pl = strlen(path);
    struct stat st;
    /* a directory is no file to write: said so, before a temporary file
     * is made beside (or, for "DIR/", inside) it */
    if ((pl && path[pl - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return scsms_fail(SCSMS_EIO, "cannot write '%s': it is a directory: name a file in it",
                          path);
    if (lstat(path, &st) == 0)
        return exists_already(path);
    char *tmp = malloc(pl + 16);
    int fd = -1, rc = 0;
    if (!tmp)
        return scsms_fail(SCSMS_ENOMEM, "out of memory");
    snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        rc = scsms_fail(SCSMS_EIO, "cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        return rc;
    }
    for (size_t off = 0; off < len && rc == 0;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = scsms_fail(errno == ENOSPC ? SCSMS_ENOSPC : SCSMS_EIO, "cannot write '%s': %s",
                            path, strerror(errno));
        else
            off += (size_t)w;
    }
    /* readable like any file the user writes, not mkstemp's 0600 */
    mode_t mask = umask(0);
    umask(mask);
    if (rc == 0 && fchmod(fd, 0666 & ~mask) != 0)
        rc = scsms_fail(SCSMS_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (rc == 0 && fsync(fd) != 0)
        rc = scsms_fail(SCSMS_EIO, "cannot flush '%s': %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = scsms_fail(SCSMS_EIO, "cannot write '%s': %s", path, strerror(errno));
    /* link, not rename: it fails rather than replace what appeared there */
    if (rc == 0 && link(tmp, path) != 0)
        rc = errno == EEXIST ? exists_already(path) : place_without_link(tmp, path);
    unlink(tmp);
    if (rc == 0 && sha)
        crypto_sha256(data, len, sha);
    free(tmp);
    return rc;
}

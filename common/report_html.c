/* report_html.c -- a report as one self-contained HTML page: inline CSS
 * and inline SVG charts, no script, nothing fetched. Everything is drawn
 * from the report's JSON object, so the page shows the figures the JSON
 * and CSV carry. Charts are <svg class="chart" id="chart-..."> and key
 * figures <td class="fig" id="fig-...">, for people and for the browser
 * test alike. */
#include "report.h"
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 4
#define MAX_GRID_ROWS 25 /* sites shown in the incidents grid, most first */

static const char *const palette[MAX_SERIES] = {"#c0392b", "#e67e22", "#2471a3", "#7d8c8d"};

struct bar_row {
    const char *label;
    double v[MAX_SERIES];
};

static void fmt_num(char *buf, size_t len, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.2f", v);
}

/* Horizontal bars, one row per label; series stacked, or side by side
 * when stacked is 0 (values of different meaning: measured vs target). */
static void chart_bars(FILE *f, const char *id, const char *title, const char *const *series,
                       int n_series, const struct bar_row *rows, size_t n_rows, int stacked)
{
    const double label_w = 230, bar_w = 400, row_h = stacked || n_series == 1 ? 22 : 12.0 * n_series + 8;
    double max = 0;
    for (size_t i = 0; i < n_rows; i++) {
        double t = 0;
        for (int s = 0; s < n_series; s++)
            t = stacked ? t + rows[i].v[s] : (rows[i].v[s] > t ? rows[i].v[s] : t);
        max = t > max ? t : max;
    }
    double height = 34 + row_h * (double)n_rows + 10;
    fprintf(f, "<figure><figcaption>");
    report_html_escape(f, title);
    fprintf(f, "</figcaption>\n<svg class=\"chart bars\" id=\"%s\" width=\"720\" height=\"%.0f\" "
               "viewBox=\"0 0 720 %.0f\" role=\"img\">\n", id, height, height);
    for (int s = 0; s < n_series && n_series > 1; s++) {
        fprintf(f, "<rect x=\"%d\" y=\"6\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                   "<text x=\"%d\" y=\"16\" class=\"legend\">", 230 + s * 150, palette[s],
                230 + s * 150 + 16);
        report_html_escape(f, series[s]);
        fputs("</text>\n", f);
    }
    for (size_t i = 0; i < n_rows; i++) {
        double y = 30 + row_h * (double)i, x = label_w, total = 0;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" class=\"label\" text-anchor=\"end\">", label_w - 6,
                y + row_h / 2 + 4);
        report_html_escape(f, rows[i].label);
        fputs("</text>\n", f);
        for (int s = 0; s < n_series; s++) {
            double v = rows[i].v[s], w = max > 0 ? v / max * bar_w : 0;
            double by = stacked ? y + 3 : y + 3 + 12.0 * s, bh = stacked || n_series == 1 ? row_h - 6 : 10;
            char num[32];
            fmt_num(num, sizeof num, v);
            fprintf(f, "<rect class=\"bar s%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                       "fill=\"%s\" data-value=\"%s\"><title>", s, x, by, w, bh, palette[s], num);
            report_html_escape(f, rows[i].label);
            fprintf(f, ": %s ", num);
            report_html_escape(f, series[s]);
            fputs("</title></rect>\n", f);
            if (stacked) {
                x += w;
                total += v;
            } else {
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"value\">%s</text>\n",
                        label_w + w + 4, by + bh - 1, num);
            }
        }
        if (stacked) {
            char num[32];
            fmt_num(num, sizeof num, total);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"value\">%s</text>\n", x + 4,
                    y + row_h / 2 + 4, num);
        }
    }
    fputs("</svg></figure>\n", f);
}

enum grid_colour {
    GRID_HEAT, /* darker with the count */
    GRID_RISK, /* by the cell's likelihood x consequence: the 5 x 5 matrix */
    GRID_PASS, /* green when evidence (> 0), red when a gap */
};

/* A grid of counts: rows x cols cells, row and column labels. For
 * GRID_PASS, yes/no (when given) are written instead of the count. */
static void chart_grid(FILE *f, const char *id, const char *title, const char *const *row_labels,
                       size_t n_rows, const char *const *col_labels, size_t n_cols,
                       const double *v, enum grid_colour mode, const char *yes, const char *no)
{
    double label_w = 170, cell_w = n_cols > 12 ? 30 : 56, cell_h = 24, max = 0;
    for (size_t i = 0; i < n_rows * n_cols; i++)
        max = v[i] > max ? v[i] : max;
    double width = label_w + cell_w * (double)n_cols + 10, height = 40 + cell_h * (double)n_rows;
    fprintf(f, "<figure><figcaption>");
    report_html_escape(f, title);
    fprintf(f, "</figcaption>\n<svg class=\"chart grid\" id=\"%s\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", id, width, height, width, height);
    for (size_t c = 0; c < n_cols; c++) {
        fprintf(f, "<text x=\"%.1f\" y=\"30\" class=\"col\" text-anchor=\"middle\"%s>",
                label_w + cell_w * ((double)c + 0.5), n_cols > 12 ? " font-size=\"8\"" : "");
        report_html_escape(f, col_labels[c]);
        fputs("</text>\n", f);
    }
    for (size_t r = 0; r < n_rows; r++) {
        double y = 36 + cell_h * (double)r;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" class=\"label\" text-anchor=\"end\">", label_w - 6,
                y + 16);
        report_html_escape(f, row_labels[r]);
        fputs("</text>\n", f);
        for (size_t c = 0; c < n_cols; c++) {
            double x = label_w + cell_w * (double)c, val = v[r * n_cols + c];
            char fill[24], num[32];
            if (mode == GRID_RISK) { /* rows likelihood 5..1, columns consequence 1..5 */
                int score = (int)(5 - r) * (int)(c + 1);
                snprintf(fill, sizeof fill, "%s", score >= 15 ? "#e6b0aa" : score >= 8 ? "#f9e79f"
                                                                                       : "#d5f5e3");
            } else if (mode == GRID_PASS) {
                snprintf(fill, sizeof fill, "%s", val > 0 ? "#abebc6" : "#f5b7b1");
            } else {
                int shade = max > 0 ? (int)(235 - 150 * val / max) : 235;
                snprintf(fill, sizeof fill, "rgb(%d,%d,255)", val > 0 ? shade : 245,
                         val > 0 ? shade : 245);
            }
            fmt_num(num, sizeof num, val);
            const char *text = mode == GRID_PASS && yes ? (val > 0 ? yes : no) : num;
            fprintf(f, "<rect class=\"cell\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                       "fill=\"%s\" stroke=\"#fff\" data-value=\"%s\"><title>", x, y, cell_w,
                    cell_h, fill, num);
            report_html_escape(f, row_labels[r]);
            fputs(" / ", f);
            report_html_escape(f, col_labels[c]);
            fprintf(f, ": %s</title></rect><text x=\"%.1f\" y=\"%.1f\" class=\"cellv\" "
                       "text-anchor=\"middle\">%s</text>\n", num, x + cell_w / 2, y + 16,
                    mode == GRID_PASS && !yes && val == 0 ? "gap" : text);
        }
    }
    fputs("</svg></figure>\n", f);
}

/* Rows from the integer members of obj named in keys (labels the same). */
static size_t rows_of(struct json_object *obj, const char *const *keys, struct bar_row *rows)
{
    size_t n = 0;
    for (; keys[n]; n++) {
        rows[n].label = keys[n];
        memset(rows[n].v, 0, sizeof rows[n].v);
        rows[n].v[0] = (double)report_json_int(obj, keys[n]);
    }
    return n;
}

static const char *const style =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1c2833;max-width:1100px}"
    "h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ccd;margin-top:28px}"
    "figure{margin:10px 0}figcaption{font-weight:600;margin-bottom:4px}"
    "svg text{font-size:11px;fill:#1c2833}.legend{font-size:12px}"
    "table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d5d8dc;padding:3px 8px;"
    "text-align:left}td.fig,td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".note{color:#566573;font-size:12px}.gap{color:#c0392b;font-weight:600}";

/* The start of a page and the note under its title, which names head
 * office and the period (a review) or the as-of date: report_html_period
 * reads the period back from these very strings. */
#define PAGE_DOCTYPE "<!DOCTYPE html>\n"
#define NOTE_START "<p class=\"note\">Head office "
#define NOTE_PERIOD ", period "
#define NOTE_TO " to "

static void page_start(FILE *f, const char *title, struct json_object *rep)
{
    fputs(PAGE_DOCTYPE "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
    report_html_escape(f, title);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>", style);
    report_html_escape(f, title);
    fputs("</h1>\n" NOTE_START, f);
    report_html_escape(f, json_object_get_string(report_json_at(rep, "head_office", NULL)));
    struct json_object *from = report_json_at(rep, "from", NULL);
    if (from) {
        fputs(NOTE_PERIOD, f);
        report_html_escape(f, json_object_get_string(from));
        fputs(NOTE_TO, f);
        report_html_escape(f, json_object_get_string(report_json_at(rep, "to", NULL)));
    } else {
        fputs(", as of ", f);
        report_html_escape(f, json_object_get_string(report_json_at(rep, "as_of", NULL)));
    }
    fprintf(f, ", <span id=\"site-count\">%zu</span> sites.</p>\n",
            json_object_array_length(report_json_at(rep, "sites", NULL)));
}

int report_html_period(const char *text, char from[ISOTIME_DATE_LEN + 1],
                       char to[ISOTIME_DATE_LEN + 1])
{
    if (strncmp(text, PAGE_DOCTYPE, strlen(PAGE_DOCTYPE)))
        return 0;
    const char *note = strstr(text, NOTE_START), *end = note ? strstr(note, "</p>") : NULL;
    const char *p = end ? strstr(note, NOTE_PERIOD) : NULL;
    if (!p || p > end)
        return 0; /* no note, or an as-of date: gaps and aeo */
    p += strlen(NOTE_PERIOD);
    return report_read_date(p, from) &&
           !strncmp(p + ISOTIME_DATE_LEN, NOTE_TO, strlen(NOTE_TO)) &&
           report_read_date(p + ISOTIME_DATE_LEN + strlen(NOTE_TO), to);
}

/* ------------------------------------------------------------ review */

static void review_incidents(FILE *f, struct json_object *rep)
{
    static const char *const series[] = {"incidents", "near misses"};
    struct json_object *tot = report_json_at(rep, "incidents", "total", NULL);
    struct json_object *months = report_json_at(rep, "months", NULL);
    size_t nm = json_object_array_length(months), ns;
    struct bar_row rows[REPORT_MAX_MONTHS + 16];
    const char *mlabels[REPORT_MAX_MONTHS];
    memset(rows, 0, sizeof rows);
    fputs("<h2 id=\"incidents\">Incidents and near misses</h2>\n", f);
    for (size_t i = 0; i < nm; i++) {
        const char *m = json_object_get_string(json_object_array_get_idx(months, i));
        struct json_object *x = report_json_at(tot, "by_month", m, NULL);
        mlabels[i] = m;
        rows[i].label = m;
        rows[i].v[0] = (double)report_json_int(x, "incidents");
        rows[i].v[1] = (double)report_json_int(x, "near_misses");
    }
    chart_bars(f, "chart-incidents-month", "Per month, all chosen sites", series, 2, rows, nm, 1);

    /* the sites with the most, by month */
    struct json_object *by = report_json_at(rep, "incidents", "by_site", NULL);
    struct json_object *sites = report_json_at(rep, "sites", NULL);
    ns = json_object_array_length(sites);
    size_t *order = calloc(ns ? ns : 1, sizeof *order), shown = 0;
    double *cells = calloc(MAX_GRID_ROWS * (nm ? nm : 1), sizeof *cells);
    const char *labels[MAX_GRID_ROWS];
    if (order && cells) {
        int64_t *total = calloc(ns ? ns : 1, sizeof *total);
        for (size_t i = 0; total && i < ns; i++) {
            struct json_object *s = report_json_at(by, json_object_get_string(json_object_array_get_idx(sites, i)), NULL);
            total[i] = report_json_int(s, "incidents") + report_json_int(s, "near_misses");
            order[i] = i;
        }
        for (size_t i = 0; total && i < ns && shown < MAX_GRID_ROWS; i++) { /* selection: top rows */
            size_t best = i;
            for (size_t k = i + 1; k < ns; k++)
                if (total[order[k]] > total[order[best]])
                    best = k;
            size_t t = order[i];
            order[i] = order[best];
            order[best] = t;
            const char *name = json_object_get_string(json_object_array_get_idx(sites, order[i]));
            labels[shown] = name;
            for (size_t m = 0; m < nm; m++) {
                struct json_object *x = report_json_at(by, name, "by_month", mlabels[m], NULL);
                cells[shown * nm + m] = (double)(report_json_int(x, "incidents") +
                                                 report_json_int(x, "near_misses"));
            }
            shown++;
        }
        free(total);
        char title[128];
        snprintf(title, sizeof title, "Incidents and near misses per site and month (%zu of %zu "
                 "sites, most first)", shown, ns);
        chart_grid(f, "chart-incidents-sites", title, labels, shown, mlabels, nm, cells, GRID_HEAT,
                   NULL, NULL);
    }
    free(order);
    free(cells);

    struct json_object *cat = report_json_at(tot, "by_category", NULL);
    size_t nc = 0;
    json_object_object_foreach(cat, k, v) {
        rows[nc].label = k;
        memset(rows[nc].v, 0, sizeof rows[nc].v);
        rows[nc++].v[0] = (double)json_object_get_int64(v);
    }
    static const char *const count[] = {"incidents and near misses"};
    chart_bars(f, "chart-incidents-category", "By threat category (ISO 28000 4.3.1)", count, 1,
               rows, nc, 1);
}

static void review_risks(FILE *f, struct json_object *rep)
{
    static const char *const likelihood[] = {"likelihood 5", "likelihood 4", "likelihood 3",
                                             "likelihood 2", "likelihood 1"};
    static const char *const consequence[] = {"C 1", "C 2", "C 3", "C 4", "C 5"};
    struct json_object *tot = report_json_at(rep, "risks", "total", NULL);
    fprintf(f, "<h2 id=\"risks\">Risks</h2>\n<p>%lld open risks, <b id=\"risk-intolerable\">%lld"
               "</b> intolerable (residual score above %lld), %lld assessed in the period.</p>\n",
            (long long)report_json_int(tot, "open"), (long long)report_json_int(tot, "intolerable"),
            (long long)report_json_int(tot, "threshold"),
            (long long)report_json_int(tot, "new_in_period"));
    static const char *const keys[] = {"inherent", "residual"};
    for (int m = 0; m < 2; m++) {
        double cells[25];
        struct json_object *map = report_json_at(tot, keys[m], NULL);
        for (int l = 5; l >= 1; l--)
            for (int c = 1; c <= 5; c++)
                cells[(5 - l) * 5 + c - 1] = (double)json_object_get_int64(
                    json_object_array_get_idx(json_object_array_get_idx(map, (size_t)l - 1), (size_t)c - 1));
        char id[32], title[96];
        snprintf(id, sizeof id, "chart-risk-%s", keys[m]);
        snprintf(title, sizeof title, "%s risk, likelihood x consequence, across sites",
                 m ? "Residual" : "Inherent");
        chart_grid(f, id, title, likelihood, 5, consequence, 5, cells, GRID_RISK, NULL, NULL);
    }
}

static void review_actions(FILE *f, struct json_object *rep)
{
    static const char *const one[] = {"actions"};
    static const char *const statuses[] = {"open", "implemented", "verified_effective", "closed", NULL};
    static const char *const buckets[] = {"1-30", "31-90", "91-180", "over_180", NULL};
    struct bar_row rows[8];
    struct json_object *tot = report_json_at(rep, "actions", "total", NULL);
    fprintf(f, "<h2 id=\"actions\">Corrective and preventive actions</h2>\n<p>%lld overdue; "
               "%lld corrective and %lld preventive raised in the period.</p>\n",
            (long long)report_json_int(tot, "overdue"),
            (long long)report_json_int(tot, "raised_corrective"),
            (long long)report_json_int(tot, "raised_preventive"));
    size_t n = rows_of(report_json_at(tot, "by_status", NULL), statuses, rows);
    chart_bars(f, "chart-actions-status", "By status", one, 1, rows, n, 1);
    n = rows_of(report_json_at(tot, "overdue_days", NULL), buckets, rows);
    chart_bars(f, "chart-actions-ageing", "Open and overdue, by days past due", one, 1, rows, n, 1);
}

static void review_audits(FILE *f, struct json_object *rep)
{
    static const char *const series[] = {"observation", "nonconformity"};
    struct bar_row rows[32];
    size_t n = 0;
    struct json_object *tot = report_json_at(rep, "audits", "total", NULL);
    fprintf(f, "<h2 id=\"audits\">Audits</h2>\n<p>%lld planned in the period, %lld held, %lld not "
               "held by their date; %lld findings.</p>\n",
            (long long)report_json_int(tot, "planned"), (long long)report_json_int(tot, "held"),
            (long long)report_json_int(tot, "not_held"), (long long)report_json_int(tot, "findings"));
    json_object_object_foreach(report_json_at(tot, "findings_by_clause", NULL), k, v) {
        if (n == 32)
            break;
        rows[n].label = k;
        memset(rows[n].v, 0, sizeof rows[n].v);
        rows[n].v[0] = (double)report_json_int(v, "observation");
        rows[n++].v[1] = (double)report_json_int(v, "nonconformity");
    }
    chart_bars(f, "chart-findings-clause", "Audit findings by ISO 28000 clause", series, 2, rows,
               n, 1);
}

static void review_measurements(FILE *f, struct json_object *rep)
{
    static const char *const series[] = {"mean in period", "latest", "objective target"};
    static const char *const obj_keys[] = {"open", "achieved", "missed", "cancelled", NULL};
    static const char *const one[] = {"objectives"};
    struct bar_row rows[32];
    size_t n = 0;
    struct json_object *tot = report_json_at(rep, "measurements", "total", NULL);
    fprintf(f, "<h2 id=\"measurements\">Measurements against objectives and targets</h2>\n"
               "<p>%lld measurements in the period, %lld of them of indicators not drawn here; "
               "<span id=\"objectives-unmeasured\">%lld</span> open objectives had nothing "
               "measured against them.</p>\n",
            (long long)report_json_int(tot, "measurements"),
            (long long)report_json_int(tot, "other_indicators"),
            (long long)report_json_int(tot, "objectives_unmeasured"));
    json_object_object_foreach(report_json_at(tot, "by_indicator", NULL), k, v) {
        if (n == 32)
            break;
        rows[n].label = k;
        memset(rows[n].v, 0, sizeof rows[n].v);
        rows[n].v[0] = json_object_get_double(report_json_at(v, "mean", NULL));
        rows[n].v[1] = json_object_get_double(report_json_at(v, "latest", NULL));
        rows[n++].v[2] = json_object_get_double(report_json_at(v, "objective_target", NULL));
    }
    chart_bars(f, "chart-measurements", "Measured indicators against their objective's target",
               series, 3, rows, n, 0);
    n = rows_of(report_json_at(tot, "objectives", NULL), obj_keys, rows);
    chart_bars(f, "chart-objectives", "Objectives by status", one, 1, rows, n, 1);
}

/* A section drawn as one bar per figure of its total. */
static void review_simple(FILE *f, struct json_object *rep, const char *section,
                          const char *heading, const char *id, const char *const *keys,
                          const char *caption)
{
    static const char *const one[] = {"count"};
    struct bar_row rows[16];
    fprintf(f, "<h2 id=\"%s\">", section);
    report_html_escape(f, heading);
    fputs("</h2>\n", f);
    size_t n = rows_of(report_json_at(rep, section, "total", NULL), keys, rows);
    chart_bars(f, id, caption, one, 1, rows, n, 1);
}

static void review_equipment(FILE *f, struct json_object *rep)
{
    static const char *const one[] = {"equipment"};
    static const char *const statuses[] = {"in_service", "out_of_calibration", "removed_from_use", NULL};
    static const char *const more[] = {"calibration_overdue", "calibrations_passed",
                                       "calibrations_failed", NULL};
    struct bar_row rows[8];
    struct json_object *tot = report_json_at(rep, "equipment", "total", NULL);
    fputs("<h2 id=\"equipment\">Security equipment and calibration</h2>\n", f);
    size_t n = rows_of(report_json_at(tot, "by_status", NULL), statuses, rows);
    n += rows_of(tot, more, rows + n);
    chart_bars(f, "chart-equipment", "Equipment by status, calibration overdue, calibrations "
               "in the period", one, 1, rows, n, 1);
}

/* Every action an earlier review raised that is still open, one row
 * each, most late first (as the JSON lists them). */
static void open_actions_table(FILE *f, struct json_object *fu)
{
    static const char *const cols[] = {"id", "review", "site", "due_date"};
    struct json_object *open = report_json_at(fu, "open_actions", NULL);
    size_t n = json_object_array_length(open);
    fprintf(f, "<p><b id=\"open-actions-total\">%lld</b> actions raised by earlier reviews are "
               "still open, %lld of them overdue.</p>\n",
            (long long)report_json_int(fu, "open_actions_total"),
            (long long)report_json_int(fu, "open_actions_overdue"));
    if (!n)
        return;
    fputs("<table id=\"open-actions\"><tr><th>action</th><th>review</th><th>site</th>"
          "<th>due</th><th>days late</th></tr>\n", f);
    for (size_t i = 0; i < n; i++) {
        struct json_object *a = json_object_array_get_idx(open, i);
        fputs("<tr>", f);
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
            fputs("<td>", f);
            report_html_escape(f, json_object_get_string(report_json_at(a, cols[k], NULL)));
            fputs("</td>", f);
        }
        fprintf(f, "<td class=\"n\">%lld</td></tr>\n", (long long)report_json_int(a, "days_late"));
    }
    fputs("</table>\n", f);
}

static void review_followup(FILE *f, struct json_object *rep)
{
    static const char *const one[] = {"actions"};
    static const char *const statuses[] = {"open", "implemented", "verified_effective", "closed", NULL};
    struct bar_row rows[8];
    struct json_object *fu = report_json_at(rep, "followup", NULL);
    struct json_object *prev = report_json_at(fu, "previous_review", NULL);
    fputs("<h2 id=\"followup\">Follow-up of earlier management reviews</h2>\n<p>", f);
    if (prev) {
        fputs("Review <b id=\"previous-review\">", f);
        report_html_escape(f, json_object_get_string(prev));
        fputs("</b>, held ", f);
        report_html_escape(f, json_object_get_string(report_json_at(fu, "held_date", NULL)));
        fprintf(f, ": %lld resulting actions, %lld overdue.", (long long)report_json_int(fu, "actions_total"),
                (long long)report_json_int(fu, "overdue"));
    } else {
        fputs("No earlier management review is recorded.", f);
    }
    fputs("</p>\n", f);
    size_t n = rows_of(report_json_at(fu, "actions", NULL), statuses, rows);
    chart_bars(f, "chart-followup", "The previous review's actions by status", one, 1, rows, n, 1);
    open_actions_table(f, fu);
}

static void key_figures(FILE *f, struct json_object *rep)
{
    static const struct {
        const char *id, *label, *section, *key;
    } figs[] = {
        {"incidents", "incidents (not near misses)", "incidents", "incidents"},
        {"near-misses", "near misses", "incidents", "near_misses"},
        {"intolerable-risks", "intolerable risks", "risks", "intolerable"},
        {"overdue-actions", "overdue actions", "actions", "overdue"},
        {"findings", "audit findings", "audits", "findings"},
        {"valid-training", "valid training records", "training", "valid"},
        {"expired-training", "expired training records", "training", "expired"},
        {"calibration-overdue", "equipment with calibration overdue", "equipment",
         "calibration_overdue"},
        {"drills-held", "drills held of those planned", "drills", "held"},
        {"drills-planned", "drills planned in the period", "drills", "planned"},
        {"partners-active", "active business partners", "partners", "active"},
        {"partners-both", "partners with certificate and accepted declaration", "partners",
         "with_both"},
    };
    fputs("<h2 id=\"summary\">Key figures</h2>\n<table id=\"key-figures\">\n", f);
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        fputs("<tr><th>", f);
        report_html_escape(f, figs[i].label);
        fprintf(f, "</th><td class=\"fig\" id=\"fig-%s\">%lld</td></tr>\n", figs[i].id,
                (long long)report_json_int(report_json_at(rep, figs[i].section, "total", NULL),
                                           figs[i].key));
    }
    fputs("</table>\n", f);
}

static void site_table(FILE *f, struct json_object *rep)
{
    static const struct {
        const char *section, *key, *head;
    } cols[] = {{"incidents", "incidents", "incidents"}, {"incidents", "near_misses", "near misses"},
                {"risks", "open", "open risks"}, {"risks", "intolerable", "intolerable"},
                {"actions", "overdue", "overdue actions"}, {"audits", "findings", "findings"},
                {"training", "valid", "valid training"}, {"training", "expired", "expired training"},
                {"equipment", "calibration_overdue", "calibration overdue"},
                {"drills", "not_held", "drills not held"},
                {"partners", "declarations_in_force", "accepted declarations in force"}};
    struct json_object *sites = report_json_at(rep, "sites", NULL);
    fputs("<h2 id=\"sites\">Per site, and head office's own records</h2>\n<table id=\"by-site\"><tr><th>site</th>", f);
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
        fprintf(f, "<th>%s</th>", cols[c].head);
    fputs("</tr>\n", f);
    size_t n = json_object_array_length(sites);
    for (size_t i = 0; i <= n; i++) { /* each site, then head office's own records */
        const char *s = json_object_get_string(
            i < n ? json_object_array_get_idx(sites, i) : report_json_at(rep, "head_office", NULL));
        fputs("<tr><td>", f);
        report_html_escape(f, s);
        fputs("</td>", f);
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            fprintf(f, "<td class=\"n\">%lld</td>", (long long)report_json_int(
                report_json_at(rep, cols[c].section, "by_site", s, NULL), cols[c].key));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void html_review(struct json_object *rep, FILE *f)
{
    static const char *const training[] = {"valid", "expiring", "expired", "completed_in_period",
                                           "failed_in_period", "sites_covered", NULL};
    static const char *const drills[] = {"planned", "held", "not_held", "pending", "cancelled", NULL};
    static const char *const partners[] = {"active", "exempt", "with_certificate",
                                           "with_declaration", "with_both", "with_neither",
                                           "certificates_expiring", "declarations_awaiting_review",
                                           "declarations_rejected", "unlisted", NULL};
    static const char *const other[] = {"evaluations", "evaluations_compliant",
                                        "nonconformities_raised", "new_legal_requirements", NULL};
    page_start(f, "Management review pack (ISO 28000 4.6)", rep);
    key_figures(f, rep);
    review_incidents(f, rep);
    review_risks(f, rep);
    review_actions(f, rep);
    review_audits(f, rep);
    review_measurements(f, rep);
    review_simple(f, rep, "training", "Training coverage and expiries", "chart-training", training,
                  "Training records: valid at the period end, expiring soon, expired; completed "
                  "in the period");
    review_equipment(f, rep);
    review_simple(f, rep, "drills", "Drills held against plan", "chart-drills", drills,
                  "Drills planned in the period, by outcome");
    review_simple(f, rep, "partners", "Business partner declarations and certificates",
                  "chart-partners", partners, "Active partners and their evidence");
    review_followup(f, rep);
    review_simple(f, rep, "other_inputs", "Other review inputs", "chart-other", other,
                  "Evaluations of compliance, nonconformities, changing circumstances");
    site_table(f, rep);
    fputs("</body></html>\n", f);
}

/* ------------------------------------------------------------ gaps, aeo */

static void html_gaps(struct json_object *rep, FILE *f)
{
    struct json_object *clauses = report_json_at(rep, "clauses", NULL);
    struct json_object *by = report_json_at(rep, "by_site", NULL);
    size_t nc = json_object_array_length(clauses), ns = (size_t)json_object_object_length(by), r = 0;
    const char **cols = calloc(nc ? nc : 1, sizeof *cols), **rows = calloc(ns ? ns : 1, sizeof *rows);
    double *cells = calloc((ns ? ns : 1) * (nc ? nc : 1), sizeof *cells);
    page_start(f, "Evidence gaps against ISO 28000 clauses 4.1 to 4.6", rep);
    fprintf(f, "<p><b id=\"gaps-total\">%lld</b> gaps in all.</p>\n",
            (long long)report_json_int(rep, "gaps_total"));
    if (cols && rows && cells) {
        for (size_t c = 0; c < nc; c++)
            cols[c] = json_object_get_string(json_object_array_get_idx(clauses, c));
        json_object_object_foreach(by, site, v) {
            rows[r] = site;
            for (size_t c = 0; c < nc; c++) {
                double n = 0;
                json_object_object_foreach(report_json_at(v, "clauses", cols[c], "records", NULL), t, cnt) {
                    (void)t;
                    n += (double)json_object_get_int64(cnt);
                }
                cells[r * nc + c] = n;
            }
            r++;
        }
        chart_grid(f, "chart-gaps", "Current records evidencing each clause, per site", rows, ns,
                   cols, nc, cells, GRID_PASS, NULL, NULL);
    }
    fputs("<table id=\"gaps\"><tr><th>site</th><th>clauses without current evidence</th></tr>\n", f);
    json_object_object_foreach(by, site2, v2) {
        struct json_object *g = report_json_at(v2, "gaps", NULL);
        fputs("<tr><td>", f);
        report_html_escape(f, site2);
        fputs("</td><td class=\"gap\">", f);
        report_print_list(f, g, 1);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</body></html>\n", f);
    free(cols);
    free(rows);
    free(cells);
}

static void html_aeo(struct json_object *rep, FILE *f)
{
    static const char *const areas[] = {"A", "B", "C", "D", "E", "F", "G", "H", "I"};
    struct json_object *by = report_json_at(rep, "by_site", NULL);
    size_t ns = (size_t)json_object_object_length(by), r = 0;
    const char **rows = calloc(ns ? ns : 1, sizeof *rows);
    double *cells = calloc((ns ? ns : 1) * 9, sizeof *cells);
    page_start(f, "AEO readiness per site (ISO 28004-4)", rep);
    fputs("<table id=\"areas\"><tr><th>area</th><th>requirement</th><th>ISO 28000 clauses</th></tr>\n", f);
    json_object_object_foreach(report_json_at(rep, "areas", NULL), a, av) {
        fprintf(f, "<tr><td>%s</td><td>", a);
        report_html_escape(f, json_object_get_string(report_json_at(av, "requirement", NULL)));
        fputs("</td><td>", f);
        report_html_escape(f, json_object_get_string(report_json_at(av, "clauses", NULL)));
        fputs("</td></tr>\n", f);
    }
    fprintf(f, "</table>\n<p><b id=\"sites-ready\">%lld</b> sites ready in every area.</p>\n",
            (long long)report_json_int(rep, "sites_ready"));
    if (rows && cells) {
        json_object_object_foreach(by, site, v) {
            rows[r] = site;
            for (size_t a = 0; a < 9; a++)
                cells[r * 9 + a] = json_object_get_boolean(report_json_at(v, areas[a], "ready", NULL));
            r++;
        }
        chart_grid(f, "chart-aeo", "Readiness by AEO area", rows, ns, areas, 9, cells, GRID_PASS,
                   "ready", "gap");
    }
    fputs("<table id=\"missing\"><tr><th>site</th><th>area</th><th>missing evidence</th></tr>\n", f);
    json_object_object_foreach(by, site2, v2) {
        for (size_t a = 0; a < 9; a++) {
            struct json_object *m = report_json_at(v2, areas[a], "missing", NULL);
            if (!json_object_array_length(m))
                continue;
            fputs("<tr><td>", f);
            report_html_escape(f, site2);
            fprintf(f, "</td><td>%s</td><td class=\"gap\">", areas[a]);
            report_print_list(f, m, 1);
            fputs("</td></tr>\n", f);
        }
    }
    fputs("</table>\n</body></html>\n", f);
    free(rows);
    free(cells);
}

void report_html(struct json_object *rep, enum report_kind kind, FILE *f)
{
    switch (kind) {
    case REPORT_GAPS: html_gaps(rep, f); break;
    case REPORT_AEO: html_aeo(rep, f); break;
    case REPORT_REVIEW: html_review(rep, f); break;
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * tui_text.c — primitives: lines, numbers, durations, cutting, columns.
 * The builders that read the model are in the second half.
 */
#include "tui_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "correlator.h"
#include "host_metrics.h"
#include "record.h"
#include "record_json.h"
#include "subject_match.h"
#include "swar.h"
#include "tui_model.h"

/* ---- lines -------------------------------------------------------------- */

void tl_clear(struct tui_line *l)
{
	l->len = 0;
	l->text[0] = '\0';
}

static char printable(char c)
{
	return (unsigned char)c < 0x20 || (unsigned char)c >= 0x7f ? '.' : c;
}

/*
 * Eight bytes at a time, checked as they are copied: the live view runs
 * this over the comm, subject and reply of every record (400k a second at
 * 100k NATS msgs/s system-wide, where copying and then fixing up byte by
 * byte was a tenth of `top -b`'s time), and those are nearly always plain
 * ASCII. Fixing up after a memcpy() also read back bytes still on their
 * way to memory, a stall of its own.
 */
void copy_printable(char *dst, const char *src, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x = swar_load(src + i);

		if (swar_below(x, 0x20) | swar_del_or_high(x)) {
			for (size_t j = i; j < i + 8; j++)
				dst[j] = printable(src[j]);
			continue;
		}
		memcpy(dst + i, &x, 8);
	}
	for (; i < n; i++)
		dst[i] = printable(src[i]);
	dst[n] = '\0';
}

void make_printable(char *s)
{
	copy_printable(s, s, strlen(s));
}

static void tl_append(struct tui_line *l, enum tui_hl hl, const char *s, size_t n)
{
	for (size_t i = 0; i < n && l->len < TUI_LINE_MAX; i++) {
		l->text[l->len] = printable(s[i]);
		l->hl[l->len++] = hl;
	}
	l->text[l->len] = '\0';
}

void tl_add(struct tui_line *l, enum tui_hl hl, const char *fmt, ...)
{
	char buf[TUI_LINE_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		tl_append(l, hl, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void tl_pad(struct tui_line *l, int col)
{
	while (l->len < col && l->len < TUI_LINE_MAX) {
		l->text[l->len] = ' ';
		l->hl[l->len++] = HL_NONE;
	}
	l->text[l->len] = '\0';
}

/* ---- numbers ------------------------------------------------------------ */

/* v scaled by `base` until it fits: "%.1f" below 9.95, "%.0f" up to the
 * next unit, so the result is at most 4 digits and a unit letter. */
static char *fmt_scaled(char *buf, size_t n, double v, double base,
			const char *units)
{
	if (!(v > 0) || !isfinite(v)) {
		snprintf(buf, n, "0");
		return buf;
	}
	if (v < 9.95 && v != floor(v)) {
		snprintf(buf, n, "%.1f", v);
		return buf;
	}
	if (v < base - 0.5) {
		snprintf(buf, n, "%.0f", v);
		return buf;
	}
	for (const char *u = units; *u; u++) {
		v /= base;
		if (v < 9.95) {
			snprintf(buf, n, "%.1f%c", v, *u);
			return buf;
		}
		if (v < base - 0.5 || !u[1]) {
			snprintf(buf, n, "%.0f%c", v, *u);
			return buf;
		}
	}
	return buf;
}

char *fmt_si(char *buf, size_t n, double v)
{
	return fmt_scaled(buf, n, v, 1000, "kMGTP");
}

char *fmt_bytes(char *buf, size_t n, double v)
{
	/* a byte count below 10 has no fraction to show */
	if (v > 0 && v < 9.95)
		v = round(v);
	return fmt_scaled(buf, n, v, 1024, "KMGTP");
}

char *fmt_kib(char *buf, size_t n, uint64_t kib)
{
	static const char units[] = "MGTP";
	double v = kib;

	if (kib < 1024) {
		snprintf(buf, n, "%lluK", (unsigned long long)kib);
		return buf;
	}
	for (const char *u = units; *u; u++) {
		v /= 1024;
		if (v < 1023.5 || !u[1]) {
			/* memory sizes read better with one decimal: 15.6G */
			snprintf(buf, n, v < 99.95 ? "%.1f%c" : "%.0f%c", v, *u);
			return buf;
		}
	}
	return buf;
}

char *fmt_dur(char *buf, size_t n, uint64_t ns, bool zero_dash)
{
	static const struct { double div; const char *unit; } small[] = {
		{ 1e3, "us" }, { 1e6, "ms" }, { 1e9, "s" },
	};
	uint64_t s = (ns + 500000000ull) / 1000000000ull;   /* rounded, as above */

	if (ns == 0) {
		snprintf(buf, n, zero_dash ? "-" : "0");
		return buf;
	}
	if (ns < 1000) {
		snprintf(buf, n, "%lluns", (unsigned long long)ns);
		return buf;
	}
	for (size_t i = 0; i < sizeof(small) / sizeof(*small); i++) {
		double v = ns / small[i].div;

		if (v >= 999.5 || (i == 2 && v >= 59.5))
			continue;
		snprintf(buf, n, v < 9.95 ? "%.1f%s" : "%.0f%s", v, small[i].unit);
		return buf;
	}
	if (s < 3600)
		snprintf(buf, n, "%llum%02llu", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%lluh%02llu", (unsigned long long)s / 3600,
			 (unsigned long long)s / 60 % 60);
	else
		snprintf(buf, n, "%llud%02llu", (unsigned long long)s / 86400,
			 (unsigned long long)s / 3600 % 24);
	return buf;
}

char *fmt_age(char *buf, size_t n, uint64_t ns)
{
	uint64_t s = ns / 1000000000ull;

	if (s < 1)
		snprintf(buf, n, "<1s");
	else if (s < 60)
		snprintf(buf, n, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, n, "%llum", (unsigned long long)s / 60);
	else if (s < 86400)
		snprintf(buf, n, "%lluh", (unsigned long long)s / 3600);
	else
		snprintf(buf, n, "%llud", (unsigned long long)s / 86400);
	return buf;
}

char *fmt_clock(char *buf, size_t n, uint64_t epoch_ns, bool millis)
{
	time_t t = epoch_ns / 1000000000ull;
	struct tm tm;

	localtime_r(&t, &tm);
	if (millis)
		snprintf(buf, n, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (unsigned)(epoch_ns / 1000000 % 1000));
	else
		snprintf(buf, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

/* ---- cutting ------------------------------------------------------------ */

char *fit_text(char *dst, size_t n, const char *src, int width, enum tui_cut cut)
{
	size_t len = strlen(src);
	size_t w = width > 0 ? (size_t)width : 0;

	if (w >= n)
		w = n - 1;
	if (len <= w) {
		memcpy(dst, src, len + 1);
	} else if (w == 0) {
		dst[0] = '\0';
	} else if (cut == CUT_MIDDLE && w >= 5) {
		size_t head = (w - 1) / 2, tail = w - 1 - head;

		memcpy(dst, src, head);
		dst[head] = '~';
		memcpy(dst + head + 1, src + len - tail, tail);
		dst[w] = '\0';
	} else {
		memcpy(dst, src, w - 1);
		dst[w - 1] = '~';
		dst[w] = '\0';
	}
	make_printable(dst);
	return dst;
}

/* ---- tables ------------------------------------------------------------- */

static int need_width(const struct tui_col *cols, int n, const int *w)
{
	int need = 0, shown = 0;

	for (int i = 0; i < n; i++) {
		if (w[i] < 0)
			continue;
		need += cols[i].flex ? (cols[i].want > cols[i].width ? cols[i].want :
					cols[i].width) : cols[i].width;
		shown++;
	}
	return need + (shown ? shown - 1 : 0);
}

/* Mark the next column to drop with w = -1; false when none is left. */
static bool drop_one(const struct tui_col *cols, int n, int *w)
{
	int best = -1;

	for (int i = 0; i < n; i++)
		if (w[i] >= 0 && cols[i].drop && (best < 0 || cols[i].drop > cols[best].drop))
			best = i;
	if (best < 0)
		return false;
	w[best] = -1;
	return true;
}

int tui_layout(const struct tui_col *cols, int n, int width, int *w)
{
	int used = 0, flex = 0, spare, last_flex = -1, shown = 0, total = 0;

	for (int i = 0; i < n; i++)
		w[i] = 0;
	while (need_width(cols, n, w) > width && drop_one(cols, n, w))
		;
	for (int i = 0; i < n; i++) {
		if (w[i] < 0) {
			w[i] = 0;
			continue;
		}
		w[i] = cols[i].width;
		used += w[i] + (shown++ ? 1 : 0);
		flex += cols[i].flex;
		if (cols[i].flex)
			last_flex = i;
	}
	spare = width - used;
	if (spare > 0 && flex > 0) {
		int given = 0;

		for (int i = 0; i < n; i++) {
			int extra = w[i] ? spare * cols[i].flex / flex : 0;

			w[i] += extra;
			given += extra;
		}
		w[last_flex] += spare - given;   /* rounding leftovers */
	}
	shown = 0;
	for (int i = 0; i < n; i++)
		if (w[i])
			total += w[i] + (shown++ ? 1 : 0);
	return total;
}

static void put_cell(struct tui_line *l, const struct tui_col *c, int w,
		     const char *text, enum tui_hl hl)
{
	char buf[TUI_LINE_MAX + 1];
	int len, start = l->len;

	fit_text(buf, sizeof(buf), text ? text : "", w, c->cut);
	len = strlen(buf);
	if (c->right)
		tl_pad(l, start + w - len);
	tl_add(l, hl, "%s", buf);
	tl_pad(l, start + w);
}

void tui_cells_line(struct tui_line *l, const struct tui_col *cols,
		    const int *w, int n, const char *const *cells,
		    const unsigned char *hl)
{
	bool first = true;

	tl_clear(l);
	for (int i = 0; i < n; i++) {
		if (!w[i])
			continue;   /* dropped for lack of room */
		if (!first)
			tl_add(l, HL_NONE, " ");
		first = false;
		put_cell(l, &cols[i], w[i], cells[i], hl ? hl[i] : HL_NONE);
	}
}

void tui_header_line(struct tui_line *l, const struct tui_col *cols,
		     const int *w, int n, int sort_col)
{
	bool first = true;

	tl_clear(l);
	for (int i = 0; i < n; i++) {
		struct tui_col c = cols[i];

		if (!w[i])
			continue;
		if (!first)
			tl_add(l, HL_LABEL, " ");
		first = false;
		c.cut = CUT_END;   /* a name reads from its start */
		put_cell(l, &c, w[i], cols[i].name, i == sort_col ? HL_TITLE : HL_LABEL);
	}
}

/* ======================================================================== */
/* Builders: everything below reads the model.                              */
/* ======================================================================== */


#define NS 1000000000ull

/* ---- thresholds (atop-like: warn, then critical) ------------------------ */

static enum tui_hl level(double v, double warn, double crit)
{
	return v >= crit ? HL_CRIT : v >= warn ? HL_WARN : HL_NONE;
}

/* ---- header ------------------------------------------------------------- */

/* Lines made of items that wrap to a continuation line when the next one
 * would not fit: NET and DSK grow with the host, the screen does not. */
struct hdr {
	struct tui_line *out;
	int n, max, width;
	bool cont;             /* the current line is a continuation */
};

static struct tui_line *hdr_new_line(struct hdr *h, const char *label)
{
	struct tui_line *l;

	if (h->n >= h->max)
		return NULL;
	l = &h->out[h->n++];
	tl_clear(l);
	tl_add(l, HL_LABEL, "%-4s", label);
	return l;
}

/* An optional item (an idle interface) is shown only where it fits
 * without a new line. */
static void hdr_item_opt(struct hdr *h, const struct tui_line *item, bool optional)
{
	struct tui_line *l = h->n ? &h->out[h->n - 1] : NULL;

	if (!l)
		return;
	if (l->len > 4 && l->len + 1 + item->len > h->width) {
		if (optional)
			return;
		l = hdr_new_line(h, "");
		if (!l)
			return;
	}
	tl_add(l, HL_NONE, " ");
	for (int i = 0; i < item->len && l->len < TUI_LINE_MAX; i++) {
		l->text[l->len] = item->text[i];
		l->hl[l->len++] = item->hl[i];
	}
	l->text[l->len] = '\0';
}

static void hdr_item(struct hdr *h, const struct tui_line *item)
{
	hdr_item_opt(h, item, false);
}

/* One "name value" pair as an item. */
static void hdr_kv(struct hdr *h, const char *name, enum tui_hl hl,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void hdr_kv(struct hdr *h, const char *name, enum tui_hl hl,
		   const char *fmt, ...)
{
	struct tui_line it;
	char val[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	tl_clear(&it);
	if (*name)
		tl_add(&it, HL_DIM, "%s ", name);
	tl_add(&it, hl, "%s", val);
	hdr_item(h, &it);
}

static void title_line(const struct tui_model *m, struct hdr *h)
{
	const struct host_metrics *hm = m->hm_valid ? m->hm : NULL;
	struct tui_line *l = &h->out[h->n++];
	char clk[16], up[16], a[16], b[16];

	tl_clear(l);
	if (m->replay) {
		uint64_t pos = m->now_ns > m->trace_start_ns ? m->now_ns - m->trace_start_ns : 0;
		uint64_t len = m->trace_end_ns > m->trace_start_ns ?
			m->trace_end_ns - m->trace_start_ns : 0;

		tl_add(l, HL_TITLE, "msgscope replay");
		tl_add(l, HL_NONE, " %s  %s  t+%.1fs/%.1fs  x%g", m->source,
		       fmt_clock(clk, sizeof(clk), m->now_ns, false),
		       pos / 1e9, len / 1e9, m->speed);
	} else {
		tl_add(l, HL_TITLE, "msgscope");
		tl_add(l, HL_NONE, " %s  %s", m->host,
		       fmt_clock(clk, sizeof(clk), m->now_ns, false));
	}
	if (hm && hm->uptime_s > 0)
		tl_add(l, HL_NONE, "  up %s", fmt_dur(up, sizeof(up), hm->uptime_s * 1e9, false));
	if (hm && (hm->have_level & HM_SRC_LOADAVG))
		tl_add(l, HL_NONE, "  load %.2f %.2f %.2f", hm->load[0], hm->load[1], hm->load[2]);
	if (hm && hm->tasks_total)
		tl_add(l, HL_NONE, "  tasks %s/%s",
		       fmt_si(a, sizeof(a), hm->tasks_running), fmt_si(b, sizeof(b), hm->tasks_total));
	tl_add(l, HL_NONE, "  delay %gs", m->interval_ns / 1e9);
	if (m->paused)
		tl_add(l, HL_CRIT, "  PAUSED");
	if (m->replay && m->trace_done)
		tl_add(l, HL_WARN, "  END");
}

static void cpu_values(struct tui_line *l, const double *pct)
{
	static const struct { const char *name; int f; } order[] = {
		{ "us", HM_USER }, { "sy", HM_SYSTEM }, { "ni", HM_NICE },
		{ "id", HM_IDLE }, { "wa", HM_IOWAIT }, { "hi", HM_IRQ },
		{ "si", HM_SOFTIRQ }, { "st", HM_STEAL },
	};
	double busy = 100.0 - pct[HM_IDLE];

	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		double v = pct[order[i].f];
		enum tui_hl hl = HL_NONE;

		if (order[i].f == HM_IDLE)
			hl = level(busy, 70, 90);
		else if (order[i].f == HM_IOWAIT || order[i].f == HM_STEAL)
			hl = level(v, 10, 30);
		tl_add(l, HL_DIM, " %s", order[i].name);
		/* 5 columns whatever the value: "100.0" would run into the label
		 * ("id100.0"), so a full share is printed without decimals. */
		tl_add(l, hl, v >= 99.95 ? "%5.0f" : "%5.1f", v);
	}
}

static void cpu_lines(const struct tui_model *m, struct hdr *h)
{
	const struct host_metrics *hm = m->hm;
	struct tui_line *l = hdr_new_line(h, "CPU");

	if (!l)
		return;
	if (!hm->cpu_ok) {
		tl_add(l, HL_DIM, " (measuring)");
		return;
	}
	cpu_values(l, hm->cpu);
	if (l->len + 13 <= h->width)
		tl_add(l, level(100 - hm->cpu[HM_IDLE], 70, 90), "  busy %4.1f%%",
		       100 - hm->cpu[HM_IDLE]);
	if (!m->per_cpu)
		return;
	for (uint32_t c = 0; c < hm->ncpus; c++) {
		const struct hm_cpu_pct *p = &hm->cpus[c];
		char name[12];

		snprintf(name, sizeof(name), "%u", c);
		if (!(l = hdr_new_line(h, name)))
			return;
		if (p->ok)
			cpu_values(l, p->pct);
		else
			tl_add(l, HL_DIM, " %s", p->status == HM_CPU_OFFLINE ? "offline" :
			       p->status == HM_CPU_NEW ? "new (measuring)" : "-");
	}
}

static void mem_line(const struct tui_model *m, struct hdr *h)
{
	const struct host_metrics *hm = m->hm;
	double swap_pct = hm->swap_total_kb ? 100.0 * hm->swap_used_kb / hm->swap_total_kb : 0;
	char a[16], b[16];

	if (!(hm->have_level & HM_SRC_MEMINFO) || !hdr_new_line(h, "MEM"))
		return;
	hdr_kv(h, "tot", HL_NONE, "%s", fmt_kib(a, sizeof(a), hm->mem_total_kb));
	hdr_kv(h, "used", level(hm->mem_used_pct, 80, 90), "%s %.0f%%",
	       fmt_kib(a, sizeof(a), hm->mem_used_kb), hm->mem_used_pct);
	hdr_kv(h, "free", HL_NONE, "%s", fmt_kib(a, sizeof(a), hm->mem_free_kb));
	hdr_kv(h, "buf/cache", HL_NONE, "%s",
	       fmt_kib(a, sizeof(a), hm->buffers_kb + hm->cached_kb));
	hdr_kv(h, "avail", HL_NONE, "%s", fmt_kib(a, sizeof(a), hm->avail_kb));
	if (hm->swap_total_kb)
		hdr_kv(h, "swap", level(swap_pct, 50, 80), "%s/%s",
		       fmt_kib(a, sizeof(a), hm->swap_used_kb),
		       fmt_kib(b, sizeof(b), hm->swap_total_kb));
	else
		hdr_kv(h, "swap", HL_DIM, "none");
}

static void sys_line(const struct tui_model *m, struct hdr *h)
{
	const struct host_metrics *hm = m->hm;
	char a[16], b[16];

	if (!hdr_new_line(h, "SYS"))
		return;
	if (!hm->rates_ok) {
		hdr_kv(h, "", HL_DIM, "(measuring)");
		return;
	}
	hdr_kv(h, "cs", HL_NONE, "%s/s", fmt_si(a, sizeof(a), hm->cswch_s));
	hdr_kv(h, "intr", HL_NONE, "%s/s", fmt_si(a, sizeof(a), hm->intr_s));
	hdr_kv(h, "forks", HL_NONE, "%s/s", fmt_si(a, sizeof(a), hm->forks_s));
	hdr_kv(h, "runq", HL_NONE, "%llu", (unsigned long long)hm->runq);
	hdr_kv(h, "pgin", HL_NONE, "%sB/s", fmt_bytes(a, sizeof(a), hm->pgpgin_kbs * 1024));
	hdr_kv(h, "pgout", HL_NONE, "%sB/s", fmt_bytes(a, sizeof(a), hm->pgpgout_kbs * 1024));
	hdr_kv(h, "majflt", level(hm->majflt_s, 100, 1000), "%s/s",
	       fmt_si(a, sizeof(a), hm->majflt_s));
	if (hm->pswpin_s > 0 || hm->pswpout_s > 0)
		hdr_kv(h, "swpin/out", HL_WARN, "%s/%s",
		       fmt_si(a, sizeof(a), hm->pswpin_s), fmt_si(b, sizeof(b), hm->pswpout_s));
}

static void psi_line(const struct tui_model *m, struct hdr *h)
{
	static const char *const names[HM_PSI_NRES] = { "cpu", "mem", "io" };
	const struct host_metrics *hm = m->hm;
	bool any = false;

	for (int r = 0; r < HM_PSI_NRES; r++)
		any |= hm->psi[r][HM_PSI_SOME].avg_ok;
	if (!any || !hdr_new_line(h, "PSI"))
		return;
	for (int r = 0; r < HM_PSI_NRES; r++) {
		const struct hm_psi_val *some = &hm->psi[r][HM_PSI_SOME];
		const struct hm_psi_val *full = &hm->psi[r][HM_PSI_FULL];

		if (!some->avg_ok)
			continue;
		if (full->avg_ok)
			hdr_kv(h, names[r], level(some->avg10, 10, 25), "%.1f/%.1f%%",
			       some->avg10, full->avg10);
		else
			hdr_kv(h, names[r], level(some->avg10, 10, 25), "%.1f%%", some->avg10);
	}
	hdr_kv(h, "", HL_DIM, "(some/full avg10)");
}

static int cmp_net(const void *a, const void *b)
{
	const struct hm_net_rates *x = *(const struct hm_net_rates *const *)a;
	const struct hm_net_rates *y = *(const struct hm_net_rates *const *)b;
	double tx = x->rx_kbs + x->tx_kbs, ty = y->rx_kbs + y->tx_kbs;

	return tx < ty ? 1 : tx > ty ? -1 : strcmp(x->name, y->name);
}

static void net_lines(const struct tui_model *m, struct hdr *h, int max_lines)
{
	const struct host_metrics *hm = m->hm;
	const struct hm_net_rates *order[HM_MAX_IFACES];
	int first = h->n, saved_max = h->max;

	if (!hm->nnet || !hdr_new_line(h, "NET"))
		return;
	/* busiest first: when they do not all fit, the idle ones go */
	for (uint32_t i = 0; i < hm->nnet; i++)
		order[i] = &hm->net[i];
	qsort(order, hm->nnet, sizeof(*order), cmp_net);
	if (first + max_lines < h->max)
		h->max = first + max_lines;
	for (uint32_t i = 0; i < hm->nnet; i++) {
		const struct hm_net_rates *n = order[i];
		double errs = n->rx_errs + n->tx_errs + n->rx_drops + n->tx_drops;
		char a[16], b[16], c[16], d[16];
		struct tui_line it;

		tl_clear(&it);
		tl_add(&it, HL_LABEL, "%s", n->name);
		if (n->is_new || !hm->rates_ok) {
			tl_add(&it, HL_DIM, " new");
		} else {
			/* rx/tx bytes, then rx/tx packets */
			tl_add(&it, HL_NONE, " %s/%s B/s %s/%s pk/s",
			       fmt_bytes(a, sizeof(a), n->rx_kbs * 1024),
			       fmt_bytes(b, sizeof(b), n->tx_kbs * 1024),
			       fmt_si(c, sizeof(c), n->rx_pps), fmt_si(d, sizeof(d), n->tx_pps));
			if (errs > 0)
				tl_add(&it, HL_CRIT, " err+drop %s/s", fmt_si(a, sizeof(a), errs));
		}
		hdr_item_opt(h, &it, n->is_new || (n->rx_pps + n->tx_pps == 0 && errs == 0));
	}
	h->max = saved_max;
}

static void disk_lines(const struct tui_model *m, struct hdr *h, int max_lines)
{
	const struct host_metrics *hm = m->hm;
	int first = h->n, saved_max = h->max;

	if (!hm->ndisk || !hdr_new_line(h, "DSK"))
		return;
	if (first + max_lines < h->max)
		h->max = first + max_lines;
	for (uint32_t i = 0; i < hm->ndisk; i++) {
		const struct hm_disk_rates *d = &hm->disk[i];
		char a[16], b[16], c[16], e[16], w[16];
		struct tui_line it;

		tl_clear(&it);
		tl_add(&it, HL_LABEL, "%s", d->name);
		if (d->is_new || !hm->rates_ok) {
			tl_add(&it, HL_DIM, " new");
		} else {
			tl_add(&it, HL_DIM, " busy");
			tl_add(&it, level(d->busy_pct, 70, 90), " %.0f%%", d->busy_pct);
			/* reads/writes per second, then their bytes, then await */
			tl_add(&it, HL_NONE, " %s/%s io/s %s/%s B/s aw %s",
			       fmt_si(a, sizeof(a), d->rd_s), fmt_si(b, sizeof(b), d->wr_s),
			       fmt_bytes(c, sizeof(c), d->rkb_s * 1024),
			       fmt_bytes(e, sizeof(e), d->wkb_s * 1024),
			       fmt_dur(w, sizeof(w), d->await_ms * 1e6, true));
		}
		hdr_item_opt(h, &it, d->is_new || d->rd_s + d->wr_s == 0);
	}
	h->max = saved_max;
}

static void self_line(const struct tui_model *m, struct hdr *h)
{
	const struct tui_self *s = &m->self;
	char a[16];

	if (!hdr_new_line(h, "MSC"))
		return;
	if (s->live)
		hdr_kv(h, "events", HL_NONE, "%s/s", fmt_si(a, sizeof(a), s->events_s));
	hdr_kv(h, "msgs", HL_NONE, "%s/s", fmt_si(a, sizeof(a), s->records_s));
	hdr_kv(h, "drops", s->drops_new ? HL_CRIT : s->drops_total ? HL_WARN : HL_NONE,
	       "%llu", (unsigned long long)s->drops_total);
	if (s->live) {
		hdr_kv(h, "perr", s->parse_errors ? HL_WARN : HL_NONE, "%llu",
		       (unsigned long long)s->parse_errors);
		hdr_kv(h, "conns", HL_NONE, "%llu", (unsigned long long)s->conns_open);
	}
	if (m->hm_valid && (m->hm->have_rate & HM_SRC_SELF))
		hdr_kv(h, "cpu", level(m->hm->self_cpu_pct, 50, 90), "%.1f%%",
		       m->hm->self_cpu_pct);
	if (m->hm_valid && m->hm->self_rss_kb)
		hdr_kv(h, "rss", HL_NONE, "%s", fmt_kib(a, sizeof(a), m->hm->self_rss_kb));
	if (s->held_back)
		hdr_kv(h, "held", HL_WARN, "%llu", (unsigned long long)s->held_back);
	if (s->shed_bytes)
		hdr_kv(h, "shed", HL_WARN, "%uB/call", s->shed_bytes);
}

int tui_text_header(const struct tui_model *m, int width,
		    struct tui_line *out, int max)
{
	struct hdr h = { .out = out, .max = max, .width = width };

	if (max <= 0)
		return 0;
	if (width > TUI_LINE_MAX)
		h.width = TUI_LINE_MAX;
	title_line(m, &h);
	if (m->hm_valid) {
		cpu_lines(m, &h);
		mem_line(m, &h);
		sys_line(m, &h);
		psi_line(m, &h);
		net_lines(m, &h, 2);
		disk_lines(m, &h, 2);
	} else if (h.n < h.max) {
		struct tui_line *l = hdr_new_line(&h, "");

		tl_add(l, HL_DIM, m->replay ? "(no host metrics in the trace yet)" :
		       "(host metrics: first sample)");
	}
	self_line(m, &h);
	for (int i = 0; i < h.n; i++) {   /* the title line does not wrap */
		if (out[i].len > h.width) {
			out[i].len = h.width;
			out[i].text[h.width] = '\0';
		}
	}
	return h.n;
}

void tui_text_tabs(const struct tui_model *m, int width, struct tui_line *l)
{
	const struct tui_viewstate *vs = &m->vs[m->view];

	tl_clear(l);
	for (int v = 0; v < TV__COUNT; v++)
		tl_add(l, v == (int)m->view ? HL_TITLE : HL_DIM, " %d %s ", v + 1,
		       tui_view_name(v));
	tl_add(l, HL_NONE, " %zu/%zu", m->table.norder, m->table.nrows);
	if (vs->sort_col >= 0 && vs->sort_col < m->table.ncols)
		tl_add(l, HL_NONE, "  sort %s %s", m->table.cols[vs->sort_col].name,
		       vs->sort_desc ? "desc" : "asc");
	if (m->filter[0])
		tl_add(l, HL_WARN, "  filter \"%s\"", m->filter);
	if (width >= 0 && l->len > width && width <= TUI_LINE_MAX) {
		l->len = width;
		l->text[width] = '\0';
	}
}

/* ---- columns ------------------------------------------------------------ */

enum { F_PROTO, F_FROM, F_TO, F_SUBJECT, F_RATE, F_BYTES, F_P50, F_P99, F_ERR, F_LAST, F__N };
/* name, min width, flex, right, numeric, cut, want, drop */
static const struct tui_col flow_cols[F__N] = {
	[F_PROTO] = { "PROTO", 5, 0, false, false, CUT_END, 0, 0 },
	[F_FROM] = { "FROM", 10, 2, false, false, CUT_END, 14, 0 },
	[F_TO] = { "TO", 10, 2, false, false, CUT_END, 14, 0 },
	[F_SUBJECT] = { "SUBJECT/ENDPOINT", 12, 3, false, false, CUT_MIDDLE, 18, 0 },
	[F_RATE] = { "MSG/s", 5, 0, true, true, CUT_END, 0, 0 },
	[F_BYTES] = { "BYTE/s", 6, 0, true, true, CUT_END, 0, 1 },
	[F_P50] = { "P50", 5, 0, true, true, CUT_END, 0, 3 },
	[F_P99] = { "P99", 5, 0, true, true, CUT_END, 0, 0 },
	[F_ERR] = { "ERR", 4, 0, true, true, CUT_END, 0, 0 },
	[F_LAST] = { "LAST", 4, 0, true, true, CUT_END, 0, 2 },
};

enum { M_TIME, M_PID, M_COMM, M_DIR, M_PROTO, M_SIZE, M_SUMMARY, M__N };
static const struct tui_col msg_cols[M__N] = {
	[M_TIME] = { "TIME", 12, 0, false, true, CUT_END, 0, 0 },
	[M_PID] = { "PID", 7, 0, true, true, CUT_END, 0, 1 },
	[M_COMM] = { "COMM", 12, 0, false, false, CUT_END, 0, 0 },
	[M_DIR] = { "D", 1, 0, false, false, CUT_END, 0, 0 },
	[M_PROTO] = { "PROT", 4, 0, false, false, CUT_END, 0, 2 },
	[M_SIZE] = { "SIZE", 5, 0, true, true, CUT_END, 0, 0 },
	[M_SUMMARY] = { "MESSAGE", 20, 1, false, false, CUT_END, 40, 0 },
};

enum { C_NAME, C_IN, C_OUT, C_BIN, C_BOUT, C_PUB, C_SUB, C_SRV, C_CALL, C_ERR, C__N };
static const struct tui_col comp_cols[C__N] = {
	[C_NAME] = { "COMPONENT", 14, 1, false, false, CUT_END, 24, 0 },
	[C_IN] = { "IN/s", 5, 0, true, true, CUT_END, 0, 0 },
	[C_OUT] = { "OUT/s", 5, 0, true, true, CUT_END, 0, 0 },
	[C_BIN] = { "BIN/s", 5, 0, true, true, CUT_END, 0, 0 },
	[C_BOUT] = { "BOUT/s", 6, 0, true, true, CUT_END, 0, 0 },
	[C_PUB] = { "PUB", 4, 0, true, true, CUT_END, 0, 0 },
	[C_SUB] = { "SUB", 4, 0, true, true, CUT_END, 0, 0 },
	[C_SRV] = { "SRV", 4, 0, true, true, CUT_END, 0, 0 },
	[C_CALL] = { "CALL", 4, 0, true, true, CUT_END, 0, 0 },
	[C_ERR] = { "ERR", 4, 0, true, true, CUT_END, 0, 0 },
};

enum { S_SUBJECT, S_PUBS, S_SUBS, S_RATE, S_MSGS, S_DELIV, S_LAST, S_PAYLOAD, S__N };
static const struct tui_col subj_cols[S__N] = {
	[S_SUBJECT] = { "SUBJECT", 12, 2, false, false, CUT_MIDDLE, 16, 0 },
	[S_PUBS] = { "PUBLISHERS", 10, 1, false, false, CUT_END, 14, 0 },
	[S_SUBS] = { "SUBSCRIBERS", 11, 1, false, false, CUT_END, 14, 0 },
	[S_RATE] = { "MSG/s", 5, 0, true, true, CUT_END, 0, 0 },
	[S_MSGS] = { "MSGS", 5, 0, true, true, CUT_END, 0, 0 },
	[S_DELIV] = { "DELIV", 5, 0, true, true, CUT_END, 0, 2 },
	[S_LAST] = { "LAST", 4, 0, true, true, CUT_END, 0, 1 },
	[S_PAYLOAD] = { "LAST PAYLOAD", 12, 2, false, false, CUT_END, 20, 0 },
};

const struct tui_col *tui_text_columns(int view, int *n, int *sort_col, bool *desc)
{
	*desc = true;
	switch (view) {
	case TV_MESSAGES: *n = M__N; *sort_col = M_TIME; return msg_cols;
	case TV_COMPONENTS: *n = C__N; *sort_col = C_OUT; return comp_cols;
	case TV_SUBJECTS: *n = S__N; *sort_col = S_RATE; return subj_cols;
	default: *n = F__N; *sort_col = F_RATE; return flow_cols;
	}
}

/* ---- message summaries ------------------------------------------------- */

static void snip(char *buf, size_t n, struct slice s)
{
	size_t len = s.len < n - 1 ? s.len : n - 1;

	if (len)
		memcpy(buf, s.ptr, len);
	buf[len] = '\0';
	make_printable(buf);
}

#define SN(name, s) char name[TUI_SUMMARY_MAX]; snip(name, sizeof(name), (s))

static void nats_summary(const struct nats_msg *n, char *buf, size_t len)
{
	const char *op = nats_op_name(n->op);
	char size[16];
	SN(subj, n->subject);
	SN(reply, n->reply);
	SN(sid, n->sid);
	SN(payload, n->payload);

	fmt_bytes(size, sizeof(size), n->size);
	switch (n->op) {
	case NATS_PUB: case NATS_HPUB:
		snprintf(buf, len, "%s %s%s%s %sB: %s", op, subj, *reply ? " reply " : "",
			 reply, size, payload);
		break;
	case NATS_MSG: case NATS_HMSG:
		snprintf(buf, len, "%s %s sid %s%s%s %sB: %s", op, subj, sid,
			 *reply ? " reply " : "", reply, size, payload);
		break;
	case NATS_SUB: {
		SN(queue, n->queue);
		snprintf(buf, len, "SUB %s sid %s%s%s", subj, sid, *queue ? " queue " : "", queue);
		break;
	}
	case NATS_UNSUB:
		if (n->max_msgs >= 0)
			snprintf(buf, len, "UNSUB sid %s max %lld", sid, (long long)n->max_msgs);
		else
			snprintf(buf, len, "UNSUB sid %s", sid);
		break;
	case NATS_INFO: case NATS_CONNECT: case NATS_ERR: {
		SN(arg, n->json);
		snprintf(buf, len, "%s %s", op, arg);
		break;
	}
	default:
		snprintf(buf, len, "%s", op);
	}
}

static void http_summary(const struct http_msg *h, char *buf, size_t len)
{
	char size[16];
	SN(body, h->body);
	SN(version, h->version);

	fmt_bytes(size, sizeof(size), h->body_size);
	if (h->kind == HTTP_REQUEST) {
		SN(method, h->method);
		SN(path, h->path);
		if (h->body_size)
			snprintf(buf, len, "%s %s %s %sB: %s", method, path, version, size, body);
		else
			snprintf(buf, len, "%s %s %s", method, path, version);
	} else {
		SN(reason, h->reason);
		snprintf(buf, len, "%d %s %s %sB: %s", h->status, reason, version, size, body);
	}
}

void tui_text_summary(const struct msg_record *rec, char *buf, size_t n)
{
	buf[0] = '\0';
	if (rec->proto == PROTO_NATS)
		nats_summary(&rec->nats, buf, n);
	else if (rec->proto == PROTO_HTTP)
		http_summary(&rec->http, buf, n);
	make_printable(buf);
}

/* ---- rows: flows -------------------------------------------------------- */

static const char *comp_label(const struct corr_component *c, char *buf, size_t n)
{
	corr_component_label(c, buf, n);
	make_printable(buf);
	return buf;
}

static const char *flow_proto(const struct corr_edge *e)
{
	if (e->proto == PROTO_HTTP)
		return "http";
	switch (e->kind) {
	case FLOW_KIND_REQ: return "n-req";
	case FLOW_KIND_ERR: return "n-err";
	default: return "nats";
	}
}

static void edge_subject(const struct corr_edge *e, char *buf, size_t n)
{
	if (e->method)
		snprintf(buf, n, "%s %s", e->method, e->subject ? e->subject : "");
	else
		snprintf(buf, n, "%s", e->subject ? e->subject : "");
	make_printable(buf);
}

struct rows_ctx {
	const struct tui_model *m;
	struct tui_table *t;
};

static int flow_row(const struct corr_edge *e, void *arg)
{
	struct rows_ctx *x = arg;
	struct corr_stats tot;
	char ident[TUI_IDENT_MAX], from[CORR_NAME_LEN * 2], to[CORR_NAME_LEN * 2];
	char subj[TUI_KEY_MAX + 16], a[16];
	uint64_t age = x->m->now_ns > e->last_ts ? x->m->now_ns - e->last_ts : 0;
	struct tui_row *r;
	double rate[TUI_RATE_VALUES];

	corr_edge_stats(x->m->corr, e, CORR_TOTAL, &tot);
	tui_model_edge_ident(e, ident, sizeof(ident));
	tui_model_rates(x->m, ident, rate);
	if (!(r = tui_table_add_row(x->t, ident)))
		return 1;
	edge_subject(e, subj, sizeof(subj));
	tui_table_set(x->t, r, F_PROTO, flow_proto(e), 0,
		      e->kind == FLOW_KIND_ERR ? HL_CRIT : HL_NONE);
	tui_table_set(x->t, r, F_FROM, e->from ? comp_label(e->from, from, sizeof(from)) : "?", 0, HL_NONE);
	tui_table_set(x->t, r, F_TO, e->to ? comp_label(e->to, to, sizeof(to)) : "-", 0,
		      e->to ? HL_NONE : HL_DIM);
	tui_table_set(x->t, r, F_SUBJECT, subj, 0, HL_NONE);
	tui_table_set(x->t, r, F_RATE, fmt_si(a, sizeof(a), rate[0]), rate[0], HL_NONE);
	tui_table_set(x->t, r, F_BYTES, fmt_bytes(a, sizeof(a), rate[1]), rate[1], HL_NONE);
	/* percentiles over everything seen: a quiet flow still shows them */
	tui_table_set(x->t, r, F_P50, fmt_dur(a, sizeof(a), tot.p50_ns, true), tot.p50_ns,
		      HL_NONE);
	tui_table_set(x->t, r, F_P99, fmt_dur(a, sizeof(a), tot.p99_ns, true), tot.p99_ns,
		      level(tot.p99_ns, 100e6, 1e9));
	/* errors over everything seen; red while they still come (atop-like) */
	tui_table_set(x->t, r, F_ERR, fmt_si(a, sizeof(a), tot.errors), tot.errors,
		      tot.errors && age < 10 * NS ? HL_CRIT : tot.errors ? HL_WARN : HL_NONE);
	tui_table_set(x->t, r, F_LAST, fmt_age(a, sizeof(a), age), e->last_ts, HL_NONE);
	return 0;
}

/* ---- rows: messages ---------------------------------------------------- */

static void msg_rows(const struct tui_model *m, struct tui_table *t)
{
	for (size_t i = 0; i < m->ring_count; i++) {
		const struct tui_msg *g = tui_model_msg(m, i);
		enum tui_hl hl = g->error ? HL_CRIT : g->warn ? HL_WARN : HL_NONE;
		char ident[32], a[24], comm[COMM_LEN];
		struct tui_row *r;

		snprintf(ident, sizeof(ident), "m%llu", (unsigned long long)g->seq);
		if (!(r = tui_table_add_row(t, ident)))
			return;
		tui_table_set(t, r, M_TIME, fmt_clock(a, sizeof(a), g->ts_ns, true), g->seq, HL_NONE);
		snprintf(a, sizeof(a), "%u", g->pid);
		tui_table_set(t, r, M_PID, a, g->pid, HL_NONE);
		tui_msg_comm(g, comm);
		tui_table_set(t, r, M_COMM, comm, 0, HL_NONE);
		tui_table_set(t, r, M_DIR, g->dir == DIR_SEND ? ">" : "<", 0,
			      g->dir == DIR_SEND ? HL_SEND : HL_RECV);
		tui_table_set(t, r, M_PROTO, g->proto == PROTO_NATS ? "nats" : "http", 0, HL_NONE);
		tui_table_set(t, r, M_SIZE, fmt_bytes(a, sizeof(a), g->size), g->size, HL_NONE);
		tui_table_set(t, r, M_SUMMARY, g->summary, 0, hl);
	}
}

/* ---- rows: components --------------------------------------------------- */

/* What a component publishes, subscribes, serves and calls: distinct
 * subjects/endpoints, counted from the edges and subscriptions. */
enum { ROLE_PUB, ROLE_SUB, ROLE_SRV, ROLE_CALL, ROLE__N };

struct use {
	const struct corr_component *comp;
	int role;
	const char *what;
};

struct uses {
	struct use *v;
	size_t n, cap;
};

static void use_add(struct uses *u, const struct corr_component *c, int role, const char *what)
{
	if (!c || !what)
		return;
	if (u->n == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 128;
		struct use *v = realloc(u->v, cap * sizeof(*v));

		if (!v)
			return;
		u->v = v;
		u->cap = cap;
	}
	u->v[u->n++] = (struct use){ c, role, what };
}

static int edge_uses(const struct corr_edge *e, void *arg)
{
	struct uses *u = arg;

	if (e->kind == FLOW_KIND_MSG) {
		use_add(u, e->from, ROLE_PUB, e->subject);
	} else if (e->kind == FLOW_KIND_REQ) {
		use_add(u, e->from, ROLE_CALL, e->subject);
		use_add(u, e->to, ROLE_SRV, e->subject);
	}
	return 0;
}

static int sub_uses(const struct corr_subscription *s, void *arg)
{
	use_add(arg, s->comp, ROLE_SUB, s->subject);
	return 0;
}

static int cmp_use(const void *a, const void *b)
{
	const struct use *x = a, *y = b;

	if (x->comp != y->comp)
		return (uintptr_t)x->comp < (uintptr_t)y->comp ? -1 : 1;
	if (x->role != y->role)
		return x->role - y->role;
	return strcmp(x->what, y->what);
}

/* Sorted, so equal (comp, role, what) are neighbours. */
static void collect_uses(const struct tui_model *m, struct uses *u)
{
	corr_foreach_edge(m->corr, edge_uses, u);
	corr_foreach_subscription(m->corr, NULL, sub_uses, u);
	if (u->n)
		qsort(u->v, u->n, sizeof(*u->v), cmp_use);
}

static void count_uses(const struct uses *u, const struct corr_component *c, int out[ROLE__N])
{
	struct use key = { c, 0, "" };
	size_t lo = 0, hi = u->n;

	memset(out, 0, ROLE__N * sizeof(*out));
	while (lo < hi) {  /* first entry of c */
		size_t mid = (lo + hi) / 2;

		if ((uintptr_t)u->v[mid].comp < (uintptr_t)key.comp)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < u->n && u->v[i].comp == c; i++)
		if (i == lo || u->v[i].role != u->v[i - 1].role ||
		    strcmp(u->v[i].what, u->v[i - 1].what))
			out[u->v[i].role]++;
}

struct comp_ctx {
	struct rows_ctx x;
	struct uses uses;
};

static int comp_row(const struct corr_component *c, void *arg)
{
	struct comp_ctx *cx = arg;
	struct tui_table *t = cx->x.t;
	char label[CORR_NAME_LEN * 2], key[TUI_IDENT_MAX], a[16];
	double rate[TUI_RATE_VALUES];
	double rin, rout, bin, bout;
	int n[ROLE__N];
	struct tui_row *r;

	if (!(r = tui_table_add_row(t, c->key)))
		return 1;
	snprintf(key, sizeof(key), "c|%s", c->key);
	tui_model_rates(cx->x.m, key, rate);
	rin = rate[0];
	rout = rate[1];
	bin = rate[2];
	bout = rate[3];
	count_uses(&cx->uses, c, n);
	tui_table_set(t, r, C_NAME, comp_label(c, label, sizeof(label)), 0,
		      c->local ? HL_NONE : HL_DIM);
	tui_table_set(t, r, C_IN, fmt_si(a, sizeof(a), rin), rin, HL_NONE);
	tui_table_set(t, r, C_OUT, fmt_si(a, sizeof(a), rout), rout, HL_NONE);
	tui_table_set(t, r, C_BIN, fmt_bytes(a, sizeof(a), bin), bin, HL_NONE);
	tui_table_set(t, r, C_BOUT, fmt_bytes(a, sizeof(a), bout), bout, HL_NONE);
	tui_table_set(t, r, C_PUB, fmt_si(a, sizeof(a), n[ROLE_PUB]), n[ROLE_PUB], HL_NONE);
	tui_table_set(t, r, C_SUB, fmt_si(a, sizeof(a), n[ROLE_SUB]), n[ROLE_SUB], HL_NONE);
	tui_table_set(t, r, C_SRV, fmt_si(a, sizeof(a), n[ROLE_SRV]), n[ROLE_SRV], HL_NONE);
	tui_table_set(t, r, C_CALL, fmt_si(a, sizeof(a), n[ROLE_CALL]), n[ROLE_CALL], HL_NONE);
	tui_table_set(t, r, C_ERR, fmt_si(a, sizeof(a), c->errors), c->errors,
		      c->errors ? HL_CRIT : HL_NONE);
	return 0;
}

/* ---- rows: subjects ----------------------------------------------------- */

static void peers_text(const struct corr_component *const *v, size_t n, bool more,
		       char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		char label[CORR_NAME_LEN * 2];

		off += snprintf(buf + off, len - off, "%s%s", i ? "," : "",
				comp_label(v[i], label, sizeof(label)));
	}
	if (more && off < len)
		snprintf(buf + off, len - off, ",...");
}

static void payload_text(const unsigned char *p, size_t n, char *buf, size_t len)
{
	size_t k = n < len - 1 ? n : len - 1;

	memcpy(buf, p ? (const char *)p : "", p ? k : 0);
	buf[p ? k : 0] = '\0';
	make_printable(buf);
}

static int subject_row(const struct corr_subject *s, void *arg)
{
	struct rows_ctx *x = arg;
	struct tui_table *t = x->t;
	char pubs[256], subs[256], payload[256], key[TUI_IDENT_MAX], a[16];
	double rates[TUI_RATE_VALUES], rate;
	uint64_t age = x->m->now_ns > s->last_ts ? x->m->now_ns - s->last_ts : 0;
	struct tui_row *r;

	if (!(r = tui_table_add_row(t, s->subject)))
		return 1;
	snprintf(key, sizeof(key), "s|%s", s->subject);
	tui_model_rates(x->m, key, rates);
	rate = rates[0];
	peers_text(s->publishers, s->n_publishers, s->more_publishers, pubs, sizeof(pubs));
	peers_text(s->subscribers, s->n_subscribers, s->more_subscribers, subs, sizeof(subs));
	payload_text(s->last_payload, s->last_payload_len, payload, sizeof(payload));
	tui_table_set(t, r, S_SUBJECT, s->subject, 0, HL_NONE);
	tui_table_set(t, r, S_PUBS, pubs, s->n_publishers, HL_NONE);
	tui_table_set(t, r, S_SUBS, *subs ? subs : "-", s->n_subscribers, *subs ? HL_NONE : HL_DIM);
	tui_table_set(t, r, S_RATE, fmt_si(a, sizeof(a), rate), rate, HL_NONE);
	tui_table_set(t, r, S_MSGS, fmt_si(a, sizeof(a), s->msgs), s->msgs, HL_NONE);
	tui_table_set(t, r, S_DELIV, fmt_si(a, sizeof(a), s->deliveries), s->deliveries, HL_NONE);
	tui_table_set(t, r, S_LAST, fmt_age(a, sizeof(a), age), s->last_ts, HL_NONE);
	tui_table_set(t, r, S_PAYLOAD, payload, 0, HL_NONE);
	return 0;
}

void tui_text_build_rows(const struct tui_model *m, struct tui_table *t)
{
	struct rows_ctx x = { m, t };

	switch (t->view) {
	case TV_FLOWS:
		corr_foreach_edge(m->corr, flow_row, &x);
		break;
	case TV_MESSAGES:
		msg_rows(m, t);
		break;
	case TV_COMPONENTS: {
		struct comp_ctx cx = { .x = x };

		collect_uses(m, &cx.uses);
		corr_foreach_component(m->corr, comp_row, &cx);
		free(cx.uses.v);
		break;
	}
	case TV_SUBJECTS:
		corr_foreach_subject(m->corr, subject_row, &x);
		break;
	default:
		break;
	}
}

/* ---- table lines, shared by curses and batch ---------------------------- */

int tui_text_widths(const struct tui_model *m, int width, int *w)
{
	if (width > TUI_LINE_MAX)
		width = TUI_LINE_MAX;
	tui_layout(m->table.cols, m->table.ncols, width, w);
	return m->table.ncols;
}

void tui_text_colheader(const struct tui_model *m, const int *w, struct tui_line *l)
{
	const struct tui_viewstate *vs = &m->vs[m->view];

	tui_header_line(l, m->table.cols, w, m->table.ncols, vs->sort_col);
}

void tui_text_row(const struct tui_model *m, size_t i, const int *w, struct tui_line *l)
{
	const struct tui_row *r = tui_model_row(m, i);
	const char *cells[TUI_MAX_COLS];

	tl_clear(l);
	if (!r)
		return;
	for (int c = 0; c < m->table.ncols; c++)
		cells[c] = tui_table_cell(&m->table, r, c);
	tui_cells_line(l, m->table.cols, w, m->table.ncols, cells, r->hl);
}

/* ---- details ------------------------------------------------------------ */

#define DETAIL_MSGS 8

static int detail_width(const struct tui_model *m)
{
	return m->body_cols > 0 && m->body_cols < TUI_LINE_MAX ? m->body_cols : TUI_LINE_MAX;
}

static struct tui_line *dl_new(struct tui_model *m)
{
	struct tui_details *d = &m->details;

	if (d->n == d->cap) {
		int cap = d->cap ? 2 * d->cap : 64;
		struct tui_line *v;

		if (cap > 20000 || !(v = realloc(d->lines, cap * sizeof(*v))))
			return NULL;
		d->lines = v;
		d->cap = cap;
	}
	tl_clear(&d->lines[d->n]);
	return &d->lines[d->n++];
}

static void dl_add(struct tui_model *m, enum tui_hl hl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void dl_add(struct tui_model *m, enum tui_hl hl, const char *fmt, ...)
{
	struct tui_line *l = dl_new(m);
	char buf[TUI_LINE_MAX + 1];
	va_list ap;

	if (!l)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tl_add(l, hl, "%s", buf);
}

/* Multi-line text, each line indented and wrapped at the pane's width. */
static void dl_text(struct tui_model *m, enum tui_hl hl, int indent, const char *s)
{
	int width = detail_width(m) - indent;

	if (width < 10)
		width = 10;
	while (*s) {
		const char *nl = strchr(s, '\n');
		int len = nl ? nl - s : (int)strlen(s);
		bool first = true;

		do {
			int take = len > width ? width : len;
			struct tui_line *l = dl_new(m);

			if (!l)
				return;
			tl_pad(l, first ? indent : indent + 2);
			tl_add(l, hl, "%.*s", take, s);
			s += take;
			len -= take;
			first = false;
		} while (len > 0);
		s += nl ? 1 : 0;
	}
}

/* A payload or body that is itself JSON is shown as JSON, indented. */
static void expand_json_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key), *parsed;

	if (!json_is_string(v))
		return;
	parsed = json_loadb(json_string_value(v), json_string_length(v), 0, NULL);
	if (parsed && (json_is_object(parsed) || json_is_array(parsed)))
		json_object_set_new(obj, key, parsed);
	else
		json_decref(parsed);
}

static void dl_msg(struct tui_model *m, const struct tui_msg *g)
{
	const char *text = tui_model_msg_json(m, g);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	char clk[24];
	char comm[COMM_LEN];
	char *s;

	tui_msg_comm(g, comm);
	dl_add(m, g->error ? HL_CRIT : HL_LABEL, "#%llu %s %s[%u] %s %s conn %llu %s -> %s",
	       (unsigned long long)g->seq, fmt_clock(clk, sizeof(clk), g->ts_ns, true),
	       comm, g->pid, g->dir == DIR_SEND ? "send" : "recv",
	       g->proto == PROTO_NATS ? "nats" : "http", (unsigned long long)g->conn,
	       tui_msg_local(g), tui_msg_peer(g));
	if (!j) {
		dl_text(m, HL_NONE, 2, g->summary);
		return;
	}
	expand_json_member(j, "payload");
	expand_json_member(j, "body");
	s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |
		       JSON_REAL_PRECISION(15));
	if (s)
		dl_text(m, HL_NONE, 2, s);
	free(s);
	json_decref(j);
}

typedef bool (*msg_pred)(const struct tui_msg *g, const void *arg);

/* The newest messages of the ring that pred accepts. */
static void dl_recent(struct tui_model *m, msg_pred pred, const void *arg)
{
	int shown = 0;

	dl_add(m, HL_NONE, "%s", "");
	dl_add(m, HL_TITLE, "Recent messages (newest first, of the last %zu kept)",
	       m->ring_count);
	for (size_t i = 0; i < m->ring_count && shown < DETAIL_MSGS; i++) {
		const struct tui_msg *g = tui_model_msg(m, i);

		if (pred(g, arg)) {
			dl_msg(m, g);
			shown++;
		}
	}
	if (!shown)
		dl_add(m, HL_DIM, "  (none in the buffer)");
}

static const char *ep_text(const struct endpoint_info *ep, char *buf, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	if (ep->addr[0])
		off += snprintf(buf + off, n - off, " addr %s", ep->addr);
	if (ep->name[0] && off < n)
		off += snprintf(buf + off, n - off, " name %s", ep->name);
	if (ep->lang[0] && off < n)
		off += snprintf(buf + off, n - off, " lang %s %s", ep->lang, ep->version);
	if (ep->exe[0] && off < n)
		off += snprintf(buf + off, n - off, " exe %s", ep->exe);
	if (ep->cgroup[0] && off < n)
		snprintf(buf + off, n - off, " cgroup %s", ep->cgroup);
	make_printable(buf);
	return buf;
}

/* ---- details: flows ---- */

struct edge_find {
	const char *ident;
	const struct corr_edge *found;
};

static int find_edge(const struct corr_edge *e, void *arg)
{
	struct edge_find *f = arg;
	char ident[TUI_IDENT_MAX];

	tui_model_edge_ident(e, ident, sizeof(ident));
	if (strcmp(ident, f->ident))
		return 0;
	f->found = e;
	return 1;
}

#define MAX_REPLIES 64

/* Messages of a flow: those its sender (else its receiver) sent or got,
 * on its subject or endpoint, plus the replies to its requests. */
struct edge_match {
	const struct corr_edge *e;
	uint32_t from_pid, to_pid;
	const char *replies[MAX_REPLIES];
	int nreplies;
};

static bool is_nats_msg(const struct tui_msg *g)
{
	return g->proto == PROTO_NATS &&
	       (!strcmp(g->op, "PUB") || !strcmp(g->op, "HPUB") ||
		!strcmp(g->op, "MSG") || !strcmp(g->op, "HMSG"));
}

static bool on_edge(const struct tui_msg *g, const void *arg)
{
	const struct edge_match *x = arg;
	const struct corr_edge *e = x->e;
	const char *subj = e->subject ? e->subject : "";

	/* Seen from the sender's side, every message shown belongs to this
	 * flow: a subscriber's MSG could have come from any publisher. */
	uint32_t side = x->from_pid ? x->from_pid : x->to_pid;

	if (side && g->pid != side)
		return false;
	if (g->proto != e->proto)
		return false;
	if (e->proto == PROTO_HTTP)
		return !strcmp(g->key, subj) &&
		       (!g->request || !e->method || !strcmp(g->op, e->method));
	if (e->kind == FLOW_KIND_ERR)
		return g->error;
	if (!is_nats_msg(g))
		return false;
	if (subject_match(subj, strlen(subj), g->key, strlen(g->key)))
		return true;
	for (int i = 0; i < x->nreplies; i++)
		if (!strcmp(g->key, x->replies[i]))
			return true;
	return false;
}

/* Replies of a request-reply flow travel on inbox subjects: the ones the
 * matching requests named. */
static void collect_replies(const struct tui_model *m, struct edge_match *x)
{
	for (size_t i = 0; i < m->ring_count && x->nreplies < MAX_REPLIES; i++) {
		const struct tui_msg *g = tui_model_msg(m, i);

		if (g->reply[0] && on_edge(g, x))
			x->replies[x->nreplies++] = g->reply;
	}
}

static void dl_stats_row(struct tui_model *m, const char *name, const struct corr_stats *s)
{
	char c[16], b[16], e[16], p50[16], p90[16], p99[16], mx[16];

	dl_add(m, HL_NONE, "  %-12s %7s %7s %6s %7s %7s %7s %7s %8llu",
	       name, fmt_si(c, sizeof(c), s->count), fmt_bytes(b, sizeof(b), s->bytes),
	       fmt_si(e, sizeof(e), s->errors), fmt_dur(p50, sizeof(p50), s->p50_ns, true),
	       fmt_dur(p90, sizeof(p90), s->p90_ns, true), fmt_dur(p99, sizeof(p99), s->p99_ns, true),
	       fmt_dur(mx, sizeof(mx), s->max_ns, true), (unsigned long long)s->samples);
}

/* Percentiles as bars, scaled to the maximum. */
static void dl_latency(struct tui_model *m, const struct corr_stats *s)
{
	const struct { const char *name; uint64_t v; } p[] = {
		{ "p50", s->p50_ns }, { "p90", s->p90_ns }, { "p99", s->p99_ns }, { "max", s->max_ns },
	};
	int bar = detail_width(m) - 20;

	dl_add(m, HL_NONE, "%s", "");
	if (!s->samples) {
		dl_add(m, HL_DIM, "Latency: no samples");
		return;
	}
	dl_add(m, HL_TITLE, "Latency distribution (%llu samples, all time)",
	       (unsigned long long)s->samples);
	if (bar > 50)
		bar = 50;
	for (size_t i = 0; i < sizeof(p) / sizeof(*p); i++) {
		int n = s->max_ns ? (int)((double)p[i].v / s->max_ns * bar + 0.5) : 0;
		struct tui_line *l = dl_new(m);
		char d[16];

		if (!l)
			return;
		tl_add(l, HL_NONE, "  %s |", p[i].name);
		for (int k = 0; k < bar; k++)
			tl_add(l, k < n ? level(p[i].v, 100e6, 1e9) : HL_DIM, "%c", k < n ? '#' : ' ');
		tl_add(l, HL_NONE, "| %s", fmt_dur(d, sizeof(d), p[i].v, false));
	}
}

static void details_flow(struct tui_model *m)
{
	struct edge_find f = { m->details.ident, NULL };
	struct edge_match x = { 0 };
	struct corr_stats tot, last;
	char from[CORR_NAME_LEN * 2], to[CORR_NAME_LEN * 2], subj[TUI_KEY_MAX + 16];
	char info[512], iv[32];

	corr_foreach_edge(m->corr, find_edge, &f);
	if (!f.found) {
		dl_add(m, HL_DIM, "This flow is no longer tracked.");
		return;
	}
	x.e = f.found;
	x.from_pid = x.e->from && x.e->from->local ? x.e->from->info.pid : 0;
	x.to_pid = x.e->to && x.e->to->local ? x.e->to->info.pid : 0;
	edge_subject(x.e, subj, sizeof(subj));
	dl_add(m, HL_TITLE, "Flow %s: %s -> %s  %s", flow_proto(x.e),
	       x.e->from ? comp_label(x.e->from, from, sizeof(from)) : "?",
	       x.e->to ? comp_label(x.e->to, to, sizeof(to)) : "(no receiver seen)", subj);
	if (x.e->from)
		dl_add(m, HL_NONE, "  from %s:%s", from, ep_text(&x.e->from->info, info, sizeof(info)));
	if (x.e->to)
		dl_add(m, HL_NONE, "  to   %s:%s", to, ep_text(&x.e->to->info, info, sizeof(info)));
	corr_edge_stats(m->corr, x.e, CORR_TOTAL, &tot);
	corr_edge_stats(m->corr, x.e, CORR_LAST_INTERVAL, &last);
	dl_add(m, HL_NONE, "%s", "");
	dl_add(m, HL_LABEL, "  %-12s %7s %7s %6s %7s %7s %7s %7s %8s", "", "count", "bytes",
	       "errors", "p50", "p90", "p99", "max", "samples");
	dl_stats_row(m, "all time", &tot);
	/* the correlator's own interval, which need not match the refresh */
	snprintf(iv, sizeof(iv), "last %gs", m->corr_interval_ns / 1e9);
	dl_stats_row(m, iv, &last);
	dl_latency(m, &tot);
	if (x.e->proto == PROTO_NATS && x.e->kind == FLOW_KIND_REQ)
		collect_replies(m, &x);
	dl_recent(m, on_edge, &x);
}

/* ---- details: components ---- */

struct use_list {
	struct tui_model *m;
	const struct corr_component *c;
};

static int comp_edges_line(const struct corr_edge *e, void *arg)
{
	struct use_list *u = arg;
	const struct corr_component *other = e->from == u->c ? e->to : e->from;
	char label[CORR_NAME_LEN * 2], subj[TUI_KEY_MAX + 16], cnt[16], err[16];
	struct corr_stats s;

	if (e->from != u->c && e->to != u->c)
		return 0;
	corr_edge_stats(u->m->corr, e, CORR_TOTAL, &s);
	edge_subject(e, subj, sizeof(subj));
	dl_add(u->m, s.errors ? HL_WARN : HL_NONE, "  %-6s %-30s %s %-24s %6s msgs %s errors",
	       flow_proto(e), subj, e->from == u->c ? "->" : "<-",
	       other ? comp_label(other, label, sizeof(label)) : "-",
	       fmt_si(cnt, sizeof(cnt), s.count), fmt_si(err, sizeof(err), s.errors));
	return 0;
}

static int comp_sub_line(const struct corr_subscription *s, void *arg)
{
	struct use_list *u = arg;

	dl_add(u->m, HL_NONE, "  SUB %-30s sid %-6s%s%s delivered %llu", s->subject, s->sid,
	       s->queue ? " queue " : "", s->queue ? s->queue : "",
	       (unsigned long long)s->delivered);
	return 0;
}

struct comp_find {
	const char *key;
	const struct corr_component *found;
};

static int find_comp(const struct corr_component *c, void *arg)
{
	struct comp_find *f = arg;

	if (strcmp(c->key, f->key))
		return 0;
	f->found = c;
	return 1;
}

static bool of_comp(const struct tui_msg *g, const void *arg)
{
	const struct corr_component *c = arg;

	if (c->local && c->info.pid)
		return g->pid == c->info.pid;
	return c->info.addr[0] && !strcmp(tui_msg_peer(g), c->info.addr);
}

static void details_comp(struct tui_model *m)
{
	struct comp_find f = { m->details.ident, NULL };
	struct use_list u = { m, NULL };
	char label[CORR_NAME_LEN * 2], info[512], a[16], b[16], c[16], d[16];

	corr_foreach_component(m->corr, find_comp, &f);
	if (!f.found) {
		dl_add(m, HL_DIM, "This component is no longer tracked.");
		return;
	}
	u.c = f.found;
	dl_add(m, HL_TITLE, "Component %s (%s)", comp_label(u.c, label, sizeof(label)),
	       u.c->local ? "process on this host" : "remote endpoint");
	dl_add(m, HL_NONE, "  key %s%s", u.c->key, ep_text(&u.c->info, info, sizeof(info)));
	dl_add(m, HL_NONE, "  msgs in %s out %s  bytes in %s out %s  errors %llu",
	       fmt_si(a, sizeof(a), u.c->msgs_in), fmt_si(b, sizeof(b), u.c->msgs_out),
	       fmt_bytes(c, sizeof(c), u.c->bytes_in), fmt_bytes(d, sizeof(d), u.c->bytes_out),
	       (unsigned long long)u.c->errors);
	dl_add(m, HL_NONE, "%s", "");
	dl_add(m, HL_TITLE, "Flows (publishes ->, receives <-, calls ->, serves <-)");
	corr_foreach_edge(m->corr, comp_edges_line, &u);
	dl_add(m, HL_NONE, "%s", "");
	dl_add(m, HL_TITLE, "Subscriptions");
	if (!corr_foreach_subscription(m->corr, u.c, comp_sub_line, &u))
		dl_add(m, HL_DIM, "  (none seen)");
	dl_recent(m, of_comp, u.c);
}

/* ---- details: subjects ---- */

struct subj_find {
	const char *subject;
	struct tui_model *m;
	bool found;
};

static void dl_peers(struct tui_model *m, const char *what,
		     const struct corr_component *const *v, size_t n, bool more)
{
	char buf[1024];

	peers_text(v, n, more, buf, sizeof(buf));
	dl_add(m, HL_NONE, "  %s: %s", what, *buf ? buf : "(none seen)");
}

static void dl_payload(struct tui_model *m, const struct corr_subject *s)
{
	char *text = malloc(s->last_payload_len + 1);
	json_t *j;

	if (!text)
		return;
	memcpy(text, s->last_payload ? (const char *)s->last_payload : "", s->last_payload_len);
	text[s->last_payload_len] = '\0';
	dl_add(m, HL_TITLE, "Last payload (%llu bytes%s)", (unsigned long long)s->last_size,
	       s->last_truncated ? ", cut" : "");
	j = json_loads(text, JSON_DECODE_ANY, NULL);
	if (j && (json_is_object(j) || json_is_array(j))) {
		char *pretty = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);

		if (pretty)
			dl_text(m, HL_NONE, 2, pretty);
		free(pretty);
	} else {
		make_printable(text);
		dl_text(m, HL_NONE, 2, text);
	}
	json_decref(j);
	free(text);
}

static int subject_details(const struct corr_subject *s, void *arg)
{
	struct subj_find *f = arg;
	struct tui_model *m = f->m;
	char a[16], b[16], c[16];

	if (strcmp(s->subject, f->subject))
		return 0;
	f->found = true;
	dl_add(m, HL_TITLE, "Subject %s", s->subject);
	dl_add(m, HL_NONE, "  last literal subject %s", s->last_subject ? s->last_subject : "");
	dl_add(m, HL_NONE, "  publications %s  deliveries %s  bytes %s",
	       fmt_si(a, sizeof(a), s->msgs), fmt_si(b, sizeof(b), s->deliveries),
	       fmt_bytes(c, sizeof(c), s->bytes));
	dl_peers(m, "publishers", s->publishers, s->n_publishers, s->more_publishers);
	dl_peers(m, "subscribers", s->subscribers, s->n_subscribers, s->more_subscribers);
	dl_add(m, HL_NONE, "%s", "");
	dl_payload(m, s);
	return 1;
}

static bool on_subject(const struct tui_msg *g, const void *arg)
{
	const char *subj = arg;

	return is_nats_msg(g) && subject_match(subj, strlen(subj), g->key, strlen(g->key));
}

static void details_subject(struct tui_model *m)
{
	struct subj_find f = { m->details.ident, m, false };

	corr_foreach_subject(m->corr, subject_details, &f);
	if (!f.found) {
		dl_add(m, HL_DIM, "This subject is no longer tracked.");
		return;
	}
	dl_recent(m, on_subject, m->details.ident);
}

/* ---- details: messages ---- */

static void details_message(struct tui_model *m)
{
	uint64_t seq = strtoull(m->details.ident + 1, NULL, 10);
	const struct tui_msg *g = tui_model_msg_by_seq(m, seq);

	if (!g) {
		dl_add(m, HL_DIM, "This message has left the buffer.");
		return;
	}
	dl_msg(m, g);
}

void tui_text_build_details(struct tui_model *m)
{
	m->details.n = 0;
	switch (m->details.view) {
	case TV_FLOWS: details_flow(m); break;
	case TV_MESSAGES: details_message(m); break;
	case TV_COMPONENTS: details_comp(m); break;
	case TV_SUBJECTS: details_subject(m); break;
	default: break;
	}
	tui_model_scroll_details(m, 0);  /* clamp to the new length */
}

/* ---- batch frames ------------------------------------------------------- */

static void print_line(FILE *f, const struct tui_line *l)
{
	int len = l->len;

	while (len > 0 && l->text[len - 1] == ' ')
		len--;
	fprintf(f, "%.*s\n", len, l->text);
}

void tui_text_print_frame(FILE *f, const struct tui_model *m, int width)
{
	struct tui_line *lines = malloc(64 * sizeof(*lines));
	int w[TUI_MAX_COLS], n;

	if (!lines)
		return;
	n = tui_text_header(m, width, lines, 64);
	for (int i = 0; i < n; i++)
		print_line(f, &lines[i]);
	fputc('\n', f);
	tui_text_tabs(m, width, &lines[0]);
	print_line(f, &lines[0]);
	tui_text_widths(m, width, w);
	tui_text_colheader(m, w, &lines[0]);
	print_line(f, &lines[0]);
	for (size_t i = 0; i < m->table.norder; i++) {
		tui_text_row(m, i, w, &lines[0]);
		print_line(f, &lines[0]);
	}
	fputc('\n', f);
	fflush(f);
	free(lines);
}

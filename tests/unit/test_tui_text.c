// SPDX-License-Identifier: MIT
/*
 * test_tui_text.c — the text the top view shows: numbers, sizes,
 * durations, cutting, column layout, header lines and their highlight
 * classes, message summaries. What batch mode prints and what curses draws
 * both come from these functions.
 */
#include "check.h"
#include "tui_model.h"
#include "tui_text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_STR(got, want) \
	CHECK_MSG(!strcmp((got), (want)), "got \"%s\", want \"%s\"", (got), (want))

static void test_si(void)
{
	static const struct { double v; const char *want; } cases[] = {
		{ 0, "0" }, { -5, "0" }, { 0.5, "0.5" }, { 3, "3" }, { 2.96, "3.0" },
		{ 12, "12" }, { 999, "999" }, { 999.4, "999" }, { 999.6, "1.0k" },
		{ 1234, "1.2k" }, { 9949, "9.9k" }, { 9951, "10k" }, { 123456, "123k" },
		{ 999499, "999k" }, { 999600, "1.0M" }, { 1.5e9, "1.5G" }, { 2e12, "2.0T" },
	};
	char b[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		fmt_si(b, sizeof(b), cases[i].v);
		CHECK_MSG(!strcmp(b, cases[i].want), "fmt_si(%g) = \"%s\", want \"%s\"",
			  cases[i].v, b, cases[i].want);
		CHECK_MSG(strlen(b) <= 5, "fmt_si(%g) = \"%s\" is wider than 5", cases[i].v, b);
	}
	CHECK_STR(fmt_si(b, sizeof(b), NAN), "0");
	CHECK_STR(fmt_si(b, sizeof(b), INFINITY), "0");
}

static void test_bytes(void)
{
	static const struct { double v; const char *want; } cases[] = {
		{ 0, "0" }, { 5.4, "5" }, { 512, "512" }, { 1023, "1023" }, { 1024, "1.0K" },
		{ 1536, "1.5K" }, { 10239, "10K" }, { 1048575, "1.0M" }, { 3565158, "3.4M" },
		{ 5e9, "4.7G" },
	};
	char b[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		fmt_bytes(b, sizeof(b), cases[i].v);
		CHECK_MSG(!strcmp(b, cases[i].want), "fmt_bytes(%g) = \"%s\", want \"%s\"",
			  cases[i].v, b, cases[i].want);
		CHECK_MSG(strlen(b) <= 5, "fmt_bytes(%g) = \"%s\" is wider than 5", cases[i].v, b);
	}
	CHECK_STR(fmt_kib(b, sizeof(b), 512), "512K");
	CHECK_STR(fmt_kib(b, sizeof(b), 1024), "1.0M");
	CHECK_STR(fmt_kib(b, sizeof(b), 16357785), "15.6G");   /* a 16 GB machine */
	CHECK_STR(fmt_kib(b, sizeof(b), 200ull << 20), "200G");
	CHECK_STR(fmt_kib(b, sizeof(b), 0), "0K");
}

static void test_durations(void)
{
	static const struct { uint64_t ns; const char *want; } cases[] = {
		{ 850, "850ns" }, { 999, "999ns" }, { 1000, "1.0us" }, { 8500, "8.5us" },
		{ 850000, "850us" }, { 999499, "999us" }, { 999600, "1.0ms" },
		{ 12000000, "12ms" }, { 1300000000, "1.3s" }, { 59400000000ull, "59s" },
		{ 59600000000ull, "1m00" }, { 125000000000ull, "2m05" },
		{ (3 * 3600 + 4 * 60) * 1000000000ull, "3h04" },
		{ (5 * 86400 + 3 * 3600) * 1000000000ull, "5d03" },
	};
	char b[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		fmt_dur(b, sizeof(b), cases[i].ns, false);
		CHECK_MSG(!strcmp(b, cases[i].want), "fmt_dur(%llu) = \"%s\", want \"%s\"",
			  (unsigned long long)cases[i].ns, b, cases[i].want);
		CHECK_MSG(strlen(b) <= 5, "fmt_dur(%llu) = \"%s\" is wider than 5",
			  (unsigned long long)cases[i].ns, b);
	}
	CHECK_STR(fmt_dur(b, sizeof(b), 0, true), "-");
	CHECK_STR(fmt_dur(b, sizeof(b), 0, false), "0");
	CHECK_STR(fmt_age(b, sizeof(b), 300000000), "<1s");
	CHECK_STR(fmt_age(b, sizeof(b), 59 * 1000000000ull), "59s");
	CHECK_STR(fmt_age(b, sizeof(b), 3599 * 1000000000ull), "59m");
	CHECK_STR(fmt_age(b, sizeof(b), 7200 * 1000000000ull), "2h");
	CHECK_STR(fmt_age(b, sizeof(b), 86400 * 3 * 1000000000ull), "3d");
}

static void test_cutting(void)
{
	char b[64];

	CHECK_STR(fit_text(b, sizeof(b), "hello", 10, CUT_END), "hello");
	CHECK_STR(fit_text(b, sizeof(b), "hello", 5, CUT_END), "hello");
	CHECK_STR(fit_text(b, sizeof(b), "hello", 4, CUT_END), "hel~");
	CHECK_STR(fit_text(b, sizeof(b), "hello", 1, CUT_END), "~");
	CHECK_STR(fit_text(b, sizeof(b), "hello", 0, CUT_END), "");
	CHECK_STR(fit_text(b, sizeof(b), "hello", -3, CUT_END), "");
	CHECK_STR(fit_text(b, sizeof(b), "abcdefghij", 7, CUT_MIDDLE), "abc~hij");
	CHECK_STR(fit_text(b, sizeof(b), "abcdefghij", 8, CUT_MIDDLE), "abc~ghij");
	/* too narrow for a middle cut: cut at the end */
	CHECK_STR(fit_text(b, sizeof(b), "abcdefghij", 4, CUT_MIDDLE), "abc~");
	/* a destination smaller than the width still ends in NUL */
	CHECK_STR(fit_text(b, 4, "abcdefghij", 10, CUT_END), "ab~");
	/* control and non-ASCII bytes: one column each, shown as '.' */
	CHECK_STR(fit_text(b, sizeof(b), "a\tb\xc3\xa9", 10, CUT_END), "a.b..");
	strcpy(b, "x\ny\x7f");
	make_printable(b);
	CHECK_STR(b, "x.y.");
	/* a word at a time: each bad byte found at each place in a word, and
	 * clean words around it left alone */
	for (int pos = 0; pos < 20; pos++) {
		static const unsigned char bad[] = { 0x01, 0x09, 0x1f, 0x7f, 0x80, 0xc3, 0xff };

		for (size_t k = 0; k < sizeof(bad); k++) {
			char got[21], want[21];

			memcpy(got, "abcdefghijklmnopqrst", 21);
			memcpy(want, got, 21);
			got[pos] = (char)bad[k];
			want[pos] = '.';
			make_printable(got);
			CHECK_STR(got, want);
		}
	}
	{
		char edge[] = " ~~~~~~~~ ~~~~~~~ 0123456789"; /* 0x20, 0x7e: printable */

		make_printable(edge);
		CHECK_STR(edge, " ~~~~~~~~ ~~~~~~~ 0123456789");
	}
}

static void test_lines(void)
{
	struct tui_line l;
	char big[700];

	tl_clear(&l);
	tl_add(&l, HL_LABEL, "CPU");
	tl_add(&l, HL_CRIT, " %d", 99);
	CHECK_STR(l.text, "CPU 99");
	CHECK_EQ_INT(l.len, 6);
	CHECK_EQ_INT(l.hl[0], HL_LABEL);
	CHECK_EQ_INT(l.hl[2], HL_LABEL);
	CHECK_EQ_INT(l.hl[3], HL_CRIT);
	CHECK_EQ_INT(l.hl[5], HL_CRIT);
	tl_pad(&l, 10);
	CHECK_EQ_INT(l.len, 10);
	CHECK_STR(l.text, "CPU 99    ");
	tl_add(&l, HL_NONE, "\x01\xff");
	CHECK_STR(l.text + 10, "..");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tl_clear(&l);
	tl_add(&l, HL_NONE, "%s", big);
	CHECK_EQ_INT(l.len, TUI_LINE_MAX);
	CHECK_EQ_INT(strlen(l.text), TUI_LINE_MAX);
}

/* name, width, flex, right, numeric, cut, want, drop */
static const struct tui_col cols[] = {
	{ "NAME", 6, 1, false, false, CUT_END, 12, 0 },
	{ "RATE", 5, 0, true, true, CUT_END, 0, 0 },
	{ "P50", 5, 0, true, true, CUT_END, 0, 2 },
	{ "LAST", 4, 0, true, true, CUT_END, 0, 1 },
};

static void test_layout(void)
{
	int w[4];
	const char *cells[4] = { "natsc[42]:orders-svc", "12", "850us", "<1s" };
	unsigned char hl[4] = { HL_NONE, HL_NONE, HL_CRIT, HL_NONE };
	struct tui_line l;

	/* wide: everything shown, the flex column takes the rest */
	CHECK_EQ_INT(tui_layout(cols, 4, 60, w), 60);
	CHECK_EQ_INT(w[0], 60 - 5 - 5 - 4 - 3);
	CHECK_EQ_INT(w[1], 5);
	tui_cells_line(&l, cols, w, 4, cells, hl);
	CHECK_EQ_INT(l.len, 60);
	CHECK(!strncmp(l.text, "natsc[42]:orders-svc ", 21));
	CHECK(!strcmp(l.text + 60 - 16, "   12 850us  <1s"));
	CHECK_EQ_INT(l.hl[60 - 9], HL_CRIT);     /* the P50 cell keeps its class */
	tui_header_line(&l, cols, w, 4, 1);
	CHECK(strstr(l.text, "NAME") == l.text);
	CHECK(!strcmp(l.text + 60 - 16, " RATE   P50 LAST"));
	CHECK_EQ_INT(l.hl[60 - 15], HL_TITLE);   /* the sort column */
	CHECK_EQ_INT(l.hl[0], HL_LABEL);

	/* 27 columns: the flex column wants 12, so P50 (drop 2) goes first */
	CHECK_EQ_INT(tui_layout(cols, 4, 27, w), 27);
	CHECK_EQ_INT(w[2], 0);
	CHECK_EQ_INT(w[3], 4);
	CHECK_EQ_INT(w[0], 27 - 5 - 4 - 2);
	tui_cells_line(&l, cols, w, 4, cells, NULL);
	CHECK_EQ_INT(l.len, 27);
	CHECK(!strcmp(l.text + 16, "    12  <1s"));
	CHECK(!strncmp(l.text, "natsc[42]:order~ ", 17));   /* the name is cut */

	/* narrower still: LAST goes too; then nothing else may drop */
	tui_layout(cols, 4, 20, w);
	CHECK_EQ_INT(w[2], 0);
	CHECK_EQ_INT(w[3], 0);
	CHECK_EQ_INT(w[0], 20 - 5 - 1);
	CHECK_EQ_INT(tui_layout(cols, 4, 5, w), 6 + 1 + 5);  /* never below minimum */
	CHECK_EQ_INT(w[0], 6);
}

static void fill_metrics(struct host_metrics *hm)
{
	memset(hm, 0, sizeof(*hm));
	hm->interval_s = 2;
	hm->rates_ok = true;
	hm->have_level = HM_SRC_STAT | HM_SRC_MEMINFO | HM_SRC_LOADAVG | HM_SRC_UPTIME;
	hm->have_rate = hm->have_level | HM_SRC_SELF;
	hm->cpu_ok = true;
	hm->cpu[HM_USER] = 80;
	hm->cpu[HM_SYSTEM] = 15;
	hm->cpu[HM_IDLE] = 5;
	hm->ncpus = 2;
	hm->cpus[0].status = HM_CPU_ONLINE;
	hm->cpus[0].ok = true;
	hm->cpus[0].pct[HM_IDLE] = 100;
	hm->cpus[1].status = HM_CPU_OFFLINE;
	hm->uptime_s = 3 * 86400 + 3600;
	hm->load[0] = 1.5;
	hm->tasks_running = 3;
	hm->tasks_total = 345;
	hm->mem_total_kb = 16u << 20;
	hm->mem_used_kb = 15u << 20;
	hm->mem_used_pct = 93.75;
	hm->mem_free_kb = 1u << 20;
	hm->nnet = 1;
	strcpy(hm->net[0].name, "eth0");
	hm->net[0].rx_kbs = 1024;
	hm->net[0].rx_errs = 2;
	hm->ndisk = 1;
	strcpy(hm->disk[0].name, "vda");
	hm->disk[0].busy_pct = 75;
	hm->disk[0].wr_s = 10;
	hm->psi[HM_PSI_CPU][HM_PSI_SOME].avg_ok = true;
	hm->psi[HM_PSI_CPU][HM_PSI_SOME].avg10 = 30;
	hm->self_cpu_pct = 1.5;
	hm->self_rss_kb = 40960;
}

static const struct tui_line *find_line(const struct tui_line *l, int n, const char *prefix)
{
	for (int i = 0; i < n; i++)
		if (!strncmp(l[i].text, prefix, strlen(prefix)))
			return &l[i];
	return NULL;
}

/* The class of the first byte of `what` in line l (after `after`). */
static int hl_of(const struct tui_line *l, const char *after, const char *what)
{
	const char *a = strstr(l->text, after);
	const char *p = a ? strstr(a, what) : NULL;

	return p ? l->hl[p - l->text] : -1;
}

static void test_header(void)
{
	struct tui_model_opts o = { .interval_ns = 2000000000ull };
	struct tui_model m;
	struct tui_line lines[32];
	const struct tui_line *l;
	int n;

	CHECK(tui_model_init(&m, &o) == 0);
	fill_metrics(m.hm);
	m.hm_valid = true;
	m.self.live = true;
	m.self.drops_total = 7;
	m.self.drops_new = 3;
	n = tui_text_header(&m, 160, lines, 32);
	CHECK(n >= 7);
	CHECK(strstr(lines[0].text, "up 3d01") != NULL);
	CHECK(strstr(lines[0].text, "load 1.50") != NULL);
	CHECK(strstr(lines[0].text, "tasks 3/345") != NULL);
	l = find_line(lines, n, "CPU ");
	CHECK(l && strstr(l->text, "us 80.0 sy 15.0 ni  0.0 id  5.0"));
	CHECK(l && hl_of(l, "id", "5.0") == HL_CRIT);     /* busy 95% */
	CHECK(l && hl_of(l, "us", "80.0") == HL_NONE);
	l = find_line(lines, n, "MEM ");
	CHECK(l && hl_of(l, "used", "15.0G") == HL_CRIT); /* 94% used */
	CHECK(l && strstr(l->text, "swap none"));
	l = find_line(lines, n, "NET ");
	CHECK(l && strstr(l->text, "eth0 1.0M/0 B/s"));
	CHECK(l && hl_of(l, "eth0", "err") == HL_CRIT);
	l = find_line(lines, n, "DSK ");
	CHECK(l && hl_of(l, "busy", "75%") == HL_WARN);
	l = find_line(lines, n, "PSI ");
	CHECK(l && hl_of(l, "cpu", "30.0") == HL_CRIT);
	l = find_line(lines, n, "MSC ");
	CHECK(l && hl_of(l, "drops", "7") == HL_CRIT);
	CHECK(l && strstr(l->text, "rss 40.0M"));
	CHECK(l && !strstr(l->text, "shed"));
	/* shedding (--overload-snaplen): said, as a warning */
	m.self.shed_bytes = 512;
	n = tui_text_header(&m, 160, lines, 32);
	l = find_line(lines, n, "MSC ");
	CHECK(l && hl_of(l, "shed", "512B/call") == HL_WARN);
	m.self.shed_bytes = 0;
	/* per-CPU lines on request; an offline CPU says so */
	m.per_cpu = true;
	n = tui_text_header(&m, 160, lines, 32);
	l = find_line(lines, n, "1 ");
	CHECK(l && strstr(l->text, "offline"));
	/* a fully idle CPU: "id  100", never "id100.0" (CI read that back) */
	l = find_line(lines, n, "0 ");
	CHECK(l && strstr(l->text, " id  100 wa  0.0"));
	/* 80 columns: nothing wider, no line lost but the optional ones */
	n = tui_text_header(&m, 80, lines, 32);
	for (int i = 0; i < n; i++)
		CHECK_MSG(lines[i].len <= 80, "line %d is %d wide: %s", i, lines[i].len, lines[i].text);
	CHECK(find_line(lines, n, "MSC ") != NULL);
	/* max lines is a hard limit */
	CHECK_EQ_INT(tui_text_header(&m, 80, lines, 3), 3);
	/* no metrics yet */
	m.hm_valid = false;
	n = tui_text_header(&m, 80, lines, 32);
	CHECK(n == 3 && strstr(lines[1].text, "first sample"));
	tui_model_free(&m);
}

static void test_summaries(void)
{
	struct msg_record r = { .proto = PROTO_NATS };
	char b[TUI_SUMMARY_MAX];

	r.nats.op = NATS_PUB;
	r.nats.subject = SLICE_LIT("orders.new");
	r.nats.payload = SLICE_LIT("{\"id\":1}\r\n");
	r.nats.size = 8;
	tui_text_summary(&r, b, sizeof(b));
	CHECK_STR(b, "PUB orders.new 8B: {\"id\":1}..");
	r.nats.op = NATS_MSG;
	r.nats.sid = SLICE_LIT("7");
	r.nats.reply = SLICE_LIT("_INBOX.x");
	tui_text_summary(&r, b, sizeof(b));
	CHECK_STR(b, "MSG orders.new sid 7 reply _INBOX.x 8B: {\"id\":1}..");
	r.nats = (struct nats_msg){ .op = NATS_SUB, .subject = SLICE_LIT("a.>"),
				    .sid = SLICE_LIT("1"), .queue = SLICE_LIT("q") };
	tui_text_summary(&r, b, sizeof(b));
	CHECK_STR(b, "SUB a.> sid 1 queue q");
	r.nats = (struct nats_msg){ .op = NATS_UNSUB, .sid = SLICE_LIT("1"), .max_msgs = 5 };
	tui_text_summary(&r, b, sizeof(b));
	CHECK_STR(b, "UNSUB sid 1 max 5");
	r.nats = (struct nats_msg){ .op = NATS_PING, .max_msgs = -1 };
	tui_text_summary(&r, b, sizeof(b));
	CHECK_STR(b, "PING");

	memset(&r, 0, sizeof(r));
	r.proto = PROTO_HTTP;
	r.http.kind = HTTP_REQUEST;
	r.http.method = SLICE_LIT("GET");
	r.http.path = SLICE_LIT("/hello.txt");
	r.http.version = SLICE_LIT("HTTP/1.1");
	tui_text_summary(&r, b, sizeof(b));
	CHECK_STR(b, "GET /hello.txt HTTP/1.1");
	r.http.kind = HTTP_RESPONSE;
	r.http.status = 503;
	r.http.reason = SLICE_LIT("Service Unavailable");
	r.http.body = SLICE_LIT("busy");
	r.http.body_size = 2048;
	tui_text_summary(&r, b, sizeof(b));
	CHECK_STR(b, "503 Service Unavailable HTTP/1.1 2.0KB: busy");
	/* a small buffer cuts, never overflows */
	tui_text_summary(&r, b, 8);
	CHECK_STR(b, "503 Ser");
}

int main(void)
{
	test_si();
	test_bytes();
	test_durations();
	test_cutting();
	test_lines();
	test_layout();
	test_header();
	test_summaries();
	return check_summary("tui_text");
}

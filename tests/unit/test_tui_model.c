// SPDX-License-Identifier: MIT
/*
 * test_tui_model.c — the top view's data and state without a terminal:
 * synthetic NATS pub/sub and HTTP records go in, the four views' rows,
 * rates between ticks, the message ring, pause, filter, sort, selection,
 * details and batch frames come out; keys are fed as curses codes.
 *
 * Usage: test_tui_model [DATA_DIR]   (tests/data/proc, for the metrics
 * JSON round trip)
 */
#include "check.h"
#include "host_metrics.h"
#include "tui_input.h"
#include "tui_model.h"
#include "tui_text.h"

#include <curses.h>   /* key codes only: nothing here draws */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000ull
#define T0 1763762400000000000ull

/* publisher natsc[100] "shop", subscriber natsc[200] "orders-svc",
 * nats-server[50]; curl[300] -> nginx[400] */
static const struct conn_meta c_pub = { 1, 100, "natsc", "127.0.0.1:5000", "127.0.0.1:4222", ROLE_CLIENT, false };
static const struct conn_meta s_pub = { 2, 50, "nats-server", "127.0.0.1:4222", "127.0.0.1:5000", ROLE_SERVER, false };
static const struct conn_meta c_sub = { 3, 200, "natsc", "127.0.0.1:5001", "127.0.0.1:4222", ROLE_CLIENT, false };
static const struct conn_meta s_sub = { 4, 50, "nats-server", "127.0.0.1:4222", "127.0.0.1:5001", ROLE_SERVER, false };
static const struct conn_meta c_curl = { 5, 300, "curl", "127.0.0.1:6000", "127.0.0.1:8080", ROLE_CLIENT, false };
static const struct conn_meta s_nginx = { 6, 400, "nginx", "127.0.0.1:8080", "127.0.0.1:6000", ROLE_SERVER, false };

#define PAYLOAD "{\"id\":1,\"item\":\"book\"}"

static void nats(struct tui_model *m, const struct conn_meta *c, enum direction dir,
		 uint64_t ts, enum nats_op op, const char *subject, const char *arg)
{
	struct msg_record r = { .ts_ns = ts, .dir = dir, .proto = PROTO_NATS, .conn = c };

	r.nats.op = op;
	r.nats.max_msgs = -1;
	if (subject)
		r.nats.subject = slice_from(subject, strlen(subject));
	if (op == NATS_SUB || op == NATS_MSG)
		r.nats.sid = SLICE_LIT("1");
	if (op == NATS_CONNECT)
		r.nats.json = slice_from(arg, strlen(arg));
	if (op == NATS_PUB || op == NATS_MSG) {
		r.nats.payload = slice_from(arg, strlen(arg));
		r.nats.size = strlen(arg);
	}
	tui_model_add_record(m, &r);
}

static void http(struct tui_model *m, const struct conn_meta *c, enum direction dir,
		 uint64_t ts, bool request, int status)
{
	struct msg_record r = { .ts_ns = ts, .dir = dir, .proto = PROTO_HTTP, .conn = c };

	r.http.version = SLICE_LIT("HTTP/1.1");
	if (request) {
		r.http.kind = HTTP_REQUEST;
		r.http.method = SLICE_LIT("GET");
		r.http.path = SLICE_LIT("/hello.txt?x=1");
	} else {
		r.http.kind = HTTP_RESPONSE;
		r.http.status = status;
		r.http.reason = SLICE_LIT("OK");
		r.http.body = SLICE_LIT("hello, world\n");
		r.http.body_size = 13;
	}
	tui_model_add_record(m, &r);
}

/* Both clients connect and the subscriber subscribes, at T0. */
static void hello(struct tui_model *m)
{
	static const char shop[] = "{\"verbose\":false,\"name\":\"shop\"}";
	static const char svc[] = "{\"verbose\":false,\"name\":\"orders-svc\"}";

	nats(m, &c_sub, DIR_SEND, T0, NATS_CONNECT, NULL, svc);
	nats(m, &s_sub, DIR_RECV, T0 + 10000, NATS_CONNECT, NULL, svc);
	nats(m, &c_sub, DIR_SEND, T0 + 20000, NATS_SUB, "orders.*", NULL);
	nats(m, &s_sub, DIR_RECV, T0 + 30000, NATS_SUB, "orders.*", NULL);
	nats(m, &c_pub, DIR_SEND, T0 + 40000, NATS_CONNECT, NULL, shop);
	nats(m, &s_pub, DIR_RECV, T0 + 50000, NATS_CONNECT, NULL, shop);
}

/* One publication seen at its four points, and one HTTP exchange seen at
 * both ends: 8 records. */
static void round_trip(struct tui_model *m, uint64_t ts)
{
	nats(m, &c_pub, DIR_SEND, ts, NATS_PUB, "orders.new", PAYLOAD);
	nats(m, &s_pub, DIR_RECV, ts + 20000, NATS_PUB, "orders.new", PAYLOAD);
	nats(m, &s_sub, DIR_SEND, ts + 40000, NATS_MSG, "orders.new", PAYLOAD);
	nats(m, &c_sub, DIR_RECV, ts + 60000, NATS_MSG, "orders.new", PAYLOAD);
	http(m, &c_curl, DIR_SEND, ts + 100000, true, 0);
	http(m, &s_nginx, DIR_RECV, ts + 120000, true, 0);
	http(m, &s_nginx, DIR_SEND, ts + 500000, false, 200);
	http(m, &c_curl, DIR_RECV, ts + 520000, false, 200);
}

static int model_with_traffic_opts(struct tui_model *m, const struct tui_model_opts *o)
{
	if (tui_model_init(m, o))
		return -1;
	tui_model_tick(m, T0);
	hello(m);
	for (int i = 0; i < 3; i++)
		round_trip(m, T0 + 100000000ull + i * 200000000ull);
	tui_model_tick(m, T0 + NS);
	tui_model_refresh(m, false);
	return 0;
}

static int model_with_traffic(struct tui_model *m, size_t ring, bool replay)
{
	struct tui_model_opts o = { .interval_ns = NS, .ring_size = ring, .replay = replay };

	return model_with_traffic_opts(m, &o);
}

/* Index (in display order) of the first row whose cells contain every
 * one of the strings, or -1. */
static long find_row(const struct tui_model *m, const char *a, const char *b, const char *c)
{
	const char *want[3] = { a, b, c };

	for (size_t i = 0; i < m->table.norder; i++) {
		const struct tui_row *r = tui_model_row(m, i);
		int found = 0;

		for (int k = 0; k < 3; k++) {
			if (!want[k]) {
				found++;
				continue;
			}
			for (int col = 0; col < m->table.ncols; col++) {
				if (strstr(tui_table_cell(&m->table, r, col), want[k])) {
					found++;
					break;
				}
			}
		}
		if (found == 3)
			return i;
	}
	return -1;
}

static const char *cell(const struct tui_model *m, long row, const char *colname)
{
	for (int c = 0; c < m->table.ncols; c++)
		if (!strcmp(m->table.cols[c].name, colname))
			return tui_table_cell(&m->table, tui_model_row(m, row), c);
	return "(no such column)";
}

static int cell_hl(const struct tui_model *m, long row, const char *colname)
{
	for (int c = 0; c < m->table.ncols; c++)
		if (!strcmp(m->table.cols[c].name, colname))
			return tui_model_row(m, row)->hl[c];
	return -1;
}

static bool details_have(const struct tui_model *m, const char *s)
{
	for (int i = 0; i < m->details.n; i++)
		if (strstr(m->details.lines[i].text, s))
			return true;
	return false;
}

static void dump_table(const struct tui_model *m)
{
	int w[TUI_MAX_COLS];

	tui_text_widths(m, 160, w);
	for (size_t i = 0; i < m->table.norder; i++) {
		struct tui_line l;

		tui_text_row(m, i, w, &l);
		fprintf(stderr, "  | %s\n", l.text);
	}
}

static void test_flows(void)
{
	struct tui_model m;
	long pub, web;

	CHECK(model_with_traffic(&m, 0, false) == 0);
	CHECK_EQ_INT(m.view, TV_FLOWS);
	pub = find_row(&m, "natsc[100]:shop", "natsc[200]:orders-svc", "orders.new");
	web = find_row(&m, "curl[300]", "nginx[400]", "GET /hello.txt");
	CHECK(pub >= 0);
	CHECK(web >= 0);
	if (pub < 0 || web < 0) {
		dump_table(&m);
		tui_model_free(&m);
		return;
	}
	CHECK(!strcmp(cell(&m, pub, "PROTO"), "nats"));
	/* three of each in the first second: 3/s, born in the interval */
	CHECK_MSG(!strcmp(cell(&m, pub, "MSG/s"), "3"), "MSG/s %s", cell(&m, pub, "MSG/s"));
	CHECK_MSG(!strcmp(cell(&m, web, "MSG/s"), "3"), "MSG/s %s", cell(&m, web, "MSG/s"));
	CHECK(!strcmp(cell(&m, pub, "BYTE/s"), "66"));   /* 3 x 22 bytes */
	CHECK(!strcmp(cell(&m, web, "P50"), "400us"));   /* request -> response */
	CHECK(!strcmp(cell(&m, web, "ERR"), "0"));
	/* a quiet second: the rate drops to 0, the flow stays */
	tui_model_tick(&m, T0 + 2 * NS);
	tui_model_refresh(&m, false);
	pub = find_row(&m, "natsc[100]:shop", "orders.new", NULL);
	CHECK(pub >= 0 && !strcmp(cell(&m, pub, "MSG/s"), "0"));
	CHECK(pub >= 0 && !strcmp(cell(&m, pub, "LAST"), "1s"));
	/* one more round: 1/s */
	round_trip(&m, T0 + 2 * NS + 1000);
	tui_model_tick(&m, T0 + 3 * NS);
	tui_model_refresh(&m, false);
	pub = find_row(&m, "natsc[100]:shop", "orders.new", NULL);
	CHECK(pub >= 0 && !strcmp(cell(&m, pub, "MSG/s"), "1"));
	web = find_row(&m, "curl[300]", "GET /hello.txt", NULL);
	CHECK(web >= 0 && cell_hl(&m, web, "ERR") == HL_NONE);

	/* an HTTP 503: the flow's ERR turns red, so does the message */
	http(&m, &c_curl, DIR_SEND, T0 + 3 * NS + 1000, true, 0);
	http(&m, &s_nginx, DIR_RECV, T0 + 3 * NS + 2000, true, 0);
	http(&m, &s_nginx, DIR_SEND, T0 + 3 * NS + 3000, false, 503);
	http(&m, &c_curl, DIR_RECV, T0 + 3 * NS + 4000, false, 503);
	tui_model_tick(&m, T0 + 4 * NS);
	tui_model_refresh(&m, false);
	web = find_row(&m, "curl[300]", "GET /hello.txt", NULL);
	CHECK(web >= 0 && !strcmp(cell(&m, web, "ERR"), "1"));
	CHECK(web >= 0 && cell_hl(&m, web, "ERR") == HL_CRIT);
	tui_model_set_view(&m, TV_MESSAGES);
	CHECK(strstr(cell(&m, 0, "MESSAGE"), "503 OK"));
	CHECK(cell_hl(&m, 0, "MESSAGE") == HL_CRIT);
	CHECK(cell_hl(&m, 2, "MESSAGE") == HL_NONE);   /* the request */
	tui_model_free(&m);
}

static void test_other_views(void)
{
	struct tui_model m;
	long r;

	CHECK(model_with_traffic(&m, 0, false) == 0);
	tui_model_set_view(&m, TV_COMPONENTS);
	r = find_row(&m, "natsc[200]:orders-svc", NULL, NULL);
	CHECK(r >= 0 && !strcmp(cell(&m, r, "SUB"), "1") && !strcmp(cell(&m, r, "IN/s"), "3"));
	r = find_row(&m, "natsc[100]:shop", NULL, NULL);
	CHECK(r >= 0 && !strcmp(cell(&m, r, "PUB"), "1") && !strcmp(cell(&m, r, "OUT/s"), "3"));
	r = find_row(&m, "nginx[400]", NULL, NULL);
	CHECK(r >= 0 && !strcmp(cell(&m, r, "SRV"), "1"));
	r = find_row(&m, "curl[300]", NULL, NULL);
	CHECK(r >= 0 && !strcmp(cell(&m, r, "CALL"), "1"));
	if (r < 0)
		dump_table(&m);

	tui_model_set_view(&m, TV_SUBJECTS);
	r = find_row(&m, "orders.new", NULL, NULL);
	CHECK(r >= 0);
	CHECK(r >= 0 && strstr(cell(&m, r, "PUBLISHERS"), "natsc[100]:shop"));
	CHECK(r >= 0 && strstr(cell(&m, r, "SUBSCRIBERS"), "natsc[200]:orders-svc"));
	CHECK(r >= 0 && !strcmp(cell(&m, r, "LAST PAYLOAD"), PAYLOAD));
	CHECK(r >= 0 && !strcmp(cell(&m, r, "MSG/s"), "3"));
	if (r >= 0) {
		m.vs[m.view].sel = r;
		tui_model_open_details(&m);
		CHECK(details_have(&m, "Subject orders.new"));
		CHECK(details_have(&m, "\"item\": \"book\""));   /* pretty-printed */
		tui_model_close_details(&m);
	}

	tui_model_set_view(&m, TV_MESSAGES);
	CHECK_EQ_INT(m.table.norder, 6 + 3 * 8);
	CHECK(strstr(cell(&m, 0, "MESSAGE"), "200 OK HTTP/1.1 13B: hello, world."));
	CHECK(!strcmp(cell(&m, 0, "COMM"), "curl"));
	CHECK(!strcmp(cell(&m, 0, "D"), "<"));
	r = find_row(&m, "PUB orders.new", NULL, NULL);
	CHECK(r > 0);
	tui_model_free(&m);
}

static void test_details(void)
{
	struct tui_model m;
	long r;

	CHECK(model_with_traffic(&m, 0, false) == 0);
	r = find_row(&m, "natsc[100]:shop", "orders.new", NULL);
	CHECK(r >= 0);
	m.vs[m.view].sel = r;
	tui_model_open_details(&m);
	CHECK(m.details.open);
	CHECK(details_have(&m, "Flow nats: natsc[100]:shop -> natsc[200]:orders-svc"));
	CHECK(details_have(&m, "Latency distribution (3 samples"));
	CHECK(details_have(&m, "\"op\": \"PUB\""));
	CHECK(details_have(&m, "\"item\": \"book\""));
	/* from the sender's side only: the subscriber's MSG is not listed */
	CHECK(!details_have(&m, "\"op\": \"MSG\""));
	tui_model_scroll_details(&m, LONG_MAX);
	CHECK(m.details.scroll >= 0);
	tui_model_close_details(&m);

	tui_model_set_view(&m, TV_MESSAGES);
	tui_model_move(&m, LONG_MIN);
	tui_model_open_details(&m);
	CHECK(details_have(&m, "curl[300] recv http"));
	CHECK(details_have(&m, "127.0.0.1:6000 -> 127.0.0.1:8080"));
	CHECK(details_have(&m, "\"status\": 200"));
	tui_model_free(&m);
}

static void test_ring(void)
{
	struct tui_model m;

	CHECK(model_with_traffic(&m, 4, false) == 0);
	CHECK_EQ_INT(m.ring_count, 4);
	CHECK(tui_model_msg(&m, 0)->seq == 6 + 3 * 8);
	CHECK(tui_model_msg(&m, 3)->seq == 6 + 3 * 8 - 3);
	CHECK(tui_model_msg(&m, 4) == NULL);
	CHECK(tui_model_msg_by_seq(&m, 6 + 3 * 8 - 4) == NULL);
	CHECK(tui_model_msg_by_seq(&m, 6 + 3 * 8 - 3) != NULL);
	CHECK(tui_model_msg_by_seq(&m, 1000) == NULL);
	/* a response knows the endpoint of its request on the same conn */
	CHECK(!strcmp(tui_model_msg(&m, 0)->key, "/hello.txt"));
	tui_model_free(&m);
}

/* A process name is shown as it was, minus what a terminal would obey. */
static void test_comm_printable(void)
{
	static const struct conn_meta odd = { 7, 500, "ev\x1b[2Jil", "127.0.0.1:7000",
					      "127.0.0.1:4222", ROLE_CLIENT, false };
	struct tui_model m;
	const char *comm;
	long r;

	CHECK(model_with_traffic(&m, 0, false) == 0);
	nats(&m, &odd, DIR_SEND, T0 + 900000000ull, NATS_PUB, "odd.x", PAYLOAD);
	tui_model_set_view(&m, TV_MESSAGES);
	tui_model_refresh(&m, false);
	r = find_row(&m, "PUB odd.x", NULL, NULL);
	CHECK(r >= 0);
	if (r >= 0) {
		comm = cell(&m, r, "COMM");
		CHECK(!strchr(comm, '\x1b') && !strncmp(comm, "ev", 2) &&
		      strstr(comm, "[2Jil"));
	}
	tui_model_free(&m);
}

/* top -b printing flows keeps no messages; the views it prints are whole */
static void test_no_messages(void)
{
	struct tui_model_opts o = { .interval_ns = NS, .no_messages = true };
	struct tui_model m;

	CHECK(model_with_traffic_opts(&m, &o) == 0);
	CHECK_EQ_INT(m.ring_count, 0);
	CHECK(tui_model_msg(&m, 0) == NULL);
	CHECK_EQ_INT(m.self.records_total, 6 + 3 * 8);
	CHECK(find_row(&m, "natsc[100]:shop", "natsc[200]:orders-svc", "orders.new") >= 0);
	CHECK(find_row(&m, "curl[300]", "nginx[400]", "GET /hello.txt") >= 0);
	tui_model_free(&m);
}

/* Messages of one connection share its kept copy; a copy goes with the
 * last message that holds it. */
static void test_shared_conns(void)
{
	struct tui_model m;
	unsigned conns = 0, refs = 0;
	const struct tui_msg *a, *b;

	CHECK(model_with_traffic(&m, 4, false) == 0);
	for (int i = 0; i < TUI_CONN_BUCKETS; i++)
		for (const struct tui_conn *c = m.conns[i]; c; c = c->next) {
			conns++;
			refs += c->refs;
		}
	/* the last 4 records: the HTTP exchange, seen at both ends */
	CHECK_EQ_INT(conns, 2);
	CHECK_EQ_INT(refs, 4);
	a = tui_model_msg(&m, 0);   /* curl's response recv */
	b = tui_model_msg(&m, 3);   /* curl's request send */
	CHECK(a->kept.conn && a->kept.conn == b->kept.conn);
	CHECK(!strcmp(tui_msg_local(a), "127.0.0.1:6000"));
	tui_model_free(&m);
}

static void test_pause(void)
{
	struct tui_model m;
	size_t rows;
	long r;

	CHECK(model_with_traffic(&m, 0, false) == 0);
	tui_model_set_view(&m, TV_MESSAGES);
	rows = m.table.norder;
	tui_model_set_paused(&m, true);
	round_trip(&m, T0 + 1500000000ull);
	tui_model_tick(&m, T0 + 2 * NS);
	tui_model_refresh(&m, false);
	CHECK_EQ_INT(m.table.norder, rows);      /* the screen is frozen */
	CHECK_EQ_INT(m.self.held_back, 8);       /* the ring kept still */
	CHECK_EQ_INT(m.self.records_total, rows + 8);
	tui_model_set_paused(&m, false);
	CHECK_EQ_INT(m.table.norder, rows);      /* held back, not replayed */
	CHECK_EQ_INT(m.self.held_back, 0);
	/* the correlator kept counting meanwhile */
	tui_model_set_view(&m, TV_SUBJECTS);
	r = find_row(&m, "orders.new", NULL, NULL);
	CHECK(r >= 0 && !strcmp(cell(&m, r, "MSGS"), "4"));
	tui_model_free(&m);

	/* replay: pause stops the clock, not the ring */
	CHECK(model_with_traffic(&m, 0, true) == 0);
	tui_model_set_paused(&m, true);
	round_trip(&m, T0 + 1500000000ull);
	CHECK_EQ_INT(m.ring_count, 6 + 4 * 8);
	tui_model_free(&m);
}

static void test_filter_sort_select(void)
{
	struct tui_model m;
	const char *id;
	char keep[TUI_IDENT_MAX];
	size_t all;

	CHECK(model_with_traffic(&m, 0, false) == 0);
	tui_model_set_view(&m, TV_MESSAGES);
	all = m.table.norder;
	tui_model_set_filter(&m, "get /HELLO");          /* case-insensitive */
	CHECK_EQ_INT(m.table.norder, 6);                  /* 3 requests x 2 ends */
	for (size_t i = 0; i < m.table.norder; i++)
		CHECK(strstr(cell(&m, i, "MESSAGE"), "GET /hello.txt"));
	tui_model_set_filter(&m, "no such thing");
	CHECK_EQ_INT(m.table.norder, 0);
	tui_model_move(&m, 1);                            /* harmless when empty */
	tui_model_set_filter(&m, "");
	CHECK_EQ_INT(m.table.norder, all);

	/* sort by SIZE (numeric: largest first), then reverse */
	tui_model_sort_by(&m, 5);
	CHECK(!strcmp(m.table.cols[m.vs[m.view].sort_col].name, "SIZE"));
	CHECK(m.vs[m.view].sort_desc);
	CHECK(!strcmp(cell(&m, 0, "SIZE"), "22"));
	tui_model_sort_reverse(&m);
	CHECK(!strcmp(cell(&m, 0, "SIZE"), "0"));
	tui_model_sort_step(&m, 1);                       /* SIZE -> MESSAGE, text: A-Z */
	CHECK(!strcmp(m.table.cols[m.vs[m.view].sort_col].name, "MESSAGE"));
	CHECK(!m.vs[m.view].sort_desc);
	CHECK(!strncmp(cell(&m, 0, "MESSAGE"), "200 OK", 6));
	tui_model_sort_step(&m, 1);                       /* wraps to TIME */
	CHECK_EQ_INT(m.vs[m.view].sort_col, 0);
	CHECK(m.vs[m.view].sort_desc);

	/* the selection stays on its row when new rows come in above it */
	m.body_rows = 5;
	tui_model_move(&m, 3);
	id = tui_table_ident(&m.table, tui_model_row(&m, 3));
	snprintf(keep, sizeof(keep), "%s", id);
	round_trip(&m, T0 + 1500000000ull);
	tui_model_refresh(&m, false);
	CHECK_EQ_INT(m.vs[m.view].sel, 3 + 8);
	CHECK(!strcmp(tui_table_ident(&m.table, tui_model_row(&m, m.vs[m.view].sel)), keep));
	CHECK(m.vs[m.view].sel >= m.vs[m.view].top &&
	      m.vs[m.view].sel < m.vs[m.view].top + 5);   /* still on screen */
	/* ... but the first row follows the tail */
	tui_model_move(&m, LONG_MIN);
	round_trip(&m, T0 + 1700000000ull);
	tui_model_refresh(&m, false);
	CHECK_EQ_INT(m.vs[m.view].sel, 0);
	CHECK(m.table.norder == all + 16);
	tui_model_move(&m, LONG_MAX);
	CHECK_EQ_INT(m.vs[m.view].sel, all + 15);
	CHECK_EQ_INT(m.vs[m.view].top, all + 16 - 5);
	tui_model_move(&m, -1000);
	CHECK_EQ_INT(m.vs[m.view].sel, 0);
	/* leaving the tail while it follows and coming back later: it still
	 * follows (it used to stay on the row that was newest when left) */
	tui_model_set_view(&m, TV_COMPONENTS);
	round_trip(&m, T0 + 1900000000ull);
	tui_model_refresh(&m, false);
	tui_model_set_view(&m, TV_MESSAGES);
	CHECK_EQ_INT(m.vs[m.view].sel, 0);
	CHECK(tui_model_msg(&m, 0) && !strcmp(tui_table_ident(&m.table, tui_model_row(&m, 0)),
	      (snprintf(keep, sizeof(keep), "m%llu",
			(unsigned long long)tui_model_msg(&m, 0)->seq), keep)));
	/* same for a filter typed while following */
	round_trip(&m, T0 + 2100000000ull);
	tui_model_set_filter(&m, "GET");
	CHECK_EQ_INT(m.vs[m.view].sel, 0);
	tui_model_set_filter(&m, "");
	CHECK_EQ_INT(m.vs[m.view].sel, 0);
	tui_model_free(&m);
}

static void test_frame(void)
{
	struct tui_model m;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	CHECK(model_with_traffic(&m, 0, false) == 0);
	f = open_memstream(&out, &len);
	tui_text_print_frame(f, &m, 120);
	fclose(f);
	CHECK(!strncmp(out, "msgscope ", 9));
	CHECK(strstr(out, "\n 1 Flows  2 Messages  3 Components  4 Subjects "));
	CHECK(strstr(out, "\nPROTO FROM "));
	CHECK(strstr(out, "natsc[100]:shop"));
	CHECK(strstr(out, "GET /hello.txt"));
	for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		CHECK_MSG(nl - line <= 120, "a %d-column line: %.*s", (int)(nl - line),
			  (int)(nl - line), line);
		CHECK(nl == line || nl[-1] != ' ');   /* no trailing blanks */
	}
	free(out);
	tui_model_free(&m);
}

static void test_reset(void)
{
	struct tui_model m;

	CHECK(model_with_traffic(&m, 0, true) == 0);
	CHECK(m.table.norder > 0);
	CHECK(tui_model_reset_data(&m) == 0);
	tui_model_tick(&m, T0);
	tui_model_refresh(&m, true);
	CHECK_EQ_INT(m.table.norder, 0);
	CHECK_EQ_INT(m.ring_count, 0);
	CHECK_EQ_INT(m.self.records_total, 0);
	round_trip(&m, T0 + 1000);
	tui_model_tick(&m, T0 + NS);
	tui_model_refresh(&m, true);
	CHECK(m.table.norder > 0);
	tui_model_free(&m);
}

static int sample(struct host_sample *s, const char *dir, const char *name, uint64_t mono)
{
	char proc[512], sys[512];

	snprintf(proc, sizeof(proc), "%s/%s/proc", dir, name);
	snprintf(sys, sizeof(sys), "%s/%s/sys", dir, name);
	s->mono_ns = mono;
	return host_sample_read(s, proc, sys);
}

/* Replay draws the header from "metrics" lines: what host_metrics_to_json
 * wrote must come back as the same numbers. */
static void test_metrics_json(const char *dir)
{
	struct host_sample *s = calloc(2, sizeof(*s));
	struct host_metrics *hm = calloc(1, sizeof(*hm));
	struct tui_model_opts o = { .replay = true };
	struct tui_model m;
	json_t *j = json_object();

	CHECK(tui_model_init(&m, &o) == 0);
	CHECK(tui_model_set_metrics_json(&m, j) == -EINVAL);
	json_decref(j);
	j = NULL;
	CHECK(!m.hm_valid);
	if (!s || !hm || sample(&s[0], dir, "hand_t0", 0) || sample(&s[1], dir, "hand_t1", 2 * NS)) {
		CHECK_MSG(0, "cannot read %s/hand_t0,hand_t1", dir);
		goto out;
	}
	host_metrics_compute(&s[0], &s[1], hm);
	CHECK(host_metrics_to_json(hm, &j) == 0);
	CHECK(tui_model_set_metrics_json(&m, j) == 0);
	CHECK(m.hm_valid);
	CHECK(m.hm->cpu_ok == hm->cpu_ok);
	for (int f = 0; f < HM_CPU_NFIELDS; f++)
		CHECK(fabs(m.hm->cpu[f] - hm->cpu[f]) < 0.006);
	CHECK_EQ_INT(m.hm->ncpus, hm->ncpus);
	for (uint32_t c = 0; c < hm->ncpus; c++) {
		CHECK_EQ_INT(m.hm->cpus[c].ok, hm->cpus[c].ok);
		CHECK_EQ_INT(m.hm->cpus[c].status == HM_CPU_OFFLINE, hm->cpus[c].status == HM_CPU_OFFLINE);
	}
	CHECK(m.hm->mem_used_kb == hm->mem_used_kb && m.hm->mem_total_kb == hm->mem_total_kb);
	CHECK(m.hm->avail_kb == hm->avail_kb && m.hm->swap_total_kb == hm->swap_total_kb);
	CHECK(fabs(m.hm->load[2] - hm->load[2]) < 0.006);
	CHECK(m.hm->tasks_total == hm->tasks_total);
	CHECK(fabs(m.hm->cswch_s - hm->cswch_s) < 0.006);
	CHECK_EQ_INT(m.hm->nnet, hm->nnet);
	CHECK_EQ_INT(m.hm->ndisk, hm->ndisk);
	for (uint32_t i = 0; i < hm->ndisk && i < m.hm->ndisk; i++) {
		CHECK(!strcmp(m.hm->disk[i].name, hm->disk[i].name));
		CHECK(fabs(m.hm->disk[i].busy_pct - hm->disk[i].busy_pct) < 0.006);
	}
	for (int r = 0; r < HM_PSI_NRES; r++)
		CHECK_EQ_INT(m.hm->psi[r][HM_PSI_SOME].avg_ok, hm->psi[r][HM_PSI_SOME].avg_ok);
out:
	json_decref(j);
	free(s);
	free(hm);
	tui_model_free(&m);
}

static enum tui_action keys(struct tui_model *m, const int *k, uint64_t *arg)
{
	enum tui_action a = ACT_NONE;

	for (; *k; k++)
		a = tui_input_key(m, *k, arg);
	return a;
}

static void test_keys(void)
{
	struct tui_model m;
	uint64_t arg = 0;

	CHECK(model_with_traffic(&m, 0, false) == 0);
	CHECK(keys(&m, (int[]){ '2', 0 }, &arg) == ACT_NONE && m.view == TV_MESSAGES);
	keys(&m, (int[]){ '\t', 0 }, &arg);
	CHECK_EQ_INT(m.view, TV_COMPONENTS);
	keys(&m, (int[]){ KEY_BTAB, KEY_BTAB, 0 }, &arg);
	CHECK_EQ_INT(m.view, TV_FLOWS);
	keys(&m, (int[]){ '4', '\t', 0 }, &arg);
	CHECK_EQ_INT(m.view, TV_FLOWS);                 /* wraps */

	/* filter: applied while typing, Esc in the prompt restores */
	keys(&m, (int[]){ '/', 'c', 'u', 'r', 0 }, &arg);
	CHECK(m.prompt == PROMPT_FILTER && !strcmp(m.filter, "cur"));
	CHECK_EQ_INT(m.table.norder, 1);
	keys(&m, (int[]){ KEY_BACKSPACE, 'r', '\n', 0 }, &arg);
	CHECK(m.prompt == PROMPT_NONE && !strcmp(m.filter, "cur"));
	keys(&m, (int[]){ '/', 'x', 27, 0 }, &arg);
	CHECK(!strcmp(m.filter, "cur"));
	keys(&m, (int[]){ 27, 0 }, &arg);               /* Esc outside: clears */
	CHECK(!m.filter[0]);

	/* sort keys */
	keys(&m, (int[]){ 's', 0 }, &arg);
	CHECK(!strcmp(m.table.cols[m.vs[m.view].sort_col].name, "BYTE/s"));
	keys(&m, (int[]){ '<', '<', 0 }, &arg);
	CHECK(!strcmp(m.table.cols[m.vs[m.view].sort_col].name, "SUBJECT/ENDPOINT"));
	keys(&m, (int[]){ 'r', 0 }, &arg);
	CHECK(m.vs[m.view].sort_desc);

	/* help: any key closes it and does nothing else */
	keys(&m, (int[]){ 'h', 0 }, &arg);
	CHECK(m.help);
	CHECK(keys(&m, (int[]){ 'q', 0 }, &arg) == ACT_NONE && !m.help);

	/* details: Enter opens, arrows scroll, Esc and q close */
	keys(&m, (int[]){ KEY_HOME, '\n', 0 }, &arg);
	CHECK(m.details.open);
	keys(&m, (int[]){ KEY_NPAGE, KEY_DOWN, 0 }, &arg);
	CHECK(keys(&m, (int[]){ 'q', 0 }, &arg) == ACT_NONE && !m.details.open);
	keys(&m, (int[]){ '\r', 27, 0 }, &arg);
	CHECK(!m.details.open);

	/* pause, delay, per-CPU, refresh, quit */
	CHECK(keys(&m, (int[]){ 'p', 0 }, &arg) == ACT_PAUSE && m.paused);
	CHECK(keys(&m, (int[]){ 'p', 0 }, &arg) == ACT_PAUSE && !m.paused);
	CHECK(keys(&m, (int[]){ 'd', 21, '0', '.', '5', '\n', 0 }, &arg) == ACT_DELAY);
	CHECK_EQ_INT(m.interval_ns, 500000000);
	CHECK(keys(&m, (int[]){ 'd', 21, '0', '.', '0', '1', '\n', 0 }, &arg) == ACT_DELAY);
	CHECK_EQ_INT(m.interval_ns, TUI_MIN_DELAY_NS);  /* clamped */
	CHECK(keys(&m, (int[]){ 'd', 21, 'x', '\n', 0 }, &arg) == ACT_NONE);
	CHECK(strstr(m.status, "Delay"));
	CHECK_EQ_INT(m.interval_ns, TUI_MIN_DELAY_NS);
	keys(&m, (int[]){ 'c', 0 }, &arg);
	CHECK(m.per_cpu);
	CHECK(keys(&m, (int[]){ ' ', 0 }, &arg) == ACT_REFRESH);
	CHECK(keys(&m, (int[]){ 'n', 0 }, &arg) == ACT_NONE);   /* live: no step */
	CHECK(keys(&m, (int[]){ 'q', 0 }, &arg) == ACT_QUIT);
	tui_model_free(&m);

	/* replay keys */
	CHECK(model_with_traffic(&m, 0, true) == 0);
	CHECK(keys(&m, (int[]){ '+', 0 }, &arg) == ACT_SPEED && m.speed == 2);
	CHECK(keys(&m, (int[]){ '-', '-', 0 }, &arg) == ACT_SPEED && m.speed == 0.5);
	for (int i = 0; i < 20; i++)
		keys(&m, (int[]){ '+', 0 }, &arg);
	CHECK(m.speed == TUI_MAX_SPEED);
	CHECK(keys(&m, (int[]){ ' ', 0 }, &arg) == ACT_PAUSE && m.paused);
	CHECK(keys(&m, (int[]){ 'n', 0 }, &arg) == ACT_STEP);
	CHECK(keys(&m, (int[]){ '.', 0 }, &arg) == ACT_STEP);
	CHECK(keys(&m, (int[]){ 'g', '1', '2', '.', '5', '\n', 0 }, &arg) == ACT_JUMP);
	CHECK(arg == 12500000000ull);
	CHECK(keys(&m, (int[]){ 'g', '-', '1', '\n', 0 }, &arg) == ACT_NONE);
	CHECK(strstr(m.status, "Jump"));
	tui_model_free(&m);
}

int main(int argc, char **argv)
{
	test_flows();
	test_other_views();
	test_details();
	test_ring();
	test_no_messages();
	test_comm_printable();
	test_shared_conns();
	test_pause();
	test_filter_sort_select();
	test_frame();
	test_reset();
	test_metrics_json(argc > 1 ? argv[1] : "tests/data/proc");
	test_keys();
	return check_summary("tui_model");
}

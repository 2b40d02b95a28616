/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the delivery and exchange lines of flow_json.c: what they
 * say, that they parse, and that the endpoint cache changes nothing — the
 * same bytes as the plain writer, line after line, as endpoints come, go
 * and change under the same pid and address.
 */
#include <jansson.h>
#include <stdlib.h>

#include "check.h"
#include "flow_json.h"

static struct endpoint_info ep(uint32_t pid, const char *comm, const char *name,
			       const char *addr)
{
	struct endpoint_info e;

	memset(&e, 0, sizeof(e));
	e.pid = pid;
	snprintf(e.comm, sizeof(e.comm), "%s", comm);
	snprintf(e.name, sizeof(e.name), "%s", name);
	snprintf(e.addr, sizeof(e.addr), "%s", addr);
	return e;
}

/* Both writers, compared; returns the line parsed (new reference). */
static json_t *write_both(struct flow_json_cache *cache, const struct flow_event *ev)
{
	struct jw a, b;
	json_error_t err;
	json_t *j;

	jw_init(&a);
	jw_init(&b);
	CHECK(flow_event_write(&a, ev));
	CHECK(flow_event_write_cached(&b, ev, cache));
	CHECK_MSG(a.len == b.len && !memcmp(a.buf, b.buf, a.len),
		  "cached %.*s\n  plain %.*s", (int)b.len, b.buf, (int)a.len, a.buf);
	j = json_loadb(a.buf, a.len, 0, &err);
	CHECK_MSG(j != NULL, "not JSON: %.*s (%s)", (int)a.len, a.buf, err.text);
	jw_free(&a);
	jw_free(&b);
	return j;
}

static void test_delivery_lines(void)
{
	static struct flow_json_cache cache;
	struct endpoint_info pub = ep(100, "publisher", "", "127.0.0.1:40001");
	struct endpoint_info srv = ep(200, "nats-server", "hub", "127.0.0.1:4222");
	struct endpoint_info sub = ep(300, "sub\"q", "name\\x", "127.0.0.1:40002");
	struct endpoint_info remote = ep(0, "", "", "10.0.0.9:5000");
	struct flow_receiver to[2] = {
		{ .ep = &sub, .sid = "1", .ts_ns = 1000 + 30 },
		{ .ep = &remote, .sid = "7", .queue = "workers", .ts_ns = 1000 + 50 },
	};
	struct flow_event ev = { .type = FLOW_EV_DELIVERY, .ts_ns = 1000 };
	json_t *j;

	ev.delivery = (struct flow_delivery){ .subject = "orders.new", .reply = "",
		.size = 5, .from = &pub, .server = &srv, .to = to, .n_to = 2,
		.complete = true };
	for (int round = 0; round < 4; round++) {
		j = write_both(&cache, &ev);
		CHECK(!strcmp(json_string_value(json_object_get(j, "type")), "delivery"));
		CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "from"), "pid")), 100);
		CHECK(!strcmp(json_string_value(json_object_get(json_object_get(j, "server"), "name")), "hub"));
		CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(j, "to"), 0), "comm")), sub.comm));
		CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(json_object_get(j, "to"), 0), "latency_ns")), 30);
		CHECK(!json_object_get(json_array_get(json_object_get(j, "to"), 1), "pid"));
		CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(j, "to"), 1), "queue")), "workers"));
		json_decref(j);
		/* the same pid and address, another process name: without a
		 * key, and then with the correlator's keys (a new one for the
		 * new content), the cache must not serve the old name */
		snprintf(sub.comm, sizeof(sub.comm), "sub-%d", round);
		if (round >= 1) {
			srv.key = 41;
			sub.key = 42 + round;
		}
	}
	ev.delivery.from = NULL; /* the publication was not seen */
	j = write_both(&cache, &ev);
	CHECK(json_is_null(json_object_get(j, "from")));
	CHECK(!json_object_get(json_array_get(json_object_get(j, "to"), 0), "latency_ns"));
	json_decref(j);
}

static void test_exchange_lines(void)
{
	static struct flow_json_cache cache;
	struct endpoint_info cl = ep(310, "ruby", "cloud_controller", "127.0.0.1:51010");
	struct endpoint_info sv = ep(320, "dea_next", "dea", "127.0.0.1:51020");
	struct flow_event ev = { .type = FLOW_EV_EXCHANGE, .ts_ns = 5 };
	json_t *j;

	ev.exchange = (struct flow_exchange){ .proto = PROTO_NATS, .answered = true,
		.latency_ns = 5000000, .subject = "dea.status", .reply = "_INBOX.a.1",
		.request_bytes = 2, .response_bytes = 19, .client = &cl, .server = &sv };
	for (int i = 0; i < 2; i++) {
		j = write_both(&cache, &ev);
		CHECK(!strcmp(json_string_value(json_object_get(j, "type")), "exchange"));
		CHECK(!strcmp(json_string_value(json_object_get(json_object_get(j, "client"), "name")), "cloud_controller"));
		CHECK_EQ_INT(json_integer_value(json_object_get(j, "latency_ns")), 5000000);
		json_decref(j);
	}
	ev.exchange = (struct flow_exchange){ .proto = PROTO_HTTP, .answered = true,
		.error = true, .error_reason = "status", .status = 500, .method = "GET",
		.path = "/v2/info", .endpoint = "/v2/info", .client = &cl, .server = NULL };
	j = write_both(&cache, &ev);
	CHECK_EQ_INT(json_integer_value(json_object_get(j, "status")), 500);
	CHECK(json_is_null(json_object_get(j, "server")));
	json_decref(j);
}

/* The correlator clears only the first byte of each string, so the same
 * endpoint comes with other bytes past its NULs; and the clients of one
 * process differ only in their port. Both must render as they are. */
static void test_cache_leftovers_and_ports(void)
{
	static struct flow_json_cache cache;
	struct endpoint_info cl = ep(100, "wrk", "", "127.0.0.1:40001");
	struct endpoint_info sv = ep(200, "nginx", "", "127.0.0.1:8080");
	struct flow_event ev = { .type = FLOW_EV_EXCHANGE, .ts_ns = 5 };
	json_t *j;

	ev.exchange = (struct flow_exchange){ .proto = PROTO_HTTP, .answered = true,
		.status = 200, .method = "GET", .path = "/small", .endpoint = "/small",
		.client = &cl, .server = &sv };
	for (int round = 0; round < 40; round++) {
		char want[32];

		/* leftovers past the NULs, different each round */
		memset(cl.comm + 4, 'a' + round % 26, sizeof(cl.comm) - 4);
		memset(cl.name + 1, 'A' + round % 26, sizeof(cl.name) - 1);
		memset(sv.addr + strlen(sv.addr) + 1, round, sizeof(sv.addr) - strlen(sv.addr) - 1);
		/* a client port per round, some ports again */
		snprintf(cl.addr, sizeof(cl.addr), "127.0.0.1:%d", 40001 + round % 7);
		snprintf(want, sizeof(want), "127.0.0.1:%d", 40001 + round % 7);
		j = write_both(&cache, &ev);
		CHECK_MSG(!strcmp(json_string_value(json_object_get(json_object_get(j, "client"), "addr")), want),
			  "round %d: client %s", round, want);
		CHECK(!strcmp(json_string_value(json_object_get(json_object_get(j, "client"), "comm")), "wrk"));
		json_decref(j);
	}
}

int main(void)
{
	test_delivery_lines();
	test_exchange_lines();
	test_cache_leftovers_and_ports();
	return check_summary("flow_json");
}

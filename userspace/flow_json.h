/* SPDX-License-Identifier: MIT */
/*
 * flow_json.h — correlator output as trace lines ("exchange", "delivery",
 * "flow"; shapes in docs/trace-format.md) and as the text flow table of
 * `msgscope flows`. Pure apart from flow_table_print writing to a FILE.
 */
#ifndef MSGSCOPE_FLOW_JSON_H
#define MSGSCOPE_FLOW_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "correlator.h"
#include "json_writer.h"

/* {"pid","comm","name","addr"} with what is known; with_host adds "exe"
 * and "cgroup" when known. NULL ep gives JSON null. New reference. */
json_t *flow_endpoint_json(const struct endpoint_info *ep, bool with_host);

/* What the correlator made of the records, and where it had to cut
 * corners (pushed out of a full table, waited out, out of order): the
 * "correlator" member of the trace's end line. New reference. */
json_t *flow_counters_json(const struct corr_counters *k);

/* A component as a flow endpoint: the above plus "key". */
json_t *flow_component_json(const struct corr_component *k);

/* One trace line for an event; NULL on allocation failure. */
json_t *flow_event_json(const struct flow_event *ev);

/* The same line written into w (no newline): exchanges and deliveries come
 * once per message and are written without building a jansson object.
 * false for an unknown event type or when the flow line cannot be built. */
bool flow_event_write(struct jw *w, const struct flow_event *ev);

/*
 * A delivery or exchange line names the same few endpoints line after
 * line: a sink writing many keeps their members rendered here. A slot is
 * reused only for a byte-identical endpoint_info, so a stale one costs a
 * render, never a wrong line. Zero-initialise it; it holds no pointers.
 */
#define FLOW_JSON_CACHE_SLOTS 128

struct flow_json_endpoint {
	bool valid;
	struct endpoint_info ep;
	size_t len;
	char json[512];
};

struct flow_json_cache {
	struct flow_json_endpoint slot[FLOW_JSON_CACHE_SLOTS];
};

/* The same output as flow_event_write(); cache may be NULL. */
bool flow_event_write_cached(struct jw *w, const struct flow_event *ev,
			     struct flow_json_cache *cache);

/* "850ns", "12.3us", "4.56ms", "1.23s"; "-" for 0 when none is set.
 * Returns buf. */
const char *flow_format_ns(char *buf, size_t n, uint64_t ns, bool none);

/*
 * The final flow table: one row per edge, count descending, aligned
 * columns PROTO KIND FROM TO SUBJECT/ENDPOINT COUNT BYTES ERRORS P50 P90
 * P99 MAX. Returns 0, or -1 if writing failed.
 */
int flow_table_print(FILE *out, const struct correlator *c);

#endif /* MSGSCOPE_FLOW_JSON_H */

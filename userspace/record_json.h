/* SPDX-License-Identifier: MIT */
/*
 * record_json.h — a parsed message record as the JSON object documented in
 * docs/trace-format.md ("nats" and "http" lines). Pure: no I/O.
 *
 * There is one serialiser, record_write_json(), a streaming writer fast
 * enough for the capture hot path; record_to_json() parses its output for
 * callers that want a jansson tree, so the two can never disagree.
 */
#ifndef MSGSCOPE_RECORD_JSON_H
#define MSGSCOPE_RECORD_JSON_H

#include <jansson.h>

#include "json_writer.h"
#include "record.h"

/* Append rec as one JSON object (no newline). */
void record_write_json(struct jw *w, const struct msg_record *rec);

/*
 * The members a record takes from its connection ("pid" to "role"/"tls")
 * are the same for every message on it: a sink writing many records keeps
 * them rendered here. A slot is reused only for a byte-identical
 * conn_meta, so a stale entry can cost a render, never a wrong line.
 * Zero-initialise it; it holds no pointers.
 */
#define RECORD_JSON_CACHE_SLOTS 128

struct record_json_conn {
	bool valid;
	struct conn_meta meta;
	size_t len;
	char json[512];
};

/*
 * Likewise an HTTP record's members from "kind" to "headers", rendered
 * from its head (http_msg.head): clients and servers send the same head
 * again and again (a keep-alive client's request, a server's response
 * until its Date moves on). A slot is chosen by a hash of the head's
 * bytes and reused only for byte-identical ones.
 */
#define RECORD_JSON_HEAD_SLOTS 16
#define RECORD_JSON_HEAD_MAX 768

struct record_json_head {
	size_t head_len, json_len; /* head_len 0: empty */
	char head[RECORD_JSON_HEAD_MAX];
	char json[2 * RECORD_JSON_HEAD_MAX];
};

struct record_json_cache {
	struct record_json_conn slot[RECORD_JSON_CACHE_SLOTS];
	struct record_json_head head[RECORD_JSON_HEAD_SLOTS];
};

/* The same output as record_write_json(); cache may be NULL. */
void record_write_json_cached(struct jw *w, const struct msg_record *rec,
			      struct record_json_cache *cache);

/* A new reference, or NULL on allocation failure. */
json_t *record_to_json(const struct msg_record *rec);

const char *nats_op_name(enum nats_op op);
const char *role_name(enum role role);

#endif

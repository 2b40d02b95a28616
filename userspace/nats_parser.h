/* SPDX-License-Identifier: MIT */
/*
 * nats_parser.h — incremental parser of one direction of one NATS client
 * protocol stream.
 *
 * Pure: no I/O, no globals, no threads. Bytes may arrive in pieces of any
 * size and parts of the stream may be missing (nats_parser_gap). Each
 * complete protocol message is handed to the callback as one msg_record
 * (proto PROTO_NATS, conn NULL); its slices point into the parser and are
 * valid only during the callback.
 *
 * Memory held is bounded by NATS_LINE_MAX (control line, plus the kept part
 * of an HPUB/HMSG header block) plus payload_keep.
 */
#ifndef MSGSCOPE_NATS_PARSER_H
#define MSGSCOPE_NATS_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* Longest control line accepted, "\r" included; also caps kept headers. */
#define NATS_LINE_MAX (64 * 1024)
/* Largest declared message size accepted (nats-server allows up to 64 MiB). */
#define NATS_SIZE_MAX (64ULL * 1024 * 1024)

struct nats_parser_stats {
	uint64_t messages;      /* records emitted */
	uint64_t resyncs;       /* times sync was (re)gained after hunting */
	uint64_t bytes_skipped; /* captured bytes that belong to no record */
	uint64_t errors;        /* malformed lines/bodies while in sync */
	uint64_t gap_bytes;     /* bytes reported missing by nats_parser_gap */
	uint64_t body_dropped;  /* captured header/payload bytes not kept */
};

struct nats_parser;

/*
 * dir: copied into every record. payload_keep: most payload bytes kept per
 * message. synced: false when joining a stream mid-way, so the parser first
 * hunts for a plausible op at a line start.
 * Returns NULL when out of memory.
 */
struct nats_parser *nats_parser_new(enum direction dir, size_t payload_keep,
				    bool synced);
void nats_parser_free(struct nats_parser *p);

/* The connection records are stamped with (default NULL). conn must
 * outlive the parser or be replaced first. */
void nats_parser_set_conn(struct nats_parser *p, const struct conn_meta *conn);
/* Stamped on the records completed from now on (record.h peer_read). */
void nats_parser_set_peer_read(struct nats_parser *p, bool peer_read);

/* Bytes that follow on the stream; ts_ns stamps messages starting here. */
void nats_parser_feed(struct nats_parser *p, uint64_t ts_ns,
		      const uint8_t *data, size_t len, record_cb cb, void *ctx);

/* `missing` bytes of the stream were not captured at this point. */
void nats_parser_gap(struct nats_parser *p, uint64_t ts_ns, uint64_t missing,
		     record_cb cb, void *ctx);

const struct nats_parser_stats *nats_parser_stats(const struct nats_parser *p);

/* Bytes held by the parser (struct and buffers), for bounds reporting. */
size_t nats_parser_memory(const struct nats_parser *p);

/*
 * True if data starts with a whole NATS op keyword (case-insensitive)
 * followed by a valid separator, or ends right after an argument-less op
 * ("PING"). Used to classify a stream from its first bytes.
 */
bool nats_looks_like_op(const uint8_t *data, size_t len);

/* "PUB", "HMSG", ... for an op; "?" when out of range. */
const char *nats_parser_op_name(enum nats_op op);

#endif /* MSGSCOPE_NATS_PARSER_H */

/* SPDX-License-Identifier: MIT */
/*
 * http_parser.h — incremental HTTP/1.0 and HTTP/1.1 parser for ONE TCP
 * connection, both directions, as seen by one process (client or server).
 *
 * Pure: no I/O, no BPF, no globals. Bytes arrive per direction in arbitrary
 * pieces; pieces may be missing (gaps). Each complete request or response
 * becomes one struct msg_record (proto PROTO_HTTP, conn NULL) handed to the
 * callback; its slices point into the parser and live only for the call.
 *
 * Which side sent requests is learnt from the first start line seen in each
 * direction, so the same parser serves a client's and a server's view.
 */
#ifndef MSGSCOPE_HTTP_PARSER_H
#define MSGSCOPE_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* The largest header block (start line to blank line) accepted. */
#define HTTP_HEAD_MAX (64 * 1024)

struct http_parser_stats {
	uint64_t messages;      /* records emitted */
	uint64_t resyncs;       /* times a direction lost sync and had to scan */
	uint64_t bytes_skipped; /* captured bytes discarded while out of sync */
	uint64_t errors;        /* malformed input met while in sync */
	uint64_t gap_bytes;     /* bytes reported missing by http_parser_gap */
	uint64_t upgrades;      /* 101 or CONNECT tunnels: parsing stopped */
	uint64_t headers_dropped; /* headers past HTTP_MAX_HEADERS, not listed */
};

struct http_parser;

/*
 * body_keep: at most this many body bytes are kept per message (the record
 * is then marked truncated). synced=false: the connection was joined
 * midway, so bytes are discarded until a plausible start line.
 * Returns NULL when out of memory.
 */
struct http_parser *http_parser_new(size_t body_keep, bool synced);
void http_parser_free(struct http_parser *p);

/* The connection records are stamped with (default NULL). conn must
 * outlive the parser or be replaced first. */
void http_parser_set_conn(struct http_parser *p, const struct conn_meta *conn);
/* Stamped on dir's records completed from now on (record.h peer_read). */
void http_parser_set_peer_read(struct http_parser *p, enum direction dir,
			       bool peer_read);

/* Bytes sent (DIR_SEND) or received (DIR_RECV) by the observed process. */
void http_parser_feed(struct http_parser *p, enum direction dir,
		      uint64_t ts_ns, const uint8_t *data, size_t len,
		      record_cb cb, void *ctx);

/*
 * `missing` bytes of direction dir were not captured. Inside a body of
 * known extent they count as body (record truncated, still in sync);
 * anywhere else the direction loses sync and scans for a start line.
 */
void http_parser_gap(struct http_parser *p, enum direction dir,
		     uint64_t ts_ns, uint64_t missing, record_cb cb, void *ctx);

/*
 * Connection closed: complete messages delimited by close (HTTP/1.0 or no
 * Content-Length responses). A message cut short by the close is emitted
 * with truncated=true if its header block was complete. Later feeds are
 * ignored.
 */
void http_parser_close(struct http_parser *p, uint64_t ts_ns, record_cb cb,
		       void *ctx);

const struct http_parser_stats *http_parser_stats(const struct http_parser *p);

/* Bytes currently allocated by the parser, its own struct included. */
size_t http_parser_memory(const struct http_parser *p);

/*
 * True if data starts like an HTTP/1.x request line (known method + space)
 * or a status line ("HTTP/1.").
 */
bool http_looks_like_start(const uint8_t *data, size_t len);

#endif /* MSGSCOPE_HTTP_PARSER_H */

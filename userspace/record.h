/* SPDX-License-Identifier: MIT */
/*
 * record.h — one parsed protocol message, the unit that flows from the
 * parsers to every sink (JSON writer, correlator, TUI).
 *
 * Strings are slices into memory owned by whoever emits the record and are
 * valid only for the duration of the record callback: a sink that keeps
 * anything copies it.
 */
#ifndef MSGSCOPE_RECORD_H
#define MSGSCOPE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slice {
	const char *ptr;
	size_t len;
};

#define SLICE_NULL ((struct slice){ NULL, 0 })
#define SLICE_LIT(s) ((struct slice){ (s), sizeof(s) - 1 })

static inline struct slice slice_from(const char *p, size_t n)
{
	return (struct slice){ p, n };
}

enum direction { DIR_SEND = 0, DIR_RECV = 1 };
enum proto { PROTO_UNKNOWN = 0, PROTO_NATS = 1, PROTO_HTTP = 2 };
enum role { ROLE_UNKNOWN = 0, ROLE_CLIENT = 1, ROLE_SERVER = 2 };

#define ADDR_STRLEN 64 /* "[ffff:...:ffff]:65535" fits */
#define COMM_LEN 16

/* What is known of the connection a record travelled on. */
struct conn_meta {
	uint64_t id;             /* unique within one trace */
	uint32_t pid;            /* tgid owning the socket */
	char comm[COMM_LEN];
	char local[ADDR_STRLEN]; /* "ip:port", IPv6 as "[addr]:port" */
	char peer[ADDR_STRLEN];
	enum role role;
	bool tls;
};

enum nats_op {
	NATS_INFO, NATS_CONNECT, NATS_PUB, NATS_HPUB, NATS_SUB, NATS_UNSUB,
	NATS_MSG, NATS_HMSG, NATS_PING, NATS_PONG, NATS_OK, NATS_ERR,
	NATS_OP__COUNT
};

struct nats_msg {
	enum nats_op op;
	struct slice subject;    /* PUB HPUB SUB MSG HMSG */
	struct slice reply;      /* PUB HPUB MSG HMSG, empty when absent */
	struct slice sid;        /* SUB UNSUB MSG HMSG */
	struct slice queue;      /* SUB, empty when absent */
	struct slice json;       /* INFO/CONNECT argument, -ERR text */
	struct slice headers;    /* HPUB HMSG: raw header block, as captured */
	struct slice payload;    /* captured payload bytes (may be cut) */
	uint64_t size;           /* declared payload size, headers excluded */
	uint64_t header_size;    /* HPUB HMSG: declared header block size */
	int64_t max_msgs;        /* UNSUB max, -1 when absent */
	bool truncated;          /* payload or headers not fully captured */
};

#define HTTP_MAX_HEADERS 64

struct http_header {
	struct slice name;
	struct slice value;
};

enum http_kind { HTTP_REQUEST = 0, HTTP_RESPONSE = 1 };

struct http_msg {
	enum http_kind kind;
	struct slice method;     /* request */
	struct slice path;       /* request target */
	struct slice version;    /* "HTTP/1.1" */
	int status;              /* response */
	struct slice reason;     /* response */
	/* The head as received, start line to blank line, that every member
	 * above and the headers were split from: a sink may key what it
	 * renders of them on these bytes. SLICE_NULL when the members no
	 * longer follow from it (redacted, or not from a parser). */
	struct slice head;
	struct http_header headers[HTTP_MAX_HEADERS];
	int n_headers;
	struct slice body;       /* captured body, de-chunked */
	uint64_t body_size;      /* true body length on the wire (de-chunked) */
	bool chunked;
	bool truncated;          /* body or headers not fully captured */
};

struct msg_record {
	uint64_t ts_ns;          /* Unix epoch ns of the message's first byte */
	enum direction dir;      /* from the view of conn->pid */
	enum proto proto;
	const struct conn_meta *conn; /* NULL in pure parser tests */
	/* --pair-local: the other end, traced too, read this message and
	 * its copy was left out (the sender's record stands for both). */
	bool peer_read;
	union {
		struct nats_msg nats;
		struct http_msg http;
	};
};

typedef void (*record_cb)(const struct msg_record *rec, void *ctx);

#endif /* MSGSCOPE_RECORD_H */

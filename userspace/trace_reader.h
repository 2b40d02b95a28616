/* SPDX-License-Identifier: MIT */
/*
 * trace_reader.h — read a JSON Lines trace (docs/trace-format.md) back into
 * the records the live tool had: `nats` and `http` lines become struct
 * msg_record (with a struct conn_meta per connection id, kept up to date
 * from the pid/comm/local/peer/role/tls of its lines); `meta`, `drops`,
 * `end` and `metrics` lines are handed over as JSON; everything else
 * (derived `exchange`/`delivery`/`flow` lines, unknown types) is skipped.
 * Unknown fields are ignored.
 *
 * Refused (return -1): input that is not JSON Lines at all (first line not
 * JSON), a first line that is not `meta`, a `meta.schema` newer than
 * TRACE_SCHEMA. A malformed line later on is reported with its line number,
 * counted and skipped.
 */
#ifndef MSGSCOPE_TRACE_READER_H
#define MSGSCOPE_TRACE_READER_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"

#define TRACE_SCHEMA 1
/* malformed lines reported one by one; the rest are only counted */
#define TRACE_WARN_MAX 10

struct trace_reader_stats {
	uint64_t lines;       /* non-empty lines */
	uint64_t records;     /* nats/http records delivered */
	uint64_t other;       /* meta/drops/end/metrics lines delivered */
	uint64_t ignored;     /* derived or unknown lines, unknown NATS ops */
	uint64_t malformed;   /* skipped */
	int64_t schema;       /* of the meta line */
};

/* line is borrowed: valid during the call (json_incref to keep it). */
typedef void (*trace_other_cb)(json_t *line, const char *type, void *ctx);
/* One human-readable line, without the "msgscope: " prefix. */
typedef void (*trace_warn_cb)(const char *msg, void *ctx);

struct trace_reader_ops {
	record_cb on_record;     /* may be NULL */
	trace_other_cb on_other; /* may be NULL */
	trace_warn_cb on_warning;/* NULL: "msgscope: <msg>" on stderr */
};

/*
 * Read f to the end; name is used in messages ("TRACE:LINE: ..."). Returns
 * 0, or -1 with a one-line reason in err. st may be NULL.
 */
int trace_read_stream(FILE *f, const char *name,
		      const struct trace_reader_ops *ops, void *ctx,
		      struct trace_reader_stats *st, char *err, size_t errsz);

/* Same, opening path ("-": stdin). */
int trace_read_path(const char *path, const struct trace_reader_ops *ops,
		    void *ctx, struct trace_reader_stats *st, char *err,
		    size_t errsz);

#endif /* MSGSCOPE_TRACE_READER_H */

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace_reader — `msgscope replay`/`flows` input: a JSON Lines trace
 * that may be cut short, hand-edited, corrupt or hostile.
 *
 * Input: the trace bytes, as read from a file (fmemopen), no header. Every
 * record the reader builds is checked (its slices readable, its connection
 * metadata terminated), written back as a trace line (which must parse),
 * and fed on, as replay does, into a correlator with small caps. meta,
 * drops, end and metrics lines must be JSON objects of the type announced.
 * A refused trace must say why in one line.
 */
#include <stdio.h>

#include "correlator.h"
#include "fuzz_common.h"
#include "trace_reader.h"

struct run {
	struct correlator *corr;
	uint64_t records, other, warnings;
};

static void on_record(const struct msg_record *rec, void *ctx)
{
	struct run *run = ctx;
	json_t *o;

	run->records++;
	FZ_CHECK(rec->proto == PROTO_NATS || rec->proto == PROTO_HTTP, "proto %d", rec->proto);
	FZ_CHECK(rec->conn, "record without connection");
	FZ_CHECK(memchr(rec->conn->comm, 0, COMM_LEN), "comm not terminated");
	FZ_CHECK(memchr(rec->conn->local, 0, ADDR_STRLEN), "local not terminated");
	FZ_CHECK(memchr(rec->conn->peer, 0, ADDR_STRLEN), "peer not terminated");
	fz_touch_record(rec);
	o = fz_record_json(rec);
	json_decref(o);
	corr_record(run->corr, rec);
}

static void on_other(json_t *line, const char *type, void *ctx)
{
	struct run *run = ctx;

	run->other++;
	FZ_CHECK(json_is_object(line), "%s line is not an object", type);
	FZ_CHECK(!strcmp(json_string_value(json_object_get(line, "type")) ?: "", type),
		 "type %s announced for another line", type);
}

/* One line of printable text: no newline to split it, no escape sequence
 * for the terminal (the message may quote hostile input). */
static bool one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void on_warning(const char *msg, void *ctx)
{
	struct run *run = ctx;

	run->warnings++;
	FZ_CHECK(msg && *msg && one_line(msg), "warning is not one printable line: %s", msg ? msg : "(null)");
}

static void on_flow(const struct flow_event *ev, void *ctx)
{
	(void)ev;
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader_ops ops = {
		.on_record = on_record, .on_other = on_other, .on_warning = on_warning,
	};
	struct trace_reader_stats st;
	struct corr_config cfg;
	struct run run = { 0 };
	char err[256] = "";
	FILE *f;
	int rc;

	if (!size)
		return 0; /* fmemopen refuses a zero-length buffer */
	corr_config_default(&cfg);
	cfg.max_conns = cfg.max_pubs = cfg.max_requests = cfg.max_http = 8;
	cfg.max_subs = cfg.max_edges = cfg.max_components = cfg.max_subjects = 8;
	cfg.max_reorder = 16;
	cfg.emit = on_flow;
	run.corr = corr_new(&cfg);
	FZ_CHECK(run.corr, "out of memory");
	f = fmemopen((void *)data, size, "r");
	FZ_CHECK(f, "fmemopen failed");
	rc = trace_read_stream(f, "fuzz", &ops, &run, &st, err, sizeof(err));
	fclose(f);
	FZ_CHECK(rc == 0 || rc == -1, "rc %d", rc);
	if (rc)
		FZ_CHECK(err[0] && one_line(err), "refusal without a one-line reason: %s", err);
	FZ_CHECK(st.records == run.records, "stats %llu records, %llu delivered",
		 (unsigned long long)st.records, (unsigned long long)run.records);
	FZ_CHECK(st.other == run.other, "stats %llu other, %llu delivered",
		 (unsigned long long)st.other, (unsigned long long)run.other);
	FZ_CHECK(run.warnings <= TRACE_WARN_MAX + 1, "%llu warnings",
		 (unsigned long long)run.warnings);
	if (fz_debug())
		fprintf(stderr, "trace_reader: rc %d (%s), %llu lines, %llu records, %llu other, "
			"%llu ignored, %llu malformed\n", rc, err,
			(unsigned long long)st.lines, (unsigned long long)st.records,
			(unsigned long long)st.other, (unsigned long long)st.ignored,
			(unsigned long long)st.malformed);
	corr_finish(run.corr);
	corr_free(run.corr);
	return 0;
}

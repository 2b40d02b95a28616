/* SPDX-License-Identifier: MIT */
/*
 * conntrack.h — the connection table: kernel events in, parsed records out.
 *
 * One entry per connection id. It turns the kernel's per-syscall chunks back
 * into two ordered byte streams (send, recv) using the stream offsets every
 * event carries: a jump forward is a gap (drop, snaplen cut, sendfile) that
 * the parser is told about, never bytes it is made to guess. Pure: no BPF,
 * no I/O; the capture layer hands it events, unit tests hand it bytes.
 */
#ifndef MSGSCOPE_CONNTRACK_H
#define MSGSCOPE_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "msgscope.h"
#include "record.h"

struct conntrack_opts {
	size_t payload_keep;   /* payload/body bytes kept per message */
	size_t max_conns;      /* least recently active evicted beyond this */
};

struct conntrack_stats {
	uint64_t conns_open;
	uint64_t conns_total;
	uint64_t conns_evicted;
	uint64_t records;
	uint64_t parse_errors;
	uint64_t resyncs;
	uint64_t gap_bytes;    /* bytes the parsers were told are missing */
	uint64_t cut_bytes;    /* of those, bytes of shipped events not copied */
	uint64_t peer_cut_bytes; /* of those, bytes of peer_read sends: lost
				  * to their readers too (--pair-local) */
	uint64_t skipped_bytes; /* captured bytes of no record (resyncs) */
};

struct conntrack;

struct conntrack *conntrack_new(const struct conntrack_opts *opts,
				record_cb cb, void *ctx);
void conntrack_free(struct conntrack *ct);

/* ts_epoch_ns: the event's time converted to Unix epoch by the caller. */
void conntrack_data(struct conntrack *ct, const struct ms_data_event *e,
		    uint64_t ts_epoch_ns);
void conntrack_close(struct conntrack *ct, const struct ms_close_event *e,
		     uint64_t ts_epoch_ns);
/* All connections of a process that is gone (its sockets closed silently). */
void conntrack_proc_exit(struct conntrack *ct, uint32_t tgid,
			 uint64_t ts_epoch_ns);
/* End of capture: complete what can be completed, drop the rest. */
void conntrack_flush(struct conntrack *ct, uint64_t ts_epoch_ns);

struct conntrack_stats conntrack_stats(const struct conntrack *ct);

#endif

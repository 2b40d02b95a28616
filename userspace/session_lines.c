/* SPDX-License-Identifier: MIT */
#include "session_lines.h"

#include "msgscope.h"

static uint64_t delta(const struct session_counters *prev,
		      const struct session_counters *cur, int stat)
{
	return cur->kernel[stat] - prev->kernel[stat];
}

json_t *session_drops_json(const struct session_counters *prev,
			   const struct session_counters *cur, uint64_t now_ns)
{
	json_t *d = json_object();

	json_object_set_new(d, "type", json_string("drops"));
	json_object_set_new(d, "ts", json_integer((json_int_t)now_ns));
	json_object_set_new(d, "events", json_integer(delta(prev, cur, MS_STAT_DROP_DATA)));
	json_object_set_new(d, "bytes", json_integer(delta(prev, cur, MS_STAT_DROP_BYTES)));
	json_object_set_new(d, "control", json_integer(delta(prev, cur, MS_STAT_DROP_CONTROL)));
	/* sockets and in-flight calls the kernel tables had no room for */
	json_object_set_new(d, "untracked", json_integer(delta(prev, cur, MS_STAT_INFLIGHT_FULL) +
							 delta(prev, cur, MS_STAT_CONN_FULL)));
	json_object_set_new(d, "total_events", json_integer(cur->kernel[MS_STAT_DROP_DATA]));
	json_object_set_new(d, "total_bytes", json_integer(cur->kernel[MS_STAT_DROP_BYTES]));
	return d;
}

json_t *session_end_json(struct session *s)
{
	struct session_counters c;
	json_t *e = json_object();

	session_counters(s, &c);
	json_object_set_new(e, "type", json_string("end"));
	json_object_set_new(e, "ts", json_integer((json_int_t)session_now(s)));
	json_object_set_new(e, "events", json_integer(c.kernel[MS_STAT_EVENTS]));
	json_object_set_new(e, "bytes", json_integer(c.kernel[MS_STAT_BYTES]));
	json_object_set_new(e, "records", json_integer(c.ct.records));
	json_object_set_new(e, "drops", json_integer(c.kernel[MS_STAT_DROP_DATA]));
	json_object_set_new(e, "drop_bytes", json_integer(c.kernel[MS_STAT_DROP_BYTES]));
	/* Stream bytes the parsers never saw: dropped events, snaplen cuts,
	 * sendfile bodies, splice and io_uring. Messages inside them are
	 * lost, not invented: this is what makes that loss visible (a cut
	 * costs no drop event). */
	json_object_set_new(e, "gap_bytes", json_integer(c.ct.gap_bytes));
	/* Of gap_bytes, those of events shipped without all their bytes.
	 * drop_bytes + cut_bytes is every stream byte not captured, even
	 * where a connection's close was dropped too and its lost tail
	 * never became a gap. */
	json_object_set_new(e, "cut_bytes", json_integer(c.ct.cut_bytes));
	/* Of those cuts, the ones a --snaplen over 64 KiB did not save
	 * because the ring was over a quarter full: whether a rerun with a
	 * larger --buffer-size would see more. */
	json_object_set_new(e, "ring_cuts", json_integer(c.kernel[MS_STAT_RING_CUTS]));
	/* Of drop_bytes + cut_bytes, those moved by calls no hook reads the
	 * buffers of (splice, io_uring): counted where they fell, never
	 * captured. Where a trace misses messages, whether this is why. */
	json_object_set_new(e, "unseen_bytes", json_integer(c.kernel[MS_STAT_UNSEEN_BYTES]));
	/* Captured bytes the parsers threw away while finding the next
	 * message after a gap or an error: the rest of what was lost. */
	json_object_set_new(e, "skipped_bytes", json_integer(c.ct.skipped_bytes));
	json_object_set_new(e, "parse_errors", json_integer(c.ct.parse_errors));
	json_object_set_new(e, "resyncs", json_integer(c.ct.resyncs));
	json_object_set_new(e, "conns_evicted", json_integer(c.ct.conns_evicted));
	json_object_set_new(e, "boosts", json_integer(c.boosts));
	json_object_set_new(e, "futile_boosts", json_integer(c.futile_boosts));
	json_object_set_new(e, "lifts", json_integer(c.lifts));
	/* Shedding (--overload-snaplen): how often and how long the load
	 * outran msgscope so that the kernel copied only the start of each
	 * call, and how many calls it cut; their rest is in cut_bytes. */
	json_object_set_new(e, "sheds", json_integer(c.sheds));
	json_object_set_new(e, "shed_ms", json_integer(c.shed_ns / 1000000));
	json_object_set_new(e, "shed_cuts", json_integer(c.kernel[MS_STAT_SHED_CUTS]));
	/* --pair-local: connections with both ends traced, and the reads
	 * of them left out (the senders' records say peer_read). */
	json_object_set_new(e, "paired", json_integer(c.kernel[MS_STAT_PAIRED]));
	json_object_set_new(e, "peer_reads", json_integer(c.kernel[MS_STAT_PEER_READS]));
	json_object_set_new(e, "unpaired", json_integer(c.kernel[MS_STAT_UNPAIRED]));
	/* Of drop_bytes + cut_bytes, those of peer_read sends: their readers
	 * left them out, so each was lost to both ends' sight, and is missed
	 * twice where the trace without the option counts it twice. */
	json_object_set_new(e, "peer_lost_bytes",
			    json_integer(c.kernel[MS_STAT_PEER_DROP_BYTES] +
					 c.ct.peer_cut_bytes));
	json_object_set_new(e, "reason", json_string(stop_reason_name(session_stop_reason(s))));
	if (session_child_exit_code(s) >= 0)
		json_object_set_new(e, "exit_code", json_integer(session_child_exit_code(s)));
	return e;
}

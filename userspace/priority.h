/* SPDX-License-Identifier: MIT */
/*
 * priority.h — when msgscope may take the CPU from the processes it observes.
 *
 * msgscope runs at a low priority so that a host short of CPU serves its
 * own work first: by default SCHED_IDLE (--nice idle), below any niceness.
 * A nice-19 task still runs out its time slice before a waking task of the
 * load gets the CPU; a SCHED_IDLE one is preempted at once, and the
 * scheduler places wakeups on a CPU that runs only it as if that CPU were
 * idle (bench/RESULTS.md has the numbers). But a short burst can then fill
 * the ring buffer while msgscope waits its turn, and what the ring cannot hold is
 * lost. So while the ring is filling up, msgscope runs at nice 0 until it
 * has caught up. If events are dropped even so, the load outruns msgscope at
 * any priority; boosting then only slows the load down without saving the
 * data, so it stops, and is not tried again for a while: two seconds, then
 * twice as long after each boost in a row that did not help. One futile boost
 * can be bad luck (the reader stalled on a slow pipe, a burst larger than
 * the ring); only a run of them says the load outruns msgscope.
 *
 * A futile boost that came with most of the kernel's bytes dropped says
 * the load outruns msgscope at any priority; one with a few bursts
 * dropped says only that the reader stalled a moment. After the former,
 * while it backs off (prio_gov_outrun()), session.c sheds: the kernel
 * copies only the first --overload-snaplen bytes of each call, the rest
 * counted as cut, never lost unseen. At saturation every byte msgscope
 * can take is a byte the load's own CPUs copy into the ring and msgscope
 * then parses beside it: that, not the probes, is what slowed the load
 * (bench/RESULTS.md, 2026-12-06). Once the backoff ends it takes every
 * byte again, and the next futile boost says whether the load still
 * outruns it.
 *
 * Pure policy: fed the ring's fill level, the drop and byte counters and
 * the time, it says what to do. session.c applies it (sched_setscheduler,
 * setpriority).
 */
#ifndef MSGSCOPE_PRIORITY_H
#define MSGSCOPE_PRIORITY_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>
#include "msgscope.h"

/* Ring buffer fill (used/size) found on waking up at which msgscope boosts
 * itself (a quarter of the default 16 MiB is ~35 ms of NATS at 100k msgs/s
 * seen system-wide); the kernel's long copies stop at the same mark ... */
#define PRIO_BOOST_FILL (1.0 / MS_RING_BEHIND_DIV)
/* ... and at which it has caught up and returns to its nice level. */
#define PRIO_RELAX_FILL 0.125
/* Drops this long after a boost started are from before it took effect.
 * Each futile boost lasts this long at least, at nice 0 beside a load that
 * outruns msgscope anyway. With 200 ms and a one-second first backoff, a
 * 10 s NATS saturation run had 4 boosts, all futile; in 5 s runs msgscope
 * took 26.6% of a core, against 21.6% never boosting and 21.6% with these
 * values (medians of 8 rounds, bench/RESULTS.md). session.c reads the drop
 * counter every 25 ms while boosted, so the grace still holds reads that
 * move the baseline. */
#define PRIO_GRACE_NS 100000000ull
/* No boost for this long after one that did not prevent drops, doubled for
 * each futile boost in a row, up to the maximum. */
#define PRIO_BACKOFF_MIN_NS 2000000000ull
#define PRIO_BACKOFF_MAX_NS 16000000000ull

/*
 * The share of the bytes the kernel offered msgscope (read + dropped)
 * over the last PRIO_SHARE_WINDOW_NS to two of them (since the start, or
 * since a shed ended, if that is shorter), dropped, at or above which a
 * futile boost says the load outruns msgscope. At saturation 90-98% are
 * dropped, over any window. At 100k msg/s, with the trace piped to a
 * reader short of CPU, under 1% were dropped over the run, yet its two
 * futile boosts, taken alone, shed 6 s of it and cut half of its
 * messages off (bench/RESULTS.md, 2026-12-06, evening). The window is
 * long because such stalls come and go within a second or two. "Read" is
 * captured less what the ring still holds: a ring that has just filled
 * up took its bytes, but msgscope did not keep up with them.
 *
 * The first futile boost of a saturation comes a fraction of a second
 * into it, when the window holds mostly what msgscope read before (the
 * ring's worth it drained included): judged then, 6.5-59% dropped, and
 * two of three such starts went 2 s without shedding, at msgscope's
 * lowest priority, while the kernel copied every byte and the ring
 * dropped it (bench/RESULTS.md, 2026-12-07 evening). So a futile boost
 * not judged an outrun is judged again, on the grown window, for as long
 * as its backoff lasts; the load outruns msgscope from when the share
 * gets there to the backoff's end.
 */
#define PRIO_OUTRUN_SHARE 0.5
/* ... and at the next futile boost after a shed, judged on the bytes since
 * the shed ended: a second or less, in which the first of them were
 * dropped only once the boost's grace had passed. */
#define PRIO_OUTRUN_SHARE_AGAIN 0.25
#define PRIO_SHARE_WINDOW_NS 4000000000ull

/* Bytes read out of the ring (kept) and dropped (lost) so far, at t. */
struct prio_bytes {
	bool set;
	uint64_t t, kept, lost;
};

enum prio_action { PRIO_KEEP, PRIO_BOOST, PRIO_RELAX };

struct prio_gov {
	int nice;                /* the --nice level; 0: never boosts */
	bool boosted;
	uint64_t boost_start;
	uint64_t boost_drops;    /* drop counter when the boost started */
	uint64_t backoff_until;
	uint64_t backoff;        /* the next backoff, ns */
	uint64_t boosts;         /* how often it boosted */
	uint64_t futile;         /* ... and how often that did not stop drops */
	uint64_t outruns;        /* ... with most bytes dropped */
	uint64_t outrun_until;   /* the end of the backoff after the last one */
	bool outrunning;         /* the last futile boost was one, none helped since */
	bool rejudge;            /* the last futile boost was not; its backoff runs */
	struct prio_bytes last;  /* the latest prio_gov_bytes() */
	struct prio_bytes mark[2]; /* the window's start: [1] older, if set */
};

void prio_gov_init(struct prio_gov *g, int nice);

/* One look, before reading the ring: fill in [0, 1], drops the kernel's drop counter (read only
 * while boosted: pass 0 otherwise), now in ns on any monotonic clock. */
enum prio_action prio_gov_step(struct prio_gov *g, double fill, uint64_t drops,
			       uint64_t now);

/* The bytes msgscope read out of the ring so far (captured, less what the
 * ring still holds: its fill is not what it keeps up with) and the bytes
 * dropped, now: every few hundred ms, and before each step while boosted. */
void prio_gov_bytes(struct prio_gov *g, uint64_t kept, uint64_t lost,
		    uint64_t now);

/* From a boost that did not stop the drops, with at least
 * PRIO_OUTRUN_SHARE of the window's bytes dropped, to the end of the
 * backoff after it: the load outruns msgscope at any priority. */
bool prio_gov_outrun(const struct prio_gov *g, uint64_t now);

#endif

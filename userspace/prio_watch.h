/* SPDX-License-Identifier: MIT */
/*
 * prio_watch.h — lift a reader that waits for the CPU at its low priority.
 *
 * The governor (priority.h) boosts msgscope while the ring fills up, but
 * it runs in the reader, and a reader at SCHED_IDLE on a host whose CPUs
 * are busy may not run for a second or more: the scheduler gives it a
 * weight of 3 against 1024 for each task of the load in its scheduling
 * group (a cgroup; with autogroup, a session). By the time it looks, the
 * ring is full. With a busy loop per CPU in its group, 20k msg/s of NATS
 * lost 12,357 events in 8 s at SCHED_IDLE and none at nice 0
 * (bench/RESULTS.md).
 *
 * So a thread at nice 0, which gets the CPU when it wakes, looks at the
 * ring's fill every PRIO_WATCH_NS. Past the governor's boost mark, and
 * unless the governor is boosted already or backing off, it raises the
 * reader thread to nice 0. That only lets the reader run: the reader's
 * own governor then decides, boosting as if it had seen the fill itself,
 * or returning to its low priority (prio_watch_sync()).
 */
#ifndef MSGSCOPE_PRIO_WATCH_H
#define MSGSCOPE_PRIO_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* How often the watcher looks. Between the boost mark (the fullest ring a
 * quarter full) and both rings full there are about 24 MiB of the default
 * 32; at 100k msg/s seen system-wide (about 140 MB/s) that is 170 ms. A
 * look costs a wakeup, 50 a second. */
#define PRIO_WATCH_NS 20000000ull

struct prio_watch;

/* The thread's lookup of the ring's fill, in [0, 1]: called from the
 * watcher thread, so it may only read what the kernel and the reader
 * publish atomically. */
typedef double (*prio_fill_fn)(void *ctx);

/*
 * Start watching for `reader` (a thread id), whose rest priority is
 * SCHED_IDLE if `sched_idle`, else a niceness. The watcher raises itself
 * to nice 0 first, under the same limits as the reader's boost
 * (RLIMIT_NICE or CAP_SYS_NICE); -errno if it cannot, or cannot start.
 */
int prio_watch_start(struct prio_watch **out, pid_t reader, bool sched_idle,
		     prio_fill_fn fill, void *ctx);

/*
 * From the reader, after each governor step: do not lift it before
 * `no_lift_until` (CLOCK_MONOTONIC ns; UINT64_MAX while it is boosted).
 * Returns whether the watcher lifted it since the last call: if the
 * governor did not boost, the reader then goes back to its rest priority.
 */
bool prio_watch_sync(struct prio_watch *w, uint64_t no_lift_until);

/* How often it lifted the reader. */
uint64_t prio_watch_lifts(const struct prio_watch *w);

/* Stop the thread and free; NULL is fine. */
void prio_watch_stop(struct prio_watch *w);

/* Raise thread `tid` (0: the caller) to SCHED_OTHER at nice 0, from
 * SCHED_IDLE if `sched_idle`. */
int prio_catch_up(bool sched_idle, pid_t tid);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * mono_clock.h — a clock in nanoseconds; CLOCK_MONOTONIC is the one
 * bpf_ktime_get_ns() reads, so userspace times compare with the events'.
 */
#ifndef MSGSCOPE_MONO_CLOCK_H
#define MSGSCOPE_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

#endif

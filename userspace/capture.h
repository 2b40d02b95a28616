/* SPDX-License-Identifier: MIT */
/*
 * capture.h — the BPF side's lifecycle seen from userspace: configure, load,
 * attach, hand each ring-buffer event to a callback, read the counters.
 */
#ifndef MSGSCOPE_CAPTURE_H
#define MSGSCOPE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "msgscope.h"

#define CAPTURE_MAX_PORTS 64

struct port_override {
	uint16_t port;
	uint8_t proto;           /* enum ms_proto */
};

struct capture_opts {
	uint32_t snaplen;
	size_t ringbuf_bytes;    /* power of two, >= page size */
	bool filter_pids;        /* follow only `pids` (and their children) */
	const uint32_t *pids;
	size_t n_pids;
	const char *comm;        /* follow only processes with this comm */
	struct port_override ports[CAPTURE_MAX_PORTS];
	size_t n_ports;
	uint32_t wakeup_bytes;   /* batch wakeups; the reader must also poll */
	uint32_t overload_snaplen; /* copied per call while shedding; 0: never */
	bool verbose;            /* libbpf's own messages on stderr */
	bool no_tls;             /* no TLS uprobes (also MSGSCOPE_NO_TLS=1) */
	bool pair_local;         /* a message between two traced local ends
				  * is shipped once, at its send */
	uint32_t rings;          /* ring buffers the CPUs share --buffer-size out
				  * in (CAPTURE_RINGS_*; more than CPUs: one
				  * per CPU) */
};

/* The usual two rings (capture.c says why two); 0 asks for one per CPU. */
#define CAPTURE_RINGS_DEFAULT 2u
#define CAPTURE_RINGS_PER_CPU 0u

/* One ring-buffer record: a struct ms_data_event, ms_close_event or
 * ms_proc_event, told apart by its header's type. */
typedef void (*capture_event_fn)(const void *data, size_t size, void *ctx);

struct capture;

/* Load and attach. On failure prints one line on stderr, returns -errno. */
int capture_open(struct capture **out, const struct capture_opts *opts,
		 capture_event_fn fn, void *ctx);
void capture_close(struct capture *c);
/* For `check`: load the programs as `trace --snaplen 1048576` would, then
 * unload them, nothing attached. *snaplen: the snaplen they loaded at (64
 * KiB if the kernel refused the longer copy path). Returns 0 or -errno, after a
 * line on stderr. */
int capture_try_load(uint32_t *snaplen);

int capture_add_pid(struct capture *c, uint32_t pid);
/* Followed pids as the kernel sees them now (children added, exits gone). */
size_t capture_pids(struct capture *c, uint32_t *out, size_t max);

int capture_epoll_fd(struct capture *c);
/* Hand available events to the callback, at most a bounded batch so the
 * event loop stays responsive; returns events handled or -errno. */
int capture_consume(struct capture *c);
/* True when that call stopped at its bound: more may be waiting. */
bool capture_consume_more(const struct capture *c, int consumed);

/* How full the fullest ring buffer is now: 0 (empty) to 1 (full). */
double capture_ring_fill(const struct capture *c);
/* Bytes waiting in the ring buffers, all of them together. */
size_t capture_ring_backlog(const struct capture *c);

/* Shed (priority.h): from now on the kernel copies at most
 * opts->overload_snaplen bytes of each call, the rest counted as cut
 * (MS_STAT_SHED_CUTS); off: every byte again. Takes effect at once (a .bss
 * store, no syscall), for every CPU's next call. */
void capture_shed(struct capture *c, bool on);

/* Kernel counters summed over CPUs, indexed by enum ms_stat. */
int capture_stats(struct capture *c, uint64_t out[MS_STAT__COUNT]);

/* What follows the data: "tp_btf socket hooks", "tp_btf sys_exit" or
 * "syscall tracepoints", for `check` and capture_path_desc(). */
const char *capture_path_name(bool sock_hooks, bool raw_sys_exit);
/* The rings o's --rings gives on a host of ncpus CPUs: 1 on one CPU, or
 * where the kernel takes no rings in a map; one per CPU at most. */
size_t capture_rings_for(const struct capture_opts *o, int ncpus);
/* "ring buffer", or "N ring buffers" written into buf. */
const char *capture_rings_name(size_t n, char *buf, size_t len);
/* What was attached, for the meta line: the path's name, " + ring buffer"
 * (" per CPU" where each CPU has its own), and whether forks are followed. */
const char *capture_path_desc(const struct capture *c);
/* The snaplen the programs were loaded with: the one asked for, or 64 KiB
 * when the kernel refused the longer copy path. */
uint32_t capture_snaplen(const struct capture *c);
bool capture_follows_forks(const struct capture *c);
/* TLS plaintext capture: "TLS: OpenSSL in N libssl files, Go crypto/tls in
 * M binaries", or "TLS: off" (see tls_attach.h). */
const char *capture_tls_desc(const struct capture *c);

#endif

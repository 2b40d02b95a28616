/* SPDX-License-Identifier: MIT */
/*
 * sock_resolver.h — who owns a TCP socket of this host, from /proc: the I/O
 * half of the correlator's component resolution (the correlator itself
 * stays pure and calls these through corr_config.resolve_addr/describe_pid).
 *
 * "ip:port" → pid: /proc/net/tcp{,6} give the socket inode bound to a local
 * address, /proc/PID/fd/N → "socket:[inode]" its owner. Results are cached;
 * a miss (or an entry older than SOCK_RESOLVER_STALE_S) rebuilds the table at
 * most once per second. A listener on 0.0.0.0/:: answers for any local IP.
 * Only the resolver's own network namespace is seen.
 *
 * Usage:
 *	struct sock_resolver *r = sock_resolver_new(NULL);
 *	cfg.resolve_addr = sock_resolver_resolve;
 *	cfg.describe_pid = sock_resolver_describe;
 *	cfg.resolve_ctx = r;
 */
#ifndef MSGSCOPE_SOCK_RESOLVER_H
#define MSGSCOPE_SOCK_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>

#include "correlator.h"

#define SOCK_RESOLVER_STALE_S 30

struct sock_resolver;

/* proc_root: "/proc" when NULL (tests point it at a fake tree). */
struct sock_resolver *sock_resolver_new(const char *proc_root);
void sock_resolver_free(struct sock_resolver *r);

/* corr_resolve_fn; ctx is the resolver. Fills pid, comm, exe, cgroup. */
bool sock_resolver_resolve(const char *addr, struct endpoint_info *out,
			   void *ctx);
/* corr_describe_fn; ctx is the resolver. Fills comm, exe, cgroup. */
bool sock_resolver_describe(uint32_t pid, struct endpoint_info *out, void *ctx);

/* Table rebuilds so far (for tests and stats). */
uint64_t sock_resolver_refreshes(const struct sock_resolver *r);

#endif /* MSGSCOPE_SOCK_RESOLVER_H */

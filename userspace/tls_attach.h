/* SPDX-License-Identifier: MIT */
/*
 * tls_attach.h — TLS plaintext capture: loads bpf/tls.bpf.c on top of the
 * capture object's maps and keeps its uprobes attached to every TLS library
 * and Go binary in use, including those that appear after start-up.
 *
 * Everything here is best effort: a failure is one warning on stderr and
 * the plaintext (syscall) capture carries on without TLS.
 *
 * Where the probes go:
 *  - OpenSSL-compatible libssl: SSL_write/SSL_read/SSL_write_ex/SSL_read_ex
 *    (entry and return), SSL_do_handshake/SSL_connect/SSL_accept (entry and
 *    return), SSL_set_fd/SSL_set_rfd/SSL_set_wfd (entry). Uprobes are
 *    attached per file (pid -1), so every process that maps that file —
 *    now or later — is covered; the BPF side filters by pid/comm. At start:
 *    the system's libssl files plus every libssl mapped by the followed
 *    processes (all processes in system-wide mode), from /proc/PID/maps.
 *  - Go executables with crypto/tls (see go_tls.h): entry of (*Conn).Read,
 *    Write, clientHandshake, serverHandshake and each RET of Read/Write.
 *  - Later: the BPF side reports every exec (sched_process_exec) and every
 *    executable mmap of a file named libssl* (dlopen included); each new
 *    file (by device and inode) is inspected once and attached. No
 *    periodic /proc rescan.
 *
 * MSGSCOPE_NO_TLS=1 in the environment turns all of it off.
 */
#ifndef MSGSCOPE_TLS_ATTACH_H
#define MSGSCOPE_TLS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_map;
struct capture_opts;

/* The capture object's maps the TLS object must share, and whether its
 * exit hooks do the TLS side's syscall work (bpf/tls_state.bpf.h): the TLS
 * object's sys_enter hooks are then not loaded. */
struct tls_shared_maps {
	struct bpf_map *events, *rings, *conns, *stats, *pids, *ports;
	uint32_t n_rings;         /* the capture object's settings */
	uint32_t wakeup_bytes;
	struct bpf_map *ssl_calls, *ssl_fds, *tls_stats, *tls_notify;
	bool syscalls_seen_at_exit;
	bool mmaps_seen_at_exit;  /* capture's on_sys_exit reports libssl mappings */
	bool task_btf;          /* the capture object's setting, for this one */
	bool tp_btf;            /* process hooks as raw tracepoints */
};

/* TLS capture asked for: not --no-tls, not MSGSCOPE_NO_TLS=1. */
bool tls_attach_wanted(const struct capture_opts *o);

struct tls_attach;

/* Load the TLS object on the shared maps and attach what is in use now.
 * Call after the capture object is loaded AND attached (the TLS syscall
 * hooks must run after capture's on the same tracepoints). Returns 0 or
 * -errno; on failure a warning has been printed and *out is NULL. */
int tls_attach_open(struct tls_attach **out, const struct tls_shared_maps *maps,
		    const struct capture_opts *opts);
/* Have epoll_fd (the capture's) also wake for the TLS object's
 * notifications: new executables, new libssl mappings. */
int tls_attach_ring(struct tls_attach *t, int epoll_fd);
/* Handle pending notifications; call after each drain of the capture's
 * ring. NULL t: nothing. */
void tls_attach_poll(struct tls_attach *t);
void tls_attach_close(struct tls_attach *t);
/* capture_shed() for the TLS plaintext copies; NULL t: nothing. */
void tls_attach_shed(struct tls_attach *t, bool on);
/* "TLS: OpenSSL in 2 libssl files, Go crypto/tls in 1 binary" */
const char *tls_attach_desc(const struct tls_attach *t);

#endif

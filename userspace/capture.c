/* SPDX-License-Identifier: MIT */
#include "capture.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "kernel_features.h"
#include "mono_clock.h"
#include "ring_reader.h"
/* TLS plaintext capture is built once the build generates its skeleton
 * (bpf/tls.bpf.c -> tls.skel.h, with userspace/tls_attach.c, go_tls.c). */
#if __has_include("tls.skel.h")
#include "tls_attach.h"
#define HAVE_TLS_CAPTURE 1
#endif

/*
 * Events handled per capture_consume(), and the time it may take. Under a
 * flood the kernel refills the ring as fast as we drain it: an unbounded
 * consume would never return to the event loop, and Ctrl-C would go
 * unread. A count alone is not enough: 16384 events of 64 KiB each are
 * millions of messages, seconds of work (more when others want the CPU).
 */
#define CONSUME_BUDGET 16384
#define CONSUME_MAX_NS 20000000ull /* 20 ms */
#define CLOCK_EVERY 64             /* events between looks at the clock */

struct capture {
	int budget;              /* events left in this consume call */
	uint64_t deadline_ns;    /* ... and until when */
	struct capture_bpf *skel;
	struct ring_reader *ring;
	capture_event_fn fn;
	void *ctx;
	bool follows_forks;
	bool tp_btf;             /* raw tracepoints load and attach */
	bool raw_sys_exit;       /* on_sys_exit stands in for the tracepoints */
	bool sock_hooks;         /* ...and the socket hooks for on_sys_exit */
	char path_desc[112];     /* capture_path_desc(), once attached */
	uint32_t snaplen;        /* as loaded: opts->snaplen, or one record's */
	int ncpus;
	/* The rings records come through: --rings of them (the entries of
	 * the `rings` map, ours to close) or the one `events` map. */
	int *ring_fds;
	size_t n_rings, ring_bytes;
#ifdef HAVE_TLS_CAPTURE
	struct tls_attach *tls;  /* NULL: TLS plaintext capture off */
#endif
};

static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (level == LIBBPF_DEBUG || (!libbpf_verbose && level == LIBBPF_INFO))
		return 0;
	if (!libbpf_verbose)
		return 0; /* our own one-line errors say what failed */
	return vfprintf(stderr, fmt, args);
}

static int on_ring_event(void *ctx, const void *data, size_t size)
{
	struct capture *c = ctx;

	if (size >= sizeof(struct ms_event_header))
		c->fn(data, size, c->ctx);
	if (--c->budget % CLOCK_EVERY == 0 && mono_ns() >= c->deadline_ns)
		c->budget = 0;
	/* Negative stops the drain after this record, which stays consumed. */
	return c->budget > 0 ? 0 : -EAGAIN;
}

/* The TLS side's shared state lives in this object (bpf/tls_state.bpf.h).
 * Where the exit hooks read the arguments, they also do the TLS side's
 * syscall work; with TLS capture off its maps only take kernel memory. */
static int configure_tls(struct capture *c, const struct capture_opts *o)
{
	struct capture_bpf *s = c->skel;
	bool tls = false;
	int err;

#ifdef HAVE_TLS_CAPTURE
	tls = tls_attach_wanted(o);
#endif
	(void)o;
	s->rodata->tls_at_exit = tls && s->rodata->args_at_exit;
	if (tls)
		return 0;
	err = bpf_map__set_max_entries(s->maps.ssl_calls, 1);
	if (!err)
		err = bpf_map__set_max_entries(s->maps.ssl_fds, 1);
	if (!err)
		err = bpf_map__set_max_entries(s->maps.tls_notify, getpagesize());
	return err;
}

/* NULL-terminated lists of programs switched on or off together. */
struct prog_list {
	struct bpf_program *p[24];
};

static void set_autoload(struct prog_list l, bool on)
{
	for (size_t i = 0; i < sizeof(l.p) / sizeof(l.p[0]) && l.p[i]; i++)
		bpf_program__set_autoload(l.p[i], on);
}

/* The enter hooks of the data syscalls (kernels without task_pt_regs). */
static struct prog_list data_enter_progs(struct capture_bpf *s)
{
	return (struct prog_list){ {
		s->progs.enter_read, s->progs.enter_write,
		s->progs.enter_readv, s->progs.enter_writev,
		s->progs.enter_recvfrom, s->progs.enter_sendto,
		s->progs.enter_recvmsg, s->progs.enter_sendmsg,
		s->progs.enter_recvmmsg, s->progs.enter_sendmmsg,
		s->progs.enter_sendfile64,
	} };
}

/* What on_sys_exit does alone: every syscall tracepoint. */
static struct prog_list syscall_tracepoint_progs(struct capture_bpf *s)
{
	return (struct prog_list){ {
		s->progs.exit_read, s->progs.exit_write,
		s->progs.exit_readv, s->progs.exit_writev,
		s->progs.exit_recvfrom, s->progs.exit_sendto,
		s->progs.exit_recvmsg, s->progs.exit_sendmsg,
		s->progs.exit_recvmmsg, s->progs.exit_sendmmsg,
		s->progs.exit_sendfile64,
		s->progs.enter_connect, s->progs.exit_connect,
		s->progs.enter_accept, s->progs.exit_accept,
		s->progs.enter_accept4, s->progs.exit_accept4,
		s->progs.enter_close,
	} };
}

/* The socket hooks, and the TLS libraries' watch beside them. */
static struct prog_list socket_hook_progs(struct capture_bpf *s)
{
	return (struct prog_list){ {
		s->progs.on_sock_send, s->progs.on_sock_recv,
		s->progs.on_sock_state, s->progs.on_sock_destroy,
		s->progs.on_mmap_unlock, s->progs.exit_mmap,
	} };
}

/* The smallest ring: a few records of the largest size. */
#define MIN_RING (256u << 10)

size_t capture_rings_for(const struct capture_opts *o, int ncpus)
{
	size_t most = ncpus > 1 ? (size_t)ncpus : 1;

	if (most == 1 || !features_ringbuf_in_map())
		return 1;
	if (o->rings == CAPTURE_RINGS_PER_CPU || o->rings > most)
		return most;
	return o->rings;
}

const char *capture_rings_name(size_t n, char *buf, size_t len)
{
	if (n < 2)
		return "ring buffer";
	if (snprintf(buf, len, "%zu ring buffers", n) >= (int)len)
		return "ring buffers"; /* buf too short for the number */
	return buf;
}

/*
 * --buffer-size shared out in --rings rings, where there is more than one
 * CPU and the kernel takes rings in an array of maps (`check` says): CPU c
 * writes to ring c mod n, each ring gets its share rounded down to a power
 * of two (at least MIN_RING), and a ring that is full spills into the
 * next (bpf/maps.bpf.h).
 *
 * Two by default. A reservation takes its ring's lock and moves its
 * producer position, and with one ring those cache lines went back and
 * forth between the CPUs of a client and its server: two rings took a
 * quarter to a third off a socket hook's run under wrk (on two CPUs, one
 * ring each; bench/RESULTS.md). Two, and not one per CPU, because a burst
 * from one CPU has its ring and the next: with two rings that is all of
 * --buffer-size on any host, as with one ring, where one ring per CPU of
 * many gives it a small part. (At 100k msg/s piped to a reader short of
 * CPU, interleaved, two rings dropped no more often than one: RESULTS,
 * 2026-12-06.)
 */
static int plan_rings(struct capture *c, const struct capture_opts *o)
{
	struct capture_bpf *s = c->skel;
	size_t share, bytes = MIN_RING, n = capture_rings_for(o, c->ncpus);
	int err;

	c->n_rings = 1;
	c->ring_bytes = o->ringbuf_bytes;
	if (n > 1) {
		share = o->ringbuf_bytes / n;
		while (bytes * 2 <= share)
			bytes *= 2;
		c->n_rings = n;
		c->ring_bytes = bytes;
		s->rodata->n_rings = (uint32_t)c->n_rings;
		/* the same bytes between wakeups as with one ring (a mark
		 * scaled down with the ring woke the reader once per ring as
		 * often: at 100k msg/s, a tenth of its time in wakeups), up to
		 * an eighth of a ring */
		s->rodata->wakeup_bytes = o->wakeup_bytes < bytes / 8 ?
					  o->wakeup_bytes : (uint32_t)(bytes / 8);
	}
	err = bpf_map__set_max_entries(s->maps.events, s->rodata->n_rings ?
				       (size_t)sysconf(_SC_PAGESIZE) : o->ringbuf_bytes);
	/* (the entries' own size is theirs: the kernel does not compare a
	 * ring's size with the map's inner template, and libbpf 1.1 cannot
	 * resize the template) */
	if (!err)
		err = bpf_map__set_max_entries(s->maps.rings, (uint32_t)c->n_rings);
	return err;
}

/* After the load: the rings, as the entries of the `rings` map. */
static int make_rings(struct capture *c)
{
	int outer = bpf_map__fd(c->skel->maps.rings);

	if (!c->skel->rodata->n_rings)
		return 0;
	c->ring_fds = calloc(c->n_rings, sizeof(int));
	if (!c->ring_fds)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->n_rings; i++)
		c->ring_fds[i] = -1;
	for (uint32_t i = 0; i < c->n_rings; i++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ms_ring", 0, 0,
					(uint32_t)c->ring_bytes, NULL);

		if (fd < 0)
			return -errno;
		c->ring_fds[i] = fd;
		if (bpf_map_update_elem(outer, &i, &fd, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int open_reader(struct capture *c)
{
	int one = bpf_map__fd(c->skel->maps.events);
	const int *fds = c->ring_fds ? c->ring_fds : &one;
	int err;

	err = ring_reader_open(&c->ring, fds, c->n_rings, c->ring_bytes,
			       offsetof(struct ms_event_header, ts_ns), on_ring_event, c);
	if (err)
		fprintf(stderr, "msgscope: cannot map ring buffer: %s\n", strerror(-err));
	return err;
}

static int configure(struct capture *c, const struct capture_opts *o)
{
	struct capture_bpf *s = c->skel;
	bool older; /* take the older kernels' path (MSGSCOPE_ENTER_HOOKS) */
	bool exit_only; /* tp_btf and the arguments at the exit: no syscall
			 * tracepoint per data syscall */
	int err;

	s->rodata->snaplen = o->snaplen;
	s->rodata->overload_snaplen = o->overload_snaplen;
	s->rodata->wakeup_bytes = o->wakeup_bytes;
	s->rodata->self_tgid = getpid();
	s->rodata->filter_pids = o->filter_pids;
	s->rodata->pair_local = o->pair_local;
	if (o->comm && *o->comm) {
		s->rodata->filter_comm = true;
		strncpy((char *)s->rodata->target_comm, o->comm, MS_COMM_LEN - 1);
	}
	err = plan_rings(c, o);
	if (err)
		return err;
	/* With the arguments readable at the exit, the enter hooks of the data
	 * syscalls only cost time; with the task's BTF, its fd table is read
	 * without helper calls; with tp_btf, the process hooks are raw
	 * tracepoints. MSGSCOPE_ENTER_HOOKS=1 takes the older kernels' path
	 * for all three anyway, so that the tests cover it here too. */
	older = getenv("MSGSCOPE_ENTER_HOOKS") != NULL;
	s->rodata->args_at_exit = !older && features_syscall_args_at_exit();
	s->rodata->task_btf = !older && features_task_btf();
	if (s->rodata->args_at_exit)
		set_autoload(data_enter_progs(s), false);
	/* One raw sys_exit program instead of a tracepoint per syscall, where
	 * tp_btf works: the same work, and Ctrl-C does not wait ~75 ms per
	 * tracepoint to detach (bench/RESULTS.md, 2026-12-05, for what it
	 * costs other syscalls). MSGSCOPE_SYSCALL_TRACEPOINTS=1 keeps the
	 * tracepoints, for the tests. */
	c->tp_btf = !older && features_tp_btf();
	exit_only = s->rodata->args_at_exit && c->tp_btf &&
		    !getenv("MSGSCOPE_SYSCALL_TRACEPOINTS");
	/* And where the socket tracepoints are, those instead of on_sys_exit:
	 * no hook in the syscalls of processes that do not touch a socket
	 * (bench/RESULTS.md, 2026-12-05 midday). MSGSCOPE_RAW_SYS_EXIT=1
	 * keeps on_sys_exit, for the tests. */
	c->sock_hooks = exit_only && features_sock_data_tps() &&
			!getenv("MSGSCOPE_RAW_SYS_EXIT");
	c->raw_sys_exit = exit_only && !c->sock_hooks;
	if (exit_only)
		set_autoload(syscall_tracepoint_progs(s), false);
	if (!c->raw_sys_exit)
		bpf_program__set_autoload(s->progs.on_sys_exit, false);
	/* With them, a connection ends at its socket's TCP_CLOSE, not at
	 * close(2)'s exit: no syscall tracepoint at all. */
	s->rodata->close_on_state = c->sock_hooks;
	if (!c->sock_hooks) {
		set_autoload(socket_hook_progs(s), false);
		err = bpf_map__set_max_entries(s->maps.fresh_socks, 1);
		if (!err)
			err = bpf_map__set_max_entries(s->maps.sock_conns, 1);
		if (err)
			return err;
	}
	bpf_program__set_autoload(c->tp_btf ? s->progs.on_exit : s->progs.on_exit_btf, false);
	err = configure_tls(c, o);
	if (err)
		return err;
	/* libssl mappings: on_sys_exit looks at mmap(2) too; beside the socket
	 * hooks, the mm's unlock where the kernel has that tracepoint (no
	 * syscall tracepoint then), else mmap(2)'s exit.
	 * MSGSCOPE_MMAP_EXIT=1 takes the latter anyway, for the tests. */
	if (c->sock_hooks) {
		bool unlock = s->rodata->tls_at_exit && features_mmap_lock_tp() &&
			      !getenv("MSGSCOPE_MMAP_EXIT");

		bpf_program__set_autoload(s->progs.on_mmap_unlock, unlock);
		bpf_program__set_autoload(s->progs.exit_mmap, s->rodata->tls_at_exit && !unlock);
	}
	/* Without a pid filter nothing forks into it: skip the hook. */
	if (!o->filter_pids)
		bpf_program__set_autoload(s->progs.on_fork, false);
	return 0;
}

static int fill_maps(struct capture *c, const struct capture_opts *o)
{
	for (size_t i = 0; i < o->n_pids; i++) {
		int err = capture_add_pid(c, o->pids[i]);

		if (err)
			return err;
	}
	for (size_t i = 0; i < o->n_ports; i++) {
		__u16 port = o->ports[i].port;
		__u8 proto = o->ports[i].proto;

		if (bpf_map__update_elem(c->skel->maps.ports, &port, sizeof(port),
					 &proto, sizeof(proto), BPF_ANY))
			return -errno;
	}
	return 0;
}

/*
 * Attach one by one so a hook this kernel lacks is named, and the optional
 * fork follower (tp_btf) can fail without taking the rest down.
 */
static int attach_all(struct capture *c)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, c->skel->obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			int err = -errno;

			if (prog == c->skel->progs.on_fork) {
				fprintf(stderr, "msgscope: warning: cannot follow forked children (tp_btf: %s)\n",
					strerror(-err));
				continue;
			}
			fprintf(stderr, "msgscope: cannot attach %s: %s\n",
				bpf_program__section_name(prog), strerror(-err));
			return err;
		}
		if (prog == c->skel->progs.on_fork)
			c->follows_forks = true;
		/* The skeleton's destroy() detaches only links it knows;
		 * keep ours in its table for the same clean teardown. */
		for (size_t i = 0; i < (size_t)c->skel->skeleton->prog_cnt; i++)
			if (*c->skel->skeleton->progs[i].prog == prog)
				*c->skel->skeleton->progs[i].link = link;
	}
	return 0;
}

/* Whether to fail a load at a snaplen over one record on purpose
 * (MSGSCOPE_REFUSE_LONG_COPY=1): the refusal a kernel whose verifier gives
 * up on emit_long() would give, for the tests of what follows it. */
static bool refuse_long_copy(uint32_t snaplen)
{
	return snaplen > MS_MAX_SNAPLEN && getenv("MSGSCOPE_REFUSE_LONG_COPY");
}

/*
 * Open, configure and load the object. A snaplen over one record puts
 * emit_long() in every data program: ~770k of the verifier's 1M
 * instructions for on_sys_exit on 6.18 (bench/RESULTS.md), more than an
 * older verifier may allow. Refused, it loads again with copies of one
 * record (64 KiB), says so on stderr and in the meta line's snaplen: the
 * rest of a longer call is a gap, counted, rather than no trace at all.
 */
static int load(struct capture *c, const struct capture_opts *opts)
{
	uint32_t snaplen = opts->snaplen;
	int err;

	for (;;) {
		struct capture_opts o = *opts;

		o.snaplen = snaplen;
		c->skel = capture_bpf__open();
		if (!c->skel) {
			err = -errno;
			fprintf(stderr, "msgscope: cannot open BPF object: %s\n", strerror(-err));
			return err;
		}
		err = configure(c, &o);
		if (err) {
			fprintf(stderr, "msgscope: bad ring buffer size %zu: %s\n",
				o.ringbuf_bytes, strerror(-err));
			return err;
		}
		err = refuse_long_copy(snaplen) ? -E2BIG : capture_bpf__load(c->skel);
		if (!err || err == -EPERM || snaplen <= MS_MAX_SNAPLEN)
			break;
		fprintf(stderr, "msgscope: the kernel refused the programs at --snaplen %u (%s); "
			"copying at most %u bytes per call instead, the rest counted as gap_bytes\n",
			snaplen, strerror(-err), MS_MAX_SNAPLEN);
		capture_bpf__destroy(c->skel);
		c->skel = NULL;
		snaplen = MS_MAX_SNAPLEN;
	}
	if (err) {
		fprintf(stderr, "msgscope: cannot load BPF programs: %s%s\n", strerror(-err),
			err == -EPERM ? " (run as root, or with CAP_BPF and CAP_PERFMON)" :
			" (run with -v for the verifier log)");
		return err;
	}
	c->snaplen = snaplen;
	return 0;
}

int capture_try_load(uint32_t *snaplen)
{
	/* the largest --snaplen (the long-copy path), 1 MiB in the usual rings */
	struct capture_opts o = { .snaplen = MS_MAX_SYSCALL_SNAPLEN, .ringbuf_bytes = 1 << 20,
				  .rings = CAPTURE_RINGS_DEFAULT };
	struct capture *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	libbpf_set_print(libbpf_print);
	c->ncpus = libbpf_num_possible_cpus();
	err = load(c, &o);
	*snaplen = c->snaplen;
	capture_bpf__destroy(c->skel);
	free(c);
	return err;
}

int capture_open(struct capture **out, const struct capture_opts *opts,
		 capture_event_fn fn, void *ctx)
{
	struct capture *c = calloc(1, sizeof(*c));
	char rings_desc[24];
	int err = -ENOMEM;

	if (!c)
		goto fail;
	libbpf_verbose = opts->verbose;
	libbpf_set_print(libbpf_print);
	c->fn = fn;
	c->ctx = ctx;
	c->ncpus = libbpf_num_possible_cpus();
	err = load(c, opts);
	if (err)
		goto fail;
	/* before anything is attached: a hook that finds no ring counts its
	 * record as dropped (a process exiting while we start, say) */
	err = make_rings(c);
	if (err) {
		fprintf(stderr, "msgscope: cannot create %zu ring buffers: %s\n",
			c->n_rings, strerror(-err));
		goto fail;
	}
	err = fill_maps(c, opts);
	if (err) {
		fprintf(stderr, "msgscope: cannot fill BPF maps: %s\n", strerror(-err));
		goto fail;
	}
	err = attach_all(c);
	if (err)
		goto fail;
	snprintf(c->path_desc, sizeof(c->path_desc), "%s + %s%s",
		 capture_path_name(c->sock_hooks, c->raw_sys_exit),
		 capture_rings_name(c->n_rings, rings_desc, sizeof(rings_desc)),
		 c->follows_forks ? ", forks followed via tp_btf" : "");
#ifdef HAVE_TLS_CAPTURE
	/* TLS plaintext (bpf/tls.bpf.c, userspace/tls_attach.c): loaded on
	 * this object's maps, after it is attached. Failures are warnings. */
	tls_attach_open(&c->tls, &(struct tls_shared_maps){
			.events = c->skel->maps.events, .rings = c->skel->maps.rings,
			.n_rings = c->skel->rodata->n_rings,
			.wakeup_bytes = c->skel->rodata->wakeup_bytes,
			.conns = c->skel->maps.conns,
			.stats = c->skel->maps.stats, .pids = c->skel->maps.pids,
			.ports = c->skel->maps.ports, .ssl_calls = c->skel->maps.ssl_calls,
			.ssl_fds = c->skel->maps.ssl_fds, .tls_stats = c->skel->maps.tls_stats,
			.tls_notify = c->skel->maps.tls_notify,
			.syscalls_seen_at_exit = c->skel->rodata->tls_at_exit,
			.mmaps_seen_at_exit = c->raw_sys_exit || c->sock_hooks,
			.task_btf = c->skel->rodata->task_btf,
			.tp_btf = c->tp_btf }, opts);
#endif
	err = open_reader(c);
	if (err)
		goto fail;
#ifdef HAVE_TLS_CAPTURE
	tls_attach_ring(c->tls, ring_reader_epoll_fd(c->ring));
#endif
	*out = c;
	return 0;
fail:
	capture_close(c);
	return err;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	ring_reader_close(c->ring);
	for (size_t i = 0; c->ring_fds && i < c->n_rings; i++)
		if (c->ring_fds[i] >= 0)
			close(c->ring_fds[i]);
	free(c->ring_fds);
#ifdef HAVE_TLS_CAPTURE
	tls_attach_close(c->tls);
#endif
	capture_bpf__destroy(c->skel);
	free(c);
}

int capture_add_pid(struct capture *c, uint32_t pid)
{
	__u8 one = 1;

	if (bpf_map__update_elem(c->skel->maps.pids, &pid, sizeof(pid), &one,
				 sizeof(one), BPF_ANY))
		return -errno;
	return 0;
}

size_t capture_pids(struct capture *c, uint32_t *out, size_t max)
{
	struct bpf_map *m = c->skel->maps.pids;
	__u32 key, next;
	size_t n = 0;
	void *prev = NULL;

	while (n < max && !bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		out[n++] = next;
		key = next;
		prev = &key;
	}
	return n;
}

int capture_epoll_fd(struct capture *c)
{
	return ring_reader_epoll_fd(c->ring);
}

int capture_consume(struct capture *c)
{
	long n;

	c->budget = CONSUME_BUDGET;
	c->deadline_ns = mono_ns() + CONSUME_MAX_NS;
	n = ring_reader_consume(c->ring);
#ifdef HAVE_TLS_CAPTURE
	tls_attach_poll(c->tls); /* new TLS users, even if the budget ran out */
#endif
	return n == -EAGAIN ? CONSUME_BUDGET : (int)n;
}

/* The last consume stopped at its budget (events or time), not because
 * the ring was empty. */
bool capture_consume_more(const struct capture *c, int consumed)
{
	(void)c;
	return consumed >= CONSUME_BUDGET;
}

void capture_shed(struct capture *c, bool on)
{
	__atomic_store_n(&c->skel->bss->shedding, on, __ATOMIC_RELAXED);
#ifdef HAVE_TLS_CAPTURE
	tls_attach_shed(c->tls, on);
#endif
}

int capture_stats(struct capture *c, uint64_t out[MS_STAT__COUNT])
{
	__u64 *vals = calloc(c->ncpus, sizeof(__u64));

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < MS_STAT__COUNT; i++) {
		out[i] = 0;
		if (bpf_map__lookup_elem(c->skel->maps.stats, &i, sizeof(i), vals,
					 c->ncpus * sizeof(__u64), 0))
			continue;
		for (int cpu = 0; cpu < c->ncpus; cpu++)
			out[i] += vals[cpu];
	}
	free(vals);
	return 0;
}

const char *capture_path_name(bool sock_hooks, bool raw_sys_exit)
{
	return sock_hooks ? "tp_btf socket hooks" :
	       raw_sys_exit ? "tp_btf sys_exit" : "syscall tracepoints";
}

const char *capture_path_desc(const struct capture *c)
{
	return c->path_desc;
}

uint32_t capture_snaplen(const struct capture *c)
{
	return c->snaplen;
}

bool capture_follows_forks(const struct capture *c)
{
	return c->follows_forks;
}

const char *capture_tls_desc(const struct capture *c)
{
#ifdef HAVE_TLS_CAPTURE
	return tls_attach_desc(c->tls);
#else
	(void)c;
	return "TLS: not built";
#endif
}

double capture_ring_fill(const struct capture *c)
{
	return ring_reader_fill(c->ring);
}

size_t capture_ring_backlog(const struct capture *c)
{
	return ring_reader_backlog(c->ring);
}

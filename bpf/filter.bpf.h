// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * filter.bpf.h — which processes and which fds an event is about, for
 * every msgscope BPF object: the load-time settings userspace writes into
 * each object's .rodata (the same names in each), the pid/comm filter, the
 * fd -> struct file lookup and the --port overrides.
 */
#ifndef MSGSCOPE_FILTER_BPF_H
#define MSGSCOPE_FILTER_BPF_H

#include "maps.bpf.h"

/* Set by userspace before load. */
const volatile bool filter_pids = false;
const volatile bool filter_comm = false;
const volatile char target_comm[MS_COMM_LEN] = {};
const volatile __u32 snaplen = MS_DEFAULT_SNAPLEN;
const volatile __u32 self_tgid = 0;
/* Wake the reader only once this much is waiting; it also drains on a
 * short timer. A wakeup per event costs the traced process a syscall's
 * worth of work on every message. 0: wake on every event. */
const volatile __u32 wakeup_bytes = 0;
/*
 * While the load outruns msgscope at any priority (userspace/priority.h),
 * userspace sets `shedding` (.bss, at run time) and each call is copied
 * only up to overload_snaplen (.rodata, --overload-snaplen). Copying every
 * byte that fits in the ring then only slows the load down: what it loses
 * at saturation follows how much msgscope captures, not the probes
 * (bench/RESULTS.md). Two known budgets, not a length set at run time,
 * so that the copy paths stay bounded by constants.
 */
const volatile __u32 overload_snaplen = 0;
volatile bool shedding = false;

/* Set by userspace when bpf_get_current_task_btf() exists (Linux >= 5.11):
 * the task's fields are then plain loads instead of helper calls. */
const volatile bool task_btf = false;

/*
 * Submit flags for a data event of about `bytes` (header + payload): wake
 * the reader only when this record is the one that takes the waiting data
 * past wakeup_bytes. Waking on every record above the mark (as long as a
 * reader that had fallen behind stayed behind) cost each of them an IPI:
 * 2-5 us per syscall in a VM, 40% of a core under wrk. A reader that was
 * woken and stopped early finds the rest when it polls again (poll sees
 * data and does not sleep), and it drains on a short timer anyway. The
 * reservation may be up to 1.5 times the bytes (size classes): the window
 * is that wide, so a crossing is never missed, at worst woken twice.
 */
static __always_inline __u64 submit_flags(void *ring, __u64 bytes)
{
	__u64 avail, rec = bytes + bytes / 2 + 16;

	if (!wakeup_bytes)
		return 0;
	avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	return avail >= wakeup_bytes && avail < wakeup_bytes + rec ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/*
 * Whether a copy of `bytes`, longer than one record, may go out whole: only
 * while the reader keeps up, the ring with it at most a quarter full (the
 * mark at which the reader boosts itself, userspace/priority.h). A reader
 * falls behind when the host is short of CPU, and that is when servers
 * write their largest backlogs (nats-server a subscriber's, up to 422 KB,
 * in one call). Shipped whole then, they took the ring the records after
 * them needed: 100k msg/s piped to a reader, 0-8952 drop events at a 1 MiB
 * snaplen against 0-1098 at 64 KiB. Past the mark such a copy is cut to
 * one record, as at 64 KiB; the rest is a gap, counted.
 */
static __always_inline bool ring_room_for(__u64 bytes)
{
	void *ring = event_ring();
	__u64 size;

	if (!ring)
		return false;
	size = bpf_ringbuf_query(ring, BPF_RB_RING_SIZE);
	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) + bytes <=
	       size / MS_RING_BEHIND_DIV;
}

/* The snaplen of one call: --snaplen, or the shed snaplen while shedding. */
static __always_inline __u32 call_snaplen(void)
{
	return overload_snaplen && overload_snaplen < snaplen && shedding ?
	       overload_snaplen : snaplen;
}

/* BPF_CORE_READ_INTO copies sizeof(*dst): useless for arrays passed as
 * pointers, hence the explicit size. */
static __always_inline void leader_comm(char *comm)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	bpf_core_read_str(comm, MS_COMM_LEN, &leader->comm);
}

static __always_inline bool comm_matches(void)
{
	char comm[MS_COMM_LEN] = {};

	leader_comm(comm);
	for (int i = 0; i < MS_COMM_LEN; i++) {
		if (comm[i] != target_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

static __always_inline bool tgid_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_pids && !bpf_map_lookup_elem(&pids, &tgid))
		return false;
	if (filter_comm && !comm_matches())
		return false;
	return true;
}

/*
 * The struct file behind fd, on every data syscall (conn_get checks that an
 * entry still belongs to its fd). Through the BTF task pointer the walk to
 * the fd table is three loads; through bpf_probe_read_kernel() it was four
 * helper calls, a seventh of the probes' time per syscall (hook_cost.sh).
 * The slot itself stays a helper read: the verifier allows no variable
 * index into a BTF object.
 */
static __always_inline struct file *fd_to_file(__u32 fd)
{
	struct file **slots;
	struct file *file = NULL;

	if (task_btf) {
		struct files_struct *files = bpf_get_current_task_btf()->files;
		struct fdtable *fdt = files ? files->fdt : NULL;

		if (!fdt || fd >= fdt->max_fds)
			return NULL;
		slots = fdt->fd;
	} else {
		struct task_struct *task = (void *)bpf_get_current_task();
		struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);

		if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
			return NULL;
		slots = BPF_CORE_READ(fdt, fd);
	}
	bpf_probe_read_kernel(&file, sizeof(file), &slots[fd]);
	return file;
}

#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#endif
#ifndef S_IFSOCK
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#endif

/* The sock behind a file if it is a TCP socket over IPv4/IPv6, else NULL. */
static __always_inline struct sock *file_tcp_sock(struct file *file)
{
	umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
	struct socket *socket;
	struct sock *sk;
	__u16 family;

	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	socket = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(socket, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	if (BPF_CORE_READ(sk, sk_type) != SOCK_STREAM ||
	    BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return sk;
}

/* --port PORT:PROTO, either end of the connection. */
static __always_inline __u8 port_override(const struct ms_tuple *t)
{
	__u8 *p = bpf_map_lookup_elem(&ports, &t->rport);

	if (!p)
		p = bpf_map_lookup_elem(&ports, &t->lport);
	return p ? *p : MS_PROTO_UNKNOWN;
}

#endif

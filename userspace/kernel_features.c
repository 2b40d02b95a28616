/* SPDX-License-Identifier: MIT */
#include "kernel_features.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static const char *const hooked_syscalls[] = {
	"read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg",
	"sendmsg", "recvmmsg", "sendmmsg", "close", "connect", "accept",
	"accept4", "sendfile64",
};

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool has_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	__u64 eff;

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	eff = (__u64)data[1].effective << 32 | data[0].effective;
	return (eff & (1ull << CAP_BPF)) && (eff & (1ull << CAP_PERFMON));
}

int features_ensure_tracefs(char *path, int pathlen, bool *mounted_now)
{
	static const char *const candidates[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};

	*mounted_now = false;
	for (size_t i = 0; i < 2; i++) {
		char probe[128];

		snprintf(probe, sizeof(probe), "%s/events", candidates[i]);
		if (exists(probe)) {
			snprintf(path, pathlen, "%s", candidates[i]);
			return 0;
		}
	}
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return -errno;
	*mounted_now = true;
	snprintf(path, pathlen, "/sys/kernel/tracing");
	return 0;
}

static bool tracepoint_exists(const char *tracefs, const char *cat, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/events/%s/%s/id", tracefs, cat, name);
	return exists(p);
}

/*
 * Load (and for fentry, attach) a two-instruction program. This is the only
 * honest test: fentry can be compiled in yet refused at load or attach.
 */
static bool probe_tracing_prog(enum bpf_attach_type type, const char *func,
			       __u32 kind, char *why, size_t whylen)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 }, /* r0 = 0 */
		{ .code = 0x95 },                         /* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type);
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id, prog_fd = -1, link_fd = -1;
	bool ok = false;

	if (!vmlinux) {
		snprintf(why, whylen, "no BTF");
		return false;
	}
	id = btf__find_by_name_kind(vmlinux, func, kind);
	if (id < 0) {
		snprintf(why, whylen, "%s not in BTF", func);
		goto out;
	}
	opts.attach_btf_id = id;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (prog_fd < 0) {
		snprintf(why, whylen, "load: %s", strerror(errno));
		goto out;
	}
	link_fd = bpf_link_create(prog_fd, 0, type, NULL);
	if (link_fd < 0) {
		snprintf(why, whylen, "attach: %s", strerror(errno));
		goto out;
	}
	ok = true;
out:
	if (link_fd >= 0)
		close(link_fd);
	if (prog_fd >= 0)
		close(prog_fd);
	btf__free(vmlinux);
	return ok;
}

void features_probe(struct features *f)
{
	memset(f, 0, sizeof(*f));
	f->root = has_caps();
	f->btf = exists("/sys/kernel/btf/vmlinux");
	f->tracefs = features_ensure_tracefs(f->tracefs_path, sizeof(f->tracefs_path),
					     &f->tracefs_mounted_now) == 0;
	f->syscall_tps_wanted = sizeof(hooked_syscalls) / sizeof(*hooked_syscalls);
	if (f->tracefs) {
		for (int i = 0; i < f->syscall_tps_wanted; i++) {
			char enter[64], leave[64];

			snprintf(enter, sizeof(enter), "sys_enter_%s", hooked_syscalls[i]);
			snprintf(leave, sizeof(leave), "sys_exit_%s", hooked_syscalls[i]);
			f->syscall_tps += tracepoint_exists(f->tracefs_path, "syscalls", enter) &&
					  tracepoint_exists(f->tracefs_path, "syscalls", leave);
		}
		f->sock_tps = tracepoint_exists(f->tracefs_path, "sock", "inet_sock_set_state");
		f->sched_tps = tracepoint_exists(f->tracefs_path, "sched", "sched_process_exit");
		f->kprobes = exists("/sys/bus/event_source/devices/kprobe") ||
			     exists("/sys/kernel/tracing/kprobe_events");
	}
	f->uprobes = exists("/sys/bus/event_source/devices/uprobe/type");
	f->uprobe_multi = features_uprobe_multi() >= 0;
	if (!f->root)
		return; /* loading anything needs privileges */
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	f->ringbuf_in_map = f->ringbuf && features_ringbuf_in_map();
	f->tp_btf = probe_tracing_prog(BPF_TRACE_RAW_TP, "btf_trace_sched_process_fork",
				       BTF_KIND_TYPEDEF, f->tp_btf_err, sizeof(f->tp_btf_err));
	f->task_btf = features_task_btf();
	f->args_at_exit = features_syscall_args_at_exit();
	f->raw_sys_exit = features_tp_btf() && f->args_at_exit;
	f->sock_data_tps = f->raw_sys_exit && features_sock_data_tps();
	f->mmap_lock_tp = f->sock_data_tps && features_mmap_lock_tp();
	f->fentry = probe_tracing_prog(BPF_TRACE_FENTRY, "tcp_sendmsg", BTF_KIND_FUNC,
				       f->fentry_err, sizeof(f->fentry_err));
}

/* Asked by features_probe(), features_syscall_args_at_exit() and the
 * capture's set-up: each probe loads a program, so it is done once. */
bool features_task_btf(void)
{
	static int known = -1;

	if (known < 0)
		known = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
						BPF_FUNC_get_current_task_btf, NULL) == 1 &&
			libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE,
						BPF_FUNC_get_current_task_btf, NULL) == 1;
	return known;
}

bool features_syscall_args_at_exit(void)
{
	static int known = -1;

	if (known < 0)
		known = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
						BPF_FUNC_task_pt_regs, NULL) == 1 &&
			features_task_btf();
	return known;
}

/* A tp_btf program loads and attaches to the tracepoint whose BTF typedef
 * is btf_trace_<tp>. */
static bool raw_tp_attaches(const char *tp)
{
	char name[128], why[64];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return probe_tracing_prog(BPF_TRACE_RAW_TP, name, BTF_KIND_TYPEDEF, why, sizeof(why));
}

/* Probed on the raw sys_exit tracepoint, the one the capture uses most. */
bool features_tp_btf(void)
{
	static int known = -1;

	if (known < 0)
		known = raw_tp_attaches("sys_exit");
	return known;
}

bool features_sock_data_tps(void)
{
	static int known = -1;

	if (known < 0)
		known = raw_tp_attaches("sock_send_length") &&
			raw_tp_attaches("sock_recv_length") &&
			raw_tp_attaches("inet_sock_set_state") &&
			raw_tp_attaches("tcp_destroy_sock");
	return known;
}

/* An array of maps takes ring buffers as its entries: --rings above 1. */
bool features_ringbuf_in_map(void)
{
	static int known = -1;
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int inner, outer;

	if (known >= 0)
		return known;
	inner = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ms_probe_ring", 0, 0,
			       (uint32_t)sysconf(_SC_PAGESIZE), NULL);
	opts.inner_map_fd = inner;
	outer = inner < 0 ? -1 :
		bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "ms_probe_rings", 4, 4, 1, &opts);
	known = outer >= 0 && !bpf_map_update_elem(outer, &(uint32_t){ 0 }, &inner, BPF_ANY);
	if (outer >= 0)
		close(outer);
	if (inner >= 0)
		close(inner);
	return known;
}

bool features_mmap_lock_tp(void)
{
	static int known = -1;

	if (known < 0)
		known = raw_tp_attaches("mmap_lock_released");
	return known;
}

bool features_baseline_ok(const struct features *f, const char **missing)
{
	const char *m = NULL;

	if (!f->root)
		m = "root (or CAP_BPF and CAP_PERFMON)";
	else if (!f->btf)
		m = "kernel BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF=y)";
	else if (!f->tracefs)
		m = "tracefs (mount -t tracefs tracefs /sys/kernel/tracing)";
	else if (f->syscall_tps < f->syscall_tps_wanted)
		m = "syscall tracepoints (CONFIG_FTRACE_SYSCALLS=y)";
	else if (!f->ringbuf)
		m = "BPF ring buffer (Linux >= 5.8)";
	if (missing)
		*missing = m;
	return m == NULL;
}

/* The kernel's value of BPF_TRACE_UPROBE_MULTI (Linux >= 6.6), read from its
 * BTF: libbpf 1.1's headers do not have it, and a kernel that does not list
 * it cannot make the link. */
int features_uprobe_multi(void)
{
	static int known = -2;
	struct btf *vmlinux;
	const struct btf_type *t;
	int id;

	if (known != -2)
		return known;
	known = -1;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return known;
	id = btf__find_by_name_kind(vmlinux, "bpf_attach_type", BTF_KIND_ENUM);
	t = id > 0 ? btf__type_by_id(vmlinux, id) : NULL;
	for (int i = 0; t && i < btf_vlen(t); i++) {
		const struct btf_enum *e = btf_enum(t) + i;

		if (!strcmp(btf__name_by_offset(vmlinux, e->name_off), "BPF_TRACE_UPROBE_MULTI"))
			known = e->val;
	}
	btf__free(vmlinux);
	return known;
}

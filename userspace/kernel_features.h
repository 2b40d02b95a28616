/* SPDX-License-Identifier: MIT */
/*
 * kernel_features.h — what this kernel offers, probed rather than assumed, so the
 * capture path can be chosen at start-up and `msgscope check` can say why.
 */
#ifndef MSGSCOPE_KERNEL_FEATURES_H
#define MSGSCOPE_KERNEL_FEATURES_H

#include <stdbool.h>

enum feature_state { FEAT_NO = 0, FEAT_YES = 1 };

struct features {
	bool root;              /* euid 0 or CAP_BPF+CAP_PERFMON */
	bool btf;               /* /sys/kernel/btf/vmlinux */
	bool tracefs;           /* mounted (possibly by us) */
	bool tracefs_mounted_now;
	char tracefs_path[64];
	int syscall_tps;        /* of the hooked syscall tracepoints present */
	int syscall_tps_wanted;
	bool sock_tps;          /* sock:inet_sock_set_state */
	bool sched_tps;         /* sched:sched_process_exit */
	bool ringbuf;
	bool ringbuf_in_map;    /* ring buffers inside an array of maps */
	bool tp_btf;
	bool task_btf;          /* bpf_get_current_task_btf: fd table read with loads */
	bool args_at_exit;      /* bpf_task_pt_regs: data syscalls from their exit alone */
	bool raw_sys_exit;      /* ...and all of them from one tp_btf sys_exit program */
	bool sock_data_tps;     /* ...or from sock_send_length/sock_recv_length */
	bool mmap_lock_tp;      /* mmap_lock_released: libssl loads seen without mmap's exit */
	bool uprobes;
	bool uprobe_multi;      /* BPF_TRACE_UPROBE_MULTI links (Linux >= 6.6) */
	bool kprobes;
	bool fentry;
	char fentry_err[64];    /* why not, when not */
	char tp_btf_err[64];
};

/* Mount tracefs at /sys/kernel/tracing when no tracefs is reachable. */
int features_ensure_tracefs(char *path, int pathlen, bool *mounted_now);

/* Probe everything (loads tiny BPF programs for ringbuf/tp_btf/fentry). */
void features_probe(struct features *f);

/* Can a syscall's exit hook read its arguments (bpf_task_pt_regs, Linux
 * >= 5.15)? Then the data syscalls need no enter hook. */
bool features_syscall_args_at_exit(void);
/* tp_btf programs load and attach (raw tracepoints with BTF, Linux >= 5.5):
 * then no hook needs a perf-event tracepoint, whose detach waits for RCU. */
bool features_tp_btf(void);
/* tp_btf programs attach to sock:sock_send_length and sock_recv_length:
 * then socket sends and receives are followed without a syscall hook. */
bool features_sock_data_tps(void);
/* A tp_btf program attaches to mmap_lock:mmap_lock_released: then the
 * TLS libraries' loads are watched without mmap(2)'s exit tracepoint. */
bool features_mmap_lock_tp(void);
/* Ring buffers can be the entries of an array of maps: --rings above 1,
 * CPUs that share no ring's cache lines for every record. */
bool features_ringbuf_in_map(void);
/* The attach type of multi-uprobe links (Linux >= 6.6), or -1 without. */
int features_uprobe_multi(void);
/* bpf_get_current_task_btf() for tracepoints and uprobes (Linux >= 5.11) */
bool features_task_btf(void);
/* True when the baseline capture path can run. */
bool features_baseline_ok(const struct features *f, const char **missing);

#endif

/* SPDX-License-Identifier: MIT */
/* cmd_check.c — `msgscope check`: what this kernel offers, what we will use. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "capture.h"
#include "commands.h"
#include "kernel_features.h"

static void row(const char *what, bool ok, const char *note)
{
	printf("  %-24s %-4s%s%s\n", what, ok ? "yes" : "no", note && *note ? "  " : "",
	       note ? note : "");
}

/* The capture programs themselves, as `trace --snaplen 1048576` loads
 * them: the features above are probed with small programs, and what the
 * verifier accepts of the real ones (their long-copy loop above all) is
 * known only by trying. */
static bool check_load(void)
{
	uint32_t snaplen = 0;
	char note[96];
	int err = capture_try_load(&snaplen);

	if (err) {
		snprintf(note, sizeof(note), "not loaded: %s", strerror(-err));
		row("capture programs", false, note);
		printf("capture: unavailable: the kernel refused its programs\n");
		return false;
	}
	snprintf(note, sizeof(note), snaplen > MS_MAX_SNAPLEN ?
		 "--snaplen up to %u: a call copied whole" :
		 "a call copied up to %u bytes (the verifier refused more)", snaplen);
	row("capture programs", true, note);
	return true;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: msgscope check\n\n"
		   "Report what this kernel offers for capture (BTF, tracefs, tracepoints,\n"
		   "uprobes, ring buffer, kprobes, fentry) and which capture path msgscope\n"
		   "will use; load its programs once, attached nowhere, to see that the\n"
		   "kernel takes them. Mounts tracefs when it is missing. Exit 0 when\n"
		   "capture can run.\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct features f;
	const char *missing;
	struct capture_opts usual = { .rings = CAPTURE_RINGS_DEFAULT };
	char rings[24];
	char tps[32];
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	features_probe(&f);
	snprintf(tps, sizeof(tps), "%d/%d hooked syscalls", f.syscall_tps, f.syscall_tps_wanted);
	printf("msgscope %s kernel features:\n", MSGSCOPE_VERSION);
	row("privileges", f.root, f.root ? "" : "need root or CAP_BPF+CAP_PERFMON");
	row("BTF", f.btf, "/sys/kernel/btf/vmlinux");
	row("tracefs", f.tracefs, f.tracefs_mounted_now ? "mounted now" : f.tracefs_path);
	row("syscall tracepoints", f.syscall_tps == f.syscall_tps_wanted, tps);
	row("sched tracepoints", f.sched_tps, "process exit");
	row("sock tracepoints", f.sock_tps, "inet_sock_set_state");
	row("ring buffer", f.ringbuf, "");
	row("rings in a map", f.ringbuf_in_map, f.ringbuf_in_map ?
	    "--rings: the CPUs' records in two rings, or as many as asked" :
	    "optional: one ring for all CPUs, whatever --rings says");
	row("tp_btf", f.tp_btf, f.tp_btf ? "follows forked children" : f.tp_btf_err);
	row("task_btf", f.task_btf, f.task_btf ?
	    "fds looked up with plain loads" :
	    "optional: helper reads per data syscall instead");
	row("task_pt_regs", f.args_at_exit, f.args_at_exit ?
	    "data syscalls followed from their exit alone" :
	    "optional: an enter hook per data syscall instead");
	row("raw sys_exit", f.raw_sys_exit, f.raw_sys_exit ?
	    "one tp_btf program for all syscall exits" :
	    "optional: a tracepoint per syscall instead");
	row("sock data tracepoints", f.sock_data_tps, f.sock_data_tps ?
	    "socket sends and receives followed without a syscall hook" :
	    "optional: the syscall exits instead");
	row("mmap_lock tracepoint", f.mmap_lock_tp, f.mmap_lock_tp ?
	    "TLS library loads seen without a syscall hook" :
	    "optional: mmap(2)'s exit instead");
	row("uprobes", f.uprobes, "TLS libraries (optional)");
	row("uprobe_multi", f.uprobe_multi, f.uprobe_multi ?
	    "TLS: two links per libssl, one per Go binary" :
	    "optional: a link per probed function instead");
	row("kprobes", f.kprobes, "optional, not needed");
	row("fentry/fexit", f.fentry, f.fentry ? "optional" : f.fentry_err);
	if (!features_baseline_ok(&f, &missing)) {
		printf("capture: unavailable: missing %s\n", missing);
		return 1;
	}
	if (!check_load())
		return 1;
	/* the rings `trace` and `top` will make by default */
	printf("capture: %s + %s%s\n",
	       capture_path_name(f.sock_data_tps, f.raw_sys_exit),
	       capture_rings_name(capture_rings_for(&usual, libbpf_num_possible_cpus()),
				  rings, sizeof(rings)),
	       f.tp_btf ? ", children followed via tp_btf" : "");
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * privdrop.h — give up root once the BPF probes are loaded and attached.
 *
 * msgscope needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN for tracefs and
 * older kernels) only to load and attach its programs and fill their maps.
 * From then on it reads a ring buffer it already mapped, looks up maps
 * whose fds it already holds, and writes to files it already opened, while
 * parsing bytes that strangers put on the wire and holding other people's
 * secrets in memory. So right after attach it becomes an unprivileged user
 * (nobody) with no capabilities beyond what the rest of the run needs, no
 * way to regain any (no_new_privs, empty bounding set, locked securebits)
 * and no way for others to read its memory (not dumpable).
 *
 * What may be kept, and why, is in docs/security.md.
 */
#ifndef MSGSCOPE_PRIVDROP_H
#define MSGSCOPE_PRIVDROP_H

#include <stdbool.h>

enum privdrop_need {
	/* Signal a traced command (-- CMD) that may have changed its uid:
	 * CAP_KILL. */
	PRIVDROP_KILL = 1 << 0,
	/* Resolve sockets and processes of any user through /proc/PID/fd and
	 * /proc/PID/exe (msgscope top's component names): CAP_SYS_PTRACE
	 * (the kernel's ptrace access check) and CAP_DAC_READ_SEARCH (the
	 * 0500 /proc/PID/fd directories). */
	PRIVDROP_PROC_READ = 1 << 1,
	/* Attach more probes while running (TLS uprobes on executables and
	 * libssl files that appear after start, tls_attach.h): CAP_PERFMON
	 * (uprobe perf events), CAP_BPF (libbpf's feature probes and links),
	 * CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (/proc/PID/maps, /proc/PID/exe,
	 * /proc/PID/root/... of any process), and CAP_SYS_ADMIN on kernels
	 * that still demand it for uprobe perf events (probed). */
	PRIVDROP_ATTACH = 1 << 2,
	/* Go back from --nice to nice 0 while the ring buffer fills up
	 * (priority.h), where RLIMIT_NICE could not be raised to allow it
	 * (no CAP_SYS_RESOURCE): CAP_SYS_NICE. */
	PRIVDROP_NICE = 1 << 3,
};

/*
 * What the command will need after attach. Call before session_open; the
 * default, when no command says otherwise, is PRIVDROP_PROC_READ (what
 * `top` needs), so a command that forgets keeps working.
 */
void privdrop_set_needs(unsigned needs);

/*
 * Drop privileges now: become nobody, keep only the capabilities of
 * needs | privdrop_set_needs() (and CAP_BPF when this kernel wants it for
 * any bpf() call, see docs/security.md), set no_new_privs, clear the
 * bounding and ambient sets, lock the securebits, mark the process not
 * dumpable. Files and fds already open stay usable.
 *
 * Not being root (or lacking CAP_SETUID) is not an error: whatever can be
 * dropped is. Returns 0, or -errno after printing one warning line
 * ("msgscope: warning: ...") when a step failed; the caller goes on, with
 * what privileges remain. verbose: print one line saying what was kept.
 */
int privdrop_after_attach(unsigned needs, bool verbose);

/* One line describing the result of the last privdrop_after_attach(). */
const char *privdrop_summary(void);

#endif

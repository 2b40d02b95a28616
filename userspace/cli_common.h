/* SPDX-License-Identifier: MIT */
/* cli_common.h — option values shared by the live commands (trace, top). */
#ifndef MSGSCOPE_CLI_COMMON_H
#define MSGSCOPE_CLI_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

#define MAX_PID_ARGS 256
#define DEFAULT_MAX_PAYLOAD 4096

/* Storage behind the pointers in session_opts. */
/* Niceness of msgscope's own work once attached (--nice); by default it
 * also runs as SCHED_IDLE (--nice idle, priority.h). */
#define DEFAULT_NICE 19
/* --overload-snaplen: a 256-byte NATS message with its MSG line, or an
 * HTTP request's head (priority.h, bench/RESULTS.md). */
#define DEFAULT_OVERLOAD_SNAPLEN 512
#define DEFAULT_OVERLOAD_SNAPLEN_S "512"

/* --snaplen in trace's and top's --help. The default is the most the
 * kernel side can copy per call, so it names one number: its %d takes
 * MS_MAX_SYSCALL_SNAPLEN. */
_Static_assert(MS_DEFAULT_SNAPLEN == MS_MAX_SYSCALL_SNAPLEN,
	       "SNAPLEN_HELP says the default is the maximum");
#define SNAPLEN_HELP \
"  -s, --snaplen BYTES     copy at most BYTES per syscall from the kernel\n" \
"                          (default and maximum %d)\n"

/* --rings in trace's and top's --help. */
#define RINGS_HELP \
"      --rings N|cpu       kernel ring buffers that --buffer-size is shared\n" \
"                          out in (default 2): CPU c writes to ring c mod N,\n" \
"                          and to the next ring when that one is full. 1: one\n" \
"                          ring for all CPUs; cpu (or --ring-per-cpu): one per\n" \
"                          CPU, the cheapest hooks where many CPUs send, but a\n" \
"                          burst from one CPU has only two rings' room\n"

/* --pair-local in trace's and top's --help. */
#define PAIR_LOCAL_HELP \
"      --pair-local        record a message between two traced processes on\n" \
"                          this host once, at its send: the reader's copy is\n" \
"                          left out and the sender's record says the peer read\n" \
"                          it. Cheaper; bytes a local sender moves by sendfile,\n" \
"                          splice or io_uring are then not captured\n"

/* --nice in trace's and top's --help. */
#define NICE_HELP \
"      --nice N|idle       msgscope's own priority once attached (default idle):\n" \
"                          idle runs it only on CPU the traced processes leave\n" \
"                          free (SCHED_IDLE); N is a niceness 0-19. Either way\n" \
"                          it runs at nice 0 while its ring buffer fills up, and\n" \
"                          what it still cannot keep up with is dropped and\n" \
"                          counted. 0: compete for the CPU as an equal\n" \
"      --overload-snaplen N\n" \
"                          when the load outruns msgscope even at nice 0,\n" \
"                          copy only the first N bytes of each call for a\n" \
"                          while (default " DEFAULT_OVERLOAD_SNAPLEN_S "), the rest counted as cut: at\n" \
"                          saturation, copying every byte slows the traced\n" \
"                          processes. 0 (or --nice 0): always up to --snaplen\n"

struct live_args {
	struct session_opts s;
	uint32_t pids[MAX_PID_ARGS];
	char comm[16];
	bool snaplen_set, max_payload_set;
};

/* getopt_long values of the options without a short form; a command's
 * own options start at LOPT__NEXT. */
enum live_opt {
	LOPT_SHOW_SECRETS = 256, LOPT_MAX_CONNS, LOPT_MAX_PAYLOAD, LOPT_BUFFER_SIZE,
	LOPT_NO_TLS, LOPT_NO_COLOR, LOPT_NICE, LOPT_RING_PER_CPU, LOPT_RINGS, LOPT_OVERLOAD_SNAPLEN,
	LOPT_PAIR_LOCAL,
	LOPT__NEXT,
};

/* How the top view is shown, by top and replay alike. */
struct view_args {
	uint64_t delay_ns;   /* -d */
	bool batch;          /* -b */
	long frames;         /* -n; 0: no limit */
	int width;           /* -w: batch line width */
	int view;            /* -V */
	bool color;          /* off with --no-color */
};

void live_args_init(struct live_args *a);
/* Parse "1,2,3" into a->pids. 0 or -EINVAL (one line printed). */
int parse_pid_list(struct live_args *a, const char *arg);
/* Parse "4222:nats" / "8080:http". */
int parse_port_override(struct live_args *a, const char *arg);
/* Seconds, fractional allowed, > 0. */
int parse_seconds(const char *opt, const char *arg, uint64_t *ns);
/* getopt's error for the option just rejected, as one msgscope line. */
void report_bad_option(const char *cmd, int argc, char **argv, int opt);
int parse_uint(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *out);

/*
 * One capture option, shared by trace and top: -p -c -P -s -v and the
 * LOPT_ ones. 0: taken; 2: bad value (one line printed); -1: not a
 * capture option.
 */
int parse_capture_opt(struct live_args *a, int opt, const char *arg);
/* After the last option: an explicit snaplen alone is what each message
 * keeps (max_payload), as with tcpdump -s. */
void live_args_finish(struct live_args *a);

/* One view option: -d -b -n -w -V --no-color. Same returns as above. */
int parse_view_opt(struct view_args *v, int opt, const char *arg);

#define VIEW_BATCH_WIDTH 200
/* -w's default: $COLUMNS, else the terminal's, else VIEW_BATCH_WIDTH. */
int view_batch_width(void);
/* Whether the messages view may be shown: batch mode prints the one view
 * chosen up front and takes no keys, so the model need keep no messages
 * for any other. */
bool view_shows_messages(const struct view_args *v);

#endif

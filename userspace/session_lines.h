/* SPDX-License-Identifier: MIT */
/*
 * session_lines.h — the lines a live session writes about itself into a
 * trace (docs/trace-format.md): `drops` when the kernel lost events, `end`
 * with the final accounting. One definition for `trace` and `top -o`.
 */
#ifndef MSGSCOPE_SESSION_LINES_H
#define MSGSCOPE_SESSION_LINES_H

#include <jansson.h>

#include "session.h"

/* {"type":"drops",...}: what was lost between prev and cur. */
json_t *session_drops_json(const struct session_counters *prev,
			   const struct session_counters *cur, uint64_t now_ns);

/* {"type":"end",...}: totals, gap bytes, why the run stopped. */
json_t *session_end_json(struct session *s);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * trace_writer.h — JSON Lines out, such that a trace cut short (disk full,
 * msgscope killed) still holds only whole, valid lines.
 */
#ifndef MSGSCOPE_TRACE_WRITER_H
#define MSGSCOPE_TRACE_WRITER_H

#include <jansson.h>
#include <stdint.h>

#include "json_writer.h"

struct trace_writer;

/*
 * path NULL or "-" is stdout. A new file is created mode 0600; a file never
 * opened through a symlink. Nothing is truncated yet: open early to fail
 * early, then call trace_writer_begin once the trace has really started, or
 * trace_writer_abandon if it did not. Returns 0 or -errno (one line printed).
 */
int trace_writer_open(struct trace_writer **out, const char *path);
/* The trace starts: an existing regular file is emptied (open made it 0600). */
int trace_writer_begin(struct trace_writer *w);
/* The trace never started: close, and remove the file only if open created
 * it (an existing file keeps its contents; /dev/null stays a device). */
void trace_writer_abandon(struct trace_writer *w);

/* Append obj as one line (obj is not consumed). After the first write error
 * every call returns that error: the caller stops. */
int trace_writer_put(struct trace_writer *w, const json_t *obj);
/* Append one line of already-serialised JSON (no newline in it). */
int trace_writer_put_raw(struct trace_writer *w, const char *line, size_t n);
/* Or write a line in place: the JSON writer returned is positioned after
 * the buffered lines; write one value, then commit it (a newline, a flush
 * when the buffer is full: 0 or the error). A line not committed is not
 * kept: whatever is called next on w starts after the last whole line. */
struct jw *trace_writer_line(struct trace_writer *w);
int trace_writer_commit(struct trace_writer *w);
int trace_writer_flush(struct trace_writer *w);
/* Flush and close; returns the first error seen, if any. */
int trace_writer_close(struct trace_writer *w);

uint64_t trace_writer_lines(const struct trace_writer *w);
const char *trace_writer_path(const struct trace_writer *w);

#endif

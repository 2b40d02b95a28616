/* SPDX-License-Identifier: MIT */
/*
 * tui_text.h — everything the top view shows, as plain text.
 *
 * Curses drawing (tui_draw) and batch mode (top -b, replay -b) both render
 * through this module, so the two show the same characters: curses only
 * adds colour and the selection bar on top.
 *
 * Two layers:
 *  - primitives with no knowledge of the model: number, size and duration
 *    formatting, cutting text to a width, a line with per-byte highlight
 *    classes, and laying out table columns in a given width;
 *  - builders that read a struct tui_model: the header lines, the rows of
 *    each view, the details pane, and a whole batch frame.
 *
 * Every string produced here is printable ASCII (control and non-ASCII
 * bytes become '.', JSON text is dumped with \u escapes), so one byte is
 * one terminal column everywhere and widths can be counted with strlen().
 */
#ifndef MSGSCOPE_TUI_TEXT_H
#define MSGSCOPE_TUI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct host_metrics;
struct tui_model;
struct tui_table;

/* What a piece of text means; tui_draw maps it to colours and attributes,
 * batch mode ignores it. */
enum tui_hl {
	HL_NONE = 0,
	HL_LABEL,     /* "CPU", "MEM": row labels */
	HL_DIM,       /* unavailable values, secondary text */
	HL_WARN,      /* above the warning threshold (atop's cyan/yellow) */
	HL_CRIT,      /* above the critical threshold (atop's red) */
	HL_TITLE,     /* title line, active tab */
	HL_SEND,      /* outgoing message */
	HL_RECV,      /* incoming message */
	HL__COUNT
};

#define TUI_LINE_MAX 512

/* One screen line: text plus a highlight class per byte. */
struct tui_line {
	int len;
	char text[TUI_LINE_MAX + 1];
	unsigned char hl[TUI_LINE_MAX];
};

void tl_clear(struct tui_line *l);
/* Append printf-formatted text (made printable) with one highlight class;
 * silently cut at TUI_LINE_MAX. */
void tl_add(struct tui_line *l, enum tui_hl hl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Pad with spaces up to column col. */
void tl_pad(struct tui_line *l, int col);

/* ---- numbers ------------------------------------------------------------ */

/* Counts and rates, at most 5 characters: 0 0.5 12 999 1.2k 12k 123k 1.2M. */
char *fmt_si(char *buf, size_t n, double v);
/* Bytes, 1024-based, at most 5 characters: 0 512 1.2K 12K 3.4M 1.0G. */
char *fmt_bytes(char *buf, size_t n, double v);
/* A size given in KiB (as /proc/meminfo has it): 512K 12.3M 15.6G. */
char *fmt_kib(char *buf, size_t n, uint64_t kib);
/* Durations: 850ns 850us 12ms 1.3s 59s 2m05 3h04 5d03; "-" for 0 when
 * zero_dash. */
char *fmt_dur(char *buf, size_t n, uint64_t ns, bool zero_dash);
/* How long ago, in at most 4 columns: <1s 59s 59m 23h 99d. */
char *fmt_age(char *buf, size_t n, uint64_t ns);
/* A time of day from epoch ns, local time: HH:MM:SS, or HH:MM:SS.mmm. */
char *fmt_clock(char *buf, size_t n, uint64_t epoch_ns, bool millis);

/* ---- cutting ------------------------------------------------------------ */

enum tui_cut { CUT_END, CUT_MIDDLE };

/* Copy src into dst (size n) made printable and at most width columns;
 * when too long it is cut at the end or in the middle and '~' marks the
 * cut. Returns dst. */
char *fit_text(char *dst, size_t n, const char *src, int width, enum tui_cut cut);
/* Replace control and non-ASCII bytes by '.', in place. */
void make_printable(char *s);
/* n bytes from src to dst (dst == src works), made printable the same way,
 * and a NUL after them: dst holds n + 1 bytes. */
void copy_printable(char *dst, const char *src, size_t n);

/* ---- tables ------------------------------------------------------------- */

struct tui_col {
	const char *name;   /* header text */
	int width;          /* minimum width */
	int flex;           /* share of the spare width; 0: fixed */
	bool right;         /* right-aligned (numbers) */
	bool numeric;       /* sort by the row's key, largest first */
	enum tui_cut cut;
	int want;           /* flex: the width it should have before columns drop */
	int drop;           /* 0: always shown; else dropped on a narrow screen,
			     * highest first */
};

/* Widths for n columns separated by one space in `width` columns. When the
 * flex columns would get less than they want, droppable columns go (width
 * 0), highest `drop` first; then fixed columns keep their width and flex
 * columns share what is left (never below their minimum). Returns the
 * total width used. */
int tui_layout(const struct tui_col *cols, int n, int width, int *w);
/* One table line from cells (NULL cell: empty) into l, with hl[i] (may be
 * NULL) for each cell. */
void tui_cells_line(struct tui_line *l, const struct tui_col *cols,
		    const int *w, int n, const char *const *cells,
		    const unsigned char *hl);
/* The column header line: names in HL_LABEL, the sort column in HL_TITLE
 * (its direction is in the tab line, so the names stay parseable). */
void tui_header_line(struct tui_line *l, const struct tui_col *cols,
		     const int *w, int n, int sort_col);

/* ---- builders that read the model -------------------------------------- */

struct msg_record;

/* The columns of a view (enum tui_view): their count in *n and the column
 * a fresh view sorts by in *sort_col (descending when *desc). */
const struct tui_col *tui_text_columns(int view, int *n, int *sort_col,
				       bool *desc);
/* One-line summary of a record: "PUB orders.new 11B: {...}". */
void tui_text_summary(const struct msg_record *rec, char *buf, size_t n);

/* The host and msgscope header: up to max lines into out, fitting width.
 * Returns the number of lines. */
int tui_text_header(const struct tui_model *m, int width,
		    struct tui_line *out, int max);
/* Tab bar: " 1 Flows  2 Messages ..." with the active one in HL_TITLE,
 * then sort / filter / pause state. */
void tui_text_tabs(const struct tui_model *m, int width, struct tui_line *l);
/* Fill a table with the rows of the model's current data for its view
 * (called by tui_model_refresh; unsorted, unfiltered). */
void tui_text_build_rows(const struct tui_model *m, struct tui_table *t);
/* The details of the selected row: lines into the model's details buffer
 * (called by tui_model_open_details and on refresh). */
void tui_text_build_details(struct tui_model *m);
/* Column widths of the current table at width (w: TUI_MAX_COLS). */
int tui_text_widths(const struct tui_model *m, int width, int *w);
void tui_text_colheader(const struct tui_model *m, const int *w, struct tui_line *l);
/* Row i of the filtered, sorted table. */
void tui_text_row(const struct tui_model *m, size_t i, const int *w, struct tui_line *l);
/* A whole batch frame: header, then the current view's table, every row,
 * at width columns. */
void tui_text_print_frame(FILE *f, const struct tui_model *m, int width);

#endif /* MSGSCOPE_TUI_TEXT_H */

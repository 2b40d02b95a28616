/* SPDX-License-Identifier: MIT */
#include "tui_draw.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tui_input.h"

/* Lines kept for the table however many the header would like. */
#define MIN_BODY 5
#define MAX_HEADER 64

enum { PAIR_CRIT = 1, PAIR_WARN, PAIR_LABEL, PAIR_TITLE, PAIR_RECV };

static void set_attrs(struct tui_screen *s)
{
	int *a = s->attr;

	memset(s->attr, 0, sizeof(s->attr));
	a[HL_DIM] = A_DIM;
	if (!s->color) {
		a[HL_LABEL] = A_BOLD;
		a[HL_WARN] = A_BOLD;
		a[HL_CRIT] = A_BOLD | A_UNDERLINE;
		a[HL_TITLE] = A_BOLD;
		return;
	}
	start_color();
	use_default_colors();   /* -1: the terminal's own background */
	init_pair(PAIR_CRIT, COLOR_RED, -1);
	init_pair(PAIR_WARN, COLOR_YELLOW, -1);
	init_pair(PAIR_LABEL, COLOR_CYAN, -1);
	init_pair(PAIR_TITLE, COLOR_GREEN, -1);
	init_pair(PAIR_RECV, COLOR_MAGENTA, -1);
	a[HL_LABEL] = COLOR_PAIR(PAIR_LABEL) | A_BOLD;
	a[HL_WARN] = COLOR_PAIR(PAIR_WARN) | A_BOLD;
	a[HL_CRIT] = COLOR_PAIR(PAIR_CRIT) | A_BOLD;
	a[HL_TITLE] = COLOR_PAIR(PAIR_TITLE) | A_BOLD;
	a[HL_SEND] = COLOR_PAIR(PAIR_LABEL);
	a[HL_RECV] = COLOR_PAIR(PAIR_RECV);
}

int tui_screen_check(void)
{
	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		return 0;
	fprintf(stderr, "msgscope: the live view needs a terminal; use -b for batch output\n");
	return -1;
}

int tui_screen_open(struct tui_screen *s, bool want_color, const char *hints)
{
	memset(s, 0, sizeof(*s));
	s->hints = hints;
	s->hdr = calloc(MAX_HEADER, sizeof(*s->hdr));  /* ~64 KiB */
	if (!s->hdr) {
		fprintf(stderr, "msgscope: out of memory\n");
		return -1;
	}
	if (tui_screen_check())
		return -1;
	/* newterm, not initscr: initscr exits the process when TERM is bad */
	if (!newterm(NULL, stdout, stdin)) {
		fprintf(stderr, "msgscope: cannot use terminal type '%s'\n",
			getenv("TERM") ? getenv("TERM") : "(unset)");
		return -1;
	}
	s->active = true;
	cbreak();          /* keys at once; Ctrl-C still raises SIGINT */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);  /* Esc is a key of its own here, not a prefix */
	curs_set(0);
	s->color = want_color && has_colors();
	set_attrs(s);
	return 0;
}

void tui_screen_close(struct tui_screen *s)
{
	free(s->hdr);
	s->hdr = NULL;
	if (!s->active)
		return;
	s->active = false;
	curs_set(1);
	endwin();
}

void tui_screen_resize(struct tui_screen *s)
{
	struct winsize ws;

	if (!s->active)
		return;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
}

int tui_screen_key(struct tui_screen *s)
{
	int key;

	if (!s->active)
		return -1;
	key = getch();
	return key == ERR ? -1 : key;
}

void tui_screen_invalidate(struct tui_screen *s)
{
	if (s->active)
		clearok(curscr, TRUE);
}

static void restore_terminal(void)
{
	if (stdscr && !isendwin())
		endwin();
}

void tui_screen_restore_at_exit(void)
{
	atexit(restore_terminal);
}

/* ---- lines -------------------------------------------------------------- */

/* Draw a line at row y with attrs[] per highlight class, OR-ed with extra;
 * fill pads the rest of the row (the selection bar, the column header). */
static void put_line(int y, const struct tui_line *l, const int *attrs, int extra,
		     bool fill)
{
	int cols = COLS, x = 0;

	move(y, 0);
	while (x < l->len && x < cols) {
		int start = x;
		unsigned char hl = l->hl[x];

		while (x < l->len && x < cols && l->hl[x] == hl)
			x++;
		attrset(attrs[hl] | extra);
		addnstr(l->text + start, x - start);
	}
	if (fill) {
		attrset(extra);
		for (; x < cols; x++)
			addch(' ');
	}
	attrset(A_NORMAL);
}

static void put_text(int y, const char *text, int attr, bool fill)
{
	struct tui_line l;
	int attrs[HL__COUNT] = { 0 };

	tl_clear(&l);
	tl_add(&l, HL_NONE, "%s", text);
	put_line(y, &l, attrs, attr, fill);
}

/* ---- parts of the frame --------------------------------------------------- */

static int draw_header(struct tui_screen *s, struct tui_model *m, int rows)
{
	int max = rows - 3 - MIN_BODY, n;

	if (max > MAX_HEADER)
		max = MAX_HEADER;
	n = tui_text_header(m, COLS, s->hdr, max < 1 ? 1 : max);
	for (int i = 0; i < n; i++)
		put_line(i, &s->hdr[i], s->attr, 0, false);
	return n;
}

static void draw_tabs(struct tui_screen *s, struct tui_model *m, int y)
{
	int attrs[HL__COUNT];
	struct tui_line l;

	memcpy(attrs, s->attr, sizeof(attrs));
	attrs[HL_TITLE] = A_REVERSE | A_BOLD;  /* the active tab */
	tui_text_tabs(m, COLS, &l);
	put_line(y, &l, attrs, 0, false);
}

static void draw_table(struct tui_screen *s, struct tui_model *m, int y, int rows)
{
	int hdr[HL__COUNT] = { 0 }, plain[HL__COUNT] = { 0 }, w[TUI_MAX_COLS];
	const struct tui_viewstate *vs = &m->vs[m->view];
	struct tui_line l;

	hdr[HL_TITLE] = A_BOLD | A_UNDERLINE;   /* the sort column */
	tui_text_widths(m, COLS, w);
	tui_text_colheader(m, w, &l);
	put_line(y++, &l, hdr, A_REVERSE, true);
	for (int i = 0; i < rows; i++) {
		size_t idx = vs->top + i;

		if (idx >= m->table.norder)
			break;
		tui_text_row(m, idx, w, &l);
		if (idx == vs->sel)
			put_line(y + i, &l, plain, A_REVERSE | A_BOLD, true);
		else
			put_line(y + i, &l, s->attr, 0, false);
	}
	if (!m->table.norder)
		put_text(y + 1, m->filter[0] ? "  (no rows match the filter)" :
			 "  (nothing seen yet)", A_DIM, false);
}

static void draw_details(struct tui_screen *s, struct tui_model *m, int y, int rows)
{
	const struct tui_details *d = &m->details;
	char title[160];

	snprintf(title, sizeof(title), " %s details   Esc back, arrows/PgUp/PgDn scroll   lines %d-%d of %d",
		 tui_view_name(d->view), d->n ? d->scroll + 1 : 0,
		 d->scroll + rows < d->n ? d->scroll + rows : d->n, d->n);
	put_text(y++, title, A_REVERSE, true);
	for (int i = 0; i < rows && d->scroll + i < d->n; i++)
		put_line(y + i, &d->lines[d->scroll + i], s->attr, 0, false);
}

static void draw_status(struct tui_screen *s, struct tui_model *m, int y)
{
	char buf[256];

	if (m->prompt != PROMPT_NONE) {
		snprintf(buf, sizeof(buf), "%s%s", tui_input_prompt_label(m->prompt), m->prompt_buf);
		put_text(y, buf, A_BOLD, false);
		curs_set(1);
		move(y, strlen(buf) < (size_t)COLS ? (int)strlen(buf) : COLS - 1);
		return;
	}
	curs_set(0);
	if (m->status[0])
		put_text(y, m->status, s->attr[HL_WARN], false);
	else
		put_text(y, s->hints, A_DIM, false);
}

/* Help: a box in the middle of the screen, over the table. */
static void draw_help(struct tui_model *m, int rows)
{
	const char *const *lines = tui_input_help(m->replay);
	int n = 0, w = 0, top, left;

	for (; lines[n]; n++)
		if ((int)strlen(lines[n]) > w)
			w = strlen(lines[n]);
	w += 4;
	if (w > COLS)
		w = COLS;
	top = (rows - n - 2) / 2 > 0 ? (rows - n - 2) / 2 : 0;
	left = (COLS - w) / 2;
	for (int i = -1; i <= n; i++) {
		if (top + 1 + i >= rows)
			break;
		move(top + 1 + i, left);
		attrset(i < 0 || i == n ? A_REVERSE : A_NORMAL);
		for (int x = 0; x < w; x++)
			addch(' ');
		if (i >= 0 && i < n)
			mvaddnstr(top + 1 + i, left + 2, lines[i], w - 4);
		else if (i < 0)
			mvaddnstr(top, left + 2, " msgscope help: any key closes ", w - 4);
	}
	attrset(A_NORMAL);
}

void tui_screen_draw(struct tui_screen *s, struct tui_model *m)
{
	int rows = LINES, y, body;

	if (!s->active)
		return;
	erase();
	if (rows < 3 + MIN_BODY || COLS < 20) {
		put_text(0, "msgscope: terminal too small", A_BOLD, false);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	y = draw_header(s, m, rows);
	draw_tabs(s, m, y++);
	body = rows - y - 2;         /* column header and status line */
	m->body_rows = body;
	if (m->body_cols != COLS) {
		m->body_cols = COLS;
		if (m->details.open)   /* details wrap at the width */
			tui_text_build_details(m);
	}
	tui_model_move(m, 0);        /* the selection stays visible at this height */
	tui_model_scroll_details(m, 0);
	if (m->details.open)
		draw_details(s, m, y, body);
	else
		draw_table(s, m, y, body);
	if (m->help)
		draw_help(m, rows);
	draw_status(s, m, rows - 1);
	wnoutrefresh(stdscr);
	doupdate();
}

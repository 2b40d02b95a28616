/* SPDX-License-Identifier: MIT */
/*
 * tui_draw.h — the curses side of the top view: puts the text that
 * tui_text builds on the screen, with colours and the selection bar.
 *
 * Each frame is erase() + draw into stdscr + one doupdate(): curses sends
 * only the cells that changed, so the screen does not flicker.
 *
 * Colours are used only when the terminal has them and --no-color was not
 * given; without colours, warnings are bold and critical values bold and
 * underlined, so thresholds stay visible on a monochrome terminal.
 */
#ifndef MSGSCOPE_TUI_DRAW_H
#define MSGSCOPE_TUI_DRAW_H

#include <stdbool.h>

#include "tui_model.h"

struct tui_screen {
	bool active;                 /* between tui_screen_open and _close */
	bool color;
	int attr[HL__COUNT];         /* curses attributes per highlight class */
	const char *hints;           /* key hints for the status line */
	struct tui_line *hdr;        /* header lines, built each frame */
};

/* Is there a terminal to take over (stdin and stdout)? -1 with one line
 * printed when not: checked before the slow set-up (BPF probes). */
int tui_screen_check(void);
/* Take over the terminal. Returns 0, or -1 with one line printed when
 * there is no usable terminal. Call tui_screen_close even then. */
int tui_screen_open(struct tui_screen *scr, bool want_color, const char *hints);
/* Give the terminal back; safe to call twice or before open. */
void tui_screen_close(struct tui_screen *scr);
/* The terminal changed size (SIGWINCH): ask the kernel, tell curses. */
void tui_screen_resize(struct tui_screen *scr);
/* The next key, or -1 when none is waiting. */
int tui_screen_key(struct tui_screen *scr);
/* Repaint every cell on the next draw (Ctrl-L). */
void tui_screen_invalidate(struct tui_screen *scr);
/* Make sure the terminal is given back at exit(), even on error paths. */
void tui_screen_restore_at_exit(void);
/* Draw the whole frame from the model; sets m->body_rows/body_cols. */
void tui_screen_draw(struct tui_screen *scr, struct tui_model *m);

#endif /* MSGSCOPE_TUI_DRAW_H */

/* SPDX-License-Identifier: MIT */
/*
 * tui_input.h — keys to actions. What only changes the view (views, sort,
 * filter, selection, details, help, prompts) is done on the model here;
 * what the command has to act on (quit, a new interval, replay pause,
 * speed, step, jump, refresh) comes back as an action.
 *
 * Keys are curses key codes, but nothing here touches the screen: the
 * unit tests feed codes directly.
 */
#ifndef MSGSCOPE_TUI_INPUT_H
#define MSGSCOPE_TUI_INPUT_H

#include "tui_model.h"

enum tui_action {
	ACT_NONE = 0,      /* nothing more to do (maybe redraw) */
	ACT_QUIT,
	ACT_REFRESH,       /* rebuild from the data now */
	ACT_DELAY,         /* m->interval_ns changed */
	ACT_PAUSE,         /* m->paused toggled */
	ACT_SPEED,         /* replay: m->speed changed */
	ACT_STEP,          /* replay: advance one interval */
	ACT_JUMP,          /* replay: go to the offset in *arg_ns */
};

#define TUI_MIN_DELAY_NS 100000000ull   /* 0.1 s, as top's minimum */
#define TUI_MAX_SPEED 1000.0
#define TUI_MIN_SPEED 0.01

enum tui_action tui_input_key(struct tui_model *m, int key, uint64_t *arg_ns);

/* Help text, NULL-terminated; replay has its own keys. */
const char *const *tui_input_help(bool replay);
/* "Filter: ", "Delay (s): ", "Jump to (s): " */
const char *tui_input_prompt_label(enum tui_prompt p);

#endif /* MSGSCOPE_TUI_INPUT_H */

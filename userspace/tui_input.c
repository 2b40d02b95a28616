/* SPDX-License-Identifier: MIT */
#include "tui_input.h"

#include <curses.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define KEY_ESC 27
#define KEY_CTRL(c) ((c) & 0x1f)

static const char *const help_live[] = {
	"q             quit (in details or help: close them)",
	"h ?           this help",
	"1 2 3 4 Tab   views: Flows, Messages, Components, Subjects",
	"Enter         details of the selected row (Esc: back)",
	"Up Down PgUp PgDn Home End   move (j/k too)",
	"s >  <        sort by the next / previous column",
	"r             reverse the sort order",
	"/             filter rows: text in any column (Esc clears)",
	"p             pause: the screen freezes, counting goes on",
	"space         refresh now",
	"d             refresh interval (seconds)",
	"c             per-CPU lines in the header",
	"Ctrl-L        redraw the screen",
	NULL,
};

static const char *const help_replay[] = {
	"q             quit (in details or help: close them)",
	"h ?           this help",
	"1 2 3 4 Tab   views: Flows, Messages, Components, Subjects",
	"Enter         details of the selected row (Esc: back)",
	"Up Down PgUp PgDn Home End   move (j/k too)",
	"s >  <        sort by the next / previous column",
	"r             reverse the sort order",
	"/             filter rows: text in any column (Esc clears)",
	"space p       pause / resume the replay",
	"+ -           replay faster / slower (x2)",
	"n .           step one interval",
	"g             jump to a time (seconds from the start)",
	"d             frame interval (seconds of trace time)",
	"c             per-CPU lines in the header",
	"Ctrl-L        redraw the screen",
	NULL,
};

const char *const *tui_input_help(bool replay)
{
	return replay ? help_replay : help_live;
}

const char *tui_input_prompt_label(enum tui_prompt p)
{
	switch (p) {
	case PROMPT_FILTER: return "Filter: ";
	case PROMPT_DELAY: return "Delay (s): ";
	case PROMPT_JUMP: return "Jump to (s from start): ";
	default: return "";
	}
}

/* ---- prompts ------------------------------------------------------------ */

static void start_prompt(struct tui_model *m, enum tui_prompt p, const char *init)
{
	m->prompt = p;
	snprintf(m->prompt_buf, sizeof(m->prompt_buf), "%s", init);
	snprintf(m->prompt_prev, sizeof(m->prompt_prev), "%s", m->filter);
}

static bool parse_secs(const char *s, double min, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= min) || v > 1e7)
		return false;
	*out = v;
	return true;
}

static enum tui_action accept_prompt(struct tui_model *m, uint64_t *arg_ns)
{
	enum tui_prompt p = m->prompt;
	double v;

	m->prompt = PROMPT_NONE;
	switch (p) {
	case PROMPT_DELAY:
		if (!parse_secs(m->prompt_buf, 1e-9, &v)) {
			tui_model_set_status(m, "Delay: expected a positive number of seconds");
			return ACT_NONE;
		}
		m->interval_ns = v * 1e9 < TUI_MIN_DELAY_NS ? TUI_MIN_DELAY_NS : v * 1e9;
		return ACT_DELAY;
	case PROMPT_JUMP:
		if (!parse_secs(m->prompt_buf, 0, &v)) {
			tui_model_set_status(m, "Jump: expected seconds from the start, e.g. 12.5");
			return ACT_NONE;
		}
		*arg_ns = v * 1e9;
		return ACT_JUMP;
	default:
		return ACT_NONE;   /* the filter is applied while typing */
	}
}

static enum tui_action prompt_key(struct tui_model *m, int key, uint64_t *arg_ns)
{
	size_t len = strlen(m->prompt_buf);

	switch (key) {
	case '\n': case '\r': case KEY_ENTER:
		return accept_prompt(m, arg_ns);
	case KEY_ESC:
		if (m->prompt == PROMPT_FILTER)
			tui_model_set_filter(m, m->prompt_prev);
		m->prompt = PROMPT_NONE;
		return ACT_NONE;
	case KEY_BACKSPACE: case 127: case KEY_CTRL('h'):
		if (len)
			m->prompt_buf[len - 1] = '\0';
		break;
	case KEY_CTRL('u'):
		m->prompt_buf[0] = '\0';
		break;
	default:
		if (key < 0x20 || key > 0x7e || len + 1 >= sizeof(m->prompt_buf))
			return ACT_NONE;
		m->prompt_buf[len] = key;
		m->prompt_buf[len + 1] = '\0';
	}
	if (m->prompt == PROMPT_FILTER)   /* narrow as you type, like htop */
		tui_model_set_filter(m, m->prompt_buf);
	return ACT_NONE;
}

/* ---- movement ----------------------------------------------------------- */

/* Rows to move for a movement key, or 0 when key is not one. */
static long move_delta(const struct tui_model *m, int key)
{
	long page = m->body_rows > 1 && m->body_rows < INT_MAX ? m->body_rows - 1 : 10;

	switch (key) {
	case KEY_UP: case 'k': return -1;
	case KEY_DOWN: case 'j': return 1;
	case KEY_PPAGE: return -page;
	case KEY_NPAGE: return page;
	case KEY_HOME: return LONG_MIN;
	case KEY_END: case 'G': return LONG_MAX;
	default: return 0;
	}
}

/* Keys of the details pane; false: not one of them. */
static bool details_key(struct tui_model *m, int key)
{
	long d = move_delta(m, key);

	if (d) {
		tui_model_scroll_details(m, d);
		return true;
	}
	switch (key) {
	case KEY_ESC: case 'q': case KEY_LEFT: case KEY_BACKSPACE: case 127:
		tui_model_close_details(m);
		return true;
	case '\n': case '\r': case KEY_ENTER:
		return true;
	default:
		return false;
	}
}

/* ---- the main keys -------------------------------------------------------- */

static enum tui_action view_key(struct tui_model *m, int key)
{
	switch (key) {
	case '\t':
		tui_model_set_view(m, (m->view + 1) % TV__COUNT);
		break;
	case KEY_BTAB:
		tui_model_set_view(m, (m->view + TV__COUNT - 1) % TV__COUNT);
		break;
	default:
		tui_model_set_view(m, key - '1');
	}
	return ACT_NONE;
}

static enum tui_action replay_key(struct tui_model *m, int key)
{
	switch (key) {
	case '+': case '=':
		m->speed = m->speed * 2 > TUI_MAX_SPEED ? TUI_MAX_SPEED : m->speed * 2;
		return ACT_SPEED;
	case '-': case '_':
		m->speed = m->speed / 2 < TUI_MIN_SPEED ? TUI_MIN_SPEED : m->speed / 2;
		return ACT_SPEED;
	case 'n': case '.':
		return ACT_STEP;
	case 'g':
		start_prompt(m, PROMPT_JUMP, "");
		return ACT_NONE;
	case ' ':
		tui_model_set_paused(m, !m->paused);
		return ACT_PAUSE;
	default:
		return ACT_NONE;
	}
}

static enum tui_action main_key(struct tui_model *m, int key, uint64_t *arg_ns)
{
	long d = move_delta(m, key);
	char buf[32];

	(void)arg_ns;
	if (d) {
		tui_model_move(m, d);
		return ACT_NONE;
	}
	if (m->replay && key > 0 && key < 0x80 && strchr("+=-_n.g ", key))
		return replay_key(m, key);
	switch (key) {
	case 'q': case 'Q':
		return ACT_QUIT;
	case 'h': case '?': case KEY_F(1):
		m->help = true;
		return ACT_NONE;
	case '\t': case KEY_BTAB: case '1': case '2': case '3': case '4':
		return view_key(m, key);
	case 's': case '>': case KEY_RIGHT:
		tui_model_sort_step(m, 1);
		return ACT_NONE;
	case '<': case KEY_LEFT:
		tui_model_sort_step(m, -1);
		return ACT_NONE;
	case 'r': case 'R':
		tui_model_sort_reverse(m);
		return ACT_NONE;
	case '/':
		start_prompt(m, PROMPT_FILTER, m->filter);
		return ACT_NONE;
	case KEY_ESC:
		if (m->filter[0])
			tui_model_set_filter(m, "");
		return ACT_NONE;
	case '\n': case '\r': case KEY_ENTER:
		tui_model_open_details(m);
		return ACT_NONE;
	case 'p': case 'P':
		tui_model_set_paused(m, !m->paused);
		return ACT_PAUSE;
	case ' ': case KEY_CTRL('l'):
		return ACT_REFRESH;
	case 'd':
		snprintf(buf, sizeof(buf), "%g", m->interval_ns / 1e9);
		start_prompt(m, PROMPT_DELAY, buf);
		return ACT_NONE;
	case 'c': case 'C':
		m->per_cpu = !m->per_cpu;
		return ACT_NONE;
	default:
		return ACT_NONE;
	}
}

enum tui_action tui_input_key(struct tui_model *m, int key, uint64_t *arg_ns)
{
	if (key == KEY_RESIZE || key == ERR)
		return ACT_NONE;
	m->status[0] = '\0';   /* a key press retires the last message */
	if (m->prompt != PROMPT_NONE)
		return prompt_key(m, key, arg_ns);
	if (m->help) {
		m->help = false;
		return ACT_NONE;
	}
	if (m->details.open && details_key(m, key))
		return ACT_NONE;
	return main_key(m, key, arg_ns);
}

/* SPDX-License-Identifier: MIT */
/*
 * swar.h against the byte-wise definition of each class: every byte value
 * at every position of a word of plain bytes, and a second hit above the
 * first (a borrow may flag more above the lowest true hit, never below).
 */
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "swar.h"

enum cls { BELOW_20, EQ_QUOTE, EQ_DEL, HIGH, DEL_OR_HIGH, N_CLS };

static const char *const names[N_CLS] = {
	"below 0x20", "eq '\"'", "eq 0x7f", "high", "del or high",
};

static bool in_class(enum cls c, uint8_t b)
{
	switch (c) {
	case BELOW_20: return b < 0x20;
	case EQ_QUOTE: return b == '"';
	case EQ_DEL: return b == 0x7f;
	case HIGH: return b >= 0x80;
	case DEL_OR_HIGH: return b >= 0x7f;
	default: return false;
	}
}

static uint64_t mask(enum cls c, uint64_t x)
{
	switch (c) {
	case BELOW_20: return swar_below(x, 0x20);
	case EQ_QUOTE: return swar_eq(x, '"');
	case EQ_DEL: return swar_eq(x, 0x7f);
	case HIGH: return swar_high(x);
	case DEL_OR_HIGH: return swar_del_or_high(x);
	default: return 0;
	}
}

/* Bytes of the word from p, the rest 'a' (in no class). */
static uint64_t word(int p1, uint8_t b1, int p2, uint8_t b2)
{
	uint8_t w[8];

	for (int i = 0; i < 8; i++)
		w[i] = 'a';
	w[p1] = b1;
	if (p2 >= 0)
		w[p2] = b2;
	return swar_load(w);
}

int main(void)
{
	for (int c = 0; c < N_CLS; c++) {
		for (int p = 0; p < 8; p++) {
			for (int b = 0; b < 256; b++) {
				uint64_t m = mask(c, word(p, b, -1, 0));

				CHECK_MSG(!!m == in_class(c, b), "%s: byte %#x at %d: mask %#llx",
					  names[c], b, p, (unsigned long long)m);
				if (m)
					CHECK_MSG(swar_first(m) == (unsigned)p, "%s: byte %#x at %d first %u",
						  names[c], b, p, swar_first(m));
				/* any byte above a true hit leaves the lowest exact */
				for (int q = p + 1; in_class(c, b) && q < 8; q++) {
					uint64_t m2 = mask(c, word(p, b, q, 0xff - b));

					CHECK_MSG(m2 && swar_first(m2) == (unsigned)p,
						  "%s: byte %#x at %d, %#x at %d", names[c], b, p,
						  0xff - b, q);
				}
			}
		}
	}
	return check_summary("swar");
}

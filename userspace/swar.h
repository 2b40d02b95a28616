/* SPDX-License-Identifier: MIT */
/*
 * swar.h — byte classes of eight bytes at once, in one 64-bit word.
 *
 * The parsers, the JSON writer and the live view look at every byte of
 * every record; nearly all of them are plain ASCII, so each asks first
 * whether a word holds any byte of interest and looks byte by byte only
 * when it does. Each test returns a mask with the top bit of every flagged
 * byte set. A borrow can flag a byte above a true hit, never below one, so
 * the lowest flag is exact (the first byte in memory: little-endian) and a
 * non-zero mask always means at least one true hit.
 */
#ifndef MSGSCOPE_SWAR_H
#define MSGSCOPE_SWAR_H

#include <stdint.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "swar.h takes a word's first byte for its lowest");

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL

static inline uint64_t swar_load(const void *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return x;
}

/* Bytes below n (n <= 0x80): the control characters for n = 0x20. */
static inline uint64_t swar_below(uint64_t x, uint8_t n)
{
	return (x - SWAR_ONES * n) & ~x & SWAR_HIGHS;
}

/* Bytes equal to c. */
static inline uint64_t swar_eq(uint64_t x, uint8_t c)
{
	uint64_t y = x ^ (SWAR_ONES * c);

	return (y - SWAR_ONES) & ~y & SWAR_HIGHS;
}

/* Bytes >= 0x80: not ASCII. */
static inline uint64_t swar_high(uint64_t x)
{
	return x & SWAR_HIGHS;
}

/* Bytes >= 0x7f: DEL or not ASCII (a carry may flag more, as above). */
static inline uint64_t swar_del_or_high(uint64_t x)
{
	return ((x + SWAR_ONES) | x) & SWAR_HIGHS;
}

/* The index of the lowest flagged byte of a non-zero mask. */
static inline unsigned swar_first(uint64_t mask)
{
	return (unsigned)__builtin_ctzll(mask) >> 3;
}

#endif

/* SPDX-License-Identifier: MIT */
#include "json_writer.h"

#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "swar.h"

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
	w->first[0] = true;
}

void jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	w->oom = false;
	w->depth = 0;
	w->after_key = false;
	w->first[0] = true;
}

bool jw_grow(struct jw *w, size_t more)
{
	size_t cap = w->cap ? w->cap : 1024;
	char *nb;

	while (cap < w->len + more)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w->oom = true;
		return false;
	}
	w->buf = nb;
	w->cap = cap;
	return true;
}

static void putc1(struct jw *w, char c)
{
	if (jw_reserve(w, 1))
		w->buf[w->len++] = c;
}

static void open_(struct jw *w, char c)
{
	jw_sep(w);
	putc1(w, c);
	if (w->depth + 1 < JW_MAX_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_(struct jw *w, char c)
{
	putc1(w, c);
	if (w->depth > 0)
		w->depth--;
}

void jw_object_begin(struct jw *w) { open_(w, '{'); }
void jw_object_end(struct jw *w) { close_(w, '}'); }
void jw_array_begin(struct jw *w) { open_(w, '['); }
void jw_array_end(struct jw *w) { close_(w, ']'); }

/* Does any of the 8 bytes of x need a look (escape or UTF-8)? */
static bool word_special(uint64_t x)
{
	return swar_below(x, 0x20) | swar_eq(x, '"') | swar_eq(x, '\\') | swar_high(x);
}

/* Fewer than 8 bytes that need no look, checked as one word padded with
 * spaces (which need none). The word is put together in a register: built
 * in a stack buffer a piece at a time and loaded whole, its load waited on
 * the stores (no store forwarding from pieces), and that wait was a tenth
 * of msgscope's samples under wrk. */
static bool tail_plain(const unsigned char *s, size_t n)
{
	uint64_t x = 0;
	unsigned bits = 0;

	/* fixed-size pieces: a memcpy of n bytes would be a libc call */
	if (n & 4) {
		uint32_t v;

		memcpy(&v, s, 4);
		x = v;
		bits = 32;
	}
	if (n & 2) {
		uint16_t v;

		memcpy(&v, s + bits / 8, 2);
		x |= (uint64_t)v << bits;
		bits += 16;
	}
	if (n & 1) {
		x |= (uint64_t)s[bits / 8] << bits;
		bits += 8;
	}
	/* n < 8: at most 56 bits taken, spaces above them */
	x |= (SWAR_ONES * ' ') << bits;
	return !word_special(x);
}

#ifdef __SSE2__
/* Copy the leading 16-byte blocks of s that need no look to *o (SSE2 is
 * part of x86-64): a signed compare with 0x20 catches both the control
 * bytes and those >= 0x80. Returns the bytes copied. */
static size_t plain16(const unsigned char *s, size_t n, char **o)
{
	const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
		      bslash = _mm_set1_epi8('\\');
	size_t i = 0;

	for (; n - i >= 16; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i hit = _mm_or_si128(_mm_cmplt_epi8(x, space),
					   _mm_or_si128(_mm_cmpeq_epi8(x, quote),
							_mm_cmpeq_epi8(x, bslash)));

		if (_mm_movemask_epi8(hit))
			break;
		_mm_storeu_si128((__m128i *)(void *)*o, x);
		*o += 16;
	}
	return i;
}
#endif

/* Length of the valid UTF-8 sequence at s[0] (non-ASCII lead), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
	else return 0;
	if (n <= need) /* sequence cut short */
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	/* overlong, surrogates, beyond U+10FFFF */
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need + 1;
}

/*
 * Write s as a JSON string. check_utf8: refuse (write nothing, return
 * false) if s is not valid UTF-8; otherwise bytes >= 0x80 pass through.
 * One pass, straight into a buffer reserved for the worst case, 8 plain
 * bytes at a time: payloads are most of a trace's bytes.
 */
static bool escaped(struct jw *w, const char *str, size_t n, bool check_utf8)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	char *o;

	if (n > (SIZE_MAX - 2) / 6 || !jw_reserve(w, n * 6 + 2)) {
		w->oom = true;
		return true;
	}
	o = w->buf + w->len;
	*o++ = '"';
	while (i < n) {
		unsigned char c;

#ifdef __SSE2__
		if (n - i >= 16) {
			i += plain16(s + i, n - i, &o);
			if (i >= n)
				break;
		}
#endif
		if (n - i >= 8) {
			uint64_t x;

			memcpy(&x, s + i, 8);
			if (!word_special(x)) {
				memcpy(o, &x, 8);
				o += 8;
				i += 8;
				continue;
			}
		} else if (tail_plain(s + i, n - i)) {
			memcpy(o, s + i, n - i);
			o += n - i;
			break;
		}
		c = s[i];
		if (c >= 0x80) {
			size_t l = check_utf8 ? utf8_seq(s + i, n - i) : 1;

			if (!l)
				return false;
			memcpy(o, s + i, l);
			o += l;
			i += l;
			continue;
		}
		i++;
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
	}
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
	return true;
}

/* Keys and enum-like values are short and plain: copied at once, without
 * the general escaper (a key cost ~200 instructions through it). Checked a
 * word at a time. */
bool jw_plain(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 32)
		return false;
	for (; i + 8 <= n; i += 8) {
		uint64_t x;

		memcpy(&x, s + i, 8);
		if (word_special(x))
			return false;
	}
	return tail_plain((const unsigned char *)s + i, n - i);
}

static void quoted_plain(struct jw *w, const char *s, size_t n, bool colon)
{
	char *o;

	if (!jw_reserve(w, n + 3))
		return;
	o = w->buf + w->len;
	*o++ = '"';
	memcpy(o, s, n);
	o += n;
	*o++ = '"';
	if (colon)
		*o++ = ':';
	w->len = (size_t)(o - w->buf);
}

void jw_key_n(struct jw *w, const char *key, size_t n)
{
	jw_sep(w);
	if (jw_plain(key, n)) {
		quoted_plain(w, key, n, true);
	} else {
		escaped(w, key, n, false);
		putc1(w, ':');
	}
	w->after_key = true;
}

bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		size_t l;

		if (n - i >= 8) {
			uint64_t x;

			memcpy(&x, s + i, 8);
			if (!swar_high(x)) {
				i += 8;
				continue;
			}
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (!(l = utf8_seq(s + i, n - i)))
			return false;
		i += l;
	}
	return true;
}

void jw_string_n(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	if (jw_plain(s, n))
		quoted_plain(w, s, n, false);
	else
		escaped(w, s, n, false);
}

bool jw_string_utf8(struct jw *w, const char *s, size_t n)
{
	size_t len = w->len;
	bool first = w->first[w->depth], after_key = w->after_key;

	jw_sep(w);
	if (escaped(w, s, n, true))
		return true;
	/* not UTF-8: as if nothing had been written */
	w->len = len;
	w->first[w->depth] = first;
	w->after_key = after_key;
	return false;
}

void jw_base64(struct jw *w, const void *data, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *in = data;
	char *o;

	jw_sep(w);
	if (!jw_reserve(w, (n + 2) / 3 * 4 + 2))
		return;
	o = w->buf + w->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*o++ = tbl[(v >> 18) & 63];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tbl[v & 63] : '=';
	}
	*o++ = '"';
	w->len = o - w->buf;
}

/* Decimal digits of v (1 for 0): log2 by the bit count, times log10(2)
 * (1233 / 4096), corrected by one compare. */
static unsigned digits(uint64_t v)
{
	static const uint64_t pow10[20] = {
		1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
		10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
		100000000000ULL, 1000000000000ULL, 10000000000000ULL,
		100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
		100000000000000000ULL, 1000000000000000000ULL,
		10000000000000000000ULL,
	};
	unsigned t = ((64 - (unsigned)__builtin_clzll(v | 1)) * 1233) >> 12;

	return t - ((v | 1) < pow10[t]) + 1;
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Exactly 8 digits of x < 10^8 ending at p, in 32-bit arithmetic: the two
 * halves' pairs do not wait on each other. Returns the first. */
static char *put8(char *p, uint32_t x)
{
	uint32_t hi = x / 10000, lo = x % 10000;

	memcpy(p - 2, digit_pairs + (lo % 100) * 2, 2);
	memcpy(p - 4, digit_pairs + (lo / 100) * 2, 2);
	memcpy(p - 6, digit_pairs + (hi % 100) * 2, 2);
	memcpy(p - 8, digit_pairs + (hi / 100) * 2, 2);
	return p - 8;
}

void jw_uint(struct jw *w, uint64_t v)
{
	/* Written in place, back to front (through a scratch array, the
	 * copy's call was a third of this function's time). Timestamps have
	 * 19 digits: 8 at a time in 32-bit arithmetic, then two per step. */
	unsigned n = digits(v);
	uint32_t x;
	char *p;

	jw_sep(w);
	if (!jw_reserve(w, n))
		return;
	p = w->buf + w->len + n;
	w->len += n;
	while (v >= 100000000) {
		p = put8(p, (uint32_t)(v % 100000000));
		v /= 100000000;
	}
	x = (uint32_t)v;
	while (x >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + (x % 100) * 2, 2);
		x /= 100;
	}
	if (x >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + x * 2, 2);
	} else {
		*--p = (char)('0' + x);
	}
}

void jw_int(struct jw *w, int64_t v)
{
	if (v >= 0) {
		jw_uint(w, v);
		return;
	}
	jw_sep(w);
	putc1(w, '-');
	w->after_key = true; /* the digits follow the sign without a comma */
	jw_uint(w, -(uint64_t)v);
}

void jw_bool(struct jw *w, bool v)
{
	jw_sep(w);
	jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	jw_sep(w);
	jw_put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
	jw_sep(w);
	jw_put(w, json, n);
}

void jw_raw_members(struct jw *w, const char *json, size_t n)
{
	jw_put(w, json, n);
}

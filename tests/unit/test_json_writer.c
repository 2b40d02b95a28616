/* SPDX-License-Identifier: MIT */
/* Unit tests for the streaming JSON writer: every output must parse, with
 * the values we meant, whatever bytes went in. */
#include <jansson.h>
#include <stdlib.h>

#include "check.h"
#include "json_writer.h"

static json_t *parse(struct jw *w)
{
	json_error_t e;
	json_t *j = json_loadb(w->buf, w->len, 0, &e);

	CHECK_MSG(j != NULL, "not JSON: %.*s (%s)", (int)w->len, w->buf, e.text);
	return j;
}

static void test_nesting_and_commas(void)
{
	struct jw w;
	json_t *j;

	jw_init(&w);
	jw_object_begin(&w);
	jw_key(&w, "a"); jw_int(&w, -42);
	jw_key(&w, "b"); jw_array_begin(&w);
	jw_uint(&w, 0); jw_uint(&w, 9223372036854775807ull); jw_bool(&w, false); jw_null(&w);
	jw_object_begin(&w); jw_key(&w, "x"); jw_string(&w, "y"); jw_object_end(&w);
	jw_array_end(&w);
	jw_key(&w, "c"); jw_object_begin(&w); jw_object_end(&w);
	jw_key(&w, "d"); jw_raw(&w, "{\"r\":1}", 7);
	jw_key(&w, "e"); jw_int(&w, -9223372036854775807ll - 1);
	jw_object_end(&w);
	j = parse(&w);
	CHECK_EQ_INT(json_integer_value(json_object_get(j, "a")), -42);
	CHECK_EQ_INT(json_array_size(json_object_get(j, "b")), 5);
	CHECK(json_is_false(json_array_get(json_object_get(j, "b"), 2)));
	CHECK(json_is_object(json_object_get(j, "c")));
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "d"), "r")), 1);
	CHECK(json_integer_value(json_object_get(j, "e")) == (json_int_t)(-9223372036854775807ll - 1));
	json_decref(j);
	jw_free(&w);
}

/* Digits two at a time: every length, and the values around each power of
 * ten, read back as the same number. */
static void test_uint_digits(void)
{
	uint64_t v = 1;

	for (int i = 0; i < 20; i++, v *= 10) {
		uint64_t vals[3] = { v - 1, v, v + 1 };

		for (int k = 0; k < 3; k++) {
			struct jw w;
			char want[32];

			jw_init(&w);
			jw_uint(&w, vals[k]);
			snprintf(want, sizeof(want), "%llu", (unsigned long long)vals[k]);
			CHECK_MSG(w.len == strlen(want) && !memcmp(w.buf, want, w.len),
				  "%.*s != %s", (int)w.len, w.buf, want);
			jw_free(&w);
		}
	}
	/* and values whose 8-digit groups are anything, zeros within them */
	uint64_t x = 88172645463325252ull;

	for (int i = 0; i < 2000; i++) {
		struct jw w;
		char want[32];

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t val = x >> (i % 64);

		jw_init(&w);
		jw_uint(&w, val);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)val);
		CHECK_MSG(w.len == strlen(want) && !memcmp(w.buf, want, w.len),
			  "%.*s != %s", (int)w.len, w.buf, want);
		jw_free(&w);
	}
	struct jw w;

	jw_init(&w);
	jw_uint(&w, UINT64_MAX); /* 20 digits */
	CHECK(w.len == 20 && !memcmp(w.buf, "18446744073709551615", 20));
	jw_free(&w);
}

static void test_escaping(void)
{
	struct jw w;
	json_t *j;
	const char nasty[] = "q\"b\\s\n\r\t\x01\x1f end é";

	jw_init(&w);
	jw_object_begin(&w);
	jw_key(&w, "k\"ey");
	CHECK(jw_string_utf8(&w, nasty, sizeof(nasty) - 1));
	jw_object_end(&w);
	j = parse(&w);
	CHECK(!strcmp(json_string_value(json_object_get(j, "k\"ey")), nasty));
	json_decref(j);
	jw_free(&w);
}

static void test_utf8_validation(void)
{
	CHECK(utf8_valid("plain", 5));
	CHECK(utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	CHECK(!utf8_valid("\xc3", 1));             /* cut short */
	CHECK(!utf8_valid("\xc0\xaf", 2));         /* overlong */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!utf8_valid("\xff", 1));
	CHECK(!utf8_valid("ok\x80", 3));
}

static void test_base64(void)
{
	static const char *const want[] = { "", "AA==", "AAE=", "AAEC", "AAECAw==" };
	const unsigned char in[] = { 0, 1, 2, 3 };

	for (size_t n = 0; n <= 4; n++) {
		struct jw w;
		json_t *j;

		jw_init(&w);
		jw_array_begin(&w);
		jw_base64(&w, in, n);
		jw_array_end(&w);
		j = parse(&w);
		CHECK(!strcmp(json_string_value(json_array_get(j, 0)), want[n]));
		json_decref(j);
		jw_free(&w);
	}
}

/* Every byte string either goes in as valid text or is refused whole. */
static void test_random_bytes_never_break_json(void)
{
	unsigned seed = 1;

	for (int round = 0; round < 2000; round++) {
		char bytes[32];
		size_t n = round % 32;
		struct jw w;
		json_t *j;

		for (size_t i = 0; i < n; i++)
			bytes[i] = (char)(rand_r(&seed) & 0xff);
		jw_init(&w);
		jw_array_begin(&w);
		if (!jw_string_utf8(&w, bytes, n))
			jw_base64(&w, bytes, n);
		jw_array_end(&w);
		j = json_loadb(w.buf, w.len, 0, NULL);
		CHECK(j && json_array_size(j) == 1);
		json_decref(j);
		jw_free(&w);
	}
}

/* Mostly plain text with a special byte here and there, at every offset
 * of the 16- and 8-byte fast paths: what jansson reads back is the input,
 * and our UTF-8 verdict is jansson's. */
static void test_roundtrip_against_jansson(void)
{
	static const char *const pieces[] = {
		"a", "b", "0", " ", "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xed\xa0\x80",
	};
	unsigned seed = 7;

	for (int round = 0; round < 3000; round++) {
		char bytes[160];
		size_t n = 0, want = (size_t)(rand_r(&seed) % 120);
		json_t *ref, *j;
		struct jw w;
		bool ok;

		while (n < want) {
			/* plain most of the time, so the fast paths get long runs */
			const char *p = rand_r(&seed) % 8 ? "x" :
				pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(*pieces))];
			size_t l = strlen(p);

			if (n + l > sizeof(bytes))
				break;
			memcpy(bytes + n, p, l);
			n += l;
		}
		ref = json_stringn(bytes, n); /* NULL: not valid UTF-8 */
		CHECK_MSG(utf8_valid(bytes, n) == (ref != NULL), "round %d: utf8 verdict", round);
		jw_init(&w);
		jw_array_begin(&w);
		ok = jw_string_utf8(&w, bytes, n);
		jw_array_end(&w);
		CHECK_MSG(ok == (ref != NULL), "round %d: jw_string_utf8 verdict", round);
		j = json_loadb(w.buf, w.len, 0, NULL);
		CHECK(j && json_array_size(j) == (ok ? 1u : 0u));
		if (j && ok && ref)
			CHECK_MSG(json_equal(json_array_get(j, 0), ref), "round %d: round trip", round);
		json_decref(j);
		json_decref(ref);
		jw_free(&w);
	}
}

static const char *const every_offset_specials[] = {
	"\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9",
};

/* Calls check(s, len) for every string of n plain bytes (1 <= n <= max,
 * at most 100) with one of every_offset_specials put in at every offset. */
static void each_special_at_every_offset(size_t max,
					 void (*check)(const char *s, size_t len))
{
	for (size_t n = 1; n <= max; n++) {
		for (size_t at = 0; at < n; at++) {
			for (size_t k = 0; k < sizeof(every_offset_specials) /
					       sizeof(*every_offset_specials); k++) {
				const char *sp = every_offset_specials[k];
				size_t l = strlen(sp);
				char s[112];

				memset(s, 'p', n);
				memcpy(s + at, sp, l);
				memset(s + at + l, 'p', n - at - 1);
				check(s, n + l - 1);
			}
		}
	}
}

static void check_key(const char *key, size_t len)
{
	struct jw w;
	json_t *j;

	jw_init(&w);
	jw_object_begin(&w);
	jw_key_n(&w, key, len);
	jw_uint(&w, 1);
	jw_object_end(&w);
	j = json_loadb(w.buf, w.len, 0, NULL);
	CHECK_MSG(j && json_object_size(j) == 1 && json_object_getn(j, key, len) != NULL,
		  "key %.*s", (int)len, key);
	json_decref(j);
	jw_free(&w);
}

static void check_value(const char *v, size_t len)
{
	json_t *ref = json_stringn(v, len), *j;
	struct jw w;

	jw_init(&w);
	jw_array_begin(&w);
	CHECK(jw_string_utf8(&w, v, len));
	jw_array_end(&w);
	j = json_loadb(w.buf, w.len, 0, NULL);
	CHECK_MSG(j && ref && json_array_size(j) == 1 && json_equal(json_array_get(j, 0), ref),
		  "value %.*s", (int)len, v);
	json_decref(j);
	json_decref(ref);
	jw_free(&w);
}

/* Keys up to and past the short path's 32 bytes, with one special byte
 * at every offset (each word and the padded tail of the short path). */
static void test_keys_every_offset(void)
{
	each_special_at_every_offset(40, check_key);
}

/* Values of up to 100 bytes the same way: through the 16- and 8-byte
 * fast paths and the tail, each read back by jansson as written. */
static void test_values_every_offset(void)
{
	each_special_at_every_offset(100, check_value);
}

int main(void)
{
	test_nesting_and_commas();
	test_escaping();
	test_uint_digits();
	test_utf8_validation();
	test_base64();
	test_random_bytes_never_break_json();
	test_roundtrip_against_jansson();
	test_keys_every_offset();
	test_values_every_offset();
	return check_summary("json_writer");
}

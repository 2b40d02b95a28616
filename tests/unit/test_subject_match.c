// SPDX-License-Identifier: MIT
/* test_subject_match.c — NATS subject wildcard matching. */
#include <string.h>

#include "check.h"
#include "subject_match.h"

static int m(const char *filter, const char *subject)
{
	return subject_match(filter, strlen(filter), subject, strlen(subject));
}

static int valid(const char *s, bool wild)
{
	return subject_valid(s, strlen(s), wild);
}

static void test_literal(void)
{
	CHECK(m("foo", "foo"));
	CHECK(m("foo.bar", "foo.bar"));
	CHECK(!m("foo.bar", "foo.baz"));
	CHECK(!m("foo.bar", "foo"));
	CHECK(!m("foo", "foo.bar"));
	CHECK(!m("foo.ba", "foo.bar"));
	CHECK(!m("Foo", "foo")); /* case matters */
}

static void test_star(void)
{
	CHECK(m("foo.*", "foo.bar"));
	CHECK(m("*.bar", "foo.bar"));
	CHECK(m("*", "foo"));
	CHECK(m("foo.*.baz", "foo.x.baz"));
	CHECK(!m("foo.*", "foo"));
	CHECK(!m("foo.*", "foo.bar.baz"));
	CHECK(!m("*", "foo.bar"));
	CHECK(m("_INBOX.abc.*", "_INBOX.abc.7"));
	CHECK(!m("_INBOX.abc.*", "_INBOX.abd.7"));
	CHECK(m("*.*", "a.b"));
}

static void test_gt(void)
{
	CHECK(m("foo.>", "foo.bar"));
	CHECK(m("foo.>", "foo.bar.baz.qux"));
	CHECK(!m("foo.>", "foo"));
	CHECK(m(">", "foo"));
	CHECK(m(">", "foo.bar"));
	CHECK(m("*.>", "a.b"));
	CHECK(!m("*.>", "a"));
	CHECK(m("foo.*.>", "foo.a.b"));
	CHECK(!m("foo.*.>", "foo.a"));
	CHECK(!m("foo.>.bar", "foo.x.bar")); /* '>' must be last */
}

static void test_not_wildcards(void)
{
	/* '*' and '>' inside a token are plain characters */
	CHECK(m("foo*", "foo*"));
	CHECK(!m("foo*", "foox"));
	CHECK(!m("fo>", "fo.x"));
	CHECK(m("a.b>", "a.b>"));
}

static void test_malformed(void)
{
	CHECK(!m("", ""));
	CHECK(!m("foo..bar", "foo..bar"));
	CHECK(!m("foo.", "foo."));
	CHECK(!m(".foo", ".foo"));
	CHECK(!m("foo.*", "foo."));
	CHECK(!m("foo bar", "foo bar"));
	CHECK(!m("foo.*", "foo.*")); /* a published subject has no wildcards */
	CHECK(!m(">", ">"));
	CHECK(!m("foo.>", "foo.bar."));
	CHECK(!subject_match(NULL, 0, "a", 1));
	CHECK(!subject_match("a", 1, NULL, 0));
	/* lengths, not NULs, bound the strings */
	CHECK(subject_match("foo.barXX", 7, "foo.barYY", 7));
}

static void test_valid(void)
{
	CHECK(valid("foo.bar", false));
	CHECK(valid("foo.*", true));
	CHECK(!valid("foo.*", false));
	CHECK(valid("foo.>", true));
	CHECK(!valid("foo.>.x", true));
	CHECK(!valid("foo\tbar", true));
	CHECK(!valid("", true));
	CHECK(valid("$JS.API.INFO", false));
	CHECK(subject_has_wildcard("a.*.b", 5));
	CHECK(subject_has_wildcard("a.>", 3));
	CHECK(!subject_has_wildcard("a*.b>", 5));
}

int main(void)
{
	test_literal();
	test_star();
	test_gt();
	test_not_wildcards();
	test_malformed();
	test_valid();
	return check_summary("subject_match");
}

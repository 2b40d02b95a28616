// SPDX-License-Identifier: MIT
/* test_path_template.c — HTTP path → endpoint template. */
#include <string.h>

#include "check.h"
#include "path_template.h"

static char buf[PATH_TEMPLATE_MAX];

static const char *tpl(const char *path)
{
	path_template(path, strlen(path), buf, sizeof(buf));
	return buf;
}

#define CHECK_TPL(path, want) \
	CHECK_MSG(strcmp(tpl(path), (want)) == 0, "%s -> %s, want %s", \
		  (path), buf, (want))

static bool id(const char *t)
{
	return pt_token_is_id(t, strlen(t));
}

static void test_issue_example(void)
{
	CHECK_TPL("/v2/apps/1b2c3d4e-5f60-4a1b-8c9d-0e1f2a3b4c5d/instances",
		  "/v2/apps/{id}/instances");
	CHECK_TPL("/v2/apps/9f8e7d6c-5b4a-4321-8fed-cba987654321/instances",
		  "/v2/apps/{id}/instances");
	CHECK_TPL("/v2/apps/9F8E7D6C-5B4A-4321-8FED-CBA987654321/instances?inline-relations-depth=1",
		  "/v2/apps/{id}/instances");
}

static void test_placeholders(void)
{
	CHECK_TPL("/users/42", "/users/{id}");
	CHECK_TPL("/users/42/orders/7", "/users/{id}/orders/{id}");
	CHECK_TPL("/blobs/5d41402abc4b2a76b9719d911017c592", "/blobs/{id}");
	CHECK_TPL("/commits/a1b2c3d4", "/commits/{id}");
	CHECK_TPL("/reports/2024-01-31", "/reports/{id}");
	CHECK_TPL("/tokens/Xk3j9f8sd7f6g5h4j3k2l1", "/tokens/{id}");
	CHECK_TPL("/users/bob@example.com", "/users/{id}");
	CHECK_TPL("/droplets/0123456789abcdef0123456789abcdef01234567/download",
		  "/droplets/{id}/download");
}

static void test_names_kept(void)
{
	CHECK_TPL("/v2/info", "/v2/info");
	CHECK_TPL("/api/v1/health", "/api/v1/health");
	CHECK_TPL("/static/app.js", "/static/app.js");
	CHECK_TPL("/cafebabe/deadbeef", "/cafebabe/deadbeef"); /* no digit */
	CHECK_TPL("/services/my-long-service-name-2", "/services/my-long-service-name-2");
	CHECK_TPL("/abc123", "/abc123"); /* short */
}

static void test_shape(void)
{
	CHECK_TPL("/", "/");
	CHECK_TPL("", "/");
	CHECK_TPL("?x=1", "/");
	CHECK_TPL("/a/", "/a/");
	CHECK_TPL("/a//b", "/a//b");
	CHECK_TPL("/search?q=1234&page=2", "/search");
	CHECK_TPL("/page#frag", "/page");
	CHECK_TPL("/a;jsessionid=ABC123/b", "/a/b");
	CHECK_TPL("/items/17;v=2", "/items/{id}");
	CHECK_TPL("http://example.com:8080/v2/apps/17?x", "/v2/apps/{id}");
	CHECK_TPL("HTTPS://example.com", "/");
	CHECK_TPL("*", "*");
	CHECK_TPL("example.com:443", "example.com:443");
}

static void test_truncation(void)
{
	char small[8];
	size_t n = path_template("/abcdefghij/1", 13, small, sizeof(small));

	CHECK_EQ_INT(n, strlen("/abcdefghij/{id}"));
	CHECK(strcmp(small, "/abcdef") == 0);
	n = path_template("/a", 2, NULL, 0);
	CHECK_EQ_INT(n, 2);
	n = path_template(NULL, 0, small, sizeof(small));
	CHECK(strcmp(small, "/") == 0);
}

static void test_token_classes(void)
{
	CHECK(id("0"));
	CHECK(id("123456"));
	CHECK(id("1.2.3"));
	CHECK(!id("v2"));
	CHECK(!id(""));
	CHECK(!id("abcdefgh"));
	CHECK(id("abcdef12"));
	CHECK(!id("abcdef1")); /* 7 hex chars: too short to tell */
	CHECK(id("1b2c3d4e-5f60-4a1b-8c9d-0e1f2a3b4c5d"));
	CHECK(id("1b2c3d4e-5f60-4a1b-8c9d-0e1f2a3b4c5")); /* cut uuid: still random */
	CHECK(id("aW5ib3gtMTIzNDU2Nzg5MA"));
	CHECK(!id("ORDERS"));
	CHECK(!id("-5"));
}

int main(void)
{
	test_issue_example();
	test_placeholders();
	test_names_kept();
	test_shape();
	test_truncation();
	test_token_classes();
	return check_summary("path_template");
}

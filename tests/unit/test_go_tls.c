/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for go_tls.c: the x86-64 instruction length decoder on
 * instructions the Go compiler emits (and a few it could), and
 * go_tls_inspect() on files that are not Go. When a Go binary is given as
 * argv[1] (e.g. /usr/sbin/nats-server), it must be inspected successfully
 * and every RET found must be a 0xC3 byte in the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "go_tls.h"

struct insn {
	const char *what;
	uint8_t bytes[16];
	int len;                 /* expected length, -1: rejected */
};

static const struct insn insns[] = {
	{ "cmp rsp,[r14+0x10] (stack check)", { 0x49, 0x3b, 0x66, 0x10 }, 4 },
	{ "jbe rel32", { 0x0f, 0x86, 1, 2, 3, 4 }, 6 },
	{ "push rbp", { 0x55 }, 1 },
	{ "mov rbp,rsp", { 0x48, 0x89, 0xe5 }, 3 },
	{ "sub rsp,imm8", { 0x48, 0x83, 0xec, 0x48 }, 4 },
	{ "mov rax,[rsp+0x50]", { 0x48, 0x8b, 0x44, 0x24, 0x50 }, 5 },
	{ "movups [rsp+0x30],xmm15", { 0x44, 0x0f, 0x11, 0x7c, 0x24, 0x30 }, 6 },
	{ "call rel32", { 0xe8, 1, 2, 3, 4 }, 5 },
	{ "ret", { 0xc3 }, 1 },
	{ "ret imm16", { 0xc2, 8, 0 }, 3 },
	{ "lea rax,[rip+disp32]", { 0x48, 0x8d, 0x05, 0xc3, 0xc3, 0xc3, 0xc3 }, 7 },
	{ "mov qword [rsp+8],imm32", { 0x48, 0xc7, 0x44, 0x24, 0x08, 0xc3, 0, 0, 0 }, 9 },
	{ "movabs rax,imm64", { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 0xc3 }, 10 },
	{ "mov eax,imm32", { 0xb8, 0xc3, 0, 0, 0 }, 5 },
	{ "mov ax,imm16", { 0x66, 0xb8, 0xc3, 0 }, 4 },
	{ "nopw 0(rax,rax)", { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 6 },
	{ "nopl 0(rax) disp32", { 0x0f, 0x1f, 0x80, 0, 0, 0, 0 }, 7 },
	{ "popcnt rax,rcx", { 0xf3, 0x48, 0x0f, 0xb8, 0xc1 }, 5 },
	{ "vzeroupper", { 0xc5, 0xf8, 0x77 }, 3 },
	{ "vmovdqu ymm0,[rsi]", { 0xc5, 0xfe, 0x6f, 0x06 }, 4 },
	{ "vpbroadcastb ymm?,[rip+d]", { 0xc4, 0xe2, 0x7d, 0x78, 0x05, 1, 2, 3, 4 }, 9 },
	{ "vpalignr (VEX 0F3A, imm8)", { 0xc4, 0xe3, 0x7d, 0x0f, 0xc1, 0x08 }, 6 },
	{ "vmovups zmm0,[rax] (EVEX)", { 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x00 }, 6 },
	{ "test cl,imm8", { 0xf6, 0xc1, 0x01 }, 3 },
	{ "test ecx,imm32", { 0xf7, 0xc1, 0x01, 0, 0, 0 }, 6 },
	{ "neg rax (F7 /3: no imm)", { 0x48, 0xf7, 0xd8 }, 3 },
	{ "mov word [rax],imm16", { 0x66, 0xc7, 0x00, 0x01, 0x00 }, 5 },
	{ "bt eax,imm8", { 0x0f, 0xba, 0xe0, 0x03 }, 4 },
	{ "palignr (0F3A, imm8)", { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08 }, 6 },
	{ "pshufb (0F38)", { 0x66, 0x0f, 0x38, 0x00, 0xc1 }, 5 },
	{ "mov r12,[rsp] (SIB)", { 0x4c, 0x8b, 0x24, 0x24 }, 4 },
	{ "mov eax,[abs32] (SIB, no base)", { 0x8b, 0x04, 0x25, 0, 0, 0, 0 }, 7 },
	{ "mov rax,fs:[-8]", { 0x64, 0x48, 0x8b, 0x04, 0x25, 0xf8, 0xff, 0xff, 0xff }, 9 },
	{ "mov rcx,[rax+rbx*8+disp32]", { 0x48, 0x8b, 0x8c, 0xd8, 0xc3, 0, 0, 0 }, 8 },
	{ "lock cmpxchg [rdx],rcx", { 0xf0, 0x48, 0x0f, 0xb1, 0x0a }, 5 },
	{ "mov rax,moffs64", { 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, 10 },
	{ "int3", { 0xcc }, 1 },
	{ "ud2", { 0x0f, 0x0b }, 2 },
	{ "syscall", { 0x0f, 0x05 }, 2 },
	{ "jmp rel8", { 0xeb, 0xfe }, 2 },
	{ "cmovne rax,rcx", { 0x48, 0x0f, 0x45, 0xc1 }, 4 },
	{ "setne al", { 0x0f, 0x95, 0xc0 }, 3 },
	{ "imul rax,rcx,imm32", { 0x48, 0x69, 0xc1, 1, 2, 3, 4 }, 7 },
	{ "shl rax,imm8", { 0x48, 0xc1, 0xe0, 0x03 }, 4 },
	{ "xchg ax,ax", { 0x66, 0x90 }, 2 },
	{ "invalid in 64-bit mode (06)", { 0x06 }, -1 },
	{ "invalid in 64-bit mode (0x9a)", { 0x9a, 1, 2, 3, 4, 5, 6 }, -1 },
};

static void test_lengths(void)
{
	for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
		const struct insn *t = &insns[i];
		int got = x86_insn_len(t->bytes, t->len > 0 ? (size_t)t->len : sizeof(t->bytes));

		CHECK_MSG(got == t->len, "%s: length %d, expected %d", t->what, got, t->len);
	}
}

/* Cut short: never a length past the bytes we have. */
static void test_truncated(void)
{
	static const uint8_t lea[] = { 0x48, 0x8d, 0x05, 1, 2, 3, 4 };

	for (size_t n = 0; n < sizeof(lea); n++)
		CHECK_MSG(x86_insn_len(lea, n) == -1, "lea cut at %zu bytes", n);
	CHECK_EQ_INT(x86_insn_len(lea, sizeof(lea)), 7);
}

static void test_not_go(void)
{
	struct go_tls_info gi;
	char why[200];
	char path[] = "/tmp/test_go_tls.XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, "#!/bin/sh\necho hi\n", 18) == 18);
	close(fd);
	CHECK_EQ_INT(go_tls_inspect(path, &gi, why, sizeof(why)), -ENOENT);
	unlink(path);
	CHECK(go_tls_inspect("/nonexistent/binary", &gi, why, sizeof(why)) == -ENOENT);
}

/* A real Go binary with crypto/tls, when given. */
static void test_go_binary(const char *path)
{
	struct go_tls_info gi;
	char why[200] = "";
	int err = go_tls_inspect(path, &gi, why, sizeof(why));
	int fd;

	CHECK_MSG(err == 0, "%s: %d %s", path, err, why);
	if (err)
		return;
	CHECK(gi.major == 1 && gi.minor >= 17);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	for (int k = GO_TLS_WRITE; k <= GO_TLS_READ; k++) {
		CHECK(gi.fn[k].found && gi.fn[k].n_rets > 0);
		for (int r = 0; r < gi.fn[k].n_rets; r++) {
			uint8_t b = 0;

			CHECK(pread(fd, &b, 1, gi.fn[k].ret_off[r]) == 1);
			CHECK_MSG(b == 0xc3, "%s RET %d at %#llx is %02x", go_tls_fn_names[k], r,
				  (unsigned long long)gi.fn[k].ret_off[r], b);
		}
	}
	close(fd);
	printf("%s: %s%s, Write %d RETs, Read %d RETs, itab %s\n", path, gi.version,
	       gi.stripped ? " (stripped)" : "", gi.fn[GO_TLS_WRITE].n_rets,
	       gi.fn[GO_TLS_READ].n_rets, gi.itab_known ? "found" : "unknown");
}

int main(int argc, char **argv)
{
	test_lengths();
	test_truncated();
	test_not_go();
	for (int i = 1; i < argc; i++) {
		if (access(argv[i], R_OK)) {
			printf("%s: not here, skipped\n", argv[i]);
			continue;
		}
		test_go_binary(argv[i]);
	}
	return check_summary("go_tls");
}

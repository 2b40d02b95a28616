// SPDX-License-Identifier: MIT
/*
 * bench/verifier_cost.c — how many instructions the kernel's verifier
 * walks to accept each of msgscope's BPF programs: the budget (1M per
 * program) that decides what the probes can afford, e.g. the long-copy
 * loop that takes on_sys_exit from ~550k to ~770k at a 1 MiB snaplen.
 *
 *   verifier_cost OBJECT [-p PROG[,PROG...]] [VAR=VALUE...]
 *
 * Loads the named programs of OBJECT (default: the four data paths'
 * on_sys_exit, on_sock_send, on_sock_recv, exit_read) with the verifier's
 * statistics on, after setting .rodata variables as msgscope would (e.g.
 * snaplen=65536 tls_at_exit=1; bool, u32 and u64 variables). Prints one
 * line per program: its name and "processed N insns ...", or the error.
 * Needs root. Nothing is attached.
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_SIZE (1 << 20)
#define DEFAULT_PROGS "on_sys_exit,on_sock_send,on_sock_recv,exit_read"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

/* "name=value" into the object's .rodata, by the variable's BTF offset. */
static int set_rodata(struct bpf_object *obj, const char *assign)
{
	const char *eq = strchr(assign, '=');
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	unsigned long long v;
	size_t size, nlen;
	char *data;
	int id;

	if (!eq || !map || !btf)
		return -EINVAL;
	nlen = (size_t)(eq - assign);
	v = strtoull(eq + 1, NULL, 0);
	data = (char *)bpf_map__initial_value(map, &size);
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!data || id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const char *name = btf__name_by_offset(btf, btf__type_by_id(btf, vs->type)->name_off);

		if (strlen(name) != nlen || strncmp(name, assign, nlen))
			continue;
		if (vs->offset + vs->size > size)
			return -ERANGE;
		switch (vs->size) {
		case 1: data[vs->offset] = (char)v; return 0;
		case 4: { unsigned int u = (unsigned int)v; memcpy(data + vs->offset, &u, 4); return 0; }
		case 8: memcpy(data + vs->offset, &v, 8); return 0;
		default: return -EINVAL;
		}
	}
	return -ENOENT;
}

/* Whether name is one of the comma-separated list's. */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

static void report(struct bpf_program *prog)
{
	size_t size;
	const char *log = bpf_program__log_buf(prog, &size);
	const char *line = log ? strstr(log, "processed ") : NULL;
	int len = line ? (int)strcspn(line, "\n") : 0;

	printf("%-20s %.*s\n", bpf_program__name(prog), len, line ? line : "no verifier statistics");
}

int main(int argc, char **argv)
{
	const char *progs = DEFAULT_PROGS;
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	int err = 1, n = 0;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: verifier_cost OBJECT [-p PROG[,PROG...]] [VAR=VALUE...]\n");
		return argc < 2 ? 2 : 0;
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "verifier_cost: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			progs = argv[++i];
		} else if (set_rodata(obj, argv[i])) {
			fprintf(stderr, "verifier_cost: %s: not a VAR=VALUE of %s's .rodata\n",
				argv[i], argv[1]);
			goto cleanup;
		}
	}
	bpf_object__for_each_program(prog, obj) {
		int want = listed(progs, bpf_program__name(prog));

		bpf_program__set_autoload(prog, want);
		if (!want)
			continue;
		n++;
		bpf_program__set_log_buf(prog, calloc(1, LOG_SIZE), LOG_SIZE);
		bpf_program__set_log_level(prog, 4); /* statistics only */
	}
	if (!n) {
		fprintf(stderr, "verifier_cost: no program of %s is named in %s\n", argv[1], progs);
		goto cleanup;
	}
	err = bpf_object__load(obj);
	bpf_object__for_each_program(prog, obj) {
		size_t size;

		if (!bpf_program__autoload(prog))
			continue;
		report(prog);
		free((void *)bpf_program__log_buf(prog, &size));
	}
	if (err)
		fprintf(stderr, "verifier_cost: load failed: %s\n", strerror(-err));
	err = err ? 1 : 0;
cleanup:
	bpf_object__close(obj);
	return err;
}

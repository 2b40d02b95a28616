/* vstat2 OBJ PROGS [var=value...]: verifier "processed N insns" per program,
 * with .rodata variables set first (u8/u32/u64 by size). */
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int quiet(enum libbpf_print_level l, const char *f, va_list a) { return 0; }
static void set_var(struct bpf_object *o, const char *name, unsigned long long v)
{
	struct btf *btf = bpf_object__btf(o);
	struct bpf_map *m = bpf_object__find_map_by_name(o, ".rodata");
	size_t sz; char *data = (char *)bpf_map__initial_value(m, &sz);
	int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_var_secinfo *vs = btf_var_secinfos(t);
	for (int i = 0; i < btf_vlen(t); i++, vs++) {
		const struct btf_type *vt = btf__type_by_id(btf, vs->type);
		if (strcmp(btf__name_by_offset(btf, vt->name_off), name)) continue;
		if (vs->size == 1) data[vs->offset] = v;
		else if (vs->size == 4) *(unsigned *)(data + vs->offset) = v;
		else *(unsigned long long *)(data + vs->offset) = v;
		return;
	}
	fprintf(stderr, "no var %s\n", name); exit(1);
}
int main(int argc, char **argv)
{
	struct bpf_object *o; struct bpf_program *p;
	const char *only = argv[2];
	libbpf_set_print(quiet);
	o = bpf_object__open_file(argv[1], NULL);
	if (!o) { perror("open"); return 1; }
	for (int i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '='); *eq = 0;
		set_var(o, argv[i], strtoull(eq + 1, NULL, 0));
	}
	bpf_object__for_each_program(p, o) {
		int want = strstr(only, bpf_program__name(p)) != NULL;
		bpf_program__set_autoload(p, want);
		if (want) {
			char *b = calloc(1, 1 << 20);
			bpf_program__set_log_buf(p, b, 1 << 20);
			bpf_program__set_log_level(p, 4);
		}
	}
	int err = bpf_object__load(o);
	bpf_object__for_each_program(p, o) {
		if (!bpf_program__autoload(p)) continue;
		size_t sz; const char *b = bpf_program__log_buf(p, &sz);
		const char *q = b ? strstr(b, "processed ") : NULL;
		printf("%-22s %.*s\n", bpf_program__name(p), q ? (int)(strchr(q, '\n') ? strchr(q, '\n') - q : 80) : 4, q ? q : "none");
	}
	printf("load: %d\n", err);
	return 0;
}

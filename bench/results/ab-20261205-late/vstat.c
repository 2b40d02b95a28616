#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int quiet(enum libbpf_print_level l, const char *f, va_list a) { return 0; }
int main(int argc, char **argv)
{
	struct bpf_object *o; struct bpf_program *p;
	const char *only = argc > 2 ? argv[2] : NULL;
	libbpf_set_print(quiet);
	o = bpf_object__open_file(argv[1], NULL);
	if (!o) { perror("open"); return 1; }
	bpf_object__for_each_program(p, o) {
		int want = !only || strstr(only, bpf_program__name(p)) != NULL;
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

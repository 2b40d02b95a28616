#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
/* loader OBJ PROG... : attach named programs, print READY, sleep until killed */
int main(int argc, char **argv) {
	struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
	struct bpf_program *p;
	if (!o) return 1;
	bpf_object__for_each_program(p, o) {
		int want = 0;
		for (int i = 2; i < argc; i++) if (!strcmp(argv[i], bpf_program__name(p))) want = 1;
		bpf_program__set_autoload(p, want);
	}
	if (bpf_object__load(o)) { fprintf(stderr, "load failed\n"); return 1; }
	bpf_object__for_each_program(p, o) {
		if (!bpf_program__autoload(p)) continue;
		if (!bpf_program__attach(p)) { fprintf(stderr, "attach %s failed\n", bpf_program__name(p)); return 1; }
	}
	printf("READY\n"); fflush(stdout);
	pause();
	return 0;
}

/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

bool proc_exists(uint32_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%u", pid);
	return pid > 0 && access(path, F_OK) == 0;
}

static bool read_ppid(const char *pid, uint32_t *ppid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	/* comm may hold spaces and parens: the state follows the LAST ')'. */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		ok = sscanf(p + 1, " %*c %u", ppid) == 1;
	fclose(f);
	return ok;
}

void proc_descendants(uint32_t root, uint32_t *out, size_t *n, size_t max)
{
	size_t start = *n;
	bool grew = true;

	/* Breadth by repetition: each pass adds the children of known pids. */
	while (grew && *n < max) {
		DIR *d = opendir("/proc");
		struct dirent *de;

		grew = false;
		if (!d)
			return;
		while ((de = readdir(d)) && *n < max) {
			uint32_t pid, ppid;
			bool known = false;

			if (!isdigit((unsigned char)de->d_name[0]) ||
			    !read_ppid(de->d_name, &ppid))
				continue;
			pid = strtoul(de->d_name, NULL, 10);
			if (ppid != root) {
				bool parent_known = false;

				for (size_t i = start; i < *n; i++)
					parent_known |= out[i] == ppid;
				if (!parent_known)
					continue;
			}
			for (size_t i = start; i < *n; i++)
				known |= out[i] == pid;
			if (!known && pid != root) {
				out[(*n)++] = pid;
				grew = true;
			}
		}
		closedir(d);
	}
}

int proc_spawn_paused(char *const argv[], pid_t *pid_out, int *release_fd)
{
	int gate[2];
	pid_t pid;
	char go;

	if (pipe2(gate, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(gate[0]);
		close(gate[1]);
		fprintf(stderr, "msgscope: cannot fork: %s\n", strerror(-err));
		return err;
	}
	if (pid == 0) {
		sigset_t none;

		/* msgscope blocks signals for its signalfd; exec keeps the
		 * mask, and the command must get Ctrl-C like any other. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(gate[1]);
		/* Die with msgscope rather than run on untraced. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (read(gate[0], &go, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "msgscope: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(gate[0]);
	*pid_out = pid;
	*release_fd = gate[1];
	return 0;
}

int proc_release(int release_fd)
{
	int ret = write(release_fd, "g", 1) == 1 ? 0 : -errno;

	close(release_fd);
	return ret;
}

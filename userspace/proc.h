/* SPDX-License-Identifier: MIT */
/* proc.h — processes: does it exist, who are its children, start one paused. */
#ifndef MSGSCOPE_PROC_H
#define MSGSCOPE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

bool proc_exists(uint32_t pid);

/* Append the descendants of pid (by /proc/N/stat ppid) to out[*n..max). */
void proc_descendants(uint32_t pid, uint32_t *out, size_t *n, size_t max);

/*
 * Fork a child that waits before exec'ing argv, so that its pid can be put
 * in the kernel filter first: nothing it does is missed. proc_release()
 * lets it go. Returns 0 or -errno (one line already printed).
 */
int proc_spawn_paused(char *const argv[], pid_t *pid, int *release_fd);
int proc_release(int release_fd);

#endif

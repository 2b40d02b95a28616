/* SPDX-License-Identifier: MIT */
/*
 * trace_count — tally a msgscope JSON Lines trace read from stdin, fast
 * enough to sit at the end of `msgscope trace -o -` without slowing it down.
 *
 * For every nats/http record it counts (type, pid, dir, op-or-kind,
 * subject-or-path); _INBOX.* subjects are folded into one key. A send
 * marked peer_read (--pair-local) stands for its reader's recv as well, so
 * it is also counted with dir "peer": the sender's pid, the reader's
 * sight (bench/report.py adds it to the reader's count). It keeps the
 * last "drops" line and the "end" line as they are. Output, on EOF: one JSON
 * object
 *   {"lines":N,"records":N,"counts":{"nats|PID|DIR|OP|SUBJECT":N,...},
 *    "drops":{...}|null,"end":{...}|null}
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXKEYS 4096
#define KEYLEN 160

struct entry {
	char key[KEYLEN];
	unsigned long long n;
};

static struct entry tab[MAXKEYS];
static int ntab;
static unsigned long long overflow;

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void bump(const char *key)
{
	unsigned h = hash(key) % MAXKEYS;

	for (int i = 0; i < MAXKEYS; i++, h = (h + 1) % MAXKEYS) {
		if (!tab[h].key[0]) {
			if (ntab >= MAXKEYS - 1) {
				overflow++;
				return;
			}
			snprintf(tab[h].key, KEYLEN, "%s", key);
			ntab++;
		}
		if (!strcmp(tab[h].key, key)) {
			tab[h].n++;
			return;
		}
	}
	overflow++;
}

/* Copy the string value of "name":"..." (first occurrence) into out. */
static void str_field(const char *line, const char *name, char *out, size_t len)
{
	const char *p = strstr(line, name), *e;
	size_t n;

	out[0] = 0;
	if (!p)
		return;
	p += strlen(name);
	e = strchr(p, '"');
	if (!e)
		return;
	n = (size_t)(e - p);
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

int main(void)
{
	char *line = NULL, *drops = NULL, *end = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long long lines = 0, records = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		char type[16], dir[8], op[16], subj[96], key[KEYLEN];
		const char *pp;
		long pid = -1;

		lines++;
		if (line[n - 1] == '\n')
			line[--n] = 0;
		str_field(line, "\"type\":\"", type, sizeof(type));
		if (!strcmp(type, "drops")) {
			free(drops);
			drops = strdup(line);
			continue;
		}
		if (!strcmp(type, "end")) {
			free(end);
			end = strdup(line);
			continue;
		}
		if (strcmp(type, "nats") && strcmp(type, "http"))
			continue;
		records++;
		pp = strstr(line, "\"pid\":");
		if (pp)
			pid = strtol(pp + 6, NULL, 10);
		str_field(line, "\"dir\":\"", dir, sizeof(dir));
		if (type[0] == 'n') {
			str_field(line, "\"op\":\"", op, sizeof(op));
			str_field(line, "\"subject\":\"", subj, sizeof(subj));
			if (!strncmp(subj, "_INBOX.", 7))
				strcpy(subj, "_INBOX.*");
		} else {
			str_field(line, "\"kind\":\"", op, sizeof(op));
			str_field(line, "\"path\":\"", subj, sizeof(subj));
		}
		snprintf(key, sizeof(key), "%s|%ld|%s|%s|%s", type, pid, dir, op, subj);
		bump(key);
		/* (a quote inside a string value is escaped: this is the field) */
		if (strstr(line, "\"peer_read\":true")) {
			snprintf(key, sizeof(key), "%s|%ld|peer|%s|%s", type, pid, op, subj);
			bump(key);
		}
	}
	printf("{\"lines\":%llu,\"records\":%llu,\"key_overflow\":%llu,\"counts\":{",
	       lines, records, overflow);
	for (int i = 0, first = 1; i < MAXKEYS; i++) {
		if (!tab[i].key[0])
			continue;
		/* Keys hold no quotes or backslashes: they were cut at '"'. */
		printf("%s\"%s\":%llu", first ? "" : ",", tab[i].key, tab[i].n);
		first = 0;
	}
	printf("},\"drops\":%s,\"end\":%s}\n", drops ? drops : "null", end ? end : "null");
	free(line);
	free(drops);
	free(end);
	return 0;
}

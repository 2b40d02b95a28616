/* SPDX-License-Identifier: MIT */
/* main.c — msgscope's entry point: pick the subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "top", cmd_top, "watch flows and host metrics live (the default)" },
	{ "trace", cmd_trace, "capture NATS/HTTP messages to JSON Lines" },
	{ "replay", cmd_replay, "show a recorded trace in the top view" },
	{ "flows", cmd_flows, "print the flow table of a recorded trace" },
	{ "check", cmd_check, "report what this kernel offers for capture" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: msgscope COMMAND [OPTIONS]\n\n"
		   "See the NATS and HTTP messages the processes on this host exchange,\n"
		   "captured with eBPF, without touching them.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'msgscope COMMAND --help' tells more. Version %s.\n", MSGSCOPE_VERSION);
}

int main(int argc, char **argv)
{
	/* Plain `msgscope` is the live view, as plain `top` is. */
	if (argc < 2)
		return cmd_top(argc, argv);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("msgscope %s\n", MSGSCOPE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "msgscope: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

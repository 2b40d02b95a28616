/* SPDX-License-Identifier: MIT */
/* commands.h — the subcommands; argv[0] is the subcommand's name. Each
 * returns the process exit code: 0 ok, 1 runtime error, 2 usage error. */
#ifndef MSGSCOPE_COMMANDS_H
#define MSGSCOPE_COMMANDS_H

int cmd_trace(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_replay(int argc, char **argv);

#endif

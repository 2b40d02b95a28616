#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char LICENSE[] SEC("license") = "GPL";
__u64 cnt = 0;
SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret) { return 0; }
SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send, struct sock *sk, int ret, int flags) { return 0; }
SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_recv, struct sock *sk, int ret, int flags) { return 0; }
SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_mmap")
int exit_mmap(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_mmap")
int enter_mmap(void *ctx) { return 0; }
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state, struct sock *sk, int o, int n) { return 0; }

/* Runs a command under a seccomp filter, as a container runtime would.
 *
 *   seccomp_exec vm     COMMAND ARGS...  process_vm_readv fails with EPERM (what Docker's
 *                                        default profile does without CAP_SYS_PTRACE)
 *   seccomp_exec vm+mem COMMAND ARGS...  so does pread64 at offsets of 4 GiB and more: reads of
 *                                        /proc/PID/mem at user-space addresses (every mapping of
 *                                        a PIE process is above 4 GiB), while reads of ordinary
 *                                        files still work
 *
 * Before running the command it checks that the filter refuses what it should; if not it
 * exits 99. Used by tests/permissions.rs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define ARG3_HIGH (offsetof(struct seccomp_data, args[3]) + 4)

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "vm") != 0 && strcmp(argv[1], "vm+mem") != 0)) {
        fprintf(stderr, "usage: %s vm|vm+mem COMMAND [ARGS...]\n", argv[0]);
        return 2;
    }
    int mem = strcmp(argv[1], "vm+mem") == 0;
    struct sock_filter filter[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        /* 2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 0, 1),
        /* 5 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, mem ? __NR_pread64 : 0xffffffffu, 0, 3),
        /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG3_HIGH),
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
        /* 9 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        /* 10 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        perror("seccomp_exec: installing the filter");
        return 98;
    }
    /* The filter must refuse what it claims to. */
    char src[8] = "secret", dst[8];
    struct iovec local = {dst, sizeof dst}, remote = {src, sizeof src};
    if (syscall(__NR_process_vm_readv, getpid(), &local, 1, &remote, 1, 0) != -1 || errno != EPERM) {
        fprintf(stderr, "seccomp_exec: process_vm_readv was not refused\n");
        return 99;
    }
    if (mem) {
        int fd = open("/proc/self/mem", O_RDONLY);
        if (fd < 0 || pread(fd, dst, sizeof dst, (off_t)(size_t)src) != -1 || errno != EPERM) {
            fprintf(stderr, "seccomp_exec: reading /proc/self/mem was not refused\n");
            return 99;
        }
        close(fd);
    }
    execvp(argv[2], argv + 2);
    perror("seccomp_exec: exec");
    return 127;
}

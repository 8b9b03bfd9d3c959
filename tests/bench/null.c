/* The null profiler: what a sampling profiler minimally does, as the floor of pyflame's cost.
 *
 * Usage: null PID INTERVAL_NS SECONDS   (SECONDS < 0: until the target exits)
 *
 * On pyflame's schedule (absolute wake-ups every INTERVAL_NS on CLOCK_MONOTONIC, with
 * clock_nanosleep(TIMER_ABSTIME)) it reads 256 bytes of the target with one process_vm_readv
 * per wake-up: from the start of its [heap], or the top of its [stack] if it has no heap. It
 * stops after SECONDS or once the target is gone (the read fails with ESRCH), and prints
 * `wakeups N failed M` on stdout, so that its CPU time per wake-up can be computed from its
 * rusage. Built by bench.py with gcc. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#define READ_SIZE 256

/* The address to read: the start of the target's [heap], else the last READ_SIZE bytes of its
 * [stack]; 0 if neither was found. */
static uintptr_t where(pid_t pid) {
    char path[64], line[4096];
    uintptr_t stack = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx", &start, &end) != 2)
            continue;
        if (strstr(line, "[heap]")) {
            fclose(f);
            return start;
        }
        if (strstr(line, "[stack]"))
            stack = end - READ_SIZE;
    }
    fclose(f);
    return stack;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: null PID INTERVAL_NS SECONDS\n");
        return 2;
    }
    pid_t pid = (pid_t)atoi(argv[1]);
    long long interval = atoll(argv[2]);
    double seconds = atof(argv[3]);
    uintptr_t addr = where(pid);
    if (!addr || interval <= 0) {
        fprintf(stderr, "null: no [heap] or [stack] in /proc/%d/maps, or a bad interval\n", (int)pid);
        return 1;
    }
    char buf[READ_SIZE];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)addr, sizeof buf};
    struct timespec start, next;
    clock_gettime(CLOCK_MONOTONIC, &start);
    next = start;
    long long wakeups = 0, failed = 0;
    long long limit = seconds < 0 ? -1 : (long long)(seconds * 1e9 / interval);
    while (limit < 0 || wakeups < limit) {
        next.tv_nsec += interval;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        wakeups++;
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n < 0 && errno == ESRCH)
            break;
        if (n != (ssize_t)sizeof buf)
            failed++;
    }
    printf("wakeups %lld failed %lld\n", wakeups, failed);
    return 0;
}

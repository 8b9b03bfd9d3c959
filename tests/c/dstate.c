/* Puts the calling thread in uninterruptible sleep (state D) for a while, for pyflame's
 * conduct tests (tests/conduct/dstate.rs, tests/scripts/dsleep.py), which load it with ctypes.
 *
 * vfork_sleep(ms): vfork(); the child sleeps `ms` milliseconds with nanosleep and _exits. Until
 * it does, the calling thread waits in the kernel for the vfork to complete, in state D (the
 * other threads of the process run on). Returns the child's pid (reaped), or -1 on error.
 * The child only makes raw system calls: it shares the parent's memory and stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int vfork_sleep(int ms)
{
    pid_t child = vfork();
    if (child == 0) {
        struct timespec left = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (syscall(SYS_nanosleep, &left, &left) != 0) {
        }
        syscall(SYS_exit_group, 0);
    }
    if (child < 0)
        return -1;
    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return child;
}

/* The floor for container start-up: only what every runtime must do for a
 * container of the benchmark bundle — clone into new pid, mount, uts, ipc and
 * network namespaces, mount /proc, pivot_root into the rootfs, exec.  No
 * config parsing, no state, no cgroups: nothing can be faster than this.
 *
 * usage: floor ROOTFS PROGRAM [ARGS...] */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int
fail(const char *what)
{
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  return 127;
}

static int
child(char *rootfs, char **argv)
{
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return fail("making / private");
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return fail("binding the rootfs");
  if (chdir(rootfs) < 0)
    return fail("chdir to the rootfs");
  if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    return fail("mounting proc");
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return fail("pivot_root");
  if (umount2(".", MNT_DETACH) < 0)
    return fail("detaching the old root");
  execv(argv[0], argv);
  return fail("exec");
}

int
main(int argc, char **argv)
{
  pid_t pid;
  int status;

  if (argc < 3)
    {
      fprintf(stderr, "usage: floor ROOTFS PROGRAM [ARGS...]\n");
      return 2;
    }
  if (unshare(CLONE_NEWPID) < 0)
    return fail("unshare");
  pid = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD, NULL,
                       NULL, NULL, NULL);
  if (pid < 0)
    return fail("clone");
  if (pid == 0)
    _exit(child(argv[1], argv + 2));
  if (waitpid(pid, &status, 0) < 0)
    return fail("waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

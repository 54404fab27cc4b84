/* What a compiled seccomp filter does, syscall by syscall, on each of the
 * three x86 architectures docker's profile names: x86_64, i386 (int $0x80)
 * and x32 (x86_64 numbers with bit 30 set).  runtime/seccomp.c compiles a
 * profile of 8 rules or more as a binary tree and a smaller one as a list;
 * both forms are loaded here, in a child with no_new_privs, and must give
 * every syscall the action its rules (or the default) name. */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci-config.h"
#include "runtime/seccomp.h"
#include "util.h"
#include "tap.h"

/* The default action's errno in these tests: no syscall returns it by
 * itself, so a call that gets it was refused by the default action. */
#define DEFAULT_ERRNO 4000
#define X32 0x40000000L

/* i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define I386_GETPID 20
#define I386_NFSSERVCTL 169
#define I386_UNSHARE 310

struct probe
{
  const char *what;
  long (*call)(long nr);
  long nr;
  int want_errno; /* 0: allowed (getpid's answer, or ENOSYS for x32) */
};

static long
call64(long nr)
{
  long r = syscall(nr, 0L, 0L, 0L);
  return r < 0 ? -errno : r;
}

/* The 32-bit entry from a 64-bit process: the kernel (and seccomp) see an
 * i386 syscall. */
static long
call32(long nr)
{
  long r;

  __asm__ volatile("int $0x80"
                   : "=a"(r)
                   : "a"(nr), "b"(0L), "c"(0L), "d"(0L)
                   : "memory", "r8", "r9", "r10", "r11");
  return (int)r;
}

/* getpid's answer when allowed; an allowed x32 call may still fail with
 * ENOSYS where the kernel runs no x32 code, after seccomp let it through. */
static bool
allowed(long r, pid_t pid)
{
  return r == pid || r == -ENOSYS;
}

static const struct probe probes[] = {
  { "x86_64 getpid (allowed)", call64, SYS_getpid, 0 },
  { "x86_64 unshare (its rule: EPERM)", call64, SYS_unshare, EPERM },
  { "x86_64 nfsservctl (no rule: the default)", call64, 180, DEFAULT_ERRNO },
  { "x86_64 syscall 1000 (none: the default)", call64, 1000, DEFAULT_ERRNO },
  { "i386 getpid (allowed)", call32, I386_GETPID, 0 },
  { "i386 unshare (its rule: EPERM)", call32, I386_UNSHARE, EPERM },
  { "i386 nfsservctl (no rule: the default)", call32, I386_NFSSERVCTL, DEFAULT_ERRNO },
  { "x32 getpid (allowed)", call64, X32 | SYS_getpid, 0 },
  { "x32 unshare (its rule: EPERM)", call64, X32 | SYS_unshare, EPERM },
  { "x32 nfsservctl (no rule: the default)", call64, X32 | 180, DEFAULT_ERRNO },
};
#define N_PROBES (sizeof probes / sizeof probes[0])

/* Whether int $0x80 works here (a kernel without ia32 emulation kills the
 * caller): tried in a child. */
static bool
has_ia32(void)
{
  pid_t pid = fork();
  int status;

  if (pid == 0)
    _exit(call32(I386_GETPID) == getpid() ? 0 : 1);
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Load `f` in a child and run every probe there; results[i]: '1' when
 * probe i got what it wants, '0' when not, '-' when not run.  The child
 * reports through a pipe: write and exit_group are allowed by both
 * profiles. */
static bool
run_probes(const struct rt_seccomp_filter *f, bool ia32, char results[N_PROBES + 1])
{
  int fds[2], status;
  pid_t pid;

  memset(results, '-', N_PROBES);
  results[N_PROBES] = '\0';
  if (pipe(fds) < 0)
    return false;
  pid = fork();
  if (pid == 0)
    {
      struct oci_error *err = NULL;
      char out[N_PROBES];
      pid_t self = getpid();
      int listener;

      close(fds[0]);
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || rt_seccomp_load(f, &listener, &err) < 0)
        _exit(2);
      for (size_t i = 0; i < N_PROBES; i++)
        {
          long r;
          if (probes[i].call == call32 && !ia32)
            {
              out[i] = '-';
              continue;
            }
          r = probes[i].call(probes[i].nr);
          out[i] = (probes[i].want_errno ? r == -probes[i].want_errno : allowed(r, self)) ? '1' : '0';
        }
      _exit(write(fds[1], out, sizeof out) == (ssize_t)sizeof out ? 0 : 3);
    }
  close(fds[1]);
  if (pid < 0 || read(fds[0], results, N_PROBES) != (ssize_t)N_PROBES)
    results[0] = '\0';
  close(fds[0]);
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0
         && results[0] != '\0';
}

static void
check_profile(const char *name, struct oci_seccomp *sc, bool ia32)
{
  struct rt_seccomp_filter f;
  struct oci_error *err = NULL;
  char results[N_PROBES + 1];

  sc->has_default_errno_ret = true;
  sc->default_errno_ret = DEFAULT_ERRNO;
  if (rt_seccomp_compile(sc, NULL, &f, &err) < 0)
    {
      ok(false, "%s: compiles: %s", name, err->msg);
      oci_error_free(err);
      return;
    }
  if (!run_probes(&f, ia32, results))
    {
      ok(false, "%s: loads, and the child reports", name);
      memset(results, '0', N_PROBES);
    }
  else
    ok(true, "%s: loads, and the child reports (%s)", name, results);
  for (size_t i = 0; i < N_PROBES; i++)
    {
      if (results[i] == '-')
        tap_skip(1, "no ia32 emulation in this kernel");
      else
        ok(results[i] == '1', "%s: %s", name, probes[i].what);
    }
  rt_seccomp_filter_clear(&f);
}

static struct oci_config *
parse(const char *name, const char *text)
{
  struct oci_config *cfg = NULL;
  struct oci_error *err = NULL;

  if (oci_config_parse(name, text, strlen(text), &cfg, &err) < 0)
    {
      printf("# %s: %s\n", name, err->msg);
      oci_error_free(err);
    }
  return cfg;
}

/* Below the binary tree's threshold: libseccomp's list of comparisons. */
static const char small_profile[]
    = "{\"ociVersion\": \"1.1.0\", \"linux\": {\"seccomp\": {"
      "\"defaultAction\": \"SCMP_ACT_ERRNO\","
      "\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],"
      "\"syscalls\": ["
      "{\"names\": [\"getpid\", \"write\", \"exit_group\", \"exit\"], \"action\": \"SCMP_ACT_ALLOW\"},"
      "{\"names\": [\"unshare\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}]}}}";

int
main(void)
{
  const char *top = getenv("TOP_SRCDIR");
  cleanup_free char *path = xasprintf("%s/bundles/seccomp-default.json", top ? top : "..");
  struct oci_config *docker = NULL, *small = parse("small profile", small_profile);
  struct oci_error *err = NULL;
  bool ia32 = has_ia32();

  if (oci_config_parse_file(path, &docker, &err) < 0)
    {
      printf("# %s: %s\n", path, err->msg);
      oci_error_free(err);
    }
  ok(docker && docker->linux_ && docker->linux_->seccomp, "docker's profile parses");
  ok(small && small->linux_ && small->linux_->seccomp, "the small profile parses");
  if (docker && docker->linux_ && docker->linux_->seccomp)
    check_profile("docker's profile", docker->linux_->seccomp, ia32);
#ifdef __SANITIZE_ADDRESS__
  /* AddressSanitizer's runtime makes system calls of its own in the child
   * (mmap, sigaltstack ...) that so small a profile refuses. */
  tap_skip(1 + (int)N_PROBES, "AddressSanitizer's own syscalls are refused by a 5-rule profile");
#else
  if (small && small->linux_ && small->linux_->seccomp)
    check_profile("a 5-rule profile", small->linux_->seccomp, ia32);
#endif
  oci_config_free(docker);
  oci_config_free(small);
  return tap_done();
}

/* The floor for container start-up: only what every runtime must do for a
 * container of the benchmark bundle — clone into new pid, mount, uts, ipc and
 * network namespaces, mount /proc, pivot_root into the rootfs, exec.  No
 * config parsing, no state, no cgroups: nothing can be faster than this.
 *
 * With -w CGROUP it also does the kernel work the plain bundle's config asks
 * for, as directly as it can be done, still with no config, state or
 * protocol between processes: the directory CGROUP in every cgroup
 * hierarchy mounted under /sys/fs/cgroup (cpuset's cpus and mems copied
 * down, the default device rules on v1), joined by the child, removed after
 * it; lo up, the hostname, the mounts of `ocirt spec` (/dev with devpts,
 * shm and mqueue and the device nodes, a read-only /sys, /sys/fs/cgroup as
 * a runtime gives it without a cgroup namespace), the root read-only.  What
 * a runtime spends beyond that is its own.
 *
 * With -r SPEC as well, the kernel work of the realistic config on top: the
 * limits set, the masked and read-only paths mounted, and a seccomp program
 * loaded right before exec (with no_new_privs, as ocirt and runc do).  SPEC
 * is a file of lines "memory BYTES", "pids N", "masked PATH", "readonly
 * PATH" and "seccomp BPF_FILE"; `floor -c PROFILE BPF_FILE` compiles the
 * program beforehand, as a runtime's cache holds it, from lines "default
 * ERRNO", "arch NAME" and "ACTION NAME..." (ACTION "allow" or an errno
 * number), with libseccomp as ocirt compiles it (a binary tree from 8
 * rules on).  startup.py writes both files from the realistic config.
 *
 * usage: floor [-w CGROUP [-r SPEC]] ROOTFS PROGRAM [ARGS...]
 *        floor -c PROFILE BPF_FILE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <seccomp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_HIERARCHIES 32

struct hierarchy
{
  char mount[256]; /* where the host mounts it, e.g. /sys/fs/cgroup/cpu */
  char dir[512];   /* mount + "/" + CGROUP */
  bool v2;
  bool created;
};

#define MAX_PATHS 64

struct work
{
  const char *cgroup; /* NULL: the bare floor */
  struct hierarchy h[MAX_HIERARCHIES];
  int n;
  int into_fd; /* the cgroup2 directory, for CLONE_INTO_CGROUP */
  /* -r: the realistic config's part */
  char memory[32], pids[32];
  char *masked[MAX_PATHS], *readonly[MAX_PATHS];
  int n_masked, n_readonly;
  struct sock_fprog filter;
};

static int
fail(const char *what)
{
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  return 127;
}

static int
write_file(const char *path, const char *text)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t r;

  if (fd < 0)
    return -1;
  r = write(fd, text, strlen(text));
  close(fd);
  return r < 0 ? -1 : 0;
}

static int
copy_file(const char *from, const char *to)
{
  char buf[256];
  int fd = open(from, O_RDONLY | O_CLOEXEC);
  ssize_t r;

  if (fd < 0)
    return -1;
  r = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (r < 0)
    return -1;
  buf[r] = '\0';
  return write_file(to, buf);
}

/* ---- the realistic config's files ---- */

static int
read_bpf(const char *path, struct sock_fprog *prog)
{
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0 || st.st_size % sizeof(struct sock_filter))
    return -1;
  prog->filter = malloc((size_t)st.st_size);
  prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
  if (prog->filter == NULL || read(fd, prog->filter, (size_t)st.st_size) != st.st_size)
    return -1;
  close(fd);
  return 0;
}

static int
read_spec(struct work *w, const char *path)
{
  char line[4096], arg[4096];
  FILE *f = fopen(path, "re");

  if (f == NULL)
    return fail(path);
  while (fgets(line, sizeof line, f))
    {
      if (sscanf(line, "memory %31s", w->memory) == 1 || sscanf(line, "pids %31s", w->pids) == 1)
        continue;
      if (sscanf(line, "masked %4095s", arg) == 1 && w->n_masked < MAX_PATHS)
        w->masked[w->n_masked++] = strdup(arg);
      else if (sscanf(line, "readonly %4095s", arg) == 1 && w->n_readonly < MAX_PATHS)
        w->readonly[w->n_readonly++] = strdup(arg);
      else if (sscanf(line, "seccomp %4095s", arg) == 1 && read_bpf(arg, &w->filter) < 0)
        return fail(arg);
    }
  fclose(f);
  return 0;
}

/* Names libseccomp does not know are left out, as runtimes do. */
static int
compile_profile(const char *profile, const char *out)
{
  char line[16384];
  FILE *f = fopen(profile, "re");
  scmp_filter_ctx ctx = NULL;
  int rules = 0, def = 0, fd, r;

  if (f == NULL)
    return fail(profile);
  while (fgets(line, sizeof line, f))
    {
      char *save = NULL, *word = strtok_r(line, " \n", &save);
      int errno_ret;

      if (word == NULL)
        continue;
      if (strcmp(word, "default") == 0)
        {
          def = atoi(strtok_r(NULL, " \n", &save));
          ctx = seccomp_init(SCMP_ACT_ERRNO(def));
          if (ctx == NULL || seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) < 0)
            return fail("seccomp_init");
          continue;
        }
      if (ctx == NULL)
        return fail("a profile's first line is \"default ERRNO\"");
      if (strcmp(word, "arch") == 0)
        {
          char *name = strtok_r(NULL, " \n", &save);
          if (seccomp_arch_add(ctx, seccomp_arch_resolve_name(name)) < 0)
            return fail(name);
          continue;
        }
      errno_ret = strcmp(word, "allow") == 0 ? -1 : atoi(word);
      if (errno_ret == def)
        continue; /* the default action: libseccomp takes no such rule */
      for (char *name; (name = strtok_r(NULL, " \n", &save)) != NULL;)
        {
          int nr = seccomp_syscall_resolve_name(name);
          if (nr == __NR_SCMP_ERROR)
            continue;
          if ((r = seccomp_rule_add(ctx, errno_ret < 0 ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(errno_ret), nr, 0)) < 0)
            {
              errno = -r;
              return fail(name);
            }
          rules++;
        }
    }
  fclose(f);
  if (ctx == NULL)
    return fail(profile);
  if (rules >= 8)
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(out);
  r = seccomp_export_bpf(ctx, fd);
  close(fd);
  seccomp_release(ctx);
  return r < 0 ? fail("seccomp_export_bpf") : 0;
}

/* ---- cgroups (parent) ---- */

static int
find_hierarchies(struct work *w)
{
  char line[4096];
  FILE *f = fopen("/proc/self/mountinfo", "re");

  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) && w->n < MAX_HIERARCHIES)
    {
      char mnt[256], *sep = strstr(line, " - ");
      char fstype[32];

      if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 || sscanf(sep + 3, "%31s", fstype) != 1)
        continue;
      if (strncmp(mnt, "/sys/fs/cgroup", 14) != 0 || (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2")))
        continue;
      struct hierarchy *h = &w->h[w->n++];
      snprintf(h->mount, sizeof h->mount, "%s", mnt);
      snprintf(h->dir, sizeof h->dir, "%s/%s", mnt, w->cgroup);
      h->v2 = strcmp(fstype, "cgroup2") == 0;
    }
  fclose(f);
  return 0;
}

static const char *const device_rules[] = {
  "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm",
  "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
};

/* DIR, and any parent of it missing below the hierarchy's root; a v1
 * cpuset directory gets its parent's cpus and mems, or no task may join. */
static int
make_dir(const struct hierarchy *h, char *dir)
{
  char *slash = strrchr(dir, '/');
  char a[600], b[600];

  if (mkdir(dir, 0755) == 0)
    ;
  else if (errno == ENOENT && slash && slash > dir + strlen(h->mount))
    {
      *slash = '\0';
      int r = make_dir(h, dir);
      *slash = '/';
      if (r < 0 || mkdir(dir, 0755) < 0)
        return -1;
    }
  else
    return -1;
  if (strstr(h->mount, "cpuset") && !h->v2)
    for (int i = 0; i < 2; i++)
      {
        const char *file = i ? "cpuset.mems" : "cpuset.cpus";
        snprintf(a, sizeof a, "%.*s/%s", (int)(strrchr(dir, '/') - dir), dir, file);
        snprintf(b, sizeof b, "%s/%s", dir, file);
        if (copy_file(a, b) < 0)
          return -1;
      }
  return 0;
}

static int
make_cgroups(struct work *w)
{
  char a[600], b[600];

  for (int i = 0; i < w->n; i++)
    {
      struct hierarchy *h = &w->h[i];

      if (make_dir(h, h->dir) < 0)
        return fail(h->dir);
      h->created = true;
      if (h->v2 && (w->into_fd = open(h->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return fail(h->dir);
      if (strstr(h->mount, "devices") && !h->v2)
        {
          snprintf(a, sizeof a, "%s/devices.deny", h->dir);
          snprintf(b, sizeof b, "%s/devices.allow", h->dir);
          if (write_file(a, "a") < 0)
            return fail(a);
          for (size_t r = 0; r < sizeof device_rules / sizeof *device_rules; r++)
            if (write_file(b, device_rules[r]) < 0)
              return fail(b);
        }
      if (w->memory[0] && (h->v2 || strstr(h->mount, "memory")))
        {
          snprintf(a, sizeof a, "%s/%s", h->dir, h->v2 ? "memory.max" : "memory.limit_in_bytes");
          if ((!h->v2 || access(a, F_OK) == 0) && write_file(a, w->memory) < 0)
            return fail(a);
        }
      if (w->pids[0] && (h->v2 || strstr(h->mount, "pids")))
        {
          snprintf(a, sizeof a, "%s/pids.max", h->dir);
          if ((!h->v2 || access(a, F_OK) == 0) && write_file(a, w->pids) < 0)
            return fail(a);
        }
    }
  return 0;
}

static void
remove_cgroups(struct work *w)
{
  for (int i = w->n - 1; i >= 0; i--)
    if (w->h[i].created)
      (void)rmdir(w->h[i].dir);
}

/* ---- the container (child) ---- */

static int
join_cgroups(const struct work *w)
{
  char path[600];

  for (int i = 0; i < w->n; i++)
    {
      if (w->h[i].v2)
        continue; /* born there */
      snprintf(path, sizeof path, "%s/tasks", w->h[i].dir);
      if (write_file(path, "0") < 0)
        return fail(path);
    }
  return 0;
}

static int
loopback_up(void)
{
  struct ifreq ifr = { .ifr_name = "lo" };
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int r;

  if (fd < 0)
    return fail("socket");
  r = ioctl(fd, SIOCGIFFLAGS, &ifr);
  ifr.ifr_flags |= IFF_UP;
  if (r == 0)
    r = ioctl(fd, SIOCSIFFLAGS, &ifr);
  close(fd);
  return r < 0 ? fail("bringing lo up") : 0;
}

static int
mount_at(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
  if (mkdir(dst, 0755) < 0 && errno != EEXIST)
    return fail(dst);
  return mount(src, dst, type, flags, data) < 0 ? fail(dst) : 0;
}

/* /sys/fs/cgroup as a runtime without a cgroup namespace gives it: the
 * container's own directory of each hierarchy, read-only. */
static int
mount_cgroups(const struct work *w)
{
  const unsigned long ro = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  char dst[600];
  bool only_v2 = w->n == 1 && w->h[0].v2;

  if (only_v2)
    return mount_at("cgroup", "sys/fs/cgroup", "cgroup2", ro | MS_RDONLY, NULL);
  if (mount_at("tmpfs", "sys/fs/cgroup", "tmpfs", ro, "mode=755") < 0)
    return 127;
  for (int i = 0; i < w->n; i++)
    {
      snprintf(dst, sizeof dst, "sys/fs/cgroup/%s", w->h[i].mount + strlen("/sys/fs/cgroup/"));
      if (mount_at(w->h[i].dir, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return 127;
      if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | ro, NULL) < 0)
        return fail(dst);
    }
  return mount(NULL, "sys/fs/cgroup", NULL, MS_REMOUNT | MS_RDONLY | ro, "mode=755") < 0 ? fail("sys/fs/cgroup")
                                                                                       : 0;
}

static int
make_dev(void)
{
  static const struct
  {
    const char *name;
    unsigned major, minor;
  } nodes[] = { { "dev/null", 1, 3 },    { "dev/zero", 1, 5 }, { "dev/full", 1, 7 },
                { "dev/random", 1, 8 }, { "dev/urandom", 1, 9 }, { "dev/tty", 5, 0 } };
  static const char *const links[][2] = { { "/proc/self/fd", "dev/fd" },   { "/proc/self/fd/0", "dev/stdin" },
                                          { "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
                                          { "pts/ptmx", "dev/ptmx" } };
  const unsigned long dev = MS_NOSUID | MS_NOEXEC;

  if (mount_at("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0
      || mount_at("devpts", "dev/pts", "devpts", dev, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0
      || mount_at("shm", "dev/shm", "tmpfs", dev | MS_NODEV, "mode=1777,size=65536k") < 0
      || mount_at("mqueue", "dev/mqueue", "mqueue", dev | MS_NODEV, NULL) < 0)
    return 127;
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++)
    if (mknod(nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
      return fail(nodes[i].name);
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    if (symlink(links[i][0], links[i][1]) < 0)
      return fail(links[i][1]);
  return 0;
}

/* maskedPaths: a directory under a read-only tmpfs, anything else under
 * /dev/null; readonlyPaths: bound onto themselves read-only.  Missing paths
 * are skipped. */
static int
mask_paths(const struct work *w)
{
  struct stat st;

  for (int i = 0; i < w->n_masked; i++)
    {
      if (stat(w->masked[i], &st) < 0)
        continue;
      if (S_ISDIR(st.st_mode) ? mount("tmpfs", w->masked[i], "tmpfs", MS_RDONLY, NULL) < 0
                              : mount("/dev/null", w->masked[i], NULL, MS_BIND, NULL) < 0)
        return fail(w->masked[i]);
    }
  for (int i = 0; i < w->n_readonly; i++)
    {
      if (stat(w->readonly[i], &st) < 0)
        continue;
      if (mount(w->readonly[i], w->readonly[i], NULL, MS_BIND | MS_REC, NULL) < 0
          || mount(NULL, w->readonly[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        return fail(w->readonly[i]);
    }
  return 0;
}

static int
child(const struct work *w, char *rootfs, char **argv)
{
  int r;

  if (w->cgroup && (join_cgroups(w) || loopback_up() || sethostname("floor", 5) < 0))
    return 127;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return fail("making / private");
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return fail("binding the rootfs");
  if (chdir(rootfs) < 0)
    return fail("chdir to the rootfs");
  if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    return fail("mounting proc");
  if (w->cgroup)
    {
      if ((r = make_dev()) != 0)
        return r;
      if (mount("sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
        return fail("mounting sysfs");
      if ((r = mount_cgroups(w)) != 0)
        return r;
    }
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return fail("pivot_root");
  if (umount2(".", MNT_DETACH) < 0)
    return fail("detaching the old root");
  if (w->cgroup && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
    return fail("remounting / read-only");
  if ((r = mask_paths(w)) != 0)
    return r;
  if (w->filter.filter
      && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
          || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &w->filter) < 0))
    return fail("loading the seccomp program");
  execv(argv[0], argv);
  return fail("exec");
}

int
main(int argc, char **argv)
{
  struct work w = { .into_fd = -1 };
  struct clone_args ca = { .flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET,
                           .exit_signal = SIGCHLD };
  pid_t pid;
  int status, r = 127;

  if (argc == 4 && strcmp(argv[1], "-c") == 0)
    return compile_profile(argv[2], argv[3]);
  if (argc > 2 && strcmp(argv[1], "-w") == 0)
    {
      w.cgroup = argv[2];
      argv += 2;
      argc -= 2;
      if (argc > 2 && strcmp(argv[1], "-r") == 0)
        {
          if (read_spec(&w, argv[2]) != 0)
            return 127;
          argv += 2;
          argc -= 2;
        }
    }
  if (argc < 3)
    {
      fprintf(stderr, "usage: floor [-w CGROUP [-r SPEC]] ROOTFS PROGRAM [ARGS...]\n"
                      "       floor -c PROFILE BPF_FILE\n");
      return 2;
    }
  if (w.cgroup && (find_hierarchies(&w) < 0 || make_cgroups(&w) != 0))
    goto out;
  if (unshare(CLONE_NEWPID) < 0)
    {
      r = fail("unshare");
      goto out;
    }
  if (w.into_fd >= 0)
    {
      ca.flags |= CLONE_INTO_CGROUP;
      ca.cgroup = (unsigned)w.into_fd;
    }
  pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0)
    {
      r = fail("clone");
      goto out;
    }
  if (pid == 0)
    _exit(child(&w, argv[1], argv + 2));
  if (waitpid(pid, &status, 0) < 0)
    r = fail("waitpid");
  else
    r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
  remove_cgroups(&w);
  return r;
}

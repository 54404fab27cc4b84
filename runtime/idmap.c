#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec/util.h"
#include "context.h"
#include "idmap.h"
#include "namespaces.h"

static bool
has_option(const struct oci_mount *m, const char *name)
{
  for (size_t i = 0; i < m->options_len; i++)
    if (strcmp(m->options[i], name) == 0)
      return true;
  return false;
}

bool
rt_mount_is_idmapped(const struct oci_mount *m)
{
  return m->uid_mappings_len || m->gid_mappings_len || has_option(m, "idmap") || has_option(m, "ridmap");
}

/* A user namespace with `maps`' uid and gid maps, as an fd: a child enters
 * a new one and waits while we write its maps and open it. */
static int
userns_for(const struct oci_linux *maps, int *out, struct oci_error **err)
{
  const struct rt_context quiet = { .log_fd = -1, .log_sock = -1 };
  int gate[2];
  char path[64];
  pid_t pid;
  int r = 0;

  if (pipe2(gate, O_CLOEXEC) < 0)
    return oci_error_errno(err, "pipe");
  pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    {
      close(gate[0]);
      close(gate[1]);
      return oci_error_errno(err, "creating a user namespace for an idmapped mount");
    }
  if (pid == 0)
    {
      char c;
      close(gate[1]);
      (void)!read(gate[0], &c, 1);
      _exit(0);
    }
  close(gate[0]);
  if (rt_ns_write_id_maps(&quiet, pid, maps, err) < 0)
    r = -1;
  if (r == 0)
    {
      snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
      *out = open(path, O_RDONLY | O_CLOEXEC);
      if (*out < 0)
        r = oci_error_errno(err, "opening %s", path);
    }
  close(gate[1]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return r;
}

int
rt_idmap_tree(int tree, const struct oci_mount *m, const struct oci_config *cfg, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;
  struct oci_linux maps = { 0 };
  cleanup_close int userns = -1;

  if (m->uid_mappings_len || m->gid_mappings_len)
    {
      maps.uid_mappings = m->uid_mappings;
      maps.uid_mappings_len = m->uid_mappings_len;
      maps.gid_mappings = m->gid_mappings;
      maps.gid_mappings_len = m->gid_mappings_len;
    }
  else if (l && (l->uid_mappings_len || l->gid_mappings_len))
    {
      maps.uid_mappings = l->uid_mappings;
      maps.uid_mappings_len = l->uid_mappings_len;
      maps.gid_mappings = l->gid_mappings;
      maps.gid_mappings_len = l->gid_mappings_len;
    }
  else
    return oci_error_set(err, 0, "idmapped mount without mappings, and the container has none either");
  if (maps.uid_mappings_len == 0 || maps.gid_mappings_len == 0)
    return oci_error_set(err, 0, "an idmapped mount needs both uidMappings and gidMappings");
  if (userns_for(&maps, &userns, err) < 0)
    return -1;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
  if (mount_setattr(tree, "", AT_EMPTY_PATH | (has_option(m, "ridmap") ? AT_RECURSIVE : 0), &attr, sizeof attr)
      < 0)
    return oci_error_errno(err, "idmapping the mount (the filesystem may not support idmapped mounts)");
  return 0;
}

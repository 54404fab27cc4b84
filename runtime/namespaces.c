#include <config.h>

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spec/util.h"
#include "log.h"
#include "namespaces.h"

static const struct
{
  const char *name;
  int flag;
} ns_types[] = {
  { "user", CLONE_NEWUSER },     { "pid", CLONE_NEWPID },   { "network", CLONE_NEWNET },
  { "ipc", CLONE_NEWIPC },       { "uts", CLONE_NEWUTS },   { "mount", CLONE_NEWNS },
  { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

int
rt_ns_flag(const char *type)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(ns_types); i++)
    if (strcmp(ns_types[i].name, type) == 0)
      return ns_types[i].flag;
  return 0;
}

static const char *
ns_name(int flag)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(ns_types); i++)
    if (ns_types[i].flag == flag)
      return ns_types[i].name;
  return "unknown";
}

void
rt_ns_plan_clear(struct rt_ns_plan *plan)
{
  for (int i = 0; i < plan->join_len; i++)
    if (plan->join[i].fd >= 0)
      close(plan->join[i].fd);
  plan->join_len = 0;
}

static int
add_join(struct rt_ns_plan *plan, const struct oci_namespace *ns, int flag, struct oci_error **err)
{
  int fd;

  if (plan->join_len >= RT_NS_MAX)
    return oci_error_set(err, 0, "too many namespaces to join");
  fd = open(ns->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "opening %s namespace `%s`", ns->type, ns->path);
  /* The user namespace is joined first: it grants the rights to join the others. */
  if (flag == CLONE_NEWUSER && plan->join_len > 0)
    {
      plan->join[plan->join_len] = plan->join[0];
      plan->join[0] = (struct rt_ns_join){ flag, fd, ns->path };
    }
  else
    plan->join[plan->join_len] = (struct rt_ns_join){ flag, fd, ns->path };
  plan->join_len++;
  return 0;
}

int
rt_ns_plan_init(const struct oci_config *cfg, struct rt_ns_plan *plan, struct oci_error **err)
{
  const struct oci_linux *lnx = cfg->linux_;
  int new_flags = 0;
  bool pid_joined = false;

  memset(plan, 0, sizeof *plan);
  for (size_t i = 0; lnx && i < lnx->namespaces_len; i++)
    {
      const struct oci_namespace *ns = &lnx->namespaces[i];
      int flag = rt_ns_flag(ns->type);

      if (flag == 0)
        {
          rt_ns_plan_clear(plan);
          return oci_error_set(err, 0, "unknown namespace type `%s`", ns->type);
        }
      plan->has_pid_ns |= flag == CLONE_NEWPID;
      plan->has_mount_ns |= flag == CLONE_NEWNS;
      plan->has_uts_ns |= flag == CLONE_NEWUTS;
      plan->has_user_ns |= flag == CLONE_NEWUSER;
      plan->has_cgroup_ns |= flag == CLONE_NEWCGROUP;
      if (ns->path && ns->path[0])
        {
          if (add_join(plan, ns, flag, err) < 0)
            {
              rt_ns_plan_clear(plan);
              return -1;
            }
          pid_joined |= flag == CLONE_NEWPID;
        }
      else
        new_flags |= flag;
    }

  plan->new_user = (new_flags & CLONE_NEWUSER) != 0;
  plan->new_cgroup = (new_flags & CLONE_NEWCGROUP) != 0;
  plan->new_time = (new_flags & CLONE_NEWTIME) != 0;
  plan->new_net = (new_flags & CLONE_NEWNET) != 0;
  new_flags &= ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
  /* The IPC namespace's mqueue filesystem takes its owner from the creator:
   * create it once we are root of the new user namespace (runc's order,
   * which is what /dev/mqueue shows inside). */
  if (plan->new_user && (new_flags & CLONE_NEWIPC))
    {
      plan->late_flags = CLONE_NEWIPC;
      new_flags &= ~CLONE_NEWIPC;
    }

  /* Namespaces created by clone() would be owned by our user namespace, and
   * joining one by path afterwards may need rights a new user namespace does
   * not have: when anything is joined, the init joins first, then unshares. */
  if (plan->join_len == 0)
    {
      /* The network and IPC namespaces are the costly ones to create
       * (0.3-0.5 ms): clone() would build them in the parent, before it
       * can go on; the init makes them itself, on the other CPU, while the
       * parent makes the cgroups.  Their owner is the same user namespace
       * either way. */
      plan->early_flags = new_flags & (CLONE_NEWNET | CLONE_NEWIPC);
      plan->clone_flags = new_flags & ~plan->early_flags;
    }
  else
    plan->unshare_flags = new_flags;
  plan->pid_fork = pid_joined || (plan->unshare_flags & CLONE_NEWPID);
  return 0;
}

void
rt_ns_flag_names(int flags, char *buf, size_t size)
{
  size_t len = 0;

  if (size == 0)
    return;
  buf[0] = '\0';
  for (size_t i = 0; i < OCI_ARRAY_SIZE(ns_types); i++)
    if ((flags & ns_types[i].flag) && len < size)
      len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " " : "", ns_types[i].name);
}

void
rt_ns_debug_clone(const struct rt_context *log, const struct rt_ns_plan *plan, pid_t pid)
{
  char names[128];

  rt_ns_flag_names(plan->clone_flags, names, sizeof names);
  if (plan->clone_flags && plan->early_flags)
    {
      char early[64];
      rt_ns_flag_names(plan->early_flags, early, sizeof early);
      rt_debug(log, "namespaces: container init cloned as pid %d in new namespaces: %s (it creates %s itself)",
               (int)pid, names, early);
    }
  else if (plan->clone_flags)
    rt_debug(log, "namespaces: container init cloned as pid %d in new namespaces: %s", (int)pid, names);
  else
    rt_debug(log,
             "namespaces: container init cloned as pid %d in ocirt's namespaces (it joins and creates "
             "them itself)",
             (int)pid);
}

int
rt_ns_join_all(const struct rt_context *log, struct rt_ns_plan *plan, struct oci_error **err)
{
  for (int i = 0; i < plan->join_len; i++)
    {
      rt_debug(log, "namespaces: joining the %s namespace %s", ns_name(plan->join[i].type),
               plan->join[i].path ? plan->join[i].path : "");
      if (setns(plan->join[i].fd, plan->join[i].type) < 0)
        return oci_error_errno(err, "joining the %s namespace", ns_name(plan->join[i].type));
      close(plan->join[i].fd);
      plan->join[i].fd = -1;
    }
  plan->join_len = 0;
  return 0;
}

/* pid 0: /proc/self (our pid may be from a pid namespace /proc does not show). */
static int
write_proc_file(pid_t pid, const char *name, const char *text, struct oci_error **err)
{
  char path[64];
  cleanup_close int fd = -1;

  if (pid == 0)
    snprintf(path, sizeof path, "/proc/self/%s", name);
  else
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "opening `%s`", path);
  if (write(fd, text, strlen(text)) < 0)
    return oci_error_errno(err, "writing `%s`", path);
  return 0;
}

static char *
format_map(const struct oci_id_mapping *m, size_t n)
{
  size_t cap = n * 36 + 1, off = 0;
  char *buf = xmalloc(cap);

  buf[0] = '\0';
  for (size_t i = 0; i < n; i++)
    off += snprintf(buf + off, cap - off, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
  return buf;
}

/* The lines of a map file joined by ", ", for a one-line message. */
static char *
map_one_line(const char *map)
{
  size_t len = strlen(map);
  char *out = xmalloc(len * 2 + 1), *p = out;

  for (const char *s = map; *s; s++)
    {
      if (*s != '\n')
        *p++ = *s;
      else if (s[1])
        p += sprintf(p, ", ");
    }
  *p = '\0';
  return out;
}

int
rt_ns_write_id_maps(const struct rt_context *log, pid_t pid, const struct oci_linux *lnx,
                    struct oci_error **err)
{
  cleanup_free char *uid_map = NULL;
  cleanup_free char *gid_map = NULL;

  if (lnx == NULL)
    return 0;
  uid_map = format_map(lnx->uid_mappings, lnx->uid_mappings_len);
  gid_map = format_map(lnx->gid_mappings, lnx->gid_mappings_len);
  if (log->debug)
    {
      /* One line: "0 1000 1, 1 100000 65536". */
      cleanup_free char *u = map_one_line(uid_map);
      cleanup_free char *g = map_one_line(gid_map);
      rt_debug(log, "namespaces: writing uid_map [%s] and gid_map [%s] of pid %d", u, g, (int)pid);
    }
  if (lnx->uid_mappings_len && write_proc_file(pid, "uid_map", uid_map, err) < 0)
    return oci_error_wrap(err, "writing linux.uidMappings");
  /* Without CAP_SETGID in our namespace the kernel only accepts a gid_map
   * once setgroups(2) is disabled for the child. */
  if (geteuid() != 0 && write_proc_file(pid, "setgroups", "deny", err) < 0)
    return -1;
  if (lnx->gid_mappings_len && write_proc_file(pid, "gid_map", gid_map, err) < 0)
    return oci_error_wrap(err, "writing linux.gidMappings");
  return 0;
}

int
rt_ns_write_time_offsets(const struct oci_linux *lnx, struct oci_error **err)
{
  char text[128];
  int n = 0;

  if (lnx == NULL || (!lnx->has_time_offset_monotonic && !lnx->has_time_offset_boottime))
    return 0;
  if (lnx->has_time_offset_monotonic)
    n += snprintf(text + n, sizeof text - n, "monotonic %lld %u\n",
                  (long long)lnx->time_offset_monotonic.secs, lnx->time_offset_monotonic.nanosecs);
  if (lnx->has_time_offset_boottime)
    n += snprintf(text + n, sizeof text - n, "boottime %lld %u\n", (long long)lnx->time_offset_boottime.secs,
                  lnx->time_offset_boottime.nanosecs);
  if (write_proc_file(0, "timens_offsets", text, err) < 0)
    return oci_error_wrap(err, "setting linux.timeOffsets");
  return 0;
}

int
rt_ns_loopback_up(int sock, struct oci_error **err)
{
  struct ifreq ifr = { 0 };
  cleanup_close int own = sock < 0 ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;

  if (sock < 0 && own < 0)
    return oci_error_errno(err, "bringing up `lo`: socket");
  if (sock < 0)
    sock = own;
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
    return oci_error_errno(err, "bringing up `lo`: SIOCGIFFLAGS");
  if (ifr.ifr_flags & IFF_UP)
    return 0;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
    return oci_error_errno(err, "bringing up `lo`");
  return 0;
}

bool
rt_ns_in_user_namespace(void)
{
  cleanup_fclose FILE *f = fopen("/proc/self/uid_map", "re");
  unsigned long inside, outside, count;

  if (f == NULL)
    return false;
  if (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) != 3)
    return true;
  return !(inside == 0 && outside == 0 && count == 4294967295UL);
}

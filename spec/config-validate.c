/* The checks the types cannot express.  Each message names the field
 * ("config.json: process.cwd: must be an absolute path").  The range of a
 * single integer field is part of its description in config-fields.c;
 * what stays here are required fields, names out of a set, and the checks
 * of fields together.  Where runc 1.1
 * accepts something the spec frowns upon (relative mount destinations) we
 * accept it too, so that bundles that work with runc work here. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oci-config.h"
#include "config-fields.h"
#include "util.h"

struct check
{
  const char *name;
  struct oci_error **err;
};

static int fail(const struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(const struct check *c, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  return oci_error_set(c->err, 0, "%s: %s", c->name, msg);
}

static bool
one_of(const char *s, const char *const *set)
{
  if (s == NULL)
    return false;
  for (; *set; set++)
    if (strcmp(s, *set) == 0)
      return true;
  return false;
}

static bool
absolute(const char *p)
{
  return p != NULL && p[0] == '/';
}

/* The ranges of single fields, which their descriptions in config-fields.c
 * carry ("process.oomScoreAdj: 1001 is not in [-1000, 1000]"). */
static int
check_ranges(const struct check *c, const struct oci_field *fields, const void *base)
{
  struct oci_error *local = NULL;

  if (oci_fields_check(fields, base, NULL, &local) == 0)
    return 0;
  fail(c, "%s", local->msg);
  oci_error_free(local);
  return -1;
}

/* ---- ociVersion ---- */

/* We implement 1.x: any 1.<minor>.<patch>[-pre][+build] is accepted, as
 * runtime-spec promises compatibility within a major version. */
static int
check_version(const struct check *c, const char *v)
{
  char *end;
  unsigned long major;

  if (v == NULL || *v == '\0')
    return fail(c, "ociVersion: required");
  major = strtoul(v, &end, 10);
  if (end == v || *end != '.' || major != 1)
    return fail(c, "ociVersion: unsupported version %s", v);
  return 0;
}

/* ---- process ---- */

static const char *const rlimit_names[] = {
  "RLIMIT_AS",      "RLIMIT_CORE",     "RLIMIT_CPU",        "RLIMIT_DATA",   "RLIMIT_FSIZE", "RLIMIT_LOCKS",
  "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",       "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
  "RLIMIT_RTPRIO",  "RLIMIT_RTTIME",   "RLIMIT_SIGPENDING", "RLIMIT_STACK",  NULL,
};

static int
check_rlimits(const struct check *c, const char *prefix, const struct oci_process *p)
{
  for (size_t i = 0; i < p->rlimits_len; i++)
    {
      const struct oci_rlimit *r = &p->rlimits[i];

      if (!one_of(r->type, rlimit_names))
        return fail(c, "%srlimits[%zu].type: unknown rlimit \"%s\"", prefix, i, r->type ? r->type : "");
      if (r->soft > r->hard)
        return fail(c, "%srlimits[%zu]: soft limit %" PRIu64 " exceeds hard limit %" PRIu64, prefix, i,
                    r->soft, r->hard);
      for (size_t j = 0; j < i; j++)
        if (strcmp(p->rlimits[j].type, r->type) == 0)
          return fail(c, "%srlimits[%zu].type: duplicate rlimit \"%s\"", prefix, i, r->type);
    }
  return 0;
}

static int
check_scheduler(const struct check *c, const char *prefix, const struct oci_scheduler *s)
{
  static const char *const policies[] = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",       "SCHED_BATCH",
                                          "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE", NULL };

  if (s == NULL)
    return 0;
  if (!one_of(s->policy, policies))
    return fail(c, "%sscheduler.policy: unknown policy \"%s\"", prefix, s->policy ? s->policy : "");
  return 0;
}

static int
check_io_priority(const struct check *c, const char *prefix, const struct oci_io_priority *io)
{
  static const char *const classes[] = { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", NULL };

  if (io == NULL)
    return 0;
  if (!one_of(io->class_, classes))
    return fail(c, "%sioPriority.class: unknown class \"%s\"", prefix, io->class_ ? io->class_ : "");
  return 0;
}

/* Shared with `exec --process`, whose paths have no "process." prefix. */
static int
check_process(const struct check *c, const char *prefix, const struct oci_process *p)
{
  if (p->args_len == 0)
    return fail(c, "%sargs: must be a non-empty array of strings", prefix);
  if (!absolute(p->cwd))
    return fail(c, "%scwd: must be an absolute path", prefix);
  if (check_rlimits(c, prefix, p) < 0 || check_scheduler(c, prefix, p->scheduler) < 0
      || check_io_priority(c, prefix, p->io_priority) < 0)
    return -1;
  return 0;
}

/* ---- mounts, hooks ---- */

static int
check_mounts(const struct check *c, const struct oci_config *cfg)
{
  for (size_t i = 0; i < cfg->mounts_len; i++)
    {
      const struct oci_mount *m = &cfg->mounts[i];

      /* runc 1.1 only warns about relative destinations and treats them
       * as relative to the container's root; so do we. */
      if (m->destination == NULL || *m->destination == '\0')
        return fail(c, "mounts[%zu].destination: required", i);
      if ((m->uid_mappings_len == 0) != (m->gid_mappings_len == 0))
        return fail(c, "mounts[%zu]: uidMappings and gidMappings must be given together", i);
    }
  return 0;
}

static int
check_hook_list(const struct check *c, const char *key, const struct oci_hook *h, size_t len)
{
  for (size_t i = 0; i < len; i++)
    {
      if (!absolute(h[i].path))
        return fail(c, "hooks.%s[%zu].path: must be an absolute path", key, i);
    }
  return 0;
}

static int
check_hooks(const struct check *c, const struct oci_hooks *h)
{
  if (h == NULL)
    return 0;
  if (check_hook_list(c, "prestart", h->prestart, h->prestart_len) < 0
      || check_hook_list(c, "createRuntime", h->create_runtime, h->create_runtime_len) < 0
      || check_hook_list(c, "createContainer", h->create_container, h->create_container_len) < 0
      || check_hook_list(c, "startContainer", h->start_container, h->start_container_len) < 0
      || check_hook_list(c, "poststart", h->poststart, h->poststart_len) < 0
      || check_hook_list(c, "poststop", h->poststop, h->poststop_len) < 0)
    return -1;
  return 0;
}

/* ---- linux ---- */

static const char *const namespace_types[]
    = { "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", NULL };

static const struct oci_namespace *
find_namespace(const struct oci_linux *l, const char *type)
{
  if (l == NULL)
    return NULL;
  for (size_t i = 0; i < l->namespaces_len; i++)
    if (l->namespaces[i].type && strcmp(l->namespaces[i].type, type) == 0)
      return &l->namespaces[i];
  return NULL;
}

static int
check_namespaces(const struct check *c, const struct oci_linux *l)
{
  for (size_t i = 0; i < l->namespaces_len; i++)
    {
      const struct oci_namespace *ns = &l->namespaces[i];

      if (!one_of(ns->type, namespace_types))
        return fail(c, "linux.namespaces[%zu].type: unknown namespace type \"%s\"", i,
                    ns->type ? ns->type : "");
      for (size_t j = 0; j < i; j++)
        if (strcmp(l->namespaces[j].type, ns->type) == 0)
          return fail(c, "linux.namespaces[%zu]: duplicate namespace type \"%s\"", i, ns->type);
      if (ns->path && !absolute(ns->path))
        return fail(c, "linux.namespaces[%zu].path: must be an absolute path", i);
    }
  return 0;
}

/* Mappings belong to a user namespace we create; one we join has its own. */
static int
check_user_namespace(const struct check *c, const struct oci_linux *l)
{
  const struct oci_namespace *user = find_namespace(l, "user");
  bool mapped = l->uid_mappings_len > 0 || l->gid_mappings_len > 0;

  if (user == NULL && mapped)
    return fail(c, "linux.uidMappings: user namespace mappings specified, but no user namespace in "
                   "linux.namespaces");
  if (user && user->path == NULL)
    {
      if (l->uid_mappings_len == 0)
        return fail(c, "linux.uidMappings: required when a user namespace is created");
      if (l->gid_mappings_len == 0)
        return fail(c, "linux.gidMappings: required when a user namespace is created");
    }
  return 0;
}

static int
check_time_offsets(const struct check *c, const struct oci_linux *l)
{
  const struct oci_namespace *time_ns = find_namespace(l, "time");

  if (!l->has_time_offset_monotonic && !l->has_time_offset_boottime)
    return 0;
  if (time_ns == NULL)
    return fail(c, "linux.timeOffsets: requires a time namespace in linux.namespaces");
  if (time_ns->path)
    return fail(c, "linux.timeOffsets: cannot be set when joining an existing time namespace");
  return 0;
}

static int
check_devices(const struct check *c, const struct oci_linux *l)
{
  static const char *const types[] = { "c", "b", "u", "p", NULL };

  for (size_t i = 0; i < l->devices_len; i++)
    {
      const struct oci_device *d = &l->devices[i];

      if (!one_of(d->type, types))
        return fail(c, "linux.devices[%zu].type: must be one of c, b, u, p", i);
      if (!absolute(d->path))
        return fail(c, "linux.devices[%zu].path: must be an absolute path", i);
    }
  return 0;
}

static int
check_device_cgroup(const struct check *c, const struct oci_resources *r, const char *prefix)
{
  static const char *const types[] = { "a", "b", "c", NULL };

  for (size_t i = 0; i < r->devices_len; i++)
    {
      const struct oci_device_cgroup *d = &r->devices[i];

      if (d->type && !one_of(d->type, types))
        return fail(c, "%sdevices[%zu].type: must be one of a, b, c", prefix, i);
      if (d->access && strspn(d->access, "rwm") != strlen(d->access))
        return fail(c, "%sdevices[%zu].access: must be a combination of r, w and m", prefix, i);
    }
  return 0;
}

static bool
has_prefix(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Only namespaced sysctls can be set, and only when the container has the
 * namespace of its own (the same rules as runc). */
static int
check_sysctl(const struct check *c, const struct oci_config *cfg)
{
  static const char *const ipc[]
      = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",          "kernel.sem", "kernel.shmall",
          "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", NULL };
  const struct oci_linux *l = cfg->linux_;

  for (size_t i = 0; i < l->sysctl_len; i++)
    {
      const char *key = l->sysctl[i].key;
      const char *ns, *type;

      if (one_of(key, ipc) || has_prefix(key, "fs.mqueue."))
        ns = "ipc", type = "IPC";
      else if (has_prefix(key, "net."))
        ns = "network", type = "network";
      else if (strcmp(key, "kernel.domainname") == 0)
        ns = "uts", type = "UTS";
      else if (strcmp(key, "kernel.hostname") == 0)
        return fail(c, "linux.sysctl: \"%s\" conflicts with the hostname field", key);
      else
        return fail(c, "linux.sysctl: \"%s\" is not in a separate kernel namespace", key);

      if (find_namespace(l, ns) == NULL)
        return fail(c, "linux.sysctl: \"%s\" is not allowed in the host's %s namespace", key, type);
    }
  return 0;
}

static int
check_seccomp(const struct check *c, const struct oci_seccomp *s)
{
  static const char *const actions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",   "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY", NULL
  };
  static const char *const ops[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
                                     "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL };
  bool notify = false;

  if (s == NULL)
    return 0;
  if (!one_of(s->default_action, actions))
    return fail(c, "linux.seccomp.defaultAction: unknown action \"%s\"",
                s->default_action ? s->default_action : "");
  notify = strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0;
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      const struct oci_seccomp_syscall *sc = &s->syscalls[i];

      if (sc->names_len == 0)
        return fail(c, "linux.seccomp.syscalls[%zu].names: must be a non-empty array of strings", i);
      if (!one_of(sc->action, actions))
        return fail(c, "linux.seccomp.syscalls[%zu].action: unknown action \"%s\"", i,
                    sc->action ? sc->action : "");
      notify = notify || strcmp(sc->action, "SCMP_ACT_NOTIFY") == 0;
      for (size_t j = 0; j < sc->args_len; j++)
        if (!one_of(sc->args[j].op, ops))
          return fail(c, "linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator \"%s\"", i, j,
                      sc->args[j].op ? sc->args[j].op : "");
    }
  if (notify && (s->listener_path == NULL || s->listener_path[0] == '\0'))
    return fail(c, "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
  return 0;
}

/* A name the kernel accepts for an interface (dev_valid_name): at most
 * IFNAMSIZ - 1 bytes, not "." or "..", no '/', ':' or white space. */
static bool
valid_ifname(const char *n)
{
  if (n == NULL || n[0] == '\0' || strlen(n) > 15 || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
    return false;
  for (; *n; n++)
    if (*n == '/' || *n == ':' || isspace((unsigned char)*n))
      return false;
  return true;
}

static int
check_net_devices(const struct check *c, const struct oci_linux *l)
{
  if (l->net_devices_len == 0)
    return 0;
  if (find_namespace(l, "network") == NULL)
    return fail(c, "linux.netDevices: requires a network namespace in linux.namespaces");
  for (size_t i = 0; i < l->net_devices_len; i++)
    {
      const struct oci_net_device *d = &l->net_devices[i];

      if (!valid_ifname(d->host_name))
        return fail(c, "linux.netDevices: \"%s\" is not a valid interface name", d->host_name);
      if (d->name && d->name[0] && !valid_ifname(d->name))
        return fail(c, "linux.netDevices.%s.name: \"%s\" is not a valid interface name", d->host_name,
                    d->name);
    }
  return 0;
}

static int
check_linux(const struct check *c, const struct oci_config *cfg)
{
  static const char *const propagations[]
      = { "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable", NULL };
  static const char *const domains[] = { "LINUX", "LINUX32", NULL };
  static const char *const mpol_modes[]
      = { "MPOL_DEFAULT",   "MPOL_BIND",           "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
          "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL",      NULL };
  const struct oci_linux *l = cfg->linux_;

  if (cfg->hostname && *cfg->hostname && find_namespace(l, "uts") == NULL)
    return fail(c, "hostname: requires a UTS namespace in linux.namespaces");
  if (cfg->domainname && *cfg->domainname && find_namespace(l, "uts") == NULL)
    return fail(c, "domainname: requires a UTS namespace in linux.namespaces");
  if (l == NULL)
    return 0;

  if (check_namespaces(c, l) < 0 || check_user_namespace(c, l) < 0 || check_time_offsets(c, l) < 0
      || check_devices(c, l) < 0 || check_sysctl(c, cfg) < 0 || check_seccomp(c, l->seccomp) < 0
      || check_net_devices(c, l) < 0)
    return -1;
  if (l->resources && check_device_cgroup(c, l->resources, "linux.resources.") < 0)
    return -1;
  if (l->rootfs_propagation && !one_of(l->rootfs_propagation, propagations))
    return fail(c, "linux.rootfsPropagation: unknown propagation \"%s\"", l->rootfs_propagation);
  if (l->personality && !one_of(l->personality->domain, domains))
    return fail(c, "linux.personality.domain: must be LINUX or LINUX32");
  if (l->memory_policy && !one_of(l->memory_policy->mode, mpol_modes))
    return fail(c, "linux.memoryPolicy.mode: unknown mode \"%s\"",
                l->memory_policy->mode ? l->memory_policy->mode : "");
  return 0;
}

int
oci_config_validate(const char *name, const struct oci_config *cfg, struct oci_error **err)
{
  const struct check c = { .name = name, .err = err };

  if (check_version(&c, cfg->oci_version) < 0)
    return -1;
  if (cfg->root == NULL || cfg->root->path == NULL || *cfg->root->path == '\0')
    return fail(&c, "root.path: required");
  if (cfg->process == NULL)
    return fail(&c, "process: required");
  /* each field on its own first, then the fields together */
  if (check_ranges(&c, oci_config_fields, cfg) < 0)
    return -1;
  if (check_process(&c, "process.", cfg->process) < 0 || check_mounts(&c, cfg) < 0
      || check_hooks(&c, cfg->hooks) < 0 || check_linux(&c, cfg) < 0)
    return -1;
  return 0;
}

int
oci_process_validate(const char *name, const struct oci_process *p, struct oci_error **err)
{
  const struct check c = { .name = name, .err = err };

  if (check_ranges(&c, oci_process_fields, p) < 0)
    return -1;
  return check_process(&c, "", p);
}

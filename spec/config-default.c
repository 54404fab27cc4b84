/* The config.json that `ocirt spec` writes: the same document as `runc spec`
 * (runc 1.1.5), with our hostname.  ociVersion is left to the emitter, which
 * writes the lowest version covering the fields (imgtool adds some). */
#include <config.h>

#include <string.h>

#include "oci-config.h"
#include "util.h"

/* A NULL-terminated copy of a NULL-terminated list of literals. */
static char **
strv_new(const char *const *src, size_t *len)
{
  size_t n = 0;
  char **v;

  while (src[n])
    n++;
  v = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++)
    v[i] = xstrdup(src[i]);
  *len = n;
  return v;
}

#define STRV(field, ...) field = strv_new((const char *const[]){ __VA_ARGS__, NULL }, &field##_len)

static struct oci_process *
default_process(void)
{
  struct oci_process *p = xzalloc(sizeof *p);
  struct oci_capabilities *caps = xzalloc(sizeof *caps);

  p->terminal = true;
  STRV(p->args, "sh");
  STRV(p->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm");
  p->cwd = xstrdup("/");

  STRV(caps->bounding, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
  STRV(caps->effective, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
  STRV(caps->permitted, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
  STRV(caps->ambient, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
  p->capabilities = caps;

  p->rlimits = xcalloc(1, sizeof(struct oci_rlimit));
  p->rlimits_len = 1;
  p->rlimits[0] = (struct oci_rlimit){ .type = xstrdup("RLIMIT_NOFILE"), .soft = 1024, .hard = 1024 };
  p->no_new_privileges = true;
  return p;
}

static void
set_mount(struct oci_mount *m, const char *dest, const char *type, const char *source,
          const char *const *opts)
{
  m->destination = xstrdup(dest);
  m->type = xstrdup(type);
  m->source = xstrdup(source);
  if (opts)
    m->options = strv_new(opts, &m->options_len);
}

#define OPTS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void
default_mounts(struct oci_config *cfg, bool rootless)
{
  struct oci_mount *m = xcalloc(7, sizeof *m);

  set_mount(&m[0], "/proc", "proc", "proc", NULL);
  set_mount(&m[1], "/dev", "tmpfs", "tmpfs", OPTS("nosuid", "strictatime", "mode=755", "size=65536k"));
  /* gid=5 names the tty group of the container; an unprivileged user has
   * no mapping for it */
  if (rootless)
    set_mount(&m[2], "/dev/pts", "devpts", "devpts",
              OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"));
  else
    set_mount(&m[2], "/dev/pts", "devpts", "devpts",
              OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"));
  set_mount(&m[3], "/dev/shm", "tmpfs", "shm", OPTS("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"));
  set_mount(&m[4], "/dev/mqueue", "mqueue", "mqueue", OPTS("nosuid", "noexec", "nodev"));
  /* sysfs cannot be mounted without owning the network namespace */
  if (rootless)
    set_mount(&m[5], "/sys", "none", "/sys", OPTS("rbind", "nosuid", "noexec", "nodev", "ro"));
  else
    set_mount(&m[5], "/sys", "sysfs", "sysfs", OPTS("nosuid", "noexec", "nodev", "ro"));
  set_mount(&m[6], "/sys/fs/cgroup", "cgroup", "cgroup", OPTS("nosuid", "noexec", "nodev", "relatime", "ro"));
  cfg->mounts = m;
  cfg->mounts_len = 7;
}

static void
set_namespaces(struct oci_linux *l, const char *const *types)
{
  size_t n = 0;

  while (types[n])
    n++;
  l->namespaces = xcalloc(n, sizeof(struct oci_namespace));
  l->namespaces_len = n;
  for (size_t i = 0; i < n; i++)
    l->namespaces[i].type = xstrdup(types[i]);
}

static struct oci_id_mapping *
map_root_to(uint32_t id)
{
  struct oci_id_mapping *m = xzalloc(sizeof *m);

  *m = (struct oci_id_mapping){ .container_id = 0, .host_id = id, .size = 1 };
  return m;
}

static struct oci_linux *
default_linux(bool rootless, uint32_t uid, uint32_t gid)
{
  struct oci_linux *l = xzalloc(sizeof *l);

  if (rootless)
    {
      l->uid_mappings = map_root_to(uid);
      l->uid_mappings_len = 1;
      l->gid_mappings = map_root_to(gid);
      l->gid_mappings_len = 1;
      set_namespaces(l, OPTS("pid", "ipc", "uts", "mount", "user"));
    }
  else
    {
      /* deny all devices; the runtime allows its default set on top */
      l->resources = xzalloc(sizeof *l->resources);
      l->resources->devices = xzalloc(sizeof(struct oci_device_cgroup));
      l->resources->devices_len = 1;
      l->resources->devices[0] = (struct oci_device_cgroup){ .allow = false, .access = xstrdup("rwm") };
      set_namespaces(l, OPTS("pid", "network", "ipc", "uts", "mount"));
    }

  STRV(l->masked_paths, "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
       "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi");
  STRV(l->readonly_paths, "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
  return l;
}

struct oci_config *
oci_config_default(bool rootless, uint32_t uid, uint32_t gid)
{
  struct oci_config *cfg = xzalloc(sizeof *cfg);

  cfg->process = default_process();
  cfg->root = xzalloc(sizeof *cfg->root);
  cfg->root->path = xstrdup("rootfs");
  cfg->root->readonly = true;
  cfg->hostname = xstrdup("ocirt");
  default_mounts(cfg, rootless);
  cfg->linux_ = default_linux(rootless, uid, gid);
  return cfg;
}

void
oci_config_default_add_cgroupns(struct oci_config *cfg)
{
  struct oci_linux *l = cfg->linux_;
  size_t at = l->namespaces_len;

  for (size_t i = 0; i < l->namespaces_len; i++)
    if (strcmp(l->namespaces[i].type, "user") == 0)
      at = i;
  l->namespaces = xrealloc(l->namespaces, (l->namespaces_len + 1) * sizeof *l->namespaces);
  memmove(&l->namespaces[at + 1], &l->namespaces[at], (l->namespaces_len - at) * sizeof *l->namespaces);
  l->namespaces[at] = (struct oci_namespace){ .type = xstrdup("cgroup") };
  l->namespaces_len++;
}

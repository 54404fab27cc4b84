/* linux.sysctl (see sysctl.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci-config.h"
#include "sysctl.h"
#include "util.h"

static const char *const ipc_sysctls[] = {
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
  "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

static const struct oci_namespace *
find_namespace(const struct oci_config *cfg, const char *type)
{
  const struct oci_linux *l = cfg->linux_;

  for (size_t i = 0; l && i < l->namespaces_len; i++)
    if (l->namespaces[i].type && strcmp(l->namespaces[i].type, type) == 0)
      return &l->namespaces[i];
  return NULL;
}

/* "net/ipv4/ip_forward" and "net.ipv4.ip_forward" name the same key; with
 * slashes, dots are part of a name (sysctl(8): "net/ipv4/conf/eth0.100/..."). */
static char *
key_to_dotted(const char *key)
{
  char *s = xstrdup(key);

  if (strchr(s, '/') != NULL)
    for (char *p = s; *p; p++)
      *p = *p == '/' ? '.' : *p == '.' ? '/' : *p;
  return s;
}

static char *
key_to_path(const char *key)
{
  char *s = xstrdup(key);

  if (strchr(s, '/') == NULL)
    for (char *p = s; *p; p++)
      if (*p == '.')
        *p = '/';
  return s;
}

static int
netns_is_host(const char *path, bool *host, struct oci_error **err)
{
  struct stat a, b;

  if (stat(path, &a) < 0)
    return oci_error_errno(err, "network namespace `%s`", path);
  if (stat("/proc/self/ns/net", &b) < 0)
    return oci_error_errno(err, "/proc/self/ns/net");
  *host = a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  return 0;
}

static bool
is_ipc_key(const char *dotted)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(ipc_sysctls); i++)
    if (strcmp(dotted, ipc_sysctls[i]) == 0)
      return true;
  return strncmp(dotted, "fs.mqueue.", 10) == 0;
}

static int
check_net_key(const struct oci_config *cfg, const char *key, bool compare_netns, struct oci_error **err)
{
  const struct oci_namespace *ns = find_namespace(cfg, "network");
  bool host = ns == NULL;

  if (ns && ns->path && compare_netns && netns_is_host(ns->path, &host, err) < 0)
    return -1;
  if (host)
    return oci_error_set(err, 0, "sysctl `%s` is not allowed in the host network namespace", key);
  return 0;
}

static int
check_key(const struct oci_config *cfg, const char *key, bool compare_netns, struct oci_error **err)
{
  cleanup_free char *dotted = key_to_dotted(key);

  if (key[0] == '\0' || strstr(key, "..") != NULL || key[0] == '/' || key[0] == '.')
    return oci_error_set(err, 0, "sysctl `%s`: invalid name", key);
  if (is_ipc_key(dotted))
    {
      if (find_namespace(cfg, "ipc") == NULL)
        return oci_error_set(err, 0, "sysctl `%s` is not allowed in the host's ipc namespace", key);
      return 0;
    }
  if (strncmp(dotted, "net.", 4) == 0)
    return check_net_key(cfg, key, compare_netns, err);
  if (find_namespace(cfg, "uts") != NULL)
    {
      if (strcmp(dotted, "kernel.domainname") == 0)
        return 0;
      if (strcmp(dotted, "kernel.hostname") == 0)
        return oci_error_set(err, 0,
                             "sysctl `%s` is not allowed as it conflicts with the OCI `hostname` field", key);
    }
  return oci_error_set(err, 0, "sysctl `%s` is not in a separate kernel namespace", key);
}

static int
check_all(const struct oci_config *cfg, bool compare_netns, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;

  for (size_t i = 0; l && i < l->sysctl_len; i++)
    if (check_key(cfg, l->sysctl[i].key ? l->sysctl[i].key : "", compare_netns, err) < 0)
      return -1;
  return 0;
}

int
rt_sysctl_validate(const struct oci_config *cfg, struct oci_error **err)
{
  return check_all(cfg, true, err);
}

/* Not spec/inroot.h: /proc/sys is no container root but the kernel's own
 * tree, where a key may follow no symlink at all and never leave procfs. */
static int
write_key(int procsys, const struct oci_kv *kv, struct oci_error **err)
{
  cleanup_free char *path = key_to_path(kv->key);
  struct open_how how = {
    .flags = O_WRONLY | O_TRUNC | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  cleanup_close int fd = (int)syscall(SYS_openat2, procsys, path, &how, sizeof how);
  const char *value = kv->value ? kv->value : "";

  if (fd < 0)
    return oci_error_errno(err, "sysctl `%s`: opening /proc/sys/%s", kv->key, path);
  if (oci_write_all(fd, value, strlen(value)) < 0)
    return oci_error_errno(err, "sysctl `%s`: writing `%s` to /proc/sys/%s", kv->key, value, path);
  return 0;
}

int
rt_sysctl_apply(const struct oci_config *cfg, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;
  cleanup_close int procsys = -1;
  struct statfs st;

  if (l == NULL || l->sysctl_len == 0)
    return 0;
  if (check_all(cfg, false, err) < 0)
    return -1;
  procsys = open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (procsys < 0)
    return oci_error_errno(err, "sysctl: opening /proc/sys");
  if (fstatfs(procsys, &st) < 0 || st.f_type != PROC_SUPER_MAGIC)
    return oci_error_set(err, 0, "sysctl: /proc/sys is not on procfs");
  for (size_t i = 0; i < l->sysctl_len; i++)
    if (write_key(procsys, &l->sysctl[i], err) < 0)
      return -1;
  return 0;
}

/* process.apparmorProfile, process.selinuxLabel and linux.mountLabel.
 *
 * Both process labels go on with execve.  AppArmor takes "exec PROFILE"
 * written to the process's own exec attribute, which lives at
 * /proc/self/attr/apparmor/exec since Linux 5.8 (the LSM stacking
 * interface) and at /proc/self/attr/exec before and beside it.  SELinux
 * takes the bare context in /proc/thread-self/attr/exec: the attribute
 * belongs to the calling thread's credentials, and the kernel checks the
 * context against the loaded policy right there (EINVAL for an unknown
 * one), so a bad label fails create, not the container's execve. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lsm.h"
#include "util.h"

static bool
set(const char *s)
{
  return s != NULL && s[0] != '\0';
}

/* As runc: the module parameter says whether the kernel enforces
 * AppArmor at all. */
static bool
apparmor_enabled(void)
{
  cleanup_close int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
  char c = 0;

  return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
}

/* SELinux is on when its filesystem is mounted (runc's go-selinux looks
 * for selinuxfs the same way): a kernel with SELinux built in but not
 * chosen at boot (Debian's, under AppArmor) has no /sys/fs/selinux. */
bool
rt_selinux_enabled(void)
{
  return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

/* A label the loaded policy does not know fails here, before anything is
 * created, rather than in the init's write to /proc or in a mount: the
 * kernel answers through selinuxfs, as for libselinux's
 * security_check_context().  Only EINVAL means no: a check we may not make
 * (EACCES under an enforcing policy) leaves it to the kernel later. */
static int
check_context(const char *label, const char *where, const char *field, struct oci_error **err)
{
  cleanup_close int fd = open("/sys/fs/selinux/context", O_RDWR | O_CLOEXEC);

  if (!rt_selinux_enabled())
    return oci_error_set(err, 0, "%s%s: SELinux is not enabled on this host", where, field);
  if (fd >= 0 && write(fd, label, strlen(label)) < 0 && errno == EINVAL)
    return oci_error_set(err, 0, "%s%s: `%s` is not a valid SELinux context for the loaded policy", where,
                         field, label);
  return 0;
}

int
rt_lsm_check(const struct oci_process *p, const char *where, struct oci_error **err)
{
  if (p && set(p->apparmor_profile) && !apparmor_enabled())
    return oci_error_set(err, 0, "%sapparmorProfile: AppArmor is not enabled on this host", where);
  if (p && set(p->selinux_label))
    return check_context(p->selinux_label, where, "selinuxLabel", err);
  return 0;
}

int
rt_lsm_check_mount_label(const struct oci_linux *l, struct oci_error **err)
{
  /* Without SELinux runc passes context= to the kernel anyway, which then
   * refuses the first tmpfs with a bare EINVAL; say why instead. */
  if (l && set(l->mount_label))
    return check_context(l->mount_label, "linux.", "mountLabel", err);
  return 0;
}

/* /proc/thread-self/attr/NAME, or its spelling before Linux 3.17. */
static int
open_thread_attr(const char *name)
{
  char path[64];
  int fd;

  snprintf(path, sizeof path, "/proc/thread-self/attr/%s", name);
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  snprintf(path, sizeof path, "/proc/self/task/%ld/attr/%s", (long)syscall(SYS_gettid), name);
  return open(path, O_WRONLY | O_CLOEXEC);
}

/* Writes `label` to this thread's attribute `name` ("exec", "keycreate");
 * an empty label resets it.  `field` names what asked for it in errors. */
static int
write_thread_attr(const char *name, const char *label, const char *field, struct oci_error **err)
{
  cleanup_close int fd = open_thread_attr(name);
  size_t len = strlen(label);

  if (fd < 0)
    return oci_error_errno(err, "%s: opening /proc/thread-self/attr/%s", field, name);
  if (write(fd, label, len) != (ssize_t)len)
    return oci_error_errno(err, "%s: applying `%s`", field, label);
  return 0;
}

int
rt_lsm_set_key_label(const struct oci_process *p, bool reset, struct oci_error **err)
{
  if (p == NULL || !set(p->selinux_label))
    return 0;
  return write_thread_attr("keycreate", reset ? "" : p->selinux_label, "process.selinuxLabel", err);
}

static int
apply_apparmor(const char *profile, struct oci_error **err)
{
  cleanup_free char *text = NULL;
  cleanup_close int fd = -1;

  fd = open("/proc/self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    fd = open("/proc/self/attr/exec", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "process.apparmorProfile: opening the exec attribute in /proc");
  text = xasprintf("exec %s", profile);
  if (write(fd, text, strlen(text)) < 0)
    return oci_error_errno(err, "process.apparmorProfile: applying `%s`", profile);
  return 0;
}

int
rt_lsm_apply(const struct oci_process *p, struct oci_error **err)
{
  if (p == NULL)
    return 0;
  if (set(p->apparmor_profile) && apply_apparmor(p->apparmor_profile, err) < 0)
    return -1;
  if (set(p->selinux_label) && write_thread_attr("exec", p->selinux_label, "process.selinuxLabel", err) < 0)
    return -1;
  return 0;
}

/* process.apparmorProfile: the profile goes on with execve.  The kernel
 * takes "exec PROFILE" written to the process's own exec attribute, which
 * lives at /proc/self/attr/apparmor/exec since Linux 5.8 (the LSM stacking
 * interface) and at /proc/self/attr/exec before and beside it. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

int
rt_lsm_check(const struct oci_process *p, const char *where, struct oci_error **err)
{
  if (p && set(p->apparmor_profile) && !apparmor_enabled())
    return oci_error_set(err, 0, "%sapparmorProfile: AppArmor is not enabled on this host", where);
  if (p && set(p->selinux_label))
    return oci_error_set(err, 0, "not supported: %sselinuxLabel (no SELinux support)", where);
  return 0;
}

int
rt_lsm_apply(const struct oci_process *p, struct oci_error **err)
{
  cleanup_free char *text = NULL;
  cleanup_close int fd = -1;

  if (p == NULL || !set(p->apparmor_profile))
    return 0;
  fd = open("/proc/self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    fd = open("/proc/self/attr/exec", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "process.apparmorProfile: opening the exec attribute in /proc");
  text = xasprintf("exec %s", p->apparmor_profile);
  if (write(fd, text, strlen(text)) < 0)
    return oci_error_errno(err, "process.apparmorProfile: applying `%s`", p->apparmor_profile);
  return 0;
}

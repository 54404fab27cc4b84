/* Fields of config.json that ocirt parses but does not implement.  Refusing
 * them is better than running a container without the isolation its config
 * asked for. */
#include <config.h>

#include "support.h"

static bool
set(const char *s)
{
  return s != NULL && s[0] != '\0';
}

int
rt_process_check_support(const char *where, const struct oci_process *p, struct oci_error **err)
{
  if (p && set(p->apparmor_profile))
    return oci_error_set(err, 0, "%s: not supported: process.apparmorProfile (no AppArmor support)", where);
  if (p && set(p->selinux_label))
    return oci_error_set(err, 0, "%s: not supported: process.selinuxLabel (no SELinux support)", where);
  return 0;
}

int
rt_config_check_support(const struct oci_config *cfg, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;

  if (rt_process_check_support("config.json", cfg->process, err) < 0)
    return -1;
  if (l == NULL)
    return 0;
  if (set(l->mount_label))
    return oci_error_set(err, 0, "config.json: not supported: linux.mountLabel (no SELinux support)");
  if (l->intel_rdt)
    return oci_error_set(err, 0, "config.json: not supported: linux.intelRdt");
  if (l->net_devices_len > 0)
    return oci_error_set(err, 0, "config.json: not supported: linux.netDevices");
  return 0;
}

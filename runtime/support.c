/* Fields of config.json that ocirt parses but does not implement.  Refusing
 * them is better than running a container without the isolation its config
 * asked for. */
#include <config.h>

#include "lsm.h"
#include "support.h"

static bool
set(const char *s)
{
  return s != NULL && s[0] != '\0';
}

int
rt_config_check_support(const struct oci_config *cfg, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;

  if (rt_lsm_check(cfg->process, "process.", err) < 0)
    return oci_error_wrap(err, "config.json");
  if (l == NULL)
    return 0;
  if (set(l->mount_label))
    return oci_error_set(err, 0, "config.json: not supported: linux.mountLabel (no SELinux support)");
  if (l->intel_rdt)
    return oci_error_set(err, 0, "config.json: not supported: linux.intelRdt");
  return 0;
}

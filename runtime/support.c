/* Fields of config.json that ocirt parses but does not implement.  Refusing
 * them is better than running a container without the isolation its config
 * asked for. */
#include <config.h>

#include "lsm.h"
#include "support.h"

int
rt_config_check_support(const struct oci_config *cfg, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;

  if (rt_lsm_check(cfg->process, "process.", err) < 0)
    return oci_error_wrap(err, "config.json");
  if (l == NULL)
    return 0;
  if (rt_lsm_check_mount_label(l, err) < 0)
    return oci_error_wrap(err, "config.json");
  if (l->intel_rdt)
    return oci_error_set(err, 0, "config.json: not supported: linux.intelRdt");
  return 0;
}

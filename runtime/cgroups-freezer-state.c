/* Whether a container's cgroup is frozen: `state` reports "paused" only
 * while the freezer really holds the container (runc reads it the same
 * way), not merely because `pause` once succeeded. */
#include <config.h>

#include <string.h>

#include "spec/util.h"
#include "cgroups-internal.h"

static bool
v1_frozen(const struct rt_cgroup *cg)
{
  for (size_t i = 0; i < cg->n; i++)
    {
      if (cg->h[i].m.v2 || !rt_cg_options_have(cg->h[i].m.options, "freezer"))
        continue;
      cleanup_free char *state = rt_cg_read(cg->h[i].dir, "freezer.state");
      /* FREEZING: a pause in progress or one that could not finish; the
       * container does not run either way. */
      return state && (strcmp(state, "FROZEN") == 0 || strcmp(state, "FREEZING") == 0);
    }
  return false;
}

static bool
v2_frozen(const struct rt_cg_hier *h)
{
  cleanup_free char *v = rt_cg_read(h->dir, "cgroup.freeze");

  return v && strcmp(v, "1") == 0;
}

bool
rt_cgroup_frozen(const struct rt_cgroup *cg)
{
  if (cg->mode == RT_CG_UNIFIED)
    return cg->n && v2_frozen(&cg->h[0]);
  return v1_frozen(cg);
}

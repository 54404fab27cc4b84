/* linux.memoryPolicy (runtime-spec 1.3): set_mempolicy(2) for the
 * container's processes. */
#ifndef RT_MEMPOLICY_H
#define RT_MEMPOLICY_H

#include "oci-config.h"
#include "spec/oci-features.h"
#include "error.h"

/* The policy as set_mempolicy(2) takes it. */
struct rt_mempolicy
{
  int mode; /* MPOL_* | MPOL_F_* */
  unsigned long nodes[16]; /* bitmask of up to 1024 nodes */
  unsigned long maxnode;   /* bits in `nodes` that count */
};

/* Check `p` (NULL: no policy) and compute what set_mempolicy takes; errors
 * name the field ("linux.memoryPolicy.nodes: ..."). */
int rt_mempolicy_parse(const struct oci_memory_policy *p, struct rt_mempolicy *out, struct oci_error **err);

/* For `ocirt features`: the modes and flags rt_mempolicy_parse accepts. */
void rt_mempolicy_features(struct oci_features_memory_policy *out);

/* In the container's process, before it executes its program. */
int rt_mempolicy_apply(const struct rt_mempolicy *mp, struct oci_error **err);

#endif

/* process.execCPUAffinity (runtime-spec 1.2): the CPUs `exec` runs its own
 * set-up on (`initial`, before the process joins the container's cgroup)
 * and the CPUs the process then gets (`final`).  As the spec says, it does
 * not apply to the container's init: `create` only checks it. */
#ifndef RT_CPU_AFFINITY_H
#define RT_CPU_AFFINITY_H

#include <sched.h>
#include <stdbool.h>
#include <sys/types.h>

#include "oci-config.h"
#include "context.h"
#include "error.h"

struct rt_cpu_affinity
{
  bool has_initial, has_final; /* an absent or empty list changes nothing */
  cpu_set_t initial, final;
  const char *initial_list, *final_list; /* the config's text, for --debug */
};

/* Parse `a` (NULL: nothing) of the process at config path `field`
 * ("process"); errors name the list ("process.execCPUAffinity.final: ..."). */
int rt_cpu_affinity_parse(const struct oci_cpu_affinity *a, const char *field, struct rt_cpu_affinity *out,
                          struct oci_error **err);

/* `initial` for `pid` (the runtime's process that joins the cgroup), in the
 * parent before it moves that process; nothing without one. */
int rt_cpu_affinity_initial(const struct rt_context *log, const struct rt_cpu_affinity *a, pid_t pid,
                            struct oci_error **err);

/* `final` for the calling process, in the container's cgroup, before it
 * executes its program; nothing without one. */
int rt_cpu_affinity_final(const struct rt_cpu_affinity *a, struct oci_error **err);

#endif

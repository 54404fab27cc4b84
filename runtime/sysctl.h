/* linux.sysctl: only namespaced keys, written inside the container. */
#ifndef RT_SYSCTL_H
#define RT_SYSCTL_H

#include "oci-config.h"
#include "error.h"

/* runc's rules: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* need an
 * ipc namespace; net.* a network namespace that is not the caller's;
 * kernel.domainname a uts namespace; kernel.hostname is refused (it
 * conflicts with `hostname`); anything else is not namespaced.  Call from
 * the runtime before joining namespaces: a netns `path` is compared with
 * the caller's own network namespace. */
int rt_sysctl_validate(const struct oci_config *cfg, struct oci_error **err);

/* In the container (after pivot_root): write every key under /proc/sys.
 * The keys are checked again, except the netns-path comparison. */
int rt_sysctl_apply(const struct oci_config *cfg, struct oci_error **err);

#endif

/* Linux security module labels of the container's processes:
 * process.apparmorProfile (and exec --apparmor).  SELinux labels are
 * refused by name (support.c): this runtime cannot test them anywhere. */
#ifndef RT_LSM_H
#define RT_LSM_H

#include "error.h"
#include "oci-config.h"

/* In the parent, before anything is created: a profile on a host whose
 * kernel has AppArmor disabled fails here, naming the field (prefix
 * `where`, such as "process."), rather than in the init. */
int rt_lsm_check(const struct oci_process *p, const char *where, struct oci_error **err);

/* In the container's process, before its filter and its user change: the
 * profile its next execve enters. */
int rt_lsm_apply(const struct oci_process *p, struct oci_error **err);

#endif

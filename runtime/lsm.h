/* Linux security module labels of the container's processes and mounts:
 * process.apparmorProfile (and exec --apparmor), process.selinuxLabel (and
 * exec --process-label), linux.mountLabel (applied by mounts.c). */
#ifndef RT_LSM_H
#define RT_LSM_H

#include <stdbool.h>

#include "error.h"
#include "oci-config.h"

/* Whether the running kernel has SELinux on (selinuxfs is there). */
bool rt_selinux_enabled(void);

/* In the parent, before anything is created: a profile or label on a host
 * whose kernel has that LSM disabled fails here, naming the field (prefix
 * `where`, such as "process."), rather than in the init. */
int rt_lsm_check(const struct oci_process *p, const char *where, struct oci_error **err);
/* The same for linux.mountLabel. */
int rt_lsm_check_mount_label(const struct oci_linux *l, struct oci_error **err);

/* In the container's process, before its filter and its user change: the
 * profile and the SELinux label its next execve enters. */
int rt_lsm_apply(const struct oci_process *p, struct oci_error **err);

/* The SELinux label of the keyrings this thread creates: the process's
 * label (runc labels the container's session keyring so), or the default
 * again with `reset`. */
int rt_lsm_set_key_label(const struct oci_process *p, bool reset, struct oci_error **err);

#endif

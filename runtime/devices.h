/* Device nodes and the /dev links of a container (before pivot_root). */
#ifndef RT_DEVICES_H
#define RT_DEVICES_H

#include <stdbool.h>

#include "oci-config.h"
#include "error.h"

/* runc sets /dev up unless the config bind-mounts something onto /dev. */
bool rt_devices_needed(const struct oci_config *cfg);

/* The default devices (null, zero, full, random, urandom, tty) and
 * linux.devices, then /dev/fd, /dev/std{in,out,err}, /dev/core and the
 * /dev/ptmx -> pts/ptmx link, all resolved inside `rootfd`.  Nodes are
 * created with mknod, or, in a user namespace (or when mknod is refused),
 * as a bind mount of the host's node onto an empty file. */
int rt_devices_setup(int rootfd, const struct oci_config *cfg, bool in_userns, struct oci_error **err);

#endif

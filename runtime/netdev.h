/* linux.netDevices: host network interfaces moved into the container. */
#ifndef RT_NETDEV_H
#define RT_NETDEV_H

#include <sys/types.h>

#include "context.h"
#include "error.h"
#include "oci-config.h"

/* Move every interface of l->netDevices into the network namespace of
 * `pid` (the container's init, its namespaces made), rename it, restore its
 * permanent global addresses and set it up.  Nothing to do without
 * netDevices. */
int rt_netdev_move_all(const struct rt_context *ctx, const struct oci_linux *l, pid_t pid,
                       struct oci_error **err);

#endif

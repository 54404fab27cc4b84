/* The D-Bus half of the systemd cgroup driver, linked into the
 * ocirt-systemd helper (systemd-helper.c) and nowhere else: the same
 * operations as rt_cg_sd_start/set/stop (cgroups-systemd.h), which run the
 * helper, made here over sd-bus. */
#ifndef RT_CGROUPS_SYSTEMD_BUS_H
#define RT_CGROUPS_SYSTEMD_BUS_H

#include "cgroups-systemd.h"

int rt_sd_bus_start(const struct rt_cg_sd_unit *u, const char *description, pid_t pid, bool v2,
                    const struct oci_resources *res, char **cgroup, struct oci_error **err);
int rt_sd_bus_set(const char *unit, bool user, bool v2, const struct oci_resources *res,
                  struct oci_error **err);
int rt_sd_bus_stop(const char *unit, bool user, struct oci_error **err);

#endif

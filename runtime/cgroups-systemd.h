/* The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a
 * transient unit that systemd creates, limits and removes; the cgroup files
 * systemd has no property for are then written by the cgroupfs code on the
 * unit's cgroup (as runc does).  Internal to runtime/cgroups*.c. */
#ifndef RT_CGROUPS_SYSTEMD_H
#define RT_CGROUPS_SYSTEMD_H

#include <stdbool.h>
#include <stdint.h>

#include "oci-config.h"
#include "error.h"

/* What `slice:prefix:name` names. */
struct rt_cg_sd_unit
{
  char *unit;  /* "runc-c1.scope", or the slice "a-b.slice" */
  char *slice; /* the parent slice, "system.slice" */
  char *path;  /* its cgroup as the system manager places it: "/system.slice/runc-c1.scope" */
  bool is_slice;
  bool user; /* the caller's own systemd instance (rootless) */
};

/* runc's rules: empty cgroupsPath is ":runc:<id>", an empty slice is
 * system.slice (user.slice for the user's manager), the unit is
 * prefix-name.scope unless name is a slice. */
int rt_cg_sd_parse(const char *cgroups_path, const char *id, bool user, struct rt_cg_sd_unit *out,
                   struct oci_error **err);
void rt_cg_sd_unit_clear(struct rt_cg_sd_unit *u);
/* "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" (the root) -> "". */
int rt_cg_sd_expand_slice(const char *slice, char **out, struct oci_error **err);
/* cpu.quota/period -> CPUQuotaPerSecUSec, rounded up to 10 ms; no quota
 * (<= 0) is UINT64_MAX ("infinity"). */
uint64_t rt_cg_sd_quota_per_sec(int64_t quota, uint64_t period);
/* "0-2,4" -> the bitmask systemd's AllowedCPUs takes (byte i bit j = cpu 8i+j). */
int rt_cg_sd_cpu_mask(const char *list, const char *field, uint8_t **bytes, size_t *n,
                      struct oci_error **err);

/* A unit property list, independent of D-Bus. */
enum rt_sd_type
{
  RT_SD_BOOL,     /* b */
  RT_SD_U64,      /* t */
  RT_SD_STR,      /* s */
  RT_SD_BYTES,    /* ay */
  RT_SD_PIDS,     /* au, in pairs[].u */
  RT_SD_PAIRS_SS, /* a(ss): DeviceAllow */
  RT_SD_PAIRS_ST, /* a(st): IOReadBandwidthMax ... */
};

struct rt_sd_pair
{
  char *s;
  char *s2;
  uint64_t u;
};

struct rt_sd_prop
{
  char *name;
  enum rt_sd_type type;
  bool b;
  uint64_t u;
  char *s;
  uint8_t *bytes; /* RT_SD_BYTES, n of them */
  struct rt_sd_pair *pairs;
  size_t n;
};

struct rt_sd_props
{
  struct rt_sd_prop *v;
  size_t n;
};

void rt_sd_props_bool(struct rt_sd_props *p, const char *name, bool v);
void rt_sd_props_u64(struct rt_sd_props *p, const char *name, uint64_t v);
void rt_sd_props_str(struct rt_sd_props *p, const char *name, const char *v);
void rt_sd_props_pid(struct rt_sd_props *p, uint32_t pid);
const struct rt_sd_prop *rt_sd_props_find(const struct rt_sd_props *p, const char *name);
void rt_sd_props_clear(struct rt_sd_props *p);

/* linux.resources as unit properties for a systemd of `version`, on
 * cgroup v2 or v1.  Device properties with `with_devices` (creation) or
 * when res names device rules (update). */
int rt_cg_sd_resource_props(const struct oci_resources *res, bool v2, unsigned version, bool with_devices,
                            struct rt_sd_props *p, struct oci_error **err);

/* ---- the unit, through the ocirt-systemd helper (cgroups-systemd-client.c) ----
 * sd-bus lives in a helper program, not in ocirt: ocirt is linked
 * statically for its start-up time and memory, and libsystemd comes only as
 * a shared library (with libgcrypt, liblzma, libzstd, liblz4 and
 * libgpg-error behind it).  Each call below runs the helper once. */

/* Whether this build has the driver (libsystemd at configure time). */
bool rt_cg_sd_available(void);
/* StartTransientUnit with the driver's own properties (Slice, Delegate,
 * accounting, PIDs=pid unless a slice) and the resources; waits for the
 * job; *cgroup gets the unit's ControlGroup ("/system.slice/runc-c1.scope"). */
int rt_cg_sd_start(const struct rt_cg_sd_unit *u, const char *description, pid_t pid, bool v2,
                   const struct oci_resources *res, char **cgroup, struct oci_error **err);
/* SetUnitProperties (runtime) for `update`. */
int rt_cg_sd_set(const char *unit, bool user, bool v2, const struct oci_resources *res,
                 struct oci_error **err);
/* StopUnit and wait; a unit already gone is no error.  Then ResetFailedUnit
 * so that a failed scope does not keep the name. */
int rt_cg_sd_stop(const char *unit, bool user, struct oci_error **err);

#endif

/* Shared between cgroups.c (discovery, paths, dispatch), cgroups-v1.c and
 * cgroups-v2.c.  The pure helpers are exported for tests/unit/test-cgroups.c. */
#ifndef RT_CGROUPS_INTERNAL_H
#define RT_CGROUPS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "oci-config.h"
#include "cgroups.h"
#include "context.h"
#include "cgroups-systemd.h"
#include "mountinfo.h"

enum rt_cg_mode
{
  RT_CG_LEGACY = 1, /* v1 controllers only */
  RT_CG_HYBRID,     /* v1 controllers, plus a cgroup2 mount used for membership only */
  RT_CG_UNIFIED,    /* cgroup2 only */
};

/* One mounted hierarchy as found in /proc/self/mountinfo. */
struct rt_cg_mount
{
  char *mount_point; /* /sys/fs/cgroup/memory */
  char *root;        /* the mount's root inside the hierarchy ("/" on a host) */
  char *options;     /* super options: "rw,cpu,cpuacct" / "rw,name=systemd"; "" for cgroup2 */
  bool v2;
};

/* One hierarchy the container's cgroup lives in. */
struct rt_cg_hier
{
  struct rt_cg_mount m;
  char *rel; /* the container's cgroup, relative to the hierarchy root ("/a/b") */
  char *dir; /* its directory: mount_point + (rel minus the mount's root) */
};

/* A device rule after defaults are merged; major/minor -1 is the wildcard. */
struct rt_cg_dev_rule
{
  bool allow;
  char type; /* 'a' 'c' 'b' */
  int64_t major;
  int64_t minor;
  char access[4]; /* subset of "rwm", never empty */
};

struct rt_cgroup
{
  enum rt_cg_mode mode;
  char *path;                   /* the stored form (rt_cgroup_path) */
  bool created;                 /* from rt_cgroup_create: a new container, not an update */
  const struct rt_context *log; /* --debug records of each write; may be NULL */
  struct rt_cg_hier *h;
  size_t n;
  /* --systemd-cgroup: the unit (sd.unit NULL otherwise).  From a stored
   * path only unit and user are known. */
  struct rt_cg_sd_unit sd;
  char *sd_description;
};

/* ---- pure helpers (cgroups.c) ---- */

/* The cgroup side of a mountinfo entry: 1 with *out filled for a cgroup
 * or cgroup2 mount; 0 for any other, with only out->mount_point set (a
 * mount may hide earlier cgroup mounts). */
int rt_cg_mount_from(const struct oci_mountinfo *mi, struct rt_cg_mount *out);
void rt_cg_mount_clear(struct rt_cg_mount *m);
/* Whether `options` (comma separated) contains every comma-separated item of
 * `controllers` ("cpu,cpuacct"). */
bool rt_cg_options_have(const char *options, const char *controllers);

/* Parse "ID:CONTROLLERS:PATH" (/proc/PID/cgroup); pointers into a copy
 * owned by the caller: *controllers and *path point into `buf`. */
int rt_cg_parse_proc_cgroup_line(char *buf, char **controllers, char **path);

/* Cgroup paths are cleaned with spec/inroot.h's oci_path_clean
 * (OCI_PATH_KEEP_FORM).  They are not paths inside a container root: they
 * name cgroups below a cgroupfs mount, where no symlink can stand, or below
 * the caller's cgroup when relative, so nothing is resolved on the
 * filesystem.  The `..` rule they need is the same one, though (runc's
 * CleanPath: clamped at the start, "../x" is "x"), and one normaliser keeps
 * `..` meaning one thing in the whole project. */
/* The path the container's cgroup gets before resolution: the cleaned
 * linux.cgroupsPath, or the bare id (relative, as runc does) when empty. */
int rt_cg_config_path(const char *cgroups_path, const char *id, char **out, struct oci_error **err);
/* Split "slice:prefix:name" (the --systemd-cgroup form). */
int rt_cg_parse_systemd_path(const char *path, char **slice, char **prefix, char **name,
                             struct oci_error **err);
/* The directory of `rel` (relative to the hierarchy root) under a mount. */
char *rt_cg_mount_dir(const struct rt_cg_mount *m, const char *rel);

/* cpu.shares (2..262144) -> cpu.weight (1..10000); 0 stays 0 (unset). */
uint64_t rt_cg_shares_to_weight(uint64_t shares);
/* blkio.weight (10..1000) -> io.weight (1..10000); 0 stays 0. */
uint64_t rt_cg_blkio_to_io_weight(uint64_t weight);
/* OCI memory.swap (memory+swap, v1 semantics) -> v2 memory.swap.max, -1 is
 * "max", 0 is "leave alone". */
int rt_cg_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, struct oci_error **err);

/* resources.devices followed by the default allow list (runc's: it allows
 * neither more nor less, and linux.devices get no implicit rule). */
int rt_cg_device_rules(const struct oci_device_cgroup *devs, size_t n, struct rt_cg_dev_rule **out,
                       size_t *n_out, struct oci_error **err);

/* ---- file helpers (cgroups.c) ---- */

/* Write `value` to dir/file; error "writing `file` = value: <errno>".
 * With log (may be NULL) under --debug, each write is one debug record. */
int rt_cg_write(const struct rt_context *log, const char *dir, const char *file, const char *value,
                struct oci_error **err);
int rt_cg_writef(const struct rt_context *log, const char *dir, const char *file, struct oci_error **err,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Read dir/file (whole, NUL terminated, trailing newline stripped); NULL with
 * errno set on failure. */
char *rt_cg_read(const char *dir, const char *file);
bool rt_cg_exists(const char *dir, const char *file);
/* Sleep a little while the kernel settles (freezer, rmdir of exiting tasks). */
void rt_cg_backoff(unsigned attempt);

/* ---- per version ---- */

int rt_cg_v1_create_dir(const struct rt_context *log, const struct rt_cg_hier *h, struct oci_error **err);
int rt_cg_v1_apply(const struct rt_cgroup *cg, const struct oci_resources *res, struct oci_error **err);
int rt_cg_v1_freeze(const struct rt_cgroup *cg, bool frozen, struct oci_error **err);

/* `controllers` is a space separated "+memory +pids" list for the parents'
 * cgroup.subtree_control, or "" to leave them alone. */
int rt_cg_v2_create_dir(const struct rt_context *log, const struct rt_cg_hier *h, const char *controllers,
                        struct oci_error **err);
/* Controllers that `res` needs enabled ("+cpu +memory ..."); newly allocated. */
char *rt_cg_v2_needed_controllers(const struct oci_resources *res);
int rt_cg_v2_apply(const struct rt_cgroup *cg, const struct rt_cg_hier *h, const struct oci_resources *res,
                   struct oci_error **err);
int rt_cg_v2_freeze(const struct rt_context *log, const struct rt_cg_hier *h, bool frozen,
                    struct oci_error **err);
/* Build and attach a BPF_PROG_TYPE_CGROUP_DEVICE program for `rules`. */
int rt_cg_v2_devices(const char *dir, const struct rt_cg_dev_rule *rules, size_t n, struct oci_error **err);
/* The eBPF instructions for `rules` (exported for the unit test); returns
 * the instruction count, or -1. */
int rt_cg_v2_device_prog(const struct rt_cg_dev_rule *rules, size_t n, void **insns, struct oci_error **err);

#endif

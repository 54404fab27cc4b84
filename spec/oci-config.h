/* The OCI runtime configuration (runtime-spec config.md, config-linux.md).
 *
 * Naming: JSON camelCase becomes snake_case; every array is a pointer plus a
 * `_len` count; every optional scalar has a `has_` flag; an absent object is a
 * NULL pointer; an absent string is NULL.  String maps are `struct oci_kv`
 * arrays in document order.  Everything is owned by the struct and freed by
 * oci_config_free().  String arrays from oci_*_parse() and oci_config_default()
 * are also NULL-terminated (v[len] == NULL), so args/env go to execve as is. */
#ifndef OCI_CONFIG_H
#define OCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct oci_kv
{
  char *key;
  char *value;
};

struct oci_id_mapping
{
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
};

struct oci_root
{
  char *path;
  bool readonly;
};

struct oci_mount
{
  char *destination;
  char *source;
  char *type;
  char **options;
  size_t options_len;
  struct oci_id_mapping *uid_mappings;
  size_t uid_mappings_len;
  struct oci_id_mapping *gid_mappings;
  size_t gid_mappings_len;
};

struct oci_rlimit
{
  char *type; /* "RLIMIT_NOFILE" ... */
  uint64_t soft;
  uint64_t hard;
};

struct oci_capabilities
{
  char **bounding;
  size_t bounding_len;
  char **effective;
  size_t effective_len;
  char **inheritable;
  size_t inheritable_len;
  char **permitted;
  size_t permitted_len;
  char **ambient;
  size_t ambient_len;
};

struct oci_user
{
  uint32_t uid;
  uint32_t gid;
  bool has_umask;
  uint32_t umask;
  uint32_t *additional_gids;
  size_t additional_gids_len;
  char *username; /* Windows only; kept for round trips */
};

struct oci_scheduler
{
  char *policy; /* "SCHED_OTHER" ... */
  bool has_nice;
  int32_t nice;
  bool has_priority;
  int32_t priority;
  char **flags;
  size_t flags_len;
  bool has_runtime;
  uint64_t runtime;
  bool has_deadline;
  uint64_t deadline;
  bool has_period;
  uint64_t period;
};

struct oci_io_priority
{
  char *class_; /* "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE" */
  int32_t priority;
};

struct oci_cpu_affinity
{
  char *initial;
  char *final;
};

struct oci_process
{
  bool terminal;
  bool has_console_size;
  uint32_t console_height;
  uint32_t console_width;
  char *cwd;
  char **env;
  size_t env_len;
  char **args;
  size_t args_len;
  char *command_line;
  struct oci_rlimit *rlimits;
  size_t rlimits_len;
  char *apparmor_profile;
  char *selinux_label;
  struct oci_capabilities *capabilities;
  bool no_new_privileges;
  bool has_oom_score_adj;
  int32_t oom_score_adj;
  struct oci_scheduler *scheduler;
  struct oci_io_priority *io_priority;
  struct oci_cpu_affinity *exec_cpu_affinity;
  struct oci_user user;
};

struct oci_hook
{
  char *path;
  char **args;
  size_t args_len;
  char **env;
  size_t env_len;
  bool has_timeout;
  int32_t timeout; /* seconds, > 0 */
};

struct oci_hooks
{
  struct oci_hook *prestart;
  size_t prestart_len;
  struct oci_hook *create_runtime;
  size_t create_runtime_len;
  struct oci_hook *create_container;
  size_t create_container_len;
  struct oci_hook *start_container;
  size_t start_container_len;
  struct oci_hook *poststart;
  size_t poststart_len;
  struct oci_hook *poststop;
  size_t poststop_len;
};

struct oci_namespace
{
  char *type; /* pid network mount ipc uts user cgroup time */
  char *path; /* NULL: create a new one */
};

struct oci_time_offset
{
  int64_t secs;
  uint32_t nanosecs;
};

struct oci_device
{
  char *type; /* c b u p */
  char *path;
  int64_t major;
  int64_t minor;
  bool has_file_mode;
  uint32_t file_mode;
  bool has_uid;
  uint32_t uid;
  bool has_gid;
  uint32_t gid;
};

struct oci_device_cgroup
{
  bool allow;
  char *type; /* a c b; NULL means all */
  bool has_major;
  int64_t major;
  bool has_minor;
  int64_t minor;
  char *access; /* rwm */
};

struct oci_memory
{
  bool has_limit;
  int64_t limit;
  bool has_reservation;
  int64_t reservation;
  bool has_swap;
  int64_t swap;
  bool has_kernel;
  int64_t kernel;
  bool has_kernel_tcp;
  int64_t kernel_tcp;
  bool has_swappiness;
  uint64_t swappiness;
  bool has_disable_oom_killer;
  bool disable_oom_killer;
  bool has_use_hierarchy;
  bool use_hierarchy;
  bool has_check_before_update;
  bool check_before_update;
};

struct oci_cpu
{
  bool has_shares;
  uint64_t shares;
  bool has_quota;
  int64_t quota;
  bool has_burst;
  uint64_t burst;
  bool has_period;
  uint64_t period;
  bool has_realtime_runtime;
  int64_t realtime_runtime;
  bool has_realtime_period;
  uint64_t realtime_period;
  char *cpus;
  char *mems;
  bool has_idle;
  int64_t idle;
};

struct oci_weight_device
{
  int64_t major;
  int64_t minor;
  bool has_weight;
  uint16_t weight;
  bool has_leaf_weight;
  uint16_t leaf_weight;
};

struct oci_throttle_device
{
  int64_t major;
  int64_t minor;
  uint64_t rate;
};

struct oci_block_io
{
  bool has_weight;
  uint16_t weight;
  bool has_leaf_weight;
  uint16_t leaf_weight;
  struct oci_weight_device *weight_device;
  size_t weight_device_len;
  struct oci_throttle_device *throttle_read_bps_device;
  size_t throttle_read_bps_device_len;
  struct oci_throttle_device *throttle_write_bps_device;
  size_t throttle_write_bps_device_len;
  struct oci_throttle_device *throttle_read_iops_device;
  size_t throttle_read_iops_device_len;
  struct oci_throttle_device *throttle_write_iops_device;
  size_t throttle_write_iops_device_len;
};

struct oci_hugepage_limit
{
  char *page_size;
  uint64_t limit;
};

struct oci_net_priority
{
  char *name;
  uint32_t priority;
};

struct oci_network
{
  bool has_class_id;
  uint32_t class_id;
  struct oci_net_priority *priorities;
  size_t priorities_len;
};

struct oci_rdma
{
  char *device;
  bool has_hca_handles;
  uint32_t hca_handles;
  bool has_hca_objects;
  uint32_t hca_objects;
};

struct oci_resources
{
  struct oci_device_cgroup *devices;
  size_t devices_len;
  struct oci_memory *memory;
  struct oci_cpu *cpu;
  struct oci_block_io *block_io;
  struct oci_hugepage_limit *hugepage_limits;
  size_t hugepage_limits_len;
  struct oci_network *network;
  bool has_pids_limit; /* "pids": {"limit": N} */
  int64_t pids_limit;
  struct oci_rdma *rdma;
  size_t rdma_len;
  struct oci_kv *unified;
  size_t unified_len;
};

struct oci_intel_rdt
{
  char *clos_id;
  char *l3_cache_schema;
  char *mem_bw_schema;
  char **schemata;
  size_t schemata_len;
  bool enable_monitoring;
};

struct oci_seccomp_arg
{
  uint32_t index;
  uint64_t value;
  bool has_value_two;
  uint64_t value_two;
  char *op; /* SCMP_CMP_* */
};

struct oci_seccomp_syscall
{
  char **names;
  size_t names_len;
  char *action; /* SCMP_ACT_* */
  bool has_errno_ret;
  uint32_t errno_ret;
  struct oci_seccomp_arg *args;
  size_t args_len;
};

struct oci_seccomp
{
  char *default_action;
  bool has_default_errno_ret;
  uint32_t default_errno_ret;
  char **architectures;
  size_t architectures_len;
  char **flags;
  size_t flags_len;
  char *listener_path;
  char *listener_metadata;
  struct oci_seccomp_syscall *syscalls;
  size_t syscalls_len;
};

struct oci_personality
{
  char *domain; /* LINUX | LINUX32 */
  char **flags;
  size_t flags_len;
};

struct oci_net_device
{
  char *host_name; /* the map key */
  char *name;      /* NULL: keep the host name */
};

struct oci_memory_policy
{
  char *mode; /* MPOL_* */
  char *nodes;
  char **flags;
  size_t flags_len;
};

struct oci_linux
{
  struct oci_namespace *namespaces;
  size_t namespaces_len;
  struct oci_id_mapping *uid_mappings;
  size_t uid_mappings_len;
  struct oci_id_mapping *gid_mappings;
  size_t gid_mappings_len;
  bool has_time_offset_monotonic;
  struct oci_time_offset time_offset_monotonic;
  bool has_time_offset_boottime;
  struct oci_time_offset time_offset_boottime;
  struct oci_device *devices;
  size_t devices_len;
  char *cgroups_path;
  struct oci_resources *resources;
  struct oci_intel_rdt *intel_rdt;
  struct oci_kv *sysctl;
  size_t sysctl_len;
  struct oci_seccomp *seccomp;
  char *rootfs_propagation;
  char **masked_paths;
  size_t masked_paths_len;
  char **readonly_paths;
  size_t readonly_paths_len;
  char *mount_label;
  struct oci_personality *personality;
  struct oci_net_device *net_devices;
  size_t net_devices_len;
  struct oci_memory_policy *memory_policy;
};

struct oci_config
{
  char *oci_version; /* NULL: the emitter writes oci_config_min_version() */
  struct oci_root *root;
  struct oci_mount *mounts;
  size_t mounts_len;
  struct oci_process *process;
  char *hostname;
  char *domainname;
  struct oci_kv *annotations;
  size_t annotations_len;
  struct oci_hooks *hooks;
  struct oci_linux *linux_; /* `linux` is a predefined macro in GNU C */
};

/* Parse config.json text.  `name` prefixes every message ("config.json:
 * linux.resources.memory.limit: expected integer"; "config.json: line 3,
 * column 7: ..." for syntax errors). Unknown properties are ignored. */
int oci_config_parse(const char *name, const char *text, size_t len, struct oci_config **out,
                     struct oci_error **err);
/* Read and parse a file; errors are prefixed with `path`'s basename-as-given. */
int oci_config_parse_file(const char *path, struct oci_config **out, struct oci_error **err);

/* Semantic checks the types cannot express (process.args non-empty, cwd
 * absolute, namespace types known and not repeated, ...). */
int oci_config_validate(const char *name, const struct oci_config *cfg, struct oci_error **err);
/* The same checks for a bare Process (`exec --process`): "<name>: args: ...". */
int oci_process_validate(const char *name, const struct oci_process *p, struct oci_error **err);

/* The lowest runtime-spec version whose fields cover what `cfg` uses
 * ("1.0.0" ... "1.3.0"; a static string), so that runtimes that know only
 * older versions (crun 1.8 refuses 1.2.0) run what we write. */
const char *oci_config_min_version(const struct oci_config *cfg);

/* Emit as JSON (newly allocated, NUL terminated).  parse(emit(x)) == x. */
int oci_config_emit(const struct oci_config *cfg, bool pretty, char **out, size_t *len,
                    struct oci_error **err);

/* A bare LinuxResources object as compact JSON: what oci_resources_parse
 * reads back (the systemd driver hands resources to its helper so). */
int oci_resources_emit(const struct oci_resources *res, char **out, size_t *len, struct oci_error **err);

/* Parse a bare runtime-spec Process object (used by `exec --process`). */
int oci_process_parse(const char *name, const char *text, size_t len, struct oci_process **out,
                      struct oci_error **err);
/* Parse a bare LinuxResources object (used by `update --resources`). */
int oci_resources_parse(const char *name, const char *text, size_t len, struct oci_resources **out,
                        struct oci_error **err);

/* The default configuration that `ocirt spec` writes, as runc's: args ["sh"],
 * terminal true, default mounts, capabilities, rlimits, masked/readonly paths;
 * no ociVersion, so that the emitter writes the one the final fields need.
 * `rootless` adds a user namespace mapping `uid`/`gid` to root and the
 * mount options an unprivileged user can use. */
struct oci_config *oci_config_default(bool rootless, uint32_t uid, uint32_t gid);
/* What `runc spec` adds on a cgroup v2 host: a cgroup namespace, after the
 * mount namespace and before the user namespace of --rootless. */
void oci_config_default_add_cgroupns(struct oci_config *cfg);

void oci_config_free(struct oci_config *cfg);
void oci_process_free(struct oci_process *p);
void oci_resources_free(struct oci_resources *r);

static inline void
cleanup_configp(struct oci_config **c)
{
  oci_config_free(*c);
}
#define cleanup_config __attribute__((cleanup(cleanup_configp)))

#endif

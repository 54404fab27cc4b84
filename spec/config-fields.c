/* Every field of the runtime config (config.md, config-linux.md), described
 * once: parsing, emitting, freeing and the range checks of validation
 * follow from these tables (fields.c).
 * Rows are in the order runtime-spec's Go types print them, which is the
 * order `runc spec` writes and so the order we emit. */
#include <stdlib.h>

#include "oci-config.h"
#include "config-fields.h"

/* ---- shared ---- */

static const struct oci_field id_mapping_fields[] = {
  OCI_SCALAR("containerID", struct oci_id_mapping, container_id),
  OCI_SCALAR("hostID", struct oci_id_mapping, host_id),
  OCI_SCALAR("size", struct oci_id_mapping, size, OCI_RANGE_WHY(1, UINT32_MAX, "must be greater than zero")),
  OCI_FIELDS_END,
};

#define ID_MAPPINGS(json, type, member) OCI_ARRAY(json, type, member, OCI_ELEM_STRUCT(id_mapping_fields))
#define STRING_MAP(json, type, member)                                                                       \
  OCI_MAP(json, type, member, key, OCI_ELEM_STRING_AT(struct oci_kv, value))

/* ---- root, mounts ---- */

static const struct oci_field root_fields[] = {
  OCI_SCALAR("path", struct oci_root, path),
  OCI_FLAG("readonly", struct oci_root, readonly),
  OCI_FIELDS_END,
};

static const struct oci_field mount_fields[] = {
  OCI_SCALAR("destination", struct oci_mount, destination),
  OCI_SCALAR("type", struct oci_mount, type),
  OCI_SCALAR("source", struct oci_mount, source),
  OCI_STRV("options", struct oci_mount, options),
  ID_MAPPINGS("uidMappings", struct oci_mount, uid_mappings),
  ID_MAPPINGS("gidMappings", struct oci_mount, gid_mappings),
  OCI_FIELDS_END,
};

/* ---- process ---- */

/* "consoleSize": {"height": H, "width": W} lives in oci_process itself */
static const struct oci_field console_size_fields[] = {
  OCI_SCALAR("height", struct oci_process, console_height),
  OCI_SCALAR("width", struct oci_process, console_width),
  OCI_FIELDS_END,
};

static const struct oci_field user_fields[] = {
  OCI_SCALAR("uid", struct oci_user, uid),
  OCI_SCALAR("gid", struct oci_user, gid),
  OCI_OPTIONAL("umask", struct oci_user, umask),
  OCI_ARRAY("additionalGids", struct oci_user, additional_gids, OCI_ELEM_SCALAR(uint32_t)),
  OCI_SCALAR("username", struct oci_user, username),
  OCI_FIELDS_END,
};

static const struct oci_field capabilities_fields[] = {
  OCI_STRV("bounding", struct oci_capabilities, bounding),
  OCI_STRV("effective", struct oci_capabilities, effective),
  OCI_STRV("inheritable", struct oci_capabilities, inheritable),
  OCI_STRV("permitted", struct oci_capabilities, permitted),
  OCI_STRV("ambient", struct oci_capabilities, ambient),
  OCI_FIELDS_END,
};

static const struct oci_field rlimit_fields[] = {
  OCI_SCALAR("type", struct oci_rlimit, type),
  OCI_SCALAR("hard", struct oci_rlimit, hard),
  OCI_SCALAR("soft", struct oci_rlimit, soft),
  OCI_FIELDS_END,
};

static const struct oci_field scheduler_fields[] = {
  OCI_SCALAR("policy", struct oci_scheduler, policy),
  OCI_OPTIONAL("nice", struct oci_scheduler, nice, OCI_RANGE(-20, 19)),
  OCI_OPTIONAL("priority", struct oci_scheduler, priority),
  OCI_STRV("flags", struct oci_scheduler, flags),
  OCI_OPTIONAL("runtime", struct oci_scheduler, runtime),
  OCI_OPTIONAL("deadline", struct oci_scheduler, deadline),
  OCI_OPTIONAL("period", struct oci_scheduler, period),
  OCI_FIELDS_END,
};

static const struct oci_field io_priority_fields[] = {
  OCI_SCALAR("class", struct oci_io_priority, class_),
  OCI_SCALAR("priority", struct oci_io_priority, priority, OCI_RANGE(0, 7)),
  OCI_FIELDS_END,
};

static const struct oci_field cpu_affinity_fields[] = {
  OCI_SCALAR("initial", struct oci_cpu_affinity, initial),
  OCI_SCALAR("final", struct oci_cpu_affinity, final),
  OCI_FIELDS_END,
};

const struct oci_field oci_process_fields[] = {
  OCI_FLAG("terminal", struct oci_process, terminal),
  OCI_INLINE_OPTIONAL("consoleSize", struct oci_process, console_size, console_size_fields),
  OCI_STRUCT("user", struct oci_process, user, user_fields),
  OCI_STRV("args", struct oci_process, args),
  OCI_SCALAR("commandLine", struct oci_process, command_line),
  OCI_STRV("env", struct oci_process, env),
  OCI_SCALAR("cwd", struct oci_process, cwd),
  OCI_OBJECT("capabilities", struct oci_process, capabilities, capabilities_fields),
  OCI_ARRAY("rlimits", struct oci_process, rlimits, OCI_ELEM_STRUCT(rlimit_fields)),
  OCI_FLAG("noNewPrivileges", struct oci_process, no_new_privileges),
  OCI_SCALAR("apparmorProfile", struct oci_process, apparmor_profile),
  OCI_OPTIONAL("oomScoreAdj", struct oci_process, oom_score_adj, OCI_RANGE(-1000, 1000)),
  OCI_OBJECT("scheduler", struct oci_process, scheduler, scheduler_fields),
  OCI_SCALAR("selinuxLabel", struct oci_process, selinux_label),
  OCI_OBJECT("ioPriority", struct oci_process, io_priority, io_priority_fields),
  OCI_OBJECT("execCPUAffinity", struct oci_process, exec_cpu_affinity, cpu_affinity_fields),
  OCI_FIELDS_END,
};

/* ---- hooks ---- */

static const struct oci_field hook_fields[] = {
  OCI_SCALAR("path", struct oci_hook, path),
  OCI_STRV("args", struct oci_hook, args),
  OCI_STRV("env", struct oci_hook, env),
  OCI_OPTIONAL("timeout", struct oci_hook, timeout, OCI_RANGE_WHY(1, INT32_MAX, "must be greater than zero")),
  OCI_FIELDS_END,
};

#define HOOKS(json, member) OCI_ARRAY(json, struct oci_hooks, member, OCI_ELEM_STRUCT(hook_fields))

static const struct oci_field hooks_fields[] = {
  HOOKS("prestart", prestart),
  HOOKS("createRuntime", create_runtime),
  HOOKS("createContainer", create_container),
  HOOKS("startContainer", start_container),
  HOOKS("poststart", poststart),
  HOOKS("poststop", poststop),
  OCI_FIELDS_END,
};

/* ---- linux.resources ---- */

static const struct oci_field device_cgroup_fields[] = {
  OCI_SCALAR("allow", struct oci_device_cgroup, allow),
  OCI_SCALAR("type", struct oci_device_cgroup, type),
  OCI_OPTIONAL("major", struct oci_device_cgroup, major),
  OCI_OPTIONAL("minor", struct oci_device_cgroup, minor),
  OCI_SCALAR("access", struct oci_device_cgroup, access),
  OCI_FIELDS_END,
};

static const struct oci_field memory_fields[] = {
  OCI_OPTIONAL("limit", struct oci_memory, limit),
  OCI_OPTIONAL("reservation", struct oci_memory, reservation),
  OCI_OPTIONAL("swap", struct oci_memory, swap),
  OCI_OPTIONAL("kernel", struct oci_memory, kernel),
  OCI_OPTIONAL("kernelTCP", struct oci_memory, kernel_tcp),
  OCI_OPTIONAL("swappiness", struct oci_memory, swappiness),
  OCI_OPTIONAL("disableOOMKiller", struct oci_memory, disable_oom_killer),
  OCI_OPTIONAL("useHierarchy", struct oci_memory, use_hierarchy),
  OCI_OPTIONAL("checkBeforeUpdate", struct oci_memory, check_before_update),
  OCI_FIELDS_END,
};

static const struct oci_field cpu_fields[] = {
  OCI_OPTIONAL("shares", struct oci_cpu, shares),
  OCI_OPTIONAL("quota", struct oci_cpu, quota),
  OCI_OPTIONAL("burst", struct oci_cpu, burst),
  OCI_OPTIONAL("period", struct oci_cpu, period),
  OCI_OPTIONAL("realtimeRuntime", struct oci_cpu, realtime_runtime),
  OCI_OPTIONAL("realtimePeriod", struct oci_cpu, realtime_period),
  OCI_SCALAR("cpus", struct oci_cpu, cpus),
  OCI_SCALAR("mems", struct oci_cpu, mems),
  OCI_OPTIONAL("idle", struct oci_cpu, idle),
  OCI_FIELDS_END,
};

/* "pids": {"limit": N} lives in oci_resources itself */
static const struct oci_field pids_fields[] = {
  OCI_OPTIONAL("limit", struct oci_resources, pids_limit),
  OCI_FIELDS_END,
};

static const struct oci_field weight_device_fields[] = {
  OCI_SCALAR("major", struct oci_weight_device, major),
  OCI_SCALAR("minor", struct oci_weight_device, minor),
  OCI_OPTIONAL("weight", struct oci_weight_device, weight),
  OCI_OPTIONAL("leafWeight", struct oci_weight_device, leaf_weight),
  OCI_FIELDS_END,
};

static const struct oci_field throttle_device_fields[] = {
  OCI_SCALAR("major", struct oci_throttle_device, major),
  OCI_SCALAR("minor", struct oci_throttle_device, minor),
  OCI_SCALAR("rate", struct oci_throttle_device, rate),
  OCI_FIELDS_END,
};

#define THROTTLE(json, member)                                                                               \
  OCI_ARRAY(json, struct oci_block_io, member, OCI_ELEM_STRUCT(throttle_device_fields))

static const struct oci_field block_io_fields[] = {
  OCI_OPTIONAL("weight", struct oci_block_io, weight),
  OCI_OPTIONAL("leafWeight", struct oci_block_io, leaf_weight),
  OCI_ARRAY("weightDevice", struct oci_block_io, weight_device, OCI_ELEM_STRUCT(weight_device_fields)),
  THROTTLE("throttleReadBpsDevice", throttle_read_bps_device),
  THROTTLE("throttleWriteBpsDevice", throttle_write_bps_device),
  THROTTLE("throttleReadIOPSDevice", throttle_read_iops_device),
  THROTTLE("throttleWriteIOPSDevice", throttle_write_iops_device),
  OCI_FIELDS_END,
};

static const struct oci_field hugepage_limit_fields[] = {
  OCI_SCALAR("pageSize", struct oci_hugepage_limit, page_size),
  OCI_SCALAR("limit", struct oci_hugepage_limit, limit),
  OCI_FIELDS_END,
};

static const struct oci_field net_priority_fields[] = {
  OCI_SCALAR("name", struct oci_net_priority, name),
  OCI_SCALAR("priority", struct oci_net_priority, priority),
  OCI_FIELDS_END,
};

static const struct oci_field network_fields[] = {
  OCI_OPTIONAL("classID", struct oci_network, class_id),
  OCI_ARRAY("priorities", struct oci_network, priorities, OCI_ELEM_STRUCT(net_priority_fields)),
  OCI_FIELDS_END,
};

/* "rdma": {"<device>": {"hcaHandles": N, "hcaObjects": N}} */
static const struct oci_field rdma_fields[] = {
  OCI_OPTIONAL("hcaHandles", struct oci_rdma, hca_handles),
  OCI_OPTIONAL("hcaObjects", struct oci_rdma, hca_objects),
  OCI_FIELDS_END,
};

#define STRING_MAP(json, type, member)                                                                       \
  OCI_MAP(json, type, member, key, OCI_ELEM_STRING_AT(struct oci_kv, value))

const struct oci_field oci_resources_fields[] = {
  OCI_ARRAY("devices", struct oci_resources, devices, OCI_ELEM_STRUCT(device_cgroup_fields)),
  OCI_OBJECT("memory", struct oci_resources, memory, memory_fields),
  OCI_OBJECT("cpu", struct oci_resources, cpu, cpu_fields),
  OCI_INLINE("pids", pids_fields),
  OCI_OBJECT("blockIO", struct oci_resources, block_io, block_io_fields),
  OCI_ARRAY("hugepageLimits", struct oci_resources, hugepage_limits, OCI_ELEM_STRUCT(hugepage_limit_fields)),
  OCI_OBJECT("network", struct oci_resources, network, network_fields),
  OCI_MAP("rdma", struct oci_resources, rdma, device, OCI_ELEM_STRUCT(rdma_fields)),
  STRING_MAP("unified", struct oci_resources, unified),
  OCI_FIELDS_END,
};

/* ---- linux ---- */

static const struct oci_field namespace_fields[] = {
  OCI_SCALAR("type", struct oci_namespace, type),
  OCI_SCALAR("path", struct oci_namespace, path),
  OCI_FIELDS_END,
};

static const struct oci_field device_fields[] = {
  OCI_SCALAR("path", struct oci_device, path),
  OCI_SCALAR("type", struct oci_device, type),
  OCI_SCALAR("major", struct oci_device, major),
  OCI_SCALAR("minor", struct oci_device, minor),
  OCI_OPTIONAL("fileMode", struct oci_device, file_mode),
  OCI_OPTIONAL("uid", struct oci_device, uid),
  OCI_OPTIONAL("gid", struct oci_device, gid),
  OCI_FIELDS_END,
};

static const struct oci_field seccomp_arg_fields[] = {
  OCI_SCALAR("index", struct oci_seccomp_arg, index, OCI_RANGE(0, 5)),
  OCI_SCALAR("value", struct oci_seccomp_arg, value),
  OCI_OPTIONAL("valueTwo", struct oci_seccomp_arg, value_two),
  OCI_SCALAR("op", struct oci_seccomp_arg, op),
  OCI_FIELDS_END,
};

static const struct oci_field seccomp_syscall_fields[] = {
  OCI_STRV("names", struct oci_seccomp_syscall, names),
  OCI_SCALAR("action", struct oci_seccomp_syscall, action),
  OCI_OPTIONAL("errnoRet", struct oci_seccomp_syscall, errno_ret),
  OCI_ARRAY("args", struct oci_seccomp_syscall, args, OCI_ELEM_STRUCT(seccomp_arg_fields)),
  OCI_FIELDS_END,
};

const struct oci_field oci_seccomp_fields[] = {
  OCI_SCALAR("defaultAction", struct oci_seccomp, default_action),
  OCI_OPTIONAL("defaultErrnoRet", struct oci_seccomp, default_errno_ret),
  OCI_STRV("architectures", struct oci_seccomp, architectures),
  OCI_STRV("flags", struct oci_seccomp, flags),
  OCI_SCALAR("listenerPath", struct oci_seccomp, listener_path),
  OCI_SCALAR("listenerMetadata", struct oci_seccomp, listener_metadata),
  OCI_ARRAY("syscalls", struct oci_seccomp, syscalls, OCI_ELEM_STRUCT(seccomp_syscall_fields)),
  OCI_FIELDS_END,
};

static const struct oci_field intel_rdt_fields[] = {
  OCI_SCALAR("closID", struct oci_intel_rdt, clos_id),
  OCI_SCALAR("l3CacheSchema", struct oci_intel_rdt, l3_cache_schema),
  OCI_SCALAR("memBwSchema", struct oci_intel_rdt, mem_bw_schema),
  OCI_STRV("schemata", struct oci_intel_rdt, schemata),
  OCI_FLAG("enableMonitoring", struct oci_intel_rdt, enable_monitoring),
  OCI_FIELDS_END,
};

static const struct oci_field personality_fields[] = {
  OCI_SCALAR("domain", struct oci_personality, domain),
  OCI_STRV("flags", struct oci_personality, flags),
  OCI_FIELDS_END,
};

static const struct oci_field time_offset_fields[] = {
  OCI_SCALAR("secs", struct oci_time_offset, secs),
  OCI_SCALAR("nanosecs", struct oci_time_offset, nanosecs,
             OCI_RANGE_WHY(0, 999999999, "must be less than 1000000000")),
  OCI_FIELDS_END,
};

/* "timeOffsets": {"monotonic": {...}, "boottime": {...}} lives in oci_linux itself */
static const struct oci_field time_offsets_fields[] = {
  OCI_STRUCT_OPTIONAL("monotonic", struct oci_linux, time_offset_monotonic, time_offset_fields),
  OCI_STRUCT_OPTIONAL("boottime", struct oci_linux, time_offset_boottime, time_offset_fields),
  OCI_FIELDS_END,
};

/* "netDevices": {"<host name>": {"name": "<name in the container>"}} */
static const struct oci_field net_device_fields[] = {
  OCI_SCALAR("name", struct oci_net_device, name),
  OCI_FIELDS_END,
};

static const struct oci_field memory_policy_fields[] = {
  OCI_SCALAR("mode", struct oci_memory_policy, mode),
  OCI_SCALAR("nodes", struct oci_memory_policy, nodes),
  OCI_STRV("flags", struct oci_memory_policy, flags),
  OCI_FIELDS_END,
};

static const struct oci_field linux_fields[] = {
  ID_MAPPINGS("uidMappings", struct oci_linux, uid_mappings),
  ID_MAPPINGS("gidMappings", struct oci_linux, gid_mappings),
  STRING_MAP("sysctl", struct oci_linux, sysctl),
  OCI_OBJECT("resources", struct oci_linux, resources, oci_resources_fields),
  OCI_SCALAR("cgroupsPath", struct oci_linux, cgroups_path),
  OCI_ARRAY("namespaces", struct oci_linux, namespaces, OCI_ELEM_STRUCT(namespace_fields)),
  OCI_ARRAY("devices", struct oci_linux, devices, OCI_ELEM_STRUCT(device_fields)),
  OCI_OBJECT("seccomp", struct oci_linux, seccomp, oci_seccomp_fields),
  OCI_SCALAR("rootfsPropagation", struct oci_linux, rootfs_propagation),
  OCI_STRV("maskedPaths", struct oci_linux, masked_paths),
  OCI_STRV("readonlyPaths", struct oci_linux, readonly_paths),
  OCI_SCALAR("mountLabel", struct oci_linux, mount_label),
  OCI_OBJECT("intelRdt", struct oci_linux, intel_rdt, intel_rdt_fields),
  OCI_OBJECT("personality", struct oci_linux, personality, personality_fields),
  OCI_INLINE("timeOffsets", time_offsets_fields),
  OCI_MAP("netDevices", struct oci_linux, net_devices, host_name, OCI_ELEM_STRUCT(net_device_fields)),
  OCI_OBJECT("memoryPolicy", struct oci_linux, memory_policy, memory_policy_fields),
  OCI_FIELDS_END,
};

/* ---- the top level ---- */

const struct oci_field oci_config_fields[] = {
  /* oci_config_emit writes it first, itself */
  { .name = "ociVersion",
    .kind = OCI_FIELD_STRING,
    .flags = OCI_FIELD_EMIT_BY_HAND,
    .offset = offsetof(struct oci_config, oci_version) },
  OCI_OBJECT("process", struct oci_config, process, oci_process_fields),
  OCI_OBJECT("root", struct oci_config, root, root_fields),
  OCI_SCALAR("hostname", struct oci_config, hostname),
  OCI_SCALAR("domainname", struct oci_config, domainname),
  OCI_ARRAY("mounts", struct oci_config, mounts, OCI_ELEM_STRUCT(mount_fields)),
  OCI_OBJECT("hooks", struct oci_config, hooks, hooks_fields),
  STRING_MAP("annotations", struct oci_config, annotations),
  OCI_OBJECT("linux", struct oci_config, linux_, linux_fields),
  OCI_FIELDS_END,
};

/* ---- destructors ---- */

void
oci_config_free(struct oci_config *cfg)
{
  oci_fields_free(oci_config_fields, cfg);
  free(cfg);
}

void
oci_process_free(struct oci_process *p)
{
  oci_fields_free(oci_process_fields, p);
  free(p);
}

void
oci_resources_free(struct oci_resources *r)
{
  oci_fields_free(oci_resources_fields, r);
  free(r);
}

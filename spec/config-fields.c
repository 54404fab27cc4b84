/* Every field of the runtime config (config.md, config-linux.md), described
 * once: parsing, emitting and freeing follow from these tables (fields.c).
 * Rows are in the order runtime-spec's Go types print them, which is the
 * order `runc spec` writes and so the order we emit. */
#include "oci-config.h"
#include "config-fields.h"

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

const struct oci_field oci_linux_resources_field[] = {
  OCI_OBJECT("resources", struct oci_linux, resources, oci_resources_fields),
  OCI_FIELDS_END,
};

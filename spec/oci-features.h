/* The runtime-spec features document (features.md, features-linux.md): what
 * this runtime build supports, printed by `ocirt features`.
 *
 * The document distinguishes "unknown" (member absent or null) from "none"
 * (an empty array, false): every list and boolean here carries a `set` flag,
 * and an absent object is a NULL pointer.  Unset members are not emitted. */
#ifndef OCI_FEATURES_H
#define OCI_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

#include "oci-config.h"
#include "error.h"

struct oci_strlist
{
  bool set; /* false: emitted as absent; true with len 0: emitted as [] */
  char **v;
  size_t len;
};

struct oci_optbool
{
  bool set;
  bool value;
};

struct oci_features_enabled
{
  struct oci_optbool enabled;
};

struct oci_features_cgroup
{
  struct oci_optbool v1;
  struct oci_optbool v2;
  struct oci_optbool systemd;
  struct oci_optbool systemd_user;
  struct oci_optbool rdma;
};

struct oci_features_seccomp
{
  struct oci_optbool enabled;
  struct oci_strlist actions;   /* SCMP_ACT_* */
  struct oci_strlist operators; /* SCMP_CMP_* */
  struct oci_strlist archs;     /* SCMP_ARCH_* */
  struct oci_strlist known_flags;
  struct oci_strlist supported_flags;
};

struct oci_features_intel_rdt
{
  struct oci_optbool enabled;
  struct oci_optbool schemata;
  struct oci_optbool monitoring;
};

struct oci_features_memory_policy
{
  struct oci_strlist modes; /* MPOL_* */
  struct oci_strlist flags;
};

struct oci_features_mount_extensions
{
  struct oci_features_enabled *idmap;
};

struct oci_features_linux
{
  struct oci_strlist namespaces;
  struct oci_strlist capabilities;
  struct oci_features_cgroup *cgroup;
  struct oci_features_seccomp *seccomp;
  struct oci_features_enabled *apparmor;
  struct oci_features_enabled *selinux;
  struct oci_features_intel_rdt *intel_rdt;
  struct oci_features_mount_extensions *mount_extensions;
  struct oci_features_enabled *net_devices;
  struct oci_features_memory_policy *memory_policy;
};

struct oci_features
{
  char *oci_version_min; /* required */
  char *oci_version_max; /* required */
  struct oci_strlist hooks;
  struct oci_strlist mount_options;
  struct oci_features_linux *linux_;
  struct oci_kv *annotations;
  size_t annotations_len;
  struct oci_strlist potentially_unsafe_config_annotations;
};

/* Append a copy of s and mark the list set. */
void oci_strlist_add(struct oci_strlist *l, const char *s);
/* Mark the list set and append copies of a NULL-terminated array. */
void oci_strlist_add_all(struct oci_strlist *l, const char *const *items);
void oci_strlist_clear(struct oci_strlist *l);

/* Pretty output uses four-space indents, as `runc features` does. */
int oci_features_emit(const struct oci_features *f, bool pretty, char **out, size_t *len,
                      struct oci_error **err);
void oci_features_free(struct oci_features *f);

#endif

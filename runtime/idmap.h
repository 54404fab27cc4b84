/* Idmapped mounts (runtime-spec config.md "Mounts": uidMappings and
 * gidMappings of a mount, the "idmap" and "ridmap" options): a detached
 * copy of the source's mount tree gets MOUNT_ATTR_IDMAP with a user
 * namespace built for its mappings.  This needs privileges in the initial
 * user namespace, so the parent does it before the init runs; the init
 * attaches the tree (rt_mount_one's source_fd). */
#ifndef RT_IDMAP_H
#define RT_IDMAP_H

#include <stdbool.h>

#include "oci-config.h"
#include "error.h"

/* Whether config.mounts entry `m` asks for an idmapped mount. */
bool rt_mount_is_idmapped(const struct oci_mount *m);

/* Apply the mount's mappings (or, when it gives none, `cfg`'s linux
 * uidMappings/gidMappings, as the "idmap" option says) to `tree`, a
 * detached copy made by open_tree(OPEN_TREE_CLONE); recursively for
 * "ridmap". */
int rt_idmap_tree(int tree, const struct oci_mount *m, const struct oci_config *cfg, struct oci_error **err);

#endif

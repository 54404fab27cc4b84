/* process.capabilities via libcap: bounding, inheritable, permitted,
 * effective, ambient.  Unknown names are an error naming the field. */
#ifndef RT_CAPABILITIES_H
#define RT_CAPABILITIES_H

#include "oci-config.h"
#include "error.h"

/* Call before changing uid: keeps permitted caps across setuid. */
int rt_caps_keep_on_setuid(struct oci_error **err);
/* Apply the five sets (NULL caps: drop everything, as runc does with an
 * empty object).  Must run after setuid/setgid. */
int rt_caps_apply(const struct oci_capabilities *caps, struct oci_error **err);
/* Validate names without applying, for `create` to fail early. */
int rt_caps_validate(const struct oci_capabilities *caps, struct oci_error **err);

#endif

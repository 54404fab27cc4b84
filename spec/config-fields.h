/* The runtime config's field tables (config-fields.c), for the parse, emit
 * and free entry points. */
#ifndef OCI_CONFIG_FIELDS_H
#define OCI_CONFIG_FIELDS_H

#include "fields.h"

extern const struct oci_field oci_config_fields[];
extern const struct oci_field oci_process_fields[];   /* `exec --process` */
extern const struct oci_field oci_resources_fields[]; /* `update --resources` */
extern const struct oci_field oci_seccomp_fields[];   /* the seccomp cache's key */

#endif

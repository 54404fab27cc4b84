/* The runtime config's field tables (config-fields.c), for the parse, emit
 * and free entry points. */
#ifndef OCI_CONFIG_FIELDS_H
#define OCI_CONFIG_FIELDS_H

#include "fields.h"

extern const struct oci_field oci_resources_fields[];
/* linux.resources alone, while the rest of linux is written by hand */
extern const struct oci_field oci_linux_resources_field[];

#endif

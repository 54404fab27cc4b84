#ifndef RT_SUPPORT_H
#define RT_SUPPORT_H

#include "oci-config.h"
#include "error.h"

/* An error naming the first field ocirt does not implement, or 0. */
int rt_config_check_support(const struct oci_config *cfg, struct oci_error **err);
/* The same for a process (`exec --process`); `where` names its file. */
int rt_process_check_support(const char *where, const struct oci_process *p, struct oci_error **err);

#endif

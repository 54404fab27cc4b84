/* Signal names and numbers as `runc kill` accepts them. */
#ifndef RT_SIGNALS_H
#define RT_SIGNALS_H

#include "error.h"

/* "KILL", "SIGKILL", "kill", "9", "RTMIN+3", "SIGRTMAX-1" -> signal number. */
int rt_signal_parse(const char *text, int *signo, struct oci_error **err);

#endif

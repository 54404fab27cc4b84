#ifndef RT_SD_BUS_LIB_H
#define RT_SD_BUS_LIB_H

/* libsystemd's sd-bus, opened when the systemd cgroup driver is first used
 * rather than linked: linking it maps libsystemd and the five libraries it
 * needs (libgcrypt, liblzma, libzstd, liblz4, libgpg-error) into every
 * ocirt process, which made `ocirt list` execute four times the
 * instructions and take 1 MiB more memory, for a driver most invocations
 * never touch. */

#include <systemd/sd-bus.h>

#include "error.h"

/* The functions the driver calls (cgroups-systemd-bus.c). */
#define RT_SD_BUS_FUNCTIONS(X)                                                                               \
  X(sd_bus_open_system)                                                                                      \
  X(sd_bus_open_user)                                                                                        \
  X(sd_bus_flush_close_unref)                                                                                \
  X(sd_bus_process)                                                                                          \
  X(sd_bus_wait)                                                                                             \
  X(sd_bus_call)                                                                                             \
  X(sd_bus_call_method)                                                                                      \
  X(sd_bus_get_property_string)                                                                              \
  X(sd_bus_match_signal)                                                                                     \
  X(sd_bus_slot_unref)                                                                                       \
  X(sd_bus_message_new_method_call)                                                                          \
  X(sd_bus_message_unref)                                                                                    \
  X(sd_bus_message_append)                                                                                   \
  X(sd_bus_message_append_array)                                                                             \
  X(sd_bus_message_open_container)                                                                           \
  X(sd_bus_message_close_container)                                                                          \
  X(sd_bus_message_read)                                                                                     \
  X(sd_bus_error_free)                                                                                       \
  X(sd_bus_error_is_set)                                                                                     \
  X(sd_bus_error_has_name)                                                                                   \
  X(sd_bus_error_get_errno)

struct rt_sd_bus_lib
{
#define RT_SD_BUS_MEMBER(name) __typeof__(name) *name;
  RT_SD_BUS_FUNCTIONS(RT_SD_BUS_MEMBER)
#undef RT_SD_BUS_MEMBER
};

/* The table, libsystemd.so.0 opened and every function resolved on the
 * first call (the process keeps it: the library stays loaded); NULL with
 * a "not supported" error naming what is missing. */
const struct rt_sd_bus_lib *rt_sd_bus_lib(struct oci_error **err);

#endif

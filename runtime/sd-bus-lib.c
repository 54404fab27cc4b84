#include <config.h>

#include <dlfcn.h>
#include <stdbool.h>

#include "sd-bus-lib.h"

const struct rt_sd_bus_lib *
rt_sd_bus_lib(struct oci_error **err)
{
  /* Written once, before the first use; nothing else in ocirt changes it.
   * A process opens the bus a few times at most, all from one thread. */
  static struct rt_sd_bus_lib lib;
  static bool resolved;
  struct rt_sd_bus_lib found;
  void *handle;

  if (resolved)
    return &lib;
  handle = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL)
    {
      oci_error_set(err, 0, "not supported: --systemd-cgroup (%s)", dlerror());
      return NULL;
    }
#define RT_SD_BUS_RESOLVE(name)                                                                              \
  found.name = (__typeof__(name) *)dlsym(handle, #name);                                                     \
  if (found.name == NULL)                                                                                    \
    {                                                                                                        \
      oci_error_set(err, 0, "not supported: --systemd-cgroup (libsystemd.so.0 has no %s)", #name);           \
      dlclose(handle);                                                                                       \
      return NULL;                                                                                           \
    }
  RT_SD_BUS_FUNCTIONS(RT_SD_BUS_RESOLVE)
#undef RT_SD_BUS_RESOLVE
  lib = found;
  resolved = true;
  return &lib;
}

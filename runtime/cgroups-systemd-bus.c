/* The systemd cgroup driver's D-Bus half (libsystemd's sd-bus): start,
 * change and stop the container's transient unit through systemd's Manager
 * API, on the system bus, or the user's bus for a rootless caller.  Linked
 * into the ocirt-systemd helper only (see cgroups-systemd-bus.h). */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "cgroups-systemd-bus.h"
#include "util.h"


#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
/* How long a job may take: runc waits 30 s for systemd too. */
#define SD_JOB_TIMEOUT_USEC (30ULL * 1000000ULL)

static void
cleanup_busp(sd_bus **b)
{
  if (*b)
    sd_bus_flush_close_unref(*b);
}
#define cleanup_bus __attribute__((cleanup(cleanup_busp)))

static void
cleanup_msgp(sd_bus_message **m)
{
  if (*m)
    sd_bus_message_unref(*m);
}
#define cleanup_msg __attribute__((cleanup(cleanup_msgp)))

static void
cleanup_slotp(sd_bus_slot **s)
{
  if (*s)
    sd_bus_slot_unref(*s);
}
#define cleanup_slot __attribute__((cleanup(cleanup_slotp)))

static void
cleanup_bus_errorp(sd_bus_error *e)
{
  if (e->name || e->message)
    sd_bus_error_free(e);
}
#define cleanup_bus_error __attribute__((cleanup(cleanup_bus_errorp)))

static void
cleanup_propsp(struct rt_sd_props *p)
{
  rt_sd_props_clear(p);
}
#define cleanup_props __attribute__((cleanup(cleanup_propsp)))

/* An sd-bus failure as our error: systemd's message when it sent one. */
static int
bus_fail(struct oci_error **err, int r, const sd_bus_error *e, const char *what, const char *unit)
{
  if (e && sd_bus_error_is_set(e))
    return oci_error_set(err, sd_bus_error_get_errno(e), "systemd: %s `%s`: %s", what, unit,
                         e->message ? e->message : e->name);
  return oci_error_set(err, -r, "systemd: %s `%s`", what, unit);
}

static int
bus_open(bool user, sd_bus **out, struct oci_error **err)
{
  int r;

  r = user ? sd_bus_open_user(out) : sd_bus_open_system(out);
  if (r < 0)
    return oci_error_set(err, -r, "connecting to the %s bus for the systemd cgroup driver",
                         user ? "user's" : "system");
  return 0;
}

/* The manager's version ("252.39-1~deb12u2" -> 252); 0 when unknown, which
 * then sends only the properties every systemd knows. */
static unsigned
manager_version(sd_bus *bus)
{
  cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
  cleanup_free char *v = NULL;

  if (sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &e, &v) < 0 || v == NULL)
    return 0;
  return (unsigned)strtoul(v[0] == 'v' ? v + 1 : v, NULL, 10);
}

static int
append_prop(sd_bus_message *m, const struct rt_sd_prop *p)
{
  static const char *const sig[] = {
    [RT_SD_BOOL] = "b",  [RT_SD_U64] = "t",          [RT_SD_STR] = "s",          [RT_SD_BYTES] = "ay",
    [RT_SD_PIDS] = "au", [RT_SD_PAIRS_SS] = "a(ss)", [RT_SD_PAIRS_ST] = "a(st)",
  };
  int r;

  if ((r = sd_bus_message_open_container(m, 'r', "sv")) < 0
      || (r = sd_bus_message_append(m, "s", p->name)) < 0
      || (r = sd_bus_message_open_container(m, 'v', sig[p->type])) < 0)
    return r;
  switch (p->type)
    {
    case RT_SD_BOOL:
      r = sd_bus_message_append(m, "b", (int)p->b);
      break;
    case RT_SD_U64:
      r = sd_bus_message_append(m, "t", p->u);
      break;
    case RT_SD_STR:
      r = sd_bus_message_append(m, "s", p->s);
      break;
    case RT_SD_BYTES:
      r = sd_bus_message_append_array(m, 'y', p->bytes, p->n);
      break;
    case RT_SD_PIDS:
    case RT_SD_PAIRS_SS:
    case RT_SD_PAIRS_ST:
      r = sd_bus_message_open_container(m, 'a', sig[p->type] + 1);
      for (size_t i = 0; r >= 0 && i < p->n; i++)
        r = p->type == RT_SD_PIDS       ? sd_bus_message_append(m, "u", (uint32_t)p->pairs[i].u)
            : p->type == RT_SD_PAIRS_SS ? sd_bus_message_append(m, "(ss)", p->pairs[i].s, p->pairs[i].s2)
                                        : sd_bus_message_append(m, "(st)", p->pairs[i].s, p->pairs[i].u);
      if (r >= 0)
        r = sd_bus_message_close_container(m);
      break;
    }
  if (r < 0 || (r = sd_bus_message_close_container(m)) < 0)
    return r;
  return sd_bus_message_close_container(m);
}

static int
append_props(sd_bus_message *m, const struct rt_sd_props *props)
{
  int r = sd_bus_message_open_container(m, 'a', "(sv)");

  for (size_t i = 0; r >= 0 && i < props->n; i++)
    r = append_prop(m, &props->v[i]);
  return r < 0 ? r : sd_bus_message_close_container(m);
}

/* ---- jobs ---- */

struct job_wait
{
  char *path;   /* the job object, once the call returned it */
  char *result; /* JobRemoved's result: "done", "failed", "timeout" ... */
};

static int
on_job_removed(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
  struct job_wait *w = data;
  const char *path, *unit, *result;
  uint32_t id;

  if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
    return 0;
  if (w->path && w->result == NULL && strcmp(path, w->path) == 0)
    w->result = xstrdup(result);
  return 0;
}

static uint64_t
now_usec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* Listen for JobRemoved before the call that makes the job: a quick job
 * may be gone by the time the call's reply is read.  Subscribe makes
 * systemd send the signal at all when nobody else asked for it. */
static int
job_listen(sd_bus *bus, struct job_wait *w, sd_bus_slot **slot, const char *unit, struct oci_error **err)
{
  cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
  int r = sd_bus_match_signal(bus, slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, w);

  if (r < 0)
    return bus_fail(err, r, NULL, "listening for jobs of", unit);
  (void)sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL, "");
  return 0;
}

/* Wait for the job of `reply` ("o") to end; anything but "done" fails. */
static int
job_wait(sd_bus *bus, struct job_wait *w, sd_bus_message *reply, const char *what, const char *unit,
         struct oci_error **err)
{
  const char *path;
  uint64_t deadline = now_usec() + SD_JOB_TIMEOUT_USEC;
  int r = sd_bus_message_read(reply, "o", &path);

  if (r < 0)
    return bus_fail(err, r, NULL, what, unit);
  w->path = xstrdup(path);
  while (w->result == NULL)
    {
      r = sd_bus_process(bus, NULL);
      if (r < 0)
        return bus_fail(err, r, NULL, what, unit);
      if (r > 0)
        continue;
      uint64_t now = now_usec();
      if (now >= deadline)
        return oci_error_set(err, ETIMEDOUT, "systemd: %s `%s`: the job did not finish in %llu s", what, unit,
                             SD_JOB_TIMEOUT_USEC / 1000000ULL);
      r = sd_bus_wait(bus, deadline - now);
      if (r < 0)
        return bus_fail(err, r, NULL, what, unit);
    }
  if (strcmp(w->result, "done") != 0)
    return oci_error_set(err, 0, "systemd: %s `%s`: the job ended with `%s` (see `journalctl -u %s`)", what,
                         unit, w->result, unit);
  return 0;
}

static void
job_wait_clear(struct job_wait *w)
{
  free(w->path);
  free(w->result);
  w->path = w->result = NULL;
}

/* ---- the unit ---- */

/* The properties every container unit gets, then the resources. */
static int
start_props(const struct rt_cg_sd_unit *u, const char *description, pid_t pid, bool v2, unsigned version,
            const struct oci_resources *res, struct rt_sd_props *p, struct oci_error **err)
{
  rt_sd_props_str(p, "Description", description);
  if (u->is_slice)
    rt_sd_props_str(p, "Wants", u->slice);
  else
    {
      rt_sd_props_str(p, "Slice", u->slice);
      rt_sd_props_bool(p, "Delegate", true);
      rt_sd_props_pid(p, (uint32_t)pid);
    }
  /* A container lives as long as its processes, not as long as the
   * system's targets; without accounting, systemd would not enable the
   * controllers the limits need. */
  rt_sd_props_bool(p, "DefaultDependencies", false);
  rt_sd_props_bool(p, "MemoryAccounting", true);
  rt_sd_props_bool(p, "CPUAccounting", true);
  rt_sd_props_bool(p, v2 ? "IOAccounting" : "BlockIOAccounting", true);
  rt_sd_props_bool(p, "TasksAccounting", true);
  return rt_cg_sd_resource_props(res, v2, version, true, p, err);
}

static int
call_start(sd_bus *bus, const char *unit, const struct rt_sd_props *props, sd_bus_message **reply,
           sd_bus_error *e)
{
  cleanup_msg sd_bus_message *m = NULL;
  int r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");

  if (r < 0 || (r = sd_bus_message_append(m, "ss", unit, "replace")) < 0
      || (r = append_props(m, props)) < 0 || (r = sd_bus_message_append(m, "a(sa(sv))", 0)) < 0)
    return r;
  return sd_bus_call(bus, m, 0, e, reply);
}

static void
reset_failed(sd_bus *bus, const char *unit)
{
  cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
  (void)sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", &e, NULL, "s", unit);
}

static int
unit_cgroup(sd_bus *bus, const char *unit, bool is_slice, char **out, struct oci_error **err)
{
  cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
  cleanup_msg sd_bus_message *reply = NULL;
  const char *path;
  int r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);

  if (r < 0 || (r = sd_bus_message_read(reply, "o", &path)) < 0)
    return bus_fail(err, r, &e, "finding the unit", unit);
  r = sd_bus_get_property_string(
      bus, SD_DEST, path, is_slice ? "org.freedesktop.systemd1.Slice" : "org.freedesktop.systemd1.Scope",
      "ControlGroup", &e, out);
  if (r < 0)
    return bus_fail(err, r, &e, "reading the ControlGroup of", unit);
  if (*out == NULL || (*out)[0] != '/')
    return oci_error_set(err, 0, "systemd: unit `%s` has no cgroup", unit);
  return 0;
}

int
rt_sd_bus_start(const struct rt_cg_sd_unit *u, const char *description, pid_t pid, bool v2,
               const struct oci_resources *res, char **cgroup, struct oci_error **err)
{
  cleanup_bus sd_bus *bus = NULL;
  cleanup_slot sd_bus_slot *slot = NULL;
  cleanup_props struct rt_sd_props props = { 0 };
  struct job_wait w = { 0 };
  int r;

  if (bus_open(u->user, &bus, err) < 0
      || start_props(u, description, pid, v2, manager_version(bus), res, &props, err) < 0
      || job_listen(bus, &w, &slot, u->unit, err) < 0)
    return -1;
  for (int attempt = 0;; attempt++)
    {
      cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
      cleanup_msg sd_bus_message *reply = NULL;
      r = call_start(bus, u->unit, &props, &reply, &e);
      if (r >= 0)
        {
          r = job_wait(bus, &w, reply, "starting", u->unit, err);
          job_wait_clear(&w);
          break;
        }
      /* A failed unit of the same name keeps it until reset (runc resets
       * it and tries again once); a live one is someone else's. */
      if (attempt == 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.UnitExists"))
        {
          reset_failed(bus, u->unit);
          continue;
        }
      return bus_fail(err, r, &e, "starting", u->unit);
    }
  if (r < 0)
    return -1;
  return unit_cgroup(bus, u->unit, u->is_slice, cgroup, err);
}

int
rt_sd_bus_set(const char *unit, bool user, bool v2, const struct oci_resources *res, struct oci_error **err)
{
  cleanup_bus sd_bus *bus = NULL;
  cleanup_props struct rt_sd_props props = { 0 };
  cleanup_msg sd_bus_message *m = NULL;
  cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
  int r;

  if (bus_open(user, &bus, err) < 0
      || rt_cg_sd_resource_props(res, v2, manager_version(bus), false, &props, err) < 0)
    return -1;
  if (props.n == 0)
    return 0;
  r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
  if (r >= 0 && (r = sd_bus_message_append(m, "sb", unit, 1)) >= 0 && (r = append_props(m, &props)) >= 0)
    r = sd_bus_call(bus, m, 0, &e, NULL);
  if (r < 0)
    return bus_fail(err, r, &e, "setting the properties of", unit);
  return 0;
}

int
rt_sd_bus_stop(const char *unit, bool user, struct oci_error **err)
{
  cleanup_bus sd_bus *bus = NULL;
  cleanup_slot sd_bus_slot *slot = NULL;
  cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
  cleanup_msg sd_bus_message *reply = NULL;
  struct job_wait w = { 0 };
  int r;

  if (bus_open(user, &bus, err) < 0 || job_listen(bus, &w, &slot, unit, err) < 0)
    return -1;
  r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", &e, &reply, "ss", unit,
                             "replace");
  if (r < 0)
    {
      /* Gone already: the scope of a container whose processes all exited
       * is collected by systemd itself. */
      if (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
        return 0;
      return bus_fail(err, r, &e, "stopping", unit);
    }
  r = job_wait(bus, &w, reply, "stopping", unit, err);
  job_wait_clear(&w);
  reset_failed(bus, unit);
  return r;
}

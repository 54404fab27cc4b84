#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "capabilities.h"
#include "util.h"

/* Every set as a bit mask: the kernel has fewer than 64 capabilities and
 * masks make "everything not listed" cheap to compute. */
struct cap_masks
{
  uint64_t bounding;
  uint64_t effective;
  uint64_t inheritable;
  uint64_t permitted;
  uint64_t ambient;
};

static void
cleanup_capp(cap_t *c)
{
  if (*c)
    cap_free(*c);
}
#define cleanup_cap __attribute__((cleanup(cleanup_capp)))

/* libcap's cap_from_name() is case-insensitive and accepts bare numbers;
 * the spec only knows the upper-case "CAP_" names. */
static bool
looks_like_cap_name(const char *name)
{
  if (strncmp(name, "CAP_", 4) != 0 || name[4] == '\0')
    return false;
  for (const char *p = name + 4; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return false;
  return true;
}

/* Names libcap knows but the running kernel does not are skipped, as runc
 * does ("unavailable" capabilities): a config written for a newer kernel
 * must still start. */
static int
parse_set(const char *set, char **names, size_t len, uint64_t *mask, struct oci_error **err)
{
  int last = cap_max_bits();

  *mask = 0;
  for (size_t i = 0; i < len; i++)
    {
      cap_value_t v;

      if (!looks_like_cap_name(names[i]) || cap_from_name(names[i], &v) < 0 || v < 0 || v >= 64)
        return oci_error_set(err, 0, "process.capabilities.%s: unknown capability %s", set, names[i]);
      if (v < last)
        *mask |= UINT64_C(1) << v;
    }
  return 0;
}

static int
parse_all(const struct oci_capabilities *caps, struct cap_masks *m, struct oci_error **err)
{
  memset(m, 0, sizeof *m);
  if (caps == NULL)
    return 0;
  if (parse_set("bounding", caps->bounding, caps->bounding_len, &m->bounding, err) < 0
      || parse_set("effective", caps->effective, caps->effective_len, &m->effective, err) < 0
      || parse_set("inheritable", caps->inheritable, caps->inheritable_len, &m->inheritable, err) < 0
      || parse_set("permitted", caps->permitted, caps->permitted_len, &m->permitted, err) < 0
      || parse_set("ambient", caps->ambient, caps->ambient_len, &m->ambient, err) < 0)
    return -1;
  return 0;
}

int
rt_caps_validate(const struct oci_capabilities *caps, struct oci_error **err)
{
  struct cap_masks m;

  return parse_all(caps, &m, err);
}

int
rt_caps_keep_on_setuid(struct oci_error **err)
{
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return oci_error_errno(err, "prctl(PR_SET_KEEPCAPS)");
  return 0;
}

static const char *
cap_label(int cap, char *buf, size_t len)
{
  char *n = cap_to_name(cap);

  if (n == NULL)
    snprintf(buf, len, "capability %d", cap);
  else
    {
      /* cap_to_name() answers in lower case; messages use the spec's names. */
      size_t i;
      for (i = 0; n[i] && i + 1 < len; i++)
        buf[i] = (n[i] >= 'a' && n[i] <= 'z') ? (char)(n[i] - 'a' + 'A') : n[i];
      buf[i] = '\0';
      cap_free(n);
    }
  return buf;
}

/* After setuid() away from root the kernel clears the effective set even
 * with keep-caps; CAP_SETPCAP must be effective again to shrink the
 * bounding set, so make effective equal to what is still permitted. */
static int
raise_effective(struct oci_error **err)
{
  cleanup_cap cap_t cur = cap_get_proc();
  cap_flag_value_t v;

  if (cur == NULL)
    return oci_error_errno(err, "reading the process capabilities");
  for (int c = 0; c < cap_max_bits(); c++)
    {
      if (cap_get_flag(cur, c, CAP_PERMITTED, &v) < 0)
        return oci_error_errno(err, "reading the process capabilities");
      if (cap_set_flag(cur, CAP_EFFECTIVE, 1, (cap_value_t[]){ c }, v) < 0)
        return oci_error_errno(err, "building the capability set");
    }
  if (cap_set_proc(cur) < 0)
    return oci_error_errno(err, "raising the effective capabilities");
  return 0;
}

static int
apply_bounding(uint64_t keep, struct oci_error **err)
{
  int last = cap_max_bits();

  for (int c = 0; c < last; c++)
    {
      char name[64];
      int e;

      if (keep & (UINT64_C(1) << c))
        continue;
      /* One syscall per capability: asking first would be two for every
       * capability still there, which is nearly all of them. */
      if (cap_drop_bound(c) == 0)
        continue;
      e = errno;
      /* A caller without CAP_SETPCAP cannot drop even what is already gone. */
      if (cap_get_bound(c) == 0)
        continue;
      errno = e;
      return oci_error_errno(err, "process.capabilities.bounding: dropping %s",
                             cap_label(c, name, sizeof name));
    }
  return 0;
}

static int
set_flags(cap_t c, cap_flag_t flag, uint64_t mask)
{
  for (int v = 0; v < 64; v++)
    if (mask & (UINT64_C(1) << v))
      if (cap_set_flag(c, flag, 1, (cap_value_t[]){ v }, CAP_SET) < 0)
        return -1;
  return 0;
}

static int
apply_sets(const struct cap_masks *m, struct oci_error **err)
{
  cleanup_cap cap_t c = cap_init();

  if (c == NULL)
    return oci_error_errno(err, "allocating a capability set");
  if (set_flags(c, CAP_EFFECTIVE, m->effective) < 0 || set_flags(c, CAP_PERMITTED, m->permitted) < 0
      || set_flags(c, CAP_INHERITABLE, m->inheritable) < 0)
    return oci_error_errno(err, "building the capability set");
  if (cap_set_proc(c) < 0)
    return oci_error_errno(err, "process.capabilities: setting the effective, permitted and "
                                "inheritable sets (effective must be within permitted, "
                                "inheritable within bounding)");
  return 0;
}

/* The kernel refuses an ambient capability that is not both permitted and
 * inheritable.  runc and crun ignore that refusal, and runc's default config
 * lists ambient capabilities without inheritable ones, so do the same. */
static int
apply_ambient(uint64_t mask, struct oci_error **err)
{
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    {
      /* Kernels before 4.3 have no ambient set: nothing to clear. */
      if (errno == EINVAL && mask == 0)
        return 0;
      return oci_error_errno(err, "process.capabilities.ambient: clearing the ambient set");
    }
  for (int c = 0; c < 64; c++)
    {
      char name[64];

      if (!(mask & (UINT64_C(1) << c)))
        continue;
      if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM && errno != EINVAL)
        return oci_error_errno(err, "process.capabilities.ambient: raising %s",
                               cap_label(c, name, sizeof name));
    }
  return 0;
}

int
rt_caps_apply(const struct oci_capabilities *caps, struct oci_error **err)
{
  struct cap_masks m;

  if (parse_all(caps, &m, err) < 0)
    return -1;
  if (raise_effective(err) < 0)
    return -1;
  if (apply_bounding(m.bounding, err) < 0)
    return -1;
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return oci_error_errno(err, "prctl(PR_SET_KEEPCAPS)");
  if (apply_sets(&m, err) < 0)
    return -1;
  return apply_ambient(m.ambient, err);
}

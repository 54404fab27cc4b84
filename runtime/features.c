#include <config.h>

#include <ctype.h>
#include <string.h>
#include <sys/capability.h>

#include "spec/oci-features.h"
#include "spec/util.h"
#include "features.h"
#include "mempolicy.h"
#include "mounts.h"
#include "seccomp.h"

/* Every name runc's mount option parser knows; we list those our parser
 * recognises (a name it does not know would be passed on as fs data). */
static const char *const mount_option_candidates[] = {
  "acl",
  "async",
  "atime",
  "bind",
  "defaults",
  "dev",
  "diratime",
  "dirsync",
  "exec",
  "idmap",
  "iversion",
  "lazytime",
  "loud",
  "mand",
  "noacl",
  "noatime",
  "nodev",
  "nodiratime",
  "noexec",
  "noiversion",
  "nolazytime",
  "nomand",
  "norelatime",
  "nostrictatime",
  "nosuid",
  "nosymfollow",
  "private",
  "ratime",
  "rbind",
  "rdev",
  "rdiratime",
  "relatime",
  "remount",
  "rexec",
  "ridmap",
  "rnoatime",
  "rnodev",
  "rnodiratime",
  "rnoexec",
  "rnorelatime",
  "rnostrictatime",
  "rnosuid",
  "rnosymfollow",
  "ro",
  "rprivate",
  "rrelatime",
  "rro",
  "rrw",
  "rshared",
  "rslave",
  "rstrictatime",
  "rsuid",
  "rsymfollow",
  "runbindable",
  "rw",
  "shared",
  "silent",
  "slave",
  "strictatime",
  "suid",
  "symfollow",
  "sync",
  "tmpcopyup",
  "unbindable",
  NULL,
};

static const char *const hook_names[] = {
  "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL,
};

static const char *const namespaces[] = {
  "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time", NULL,
};

static void
add_mount_options(struct oci_strlist *l)
{
  l->set = true;
  for (const char *const *name = mount_option_candidates; *name; name++)
    {
      cleanup_error struct oci_error *err = NULL;
      struct rt_mount_options o = { 0 };
      char *opts[] = { (char *)*name, NULL };
      bool known = rt_mount_options_parse(opts, 1, &o, &err) == 0 && o.data == NULL;

      rt_mount_options_clear(&o);
      if (known)
        oci_strlist_add(l, *name);
    }
}

static void
add_capabilities(struct oci_strlist *l)
{
  l->set = true;
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
    {
      char *name = cap_to_name(c);
      cleanup_free char *upper = NULL;

      if (name == NULL)
        continue;
      upper = xstrdup(name);
      cap_free(name);
      for (char *p = upper; *p; p++)
        *p = (char)toupper((unsigned char)*p);
      /* libcap names capabilities it does not know by number. */
      if (strncmp(upper, "CAP_", 4) == 0)
        oci_strlist_add(l, upper);
    }
}

static struct oci_features_enabled *
enabled(bool value)
{
  struct oci_features_enabled *e = xzalloc(sizeof *e);
  e->enabled = (struct oci_optbool){ true, value };
  return e;
}

static struct oci_features_linux *
build_linux(void)
{
  struct oci_features_linux *l = xzalloc(sizeof *l);
  const struct oci_optbool yes = { true, true }, no = { true, false };

  oci_strlist_add_all(&l->namespaces, namespaces);
  add_capabilities(&l->capabilities);
  l->cgroup = xzalloc(sizeof *l->cgroup);
  l->cgroup->v1 = yes;
  l->cgroup->v2 = yes;
  /* The systemd driver is there when libsystemd was (configure time, as
   * the spec asks); the user's manager is the same code on another bus. */
#ifdef HAVE_LIBSYSTEMD
  l->cgroup->systemd = yes;
  l->cgroup->systemd_user = yes;
#else
  l->cgroup->systemd = no;
  l->cgroup->systemd_user = no;
#endif
  l->cgroup->rdma = yes;
  l->seccomp = xzalloc(sizeof *l->seccomp);
  rt_seccomp_features(l->seccomp);
  l->apparmor = enabled(true);
  l->selinux = enabled(true);
  l->intel_rdt = xzalloc(sizeof *l->intel_rdt);
  l->intel_rdt->enabled = no;
  l->mount_extensions = xzalloc(sizeof *l->mount_extensions);
  l->mount_extensions->idmap = enabled(true);
  l->memory_policy = xzalloc(sizeof *l->memory_policy);
  rt_mempolicy_features(l->memory_policy);
  l->net_devices = enabled(true);
  return l;
}

struct oci_features *
rt_features_build(void)
{
  struct oci_features *f = xzalloc(sizeof *f);

  f->oci_version_min = xstrdup("1.0.0");
  f->oci_version_max = xstrdup(OCI_SPEC_VERSION);
  oci_strlist_add_all(&f->hooks, hook_names);
  add_mount_options(&f->mount_options);
  f->linux_ = build_linux();
  /* No annotation of config.json changes what ocirt does: an empty list
   * (not an absent one) says so. */
  f->potentially_unsafe_config_annotations.set = true;
  f->annotations = xcalloc(1, sizeof *f->annotations);
  f->annotations[0].key = xstrdup("io.github.seccomp.libseccomp.version");
  f->annotations[0].value = rt_seccomp_version();
  f->annotations_len = 1;
  return f;
}

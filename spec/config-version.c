/* Which runtime-spec release a config needs: the newest release that
 * introduced a field (or a value of a field) the config uses, and 1.0.0 when
 * it uses none.
 *
 * Why the lowest and not the newest we implement: runtimes refuse versions
 * they do not know (crun 1.8 says "unknown version specified" for 1.2.0), so
 * a bundle that `ocirt spec` or `imgtool bundle` writes would not run under
 * Debian 12's crun if it claimed more than it uses.
 *
 * The releases are those of runtime-spec's ChangeLog; each entry below cites
 * the release that added the field.  Windows, Solaris, VM and FreeBSD fields
 * are not in struct oci_config, so they never count. */
#include <string.h>

#include "oci-config.h"

enum level
{
  V1_0_0,
  V1_0_2,
  V1_1_0,
  V1_2_0,
  V1_2_1,
  V1_3_0,
};

static const char *const level_names[] = {
  [V1_0_0] = "1.0.0", [V1_0_2] = "1.0.2", [V1_1_0] = "1.1.0",
  [V1_2_0] = "1.2.0", [V1_2_1] = "1.2.1", [V1_3_0] = "1.3.0",
};

struct name_level
{
  const char *name;
  enum level level;
};

/* Raise *lv to `at` when `used`. */
static void
need(enum level *lv, bool used, enum level at)
{
  if (used && at > *lv)
    *lv = at;
}

/* The level of a string value listed in `table`; values not listed are as
 * old as the field itself. */
static enum level
value_level(const char *s, const struct name_level *table)
{
  if (s == NULL)
    return V1_0_0;
  for (; table->name; table++)
    if (strcmp(s, table->name) == 0)
      return table->level;
  return V1_0_0;
}

static void
need_values(enum level *lv, char *const *v, size_t n, const struct name_level *table)
{
  for (size_t i = 0; i < n; i++)
    need(lv, true, value_level(v[i], table));
}

static void
process_level(enum level *lv, const struct oci_process *p)
{
  if (p == NULL)
    return;
  need(lv, p->user.has_umask, V1_0_2);            /* #941 */
  need(lv, p->command_line != NULL, V1_0_2);      /* #998 */
  need(lv, p->scheduler != NULL, V1_1_0);         /* #1188 */
  need(lv, p->io_priority != NULL, V1_1_0);       /* #1191 */
  need(lv, p->exec_cpu_affinity != NULL, V1_2_1); /* #1253 */
}

static void
mounts_level(enum level *lv, const struct oci_mount *m, size_t n)
{
  /* mount_setattr(2) options (#1181) and idmapped mounts (#1222) */
  static const struct name_level options[] = {
    { "rro", V1_1_0 },          { "rrw", V1_1_0 },
    { "rnosuid", V1_1_0 },      { "rsuid", V1_1_0 },
    { "rnodev", V1_1_0 },       { "rdev", V1_1_0 },
    { "rnoexec", V1_1_0 },      { "rexec", V1_1_0 },
    { "rnodiratime", V1_1_0 },  { "rdiratime", V1_1_0 },
    { "rrelatime", V1_1_0 },    { "rnorelatime", V1_1_0 },
    { "rnoatime", V1_1_0 },     { "ratime", V1_1_0 },
    { "rstrictatime", V1_1_0 }, { "rnostrictatime", V1_1_0 },
    { "rnosymfollow", V1_1_0 }, { "rsymfollow", V1_1_0 },
    { "idmap", V1_2_0 },        { "ridmap", V1_2_0 },
    { NULL, V1_0_0 },
  };

  for (size_t i = 0; i < n; i++)
    {
      need(lv, m[i].uid_mappings_len + m[i].gid_mappings_len > 0, V1_1_0); /* #1143 */
      need(lv, m[i].destination && m[i].destination[0] != '/', V1_2_0);    /* #1225 */
      need_values(lv, m[i].options, m[i].options_len, options);
    }
}

static void
hooks_level(enum level *lv, const struct oci_hooks *h)
{
  if (h == NULL)
    return;
  /* #1008 */
  need(lv, h->create_runtime_len + h->create_container_len + h->start_container_len > 0, V1_0_2);
}

static void
resources_level(enum level *lv, const struct oci_resources *r)
{
  if (r == NULL)
    return;
  if (r->memory)
    {
      need(lv, r->memory->has_use_hierarchy, V1_0_2);       /* #985 */
      need(lv, r->memory->has_check_before_update, V1_1_0); /* #1158 */
    }
  if (r->cpu)
    {
      need(lv, r->cpu->has_burst, V1_1_0); /* #1120 */
      need(lv, r->cpu->has_idle, V1_1_0);  /* #1136 */
    }
  need(lv, r->rdma_len > 0, V1_0_2);    /* #942 */
  need(lv, r->unified_len > 0, V1_1_0); /* cgroup v2, #1040 */
}

static void
seccomp_level(enum level *lv, const struct oci_seccomp *s)
{
  static const struct name_level actions[] = {
    { "SCMP_ACT_LOG", V1_0_2 },          /* #1019 */
    { "SCMP_ACT_KILL_PROCESS", V1_1_0 }, /* #1044 */
    { "SCMP_ACT_KILL_THREAD", V1_1_0 },  /* #1064 */
    { "SCMP_ACT_NOTIFY", V1_1_0 },       /* #1074 */
    { NULL, V1_0_0 },
  };
  static const struct name_level flags[] = {
    { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", V1_1_0 }, /* #1161 */
    { NULL, V1_0_0 },
  };
  static const struct name_level archs[] = {
    { "SCMP_ARCH_RISCV64", V1_1_0 },     /* #1059 */
    { "SCMP_ARCH_LOONGARCH64", V1_2_1 }, /* #1229, #1276 */
    { "SCMP_ARCH_M68K", V1_2_1 },        { "SCMP_ARCH_SH", V1_2_1 },
    { "SCMP_ARCH_SHEB", V1_2_1 },        { NULL, V1_0_0 },
  };

  if (s == NULL)
    return;
  need(lv, true, value_level(s->default_action, actions));
  need(lv, s->has_default_errno_ret, V1_1_0);                                 /* #1087 */
  need(lv, s->listener_path != NULL || s->listener_metadata != NULL, V1_1_0); /* #1074 */
  need(lv, s->flags_len > 0, V1_0_2);                                         /* #1018 */
  need_values(lv, s->flags, s->flags_len, flags);
  need_values(lv, s->architectures, s->architectures_len, archs);
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      need(lv, true, value_level(s->syscalls[i].action, actions));
      need(lv, s->syscalls[i].has_errno_ret, V1_1_0); /* #1041 */
    }
}

static void
linux_level(enum level *lv, const struct oci_linux *l)
{
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->namespaces_len; i++)
    need(lv, l->namespaces[i].type && strcmp(l->namespaces[i].type, "time") == 0, V1_1_0); /* #1151 */
  need(lv, l->has_time_offset_monotonic || l->has_time_offset_boottime, V1_1_0);           /* #1151 */
  need(lv, l->personality != NULL, V1_0_2);                                                /* #1012 */
  if (l->intel_rdt)
    {
      need(lv, l->intel_rdt->clos_id != NULL, V1_0_2);       /* #988 */
      need(lv, l->intel_rdt->mem_bw_schema != NULL, V1_0_2); /* #932 */
      need(lv, l->intel_rdt->schemata_len > 0, V1_3_0);      /* #1230 */
      need(lv, l->intel_rdt->enable_monitoring, V1_3_0);     /* #1287 */
    }
  need(lv, l->net_devices_len > 0, V1_3_0);   /* #1271 */
  need(lv, l->memory_policy != NULL, V1_3_0); /* #1282 */
  resources_level(lv, l->resources);
  seccomp_level(lv, l->seccomp);
}

const char *
oci_config_min_version(const struct oci_config *cfg)
{
  enum level lv = V1_0_0;

  process_level(&lv, cfg->process);
  /* #1156; annotations are free-form since 1.0.0: #1197 only gives some
   * keys a meaning, which an older runtime may ignore */
  need(&lv, cfg->domainname != NULL, V1_1_0);
  mounts_level(&lv, cfg->mounts, cfg->mounts_len);
  hooks_level(&lv, cfg->hooks);
  linux_level(&lv, cfg->linux_);
  return level_names[lv];
}

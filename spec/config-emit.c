/* struct oci_config → config.json.
 *
 * Members come in the order of runtime-spec's Go types (what `runc spec`
 * prints); absent optionals and empty arrays are left out, so that
 * parse(emit(x)) == x for everything the parser can produce. */
#include <string.h>

#include "oci-config.h"
#include "config-fields.h"
#include "json.h"
#include "util.h"

typedef struct json_writer writer;

static void
put_string(writer *w, const char *key, const char *s)
{
  json_write_member_string(w, key, s);
}

static void
put_true(writer *w, const char *key, bool b)
{
  if (!b)
    return;
  json_write_key(w, key);
  json_write_bool(w, true);
}

static void
put_i64(writer *w, const char *key, int64_t v)
{
  json_write_key(w, key);
  json_write_int64(w, v);
}

static void
put_u64(writer *w, const char *key, uint64_t v)
{
  json_write_key(w, key);
  json_write_uint64(w, v);
}

static void
put_i64_opt(writer *w, const char *key, bool has, int64_t v)
{
  if (has)
    put_i64(w, key, v);
}

static void
put_u64_opt(writer *w, const char *key, bool has, uint64_t v)
{
  if (has)
    put_u64(w, key, v);
}

static void
put_strv(writer *w, const char *key, char *const *v, size_t len)
{
  /* Empty arrays are left out: parse(emit(x)) must give x back. */
  if (len > 0)
    json_write_member_strv(w, key, v, len);
}

static void
put_kv_map(writer *w, const char *key, const struct oci_kv *kv, size_t len)
{
  if (len == 0)
    return;
  json_write_key(w, key);
  json_write_object_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_key(w, kv[i].key);
      json_write_string(w, kv[i].value);
    }
  json_write_object_end(w);
}

static void
put_id_mappings(writer *w, const char *key, const struct oci_id_mapping *m, size_t len)
{
  if (len == 0)
    return;
  json_write_key(w, key);
  json_write_array_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_object_begin(w);
      put_u64(w, "containerID", m[i].container_id);
      put_u64(w, "hostID", m[i].host_id);
      put_u64(w, "size", m[i].size);
      json_write_object_end(w);
    }
  json_write_array_end(w);
}

/* ---- process ---- */

static void
emit_user(writer *w, const struct oci_user *u)
{
  json_write_key(w, "user");
  json_write_object_begin(w);
  put_u64(w, "uid", u->uid);
  put_u64(w, "gid", u->gid);
  put_u64_opt(w, "umask", u->has_umask, u->umask);
  if (u->additional_gids_len > 0)
    {
      json_write_key(w, "additionalGids");
      json_write_array_begin(w);
      for (size_t i = 0; i < u->additional_gids_len; i++)
        json_write_uint64(w, u->additional_gids[i]);
      json_write_array_end(w);
    }
  put_string(w, "username", u->username);
  json_write_object_end(w);
}

static void
emit_capabilities(writer *w, const struct oci_capabilities *c)
{
  if (c == NULL)
    return;
  json_write_key(w, "capabilities");
  json_write_object_begin(w);
  put_strv(w, "bounding", c->bounding, c->bounding_len);
  put_strv(w, "effective", c->effective, c->effective_len);
  put_strv(w, "inheritable", c->inheritable, c->inheritable_len);
  put_strv(w, "permitted", c->permitted, c->permitted_len);
  put_strv(w, "ambient", c->ambient, c->ambient_len);
  json_write_object_end(w);
}

static void
emit_rlimits(writer *w, const struct oci_rlimit *r, size_t len)
{
  if (len == 0)
    return;
  json_write_key(w, "rlimits");
  json_write_array_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_object_begin(w);
      put_string(w, "type", r[i].type);
      put_u64(w, "hard", r[i].hard);
      put_u64(w, "soft", r[i].soft);
      json_write_object_end(w);
    }
  json_write_array_end(w);
}

static void
emit_scheduler(writer *w, const struct oci_scheduler *s)
{
  if (s == NULL)
    return;
  json_write_key(w, "scheduler");
  json_write_object_begin(w);
  put_string(w, "policy", s->policy);
  put_i64_opt(w, "nice", s->has_nice, s->nice);
  put_i64_opt(w, "priority", s->has_priority, s->priority);
  put_strv(w, "flags", s->flags, s->flags_len);
  put_u64_opt(w, "runtime", s->has_runtime, s->runtime);
  put_u64_opt(w, "deadline", s->has_deadline, s->deadline);
  put_u64_opt(w, "period", s->has_period, s->period);
  json_write_object_end(w);
}

static void
emit_process_members(writer *w, const struct oci_process *p)
{
  put_true(w, "terminal", p->terminal);
  if (p->has_console_size)
    {
      json_write_key(w, "consoleSize");
      json_write_object_begin(w);
      put_u64(w, "height", p->console_height);
      put_u64(w, "width", p->console_width);
      json_write_object_end(w);
    }
  emit_user(w, &p->user);
  put_strv(w, "args", p->args, p->args_len);
  put_string(w, "commandLine", p->command_line);
  put_strv(w, "env", p->env, p->env_len);
  put_string(w, "cwd", p->cwd);
  emit_capabilities(w, p->capabilities);
  emit_rlimits(w, p->rlimits, p->rlimits_len);
  put_true(w, "noNewPrivileges", p->no_new_privileges);
  put_string(w, "apparmorProfile", p->apparmor_profile);
  put_i64_opt(w, "oomScoreAdj", p->has_oom_score_adj, p->oom_score_adj);
  emit_scheduler(w, p->scheduler);
  put_string(w, "selinuxLabel", p->selinux_label);
  if (p->io_priority)
    {
      json_write_key(w, "ioPriority");
      json_write_object_begin(w);
      put_string(w, "class", p->io_priority->class_);
      put_i64(w, "priority", p->io_priority->priority);
      json_write_object_end(w);
    }
  if (p->exec_cpu_affinity)
    {
      json_write_key(w, "execCPUAffinity");
      json_write_object_begin(w);
      put_string(w, "initial", p->exec_cpu_affinity->initial);
      put_string(w, "final", p->exec_cpu_affinity->final);
      json_write_object_end(w);
    }
}

/* ---- top level ---- */

static void
emit_mounts(writer *w, const struct oci_mount *m, size_t len)
{
  if (len == 0)
    return;
  json_write_key(w, "mounts");
  json_write_array_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_object_begin(w);
      put_string(w, "destination", m[i].destination);
      put_string(w, "type", m[i].type);
      put_string(w, "source", m[i].source);
      put_strv(w, "options", m[i].options, m[i].options_len);
      put_id_mappings(w, "uidMappings", m[i].uid_mappings, m[i].uid_mappings_len);
      put_id_mappings(w, "gidMappings", m[i].gid_mappings, m[i].gid_mappings_len);
      json_write_object_end(w);
    }
  json_write_array_end(w);
}

static void
emit_hook_list(writer *w, const char *key, const struct oci_hook *h, size_t len)
{
  if (len == 0)
    return;
  json_write_key(w, key);
  json_write_array_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_object_begin(w);
      put_string(w, "path", h[i].path);
      put_strv(w, "args", h[i].args, h[i].args_len);
      put_strv(w, "env", h[i].env, h[i].env_len);
      put_i64_opt(w, "timeout", h[i].has_timeout, h[i].timeout);
      json_write_object_end(w);
    }
  json_write_array_end(w);
}

static void
emit_hooks(writer *w, const struct oci_hooks *h)
{
  if (h == NULL)
    return;
  json_write_key(w, "hooks");
  json_write_object_begin(w);
  emit_hook_list(w, "prestart", h->prestart, h->prestart_len);
  emit_hook_list(w, "createRuntime", h->create_runtime, h->create_runtime_len);
  emit_hook_list(w, "createContainer", h->create_container, h->create_container_len);
  emit_hook_list(w, "startContainer", h->start_container, h->start_container_len);
  emit_hook_list(w, "poststart", h->poststart, h->poststart_len);
  emit_hook_list(w, "poststop", h->poststop, h->poststop_len);
  json_write_object_end(w);
}

/* ---- linux ---- */

static void
emit_namespaces(writer *w, const struct oci_namespace *ns, size_t len)
{
  if (len == 0)
    return;
  json_write_key(w, "namespaces");
  json_write_array_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_object_begin(w);
      put_string(w, "type", ns[i].type);
      put_string(w, "path", ns[i].path);
      json_write_object_end(w);
    }
  json_write_array_end(w);
}

static void
emit_devices(writer *w, const struct oci_device *d, size_t len)
{
  if (len == 0)
    return;
  json_write_key(w, "devices");
  json_write_array_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_object_begin(w);
      put_string(w, "path", d[i].path);
      put_string(w, "type", d[i].type);
      put_i64(w, "major", d[i].major);
      put_i64(w, "minor", d[i].minor);
      put_u64_opt(w, "fileMode", d[i].has_file_mode, d[i].file_mode);
      put_u64_opt(w, "uid", d[i].has_uid, d[i].uid);
      put_u64_opt(w, "gid", d[i].has_gid, d[i].gid);
      json_write_object_end(w);
    }
  json_write_array_end(w);
}

static void
emit_seccomp(writer *w, const struct oci_seccomp *s)
{
  if (s == NULL)
    return;
  json_write_key(w, "seccomp");
  json_write_object_begin(w);
  put_string(w, "defaultAction", s->default_action);
  put_u64_opt(w, "defaultErrnoRet", s->has_default_errno_ret, s->default_errno_ret);
  put_strv(w, "architectures", s->architectures, s->architectures_len);
  put_strv(w, "flags", s->flags, s->flags_len);
  put_string(w, "listenerPath", s->listener_path);
  put_string(w, "listenerMetadata", s->listener_metadata);
  if (s->syscalls_len > 0)
    {
      json_write_key(w, "syscalls");
      json_write_array_begin(w);
      for (size_t i = 0; i < s->syscalls_len; i++)
        {
          const struct oci_seccomp_syscall *sc = &s->syscalls[i];

          json_write_object_begin(w);
          put_strv(w, "names", sc->names, sc->names_len);
          put_string(w, "action", sc->action);
          put_u64_opt(w, "errnoRet", sc->has_errno_ret, sc->errno_ret);
          if (sc->args_len > 0)
            {
              json_write_key(w, "args");
              json_write_array_begin(w);
              for (size_t j = 0; j < sc->args_len; j++)
                {
                  json_write_object_begin(w);
                  put_u64(w, "index", sc->args[j].index);
                  put_u64(w, "value", sc->args[j].value);
                  put_u64_opt(w, "valueTwo", sc->args[j].has_value_two, sc->args[j].value_two);
                  put_string(w, "op", sc->args[j].op);
                  json_write_object_end(w);
                }
              json_write_array_end(w);
            }
          json_write_object_end(w);
        }
      json_write_array_end(w);
    }
  json_write_object_end(w);
}

static void
emit_time_offset(writer *w, const char *clock, bool has, const struct oci_time_offset *t)
{
  if (!has)
    return;
  json_write_key(w, clock);
  json_write_object_begin(w);
  put_i64(w, "secs", t->secs);
  put_u64(w, "nanosecs", t->nanosecs);
  json_write_object_end(w);
}

static void
emit_linux(writer *w, const struct oci_linux *l)
{
  if (l == NULL)
    return;
  json_write_key(w, "linux");
  json_write_object_begin(w);
  put_id_mappings(w, "uidMappings", l->uid_mappings, l->uid_mappings_len);
  put_id_mappings(w, "gidMappings", l->gid_mappings, l->gid_mappings_len);
  put_kv_map(w, "sysctl", l->sysctl, l->sysctl_len);
  oci_fields_emit(w, oci_linux_resources_field, l);
  put_string(w, "cgroupsPath", l->cgroups_path);
  emit_namespaces(w, l->namespaces, l->namespaces_len);
  emit_devices(w, l->devices, l->devices_len);
  emit_seccomp(w, l->seccomp);
  put_string(w, "rootfsPropagation", l->rootfs_propagation);
  put_strv(w, "maskedPaths", l->masked_paths, l->masked_paths_len);
  put_strv(w, "readonlyPaths", l->readonly_paths, l->readonly_paths_len);
  put_string(w, "mountLabel", l->mount_label);
  if (l->intel_rdt)
    {
      json_write_key(w, "intelRdt");
      json_write_object_begin(w);
      put_string(w, "closID", l->intel_rdt->clos_id);
      put_string(w, "l3CacheSchema", l->intel_rdt->l3_cache_schema);
      put_string(w, "memBwSchema", l->intel_rdt->mem_bw_schema);
      put_strv(w, "schemata", l->intel_rdt->schemata, l->intel_rdt->schemata_len);
      put_true(w, "enableMonitoring", l->intel_rdt->enable_monitoring);
      json_write_object_end(w);
    }
  if (l->personality)
    {
      json_write_key(w, "personality");
      json_write_object_begin(w);
      put_string(w, "domain", l->personality->domain);
      put_strv(w, "flags", l->personality->flags, l->personality->flags_len);
      json_write_object_end(w);
    }
  if (l->has_time_offset_monotonic || l->has_time_offset_boottime)
    {
      json_write_key(w, "timeOffsets");
      json_write_object_begin(w);
      emit_time_offset(w, "monotonic", l->has_time_offset_monotonic, &l->time_offset_monotonic);
      emit_time_offset(w, "boottime", l->has_time_offset_boottime, &l->time_offset_boottime);
      json_write_object_end(w);
    }
  if (l->net_devices_len > 0)
    {
      json_write_key(w, "netDevices");
      json_write_object_begin(w);
      for (size_t i = 0; i < l->net_devices_len; i++)
        {
          json_write_key(w, l->net_devices[i].host_name);
          json_write_object_begin(w);
          put_string(w, "name", l->net_devices[i].name);
          json_write_object_end(w);
        }
      json_write_object_end(w);
    }
  if (l->memory_policy)
    {
      json_write_key(w, "memoryPolicy");
      json_write_object_begin(w);
      put_string(w, "mode", l->memory_policy->mode);
      put_string(w, "nodes", l->memory_policy->nodes);
      put_strv(w, "flags", l->memory_policy->flags, l->memory_policy->flags_len);
      json_write_object_end(w);
    }
  json_write_object_end(w);
}

int
oci_config_emit(const struct oci_config *cfg, bool pretty, char **out, size_t *len, struct oci_error **err)
{
  /* tabs, as `runc spec` writes config.json */
  cleanup_json_writer writer *w = json_writer_new_indent(pretty ? "\t" : NULL);

  json_write_object_begin(w);
  put_string(w, "ociVersion", cfg->oci_version);
  if (cfg->process)
    {
      json_write_key(w, "process");
      json_write_object_begin(w);
      emit_process_members(w, cfg->process);
      json_write_object_end(w);
    }
  if (cfg->root)
    {
      json_write_key(w, "root");
      json_write_object_begin(w);
      put_string(w, "path", cfg->root->path);
      put_true(w, "readonly", cfg->root->readonly);
      json_write_object_end(w);
    }
  put_string(w, "hostname", cfg->hostname);
  put_string(w, "domainname", cfg->domainname);
  emit_mounts(w, cfg->mounts, cfg->mounts_len);
  emit_hooks(w, cfg->hooks);
  put_kv_map(w, "annotations", cfg->annotations, cfg->annotations_len);
  emit_linux(w, cfg->linux_);
  json_write_object_end(w);
  return json_writer_finish(w, out, len, err);
}

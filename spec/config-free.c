/* Destructors for struct oci_config and its parts.  All accept NULL and
 * half-filled structs (a failed parse leaves those behind). */
#include <stdlib.h>

#include "oci-config.h"
#include "config-fields.h"

static void
strv_free(char **v, size_t len)
{
  if (v == NULL)
    return;
  for (size_t i = 0; i < len; i++)
    free(v[i]);
  free(v);
}

static void
kv_free(struct oci_kv *kv, size_t len)
{
  if (kv == NULL)
    return;
  for (size_t i = 0; i < len; i++)
    {
      free(kv[i].key);
      free(kv[i].value);
    }
  free(kv);
}

static void
mounts_free(struct oci_mount *m, size_t len)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < len; i++)
    {
      free(m[i].destination);
      free(m[i].source);
      free(m[i].type);
      strv_free(m[i].options, m[i].options_len);
      free(m[i].uid_mappings);
      free(m[i].gid_mappings);
    }
  free(m);
}

static void
capabilities_free(struct oci_capabilities *c)
{
  if (c == NULL)
    return;
  strv_free(c->bounding, c->bounding_len);
  strv_free(c->effective, c->effective_len);
  strv_free(c->inheritable, c->inheritable_len);
  strv_free(c->permitted, c->permitted_len);
  strv_free(c->ambient, c->ambient_len);
  free(c);
}

void
oci_process_free(struct oci_process *p)
{
  if (p == NULL)
    return;
  free(p->cwd);
  strv_free(p->env, p->env_len);
  strv_free(p->args, p->args_len);
  free(p->command_line);
  if (p->rlimits)
    for (size_t i = 0; i < p->rlimits_len; i++)
      free(p->rlimits[i].type);
  free(p->rlimits);
  free(p->apparmor_profile);
  free(p->selinux_label);
  capabilities_free(p->capabilities);
  if (p->scheduler)
    {
      free(p->scheduler->policy);
      strv_free(p->scheduler->flags, p->scheduler->flags_len);
      free(p->scheduler);
    }
  if (p->io_priority)
    free(p->io_priority->class_);
  free(p->io_priority);
  if (p->exec_cpu_affinity)
    {
      free(p->exec_cpu_affinity->initial);
      free(p->exec_cpu_affinity->final);
      free(p->exec_cpu_affinity);
    }
  free(p->user.additional_gids);
  free(p->user.username);
  free(p);
}

static void
hook_list_free(struct oci_hook *h, size_t len)
{
  if (h == NULL)
    return;
  for (size_t i = 0; i < len; i++)
    {
      free(h[i].path);
      strv_free(h[i].args, h[i].args_len);
      strv_free(h[i].env, h[i].env_len);
    }
  free(h);
}

static void
hooks_free(struct oci_hooks *h)
{
  if (h == NULL)
    return;
  hook_list_free(h->prestart, h->prestart_len);
  hook_list_free(h->create_runtime, h->create_runtime_len);
  hook_list_free(h->create_container, h->create_container_len);
  hook_list_free(h->start_container, h->start_container_len);
  hook_list_free(h->poststart, h->poststart_len);
  hook_list_free(h->poststop, h->poststop_len);
  free(h);
}

void
oci_resources_free(struct oci_resources *r)
{
  oci_fields_free(oci_resources_fields, r);
  free(r);
}

static void
seccomp_free(struct oci_seccomp *s)
{
  if (s == NULL)
    return;
  free(s->default_action);
  strv_free(s->architectures, s->architectures_len);
  strv_free(s->flags, s->flags_len);
  free(s->listener_path);
  free(s->listener_metadata);
  if (s->syscalls)
    for (size_t i = 0; i < s->syscalls_len; i++)
      {
        struct oci_seccomp_syscall *sc = &s->syscalls[i];

        strv_free(sc->names, sc->names_len);
        free(sc->action);
        if (sc->args)
          for (size_t j = 0; j < sc->args_len; j++)
            free(sc->args[j].op);
        free(sc->args);
      }
  free(s->syscalls);
  free(s);
}

static void
linux_free(struct oci_linux *l)
{
  if (l == NULL)
    return;
  if (l->namespaces)
    for (size_t i = 0; i < l->namespaces_len; i++)
      {
        free(l->namespaces[i].type);
        free(l->namespaces[i].path);
      }
  free(l->namespaces);
  free(l->uid_mappings);
  free(l->gid_mappings);
  if (l->devices)
    for (size_t i = 0; i < l->devices_len; i++)
      {
        free(l->devices[i].type);
        free(l->devices[i].path);
      }
  free(l->devices);
  free(l->cgroups_path);
  oci_resources_free(l->resources);
  if (l->intel_rdt)
    {
      free(l->intel_rdt->clos_id);
      free(l->intel_rdt->l3_cache_schema);
      free(l->intel_rdt->mem_bw_schema);
      strv_free(l->intel_rdt->schemata, l->intel_rdt->schemata_len);
      free(l->intel_rdt);
    }
  kv_free(l->sysctl, l->sysctl_len);
  seccomp_free(l->seccomp);
  free(l->rootfs_propagation);
  strv_free(l->masked_paths, l->masked_paths_len);
  strv_free(l->readonly_paths, l->readonly_paths_len);
  free(l->mount_label);
  if (l->personality)
    {
      free(l->personality->domain);
      strv_free(l->personality->flags, l->personality->flags_len);
      free(l->personality);
    }
  if (l->net_devices)
    for (size_t i = 0; i < l->net_devices_len; i++)
      {
        free(l->net_devices[i].host_name);
        free(l->net_devices[i].name);
      }
  free(l->net_devices);
  if (l->memory_policy)
    {
      free(l->memory_policy->mode);
      free(l->memory_policy->nodes);
      strv_free(l->memory_policy->flags, l->memory_policy->flags_len);
      free(l->memory_policy);
    }
  free(l);
}

void
oci_config_free(struct oci_config *cfg)
{
  if (cfg == NULL)
    return;
  free(cfg->oci_version);
  if (cfg->root)
    free(cfg->root->path);
  free(cfg->root);
  mounts_free(cfg->mounts, cfg->mounts_len);
  oci_process_free(cfg->process);
  free(cfg->hostname);
  free(cfg->domainname);
  kv_free(cfg->annotations, cfg->annotations_len);
  hooks_free(cfg->hooks);
  linux_free(cfg->linux_);
  free(cfg);
}

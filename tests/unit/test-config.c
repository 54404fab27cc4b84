/* The runtime config model: every field parses, the round trip is lossless,
 * type errors name the field, validation names the field, the default
 * config is runc's; plus the state and features documents. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../spec/oci-config.h"
#include "../../spec/json.h"
#include "../../spec/oci-features.h"
#include "../../spec/state.h"
#include "../../spec/util.h"
#include "tap.h"

/* Every field of config.md and config-linux.md, compact and in emit order,
 * so that emit(parse(RICH)) must reproduce it byte for byte. */
static const char RICH[]
    = "{\"ociVersion\":\"1.2.0\","
      "\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},"
      "\"user\":{\"uid\":1000,\"gid\":4294967295,\"umask\":18,\"additionalGids\":[5,4294967295],\"username\":"
      "\"u\"},"
      "\"args\":[\"sh\",\"-c\",\"echo \\\"hi\\\" \xc3\xa9\"],\"commandLine\":\"cmd.exe /c\","
      "\"env\":[\"PATH=/bin\",\"TERM=xterm\"],\"cwd\":\"/work\","
      "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],\"effective\":[\"CAP_KILL\"],"
      "\"inheritable\":[\"CAP_CHOWN\"],\"permitted\":[\"CAP_KILL\"],\"ambient\":[\"CAP_KILL\"]},"
      "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":18446744073709551615,\"soft\":1024},"
      "{\"type\":\"RLIMIT_CORE\",\"hard\":0,\"soft\":0}],"
      "\"noNewPrivileges\":true,\"apparmorProfile\":\"prof\",\"oomScoreAdj\":-1000,"
      "\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"nice\":-20,\"priority\":99,"
      "\"flags\":[\"SCHED_FLAG_RESET_ON_FORK\"],\"runtime\":1000,\"deadline\":2000,\"period\":3000},"
      "\"selinuxLabel\":\"system_u:system_r:container_t:s0\","
      "\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\",\"priority\":7},"
      "\"execCPUAffinity\":{\"initial\":\"0\",\"final\":\"0-3\"}},"
      "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
      "\"hostname\":\"h\",\"domainname\":\"d\","
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv\",\"options\":[\"rbind\",\"idmap\"],"
      "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
      "\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":65536}]}],"
      "\"hooks\":{\"prestart\":[{\"path\":\"/bin/a\"}],"
      "\"createRuntime\":[{\"path\":\"/bin/b\",\"args\":[\"b\",\"1\"],\"env\":[\"X=1\"],\"timeout\":5}],"
      "\"createContainer\":[{\"path\":\"/bin/c\"}],\"startContainer\":[{\"path\":\"/bin/d\"}],"
      "\"poststart\":[{\"path\":\"/bin/e\"}],\"poststop\":[{\"path\":\"/bin/f\"},{\"path\":\"/bin/g\"}]},"
      "\"annotations\":{\"org.example.key\":\"value\",\"empty\":\"\"},"
      "\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
      "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
      "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.shmmax\":\"4096\"},"
      "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
      "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"},"
      "{\"allow\":true,\"type\":\"b\",\"major\":-1,\"minor\":-1,\"access\":\"m\"}],"
      "\"memory\":{\"limit\":9223372036854775807,\"reservation\":1,\"swap\":-1,\"kernel\":2,\"kernelTCP\":3,"
      "\"swappiness\":60,\"disableOOMKiller\":false,\"useHierarchy\":true,\"checkBeforeUpdate\":true},"
      "\"cpu\":{\"shares\":1024,\"quota\":-1,\"burst\":10,\"period\":100000,"
      "\"realtimeRuntime\":-9223372036854775808,\"realtimePeriod\":5,\"cpus\":\"0-1\",\"mems\":\"0\","
      "\"idle\":1},"
      "\"pids\":{\"limit\":-1},"
      "\"blockIO\":{\"weight\":10,\"leafWeight\":65535,"
      "\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":500,\"leafWeight\":300},{\"major\":8,\"minor\":"
      "16}],"
      "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":600}],"
      "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":1,\"rate\":18446744073709551615}],"
      "\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":2,\"rate\":1}],"
      "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":3,\"rate\":0}]},"
      "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":209715200},{\"pageSize\":\"1GB\",\"limit\":0}],"
      "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":500}]},"
      "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000},\"mlx4_0\":{}},"
      "\"unified\":{\"memory.high\":\"max\",\"io.weight\":\"default 100\"}},"
      "\"cgroupsPath\":\"/ocirt/test\","
      "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/var/run/netns/x\"},"
      "{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"user\"},{\"type\":\"cgroup\"},"
      "{\"type\":\"time\"}],"
      "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,\"fileMode\":438,"
      "\"uid\":0,\"gid\":0},{\"path\":\"/dev/fifo\",\"type\":\"p\",\"major\":0,\"minor\":0}],"
      "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
      "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
      "\"listenerPath\":\"/run/l.sock\",\"listenerMetadata\":\"meta\","
      "\"syscalls\":[{\"names\":[\"getcwd\",\"chmod\"],\"action\":\"SCMP_ACT_ALLOW\"},"
      "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38,"
      "\"args\":[{\"index\":0,\"value\":8,\"valueTwo\":18446744073709551615,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
      "{\"index\":1,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]},"
      "\"rootfsPropagation\":\"rslave\",\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
      "\"mountLabel\":\"label\","
      "\"intelRdt\":{\"closID\":\"c\",\"l3CacheSchema\":\"L3:0=ff\",\"memBwSchema\":\"MB:0=70\","
      "\"schemata\":[\"L2:0=f\"],\"enableMonitoring\":true},"
      "\"personality\":{\"domain\":\"LINUX32\",\"flags\":[\"x\"]},"
      "\"timeOffsets\":{\"monotonic\":{\"secs\":-5,\"nanosecs\":999999999},"
      "\"boottime\":{\"secs\":9223372036854775807,\"nanosecs\":0}},"
      "\"netDevices\":{\"eth1\":{\"name\":\"ctr0\"},\"eth2\":{}},"
      "\"memoryPolicy\":{\"mode\":\"MPOL_BIND\",\"nodes\":\"0-1\",\"flags\":[\"MPOL_F_STATIC_NODES\"]}}}";

static bool
starts_with(const char *s, const char *prefix)
{
  return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static struct oci_config *
parse(const char *text, char **errmsg)
{
  struct oci_config *cfg = NULL;
  struct oci_error *err = NULL;

  if (oci_config_parse("config.json", text, strlen(text), &cfg, &err) < 0)
    {
      if (errmsg)
        *errmsg = oci_error_string(err);
      else
        printf("# unexpected error: %s\n", err->msg);
      oci_error_free(err);
      return NULL;
    }
  return cfg;
}

static char *
emit(const struct oci_config *cfg, bool pretty)
{
  struct oci_error *err = NULL;
  char *out = NULL;
  size_t len = 0;

  if (oci_config_emit(cfg, pretty, &out, &len, &err) < 0)
    {
      out = xasprintf("ERROR %s", err->msg);
      oci_error_free(err);
    }
  return out;
}

static void
test_rich_fields(void)
{
  cleanup_config struct oci_config *c = parse(RICH, NULL);
  const struct oci_linux *l;

  ok(c != NULL, "a config using every field parses");
  if (c == NULL)
    return;
  l = c->linux_;
  ok(c->process->user.gid == UINT32_MAX && c->process->user.has_umask && c->process->user.umask == 18
         && c->process->user.additional_gids_len == 2 && c->process->user.additional_gids[1] == UINT32_MAX,
     "process.user");
  ok(c->process->args_len == 3 && strcmp(c->process->args[2], "echo \"hi\" \xc3\xa9") == 0
         && c->process->args[3] == NULL,
     "process.args decoded and NULL-terminated");
  ok(c->process->rlimits[0].hard == UINT64_MAX && c->process->rlimits[0].soft == 1024,
     "rlimits uint64 exact");
  ok(c->process->has_oom_score_adj && c->process->oom_score_adj == -1000, "oomScoreAdj");
  ok(c->process->scheduler->has_nice && c->process->scheduler->nice == -20
         && c->process->scheduler->period == 3000,
     "scheduler");
  ok(c->process->has_console_size && c->process->console_height == 24 && c->process->console_width == 80,
     "consoleSize");
  ok(l->resources->memory->limit == INT64_MAX && l->resources->memory->swap == -1
         && l->resources->memory->has_disable_oom_killer && !l->resources->memory->disable_oom_killer,
     "memory: int64 exact, explicit false kept");
  ok(l->resources->cpu->realtime_runtime == INT64_MIN, "cpu.realtimeRuntime INT64_MIN exact");
  ok(l->resources->has_pids_limit && l->resources->pids_limit == -1, "pids.limit");
  ok(l->resources->block_io->leaf_weight == 65535 && !l->resources->block_io->weight_device[1].has_weight,
     "blockIO uint16 and optional weights");
  ok(l->resources->rdma_len == 2 && strcmp(l->resources->rdma[1].device, "mlx4_0") == 0
         && !l->resources->rdma[1].has_hca_handles,
     "rdma map");
  ok(l->resources->devices[0].type == NULL && !l->resources->devices[0].has_major
         && l->resources->devices[2].major == -1,
     "device cgroup rules");
  ok(l->namespaces_len == 8 && strcmp(l->namespaces[1].path, "/var/run/netns/x") == 0, "namespaces");
  ok(l->has_time_offset_monotonic && l->time_offset_monotonic.secs == -5
         && l->time_offset_monotonic.nanosecs == 999999999 && l->time_offset_boottime.secs == INT64_MAX,
     "timeOffsets");
  ok(l->seccomp->syscalls[1].args[0].has_value_two && l->seccomp->syscalls[1].args[0].value_two == UINT64_MAX
         && !l->seccomp->syscalls[1].args[1].has_value_two && l->seccomp->syscalls[1].errno_ret == 38,
     "seccomp args and errnoRet");
  ok(l->net_devices_len == 2 && strcmp(l->net_devices[0].host_name, "eth1") == 0
         && strcmp(l->net_devices[0].name, "ctr0") == 0 && l->net_devices[1].name == NULL,
     "netDevices map");
  ok(c->annotations_len == 2 && strcmp(c->annotations[1].key, "empty") == 0
         && strcmp(c->annotations[1].value, "") == 0,
     "annotations in document order");
  ok(c->hooks->poststop_len == 2 && c->hooks->create_runtime[0].has_timeout
         && c->hooks->create_runtime[0].timeout == 5,
     "hooks");
  ok(c->mounts[1].uid_mappings_len == 1 && c->mounts[1].gid_mappings[0].host_id == 200000, "idmapped mount");
  ok(l->intel_rdt->enable_monitoring && l->intel_rdt->schemata_len == 1, "intelRdt");
  ok(l->memory_policy && strcmp(l->memory_policy->mode, "MPOL_BIND") == 0, "memoryPolicy");
}

static void
test_round_trip(void)
{
  cleanup_config struct oci_config *c = parse(RICH, NULL);
  cleanup_config struct oci_config *c2 = NULL;
  cleanup_config struct oci_config *c3 = NULL;
  cleanup_free char *compact = NULL, *pretty = NULL, *again = NULL, *pretty2 = NULL;

  if (c == NULL)
    {
      ok(0, "round trip: parse");
      return;
    }
  compact = emit(c, false);
  ok(strcmp(compact, RICH) == 0, "emit(parse(x)) == x for a config using every field");
  if (strcmp(compact, RICH) != 0)
    {
      size_t i = 0;
      while (compact[i] && compact[i] == RICH[i])
        i++;
      printf("#   first difference at %zu: got ...%.60s\n#   want ...%.60s\n", i, compact + i, RICH + i);
    }

  pretty = emit(c, true);
  c2 = parse(pretty, NULL);
  again = c2 ? emit(c2, false) : NULL;
  ok(again && strcmp(again, RICH) == 0, "parse(emit_pretty(x)) is lossless");
  c3 = parse(pretty, NULL);
  pretty2 = c3 ? emit(c3, true) : NULL;
  ok(pretty2 && strcmp(pretty, pretty2) == 0, "pretty emit -> parse -> emit is byte-identical");
  ok(starts_with(pretty, "{\n\t\"ociVersion\": \"1.2.0\",\n\t\"process\": {\n\t\t\"terminal\": true,"),
     "pretty output is tab-indented like runc spec");
}

/* The systemd driver's helper gets linux.resources as this JSON. */
static void
test_resources_round_trip(void)
{
  cleanup_config struct oci_config *c = parse(RICH, NULL);
  struct oci_resources *back = NULL;
  cleanup_free char *json = NULL, *again = NULL, *member = NULL;
  cleanup_error struct oci_error *err = NULL;
  size_t len;

  if (c == NULL || oci_resources_emit(c->linux_->resources, &json, &len, &err) < 0)
    {
      ok(0, "resources round trip: emit");
      return;
    }
  member = xasprintf("\"resources\":%s", json);
  ok(strstr(RICH, member) != NULL, "oci_resources_emit writes linux.resources as config.json has it");
  if (oci_resources_parse("resources", json, len, &back, &err) < 0 || oci_resources_emit(back, &again, &len, &err) < 0)
    ok(0, "resources round trip: parse");
  else
    ok(strcmp(json, again) == 0, "emit(parse(emit(resources))) is lossless");
  oci_resources_free(back);
}

static void
check_parse_error(const char *text, const char *want)
{
  cleanup_free char *msg = NULL;
  struct oci_config *c = parse(text, &msg);

  oci_config_free(c);
  ok(msg && strcmp(msg, want) == 0, "%s", want);
  if (msg == NULL || strcmp(msg, want) != 0)
    printf("#   got: %s\n", msg ? msg : "(parsed)");
}

static void
test_type_errors(void)
{
  check_parse_error("{\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1\"}}}}",
                    "config.json: linux.resources.memory.limit: expected integer");
  check_parse_error("{\"process\":{\"args\":[\"a\",\"b\",3]}}",
                    "config.json: process.args[2]: expected string");
  check_parse_error("{\"process\":{\"user\":{\"uid\":4294967296}}}",
                    "config.json: process.user.uid: 4294967296 out of range for uint32");
  check_parse_error("{\"process\":{\"user\":{\"gid\":-1}}}",
                    "config.json: process.user.gid: -1 out of range for uint32");
  check_parse_error("{\"process\":{\"terminal\":\"yes\"}}",
                    "config.json: process.terminal: expected boolean");
  check_parse_error("{\"process\":{\"oomScoreAdj\":2147483648}}",
                    "config.json: process.oomScoreAdj: 2147483648 out of range for int32");
  check_parse_error("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":-1}]}}",
                    "config.json: process.rlimits[0].soft: -1 out of range for uint64");
  check_parse_error("{\"mounts\":{}}", "config.json: mounts: expected array");
  check_parse_error("{\"mounts\":[{\"destination\":\"/a\"},1]}", "config.json: mounts[1]: expected object");
  check_parse_error("{\"mounts\":[{\"options\":[\"ro\",null]}]}",
                    "config.json: mounts[0].options[1]: expected string");
  check_parse_error("{\"root\":[]}", "config.json: root: expected object");
  check_parse_error("{\"linux\":{\"resources\":{\"blockIO\":{\"weight\":65536}}}}",
                    "config.json: linux.resources.blockIO.weight: 65536 out of range for uint16");
  check_parse_error("{\"linux\":{\"resources\":{\"memory\":{\"limit\":1.5}}}}",
                    "config.json: linux.resources.memory.limit: expected integer");
  check_parse_error("{\"linux\":{\"resources\":{\"memory\":{\"limit\":9223372036854775808}}}}",
                    "config.json: linux.resources.memory.limit: 9223372036854775808 out of range for int64");
  check_parse_error("{\"linux\":{\"resources\":{\"pids\":{\"limit\":true}}}}",
                    "config.json: linux.resources.pids.limit: expected integer");
  check_parse_error("{\"linux\":{\"resources\":{\"rdma\":{\"mlx\":{\"hcaHandles\":true}}}}}",
                    "config.json: linux.resources.rdma.mlx.hcaHandles: expected integer");
  check_parse_error("{\"annotations\":{\"a\":1}}", "config.json: annotations.a: expected string");
  check_parse_error("{\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":1}}}",
                    "config.json: linux.sysctl.net.ipv4.ip_forward: expected string");
  check_parse_error("{\"linux\":{\"seccomp\":{\"syscalls\":[{\"args\":[{\"index\":0,\"value\":-1}]}]}}}",
                    "config.json: linux.seccomp.syscalls[0].args[0].value: -1 out of range for uint64");
  check_parse_error("{\"linux\":{\"timeOffsets\":{\"boottime\":{\"nanosecs\":\"1\"}}}}",
                    "config.json: linux.timeOffsets.boottime.nanosecs: expected integer");
  check_parse_error("{\"linux\":{\"netDevices\":{\"eth0\":\"x\"}}}",
                    "config.json: linux.netDevices.eth0: expected object");
  check_parse_error("{\"hooks\":{\"poststop\":[{\"path\":\"/x\",\"timeout\":\"5\"}]}}",
                    "config.json: hooks.poststop[0].timeout: expected integer");
  check_parse_error("{\"ociVersion\":1}", "config.json: ociVersion: expected string");
  check_parse_error("[]", "config.json: expected a JSON object");
  check_parse_error("{\"ociVersion\": \"1.0.0\",\n  \"process\": {\"args\": [\"sh\"}\n}",
                    "config.json: line 2, column 28: after array element, I expect ',' or ']'");
  check_parse_error("", "config.json: line 1, column 1: empty document");
  /* the first error wins even when a later field is also wrong */
  check_parse_error("{\"hostname\":1,\"domainname\":2}", "config.json: hostname: expected string");
}

static void
test_lenient(void)
{
  cleanup_config struct oci_config *c
      = parse("{\"ociVersion\":\"1.0.2\",\"unknown\":{\"x\":[1,2]},\"process\":{\"bar\":[],\"args\":[\"x\"],"
              "\"oomScoreAdj\":null,\"capabilities\":null},\"hostname\":null,\"linux\":{\"future\":true}}",
              NULL);

  ok(c != NULL, "unknown properties are ignored");
  ok(c && c->hostname == NULL && !c->process->has_oom_score_adj && c->process->capabilities == NULL,
     "null means absent");
  ok(c && c->linux_ != NULL && c->linux_->namespaces_len == 0, "an empty linux object is kept");
}

static void
test_other_documents(void)
{
  struct oci_error *err = NULL;
  struct oci_process *p = NULL;
  struct oci_resources *r = NULL;
  struct oci_config *c = NULL;
  const char *proc = "{\"args\":[\"ls\",\"-l\"],\"cwd\":\"/\",\"user\":{\"uid\":7},\"terminal\":false}";
  const char *bad_proc = "{\"args\":[1]}";
  const char *res
      = "{\"memory\":{\"limit\":67108864},\"pids\":{\"limit\":10},\"unified\":{\"cpu.max\":\"max\"}}";
  cleanup_free char *msg = NULL, *msg2 = NULL, *msg3 = NULL;

  ok(oci_process_parse("process.json", proc, strlen(proc), &p, &err) == 0 && p->args_len == 2
         && p->user.uid == 7 && oci_process_validate("process.json", p, &err) == 0,
     "a bare Process parses and validates");
  oci_process_free(p);
  p = NULL;
  ok(oci_process_parse("process.json", bad_proc, strlen(bad_proc), &p, &err) < 0
         && strcmp(err->msg, "process.json: args[0]: expected string") == 0,
     "Process errors are relative to the document: %s", err ? err->msg : "");
  oci_error_free(err);
  err = NULL;

  ok(oci_resources_parse("resources", res, strlen(res), &r, &err) == 0 && r->memory->limit == 67108864
         && r->pids_limit == 10 && r->unified_len == 1,
     "a bare LinuxResources parses");
  oci_resources_free(r);
  r = NULL;
  ok(oci_resources_parse("resources", "{\"cpu\":{\"shares\":-2}}", 21, &r, &err) < 0
         && strcmp(err->msg, "resources: cpu.shares: -2 out of range for uint64") == 0,
     "LinuxResources errors: %s", err ? err->msg : "");
  oci_error_free(err);
  err = NULL;

  ok(oci_config_parse_file("/nonexistent/dir/config.json", &c, &err) < 0 && err->status == ENOENT
         && strcmp((msg = oci_error_string(err)), "/nonexistent/dir/config.json: No such file or directory")
                == 0,
     "missing file: %s", msg ? msg : "");
  oci_error_free(err);
  err = NULL;

  {
    char dir[] = "/tmp/test-config-XXXXXX";
    cleanup_free char *path = NULL;
    FILE *f;

    if (mkdtemp(dir) == NULL)
      abort();
    path = xasprintf("%s/config.json", dir);
    f = fopen(path, "w");
    fputs("{\"process\": {\"args\": \"sh\"}}", f);
    fclose(f);
    ok(oci_config_parse_file(path, &c, &err) < 0
           && strcmp((msg2 = oci_error_string(err)), "config.json: process.args: expected array") == 0,
       "file errors are prefixed with the basename: %s", msg2 ? msg2 : "");
    oci_error_free(err);
    err = NULL;
    f = fopen(path, "w");
    fputs(RICH, f);
    fclose(f);
    ok(oci_config_parse_file(path, &c, &err) == 0 && c->linux_->seccomp->syscalls_len == 2, "a file parses");
    oci_config_free(c);
    c = NULL;
    unlink(path);
    rmdir(dir);
  }
  (void)msg3;
}

/* ---- validation ---- */

static const char VALID[]
    = "{\"ociVersion\":\"1.0.2-dev\",\"root\":{\"path\":\"rootfs\"},"
      "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
      "\"hostname\":\"h\",\"linux\":{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"mount\"}]}}";

/* VALID with one top-level member replaced (or added). */
static void
check_invalid(const char *key, const char *value, const char *want)
{
  cleanup_free char *text = NULL, *msg = NULL;
  struct oci_config *c = parse(VALID, NULL);
  struct oci_config *c2 = NULL;
  struct oci_error *err = NULL;
  const char *p = strstr(VALID, key);

  oci_config_free(c);
  if (p)
    {
      /* replace "key":<value up to the matching bracket or comma> */
      const char *v = p + strlen(key) + 2;
      int depth = 0;
      const char *e = v;

      for (; *e; e++)
        {
          if (*e == '{' || *e == '[')
            depth++;
          else if (*e == '}' || *e == ']')
            {
              if (depth == 0)
                break;
              depth--;
            }
          else if (*e == ',' && depth == 0)
            break;
        }
      text = xasprintf("%.*s%s\":%s%s", (int)(p - VALID), VALID, key, value, e);
    }
  else
    text = xasprintf("{\"%s\":%s,%s", key, value, VALID + 1);

  c2 = parse(text, NULL);
  if (c2 == NULL)
    {
      ok(0, "%s (did not parse: %s)", want, text);
      return;
    }
  if (oci_config_validate("config.json", c2, &err) == 0)
    msg = xstrdup("(valid)");
  else
    msg = oci_error_string(err);
  oci_error_free(err);
  oci_config_free(c2);
  ok(strcmp(msg, want) == 0, "%s", want);
  if (strcmp(msg, want) != 0)
    printf("#   got: %s\n#   doc: %s\n", msg, text);
}

#define NS_USER "{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"uts\"}]"

static void
test_validation(void)
{
  check_invalid("hostname", "\"h\"", "(valid)");
  check_invalid("ociVersion", "\"2.0.0\"", "config.json: ociVersion: unsupported version 2.0.0");
  check_invalid("ociVersion", "\"0.5.0\"", "config.json: ociVersion: unsupported version 0.5.0");
  check_invalid("ociVersion", "\"1.3.0\"", "(valid)");
  check_invalid("ociVersion", "null", "config.json: ociVersion: required");
  check_invalid("root", "{}", "config.json: root.path: required");
  check_invalid("process", "null", "config.json: process: required");
  check_invalid("process", "{\"args\":[],\"cwd\":\"/\"}",
                "config.json: process.args: must be a non-empty array of strings");
  check_invalid("process", "{\"cwd\":\"/\"}",
                "config.json: process.args: must be a non-empty array of strings");
  check_invalid("process", "{\"args\":[\"sh\"],\"cwd\":\"tmp\"}",
                "config.json: process.cwd: must be an absolute path");
  check_invalid("process", "{\"args\":[\"sh\"]}", "config.json: process.cwd: must be an absolute path");
  check_invalid("process", "{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_FOO\"}]}",
                "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  check_invalid(
      "process",
      "{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},"
      "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1}]}",
      "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"");
  check_invalid(
      "process",
      "{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":2,\"hard\":1}]}",
      "config.json: process.rlimits[0]: soft limit 2 exceeds hard limit 1");
  check_invalid(
      "process",
      "{\"args\":[\"sh\"],\"cwd\":\"/\",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":8}}",
      "config.json: process.ioPriority.priority: 8 is not in [0, 7]");
  check_invalid("process", "{\"args\":[\"sh\"],\"cwd\":\"/\",\"oomScoreAdj\":1001}",
                "config.json: process.oomScoreAdj: 1001 is not in [-1000, 1000]");
  /* each field's own range (config-fields.c) is checked before the fields together */
  check_invalid("process", "{\"args\":[],\"cwd\":\"/\",\"oomScoreAdj\":1001}",
                "config.json: process.oomScoreAdj: 1001 is not in [-1000, 1000]");
  check_invalid("process",
                "{\"args\":[\"sh\"],\"cwd\":\"/\",\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":20}}",
                "config.json: process.scheduler.nice: 20 is not in [-20, 19]");
  check_invalid("mounts", "[{\"destination\":\"tmp\",\"type\":\"tmpfs\"}]", "(valid)");
  check_invalid("mounts", "[{\"type\":\"tmpfs\"}]", "config.json: mounts[0].destination: required");
  check_invalid("hooks", "{\"poststart\":[{\"path\":\"hook\"}]}",
                "config.json: hooks.poststart[0].path: must be an absolute path");
  check_invalid("hooks", "{\"prestart\":[{\"path\":\"/hook\",\"timeout\":0}]}",
                "config.json: hooks.prestart[0].timeout: must be greater than zero");
  check_invalid("linux", "{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"foo\"}]}",
                "config.json: linux.namespaces[1].type: unknown namespace type \"foo\"");
  check_invalid("linux", "{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"uts\"}]}",
                "config.json: linux.namespaces[1]: duplicate namespace type \"uts\"");
  check_invalid("linux", "{\"namespaces\":[{\"type\":\"mount\"}]}",
                "config.json: hostname: requires a UTS namespace in linux.namespaces");
  check_invalid("linux", NS_USER "}",
                "config.json: linux.uidMappings: required when a user namespace is created");
  check_invalid("linux",
                "{\"namespaces\":[{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"},{\"type\":\"uts\"}]}",
                "(valid)");
  check_invalid(
      "linux",
      "{\"namespaces\":[{\"type\":\"uts\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}],"
      "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}",
      "config.json: linux.uidMappings: user namespace mappings specified, but no user namespace in "
      "linux.namespaces");
  check_invalid("linux", NS_USER ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}",
                "config.json: linux.gidMappings: required when a user namespace is created");
  check_invalid("linux",
                NS_USER ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":0}],"
                        "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}",
                "config.json: linux.uidMappings[0].size: must be greater than zero");
  check_invalid(
      "linux",
      "{\"namespaces\":[{\"type\":\"uts\"}],\"timeOffsets\":{\"monotonic\":{\"secs\":1,\"nanosecs\":0}}}",
      "config.json: linux.timeOffsets: requires a time namespace in linux.namespaces");
  check_invalid("linux",
                "{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"time\"}],"
                "\"timeOffsets\":{\"boottime\":{\"secs\":1,\"nanosecs\":1000000000}}}",
                "config.json: linux.timeOffsets.boottime.nanosecs: must be less than 1000000000");
  check_invalid("linux",
                "{\"namespaces\":[{\"type\":\"uts\"}],\"devices\":[{\"path\":\"/dev/x\",\"type\":\"z\"}]}",
                "config.json: linux.devices[0].type: must be one of c, b, u, p");
  check_invalid("linux",
                "{\"namespaces\":[{\"type\":\"uts\"}],\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\"}]}",
                "config.json: linux.devices[0].path: must be an absolute path");
  check_invalid("linux",
                "{\"namespaces\":[{\"type\":\"uts\"}],\"resources\":{\"devices\":[{\"allow\":true,\"access\":"
                "\"rwx\"}]}}",
                "config.json: linux.resources.devices[0].access: must be a combination of r, w and m");
  check_invalid(
      "linux", "{\"namespaces\":[{\"type\":\"uts\"}],\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}",
      "config.json: linux.sysctl: \"net.ipv4.ip_forward\" is not allowed in the host's network namespace");
  check_invalid(
      "linux",
      "{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"network\"},{\"type\":\"ipc\"}],"
      "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.shmmax\":\"1\",\"fs.mqueue.msg_max\":\"1\","
      "\"kernel.domainname\":\"x\"}}",
      "(valid)");
  check_invalid("linux", "{\"namespaces\":[{\"type\":\"uts\"}],\"sysctl\":{\"vm.swappiness\":\"1\"}}",
                "config.json: linux.sysctl: \"vm.swappiness\" is not in a separate kernel namespace");
  check_invalid("linux",
                "{\"namespaces\":[{\"type\":\"uts\"}],\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}",
                "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");
  check_invalid(
      "linux",
      "{\"namespaces\":[{\"type\":\"uts\"}],\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
      "\"syscalls\":[{\"names\":[\"x\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":0,"
      "\"op\":\"SCMP_CMP_FOO\"}]}]}}",
      "config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\"");
  check_invalid("linux",
                "{\"namespaces\":[{\"type\":\"uts\"}],\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}}",
                "config.json: linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
  check_invalid("linux", "{\"namespaces\":[{\"type\":\"uts\"}],\"rootfsPropagation\":\"rshared\"}",
                "(valid)");
  check_invalid("linux", "{\"namespaces\":[{\"type\":\"uts\"}],\"rootfsPropagation\":\"up\"}",
                "config.json: linux.rootfsPropagation: unknown propagation \"up\"");
  check_invalid("linux", "{\"namespaces\":[{\"type\":\"uts\"}],\"personality\":{\"domain\":\"BSD\"}}",
                "config.json: linux.personality.domain: must be LINUX or LINUX32");
}

/* ---- default config ---- */

static void
test_default(void)
{
  cleanup_config struct oci_config *def = oci_config_default(false, 0, 0);
  cleanup_config struct oci_config *rl = oci_config_default(true, 1000, 1001);
  cleanup_config struct oci_config *back = NULL;
  cleanup_free char *json = emit(def, true), *json_rl = emit(rl, true), *again = NULL;
  struct oci_error *err = NULL;

  cleanup_config struct oci_config *back_rl = parse(json_rl, NULL);

  /* what `ocirt spec` writes, which carries the ociVersion the emitter chose */
  back = parse(json, NULL);
  ok(back && oci_config_validate("config.json", back, &err) == 0, "the default config validates");
  oci_error_free(err);
  err = NULL;
  ok(back_rl && oci_config_validate("config.json", back_rl, &err) == 0,
     "the rootless default config validates%s%s", err ? ": " : "", err ? err->msg : "");
  oci_error_free(err);
  err = NULL;

  again = back ? emit(back, true) : NULL;
  ok(again && strcmp(json, again) == 0, "the default config round-trips");

  ok(strstr(json, "\"ociVersion\": \"1.0.0\"") && strstr(json, "\"hostname\": \"ocirt\"")
         && strstr(json, "\"terminal\": true") && strstr(json, "\t\t\"args\": [\n\t\t\t\"sh\"\n\t\t]")
         && strstr(json, "\"gid=5\"") && strstr(json, "\"type\": \"network\"")
         && strstr(json, "\"type\": \"sysfs\"") && strstr(json, "\"/proc/sysrq-trigger\"")
         && strstr(json, "\"allow\": false,\n\t\t\t\t\t\"access\": \"rwm\""),
     "default config has runc's content");
  ok(def->process->capabilities->ambient_len == 3 && def->process->capabilities->inheritable_len == 0
         && def->mounts_len == 7 && def->linux_->masked_paths_len == 10
         && def->linux_->readonly_paths_len == 5,
     "default config shape matches runc 1.1.5");
  ok(!strstr(json_rl, "gid=5") && !strstr(json_rl, "\"network\"") && !strstr(json_rl, "\"resources\"")
         && strstr(json_rl, "\"source\": \"/sys\"") && strstr(json_rl, "\"rbind\"")
         && rl->linux_->uid_mappings[0].host_id == 1000 && rl->linux_->gid_mappings[0].host_id == 1001
         && strcmp(rl->linux_->namespaces[rl->linux_->namespaces_len - 1].type, "user") == 0,
     "rootless default: user namespace mapping the caller, no network namespace, sysfs bind");
}

/* The namespace types of cfg, space-separated. */
static char *
namespace_types(const struct oci_config *cfg)
{
  char *s = xstrdup("");

  for (size_t i = 0; i < cfg->linux_->namespaces_len; i++)
    {
      char *t = xasprintf("%s%s%s", s, i ? " " : "", cfg->linux_->namespaces[i].type);
      free(s);
      s = t;
    }
  return s;
}

/* runc's order on a cgroup v2 host: cgroup after mount, user last. */
static void
test_default_cgroupns(void)
{
  cleanup_config struct oci_config *def = oci_config_default(false, 0, 0);
  cleanup_config struct oci_config *rl = oci_config_default(true, 1000, 1001);
  cleanup_free char *a = NULL, *b = NULL;

  oci_config_default_add_cgroupns(def);
  oci_config_default_add_cgroupns(rl);
  a = namespace_types(def);
  b = namespace_types(rl);
  ok(strcmp(a, "pid network ipc uts mount cgroup") == 0, "cgroup v2 default: %s", a);
  ok(strcmp(b, "pid ipc uts mount cgroup user") == 0, "cgroup v2 rootless default: %s", b);
}

/* ---- ociVersion ---- */

/* The version `member` (a JSON member of config.json) needs on top of a
 * config that needs nothing. */
static void
check_min_version(const char *member, const char *want)
{
  cleanup_free char *text = xasprintf("{\"ociVersion\":\"1.0.0\",%s}", member);
  cleanup_config struct oci_config *cfg = parse(text, NULL);
  const char *got = cfg ? oci_config_min_version(cfg) : "(parse error)";

  ok(strcmp(got, want) == 0, "%s needs %s (got %s)", member, want, got);
}

static void
test_min_version(void)
{
  cleanup_config struct oci_config *rich = parse(RICH, NULL);
  cleanup_config struct oci_config *def = oci_config_default(false, 0, 0);
  cleanup_config struct oci_config *old = parse("{\"ociVersion\":\"1.0.2-dev\",\"domainname\":\"d\"}", NULL);
  cleanup_free char *json = NULL, *json_old = NULL;

  check_min_version("\"hostname\":\"h\",\"annotations\":{\"org.opencontainers.image.os\":\"linux\"}",
                    "1.0.0");
  check_min_version("\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"umask\":18}}", "1.0.2");
  check_min_version("\"hooks\":{\"prestart\":[{\"path\":\"/a\"}],\"createRuntime\":[{\"path\":\"/b\"}]}",
                    "1.0.2");
  check_min_version("\"linux\":{\"personality\":{\"domain\":\"LINUX\"}}", "1.0.2");
  check_min_version("\"linux\":{\"resources\":{\"memory\":{\"limit\":1,\"useHierarchy\":true}}}", "1.0.2");
  check_min_version("\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_LOG\"}}", "1.0.2");
  check_min_version("\"domainname\":\"d\"", "1.1.0");
  check_min_version("\"process\":{\"scheduler\":{\"policy\":\"SCHED_OTHER\"}}", "1.1.0");
  check_min_version("\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"time\"}]}", "1.1.0");
  check_min_version("\"linux\":{\"resources\":{\"unified\":{\"memory.high\":\"max\"}}}", "1.1.0");
  check_min_version("\"linux\":{\"resources\":{\"cpu\":{\"idle\":1}}}", "1.1.0");
  check_min_version("\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1}}",
                    "1.1.0");
  check_min_version("\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":["
                    "\"kill\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}}",
                    "1.1.0");
  check_min_version("\"mounts\":[{\"destination\":\"/a\",\"options\":[\"rbind\",\"rro\"]}]", "1.1.0");
  check_min_version("\"mounts\":[{\"destination\":\"/a\",\"options\":[\"rbind\",\"idmap\"]}]", "1.2.0");
  check_min_version("\"mounts\":[{\"destination\":\"a\",\"type\":\"tmpfs\"}]", "1.2.0");
  check_min_version("\"process\":{\"execCPUAffinity\":{\"initial\":\"0\"}}", "1.2.1");
  check_min_version("\"linux\":{\"netDevices\":{\"eth1\":{}}}", "1.3.0");
  check_min_version("\"linux\":{\"memoryPolicy\":{\"mode\":\"MPOL_BIND\",\"nodes\":\"0\"}}", "1.3.0");
  ok(rich && strcmp(oci_config_min_version(rich), "1.3.0") == 0, "the config with every field needs 1.3.0");

  /* the emitter writes the computed version only where none was given */
  def->domainname = xstrdup("example.org");
  json = emit(def, false);
  ok(starts_with(json, "{\"ociVersion\":\"1.1.0\","),
     "a default config with a domainname is written as 1.1.0");
  json_old = old ? emit(old, false) : NULL;
  ok(starts_with(json_old, "{\"ociVersion\":\"1.0.2-dev\","), "a parsed config keeps its own ociVersion");
}

/* ---- state and features ---- */

static void
test_state(void)
{
  struct oci_kv ann[] = { { "a", "b" } };
  struct oci_state st = { .oci_version = "1.2.0",
                          .id = "c1",
                          .status = "created",
                          .pid = 4242,
                          .bundle = "/b",
                          .rootfs = "/b/rootfs",
                          .created = "2024-01-02T03:04:05.123456789Z",
                          .owner = "",
                          .annotations = ann,
                          .annotations_len = 1 };
  struct oci_error *err = NULL;
  struct oci_state *back = NULL;
  cleanup_free char *out = NULL, *pretty = NULL;
  size_t len = 0;

  ok(oci_state_emit(&st, false, &out, &len, &err) == 0
         && strcmp(
                out,
                "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"pid\":4242,\"status\":\"created\","
                "\"bundle\":\"/b\",\"rootfs\":\"/b/rootfs\",\"created\":\"2024-01-02T03:04:05.123456789Z\","
                "\"annotations\":{\"a\":\"b\"},\"owner\":\"\"}")
                == 0,
     "state in runc's member order");
  if (out)
    printf("# %s\n", out);
  ok(oci_state_emit(&st, true, &pretty, &len, &err) == 0 && starts_with(pretty, "{\n  \"ociVersion\""),
     "pretty state uses two-space indents");
  ok(oci_state_parse("state.json", out, strlen(out), &back, &err) == 0 && back->pid == 4242
         && strcmp(back->status, "created") == 0 && strcmp(back->owner, "") == 0 && back->annotations_len == 1
         && strcmp(back->annotations[0].value, "b") == 0,
     "state parses back");
  oci_state_free(back);
  back = NULL;
  ok(oci_state_parse("state.json", "{\"pid\":\"1\"}", 11, &back, &err) < 0
         && strcmp(err->msg, "state.json: pid: expected integer") == 0,
     "state type errors name the field");
  oci_error_free(err);
  err = NULL;
  {
    cleanup_free char *proc = NULL, *bare = NULL;

    st.status = "creating";
    ok(oci_process_state_emit(&st, 4343, "meta", &proc, &len, &err) == 0
           && strcmp(proc,
                     "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":4343,\"metadata\":\"meta\","
                     "\"state\":{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":4242,"
                     "\"bundle\":\"/b\",\"annotations\":{\"a\":\"b\"}}}")
                  == 0,
       "container process state for a seccomp agent, runc's members and order");
    if (proc)
      printf("# %s\n", proc);
    st.annotations_len = 0;
    ok(oci_process_state_emit(&st, 4343, "", &bare, &len, &err) == 0 && strstr(bare, "metadata") == NULL
           && strstr(bare, "annotations") == NULL,
       "container process state leaves out empty metadata and annotations");
  }
}

static void
test_features(void)
{
  struct oci_features *f = xzalloc(sizeof *f);
  struct oci_error *err = NULL;
  cleanup_free char *out = NULL, *pretty = NULL;
  size_t len = 0;

  f->oci_version_min = xstrdup("1.0.0");
  f->oci_version_max = xstrdup("1.2.0");
  oci_strlist_add_all(&f->hooks, (const char *const[]){ "prestart", "poststop", NULL });
  oci_strlist_add_all(&f->mount_options, (const char *const[]){ NULL }); /* known to be empty */
  f->linux_ = xzalloc(sizeof *f->linux_);
  oci_strlist_add(&f->linux_->namespaces, "pid");
  f->linux_->cgroup = xzalloc(sizeof *f->linux_->cgroup);
  f->linux_->cgroup->v1 = (struct oci_optbool){ true, true };
  f->linux_->cgroup->rdma = (struct oci_optbool){ true, false };
  f->linux_->seccomp = xzalloc(sizeof *f->linux_->seccomp);
  f->linux_->seccomp->enabled = (struct oci_optbool){ true, true };
  oci_strlist_add(&f->linux_->seccomp->actions, "SCMP_ACT_ALLOW");
  f->linux_->apparmor = xzalloc(sizeof *f->linux_->apparmor);
  f->linux_->apparmor->enabled = (struct oci_optbool){ true, false };
  f->linux_->mount_extensions = xzalloc(sizeof *f->linux_->mount_extensions);
  f->linux_->mount_extensions->idmap = xzalloc(sizeof *f->linux_->mount_extensions->idmap);
  f->linux_->mount_extensions->idmap->enabled = (struct oci_optbool){ true, true };
  f->annotations = xcalloc(1, sizeof(struct oci_kv));
  f->annotations_len = 1;
  f->annotations[0] = (struct oci_kv){ xstrdup("io.github.seccomp.libseccomp.version"), xstrdup("2.5.4") };

  ok(oci_features_emit(f, false, &out, &len, &err) == 0
         && strcmp(out,
                   "{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.2.0\","
                   "\"hooks\":[\"prestart\",\"poststop\"],\"mountOptions\":[],"
                   "\"linux\":{\"namespaces\":[\"pid\"],\"cgroup\":{\"v1\":true,\"rdma\":false},"
                   "\"seccomp\":{\"enabled\":true,\"actions\":[\"SCMP_ACT_ALLOW\"]},"
                   "\"apparmor\":{\"enabled\":false},\"mountExtensions\":{\"idmap\":{\"enabled\":true}}},"
                   "\"annotations\":{\"io.github.seccomp.libseccomp.version\":\"2.5.4\"}}")
                == 0,
     "features: unset omitted, empty list emitted as []");
  if (out)
    printf("# %s\n", out);
  ok(oci_features_emit(f, true, &pretty, &len, &err) == 0 && starts_with(pretty, "{\n    \"ociVersionMin\""),
     "pretty features use four-space indents");
  oci_features_free(f);
  oci_features_free(NULL);
}

static void
test_free_null(void)
{
  oci_config_free(NULL);
  oci_process_free(NULL);
  oci_resources_free(NULL);
  oci_state_free(NULL);
  ok(1, "destructors accept NULL");
}

/* spec/error: only a system call's errno is printed; a failure that is not
 * one keeps its status for callers but prints no strerror. */
static void
test_error_kinds(void)
{
  struct oci_error *sys = NULL, *fail = NULL, *copy = NULL;
  cleanup_free char *a = NULL, *b = NULL, *c = NULL;

  oci_error_set(&sys, ENOENT, "open `x`");
  oci_error_fail(&fail, ENOENT, "image `y` not found");
  oci_error_wrap(&fail, "pulling y");
  oci_error_copy(&copy, fail);
  a = oci_error_string(sys);
  b = oci_error_string(fail);
  c = oci_error_string(copy);
  ok(strcmp(a, "open `x`: No such file or directory") == 0, "a system call's error: %s", a);
  ok(strcmp(b, "pulling y: image `y` not found") == 0 && fail->status == ENOENT,
     "another failure keeps its status, prints no strerror: %s", b);
  ok(strcmp(c, b) == 0 && copy->status == ENOENT, "a copy keeps both: %s", c);
  oci_error_free(sys);
  oci_error_free(fail);
  oci_error_free(copy);
}

int
main(void)
{
  test_rich_fields();
  test_round_trip();
  test_resources_round_trip();
  test_type_errors();
  test_lenient();
  test_other_documents();
  test_validation();
  test_default();
  test_default_cgroupns();
  test_min_version();
  test_state();
  test_features();
  test_free_null();
  test_error_kinds();
  return tap_done();
}

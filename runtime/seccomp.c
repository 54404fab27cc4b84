#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "seccomp-cache.h"
#include "seccomp.h"
#include "util.h"

/* The kernel's seccomp has six syscall arguments. */
#define SECCOMP_ARGS 6
/* From this many rules on, the filter is a binary tree (build_filter). */
#define MIN_RULES_FOR_TREE 8

static void
cleanup_scmpp(scmp_filter_ctx *c)
{
  if (*c)
    seccomp_release(*c);
}
#define cleanup_scmp __attribute__((cleanup(cleanup_scmpp)))

/* `field` names the config path of the action for messages. */
static int
parse_action(const char *name, bool has_errno, uint32_t errno_ret, const char *field, uint32_t *out,
             struct oci_error **err)
{
  /* runc's default for ERRNO and TRACE without errnoRet. */
  uint32_t ret = has_errno ? errno_ret : EPERM;

  if (name == NULL)
    return oci_error_set(err, 0, "%s: missing action", field);
  if (ret > 0xffff && (strcmp(name, "SCMP_ACT_ERRNO") == 0 || strcmp(name, "SCMP_ACT_TRACE") == 0))
    return oci_error_set(err, 0, "%s: errnoRet %u does not fit in 16 bits", field, ret);
  if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO(ret);
  else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE(ret);
  else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp(name, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
    *out = SCMP_ACT_NOTIFY;
  else
    return oci_error_set(err, 0, "%s: unknown action \"%s\"", field, name);
  return 0;
}

static const struct
{
  const char *name;
  enum scmp_compare op;
} operators[] = {
  { "SCMP_CMP_NE", SCMP_CMP_NE },
  { "SCMP_CMP_LT", SCMP_CMP_LT },
  { "SCMP_CMP_LE", SCMP_CMP_LE },
  { "SCMP_CMP_EQ", SCMP_CMP_EQ },
  { "SCMP_CMP_GE", SCMP_CMP_GE },
  { "SCMP_CMP_GT", SCMP_CMP_GT },
  { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static int
parse_arg(const struct oci_seccomp_arg *a, size_t i, size_t j, struct scmp_arg_cmp *out,
          struct oci_error **err)
{
  if (a->index >= SECCOMP_ARGS)
    return oci_error_set(err, 0, "linux.seccomp.syscalls[%zu].args[%zu].index: %u is not in 0..5", i, j,
                         a->index);
  for (size_t k = 0; k < OCI_ARRAY_SIZE(operators); k++)
    if (a->op && strcmp(a->op, operators[k].name) == 0)
      {
        /* For SCMP_CMP_MASKED_EQ `value` is the mask and `valueTwo` the
         * datum, as libseccomp takes them. */
        *out = (struct scmp_arg_cmp){
          .arg = a->index,
          .op = operators[k].op,
          .datum_a = a->value,
          .datum_b = a->value_two,
        };
        return 0;
      }
  return oci_error_set(err, 0, "linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator \"%s\"", i, j,
                       a->op ? a->op : "");
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64". */
static int
parse_arch(const char *name, size_t i, uint32_t *out, struct oci_error **err)
{
  char lower[64];
  size_t n;

  if (name == NULL || strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name + 10) >= sizeof lower)
    return oci_error_set(err, 0, "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"", i,
                         name ? name : "");
  for (n = 0; name[10 + n]; n++)
    lower[n] = (char)tolower((unsigned char)name[10 + n]);
  lower[n] = '\0';
  if (strcmp(lower, "native") == 0)
    {
      *out = SCMP_ARCH_NATIVE;
      return 0;
    }
  *out = seccomp_arch_resolve_name(lower);
  if (*out == 0)
    return oci_error_set(err, 0, "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"", i, name);
  return 0;
}

/* Not in this system's <linux/seccomp.h> (Linux 5.19). */
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

static const struct
{
  const char *name;
  unsigned int value;
} filter_flags[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
  { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
  { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

/* linux.seccomp.flags: the flag the kernel takes when the filter is
 * loaded (the program itself does not change). */
static int
parse_flag(const char *flag, size_t i, unsigned int *out, struct oci_error **err)
{
  for (size_t k = 0; flag && k < OCI_ARRAY_SIZE(filter_flags); k++)
    if (strcmp(flag, filter_flags[k].name) == 0)
      {
        *out |= filter_flags[k].value;
        return 0;
      }
  return oci_error_set(err, 0, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i, flag ? flag : "");
}

/* libseccomp cannot compare one argument twice within a rule; like runc,
 * such conditions become one rule per condition. */
static bool
repeats_an_index(const struct scmp_arg_cmp *cmp, size_t n)
{
  for (size_t a = 0; a < n; a++)
    for (size_t b = a + 1; b < n; b++)
      if (cmp[a].arg == cmp[b].arg)
        return true;
  return false;
}

/* The filter is loaded before its listener reaches the parent, over the
 * sync socket (sendmsg): notifying that would wait for an agent that can
 * never get the listener.  runc refuses `write` for the same reason (its
 * sync pipe); so do we, so that one profile behaves the same under both. */
static bool
needed_after_load(const char *name)
{
  return strcmp(name, "sendmsg") == 0 || strcmp(name, "write") == 0;
}

static int
add_syscall_rules(scmp_filter_ctx ctx, uint32_t def, const struct oci_seccomp_syscall *s, size_t i,
                  size_t *added, struct oci_error **err)
{
  char field[64];
  struct scmp_arg_cmp cmp[SECCOMP_ARGS];
  uint32_t action;
  bool separate;

  snprintf(field, sizeof field, "linux.seccomp.syscalls[%zu].action", i);
  if (parse_action(s->action, s->has_errno_ret, s->errno_ret, field, &action, err) < 0)
    return -1;
  if (s->args_len > SECCOMP_ARGS)
    return oci_error_set(err, 0, "linux.seccomp.syscalls[%zu].args: more than %d conditions", i,
                         SECCOMP_ARGS);
  for (size_t j = 0; j < s->args_len; j++)
    if (parse_arg(&s->args[j], i, j, &cmp[j], err) < 0)
      return -1;
  /* libseccomp refuses a rule that repeats the default action; it changes
   * nothing anyway. */
  if (action == def)
    return 0;
  separate = repeats_an_index(cmp, s->args_len);

  for (size_t n = 0; n < s->names_len; n++)
    {
      int nr = seccomp_syscall_resolve_name(s->names[n]);
      int rc = 0;

      if (action == SCMP_ACT_NOTIFY && needed_after_load(s->names[n]))
        return oci_error_set(err, 0,
                             "linux.seccomp.syscalls[%zu]: SCMP_ACT_NOTIFY cannot be used for the %s syscall",
                             i, s->names[n]);

      /* Unknown to this libseccomp or architecture: ignored, as runc does,
       * so one profile serves several kernels. */
      if (nr == __NR_SCMP_ERROR)
        continue;
      if (!separate)
        rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)s->args_len, cmp);
      else
        for (size_t j = 0; j < s->args_len && rc >= 0; j++)
          rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[j]);
      if (rc < 0)
        return oci_error_set(err, -rc, "linux.seccomp.syscalls[%zu]: adding the rule for `%s`", i,
                             s->names[n]);
      (*added)++;
    }
  return 0;
}

static int
build_filter(const struct oci_seccomp *sc, scmp_filter_ctx *out, struct oci_error **err)
{
  cleanup_scmp scmp_filter_ctx ctx = NULL;
  uint32_t def;
  size_t rules = 0;
  int rc;

  if (parse_action(sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret,
                   "linux.seccomp.defaultAction", &def, err)
      < 0)
    return -1;
  /* Everything, our own sendmsg of the listener included, would wait for
   * an agent (runc's rule too). */
  if (def == SCMP_ACT_NOTIFY)
    return oci_error_set(err, 0,
                         "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action");
  ctx = seccomp_init(def);
  if (ctx == NULL)
    return oci_error_set(err, EINVAL, "linux.seccomp: creating the filter");
  /* noNewPrivileges is the config's decision, not libseccomp's. */
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0)
    return oci_error_set(err, -rc, "linux.seccomp: clearing the no_new_privs attribute");
  /* Report the kernel's errno rather than a blanket ECANCELED. */
  (void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);

  for (size_t i = 0; i < sc->architectures_len; i++)
    {
      uint32_t arch;
      if (parse_arch(sc->architectures[i], i, &arch, err) < 0)
        return -1;
      rc = seccomp_arch_add(ctx, arch);
      if (rc < 0 && rc != -EEXIST)
        return oci_error_set(err, -rc, "linux.seccomp.architectures[%zu]: adding %s", i,
                             sc->architectures[i]);
    }
  for (size_t i = 0; i < sc->syscalls_len; i++)
    if (add_syscall_rules(ctx, def, &sc->syscalls[i], i, &rules, err) < 0)
      return -1;
  /* libseccomp's default program tests the syscall numbers one after the
   * other; the kernel, when it loads a filter, runs it for every syscall
   * number to find those it always allows (its action cache), so with
   * docker's profile the load cost 1.7 ms, against 0.6 ms for the same
   * rules as a binary tree (and each syscall's walk gets shorter too).
   * Below a handful of rules there is nothing to gain, and libseccomp
   * before 2.5.4 forgot the default action of a tree without rules. */
  if (rules >= MIN_RULES_FOR_TREE)
    {
      rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
      if (rc < 0)
        return oci_error_set(err, -rc, "linux.seccomp: asking for a binary tree filter");
    }
  *out = steal_pointer(&ctx);
  return 0;
}

/* libseccomp 2.5 exports BPF only to a descriptor: a memfd, read back. */
static int
export_bpf(scmp_filter_ctx ctx, struct rt_seccomp_filter *out, struct oci_error **err)
{
  cleanup_close int fd = memfd_create("ocirt-seccomp", MFD_CLOEXEC);
  struct stat st;
  int rc;

  if (fd < 0)
    return oci_error_errno(err, "linux.seccomp: memfd for the filter");
  rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0)
    return oci_error_set(err, -rc, "linux.seccomp: compiling the filter");
  if (fstat(fd, &st) < 0)
    return oci_error_errno(err, "linux.seccomp: the compiled filter");
  if (st.st_size == 0 || st.st_size % sizeof(struct sock_filter) != 0
      || st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return oci_error_set(err, 0, "linux.seccomp: the compiled filter has %lld bytes, no valid program",
                         (long long)st.st_size);
  out->insns = xmalloc((size_t)st.st_size);
  if (pread(fd, out->insns, (size_t)st.st_size, 0) != st.st_size)
    return oci_error_errno(err, "linux.seccomp: reading the compiled filter");
  out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
  return 0;
}

int
rt_seccomp_compile(const struct oci_seccomp *sc, const char *cache_dir, struct rt_seccomp_filter *out,
                   struct oci_error **err)
{
  cleanup_scmp scmp_filter_ctx ctx = NULL;
  struct rt_seccomp_cache cache;

  *out = (struct rt_seccomp_filter){ 0 };
  if (sc == NULL)
    return 0;
  for (size_t i = 0; i < sc->flags_len; i++)
    if (parse_flag(sc->flags[i], i, &out->flags, err) < 0)
      return -1;
  /* Like the flags, read from the profile each time: the cache holds only
   * the program. */
  for (size_t i = 0; i < sc->syscalls_len; i++)
    if (sc->syscalls[i].action && strcmp(sc->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
      out->notify = true;
  /* Only a profile that compiled is ever cached, so a hit needs no check. */
  rt_seccomp_cache_init(&cache, cache_dir, sc);
  if (rt_seccomp_cache_get(&cache, out))
    {
      rt_seccomp_cache_clear(&cache);
      return 0;
    }
  if (build_filter(sc, &ctx, err) < 0 || export_bpf(ctx, out, err) < 0)
    {
      rt_seccomp_cache_clear(&cache);
      rt_seccomp_filter_clear(out);
      return -1;
    }
  rt_seccomp_cache_put(&cache, out);
  rt_seccomp_cache_clear(&cache);
  return 0;
}

void
rt_seccomp_filter_clear(struct rt_seccomp_filter *f)
{
  free(f->insns);
  *f = (struct rt_seccomp_filter){ 0 };
}

int
rt_seccomp_load(const struct rt_seccomp_filter *f, int *listener, struct oci_error **err)
{
  struct sock_fprog prog = { .len = f->len, .filter = f->insns };
  unsigned int flags = f->flags | (f->notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);

  /* It is about the listener's waits: the kernel refuses it without one,
   * libseccomp leaves it out then; so do we. */
  if (!f->notify)
    flags &= ~(unsigned int)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  /* TSYNC alone reports a thread it cannot sync in the result, where the
   * listener goes: the kernel wants TSYNC_ESRCH with a listener. */
  if (f->notify && (flags & SECCOMP_FILTER_FLAG_TSYNC))
    flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  long r;

  *listener = -1;
  if (f->insns == NULL)
    return 0;
  r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (r < 0)
    return oci_error_errno(err, "linux.seccomp: loading the filter");
  /* With NEW_LISTENER the result is the listener (close-on-exec). */
  if (f->notify)
    *listener = (int)r;
  return 0;
}

/* ---- features ---- */

static const char *const arch_names[] = {
  "x86",    "x86_64",   "x32",       "arm",         "aarch64", "mips",     "mipsel",
  "mips64", "mipsel64", "mips64n32", "mipsel64n32", "parisc",  "parisc64", "ppc",
  "ppc64",  "ppc64le",  "s390",      "s390x",       "riscv64",
};

static void
add_upper(struct oci_strlist *l, const char *prefix, const char *name)
{
  cleanup_free char *s = xasprintf("%s%s", prefix, name);

  for (char *p = s; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  oci_strlist_add(l, s);
}

/* An architecture build_filter can add next to the native one: libseccomp
 * refuses one of the other byte order (MIPS, PPC, s390 ... on x86_64),
 * so a profile naming it could not be loaded here. */
static bool
arch_usable(const char *name)
{
  uint32_t arch = seccomp_arch_resolve_name(name);
  cleanup_scmp scmp_filter_ctx ctx = NULL;
  int rc;

  if (arch == 0)
    return false;
  ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return false;
  rc = seccomp_arch_add(ctx, arch);
  return rc == 0 || rc == -EEXIST;
}

static int
compare_strings(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void
rt_seccomp_features(struct oci_features_seccomp *out)
{
  /* Level 3 brought KILL_PROCESS, LOG and the LOG flag; 4 SPEC_ALLOW;
   * 5 NOTIFY; 7 WAIT_KILLABLE_RECV.  Level 0 means the kernel is unknown. */
  unsigned api = seccomp_api_get();

  out->enabled = (struct oci_optbool){ true, true };
  out->actions.set = true;
  oci_strlist_add(&out->actions, "SCMP_ACT_ALLOW");
  oci_strlist_add(&out->actions, "SCMP_ACT_ERRNO");
  oci_strlist_add(&out->actions, "SCMP_ACT_KILL");
  if (api >= 3)
    oci_strlist_add(&out->actions, "SCMP_ACT_KILL_PROCESS");
  oci_strlist_add(&out->actions, "SCMP_ACT_KILL_THREAD");
  if (api >= 3)
    oci_strlist_add(&out->actions, "SCMP_ACT_LOG");
  /* Level 5: the kernel has user notification (SECCOMP_FILTER_FLAG_NEW_LISTENER). */
  if (api >= 5)
    oci_strlist_add(&out->actions, "SCMP_ACT_NOTIFY");
  oci_strlist_add(&out->actions, "SCMP_ACT_TRACE");
  oci_strlist_add(&out->actions, "SCMP_ACT_TRAP");

  out->operators.set = true;
  for (size_t k = 0; k < OCI_ARRAY_SIZE(operators); k++)
    oci_strlist_add(&out->operators, operators[k].name);
  qsort(out->operators.v, out->operators.len, sizeof(char *), compare_strings);

  out->archs.set = true;
  for (size_t k = 0; k < OCI_ARRAY_SIZE(arch_names); k++)
    if (arch_usable(arch_names[k]))
      add_upper(&out->archs, "SCMP_ARCH_", arch_names[k]);
  qsort(out->archs.v, out->archs.len, sizeof(char *), compare_strings);

  /* The flags go to the kernel with the program (rt_seccomp_load): what it
   * knows is supported.  A flag it does not know fails with EINVAL before
   * the (here missing) program is even read. */
  out->supported_flags.set = true;
  for (size_t k = 0; k < OCI_ARRAY_SIZE(filter_flags); k++)
    {
      /* WAIT_KILLABLE_RECV only goes with a listener (see rt_seccomp_load). */
      unsigned long probe = filter_flags[k].value == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                                ? filter_flags[k].value | SECCOMP_FILTER_FLAG_NEW_LISTENER
                                : filter_flags[k].value;

      oci_strlist_add(&out->known_flags, filter_flags[k].name);
      if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, probe, NULL) < 0 && errno != EINVAL)
        oci_strlist_add(&out->supported_flags, filter_flags[k].name);
    }
}

char *
rt_seccomp_version(void)
{
  const struct scmp_version *v = seccomp_version();

  return xasprintf("%u.%u.%u", v->major, v->minor, v->micro);
}

void
rt_seccomp_debug(const struct rt_context *log, const struct oci_seccomp *sc, const char *when)
{
  char arches[512] = "";
  size_t names = 0;

  if (sc == NULL || !log->debug)
    return;
  for (size_t i = 0; i < sc->syscalls_len; i++)
    names += sc->syscalls[i].names_len;
  rt_log_append_strv(arches, sizeof arches, sc->architectures, sc->architectures_len);
  rt_debug(log,
           "seccomp: loading the filter %s: default action %s, %zu rules naming %zu syscalls, "
           "architectures %s%s%s",
           when, sc->default_action ? sc->default_action : "unset", sc->syscalls_len, names, arches,
           sc->listener_path ? ", listener " : "", sc->listener_path ? sc->listener_path : "");
}

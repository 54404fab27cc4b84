/* Compiled seccomp filters, kept between runs.
 *
 * Compiling docker's and podman's default profile (some 350 syscall names)
 * with libseccomp costs more than everything else `create` does for a
 * container with limits and masked paths: 10-20 ms against 5.  Clients run
 * the same few profiles for every container, so the program is kept in a
 * small directory on tmpfs and reused.
 *
 * An entry holds its whole key, which the lookup compares byte for byte:
 * the profile as emitted from the parsed config, this binary's build id and
 * libseccomp's version and API level (what the program depends on besides
 * the profile).  The file name, a 64-bit hash of the key, only spreads the
 * entries: a collision is a miss, never someone else's filter.
 *
 * The cache is an optimisation and nothing else: an entry or directory that
 * is not exactly as this code writes it (owner, mode, size, header), or any
 * error on the way, means compiling as without a cache. */
#include <config.h>

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "json.h"
#include "seccomp-cache.h"
#include "spec/config-fields.h"
#include "util.h"

#define ENTRY_MAGIC "ocirt-seccomp-1\n"
/* More distinct profiles than any node runs; past it the directory is
 * emptied rather than kept in order (an eviction policy is not worth its
 * code for a cache this cheap to refill). */
#define MAX_ENTRIES 64
/* An entry: the key (a profile of 1,000 syscall names is ~20 KiB) and at
 * most BPF_MAXINSNS instructions. */
#define MAX_ENTRY_SIZE (1 << 20)

struct entry_header
{
  char magic[sizeof(ENTRY_MAGIC) - 1];
  uint32_t key_len;
  uint32_t insns_len;
};

/* ---- the key ---- */

struct build_id
{
  const unsigned char *bytes;
  size_t len;
};

static int
find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
  struct build_id *id = data;

  (void)size;
  /* The first object is the program itself. */
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
      const char *p, *end;

      if (ph->p_type != PT_NOTE)
        continue;
      p = (const char *)(info->dlpi_addr + ph->p_vaddr);
      end = p + ph->p_memsz;
      while (p + sizeof(ElfW(Nhdr)) <= end)
        {
          const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
          const char *name = p + sizeof(*n);
          const char *desc = name + ((n->n_namesz + 3) & ~3u);

          if (desc + n->n_descsz > end)
            break;
          if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0)
            {
              id->bytes = (const unsigned char *)desc;
              id->len = n->n_descsz;
              return 1;
            }
          p = desc + ((n->n_descsz + 3) & ~3u);
        }
    }
  return 1;
}

/* What the compiled program depends on, then the profile.  NULL when this
 * binary has no build id: a rebuilt ocirt could then not be told apart, and
 * the cache is not used. */
static char *
make_key(const struct oci_seccomp *sc, size_t *len)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  const struct scmp_version *v = seccomp_version();
  struct build_id id = { 0 };
  char hex[2 * 64 + 1];
  char *profile = NULL, *key;
  size_t profile_len;

  dl_iterate_phdr(find_build_id, &id);
  if (id.len == 0 || id.len > 64 || v == NULL)
    return NULL;
  for (size_t i = 0; i < id.len; i++)
    sprintf(hex + 2 * i, "%02x", id.bytes[i]);

  json_write_object_begin(w);
  oci_fields_emit(w, oci_seccomp_fields, sc);
  json_write_object_end(w);
  if (json_writer_finish(w, &profile, &profile_len, NULL) < 0)
    return NULL;
  key = xasprintf("build-id %s\nlibseccomp %u.%u.%u api %u\n%s", hex, v->major, v->minor, v->micro,
                  seccomp_api_get(), profile);
  free(profile);
  *len = strlen(key);
  return key;
}

/* FNV-1a: spreads names, nothing more (see the top of the file). */
static uint64_t
hash_key(const char *key, size_t len)
{
  uint64_t h = 0xcbf29ce484222325ull;

  for (size_t i = 0; i < len; i++)
    {
      h ^= (unsigned char)key[i];
      h *= 0x100000001b3ull;
    }
  return h;
}

/* ---- the directory ---- */

/* The cache directory, created (mode 0700) when missing; -1 when it is not
 * ours alone. */
static int
open_cache_dir(const char *dir)
{
  cleanup_close int fd = -1;
  struct stat st;

  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return -1;
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0)
    return -1;
  if (st.st_uid != geteuid() || (st.st_mode & 077) != 0)
    return -1;
  return steal_fd(&fd);
}

static bool
read_entry(int dirfd, const char *name, const char *key, size_t key_len, struct rt_seccomp_filter *out)
{
  cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  struct entry_header h;
  struct stat st;
  size_t insns_size;

  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()
      || st.st_size < (off_t)sizeof(h) || st.st_size > MAX_ENTRY_SIZE)
    return false;
  buf = xmalloc((size_t)st.st_size);
  if (oci_read_all(fd, buf, (size_t)st.st_size) != st.st_size)
    return false;
  memcpy(&h, buf, sizeof(h));
  insns_size = (size_t)h.insns_len * sizeof(struct sock_filter);
  if (memcmp(h.magic, ENTRY_MAGIC, sizeof(h.magic)) != 0 || h.key_len != key_len || h.insns_len == 0
      || h.insns_len > BPF_MAXINSNS || sizeof(h) + key_len + insns_size != (size_t)st.st_size
      || memcmp(buf + sizeof(h), key, key_len) != 0)
    return false;
  out->insns = xmalloc(insns_size);
  memcpy(out->insns, buf + sizeof(h) + key_len, insns_size);
  out->len = (unsigned short)h.insns_len;
  return true;
}

/* Past MAX_ENTRIES, start again from an empty directory. */
static void
trim(int dirfd)
{
  cleanup_closedir DIR *d = NULL;
  struct dirent *e;
  int fd = dup(dirfd);
  size_t n = 0;

  if (fd < 0 || (d = fdopendir(fd)) == NULL)
    {
      if (fd >= 0)
        close(fd);
      return;
    }
  while ((e = readdir(d)) != NULL)
    n += e->d_type == DT_REG;
  if (n < MAX_ENTRIES)
    return;
  rewinddir(d);
  while ((e = readdir(d)) != NULL)
    if (e->d_type == DT_REG)
      (void)unlinkat(dirfd, e->d_name, 0);
}

/* A reader sees a whole entry or none.  Not durable: the directory is on
 * tmpfs, and a lost entry is compiled again. */
static void
write_entry(int dirfd, const char *name, const char *key, size_t key_len, const struct rt_seccomp_filter *f)
{
  struct entry_header h = { .key_len = (uint32_t)key_len, .insns_len = f->len };
  size_t insns_size = (size_t)f->len * sizeof(struct sock_filter);
  size_t len = sizeof(h) + key_len + insns_size;
  cleanup_free char *buf = xmalloc(len);
  struct oci_error *err = NULL;

  memcpy(h.magic, ENTRY_MAGIC, sizeof(h.magic));
  memcpy(buf, &h, sizeof(h));
  memcpy(buf + sizeof(h), key, key_len);
  memcpy(buf + sizeof(h) + key_len, f->insns, insns_size);
  if (oci_write_file_atomic(dirfd, name, buf, len, 0600, OCI_NOT_DURABLE, &err) < 0)
    oci_error_free(err);
}

/* ---- entry points ---- */

void
rt_seccomp_cache_init(struct rt_seccomp_cache *c, const char *dir, const struct oci_seccomp *sc)
{
  uint64_t h;

  *c = (struct rt_seccomp_cache){ .dirfd = -1 };
  if (dir == NULL || sc == NULL)
    return;
  c->key = make_key(sc, &c->key_len);
  if (c->key == NULL)
    return;
  c->dirfd = open_cache_dir(dir);
  h = hash_key(c->key, c->key_len);
  snprintf(c->name, sizeof(c->name), "%016llx", (unsigned long long)h);
}

bool
rt_seccomp_cache_get(const struct rt_seccomp_cache *c, struct rt_seccomp_filter *out)
{
  return c->dirfd >= 0 && read_entry(c->dirfd, c->name, c->key, c->key_len, out);
}

void
rt_seccomp_cache_put(const struct rt_seccomp_cache *c, const struct rt_seccomp_filter *f)
{
  if (c->dirfd < 0 || f->insns == NULL)
    return;
  trim(c->dirfd);
  write_entry(c->dirfd, c->name, c->key, c->key_len, f);
}

void
rt_seccomp_cache_clear(struct rt_seccomp_cache *c)
{
  free(c->key);
  if (c->dirfd >= 0)
    close(c->dirfd);
  *c = (struct rt_seccomp_cache){ .dirfd = -1 };
}

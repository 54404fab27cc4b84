/* Compiled seccomp filters kept between runs, keyed by the whole profile
 * (seccomp-cache.c says why and how). */
#ifndef RT_SECCOMP_CACHE_H
#define RT_SECCOMP_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "oci-config.h"
#include "seccomp.h"

struct rt_seccomp_cache
{
  char *key; /* NULL: no caching (no directory, no build id) */
  size_t key_len;
  int dirfd;
  char name[17];
};

/* Prepare the lookup of `sc` in `dir` (NULL: no cache). */
void rt_seccomp_cache_init(struct rt_seccomp_cache *c, const char *dir, const struct oci_seccomp *sc);
/* The cached program into out->insns/len; false on a miss. */
bool rt_seccomp_cache_get(const struct rt_seccomp_cache *c, struct rt_seccomp_filter *out);
/* Keep a freshly compiled program; failures are silent. */
void rt_seccomp_cache_put(const struct rt_seccomp_cache *c, const struct rt_seccomp_filter *f);
void rt_seccomp_cache_clear(struct rt_seccomp_cache *c);

#endif

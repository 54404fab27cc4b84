/* Platforms ("linux/arm64/v8") and choosing one from an image index, the way
 * containerd's platforms package normalises and ranks them (REGISTRY.md §5). */
#ifndef IMG_PLATFORM_H
#define IMG_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "image.h"

struct img_platform
{
  char *os;
  char *architecture;
  char *variant;    /* NULL or "" when none */
  char *os_version; /* NULL unless given as os/arch[/variant]:osversion */
};

/* "os/arch[/variant][:osversion]", normalised ("linux/aarch64" is
 * linux/arm64, "linux/arm" is linux/arm/v7). */
int img_platform_parse(const char *s, struct img_platform *out, struct oci_error **err);

/* The running machine: linux and uname -m mapped to GOARCH names. */
int img_platform_host(struct img_platform *out, struct oci_error **err);

/* In place: aarch64 → arm64 (variant 8/v8 dropped), x86_64 → amd64 (v1
 * dropped), armhf → arm/v7, armel → arm/v6, arm + "" → arm/v7, i386 → 386. */
void img_platform_normalise(struct img_platform *p);

char *img_platform_string(const struct img_platform *p);

/* OUT = (os, arch, variant), normalised; os_version is not kept. */
void img_platform_set(struct img_platform *out, const char *os, const char *arch, const char *variant);

/* The same os, architecture and variant once normalised (os_version is not
 * compared): the one image a name means for that platform. */
bool img_platform_equal(const struct img_platform *a, const struct img_platform *b);
void img_platform_clear(struct img_platform *p);

/* How well an image for (os, arch, variant) suits WANT: 0 is an exact
 * match, larger is a compatible fallback (amd64/v3 → v2 → v1 → 386, arm64 →
 * arm/v8 … v5), -1 is unusable. */
int img_platform_rank(const struct img_platform *want, const char *os, const char *arch, const char *variant);

/* True for entries that are not runnable images: BuildKit attestations
 * (annotation vnd.docker.reference.type=attestation-manifest, platform
 * unknown/unknown). */
bool img_descriptor_is_attestation(const struct oci_descriptor *d);

/* Pick the entry of INDEX for WANT: the best rank, the first in index
 * order among equals, attestations skipped.  The error lists what the
 * index offers. */
int img_platform_select(const struct oci_image_index *index, const struct img_platform *want, size_t *chosen,
                        struct oci_error **err);

static inline void
cleanup_platformp(struct img_platform *p)
{
  img_platform_clear(p);
}
#define cleanup_platform __attribute__((cleanup(cleanup_platformp)))

#endif

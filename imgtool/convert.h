/* Image config → runtime config.json (image-spec conversion.md; REGISTRY.md
 * §9): args = Entrypoint + Cmd, Env, WorkingDir, User resolved through the
 * image's /etc/passwd and /etc/group, annotations (labels win), exposed
 * ports, volumes as tmpfs mounts, on top of the `ocirt spec` defaults. */
#ifndef IMG_CONVERT_H
#define IMG_CONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "oci-config.h"
#include "spec/image.h"

struct img_convert_opts
{
  bool rootless; /* user namespace mapping uid/gid to root */
  uint32_t uid, gid;
  bool terminal; /* process.terminal (-t) */
};

/* rootfd: the unpacked rootfs, read for /etc/passwd and /etc/group (inside
 * the rootfs: its symlinks cannot lead out). */
int img_convert_config(const struct oci_image_config *img, int rootfd, const struct img_convert_opts *o,
                       struct oci_config **out, struct oci_error **err);

/* Config.User → uid, gid and supplementary groups, as conversion.md says:
 * numeric ids verbatim, names through the rootfs's files, unknown names an
 * error.  Exposed for the tests. */
int img_convert_user(const char *user, int rootfd, struct oci_user *out, struct oci_error **err);

#endif

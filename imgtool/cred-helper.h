/* docker's credential helpers: `docker-credential-NAME get|store|erase`, a
 * program on $PATH that keeps registry secrets for docker's config.json.
 * Secrets travel on the helper's stdin and stdout only, never in argv or the
 * environment, and never reach an error message. */
#ifndef IMG_CRED_HELPER_H
#define IMG_CRED_HELPER_H

#include "credentials.h"
#include "error.h"

/* Run `docker-credential-NAME get` with the server key on stdin.  A helper
 * that knows nothing about the server exits non-zero: that is "no
 * credentials", not an error.  Returns 1 when OUT was filled, 0 for none,
 * -1 when the helper could not be run or answered with something that is not JSON. */
int img_cred_helper_get(const char *name, const char *registry, struct img_credentials *out,
                        struct oci_error **err);

/* `docker-credential-NAME store` with what docker sends on stdin:
 * {"ServerURL": key, "Username": …, "Secret": …}. */
int img_cred_helper_store(const char *name, const char *registry, const char *username, const char *password,
                          struct oci_error **err);

/* `docker-credential-NAME erase` with the server key on stdin: 1 when the
 * helper erased them, 0 when it had none for the server. */
int img_cred_helper_erase(const char *name, const char *registry, struct oci_error **err);

#endif

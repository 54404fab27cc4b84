/* Registry authentication: answering a registry's challenge (challenge.h)
 * with the credentials credentials.h finds, by the bearer-token flow of
 * distribution's token.md / oauth.md or with Basic, and caching what we
 * send per (registry, scope) until it expires.
 *
 * Secrets never reach a log line or an error message, and credentials are
 * sent to the token realm (or, for a Basic challenge, the registry that
 * asked) and nowhere else. */
#ifndef IMG_AUTH_H
#define IMG_AUTH_H

#include "challenge.h"
#include "credentials.h"
#include "error.h"
#include "http.h"

struct img_auth;
int img_auth_new(const struct img_auth_opts *opts, struct img_http *http, struct img_auth **out,
                 struct oci_error **err);
void img_auth_free(struct img_auth *auth);

/* The Authorization header value cached for (registry, scope), or NULL. */
const char *img_auth_cached(struct img_auth *auth, const char *registry, const char *scope);

/* Answer CH, the challenge REGISTRY sent for a request needing SCOPE
 * ("repository:library/alpine:pull"): fetch a token from the realm (or use
 * basic credentials), cache it and return the Authorization header value
 * (owned by the cache).  A cached value is dropped first: call this only
 * after the registry refused what we sent. */
int img_auth_answer(struct img_auth *auth, const char *registry, const struct img_challenge *ch,
                    const char *scope, const char **header, struct oci_error **err);

static inline void
cleanup_authp(struct img_auth **a)
{
  img_auth_free(*a);
}
#define cleanup_auth __attribute__((cleanup(cleanup_authp)))

#endif

/* WWW-Authenticate challenges: what a registry's 401 asks for, and where a
 * Bearer challenge says to fetch a token (auth.h answers them). */
#ifndef IMG_CHALLENGE_H
#define IMG_CHALLENGE_H

#include "error.h"

struct img_challenge
{
  char *scheme;  /* lowercase: "bearer" or "basic" */
  char *realm;   /* required for bearer */
  char *service; /* NULL when absent */
  char *scope;   /* NULL when absent; may hold several scopes separated by spaces */
  char *error;   /* "invalid_token", "insufficient_scope", or NULL */
};

/* Parse a WWW-Authenticate value that may hold several challenges
 * (`Bearer realm="…",service="…", Basic realm="…"`) and keep the one we
 * answer: the first Bearer, else the first Basic.  Scheme names are
 * case-insensitive; parameters come in any order, with or without spaces,
 * quoted (with commas and \-escapes inside) or as bare tokens. */
int img_challenge_parse(const char *header, struct img_challenge *out, struct oci_error **err);
void img_challenge_clear(struct img_challenge *c);

static inline void
cleanup_challengep(struct img_challenge *c)
{
  img_challenge_clear(c);
}
#define cleanup_challenge __attribute__((cleanup(cleanup_challengep)))

#endif

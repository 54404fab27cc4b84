/* Registry credentials: where they come from (--creds, docker's config.json
 * with its credential helpers, podman's auth.json), and how `imgtool login`
 * and `imgtool logout` save and erase them in docker's config.json.
 *
 * Secrets never reach a log line or an error message. */
#ifndef IMG_CREDENTIALS_H
#define IMG_CREDENTIALS_H

#include "error.h"

struct img_credentials
{
  char *username;
  char *password;
  char *identity_token; /* an OAuth refresh token, used instead of the password */
  char *source;         /* where they came from, for messages: "--creds", "/root/.docker/config.json" */
};
void img_credentials_clear(struct img_credentials *c);

struct img_auth_opts
{
  const char *creds;             /* "user:pass" from --creds, or NULL */
  const char *creds_source;      /* how messages name `creds`; NULL: "--creds" */
  const char *docker_config_dir; /* NULL: $DOCKER_CONFIG, else ~/.docker */
  const char *podman_auth_file;  /* NULL: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json */
};

/* Find credentials for REGISTRY ("docker.io", "ghcr.io", "127.0.0.1:5443"),
 * in order: --creds, credHelpers, credsStore, config.json auths, podman's
 * auth.json.  Returns 1 when found, 0 when there are none, -1 on error
 * (an unreadable config file, a malformed entry). */
int img_credentials_lookup(const struct img_auth_opts *opts, const char *registry,
                           struct img_credentials *out, struct oci_error **err);

/* The key docker uses for REGISTRY in config.json and for its helpers:
 * "https://index.docker.io/v1/" for Docker Hub, the host otherwise. */
char *img_auth_server_key(const char *registry);

/* A registry as users write it ("https://index.docker.io/v1/",
 * "HOST:5000/path", "registry-1.docker.io") as references name it:
 * "docker.io", "host:5000".  Newly allocated. */
char *img_auth_normalise_server(const char *server);

/* $DOCKER_CONFIG/config.json (or ~/.docker/config.json); NULL without a home. */
char *img_docker_config_path(const struct img_auth_opts *opts);

/* Where login put a secret or logout took it from, for messages. */
struct img_credentials_place
{
  char *path;   /* docker's config file, symlinks resolved */
  char *helper; /* "docker-credential-NAME" when a credential helper holds (held) the secret, else NULL */
};
void img_credentials_place_clear(struct img_credentials_place *p);

/* `imgtool login`, as docker does it.  When docker's config.json names a
 * credential helper for REGISTRY (credHelpers, else credsStore), run
 * `docker-credential-NAME store` with {"ServerURL","Username","Secret"} on
 * its stdin, then leave in "auths" only an empty entry under the key
 * img_auth_server_key() gives.  Otherwise store base64 USER:PASSWORD there
 * ("auth").  Either way every entry that names the same registry however it
 * is spelt is replaced and every other key of the file is kept; the file is
 * replaced atomically and is mode 0600.  A helper that fails (missing,
 * non-zero exit) is an error naming it and quoting what it printed, and the
 * file is left as it was.  *where gets the file and the helper. */
int img_credentials_save(const struct img_auth_opts *opts, const char *registry, const char *username,
                         const char *password, struct img_credentials_place *where, struct oci_error **err);

/* `imgtool logout`: `docker-credential-NAME erase` when a helper is
 * configured for REGISTRY (one that answers "credentials not found in
 * native keychain" had nothing to erase), then drop REGISTRY's entries from
 * "auths", keeping the rest.  Returns 1 when something was removed, 0 when
 * there was nothing to remove (the file is then left as it was).  A helper
 * that fails otherwise is an error and the file is left as it was. */
int img_credentials_erase(const struct img_auth_opts *opts, const char *registry,
                          struct img_credentials_place *where, struct oci_error **err);

#define cleanup_credentials_place __attribute__((cleanup(img_credentials_place_clear)))

#endif

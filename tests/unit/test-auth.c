/* WWW-Authenticate parsing and credential lookup (config.json auths,
 * credHelpers, credsStore, podman's auth.json, --creds). */
#include <config.h>

#include <string.h>
#include <sys/stat.h>

#include "challenge.h"
#include "credentials.h"
#include "tap.h"
#include "util.h"

static bool
streq(const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void
expect(const char *header, const char *scheme, const char *realm, const char *service, const char *scope,
       const char *error)
{
  cleanup_challenge struct img_challenge c = { 0 };
  cleanup_error struct oci_error *err = NULL;

  if (img_challenge_parse(header, &c, &err) < 0)
    {
      ok(0, "parses `%s` (%s)", header, err->msg);
      return;
    }
  ok(streq(c.scheme, scheme) && streq(c.realm, realm) && streq(c.service, service) && streq(c.scope, scope)
         && streq(c.error, error),
     "`%s` -> %s realm=%s service=%s scope=%s error=%s", header, c.scheme, c.realm, c.service, c.scope,
     c.error);
}

static void
expect_error(const char *header, const char *fragment)
{
  cleanup_challenge struct img_challenge c = { 0 };
  cleanup_error struct oci_error *err = NULL;
  int r = img_challenge_parse(header, &c, &err);

  ok(r < 0 && strstr(err->msg, fragment), "`%s` refused with \"%s\" (got %s)", header, fragment,
     err ? err->msg : "success");
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "w");

  if (f == NULL)
    abort();
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static void
expect_creds(const char *dir, const char *registry, int want, const char *user, const char *pass,
             const char *identity)
{
  struct img_auth_opts opts = { .docker_config_dir = dir, .podman_auth_file = "/nonexistent/auth.json" };
  struct img_credentials c = { 0 };
  cleanup_error struct oci_error *err = NULL;
  int r = img_credentials_lookup(&opts, registry, &c, &err);

  ok(r == want && streq(c.username, user) && streq(c.password, pass) && streq(c.identity_token, identity),
     "credentials for %s: %d user=%s identity=%s %s", registry, r, c.username, c.identity_token,
     err ? err->msg : "");
  img_credentials_clear(&c);
}

static void
test_credentials(void)
{
  char tmpl[] = "/tmp/test-auth-XXXXXX";
  char *dir = mkdtemp(tmpl);
  cleanup_free char *config = NULL;
  cleanup_free char *bin = NULL;
  cleanup_free char *helper = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *podman = NULL;

  if (dir == NULL)
    abort();
  config = xasprintf("%s/config.json", dir);
  bin = xasprintf("%s/bin", dir);
  mkdir(bin, 0755);
  /* "alice:secret" and "bob:pw:with:colons" */
  write_file(config,
             "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"YWxpY2U6c2VjcmV0\"},"
             "\"http://127.0.0.1:5443/v2/\":{\"auth\":\"Ym9iOnB3OndpdGg6Y29sb25z\"},"
             "\"ghcr.io\":{\"auth\":\"\",\"identitytoken\":\"refresh-xyz\"},"
             "\"bad.io\":{\"auth\":\"!!!\"}},"
             "\"credHelpers\":{\"helped.io\":\"fake\",\"token.io\":\"fake\",\"unknown.io\":\"fake\"}}",
             0600);
  helper = xasprintf("%s/docker-credential-fake", bin);
  write_file(helper,
             "#!/bin/sh\nread url\ncase \"$url\" in\n"
             "helped.io) echo '{\"ServerURL\":\"helped.io\",\"Username\":\"carol\",\"Secret\":\"s3\"}';;\n"
             "token.io) echo '{\"ServerURL\":\"token.io\",\"Username\":\"<token>\",\"Secret\":\"idt\"}';;\n"
             "*) echo 'credentials not found in native keychain'; exit 1;;\nesac\n",
             0755);
  path = xasprintf("%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
  setenv("PATH", path, 1);

  expect_creds(dir, "docker.io", 1, "alice", "secret", NULL);
  expect_creds(dir, "registry-1.docker.io", 1, "alice", "secret", NULL);
  expect_creds(dir, "127.0.0.1:5443", 1, "bob", "pw:with:colons", NULL);
  expect_creds(dir, "ghcr.io", 1, NULL, NULL, "refresh-xyz");
  expect_creds(dir, "helped.io", 1, "carol", "s3", NULL);
  expect_creds(dir, "token.io", 1, NULL, NULL, "idt");
  expect_creds(dir, "unknown.io", 0, NULL, NULL, NULL);
  expect_creds(dir, "quay.io", 0, NULL, NULL, NULL);
  expect_creds(dir, "bad.io", -1, NULL, NULL, NULL);
  expect_creds("/nonexistent", "docker.io", 0, NULL, NULL, NULL);

  /* credsStore answers for everything the helper knows. */
  write_file(config, "{\"credsStore\":\"fake\",\"auths\":{\"quay.io\":{\"auth\":\"ZDpl\"}}}", 0600);
  expect_creds(dir, "helped.io", 1, "carol", "s3", NULL);
  expect_creds(dir, "quay.io", 1, "d", "e", NULL);

  /* podman's auth.json, when docker's config has nothing. */
  podman = xasprintf("%s/auth.json", dir);
  write_file(podman, "{\"auths\":{\"podman.io\":{\"auth\":\"cDpx\"}}}", 0600);
  {
    struct img_auth_opts opts = { .docker_config_dir = "/nonexistent", .podman_auth_file = podman };
    struct img_credentials c = { 0 };
    cleanup_error struct oci_error *err = NULL;
    int r = img_credentials_lookup(&opts, "podman.io", &c, &err);
    ok(r == 1 && streq(c.username, "p") && streq(c.password, "q"), "podman auth.json is read");
    img_credentials_clear(&c);
  }
  {
    struct img_auth_opts opts = { .creds = "u:p:w", .docker_config_dir = dir };
    struct img_credentials c = { 0 };
    cleanup_error struct oci_error *err = NULL;
    int r = img_credentials_lookup(&opts, "docker.io", &c, &err);
    ok(r == 1 && streq(c.username, "u") && streq(c.password, "p:w") && streq(c.source, "--creds"),
       "--creds wins over config.json");
    img_credentials_clear(&c);
  }
  {
    struct img_auth_opts opts = { .creds = "nocolon" };
    struct img_credentials c = { 0 };
    cleanup_error struct oci_error *err = NULL;
    ok(img_credentials_lookup(&opts, "docker.io", &c, &err) < 0 && strstr(err->msg, "USER:PASSWORD"),
       "--creds without a colon is refused");
  }
  {
    cleanup_free char *k1 = img_auth_server_key("docker.io");
    cleanup_free char *k2 = img_auth_server_key("ghcr.io");
    ok(streq(k1, "https://index.docker.io/v1/") && streq(k2, "ghcr.io"), "server keys as docker spells them");
  }

  unlink(helper);
  unlink(config);
  unlink(podman);
  rmdir(bin);
  rmdir(dir);
}

int
main(void)
{
  expect("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
         "scope=\"repository:library/alpine:pull\"",
         "bearer", "https://auth.docker.io/token", "registry.docker.io", "repository:library/alpine:pull",
         NULL);
  expect("bearer realm=\"https://a/token\"", "bearer", "https://a/token", NULL, NULL, NULL);
  expect("BEARER service=\"s\", realm=\"https://a/token\"", "bearer", "https://a/token", "s", NULL, NULL);
  expect("Bearer realm=\"r\",  service=\"s\" ,scope=\"repository:samalba/my-app:pull,push\"", "bearer", "r",
         "s", "repository:samalba/my-app:pull,push", NULL);
  expect("Bearer "
         "realm=\"https://127.0.0.1:5444/token\",service=\"test-registry\",scope=\"repository:foo/bar:pull\","
         "error=\"insufficient_scope\"",
         "bearer", "https://127.0.0.1:5444/token", "test-registry", "repository:foo/bar:pull",
         "insufficient_scope");
  expect("Bearer realm=\"r\",error=invalid_token", "bearer", "r", NULL, NULL, "invalid_token");
  expect("Bearer realm=r,service=s", "bearer", "r", "s", NULL, NULL);
  expect("Bearer realm=\"r\",scope=\"repository:foo/anon:pull,push repository:foo/bar:pull\"", "bearer", "r",
         NULL, "repository:foo/anon:pull,push repository:foo/bar:pull", NULL);
  expect("Bearer realm=\"a \\\"quoted\\\" realm\"", "bearer", "a \"quoted\" realm", NULL, NULL, NULL);
  expect("Basic realm=\"test-realm\"", "basic", "test-realm", NULL, NULL, NULL);
  expect("basic realm=\"x\", Bearer realm=\"https://t\",service=\"s\"", "bearer", "https://t", "s", NULL,
         NULL);
  expect("Bearer realm=\"https://t\", Basic realm=\"x\"", "bearer", "https://t", NULL, NULL, NULL);
  expect("Negotiate abc==, Basic realm=\"x\"", "basic", "x", NULL, NULL, NULL);
  expect("Bearer Realm=\"R\" , Service=\"S\"", "bearer", "R", "S", NULL, NULL);

  expect_error("Bearer service=\"s\"", "without a realm");
  expect_error("Bearer realm=\"unterminated", "unterminated");
  expect_error("Negotiate", "not supported: authentication scheme `negotiate`");
  expect_error("", "empty");

  test_credentials();
  return tap_done();
}

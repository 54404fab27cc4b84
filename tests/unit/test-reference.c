/* Reference normalisation as Docker's distribution/reference does it. */
#include <config.h>

#include <string.h>

#include "reference.h"
#include "tap.h"
#include "util.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
expect(const char *in, const char *full, const char *familiar)
{
  cleanup_img_reference struct img_reference *ref = NULL;
  cleanup_error struct oci_error *err = NULL;
  cleanup_free char *s = NULL;
  cleanup_free char *f = NULL;

  if (img_reference_parse(in, &ref, &err) < 0)
    {
      ok(0, "%s parses (%s)", in, err->msg);
      return;
    }
  s = img_reference_string(ref);
  f = img_reference_familiar(ref);
  ok(strcmp(s, full) == 0, "%s -> %s (got %s)", in, full, s);
  if (familiar)
    ok(strcmp(f, familiar) == 0, "%s familiar is %s (got %s)", in, familiar, f);
}

static void
expect_error(const char *in, const char *fragment)
{
  cleanup_img_reference struct img_reference *ref = NULL;
  cleanup_error struct oci_error *err = NULL;
  int r = img_reference_parse(in, &ref, &err);

  ok(r < 0 && ref == NULL && err && strstr(err->msg, fragment), "`%s` refused with \"%s\" (got %s)", in,
     fragment, err ? err->msg : "success");
}

static void
expect_parts(const char *in, const char *registry, const char *repo, const char *tag, const char *digest)
{
  cleanup_img_reference struct img_reference *ref = NULL;
  cleanup_error struct oci_error *err = NULL;

  if (img_reference_parse(in, &ref, &err) < 0)
    {
      ok(0, "%s parses (%s)", in, err->msg);
      return;
    }
  ok(strcmp(ref->registry, registry) == 0, "%s: registry %s", in, registry);
  ok(strcmp(ref->repository, repo) == 0, "%s: repository %s", in, repo);
  ok(tag ? (ref->tag && strcmp(ref->tag, tag) == 0) : ref->tag == NULL, "%s: tag %s", in,
     tag ? tag : "(none)");
  ok(digest ? (ref->digest && strcmp(ref->digest, digest) == 0) : ref->digest == NULL, "%s: digest", in);
}

int
main(void)
{
  expect("alpine", "docker.io/library/alpine:latest", "alpine:latest");
  expect("library/alpine:3.20", "docker.io/library/alpine:3.20", "alpine:3.20");
  expect("user/app", "docker.io/user/app:latest", "user/app:latest");
  expect("user/app@sha256:" D64, "docker.io/user/app@sha256:" D64, "user/app@sha256:" D64);
  expect("localhost:5000/x:y", "localhost:5000/x:y", "localhost:5000/x:y");
  expect("localhost/x", "localhost/x:latest", NULL);
  expect("ghcr.io/o/r:t", "ghcr.io/o/r:t", "ghcr.io/o/r:t");
  expect("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest");
  expect("index.docker.io/busybox", "docker.io/library/busybox:latest", NULL);
  expect("docker.io/alpine", "docker.io/library/alpine:latest", NULL);
  expect("docker://alpine:edge", "docker.io/library/alpine:edge", NULL);
  expect("127.0.0.1:5443/foo/bar:v1", "127.0.0.1:5443/foo/bar:v1", NULL);
  expect("[::1]:5000/foo", "[::1]:5000/foo:latest", NULL);
  expect("a/b/c/d", "docker.io/a/b/c/d:latest", NULL);
  expect("foo_bar__baz-x--y.z", "docker.io/library/foo_bar__baz-x--y.z:latest", NULL);
  expect("oci:/tmp/layout:v1", "oci:/tmp/layout:v1", NULL);
  expect("oci:/tmp/lay:out/dir", "oci:/tmp/lay:out/dir", NULL);
  expect("oci-archive:img.tar", "oci-archive:img.tar", NULL);

  expect_parts("alpine", "docker.io", "library/alpine", "latest", NULL);
  expect_parts("name:tag@sha256:" D64, "docker.io", "library/name", NULL, "sha256:" D64);
  expect_parts("Foo/bar", "Foo", "bar", "latest", NULL);
  expect_parts("localhost:5000", "docker.io", "library/localhost", "5000", NULL);

  expect_error("", "empty");
  expect_error("Alpine", "must be lowercase");
  expect_error("docker.io/Library/alpine", "must be lowercase");
  expect_error(D64, "64-byte hexadecimal");
  expect_error("alpine:-bad", "invalid tag");
  expect_error("alpine:", "invalid tag");
  expect_error("alpine@sha256:abc", "invalid digest");
  expect_error("alpine@md5:" D64, "invalid digest");
  expect_error("foo//bar", "invalid repository name");
  expect_error("foo/bar_", "invalid repository name");
  expect_error("foo/-bar", "invalid repository name");
  expect_error("foo/a...b", "invalid repository name");
  expect_error("-host.io/x", "invalid registry");
  expect_error("host.io:/x", "invalid registry");
  expect_error("oci:", "missing path");

  ok(strcmp(img_registry_api_host("docker.io"), "registry-1.docker.io") == 0, "docker.io API host");
  ok(strcmp(img_registry_api_host("ghcr.io"), "ghcr.io") == 0, "other API hosts unchanged");
  return tap_done();
}

/* The content-addressed store: resumable verified blob writes, refs in
 * index.json, gc, and two writers of one blob sharing the work (or, with
 * try_begin, not waiting for each other). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imgtool/digest.h"
#include "imgtool/store.h"
#include "spec/image.h"
#include "spec/util.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test-store-XXXXXX";

static char *
digest_of(const char *s)
{
  char d[IMG_DIGEST_LEN];
  img_sha256_digest(s, strlen(s), d);
  return xstrdup(d);
}

static char *
errstr(struct oci_error **err)
{
  char *s = oci_error_string(*err);
  oci_error_free(*err);
  *err = NULL;
  return s;
}

/* tmpdir/<prefix><name> */
static bool
file_exists(const char *prefix, const char *name)
{
  cleanup_free char *p = xasprintf("%s/%s%s", tmpdir, prefix, name);
  return access(p, F_OK) == 0;
}

static void
test_blobs(struct img_store *s)
{
  struct oci_error *err = NULL;
  struct img_blob_writer *w = NULL;
  const char *text = "hello, store";
  cleanup_free char *d = digest_of(text);
  char *buf = NULL;
  size_t len;

  ok(!img_store_has_blob(s, d), "blob absent at first");
  ok(img_blob_writer_begin(s, "sha256:../../etc/passwd", 3, &w, &err) < 0,
     "a digest that is a path is refused");
  free(errstr(&err));
  ok(img_blob_writer_begin(s, "sha512:abcd", 3, &w, &err) < 0 && strstr(err->msg, "not supported"),
     "other algorithms: not supported");
  free(errstr(&err));

  /* Half, abort, resume. */
  ok(img_blob_writer_begin(s, d, strlen(text), &w, &err) == 0 && w && img_blob_writer_offset(w) == 0,
     "writer starts at 0");
  ok(img_blob_writer_write(w, text, 5, &err) == 0, "first half written");
  img_blob_writer_free(w);
  ok(file_exists("store/ingest/sha256-", d + 7), "partial kept after an abort");
  ok(img_blob_writer_begin(s, d, strlen(text), &w, &err) == 0 && img_blob_writer_offset(w) == 5,
     "resume offset is what was written");
  ok(img_blob_writer_write(w, text + 5, strlen(text) - 5, &err) == 0, "rest written");
  ok(img_blob_writer_write(w, "x", 1, &err) < 0 && strstr(err->msg, "more data than the 12 bytes announced"),
     "bytes beyond the announced size refused");
  free(errstr(&err));
  ok(img_blob_writer_commit(w, &err) == 0, "commit verifies and renames");
  img_blob_writer_free(w);
  ok(img_store_has_blob(s, d) && !file_exists("store/ingest/sha256-", d + 7), "blob in, partial gone");
  ok(img_blob_writer_begin(s, d, strlen(text), &w, &err) == 0 && w == NULL, "present blob: no writer");

  ok(img_store_read_blob(s, d, 100, &buf, &len, &err) == 0 && len == strlen(text) && strcmp(buf, text) == 0,
     "read back");
  free(buf);
  ok(img_store_read_blob(s, d, 4, &buf, &len, &err) < 0 && strstr(err->msg, "over the limit"), "size cap");
  free(errstr(&err));

  /* Wrong bytes. */
  cleanup_free char *d2 = digest_of("expected");
  ok(img_blob_writer_begin(s, d2, 8, &w, &err) == 0 && img_blob_writer_write(w, "EXPECTED", 8, &err) == 0,
     "write wrong bytes");
  ok(img_blob_writer_commit(w, &err) < 0 && strstr(err->msg, "digest mismatch: expected sha256:"),
     "digest mismatch on commit");
  free(errstr(&err));
  img_blob_writer_free(w);
  ok(!img_store_has_blob(s, d2) && !file_exists("store/ingest/sha256-", d2 + 7),
     "mismatching partial deleted, nothing committed");

  /* Too few bytes: kept for a resume. */
  ok(img_blob_writer_begin(s, d2, 8, &w, &err) == 0 && img_blob_writer_write(w, "expe", 4, &err) == 0
         && img_blob_writer_commit(w, &err) < 0 && strstr(err->msg, "truncated: got 4 of 8 bytes"),
     "truncated blob refused");
  free(errstr(&err));
  img_blob_writer_free(w);
  ok(img_blob_writer_begin(s, d2, 8, &w, &err) == 0 && img_blob_writer_offset(w) == 4
         && img_blob_writer_restart(w, &err) == 0 && img_blob_writer_offset(w) == 0
         && img_blob_writer_write(w, "expected", 8, &err) == 0 && img_blob_writer_commit(w, &err) == 0,
     "restart after a server ignored Range");
  img_blob_writer_free(w);

  ok(img_store_put_blob(s, d, "other", 5, &err) < 0 && strstr(err->msg, "digest mismatch"),
     "put_blob verifies");
  free(errstr(&err));

  /* On-disk corruption is caught on read. */
  cleanup_free char *p = xasprintf("%s/store/blobs/sha256/%s", tmpdir, d2 + 7);
  FILE *f = fopen(p, "w");
  fputs("EXPECTED", f);
  fclose(f);
  ok(img_store_read_blob(s, d2, 100, &buf, &len, &err) < 0 && strstr(err->msg, "digest mismatch"),
     "corrupted blob detected on read");
  free(errstr(&err));
  unlink(p);
}

/* A manifest with a config and layers, all stored; returns its digest. */
static char *
put_image(struct img_store *s, const char *cfg, const char *const *layers, size_t n)
{
  struct oci_error *err = NULL;
  cleanup_free char *cd = digest_of(cfg);
  img_store_put_blob(s, cd, cfg, strlen(cfg), &err);
  cleanup_free char *ls = xstrdup("");
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *ld = digest_of(layers[i]);
      img_store_put_blob(s, ld, layers[i], strlen(layers[i]), &err);
      char *next = xasprintf("%s%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}", ls, i ? "," : "",
                             OCI_MT_LAYER_GZIP, ld, strlen(layers[i]));
      free(ls);
      ls = next;
    }
  cleanup_free char *m = xasprintf("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
                                   "\"size\":%zu},\"layers\":[%s]}",
                                   OCI_MT_CONFIG, cd, strlen(cfg), ls);
  char *md = digest_of(m);
  img_store_put_blob(s, md, m, strlen(m), &err);
  if (err)
    abort();
  return md;
}

static int
set_ref(struct img_store *s, const char *repo, const char *tag, const char *digest, uint64_t size,
        struct oci_error **err)
{
  const struct img_store_target t = { .media_type = OCI_MT_MANIFEST, .digest = digest, .size = size };
  return img_store_set_ref(s, repo, tag, &t, err);
}

static void
test_refs_and_gc(struct img_store *s)
{
  struct oci_error *err = NULL;
  struct img_store_ref *r = NULL, *refs = NULL;
  size_t n = 0, removed = 0;
  uint64_t freed = 0;
  const char *const la[] = { "shared layer", "layer only in a" };
  const char *const lb[] = { "shared layer", "layer only in b" };
  cleanup_free char *ma = put_image(s, "{\"a\":1}", la, 2);
  cleanup_free char *mb = put_image(s, "{\"b\":1}", lb, 2);
  cleanup_free char *missing = digest_of("not stored");

  ok(set_ref(s, "docker.io/library/a", "latest", missing, 10, &err) < 0 && err->status == ENOENT,
     "a ref to a missing blob is refused");
  free(errstr(&err));
  ok(set_ref(s, "docker.io/library/a", "latest", mb, 1, &err) == 0
         && set_ref(s, "docker.io/library/a", "latest", ma, 2, &err) == 0,
     "set, then re-point a ref");
  ok(set_ref(s, "localhost:5000/b", "v1", mb, 3, &err) == 0
         && set_ref(s, "localhost:5000/b", "v2", mb, 3, &err) == 0,
     "two tags of b");
  ok(img_store_get_ref(s, "docker.io/library/a", "latest", NULL, &r, &err) == 0 && strcmp(r->digest, ma) == 0
         && strcmp(r->repository, "docker.io/library/a") == 0 && strcmp(r->tag, "latest") == 0 && r->pulled,
     "get_ref: re-pointed, split, timestamped");
  img_store_ref_free(r);
  ok(img_store_get_ref(s, "localhost:5000/b", mb, NULL, &r, &err) == 0 && strcmp(r->digest, mb) == 0,
     "get by digest finds a tag pointing there");
  img_store_ref_free(r);
  ok(img_store_get_ref(s, "docker.io/library/zzz", "latest", NULL, &r, &err) < 0 && err->status == ENOENT,
     "missing ref: ENOENT");
  free(errstr(&err));
  ok(img_store_list_refs(s, &refs, &n, &err) == 0 && n == 3, "three refs listed (%zu)", n);
  img_store_refs_free(refs, n);

  ok(img_store_remove_ref(s, "localhost:5000/b", mb, NULL, NULL, &err) == 0, "rm by digest");
  ok(img_store_list_refs(s, &refs, &n, &err) == 0 && n == 1, "both tags of b gone");
  img_store_refs_free(refs, n);

  /* A stale partial, as a killed pull leaves it. */
  struct img_blob_writer *w = NULL;
  cleanup_free char *pd = digest_of("partial");
  img_blob_writer_begin(s, pd, 7, &w, &err);
  img_blob_writer_write(w, "par", 3, &err);
  img_blob_writer_free(w);

  ok(img_store_gc(s, &removed, &freed, &err) == 0, "gc");
  cleanup_free char *only_b = digest_of("layer only in b");
  cleanup_free char *only_a = digest_of("layer only in a");
  cleanup_free char *shared = digest_of("shared layer");
  ok(!img_store_has_blob(s, mb) && !img_store_has_blob(s, only_b), "b's manifest and layer collected");
  ok(img_store_has_blob(s, ma) && img_store_has_blob(s, only_a) && img_store_has_blob(s, shared),
     "a's blobs and the shared layer kept");
  ok(!file_exists("store/ingest/sha256-", pd + 7), "stale partial collected");
  ok(removed >= 4, "removed %zu files", removed);

  ok(img_store_remove_ref(s, "docker.io/library/a", "latest", NULL, NULL, &err) == 0
         && img_store_remove_ref(s, "docker.io/library/a", "latest", NULL, NULL, &err) < 0 && err->status == ENOENT,
     "rm twice: ENOENT the second time");
  free(errstr(&err));
}

static int
set_platform_ref(struct img_store *s, const char *repo, const char *tag, const char *digest,
                 const char *ref_digest, const char *arch, struct oci_error **err)
{
  struct img_platform p = { .os = (char *)"linux", .architecture = (char *)arch };
  const struct img_store_target t = {
    .media_type = OCI_MT_MANIFEST, .digest = digest, .size = 1, .ref_digest = ref_digest, .platform = &p
  };
  return img_store_set_ref(s, repo, tag, &t, err);
}

static bool
got(struct img_store *s, const char *repo, const char *tag, const char *arch, const char *digest)
{
  struct oci_error *err = NULL;
  struct img_store_ref *r = NULL;
  struct img_platform want = { .os = (char *)"linux", .architecture = (char *)arch };
  bool yes = img_store_get_ref(s, repo, tag, &want, &r, &err) == 0 && strcmp(r->digest, digest) == 0;
  img_store_ref_free(r);
  free(errstr(&err));
  return yes;
}

static size_t
count_refs(struct img_store *s)
{
  struct oci_error *err = NULL;
  struct img_store_ref *refs = NULL;
  size_t n = 0;
  if (img_store_list_refs(s, &refs, &n, &err) < 0)
    abort();
  img_store_refs_free(refs, n);
  return n;
}

/* One entry per name and platform; digest names an entry already covers. */
static void
test_platforms(struct img_store *s)
{
  struct oci_error *err = NULL;
  struct img_store_ref *r = NULL;
  const char *const la[] = { "amd64 layer" };
  const char *const lb[] = { "arm64 layer" };
  cleanup_free char *amd = put_image(s, "{\"amd64\":1}", la, 1);
  cleanup_free char *arm = put_image(s, "{\"arm64\":1}", lb, 1);
  cleanup_free char *idx = digest_of("an index, not stored");
  struct img_platform s390x = { .os = (char *)"linux", .architecture = (char *)"s390x" };
  struct img_platform arm64 = { .os = (char *)"linux", .architecture = (char *)"arm64" };
  size_t before = count_refs(s);

  ok(set_platform_ref(s, "r/x", "1", amd, idx, "amd64", &err) == 0
         && set_platform_ref(s, "r/x", "1", arm, idx, "arm64", &err) == 0 && count_refs(s) == before + 2,
     "a second platform of a name is a second entry");
  ok(got(s, "r/x", "1", "amd64", amd) && got(s, "r/x", "1", "arm64", arm), "each platform finds its own");
  ok(got(s, "r/x", idx, "arm64", arm) && got(s, "r/x", amd, "amd64", amd),
     "the index digest and the manifest's find the entry");
  ok(img_store_get_ref(s, "r/x", "1", &s390x, &r, &err) < 0 && err->status == ENOENT
         && strstr(err->msg, "for linux/s390x not found") && strstr(err->msg, "linux/amd64, linux/arm64"),
     "another platform: ENOENT naming those stored (%s)", err ? err->msg : "");
  free(errstr(&err));
  ok(img_store_get_ref(s, "r/x", "1", NULL, &r, &err) == 0 && strcmp(r->ref_digest, idx) == 0
         && strcmp(r->platform.architecture, "amd64") == 0,
     "the entry carries the ref digest and its platform");
  img_store_ref_free(r);
  ok(set_platform_ref(s, "r/x", idx, amd, idx, "amd64", &err) == 0
         && set_platform_ref(s, "r/x", amd, amd, amd, "amd64", &err) == 0 && count_refs(s) == before + 2,
     "digest names of an image a tag names are not added");

  ok(set_platform_ref(s, "r/y", idx, arm, idx, "arm64", &err) == 0 && count_refs(s) == before + 3
         && set_platform_ref(s, "r/y", "2", arm, idx, "arm64", &err) == 0 && count_refs(s) == before + 3
         && got(s, "r/y", idx, "arm64", arm),
     "a tag takes over the digest name it covers");

  ok(img_store_remove_ref(s, "r/x", "1", &arm64, NULL, &err) == 0 && got(s, "r/x", "1", "amd64", amd)
         && !got(s, "r/x", "1", "arm64", arm),
     "rm --platform removes that platform only");
  ok(img_store_remove_ref(s, "r/x", "1", &arm64, NULL, &err) < 0 && err->status == ENOENT, "and only once");
  free(errstr(&err));
  ok(set_platform_ref(s, "r/x", "1", arm, idx, "arm64", &err) == 0
         && img_store_remove_ref(s, "r/x", "1", NULL, NULL, &err) == 0 && count_refs(s) == before + 1,
     "rm without a platform removes them all");
  ok(img_store_remove_ref(s, "r/y", "2", NULL, NULL, &err) == 0, "cleanup");
}

static char *
put_index(struct img_store *s, const char *arch1, const char *m1, const char *arch2, const char *m2)
{
  struct oci_error *err = NULL;
  cleanup_free char *second = arch2 ? xasprintf(",{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,"
                                                "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}",
                                                OCI_MT_MANIFEST, m2, arch2)
                                    : xstrdup("");
  cleanup_free char *x = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":"
                                   "\"%s\",\"digest\":\"%s\",\"size\":1,\"platform\":{\"os\":\"linux\","
                                   "\"architecture\":\"%s\"}}%s]}",
                                   OCI_MT_INDEX, OCI_MT_MANIFEST, m1, arch1, second);
  char *d = digest_of(x);
  if (img_store_put_blob(s, d, x, strlen(x), &err) < 0)
    abort();
  return d;
}

/* 386 runs on amd64: a 386 entry answers for amd64 when its source would
 * have given it for amd64 too, never when it was chosen over amd64. */
static void
test_compatible_platform(struct img_store *s)
{
  struct oci_error *err = NULL;
  const char *const la[] = { "amd64 layer" };
  const char *const lb[] = { "386 layer" };
  cleanup_free char *amd = put_image(s, "{\"amd64\":2}", la, 1);
  cleanup_free char *i386 = put_image(s, "{\"386\":2}", lb, 1);
  cleanup_free char *both = put_index(s, "amd64", amd, "386", i386);
  cleanup_free char *only = put_index(s, "386", i386, NULL, NULL);

  ok(set_platform_ref(s, "c/both", "1", i386, both, "386", &err) == 0
         && !got(s, "c/both", "1", "amd64", i386),
     "a 386 image taken from an index that offers amd64 does not answer for amd64");
  ok(set_platform_ref(s, "c/only", "1", i386, only, "386", &err) == 0 && got(s, "c/only", "1", "amd64", i386),
     "one from an index that offers only 386 does");
  ok(set_platform_ref(s, "c/single", "1", i386, i386, "386", &err) == 0
         && got(s, "c/single", "1", "amd64", i386) && !got(s, "c/single", "1", "arm64", i386),
     "a single manifest does, for a compatible platform only");
  ok(img_store_remove_ref(s, "c/both", "1", NULL, NULL, &err) == 0
         && img_store_remove_ref(s, "c/only", "1", NULL, NULL, &err) == 0
         && img_store_remove_ref(s, "c/single", "1", NULL, NULL, &err) == 0,
     "cleanup");
}

/* Two processes writing one blob: the second waits, then finds it done. */
static void
test_shared_writer(const char *dir)
{
  struct oci_error *err = NULL;
  cleanup_free char *d = digest_of("written by the child");
  int go[2], done[2];
  if (pipe(go) < 0 || pipe(done) < 0)
    abort();

  pid_t pid = fork();
  if (pid == 0)
    {
      struct img_store *cs = NULL;
      struct img_blob_writer *w = NULL;
      char c;
      if (img_store_open(dir, IMG_STORE_CREATE, &cs, &err) < 0
          || img_blob_writer_begin(cs, d, 20, &w, &err) < 0 || w == NULL)
        _exit(1);
      img_blob_writer_write(w, "written by ", 11, &err);
      (void)!write(done[1], "x", 1); /* holding the lock now */
      (void)!read(go[0], &c, 1);
      img_blob_writer_write(w, "the child", 9, &err);
      _exit(img_blob_writer_commit(w, &err) == 0 ? 0 : 1);
    }
  char c;
  (void)!read(done[0], &c, 1);
  struct img_store *s = NULL;
  struct img_blob_writer *w = NULL;
  img_store_open(dir, IMG_STORE_CREATE, &s, &err);
  ok(img_blob_writer_try_begin(s, d, 20, &w, &err) == 1 && w == NULL,
     "try_begin does not wait for a blob another writer holds");
  (void)!write(go[1], "x", 1);
  int r = img_blob_writer_begin(s, d, 20, &w, &err);
  int status;
  waitpid(pid, &status, 0);
  ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child committed");
  ok(r == 0 && w == NULL && img_store_has_blob(s, d), "second writer waited and found the blob");
  img_blob_writer_free(w);
  img_store_free(s);
}

int
main(void)
{
  struct oci_error *err = NULL;
  struct img_store *s = NULL;
  struct img_store *ro = NULL;

  if (mkdtemp(tmpdir) == NULL)
    return 99;
  cleanup_free char *dir = xasprintf("%s/store", tmpdir);
  ok(img_store_open(tmpdir, IMG_STORE_READONLY, &ro, &err) < 0 && strstr(err->msg, "not an OCI image layout"),
     "read-only open of a non-layout fails clearly");
  free(errstr(&err));
  ok(img_store_open(dir, IMG_STORE_CREATE, &s, &err) == 0, "create a store");
  ok(file_exists("store/oci-layout", ""), "oci-layout written");
  test_blobs(s);
  test_refs_and_gc(s);
  test_platforms(s);
  test_compatible_platform(s);
  img_store_free(s);
  ok(img_store_open(dir, IMG_STORE_READONLY, &ro, &err) == 0, "the store opens as an `oci:` layout");
  img_store_free(ro);
  test_shared_writer(dir);

  cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    return 99;
  return tap_done();
}

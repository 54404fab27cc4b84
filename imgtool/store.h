/* The content-addressed image store.
 *
 * The store IS an OCI image layout (image-spec image-layout.md), so an
 * `oci:DIR` source and the store share this code:
 *
 *   DIR/oci-layout               {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json               one descriptor per ref, named by the
 *                                annotation org.opencontainers.image.ref.name
 *   DIR/blobs/sha256/<hex>       verified blobs, immutable once renamed here
 *   DIR/ingest/sha256-<hex>      partial downloads (resumable), flock'ed by
 *                                their writer so two pulls never write one blob
 *   DIR/locks/<hex>.lock         per-image locks (hex = sha256 of the name)
 *   DIR/locks/index.lock         serialises read-modify-write of index.json
 *   DIR/locks/gc.lock            shared by every open store, exclusive for gc
 *
 * Crash safety: a blob appears under blobs/ only after it was fsync'd and its
 * digest verified; index.json is replaced with write-temp + fsync + rename +
 * fsync(dir) and only after every blob the ref reaches is present.  A pull
 * killed at any moment therefore leaves at worst a partial file in ingest/
 * (resumed by the next pull) or unreferenced blobs (dropped by gc).
 *
 * Digests are "sha256:<64 lowercase hex>"; any other spelling is refused
 * before it is used in a path. */
#ifndef IMG_STORE_H
#define IMG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "platform.h"

struct img_store;

enum
{
  IMG_STORE_CREATE = 1 << 0,   /* create the layout when missing */
  IMG_STORE_READONLY = 1 << 1, /* an `oci:` source: no locks, no writes */
};

/* The default store: /var/lib/imgtool for root, $XDG_DATA_HOME/imgtool or
 * ~/.local/share/imgtool otherwise. */
char *img_store_default_dir(void);

/* Open (and with IMG_STORE_CREATE, create) the layout at `dir`.  A writable
 * store holds a shared lock on gc.lock until img_store_free(). */
int img_store_open(const char *dir, int flags, struct img_store **out, struct oci_error **err);
void img_store_free(struct img_store *s);
const char *img_store_dir(const struct img_store *s);
/* The store's directory fd (O_PATH|O_DIRECTORY), for *at() calls. */
int img_store_dirfd(const struct img_store *s);

/* "sha256:<64 hex>" exactly; returns false for anything else. */
bool img_digest_valid(const char *digest);

/* ---- blobs ---- */

bool img_store_has_blob(struct img_store *s, const char *digest);

/* Open a committed blob read-only; *size gets its length. */
int img_store_open_blob(struct img_store *s, const char *digest, int *fd, uint64_t *size,
                        struct oci_error **err);

/* Unpacking is deterministic: once an unpack that checked blob `digest`
 * also found its tar to hash to `diff_id`, later unpacks that check the
 * blob's digest need not hash the tar again.  The fact is kept with the
 * blob, in an xattr (user.imgtool.diff_id): it goes when the blob goes, and
 * where the filesystem has no xattrs nothing is remembered.  Read-only
 * stores are only read. */
bool img_store_diff_id_checked(struct img_store *s, const char *digest, const char *diff_id);
void img_store_note_diff_id(struct img_store *s, const char *digest, const char *diff_id);

/* Read a whole blob into memory, refusing one larger than max_size, and
 * verify its digest (an `oci:` source is untrusted input).  *buf is NUL
 * terminated (not counted in *len). */
int img_store_read_blob(struct img_store *s, const char *digest, uint64_t max_size, char **buf, size_t *len,
                        struct oci_error **err);

/* Store bytes we already hold (a manifest fetched into memory): verifies
 * `digest` against the bytes, then writes, fsyncs and renames. */
int img_store_put_blob(struct img_store *s, const char *digest, const void *buf, size_t len,
                       struct oci_error **err);

/* Streaming writer for one blob.
 *
 * begin: when the blob is already committed, returns 0 with *out = NULL.
 * Otherwise it takes an exclusive flock on ingest/sha256-<hex> (waiting while
 * another process writes the same blob, then re-checking), re-hashes what an
 * earlier attempt left there, and returns a writer whose offset() is the
 * number of bytes already present: ask the server for `Range: bytes=<offset>-`.
 * expected_size < 0 means unknown; otherwise more bytes than that are refused
 * as they arrive and fewer are refused at commit.
 *
 * restart: the server ignored Range (answered 200), start again from 0.
 * commit: verify size and digest ("digest mismatch: expected X got Y"; the
 * partial is then deleted), fsync, rename into blobs/, fsync the directory.
 * free without commit keeps the partial for the next attempt.
 *
 * Lock order: a process must never wait for one blob's lock while it holds
 * another's (two pulls sharing layers in opposite order would deadlock).
 * Take several with try_begin, which returns 1 (and *out = NULL) instead of
 * waiting when another writer holds the blob; wait with begin only while
 * holding no other writer. */
struct img_blob_writer;
int img_blob_writer_begin(struct img_store *s, const char *digest, int64_t expected_size,
                          struct img_blob_writer **out, struct oci_error **err);
int img_blob_writer_try_begin(struct img_store *s, const char *digest, int64_t expected_size,
                              struct img_blob_writer **out, struct oci_error **err);
uint64_t img_blob_writer_offset(const struct img_blob_writer *w);
/* A read-only fd of the file the writer fills, for a consumer that follows
 * the download (pread up to what was written).  It shares no lock with the
 * writer and stays valid after commit or free. */
int img_blob_writer_open_reader(const struct img_blob_writer *w, struct oci_error **err);
int img_blob_writer_restart(struct img_blob_writer *w, struct oci_error **err);
int img_blob_writer_write(struct img_blob_writer *w, const void *buf, size_t n, struct oci_error **err);
int img_blob_writer_commit(struct img_blob_writer *w, struct oci_error **err);
void img_blob_writer_free(struct img_blob_writer *w);

/* ---- refs (index.json entries) ----
 *
 * A ref is a repository plus a tag or a digest: ("docker.io/library/alpine",
 * "3.20") is stored as ref.name "docker.io/library/alpine:3.20";
 * ("docker.io/library/alpine", "sha256:...") as "...alpine@sha256:...".  An
 * `oci:` layout written by other tools names refs by bare tag ("latest"):
 * pass repository NULL for those.
 *
 * The store keeps one entry per name AND platform (the descriptor's
 * `platform` field), so pulling a name for another platform never replaces
 * what it means for this one.  An entry without that field (written before
 * it was recorded, or by another tool) has the platform of its config; one
 * pointing at an index has none and suits any platform.
 *
 * The digest the source served for the name (a multi-platform image's
 * index, what `docker images --digests` shows) is kept in the annotation
 * io.imgtool.ref.digest; the descriptor itself points at the platform's
 * image manifest.  A digest name is one more name of an image only while no
 * entry of its repository points at the same manifest: such an entry
 * already answers to both digests. */
struct img_store_ref
{
  char *name;       /* the ref.name annotation as stored */
  char *repository; /* NULL for a bare tag */
  char *tag;        /* tag, or NULL when the ref is by digest */
  char *digest;     /* of the manifest or index the ref points at */
  char *ref_digest; /* what the source served for the name; == digest when unknown */
  char *media_type;
  uint64_t size;
  char *pulled;                 /* RFC 3339 time of the last set_ref, NULL if unknown */
  struct img_platform platform; /* os NULL: unknown (an index: any platform) */
};

/* What set_ref points a name at. */
struct img_store_target
{
  const char *media_type;
  const char *digest; /* the manifest (or index); must be in the store */
  uint64_t size;
  const char *ref_digest;              /* NULL: the same as digest */
  const struct img_platform *platform; /* NULL: the config's, read from the store */
};

/* Point a ref at a manifest (or index) descriptor; the blob must already be
 * in the store.  Replaces an existing entry of the same name and platform;
 * a tag drops the digest names of its repository it now covers, and a
 * digest name that an entry already covers is not added. */
int img_store_set_ref(struct img_store *s, const char *repository, const char *tag_or_digest,
                      const struct img_store_target *t, struct oci_error **err);
/* The entry of that name for platform WANT (NULL: any), else one for a
 * compatible platform (386 on amd64) that its source would have given for
 * WANT too: a single manifest, or the one its index (kept by gc for that)
 * picks for WANT.  A digest also finds an entry of the repository that
 * points at that manifest or was served under that digest.  -1 with status
 * ENOENT when there is none; the message then names the platforms the name
 * is stored for. */
int img_store_get_ref(struct img_store *s, const char *repository, const char *tag_or_digest,
                      const struct img_platform *want, struct img_store_ref **out, struct oci_error **err);
int img_store_list_refs(struct img_store *s, struct img_store_ref **refs, size_t *len,
                        struct oci_error **err);
/* Every platform of the name, or only ONLY's.  -1 with status ENOENT when
 * nothing matched.  *removed (unless NULL) gets the names removed, each
 * once, NULL-terminated: `repo@sha256:...` may be several tags. */
int img_store_remove_ref(struct img_store *s, const char *repository, const char *tag_or_digest,
                         const struct img_platform *only, char ***removed, struct oci_error **err);
void img_store_ref_free(struct img_store_ref *r);
void img_store_refs_free(struct img_store_ref *refs, size_t len);

/* Delete every blob (and stale partial) no ref reaches: index → manifests →
 * config and layers.  Waits for running pulls (they hold gc.lock shared). */
int img_store_gc(struct img_store *s, size_t *removed, uint64_t *freed, struct oci_error **err);

/* ---- overlay bundles (imgtool bundle --overlay) ----
 *
 *   DIR/layers/<chain>/          a layer unpacked for overlayfs, named by its
 *                                chain ID (hex); made under .tmp-<chain> and
 *                                renamed, so a name here is always complete
 *   DIR/bundles/<id>.json        one record per overlay bundle (id = hex of
 *                                the sha256 of its absolute path)
 *
 * gc keeps every blob and layer directory a record names, whatever refs
 * still point there; other layer directories are a cache and go. */
struct img_store_bundle
{
  char *id;
  char *path;       /* absolute */
  char *image;      /* the name it was made from, for people */
  char *manifest;   /* the manifest's digest */
  char *ref_digest; /* what the image's name pointed at (an index, or the manifest) */
  char *platform;   /* os/arch[/variant] of the image, to load it again */
  char **blobs;     /* the config and layers */
  size_t blobs_len;
  char **chains; /* the layer directories, bottom first */
  size_t chains_len;
};

/* layers/, created on first use (O_RDONLY|O_DIRECTORY, owned by the store). */
int img_store_layers_fd(struct img_store *s, struct oci_error **err);
/* The store's directory as an absolute path (for records and markers). */
int img_store_abs_dir(const struct img_store *s, char **out, struct oci_error **err);
char *img_store_bundle_id(const char *abs_path);
int img_store_put_bundle(struct img_store *s, const struct img_store_bundle *b, struct oci_error **err);
/* -1 with status ENOENT when there is no such record. */
int img_store_get_bundle(struct img_store *s, const char *id, struct img_store_bundle **out,
                         struct oci_error **err);
int img_store_drop_bundle(struct img_store *s, const char *id, struct oci_error **err);
int img_store_list_bundles(struct img_store *s, struct img_store_bundle ***out, size_t *len,
                           struct oci_error **err);
void img_store_bundle_free(struct img_store_bundle *b);
void img_store_bundles_free(struct img_store_bundle **v, size_t len);

/* What gc kept only because overlay bundles use it: called once per bundle
 * that holds blobs no ref reaches, with their number. */
struct img_gc_report
{
  size_t removed; /* blobs and partial downloads */
  uint64_t freed;
  size_t layers_removed; /* cached layer directories */
  void (*held)(void *data, const struct img_store_bundle *b, size_t blobs);
  void *data;
};
int img_store_gc_report(struct img_store *s, struct img_gc_report *r, struct oci_error **err);

/* ---- per-image lock ----
 * Held by a pull for the whole transfer of one image, so a second pull of
 * the same image waits and then finds the work done.  Returns an fd to close
 * (cleanup_close) to release. */
int img_store_lock_image(struct img_store *s, const char *name, struct oci_error **err);

static inline void
cleanup_storep(struct img_store **s)
{
  img_store_free(*s);
}
static inline void
cleanup_blob_writerp(struct img_blob_writer **w)
{
  img_blob_writer_free(*w);
}
static inline void
cleanup_store_refp(struct img_store_ref **r)
{
  img_store_ref_free(*r);
}
static inline void
cleanup_store_bundlep(struct img_store_bundle **b)
{
  img_store_bundle_free(*b);
}
#define cleanup_store_bundle __attribute__((cleanup(cleanup_store_bundlep)))
#define cleanup_store __attribute__((cleanup(cleanup_storep)))
#define cleanup_blob_writer __attribute__((cleanup(cleanup_blob_writerp)))
#define cleanup_store_ref __attribute__((cleanup(cleanup_store_refp)))

#endif

/* sha256 over OpenSSL EVP, formatted as OCI digests ("sha256:<hex>"). */
#ifndef IMG_DIGEST_H
#define IMG_DIGEST_H

#include <stddef.h>

/* "sha256:" + 64 hex + NUL */
#define IMG_DIGEST_LEN 72

struct img_sha256
{
  void *ctx; /* EVP_MD_CTX; NULL until the first init */
};

/* (Re)start a hash; the struct must be zeroed before the first call. */
void img_sha256_init(struct img_sha256 *h);
void img_sha256_update(struct img_sha256 *h, const void *buf, size_t len);
/* Write "sha256:<hex>" into out; the hash must be re-initialised to reuse. */
void img_sha256_final(struct img_sha256 *h, char out[IMG_DIGEST_LEN]);
void img_sha256_clear(struct img_sha256 *h);
/* One-shot. */
void img_sha256_digest(const void *buf, size_t len, char out[IMG_DIGEST_LEN]);

#endif

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"

/* OpenSSL fails these only on allocation failure or a broken library; like
 * xmalloc we do not pretend to recover from that. */
void
img_sha256_init(struct img_sha256 *h)
{
  if (h->ctx == NULL)
    h->ctx = EVP_MD_CTX_new();
  if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
    abort();
}

void
img_sha256_update(struct img_sha256 *h, const void *buf, size_t len)
{
  if (EVP_DigestUpdate(h->ctx, buf, len) != 1)
    abort();
}

void
img_sha256_final(struct img_sha256 *h, char out[IMG_DIGEST_LEN])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
    abort();
  memcpy(out, "sha256:", 7);
  for (unsigned int i = 0; i < n; i++)
    {
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[8 + 2 * i] = hex[md[i] & 15];
    }
  out[7 + 64] = '\0';
}

void
img_sha256_clear(struct img_sha256 *h)
{
  EVP_MD_CTX_free(h->ctx);
  h->ctx = NULL;
}

void
img_sha256_digest(const void *buf, size_t len, char out[IMG_DIGEST_LEN])
{
  struct img_sha256 h = { 0 };
  img_sha256_init(&h);
  img_sha256_update(&h, buf, len);
  img_sha256_final(&h, out);
  img_sha256_clear(&h);
}

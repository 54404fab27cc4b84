/* Base64 through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock. */
#include <config.h>

#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>

#include "base64.h"
#include "util.h"

char *
img_base64_encode(const char *s, size_t len)
{
  char *out = xmalloc(4 * ((len + 2) / 3) + 1);

  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
  return out;
}

char *
img_base64_decode(const char *s, size_t *out_len)
{
  size_t len = strlen(s);
  char *out;
  int n;

  while (len > 0 && isspace((unsigned char)s[len - 1]))
    len--;
  if (len % 4 != 0)
    return NULL;
  out = xmalloc(len / 4 * 3 + 1);
  n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
  if (n < 0)
    {
      free(out);
      return NULL;
    }
  /* EVP_DecodeBlock counts the padding as zero bytes. */
  if (len >= 1 && s[len - 1] == '=')
    n--;
  if (len >= 2 && s[len - 2] == '=')
    n--;
  out[n] = '\0';
  *out_len = n;
  return out;
}

/* Base64 with padding (RFC 4648 §4): docker's config.json keeps USER:PASSWORD
 * so in "auth", and Basic authorization sends it so. */
#ifndef IMG_BASE64_H
#define IMG_BASE64_H

#include <stddef.h>

/* Newly allocated and NUL-terminated. */
char *img_base64_encode(const char *s, size_t len);

/* S decoded (trailing white space ignored), NUL-terminated, its length in
 * *OUT_LEN; NULL when S is not base64. */
char *img_base64_decode(const char *s, size_t *out_len);

#endif

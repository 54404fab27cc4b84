/* Minimal TAP producer for the C unit tests (automake's tap-driver counts
 * each `ok`/`not ok` line). */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                                        \
  do                                                                                                         \
    {                                                                                                        \
      int tap_ok_ = !!(cond); /* once: cond may have side effects */                                         \
      tap_n++;                                                                                               \
      if (!tap_ok_)                                                                                          \
        tap_failed++;                                                                                        \
      printf("%sok %d - ", tap_ok_ ? "" : "not ", tap_n);                                                    \
      printf(__VA_ARGS__);                                                                                   \
      printf("\n");                                                                                          \
      if (!tap_ok_)                                                                                          \
        printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                                      \
    }                                                                                                        \
  while (0)

/* n tests that cannot run here, and why. */
static inline void
tap_skip(int n, const char *why)
{
  for (int i = 0; i < n; i++)
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

static inline int
tap_done(void)
{
  printf("1..%d\n", tap_n);
  return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

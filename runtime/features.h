/* `ocirt features`: what this build really implements. */
#ifndef RT_FEATURES_H
#define RT_FEATURES_H

#include "spec/oci-features.h"

/* Never fails; free with oci_features_free(). */
struct oci_features *rt_features_build(void);

#endif

// The few C library pieces umbra needs, with their standard prototypes so
// that mm/ links against libc unchanged in host builds.
#ifndef UMBRA_LIB_H
#define UMBRA_LIB_H

#include <stdarg.h>
#include "types.h"

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

// Provided by whoever links mm/: the VMM halts with a reason, host tests abort.
_Noreturn void assert_fail(const char *file, int line, const char *expr);
#define ASSERT(c) ((c) ? (void)0 : assert_fail(__FILE__, __LINE__, #c))

#endif

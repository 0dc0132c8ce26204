// The printf formatting kern and its user programs share: %d %u %x %s with
// an optional zero-padded width, each character handed to put.
#ifndef KERN_FMT_H
#define KERN_FMT_H
#include <stdarg.h>
void vformat(void (*put)(char), const char *fmt, va_list ap);
#endif

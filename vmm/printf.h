// Formatted output for the VMM: kvsnprintf into a buffer, kprintf to the log.
#ifndef UMBRA_PRINTF_H
#define UMBRA_PRINTF_H

#include <stdarg.h>
#include "types.h"

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

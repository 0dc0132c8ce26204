// Numbers in and out for the VMM: kvsnprintf into a buffer (kprintf to the
// log), and the one parser of numbers umbra reads from people.
#ifndef UMBRA_PRINTF_H
#define UMBRA_PRINTF_H

#include <stdarg.h>
#include "types.h"

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// The number in [s, end): decimal, or hex with 0x; the whole text, nothing
// after it, at most max. False on anything else ("12x", "", "0x", overflow).
bool parse_number(const char *s, const char *end, u64 max, u64 *out);

#endif

// User-side helpers: exit and a printf that writes whole lines at once.
#include <stdarg.h>
#include "ulib.h"
#include "../fmt.h"

_Noreturn void exit(int status)
{
	sys(2, (u32)status, 0, 0);
	for (;;)
		;
}

static char buf[256];
static u32 len;

static void put(char c)
{
	if (len < sizeof(buf))
		buf[len++] = c;
}

void printf(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	len = 0;
	vformat(put, f, ap);
	va_end(ap);
	write(buf, len);
}

// User-side helpers: exit and a printf that writes whole lines at once.
#include <stdarg.h>
#include "ulib.h"

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

static void put_num(u32 v, u32 base, int width)
{
	char b[12];
	int n = 0;
	do {
		b[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		put('0');
	while (n)
		put(b[--n]);
}

void printf(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	len = 0;
	for (; *f; f++) {
		if (*f != '%') {
			put(*f);
			continue;
		}
		int width = 0;
		while (f[1] >= '0' && f[1] <= '9')
			width = width * 10 + (*++f - '0');
		switch (*++f) {
		case 'd': { int v = va_arg(ap, int); if (v < 0) { put('-'); v = -v; } put_num((u32)v, 10, width); break; }
		case 'u': put_num(va_arg(ap, u32), 10, width); break;
		case 'x': put_num(va_arg(ap, u32), 16, width); break;
		case 's': for (const char *s = va_arg(ap, const char *); *s; s++) put(*s); break;
		default: put('%'); put(*f);
		}
	}
	va_end(ap);
	write(buf, len);
}

// printf formatting for kern and its user programs (built into both).
#include "fmt.h"

static void put_num(void (*put)(char), unsigned v, unsigned base, int width)
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

void vformat(void (*put)(char), const char *f, va_list ap)
{
	for (; *f; f++) {
		if (*f != '%') {
			put(*f);
			continue;
		}
		int width = 0;
		while (f[1] >= '0' && f[1] <= '9')
			width = width * 10 + (*++f - '0');
		switch (*++f) {
		case 'd': {
			int v = va_arg(ap, int);
			if (v < 0) {
				put('-');
				v = -v;
			}
			put_num(put, (unsigned)v, 10, width);
			break;
		}
		case 'u': put_num(put, va_arg(ap, unsigned), 10, width); break;
		case 'x': put_num(put, va_arg(ap, unsigned), 16, width); break;
		case 's': for (const char *s = va_arg(ap, const char *); *s; s++) put(*s); break;
		default: put('%'); put(*f);
		}
	}
}

// /vmclone [N] in the Linux test initramfs: clone the whole VM from inside
// Linux, as guest/kern does, with umbra's hypercall: a 32-bit IN from port
// 0x6C0 (ioperm gives a root process the port; /dev/port would read it a
// byte at a time, which is not the hypercall). The parent makes N clones
// (default 1) at once: a 32-bit OUT of N to the port first asks umbra for
// that many from one IN (plain QEMU ignores it). Prints
// which VM it is. Exit status: 0 in the parent, 1 in a clone, 2 if a clone
// could not be made (not under umbra, or umbra refused: its log says why).
#include "sys.h"

static u32 number(const char *s)
{
	u32 v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u32)(*s++ - '0');
	return v;
}

// The process starts with argc, then the argv pointers, on its stack.
__asm__(".globl _start\n_start: push %esp\n call start\n");
void start(const u32 *sp);
void start(const u32 *sp)
{
	u32 n = sp[0] > 1 ? number((const char *)sp[2]) : 1, r = 0xFFFFFFFFu;
	int status = 0;
	if (sys(SYS_ioperm, 0x6C0, 4, 1, 0, 0, 0) < 0)
		status = 2;
	if (status == 0) {
		__asm__ volatile("outl %0, %1" : : "a"(n), "Nd"((unsigned short)0x6C0));
		__asm__ volatile("inl %1, %0" : "=a"(r) : "Nd"((unsigned short)0x6C0));
		status = r == 0 ? 1 : (r == 0xFFFFFFFFu || r == 0xFFFFFFFEu) ? 2 : 0;
	}
	out(status == 1 ? "vmclone: the clone\n" : status == 0 ? "vmclone: the parent\n"
		: r == 0xFFFFFFFEu ? "vmclone: umbra refused the clone\n" : "vmclone: not under umbra\n");
	sys(SYS_exit, status, 0, 0, 0, 0, 0);
	for (;;)
		;
}

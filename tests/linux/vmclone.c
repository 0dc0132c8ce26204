// /vmclone in the Linux test initramfs: clone the whole VM from inside
// Linux, as guest/kern does, with umbra's hypercall: a 32-bit IN from port
// 0x6C0 (ioperm gives a root process the port; /dev/port would read it a
// byte at a time, which is not the hypercall). Prints which VM it is.
// Exit status: 0 in the parent, 1 in the clone, 2 if there was no clone
// (not under umbra, or umbra refused: it says why in its log).
typedef unsigned int u32;

static int sys(int n, int a, int b, int c)
{
	int r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}
#define SYS_exit 1
#define SYS_write 4
#define SYS_ioperm 101

static void out(const char *s)
{
	int n = 0;
	while (s[n])
		n++;
	sys(SYS_write, 1, (int)s, n);
}

void _start(void);
void _start(void)
{
	u32 r = 0xFFFFFFFFu;
	if (sys(SYS_ioperm, 0x6C0, 4, 1) == 0)
		__asm__ volatile("inl %1, %0" : "=a"(r) : "Nd"((unsigned short)0x6C0));
	int status = r == 0 ? 1 : (r == 0xFFFFFFFFu || r == 0xFFFFFFFEu) ? 2 : 0;
	out(status == 1 ? "vmclone: the clone\n" : status == 0 ? "vmclone: the parent\n"
		: r == 0xFFFFFFFFu ? "vmclone: not under umbra\n" : "vmclone: umbra refused the clone\n");
	sys(SYS_exit, status, 0, 0);
	for (;;)
		;
}

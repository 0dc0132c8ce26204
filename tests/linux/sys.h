// Raw i386 Linux system calls for the initramfs's tiny static programs
// (lstress, vmclone): no libc. Up to six arguments (EBX..EBP), int 0x80.
#ifndef UMBRA_TESTS_LINUX_SYS_H
#define UMBRA_TESTS_LINUX_SYS_H

typedef unsigned int u32;

static inline int sys(int n, int a, int b, int c, int d, int e, int f)
{
	int r;
	__asm__ volatile("push %%ebp; mov %7, %%ebp; int $0x80; pop %%ebp"
			 : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "g"(f) : "memory");
	return r;
}
#define SYS_exit 1
#define SYS_fork 2
#define SYS_read 3
#define SYS_write 4
#define SYS_close 6
#define SYS_waitpid 7
#define SYS_pipe 42
#define SYS_munmap 91
#define SYS_ioperm 101
#define SYS_mprotect 125
#define SYS_mmap2 192
#define SYS_exit_group 252

// A string to standard output.
static inline void out(const char *s)
{
	int n = 0;
	while (s[n])
		n++;
	sys(SYS_write, 1, (int)s, n, 0, 0, 0);
}

#endif

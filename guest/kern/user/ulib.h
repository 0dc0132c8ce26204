// The user side of kern's system calls, and a few helpers.
#ifndef ULIB_H
#define ULIB_H
typedef unsigned int u32;
typedef unsigned char u8;
#define NULL ((void *)0)

static inline int sys(u32 n, u32 a, u32 b, u32 c)
{
	int r;
	__asm__ volatile("int $0x40" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}
static inline int fork(void) { return sys(1, 0, 0, 0); }
_Noreturn void exit(int status);
static inline int wait(int *status) { return sys(3, (u32)status, 0, 0); }
static inline int getpid(void) { return sys(4, 0, 0, 0); }
static inline int write(const char *s, u32 n) { return sys(5, (u32)s, n, 0); }
static inline void yield(void) { sys(6, 0, 0, 0); }
static inline void *sbrk(u32 n) { return (void *)sys(7, n, 0, 0); }
static inline u32 vmclone(void) { return (u32)sys(8, 0, 0, 0); }
static inline u32 cowstats(void) { return (u32)sys(9, 0, 0, 0); }

void printf(const char *fmt, ...);
#endif

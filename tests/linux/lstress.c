// A fork stress for Linux (i386, no libc: raw system calls), the same ideas
// as guest/kern's forkstress: fork trees whose children inherit their
// parent's pages copy-on-write, write their own patterns, check that their
// writes never show in the parent and that each child's memory is its own,
// and report checksums that the parent recomputes; plus mmap / mprotect /
// munmap churn. Only the first process prints, so the output is the same on
// every run and under every hypervisor. Exit status: 0 when all is well.
// Arguments: procs=N depth=N pages=N rounds=N.
#include "sys.h"

static void out_num(u32 v, int hex)
{
	char b[16];
	int i = 15;
	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v % (hex ? 16 : 10)];
		v /= hex ? 16 : 10;
	} while (v);
	if (hex) {
		b[--i] = 'x';
		b[--i] = '0';
	}
	out(b + i);
}

static __attribute__((noreturn)) void die(int status)
{
	sys(SYS_exit_group, status, 0, 0, 0, 0, 0);
	for (;;)
		;
}

static u32 procs = 3, depth = 2, pages = 8, rounds = 4;
static volatile u32 *region;

static u32 pattern(u32 salt, u32 i) { return (i * 2654435761u) ^ salt; }

static void fill(u32 salt)
{
	for (u32 i = 0; i < pages * 1024; i += 61)
		region[i] = pattern(salt, i);
}

static u32 check(u32 salt) // the number of words that are not salt's
{
	u32 bad = 0;
	for (u32 i = 0; i < pages * 1024; i += 61)
		bad += region[i] != pattern(salt, i);
	return bad;
}

static u32 sum(void)
{
	u32 s = 0;
	for (u32 i = 0; i < pages * 1024; i += 61)
		s = s * 31 + region[i];
	return s;
}

// The checksum a process of salt with the given depth below it reports:
// its own region's sum plus its children's, recomputed by the parent the
// same way the child computed it.
static u32 expected(u32 salt, u32 d)
{
	u32 s = 0;
	for (u32 i = 0; i < pages * 1024; i += 61)
		s = s * 31 + pattern(salt, i);
	if (d > 0)
		for (u32 c = 0; c < procs; c++)
			s += expected(salt * 7 + c + 1, d - 1);
	return s;
}

static u32 forks, failures; // forks: in this process's whole subtree

// Run the tree below a process that holds salt: fork procs children, each of
// which checks what it inherited, writes its own salt, recurses, checks its
// own again, and sends its checksum down a pipe; then check our own region.
static u32 tree(u32 salt, u32 d)
{
	u32 total = sum();
	if (d == 0)
		return total;
	for (u32 c = 0; c < procs; c++) {
		int fd[2];
		if (sys(SYS_pipe, (int)fd, 0, 0, 0, 0, 0) < 0)
			die(10);
		int pid = sys(SYS_fork, 0, 0, 0, 0, 0, 0);
		if (pid < 0)
			die(11);
		if (pid == 0) {
			sys(SYS_close, fd[0], 0, 0, 0, 0, 0);
			u32 mine = salt * 7 + c + 1;
			u32 bad = check(salt); // inherited, copy-on-write
			fill(mine);
			forks = 0;
			u32 s = tree(mine, d - 1);
			bad += check(mine);   // own writes kept through its subtree
			u32 msg[3] = { s, bad, forks };
			sys(SYS_write, fd[1], (int)msg, sizeof(msg), 0, 0, 0);
			die(bad ? 1 : 0);
		}
		sys(SYS_close, fd[1], 0, 0, 0, 0, 0);
		u32 msg[3] = { 0, 1, 0 };
		int got = sys(SYS_read, fd[0], (int)msg, sizeof(msg), 0, 0, 0);
		sys(SYS_close, fd[0], 0, 0, 0, 0, 0);
		int status = 0;
		sys(SYS_waitpid, pid, (int)&status, 0, 0, 0, 0);
		if (got != (int)sizeof(msg) || msg[1] != 0 || status != 0 || msg[0] != expected(salt * 7 + c + 1, d - 1))
			failures++;
		forks += 1 + msg[2];
		total += msg[0];
		if (check(salt)) // the child's writes never show here
			failures++;
	}
	return total;
}

// mmap, write, mprotect read-only, read, munmap: the kernel's own page
// tables change under the hypervisor's shadow.
static void churn(u32 round)
{
	for (u32 k = 0; k < 8; k++) {
		u32 n = 1 + (round + k) % 16;
		volatile u32 *m = (volatile u32 *)sys(SYS_mmap2, 0, (int)(n * 4096), 3, 0x22, -1, 0);
		if ((u32)m > 0xFFFFF000u) {
			failures++;
			return;
		}
		for (u32 i = 0; i < n * 1024; i += 97)
			m[i] = i ^ round;
		sys(SYS_mprotect, (int)m, (int)(n * 4096), 1, 0, 0, 0);
		for (u32 i = 0; i < n * 1024; i += 97)
			failures += m[i] != (i ^ round);
		sys(SYS_munmap, (int)m, (int)(n * 4096), 0, 0, 0, 0);
	}
}

static int arg(const char *a, const char *name, u32 *v)
{
	int i = 0;
	while (name[i] && a[i] == name[i])
		i++;
	if (name[i])
		return 0;
	u32 n = 0;
	if (!a[i])
		return -1;
	for (; a[i]; i++) {
		if (a[i] < '0' || a[i] > '9' || n > 100000)
			return -1;
		n = n * 10 + (u32)(a[i] - '0');
	}
	*v = n;
	return 1;
}

void lstress_main(u32 *sp);
void lstress_main(u32 *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	for (int i = 1; i < argc; i++) {
		int r = arg(argv[i], "procs=", &procs);
		if (!r)
			r = arg(argv[i], "depth=", &depth);
		if (!r)
			r = arg(argv[i], "pages=", &pages);
		if (!r)
			r = arg(argv[i], "rounds=", &rounds);
		if (r <= 0 || procs < 1 || procs > 8 || depth > 4 || pages < 1 || pages > 1024) {
			out("lstress: bad argument: ");
			out(argv[i]);
			out(" (procs=1..8 depth=0..4 pages=1..1024 rounds=N)\n");
			die(3);
		}
	}
	region = (volatile u32 *)sys(SYS_mmap2, 0, (int)(pages * 4096), 3, 0x22, -1, 0);
	if ((u32)region > 0xFFFFF000u)
		die(12);
	u32 total = 0;
	for (u32 r = 0; r < rounds; r++) {
		fill(r + 1);
		total += tree(r + 1, depth);
		churn(r);
		if (check(r + 1))
			failures++;
	}
	out("lstress: forks=");
	out_num(forks, 0);
	out(" checksum=");
	out_num(total, 1);
	out(failures ? " FAILED\n" : " OK\n");
	die(failures ? 1 : 0);
}

__asm__(".globl _start\n_start:\n\tmov %esp, %eax\n\tand $-16, %esp\n\tpush %eax\n\tcall lstress_main\n");

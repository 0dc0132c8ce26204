// Reclaim of a frame shared by 64 clones (make bench): the guest maps
// tables=N x 4 MiB (default 16, at most 240) with 4 KiB pages, then clones
// itself into 65 VMs (6 binary levels, then one more clone of the
// original). Each VM writes a page under each of its page tables, so every
// VM holds its own copy of each table, and all of them map the frame of
// this code. When all have
// had time to do so, the original asks umbra (with the bench option) to
// reclaim that frame through its reverse map and by a full scan, and to log
// both costs (twice, the second for the figure).
#include "../edge/edge.h"

#define MAX_TABLES 240
static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pt[MAX_TABLES][1024] __attribute__((aligned(4096)));
struct mbi { u32 flags, mem_lower, mem_upper, boot_device, cmdline; };

// tables=N from the command line, or 16.
static u32 tables_arg(const struct mbi *m)
{
	const char *c = (m->flags & 4) ? (const char *)m->cmdline : "";
	for (; *c; c++) {
		if (c[0] == 't' && c[1] == 'a' && c[2] == 'b' && c[3] == 'l' && c[4] == 'e' && c[5] == 's' && c[6] == '=') {
			u32 n = 0;
			for (c += 7; *c >= '0' && *c <= '9'; c++)
				n = n * 10 + (u32)(*c - '0');
			return n < 2 ? 2 : n > MAX_TABLES ? MAX_TABLES : n;
		}
	}
	return 16;
}
static inline u32 inl(unsigned short p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }

static void wait_cycles(u64 n)
{
	u64 t0 = rdtsc();
	while (rdtsc() - t0 < n)
		;
}

void main(u32 magic, u32 mbi)
{
	(void)magic;
	u32 ntables = tables_arg((const struct mbi *)mbi);
	for (u32 k = 0; k < ntables; k++) {
		pd[k] = (u32)pt[k] | 3;
		for (u32 t = 0; t < 1024; t++)
			pt[k][t] = ((k << 22) | (t << 12)) | 3;
	}
	__asm__ volatile("mov %0, %%cr3; mov %%cr0, %%eax; or $0x80010000, %%eax; mov %%eax, %%cr0"
			 ::"r"(pd) : "eax");
	for (u32 k = 1; k < ntables; k++)
		*(volatile u32 *)(k << 22) = k;
	u32 path = 1;
	for (u32 l = 0; l < 7; l++) {
		if (l == 6 && path != 64)
			break;
		u32 r = inl(0x6C0);
		if (r == 0xFFFFFFFFu || r == 0xFFFFFFFEu) {
			puts_(r == 0xFFFFFFFFu ? "clone64: not under umbra\n" : "clone64: clone refused\n");
			outb(0xF4, r == 0xFFFFFFFFu ? 0 : 1);
		}
		path = path * 2 + (r == 0);
	}
	for (u32 k = 1; k < ntables; k++)
		*(volatile u32 *)(k << 22) = path;
	// Every VM copies its tables meanwhile; the original measures while all
	// the others still spin, so they wait longer.
	wait_cycles(path == 128 ? 30000000000ull : 50000000000ull);
	// The bench hook: reclaim this code's frame, both ways. Twice: the
	// first run also pays for TCG translating umbra's code; meanwhile the
	// other VMs, spinning in this code, map the frame again.
	for (int i = 0; i < 2; i++) {
		if (path == 128)
			outl(0x6C4, 1);
		wait_cycles(3000000000ull);
	}
	outb(0xF4, 0);
}

// A long-running family of clones for the console test: paging on, a region
// filled with a pattern, two clones (four VMs). Each VM then, for
// seconds=N (default 10), checks every half second that the region holds
// its own pattern and writes it afresh, and ends with one line and status 0
// if it always did. Meanwhile tests/console_test.py drives umbra's console.
#include <stdbool.h>
#include "../edge/edge.h"

#define REGION ((volatile u32 *)0x800000u)
#define WORDS (32u * 1024u)

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pt[4][1024] __attribute__((aligned(4096)));
struct mbi { u32 flags, mem_lower, mem_upper, boot_device, cmdline; };
static inline u32 inl(unsigned short p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }

static u32 seconds_arg(const struct mbi *m)
{
	const char *c = (m->flags & 4) ? (const char *)m->cmdline : "";
	for (; *c; c++) {
		if (c[0] == 's' && c[1] == 'e' && c[2] == 'c' && c[3] == 'o' && c[4] == 'n' && c[5] == 'd' && c[6] == 's' && c[7] == '=') {
			u32 n = 0;
			for (c += 8; *c >= '0' && *c <= '9'; c++)
				n = n * 10 + (u32)(*c - '0');
			return n ? n : 1;
		}
	}
	return 10;
}

static u32 bad_words(u32 salt)
{
	u32 bad = 0;
	for (u32 i = 0; i < WORDS; i += 7)
		bad += REGION[i] != (i ^ salt);
	return bad;
}

static void fill(u32 salt)
{
	for (u32 i = 0; i < WORDS; i += 7)
		REGION[i] = i ^ salt;
}

void main(u32 magic, u32 mbi)
{
	(void)magic;
	u32 seconds = seconds_arg((const struct mbi *)mbi);
	for (u32 k = 0; k < 4; k++) {
		pd[k] = (u32)pt[k] | 3;
		for (u32 t = 0; t < 1024; t++)
			pt[k][t] = ((k << 22) | (t << 12)) | 3;
	}
	__asm__ volatile("mov %0, %%cr3; mov %%cr0, %%eax; or $0x80010000, %%eax; mov %%eax, %%cr0"
			 ::"r"(pd) : "eax");
	u32 salt = 0x11110000u, bad = 0;
	fill(salt);
	for (int i = 0; i < 2; i++) {
		u32 r = inl(0x6C0);
		if (r == 0xFFFFFFFEu) {
			puts_("soak: clone refused\n");
			outb(0xF4, 1);
		}
		bad += bad_words(salt);
		salt = salt * 3 + (r == 0) + 1;
		fill(salt);
	}
	u64 tsc_per_half = 1300000000ull; // ~0.5 s on this TSC; the length need not be exact
	for (u32 round = 0; round < seconds * 2; round++) {
		u64 t0 = rdtsc();
		while (rdtsc() - t0 < tsc_per_half)
			;
		bad += bad_words(salt);
		fill(salt);
	}
	puts_(bad ? "soak: FAIL: memory changed under this VM\n" : "soak: own memory intact every round\n");
	outb(0xF4, bad ? 1 : 0);
}

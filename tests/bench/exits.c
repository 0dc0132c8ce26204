// Benchmark guest: a fixed number of cheap VM exits (COM1 LSR reads), then a
// fixed number of CR3 reloads with paging on, each followed by touching 8
// pages. Prints nothing timing-dependent; the runner times it from outside
// and umbra's log counts the exits.
#include "../edge/edge.h"

#define N_IO 200000
#define N_CR3 20000

static u32 pd[1024] __attribute__((aligned(4096)));
static volatile u32 sink;

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	puts_("bench: start\n");
	for (u32 i = 0; i < N_IO; i++)
		sink += inb(0x3FD);
	// Identity-map the first 16 MiB with 4 MiB pages, turn paging on.
	for (u32 i = 0; i < 4; i++)
		pd[i] = (i << 22) | 0x83;
	__asm__ volatile("mov %%cr4, %%eax; or $0x10, %%eax; mov %%eax, %%cr4;"
			 "mov %0, %%cr3; mov %%cr0, %%eax; or $0x80000000, %%eax; mov %%eax, %%cr0"
			 ::"r"(pd) : "eax");
	for (u32 i = 0; i < N_CR3; i++) {
		__asm__ volatile("mov %0, %%cr3" ::"r"(pd) : "memory");
		for (u32 p = 0; p < 8; p++)
			sink += *(volatile u32 *)(0x200000 + p * 4096);
	}
	puts_("bench: done\n");
	outb(0xF4, 0);
}

// A guest whose page directory points a page table at memory it does not
// have: umbra stops it naming the table, not the page the access wanted
// (and never mistakes the table's address for a device's).
// expect-status: 135
// expect-log: a page table of gva 0x400000 at gpa 0x7000000 lies beyond its 64 MiB
#include "edge.h"
static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pt[1024] __attribute__((aligned(4096)));
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	for (u32 i = 0; i < 1024; i++)
		pt[i] = (i << 12) | 3;
	pd[0] = (u32)pt | 3;           // the first 4 MiB, identity
	pd[1] = 0x7000000u | 3;         // a table beyond the guest's 64 MiB
	__asm__ volatile("mov %0, %%cr3; mov %%cr0, %%eax; or $0x80000000, %%eax; mov %%eax, %%cr0"
			 ::"r"(pd) : "eax", "memory");
	volatile u32 *p = (u32 *)0x400000u;
	outl(0xF4, *p);
}

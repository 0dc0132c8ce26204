// A guest that turns on PAE paging, which umbra does not offer.
// expect-status: 135
// expect-log: PAE paging is not supported
#include "edge.h"
static u32 pdpt[4] __attribute__((aligned(32)));
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	__asm__ volatile("mov %%cr4, %%eax; or $0x20, %%eax; mov %%eax, %%cr4;"
			 "mov %0, %%cr3; mov %%cr0, %%eax; or $0x80000000, %%eax; mov %%eax, %%cr0"
			 ::"r"(pdpt) : "eax");
	outl(0xF4, 9);
}

// A guest that turns on PAE paging, which umbra's CPU does not show: the
// CR4 write raises #GP, and with no IDT that ends in a triple fault, which
// umbra's log alone must explain: where, what was delivered, which bytes.
// expect-status: 129
// expect-log: vm1 ended .*triple fault
// expect-log: vm1:   last events \(oldest first\): #GP\(0x0\) at eip 0x10[0-9a-f]+\s*$
// expect-log: vm1:   bytes at eip: 0f 22 e0
// expect-log: vm1:   cr0 0x00000011 cr2 0x00000000 cr3 0x[0-9a-f]+ cr4 0x00000000
// Under VMX the #GP's failed delivery makes a #DF exit (umbra intercepts
// #DF for the log), and the #DF umbra then delivers is the last event.
// expect-log-vmx: vm1 ended .*triple fault
// expect-log-vmx: vm1:   last events \(oldest first\): #GP\(0x0\) at eip 0x10[0-9a-f]+, #DF\(0x0\) at eip 0x10[0-9a-f]+\s*$
// expect-log-vmx: vm1:   bytes at eip: 0f 22 e0
// expect-log-vmx: vm1:   cr0 0x00000011 cr2 0x00000000 cr3 0x[0-9a-f]+ cr4 0x00000000
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

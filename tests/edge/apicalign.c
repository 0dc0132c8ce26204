// A 32-bit read of the local APIC that is not aligned (paging off): its
// registers are 32-bit and aligned, so umbra stops the VM and says why.
// expect-status: 135
// expect-log: 4-byte local APIC access at gpa 0xfee00022: its registers are 32-bit and aligned
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	u32 v;
	__asm__ volatile("movl 0xFEE00022, %0" : "=a"(v) :: "memory");
	outl(0xF4, v);
}

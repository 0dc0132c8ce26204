// A byte read of the local APIC's ID register (paging off): its registers
// are 32-bit, so umbra stops the VM and says why.
// expect-status: 135
// expect-log: 1-byte local APIC access at gpa 0xfee00020: its registers are 32-bit and aligned
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	unsigned char v;
	__asm__ volatile("movb 0xFEE00020, %0" : "=a"(v) :: "memory");
	outl(0xF4, v);
}

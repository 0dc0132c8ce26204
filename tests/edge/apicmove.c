// Moving the local APIC's base: umbra keeps its page at 0xFEE00000, so it
// stops the VM and says so.
// expect-status: 135
// expect-log: the local APIC's base moved to 0xfed00000: umbra keeps it at 0xfee00000
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	__asm__ volatile("wrmsr" ::"c"(0x1B), "a"(0xFED00900u), "d"(0));
	outl(0xF4, 0);
}

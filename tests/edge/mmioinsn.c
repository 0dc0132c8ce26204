// A read-modify-write of the IOAPIC's IOREGSEL (`orl`, paging off), an
// instruction umbra does not emulate for device memory: it stops the VM with
// the reason and the instruction's bytes.
// expect-status: 135
// expect-log: cannot emulate the instruction at eip 0x[0-9a-f]+ in 32-bit code \(15 bytes: 83 0d 00 00
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	__asm__ volatile("orl $1, 0xFEC00000" ::: "memory");
	outl(0xF4, 0);
}

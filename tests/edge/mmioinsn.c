// An INC of the IOAPIC's IOREGSEL (paging off), an instruction umbra does
// not emulate for device memory (it does MOV and the ALU forms: OR, AND,
// ADD, ..., TEST): it stops the VM with the reason and the instruction's
// bytes.
// expect-status: 135
// expect-log: cannot emulate the instruction at eip 0x[0-9a-f]+ in 32-bit code \(15 bytes: ff 05 00 00
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	__asm__ volatile("incl 0xFEC00000" ::: "memory");
	outl(0xF4, 0);
}

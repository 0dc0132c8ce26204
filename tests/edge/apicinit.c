// An INIT IPI to its own CPU: the CPU would restart in its firmware, which
// umbra does not have; it stops the VM and says so.
// expect-status: 135
// expect-log: INIT IPI to its own CPU: umbra has no firmware to restart it in
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	*(volatile u32 *)0xFEE00300u = 0x00044500u; // INIT, assert, to self
	outl(0xF4, 0);
}

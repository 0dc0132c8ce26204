// The exit port takes 2-byte writes as well: status (42 << 1) | 1 = 85.
// expect-status: 85
// expect-log: ended after [0-9]+ slices: status 42: wrote 42 to the exit port
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	inb(0x61); // a port with no device: reads all-ones, logged once
	outw(0xF4, 42);
}

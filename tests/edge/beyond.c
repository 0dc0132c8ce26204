// A guest that reads guest-physical memory it does not have (paging off).
// expect-status: 135
// expect-log: access to gpa 0x7000000 beyond its 64 MiB
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	puts_("edge: reading beyond memory\n");
	volatile u32 *p = (u32 *)0x7000000;
	u32 v = *p;
	outl(0xF4, v);
}

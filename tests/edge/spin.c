// A guest that never exits and never makes an exit: only the host timer
// takes the CPU back. umbra's test knob deadline=S ends it.
// umbra-args: deadline=2
// expect-status: 135
// expect-log: umbra's deadline=2 s passed
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	puts_("edge: spinning\n");
	for (volatile u32 i = 0;; i++)
		;
}

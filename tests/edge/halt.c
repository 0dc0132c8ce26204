// A guest that halts with interrupts off: it can never wake up.
// expect-status: 135
// expect-log: halted with interrupts disabled
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	__asm__ volatile("cli; hlt");
}

// A guest that idles for ever: the PIT at 100 Hz through a programmed 8259,
// and `sti; hlt` between ticks. It never ends by itself: the console test
// kills it while it is halted, and here umbra's deadline=S stops it.
// umbra-args: deadline=2
// expect-status: 135
// expect-log: umbra's deadline=2 s passed
#include "edge.h"

volatile u32 idle_ticks;
void irq0(void);
__asm__(".globl irq0\n"
	"irq0: push %eax\n"
	"	incl idle_ticks\n"
	"	mov $0x20, %al\n"
	"	out %al, $0x20\n"
	"	pop %eax\n"
	"	iret\n");

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(0x20, irq0);
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01); // master at 0x20
	outb(0xA0, 0x11); outb(0xA1, 0x28); outb(0xA1, 0x02); outb(0xA1, 0x01);
	outb(0x21, 0xFE); outb(0xA1, 0xFF);
	outb(0x43, 0x34); outb(0x40, 11932 & 0xFF); outb(0x40, 11932 >> 8); // 100 Hz
	puts_("edge: idling\n");
	for (;;)
		__asm__ volatile("sti; hlt");
}

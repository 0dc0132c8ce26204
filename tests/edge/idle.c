// A guest that idles for ever: the PIT at 100 Hz through a programmed 8259,
// and `sti; hlt` between ticks. It never ends by itself: the console test
// kills it while it is halted, and here umbra's deadline=S stops it.
// umbra-args: deadline=2
// expect-status: 135
// expect-log: umbra's deadline=2 s passed
#include "edge.h"

static unsigned long long idt[256] __attribute__((aligned(8)));
static unsigned long long gdt[3] __attribute__((aligned(8))) = {
	0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull, // null, flat code 0x08, flat data 0x10
};
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
	// Multiboot leaves no GDT to rely on: interrupts need one.
	struct { unsigned short limit; u32 base; } __attribute__((packed)) g = { sizeof(gdt) - 1, (u32)gdt };
	__asm__ volatile("lgdt %0; ljmp $0x08, $1f; 1: mov $0x10, %%ax; mov %%ax, %%ds; mov %%ax, %%es;"
			 "mov %%ax, %%ss; mov %%ax, %%fs; mov %%ax, %%gs" ::"m"(g) : "eax");
	unsigned short cs = 0x08;
	u32 a = (u32)irq0;
	idt[0x20] = (a & 0xFFFF) | ((unsigned long long)cs << 16) | (0x8Eull << 40) | ((unsigned long long)(a >> 16) << 48);
	struct { unsigned short limit; u32 base; } __attribute__((packed)) d = { sizeof(idt) - 1, (u32)idt };
	__asm__ volatile("lidt %0" ::"m"(d));
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01); // master at 0x20
	outb(0xA0, 0x11); outb(0xA1, 0x28); outb(0xA1, 0x02); outb(0xA1, 0x01);
	outb(0x21, 0xFE); outb(0xA1, 0xFF);
	outb(0x43, 0x34); outb(0x40, 11932 & 0xFF); outb(0x40, 11932 >> 8); // 100 Hz
	puts_("edge: idling\n");
	for (;;)
		__asm__ volatile("sti; hlt");
}

// Typed input on COM1: the runner types a line once the guest says READY
// (tests/run.sh, feed). The guest takes it as Linux's 8250 driver would:
// FIFO with trigger level 8, receive interrupts on IRQ 4, waiting in HLT
// with no timer armed, draining on "data available" and on the character
// timeout. It prints what it read and how often each interrupt kind came.
// guest-input: hello, umbra: typed input\n
#include "lib/lib.h"


static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }

#define COM 0x3F8
static volatile char buf[128];
static volatile u32 n, irqs, other;
static volatile bool line_done;

static void take(char c)
{
	if (c == '\n' || c == '\r')
		line_done = true;
	else if (n < sizeof(buf) - 1)
		buf[n++] = c;
}

static void com_irq(struct frame *f)
{
	if (f->vec != 0x24)
		other++;
	irqs++;
	com1_drain(take);
	outb(0x20, 0x20);
}

void test_main(void)
{
	trap_hook = com_irq;
	pic_init(0xEF);
	outb(COM + 2, 0x87); // FIFOs on and cleared, trigger level 8
	outb(COM + 4, 0x0B);
	outb(COM + 1, 0x01); // receive interrupts
	printf("READY\n");
	while (!line_done)
		__asm__ volatile("sti; hlt; cli");
	outb(COM + 1, 0x00);
	outb(0x21, 0xFF);
	buf[n] = 0;
	printf("read: '%s'\n", (const char *)buf);
	report(n == 25 && buf[0] == 'h' && buf[24] == 't', "a typed line arrives whole through receive interrupts",
	       "%u bytes", n);
	report(irqs > 0 && other == 0, "IRQ 4 only", "%u, %u others", irqs, other);
}

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

// pg_inputapic.c includes this file with VIA_IOAPIC 1: the same on the
// APIC platform (see there).
#ifndef VIA_IOAPIC
#define VIA_IOAPIC 0
#endif
#define VECTOR (VIA_IOAPIC ? 0x41 : 0x24)

static void com_irq(struct frame *f)
{
	if (f->vec != VECTOR)
		other++;
	irqs++;
	com1_drain(take);
	if (VIA_IOAPIC)
		*(volatile u32 *)0xFEE000B0u = 0; // the local APIC's EOI
	else
		outb(0x20, 0x20);
}

void test_main(void)
{
	trap_hook = com_irq;
	if (VIA_IOAPIC) {
		u32 *pt = new_pt(kpd, 0xFEC00000u, P | W);
		pt[0] = 0xFEC00000u | P | W | PCD;
		pt[(0xFEE00000u >> 12) & 0x3FF] = 0xFEE00000u | P | W | PCD;
		reload_cr3();
		pic_init(0xFF);
		*(volatile u32 *)0xFEC00000u = 0x18;   // IOREGSEL: pin 4, low half
		*(volatile u32 *)0xFEC00010u = VECTOR; // edge, unmasked, to APIC 0
	} else {
		pic_init(0xEF);
	}
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
	report(n > 20 && buf[0] == 'h' && buf[n - 1] == 't', "a typed line arrives whole through receive interrupts",
	       "%u bytes", n);
	report(irqs > 0 && other == 0, "IRQ 4's vector only", "%u, %u others", irqs, other);
}

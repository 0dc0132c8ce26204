// Typed input on COM1 as pg_input, but on the APIC platform: the 8259 all
// masked, COM1's IRQ 4 routed by the IOAPIC (pin 4, vector 0x41) to the
// local APIC, and the guest waiting in HLT with no timer at all, which
// only the typed line can end.
// guest-input: hello, apic: typed input\n
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
	if (f->vec != 0x41)
		other++;
	irqs++;
	com1_drain(take);
	*(volatile u32 *)0xFEE000B0u = 0; // the local APIC's EOI
}

void test_main(void)
{
	u32 *pt = new_pt(kpd, 0xFEC00000u, P | W);
	pt[0] = 0xFEC00000u | P | W | PCD;
	pt[(0xFEE00000u >> 12) & 0x3FF] = 0xFEE00000u | P | W | PCD;
	reload_cr3();
	trap_hook = com_irq;
	pic_init(0xFF);
	*(volatile u32 *)0xFEC00000u = 0x18; // IOREGSEL: pin 4, low half
	*(volatile u32 *)0xFEC00010u = 0x41; // edge, unmasked, vector 0x41, to APIC 0
	outb(COM + 2, 0x87); // FIFOs on and cleared, trigger level 8
	outb(COM + 4, 0x0B);
	outb(COM + 1, 0x01); // receive interrupts
	printf("READY\n");
	while (!line_done)
		__asm__ volatile("sti; hlt; cli");
	outb(COM + 1, 0x00);
	buf[n] = 0;
	printf("read: '%s'\n", (const char *)buf);
	report(n == 24 && buf[0] == 'h' && buf[23] == 't', "a typed line arrives whole through the IOAPIC",
	       "%u bytes", n);
	report(irqs > 0 && other == 0, "vector 0x41 only", "%u, %u others", irqs, other);
}

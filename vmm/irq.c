// Host interrupts: the 8259 PICs remapped to vectors 32-47 with only IRQ 0
// open, and PIT channel 0 ticking at TICK_HZ. The tick is umbra's clock for
// preempting VMs; the handler only counts. (The local APIC's one-shot
// wake-up is hosttimer.c.)
#include "asm.h"
#include "hosttimer.h"
#include "irq.h"

volatile u64 ticks;

void irq_dispatch(u64 vector);

void irq_init(void)
{
	// ICW1-4: edge-triggered, cascade, vectors 32 and 40, 8086 mode.
	outb(0x20, 0x11);
	outb(0xA0, 0x11);
	outb(0x21, 32);
	outb(0xA1, 40);
	outb(0x21, 0x04);
	outb(0xA1, 0x02);
	outb(0x21, 0x01);
	outb(0xA1, 0x01);
	outb(0x21, 0xFE); // IRQ 0 only
	outb(0xA1, 0xFF);
	u16 div = (u16)(1193182 / TICK_HZ);
	outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2 (rate generator)
	outb(0x40, (u8)div);
	outb(0x40, (u8)(div >> 8));
}

void irq_dispatch(u64 vector)
{
	if (vector == HOSTTIMER_VECTOR) {
		hosttimer_interrupt();
		return;
	}
	if (vector > 47)
		return; // the APIC's spurious vector (no EOI), or nothing umbra raises
	if (vector == 32)
		ticks++;
	// IRQ 7 and 15 can be spurious: those must not be acknowledged.
	if (vector == 39 || vector == 47)
		return;
	if (vector >= 40)
		outb(0xA0, 0x20);
	outb(0x20, 0x20);
}

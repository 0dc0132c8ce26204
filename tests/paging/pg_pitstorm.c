// A timer storm: PIT channel 0 at its fastest periodic rate (a reload of 2,
// about 600 kHz) with the handler's EOI each time. Ticks coalesce as on a PC
// (the PIT's output is a level, the 8259's IRR one bit), and the guest must
// still make progress between them: 200 waits with `sti; hlt`, then a fixed
// amount of work with interrupts on, must both finish. Each wait ends at the
// next 200 us tick, not at umbra's own 10 ms one: the VM lives well under a
// second (it lived 1.7 s when idle umbra slept until its tick).
// umbra-max-ms: 800
#include "lib/lib.h"


static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }

static volatile u32 ticks, bad_vector;

static void tick(struct frame *f)
{
	if (f->vec != 0x20)
		bad_vector++;
	ticks++;
	outb(0x20, 0x20); // EOI
}

void test_main(void)
{
	trap_hook = tick;
	pic_init(0xFE);
	outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2
	outb(0x40, 2);
	outb(0x40, 0);

	for (u32 i = 0; i < 200; i++)
		__asm__ volatile("sti; hlt; cli");
	report(ticks >= 200 && bad_vector == 0, "200 waits with sti; hlt under a tick storm", "%u ticks", ticks);

	u32 before = ticks;
	volatile u32 work = 0;
	__asm__ volatile("sti");
	for (u32 i = 0; i < 3000000; i++)
		work++;
	__asm__ volatile("cli");
	report(work == 3000000, "work with interrupts on finishes under a tick storm", "%u", work);
	report(ticks > before, "ticks arrived during the work", "%u", ticks - before);
	outb(0x21, 0xFF);
}

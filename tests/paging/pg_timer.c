// The guest platform's timer: the 8259 pair programmed as a kernel does
// (vectors 0x20 and 0x28), PIT channel 0 at 100 Hz, ticks taken with
// `sti; hlt`, EOIs, the in-service register, masking, and counter reads.
#include "lib/lib.h"


static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static volatile u32 ticks, bad_vector, isr_seen;

static void tick(struct frame *f)
{
	if (f->vec != 0x20) {
		bad_vector++;
		return;
	}
	outb(0x20, 0x0B); // OCW3: read the ISR
	isr_seen += (inb(0x20) & 1) != 0;
	outb(0x20, 0x0A);
	ticks++;
	outb(0x20, 0x20); // EOI
}

static u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

void test_main(void)
{
	trap_hook = tick;
	pic_init(0xFE);                       // only IRQ 0
	report(inb(0x21) == 0xFE && inb(0xA1) == 0xFF, "pic_masks_read_back", "%x %x", inb(0x21), inb(0xA1));
	u16 div = 11932; // 100 Hz
	outb(0x43, 0x34);
	outb(0x40, (u8)div);
	outb(0x40, (u8)(div >> 8));

	// Ten ticks, each waited for with sti; hlt. (One more may come in
	// between the handler's IRET and the CLI, if the VM lost the CPU for a
	// tick's time in the handler: umbra's other VMs, or the host's load.)
	while (ticks < 10)
		__asm__ volatile("sti; hlt; cli");
	report(ticks >= 10 && bad_vector == 0, "ten_ticks_by_hlt", "ticks %u bad vectors %u", ticks, bad_vector);
	report(isr_seen == ticks, "isr_set_in_handler", "%u of %u", isr_seen, ticks);

	// Masked: no tick for ~100 ms of busy waiting with interrupts on.
	outb(0x21, 0xFF);
	u32 before = ticks;
	u64 t0 = rdtsc();
	__asm__ volatile("sti");
	while (rdtsc() - t0 < 300000000ull)
		;
	__asm__ volatile("cli");
	report(ticks == before, "masked_irq0_no_ticks", "%u ticks while masked", ticks - before);
	outb(0x21, 0xFE);
	while (ticks < before + 5)
		__asm__ volatile("sti; hlt; cli");
	report(ticks >= before + 5, "unmasked_again", "ticks %u", ticks - before);

	// The counter counts down within the reload value.
	int in_range = 0;
	u16 prev = 0;
	int moved = 0;
	for (int i = 0; i < 20; i++) {
		outb(0x43, 0x00); // latch channel 0
		u16 c = inb(0x40);
		c |= (u16)(inb(0x40) << 8);
		in_range += c <= div;
		moved += i && c != prev;
		prev = c;
		for (volatile int d = 0; d < 20000; d++)
			;
	}
	report(in_range == 20 && moved > 0, "counter_reads", "%d in range, %d moved", in_range, moved);
	outb(0x21, 0xFF);
}

// PIT channel 2 and port 0x61, the way Linux calibrates the TSC with them:
// with the gate on (0x61 bit 0), OUT2 (0x61 bit 5) goes high when a mode 0
// count runs out, the counter reads back (latched or
// not) going down, and a count of 10 ms takes no less than 10 ms of TSC. Also what
// 0x61 keeps: the gate and speaker bits read back as written.
#include "lib/lib.h"

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }

static u16 read_ch2(bool latch)
{
	if (latch)
		outb(0x43, 0x80); // latch channel 2
	u16 c = inb(0x42);
	return c | (u16)(inb(0x42) << 8);
}

static void load_ch2(u16 count)
{
	outb(0x43, 0xB0); // channel 2, lobyte/hibyte, mode 0
	outb(0x42, (u8)count);
	outb(0x42, (u8)(count >> 8));
}

void test_main(void)
{
	// (Plain QEMU, the reference, ignores the gate in mode 0: its count runs
	// and OUT2 rises with the gate low, unlike the 8254's datasheet; so
	// nothing here depends on a low gate.)
	outb(0x61, (u8)(inb(0x61) & ~0x03));
	report((inb(0x61) & 0x03) == 0, "port 0x61 gate and speaker bits read back cleared", "%x", inb(0x61));

	// Gate on, speaker off: counts down, OUT2 goes high after 11932 ticks.
	outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01));
	report((inb(0x61) & 0x03) == 0x01, "port 0x61 reads back the gate on", "%x", inb(0x61));
	load_ch2(11932); // 10 ms
	u16 first = read_ch2(true);
	u64 start = rdtsc();
	u32 moved = 0;
	u16 prev = first;
	while (!(inb(0x61) & 0x20) && rdtsc() - start < 10000000000ull) {
		u16 c = read_ch2(false);
		moved += c < prev;
		prev = c;
	}
	u64 cycles = rdtsc() - start;
	report(inb(0x61) & 0x20, "OUT2 goes high when the count runs out", "%x", inb(0x61));
	report(first <= 11932 && moved > 2, "the count goes down while it runs", "first %u, %u moves", first, moved);
	// Not before 10 ms of TSC (a TSC of at least 250 MHz). No upper bound:
	// among other VMs this one may wait its turn long after OUT2 rose.
	report(cycles > 2500000ull, "OUT2 does not rise before 10 ms of TSC", "%u cycles", (u32)cycles);
	outb(0x61, (u8)(inb(0x61) & ~0x03));
}

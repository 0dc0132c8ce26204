// A periodic local APIC timer (1 ms) while the guest computes without a
// single exit for 100 ms: its ticks must arrive on time, which needs umbra
// to have the guest exit when a tick is due (vmm/hosttimer.c arms the
// host's timer for the VM's next deadline before each entry), not only at
// umbra's own 10 ms tick. Passes with at least 50 of the ~100 ticks (the
// host may take the CPU away for a while). Exit status: 0 if so.
// expect-status: 1
// expect-log: vm1 ended .*status 0: wrote 0 to the exit port
#include "edge.h"

static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }


void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(0x40, apic_tick);
	// The TSC's rate against PIT channel 2: 10 ms, mode 0, gate on.
	outb(0x61, (unsigned char)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xB0);
	outb(0x42, (unsigned char)11932);
	outb(0x42, (unsigned char)(11932 >> 8));
	u64 t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		;
	u64 per_10ms = rdtsc() - t0;

	apic_timer_start(1000000, 1); // 1 ms, periodic
	__asm__ volatile("sti");
	t0 = rdtsc();
	while (rdtsc() - t0 < 10 * per_10ms)
		;
	__asm__ volatile("cli");
	apic_wr(0x380, 0);
	u32 n = apic_ticks;
	puts_(n >= 50 ? "edge: busytick: ok\n" : "edge: busytick: too few ticks\n");
	outl(0xF4, n >= 50 ? 0 : 1);
}

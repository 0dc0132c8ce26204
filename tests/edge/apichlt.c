// HLT waiting for the local APIC's timer alone (the PIT never programmed):
// the timer wakes it, as on plain QEMU; umbra must not take it for a guest
// that can never wake. Exit status 0 once woken by the timer.
// expect-status: 1
// expect-log: vm1 ended .*status 0: wrote 0 to the exit port
#include "edge.h"



void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(0x40, apic_tick);
	apic_timer_start(1000000, 0); // 1 ms, one-shot
	__asm__ volatile("sti; hlt; cli");
	puts_(apic_ticks == 1 ? "edge: apichlt: woken by the timer\n" : "edge: apichlt: not woken by the timer\n");
	outl(0xF4, apic_ticks == 1 ? 0 : 1);
}

// STI; HLT with an interrupt already pending and nothing else armed: the
// local APIC's one-shot timer fired while interrupts were off, so its
// interrupt waits in IRR and no deadline is left. The HLT must take it and
// go on, as on plain QEMU; umbra must not stop the VM as one that can
// never wake. Exit status 0 once the interrupt was taken.
// expect-status: 1
// expect-log: vm1 ended .*status 0: wrote 0 to the exit port
#include "edge.h"


void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(0x40, apic_tick);
	apic_timer_start(1000, 0); // 1 us, one-shot
	while (apic_rd(0x390)) // (interrupts off: it stays pending)
		;
	for (int i = 0; i < 100 && !(apic_rd(0x200 + 0x10 * (0x40 / 32)) & (1u << (0x40 % 32))); i++)
		;
	__asm__ volatile("sti; hlt; cli");
	puts_(apic_ticks == 1 ? "edge: hltpending: taken\n" : "edge: hltpending: not taken\n");
	outl(0xF4, apic_ticks == 1 ? 0 : 1);
}

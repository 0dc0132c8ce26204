// A clone of a VM whose local APIC page is shown read-only (it read the ID
// often): each VM must read its own APIC through its own page afterwards.
// The parent sets TPR 0x20 before the clone; the clone sets 0x30 and must
// read 0x30, and its own timer must wake it; the parent, after the clone
// ran, must still read 0x20. On plain QEMU the port reads all-ones: no clone.
// test-name: clone/apic (each VM reads its own APIC registers after a clone of a VM with its APIC page shown; audits OK, no leak)
// qemu-mem: 256
// expect-plain-status: 1
// expect-plain: not under umbra
// expect: ^\[vm2\] clone: child: TPR 30 read 1000 times, its timer woke it
// expect: ^\[vm1\] clone: parent: TPR 20 read 1000 times after the clone ran
// expect-count: 2 status 0: wrote 0
// expect-count: 2 audit: OK
// expect: page shown read-only
// expect: no leak
#include "../edge/edge.h"

static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }


static u32 tpr_reads(u32 want)
{
	u32 good = 0;
	for (u32 i = 0; i < 1000; i++)
		good += apic_rd(0x80) == want;
	return good;
}

void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	edge_tables();
	edge_gate(0x40, apic_tick);
	u32 id = 0;
	for (u32 i = 0; i < 1000; i++)
		id |= apic_rd(0x20);
	apic_wr(0x80, 0x20);
	u32 r = clone_or_end();
	if (r == 0) {
		apic_wr(0x80, 0x30);
		u32 good = tpr_reads(0x30);
		apic_timer_start(1000000, 0); // 1 ms, one-shot
		__asm__ volatile("sti; hlt; cli");
		int ok = good == 1000 && apic_ticks == 1 && id == 0;
		puts_(ok ? "clone: child: TPR 30 read 1000 times, its timer woke it\n" : "clone: child: FAIL\n");
		outb(0xF4, ok ? 0 : 1);
	}
	u64 t0 = rdtsc();
	while (rdtsc() - t0 < 800000000ull) // ~0.3 s: the clone runs meanwhile
		;
	u32 good = tpr_reads(0x20);
	puts_(good == 1000 ? "clone: parent: TPR 20 read 1000 times after the clone ran\n" : "clone: parent: FAIL\n");
	outb(0xF4, good == 1000 ? 0 : 1);
}

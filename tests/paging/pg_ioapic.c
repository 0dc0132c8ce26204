// The IOAPIC's registers at 0xFEC00000 against plain QEMU's (its 82093 as
// SeaBIOS leaves it): IOREGSEL reading back, ID (4 bits at 24), version (0x20,
// 24 entries), arbitration, every redirection entry masked at reset, the
// writable and the read-only bits of an entry, an unknown register, the
// window repeating every 256 bytes, and a store of an immediate. Only
// aligned 32-bit MOVs, as kernels use; delivery is not checked (umbra's
// IOAPIC routes nothing until the local APIC exists).
#include "lib/lib.h"

static volatile u32 *sel, *win;

static u32 reg(u32 r) { *sel = r; return *win; }
static void set(u32 r, u32 v) { *sel = r; *win = v; }

void test_main(void)
{
	u32 *pt = new_pt(kpd, 0xFEC00000u, P | W);
	pt[0] = 0xFEC00000u | P | W | PCD;
	reload_cr3();
	sel = (volatile u32 *)0xFEC00000u;
	win = (volatile u32 *)0xFEC00010u;

	printf("ID %x, version %x, arbitration %x\n", reg(0), reg(1), reg(2));
	u32 masked = 0;
	for (u32 i = 0; i < 24; i++)
		masked += reg(0x10 + 2 * i) == 0x10000 && reg(0x11 + 2 * i) == 0;
	report(masked == 24, "every redirection entry masked at reset", "%u", masked);
	*sel = 0x12345678;
	printf("IOREGSEL reads back %x\n", *sel);
	set(0, 0xFFFFFFFF);
	printf("ID after writing all-ones: %x\n", reg(0));
	set(0, 0);
	set(1, 0);
	printf("version after a write: %x\n", reg(1));
	set(0x14, 0xFFFFFFFF);
	set(0x15, 0xFFFFFFFF);
	printf("entry 2 after all-ones: %x %x\n", reg(0x15), reg(0x14));
	set(0x14, 0x00010030);
	set(0x15, 0x01000000);
	printf("entry 2 programmed: %x %x\n", reg(0x15), reg(0x14));
	printf("register 0x40 (none): %x, 0xff: %x\n", reg(0x40), reg(0xFF));
	volatile u32 *alias = (volatile u32 *)0xFEC00100u;
	*sel = 0x01;
	printf("IOREGSEL at +0x100: %x, IOWIN at +0x110: %x, +0x20: %x\n", alias[0], alias[4], sel[8]);
	__asm__ volatile("movl $0x13, (%0)" ::"r"(sel) : "memory");
	printf("IOREGSEL after a store of an immediate: %x\n", *sel);
	set(0x14, 0x10000);
	set(0x15, 0);
}

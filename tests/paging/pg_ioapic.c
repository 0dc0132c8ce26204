// The IOAPIC's registers at 0xFEC00000 against plain QEMU's (its 82093 as
// SeaBIOS leaves it): IOREGSEL reading back, ID (4 bits at 24), version (0x20,
// 24 entries), arbitration, every redirection entry masked at reset, the
// writable and the read-only bits of an entry, an unknown register, the
// window repeating every 256 bytes, and a store of an immediate. Only
// aligned 32-bit MOVs, as kernels use. Then delivery to the local APIC:
// the PIT on pin 2 (edge) masked and unmasked, COM1's THRE interrupt on pin
// 4 level-triggered: remote IRR set while in service, the interrupt again
// after each EOI while the line stays high, none once the UART lowers it;
// and the EOI register clearing remote IRR.
#include "lib/lib.h"

#define LAPIC_EOI 0xFEE000B0u
static volatile u32 *sel, *win;
static volatile u32 hits[256], remote_irr_seen, clear_after = 3;

static u32 reg(u32 r) { *sel = r; return *win; }
static void set(u32 r, u32 v) { *sel = r; *win = v; }
static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64)hi << 32 | lo; }

static void on_irq(struct frame *f)
{
	hits[f->vec]++;
	if (f->vec == 0x41) { // COM1, level: the line stays high until IIR is read
		remote_irr_seen += (reg(0x18) >> 14) & 1;
		if (hits[0x41] >= clear_after)
			(void)inb(0x3FA); // IIR: reading it ends the THRE interrupt
	}
	*(volatile u32 *)LAPIC_EOI = 0;
}

static void wait_cycles(u64 n)
{
	u64 t = rdtsc();
	while (rdtsc() - t < n)
		__asm__ volatile("sti; nop; cli");
}

static void delivery(void)
{
	*pte_of(kpd, 0xFEE00000u) = 0xFEE00000u | P | W | PCD;
	invlpg(0xFEE00000u);
	pic_init(0xFF); // the 8259 masked: everything comes through the IOAPIC
	trap_hook = on_irq;
	outb(0x43, 0x34); outb(0x40, 0x9B); outb(0x40, 0x2E); // PIT: 100 Hz

	set(0x14, 0x10031); // pin 2 masked, vector 0x31
	wait_cycles(200000000);
	printf("PIT on pin 2 masked: %u interrupts\n", hits[0x31]);
	set(0x14, 0x31);
	u64 t = rdtsc();
	while (hits[0x31] < 3 && rdtsc() - t < 20000000000ull)
		__asm__ volatile("sti; nop; cli");
	set(0x14, 0x10031);
	report(hits[0x31] >= 3, "PIT interrupts arrive through pin 2 once unmasked", "%u", hits[0x31]);
	printf("pin 2 remote IRR (edge) %u\n", (reg(0x14) >> 14) & 1);
	outb(0x43, 0x30); // PIT channel 0 one-shot, never loaded: quiet

	// COM1 on pin 4, level-triggered, active high.
	set(0x18, 0x18041);
	outb(0x3F9, 0x02); // IER: THRE interrupt (the transmitter is empty: the line goes high)
	set(0x18, 0x08041); // unmasked
	wait_cycles(200000000);
	printf("COM1 level on pin 4: %u interrupts, remote IRR seen in the handler %u times, now %u\n", hits[0x41],
	       remote_irr_seen, (reg(0x18) >> 14) & 1);

	// Remote IRR held without an EOI, cleared by the IOAPIC's EOI register.
	trap_hook = NULL;
	set(0x18, 0x18041);
	hits[0x41] = 0;
	clear_after = 1000;
	outb(0x3F9, 0x00);
	outb(0x3F9, 0x02);
	trap_hook = on_irq;
	__asm__ volatile("cli");
	set(0x18, 0x08041);
	u32 irr_before = (reg(0x18) >> 14) & 1;
	set(0x18, 0x18041);
	u32 irr_masked = (reg(0x18) >> 14) & 1;
	*(volatile u32 *)0xFEC00040u = 0x41; // the IOAPIC's EOI register
	printf("COM1 pin 4 unmasked with interrupts off: remote IRR %u, masked %u, after the EOI register %u\n",
	       irr_before, irr_masked, (reg(0x18) >> 14) & 1);
	outb(0x3F9, 0x00);
	(void)inb(0x3FA);
	wait_cycles(1000000); // the local APIC's pending 0x41 is taken and ended
}

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
	delivery();
}

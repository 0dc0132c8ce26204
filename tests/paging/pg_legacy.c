// Legacy PC ports and memory a PC kernel reads before anything else, against
// plain QEMU: the BIOS data area's EBDA segment and base memory size, PCI
// configuration mechanism 1 (the address register reads back; a slot with
// no device reads all-ones), the CGA cursor registers (read back what was
// written), port 0x80 (a delay: writes go nowhere), and accesses wider than
// a byte-wide device's registers (split into bytes, low port first).
#include "lib/lib.h"

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void outl(u16 p, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline u32 inl(u16 p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u16 inw(u16 p) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void outw(u16 p, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }

static u16 peek16(u32 gpa)
{
	u16 v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(gpa) : "memory");
	return v;
}

void test_main(void)
{
	u16 ebda = peek16(0x40E), base_k = peek16(0x413);
	printf("BDA: EBDA segment %x, base memory %u KiB\n", ebda, base_k);
	report(ebda >= 0x8000 && ebda < 0xA000 && (u32)ebda << 4 >= (u32)base_k << 10,
	       "the EBDA lies at the top of base memory", "%x %u", ebda, base_k);

	outl(0xCF8, 0x80000000);
	u32 a1 = inl(0xCF8);
	outl(0xCF8, 0x8000F800); // bus 0, device 31, function 0: nothing there
	u32 a2 = inl(0xCF8), id = inl(0xCFC);
	outl(0xCF8, 0);
	printf("PCI: address register %x, %x; bus 0 device 31 reads %x\n", a1, a2, id);
	report(a1 == 0x80000000 && a2 == 0x8000F800 && id == 0xFFFFFFFF, "PCI mechanism 1 address register; empty slot all-ones",
	       "%x %x %x", a1, a2, id);

	outb(0x3D4, 0x0E);
	outb(0x3D5, 0x12);
	outb(0x3D4, 0x0F);
	outb(0x3D5, 0x34);
	outb(0x3D4, 0x0E);
	u8 hi = inb(0x3D5);
	outb(0x3D4, 0x0F);
	u8 lo = inb(0x3D5), idx = inb(0x3D4);
	printf("CGA: cursor %x%x, index %x\n", hi, lo, idx);
	report(hi == 0x12 && lo == 0x34, "CGA cursor registers read back", "%x %x", hi, lo);

	for (int i = 0; i < 16; i++)
		outb(0x80, (u8)i);

	outb(0x3FF, 0x5A);
	u16 w1 = inw(0x3FB);
	u32 l1 = inl(0x3F8);
	u16 w2 = inw(0x3FE);
	outw(0x3FE, 0x1234); // MSR ignores it, the scratch register takes 0x12
	outb(0x70, 0x0B); // CMOS register B: 24-hour BCD, still
	u16 w3 = inw(0x3FE), w5 = inw(0x70);
	printf("wide: inw 3fb %x, inl 3f8 %x, inw 3fe %x, after outw %x; inw 70 %x\n", w1, l1, w2, w3, w5);
	report(w3 == (0x1200 | (w2 & 0xFF)), "a word written to COM1's MSR and SCR lands byte by byte", "%x", w3);
	report(true, "port 0x80 takes writes", "%s", "");
}

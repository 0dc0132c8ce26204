// QEMU's fw_cfg interface as small kernels written for QEMU use it (ports
// 0x510 selector, 0x511 data; docs/specs/fw_cfg.rst), against plain QEMU:
// the signature (and zeros past its end), the traditional interface bit of
// the ID, the RAM size, the CPU counts, the selector resetting the offset,
// a key that does not exist, data writes that change nothing, and accesses
// of the wrong size. umbra offers no DMA interface and no files, which plain
// QEMU has, so those are not compared.
#include "lib/lib.h"

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(u16 p, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u16 inw(u16 p) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u32 inl(u16 p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static void item(u16 key, u8 *buf, u32 n)
{
	outw(0x510, key);
	for (u32 i = 0; i < n; i++)
		buf[i] = inb(0x511);
}

static void show(const char *what, const u8 *b, u32 n)
{
	printf("%s:", what);
	for (u32 i = 0; i < n; i++)
		printf(" %x", b[i]);
	printf("\n");
}

void test_main(void)
{
	u8 b[16];
	item(0x0000, b, 8);
	show("signature and past its end", b, 8);
	report(b[0] == 'Q' && b[1] == 'E' && b[2] == 'M' && b[3] == 'U' && !b[4] && !b[7], "signature QEMU", "%s", "");
	item(0x0001, b, 4);
	printf("ID bit 0 (traditional interface): %u\n", b[0] & 1);
	item(0x0003, b, 8);
	show("RAM size", b, 8);
	u64 ram = 0;
	for (int i = 7; i >= 0; i--)
		ram = ram << 8 | b[i];
	report(ram == 64ull << 20, "RAM size is the guest's 64 MiB", "%x", (u32)(ram >> 20));
	item(0x0005, b, 2);
	show("CPUs", b, 2);
	item(0x000f, b, 2);
	show("max CPUs", b, 2);
	item(0x1234, b, 4);
	show("a key that does not exist", b, 4);

	// The selector resets the offset; data writes change nothing.
	item(0x0000, b, 2);
	outb(0x511, 0x55);
	item(0x0000, b, 4);
	show("signature after a data write", b, 4);

	// Wrong sizes: a word read of the data port, a byte write of the
	// selector, a dword read of the selector.
	outw(0x510, 0x0000);
	u16 w = inw(0x510);
	u8 c = inb(0x510);
	outb(0x510, 0x05);
	u8 after_byte_select = inb(0x511);
	outw(0x510, 0x0000);
	u32 l = inl(0x510);
	printf("inw 0x510 %x, inb 0x510 %x, byte select then data %x, inl 0x510 %x\n", w, c, after_byte_select, l);
}

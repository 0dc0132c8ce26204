// The MP tables, found as a kernel finds them (the floating pointer on a
// 16-byte boundary in 0xF0000-0xFFFFF), against plain QEMU's (SeaBIOS's):
// both checksums, the spec revision, the local APIC's address, the one CPU
// (enabled, the BSP, APIC ID 0), the IOAPIC (ID, version, address, enabled),
// and where the ISA interrupts a PC raises go (the PIT's IRQ 0 to pin 2,
// keyboard 1, COM1 4, RTC 8, mouse 12), with the 8259 on LINT0 (ExtINT)
// and NMI on LINT1. Not the OEM strings, nor PCI's entries (plain QEMU has
// a PCI bus; umbra has none), nor the IOAPIC's version: SeaBIOS writes
// 0x11 where its IOAPIC's register says 0x20, umbra the register's 0x20.
#include "lib/lib.h"

static u8 sum(const u8 *p, u32 n)
{
	u8 s = 0;
	while (n--)
		s += *p++;
	return s;
}

static const u8 *find_floating(void)
{
	for (u32 a = 0xF0000; a < 0x100000; a += 16) {
		const u8 *p = (const u8 *)a;
		if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_' && sum(p, 16 * p[8]) == 0)
			return p;
	}
	return NULL;
}

void test_main(void)
{
	const u8 *fp = find_floating();
	if (!report(fp != NULL, "an MP floating pointer with a good checksum in 0xF0000-0xFFFFF", "none"))
		return;
	const u8 *cfg = (const u8 *)*(const u32 *)(fp + 4);
	printf("floating pointer: revision %u, features %x %x\n", fp[9], fp[11], fp[12]);
	u16 len = *(const u16 *)(cfg + 4), count = *(const u16 *)(cfg + 34);
	report(cfg[0] == 'P' && cfg[1] == 'C' && cfg[2] == 'M' && cfg[3] == 'P' && sum(cfg, len) == 0,
	       "the configuration table: signature and checksum", "%x", sum(cfg, len));
	printf("configuration: revision %u, local APIC at %x\n", cfg[6], *(const u32 *)(cfg + 36));

	const u8 *e = cfg + 44;
	u8 isa_bus = 0xFF;
	u32 cpus = 0, ioapics = 0;
	for (u16 i = 0; i < count && e < cfg + len; i++) {
		if (e[0] == 1 && e[2] == 'I' && e[3] == 'S' && e[4] == 'A')
			isa_bus = e[1];
		e += e[0] == 0 ? 20 : 8;
	}
	e = cfg + 44;
	for (u16 i = 0; i < count && e < cfg + len; i++) {
		switch (e[0]) {
		case 0:
			printf("CPU: APIC ID %u, version %x, flags %x\n", e[1], e[2], e[3]);
			cpus++;
			break;
		case 2:
			printf("IOAPIC: ID %u, flags %x, at %x\n", e[1], e[3], *(const u32 *)(e + 4));
			ioapics++;
			break;
		case 3:
			if (e[4] == isa_bus && (e[5] <= 1 || e[5] == 4 || e[5] == 8 || e[5] == 12))
				printf("ISA IRQ %u: type %u, flags %x, to IOAPIC %u pin %u\n", e[5], e[1],
				       *(const u16 *)(e + 2), e[6], e[7]);
			break;
		case 4:
			printf("local interrupt: type %u, flags %x, to LINT%u\n", e[1], *(const u16 *)(e + 2), e[7]);
			break;
		}
		e += e[0] == 0 ? 20 : 8;
	}
	printf("%u CPU, %u IOAPIC, ISA bus found %u\n", cpus, ioapics, isa_bus != 0xFF);
}

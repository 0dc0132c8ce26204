// The Intel MultiProcessor Specification 1.4 tables a PC kernel looks for to
// find its CPUs, IOAPIC and interrupt wiring: a floating pointer in the BIOS
// area at MPTABLE_GPA (kernels scan 0xF0000-0xFFFFF for "_MP_") and the
// configuration table after it, describing what umbra's devices really do:
// one CPU (APIC ID 0, the BSP), the ISA bus, the IOAPIC (ID 0, 0xFEC00000),
// ISA IRQ 0 on pin 2 and the other IRQs (not 2, the cascade) on their own
// pins, edge-triggered and active-high as ISA's default; the 8259 on LINT0
// (ExtINT) and NMI on LINT1. No ACPI tables: Linux and the small kernels
// tested find everything here (see README, "The guest platform").
#include "cpuid.h"
#include "lib.h"
#include "loader_int.h"
#include "vioapic.h"
#include "vlapic.h"
#include "vm.h"

#define MPTABLE_GPA 0xF0000u
#define MP_SPEC_REV 4
#define ENTRY_CPU 0
#define ENTRY_BUS 1
#define ENTRY_IOAPIC 2
#define ENTRY_IOINT 3
#define ENTRY_LINT 4
#define INT_FIXED 0
#define INT_NMI 1
#define INT_EXTINT 3

struct mp_floating {
	char sig[4];            // "_MP_"
	u32 config_gpa;
	u8 length;              // in 16-byte units
	u8 spec_rev;
	u8 checksum;
	u8 features[5];         // 0: a configuration table follows; bit 7 of [1]: no IMCR (virtual wire)
} __attribute__((packed));
_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");

struct mp_config {
	char sig[4];            // "PCMP"
	u16 length;
	u8 spec_rev;
	u8 checksum;
	char oem[8];
	char product[12];
	u32 oem_table;
	u16 oem_table_size, entries;
	u32 lapic_gpa;
	u16 ext_length;
	u8 ext_checksum, reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_config) == 44, "MP configuration table header");

struct mp_cpu {
	u8 type, lapic_id, lapic_version, flags; // flags: 1 enabled, 2 bootstrap processor
	u32 signature, features;
	u32 reserved[2];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_cpu) == 20, "MP processor entry");

struct mp_entry8 {              // bus, IOAPIC, and both kinds of interrupt entries
	u8 type;
	u8 b[7];
} __attribute__((packed));

#define MP_MAX_BYTES (sizeof(struct mp_floating) + sizeof(struct mp_config) + sizeof(struct mp_cpu) + 24 * 8)

static u8 checksum(const u8 *p, u32 n)
{
	u8 sum = 0;
	for (u32 i = 0; i < n; i++)
		sum += p[i];
	return (u8)-sum;
}

static struct mp_entry8 intsrc(u8 type, u8 kind, u8 src_irq, u8 dst_id, u8 dst_pin)
{
	// flags 0: polarity and trigger as the bus says (ISA: active high, edge)
	return (struct mp_entry8){ type, { kind, 0, 0, 0 /* bus 0 */, src_irq, dst_id, dst_pin } };
}

int mptable_write(struct vm *vm)
{
	u8 buf[MP_MAX_BYTES];
	memset(buf, 0, sizeof(buf));
	struct mp_floating *fp = (void *)buf;
	struct mp_config *cfg = (void *)(buf + sizeof(*fp));
	u8 *p = (u8 *)(cfg + 1);
	u16 entries = 0;

	struct cpuid_regs id;
	vm_cpuid(vm, 1, 0, &id);
	struct mp_cpu cpu = { ENTRY_CPU, 0, 0x14, 3, id.eax, id.edx, { 0, 0 } };
	memcpy(p, &cpu, sizeof(cpu)), p += sizeof(cpu), entries++;
	struct mp_entry8 e = { ENTRY_BUS, { 0, 'I', 'S', 'A', ' ', ' ', ' ' } };
	memcpy(p, &e, 8), p += 8, entries++;
	e = (struct mp_entry8){ ENTRY_IOAPIC, { 0, 0x20, 1, 0, 0, 0xC0, 0xFE } }; // ID 0, version, enabled, address
	memcpy(p, &e, 8), p += 8, entries++;
	for (u8 irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue; // the cascade: nothing arrives on it
		e = intsrc(ENTRY_IOINT, INT_FIXED, irq, 0, irq == 0 ? 2 : irq);
		memcpy(p, &e, 8), p += 8, entries++;
	}
	e = intsrc(ENTRY_LINT, INT_EXTINT, 0, 0xFF, 0);
	memcpy(p, &e, 8), p += 8, entries++;
	e = intsrc(ENTRY_LINT, INT_NMI, 0, 0xFF, 1);
	memcpy(p, &e, 8), p += 8, entries++;

	memcpy(cfg->sig, "PCMP", 4);
	cfg->length = (u16)(p - (u8 *)cfg);
	cfg->spec_rev = MP_SPEC_REV;
	memcpy(cfg->oem, "UMBRA   ", 8);
	memcpy(cfg->product, "UMBRA VM    ", 12);
	cfg->entries = entries;
	cfg->lapic_gpa = LAPIC_GPA;
	cfg->checksum = checksum((u8 *)cfg, cfg->length);

	memcpy(fp->sig, "_MP_", 4);
	fp->config_gpa = MPTABLE_GPA + sizeof(*fp);
	fp->length = 1;
	fp->spec_rev = MP_SPEC_REV;
	fp->checksum = checksum(buf, sizeof(*fp));
	return loader_copy(vm, MPTABLE_GPA, buf, (u32)(p - buf));
}

// The guest's IOAPIC at 0xFEC00000 (82093AA as QEMU models it, version
// 0x20, 24 pins): its registers through IOREGSEL/IOWIN and the EOI register.
// Registers only for now: it routes nothing until the local APIC exists
// (issue 14), and no table or CPUID bit tells a guest it is there.
#ifndef UMBRA_VIOAPIC_H
#define UMBRA_VIOAPIC_H

#include "types.h"

#define IOAPIC_GPA 0xFEC00000u
#define IOAPIC_PINS 24

struct vioapic {
	u8 ioregsel;
	u8 id;
	u64 redir[IOAPIC_PINS];
};

struct vm;
void vioapic_reset(struct vioapic *io);
u32 vioapic_read(struct vm *vm, u32 offset);
void vioapic_write(struct vm *vm, u32 offset, u32 val);

#endif

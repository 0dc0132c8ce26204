// The guest's IOAPIC at 0xFEC00000 (82093AA as QEMU models it, version
// 0x20, 24 pins): its registers through IOREGSEL/IOWIN, the EOI register,
// and delivery to the local APIC: edge and level triggering, masks, remote
// IRR cleared by the local APIC's EOI broadcast or the EOI register.
#ifndef UMBRA_VIOAPIC_H
#define UMBRA_VIOAPIC_H

#include "types.h"

#define IOAPIC_GPA 0xFEC00000u
#define IOAPIC_PINS 24

struct vioapic {
	u8 ioregsel;
	u8 id;
	u32 irr;               // pins asserted: a level pin while its line is high, an edge until delivered
	u64 redir[IOAPIC_PINS];
};

struct vm;
void vioapic_reset(struct vioapic *io);
u32 vioapic_read(struct vm *vm, u32 offset);
void vioapic_write(struct vm *vm, u32 offset, u32 val);
// An input pin's line is at level; rising: it just went up, which is what
// an edge-triggered pin acts on.
void vioapic_set_line(struct vm *vm, u32 pin, bool level, bool rising);
// The local APIC ended a level-triggered interrupt with this vector.
void vioapic_eoi(struct vm *vm, u8 vector);
bool vioapic_pin_masked(const struct vioapic *io, u32 pin);
// A line for the console's "vm N": the pins in use.
void vioapic_show(const struct vm *vm);

#endif

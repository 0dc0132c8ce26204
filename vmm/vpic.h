// The guest's interrupt controllers: a master/slave 8259 pair at 0x20/0xA0,
// as far as a kernel that programs them for its interrupts can tell; and
// the devices' state that moves with a VM (the PIT, vpit.h).
#ifndef UMBRA_VPIC_H
#define UMBRA_VPIC_H

#include "types.h"
#include "vpit.h"

struct pic8259 {
	u8 irr, isr, imr;
	u8 base;          // ICW2: vector of IRQ 0 of this chip
	u8 init_step;     // 0: initialised; 2..4: the ICW expected next
	bool icw4;        // ICW1 asked for an ICW4
	bool read_isr;    // OCW3: reads of the command port give the ISR
	bool auto_eoi;
};

struct vdev_irq {
	struct pic8259 pic[2];
	u16 isa_lines;    // the ISA IRQ lines now high (intr.c)
	struct vpit pit;
};

struct vm;
bool vpic_port(u16 port);
u32 vpic_in(struct vm *vm, u16 port);
void vpic_out(struct vm *vm, u16 port, u8 val);
// The vector to deliver now, or -1; ack marks it in service.
int vpic_pending(struct vm *vm);
void vpic_ack(struct vm *vm);

#endif

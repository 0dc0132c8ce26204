// The guest's interrupt controllers and timer: a master/slave 8259 pair at
// 0x20/0xA0 and PIT channel 0 at 0x40/0x43, as far as a kernel that programs
// them for a periodic tick can tell.
#ifndef UMBRA_VPIC_H
#define UMBRA_VPIC_H

#include "types.h"

struct pic8259 {
	u8 irr, isr, imr;
	u8 base;          // ICW2: vector of IRQ 0 of this chip
	u8 init_step;     // 0: initialised; 2..4: the ICW expected next
	bool icw4;        // ICW1 asked for an ICW4
	bool read_isr;    // OCW3: reads of the command port give the ISR
	bool auto_eoi;
};

struct pit8254 {
	u16 reload;       // 0 means 65536
	u8 mode, access, rw_state;
	u16 latch;
	bool latched, latch_hi_next, armed;
	bool clamp_said;  // the raised interrupt period was logged for this count
	u8 lo_byte;
	u64 start_tsc;    // when the counter was loaded
	u64 fired;        // periods already raised as IRQ 0
};

struct vdev_irq {
	struct pic8259 pic[2];
	struct pit8254 pit;
};

struct vm;
bool vpic_port(u16 port);
u32 vpic_in(struct vm *vm, u16 port);
void vpic_out(struct vm *vm, u16 port, u8 val);
// Raise IRQ 0 for every PIT period elapsed since the last call.
void vpit_update(struct vm *vm);
// The vector to deliver now, or -1; ack marks it in service.
int vpic_pending(struct vm *vm);
void vpic_ack(struct vm *vm);

#endif

// The guest's 8254 PIT at 0x40-0x43, and port 0x61 (channel 2's gate and
// output, the speaker bit): see vpit.c.
#ifndef UMBRA_VPIT_H
#define UMBRA_VPIT_H

#include "types.h"

struct pit_channel {
	u16 reload;        // 0 means 65536
	u8 mode, access;   // mode 0-5; access 1 lobyte, 2 hibyte, 3 both
	u8 rw_state;       // access 3 writes: 1 after the low byte
	bool read_hi_next; // access 3 reads without a latch: the high byte next
	u16 latch;
	bool latched, latch_hi_next;
	bool armed;        // a count was loaded since the mode was written
	bool clamp_said;   // channel 0: the raised interrupt period was logged
	u8 lo_byte;
	u64 start_tsc;     // when the count was loaded (or a rising gate restarted it)
	u64 fired;         // channel 0: periods already raised as IRQ 0
};

struct vpit {
	struct pit_channel ch[3];
	u8 port61;         // bits 0-3 of port 0x61 as written (bit 0: channel 2's gate)
};

struct vm;
bool vpit_port(u16 port);
u32 vpit_in(struct vm *vm, u16 port);
void vpit_out(struct vm *vm, u16 port, u8 val);
// Raise IRQ 0 if a period of channel 0 passed since the last call.
void vpit_update(struct vm *vm);
// When channel 0 raises IRQ 0 next (TSC); ~0 for never (or masked).
u64 vpit_next_irq_tsc(struct vm *vm);
// Channel 0 has a count: a halted guest will be woken.
bool vpit_tick_armed(const struct vm *vm);

#endif

// The guest's 8254 PIT (see vpit.h): three channels counting in host TSC
// time, the way kernels program them. Channel 0 raises IRQ 0 on the guest's
// PIC when umbra next looks (at any exit; the host tick guarantees one every
// 10 ms); channel 2 is gated by port 0x61 bit 0 and shows its output in bit
// 5, which is how Linux and umbra itself calibrate the TSC.
#include "lib.h"
#include "log.h"
#include "umbra.h"
#include "vpit.h"
#include "intr.h"
#include "vm.h"

#define PIT_HZ 1193182u
// The shortest period at which a periodic PIT raises IRQ 0 (the counter
// itself still counts at the programmed rate). Every interrupt costs a guest
// a few exits under umbra, tens of microseconds under emulation: a faster
// tick would find the next interrupt pending at every interrupt window, and
// the guest would run nothing but its handler. KVM clamps periodic timers
// the same way (min_timer_period_us, 200 by default).
#define PIT_MIN_IRQ_PERIOD_US 200u

bool vpit_port(u16 port)
{
	return (port >= 0x40 && port <= 0x43) || port == 0x61;
}

static u64 reload_of(const struct pit_channel *c)
{
	return c->reload ? c->reload : 65536;
}

static u64 tsc_per_period(const struct pit_channel *c)
{
	return reload_of(c) * cfg.tsc_khz * 1000 / PIT_HZ;
}

// PIT ticks counted since the count was loaded (or last restarted). Plain
// QEMU, the reference, counts whatever the gate says in mode 0 and 4; the
// gate matters to modes 2 and 3, whose count a rising edge restarts.
static u64 ticks_now(const struct pit_channel *c)
{
	if (!c->armed || !cfg.tsc_khz)
		return 0;
	return (__builtin_ia32_rdtsc() - c->start_tsc) * PIT_HZ / (cfg.tsc_khz * 1000);
}

static u16 count_now(const struct pit_channel *c)
{
	u64 n = reload_of(c), t = ticks_now(c);
	if (!c->armed)
		return (u16)n;
	switch (c->mode) {
	case 2: return (u16)(n - t % n);
	case 3: return (u16)((n - (2 * t) % n) & ~1u);
	default: return (u16)(n - t); // 0, 1, 4, 5: down once, then on from 0xFFFF
	}
}

static bool out_now(const struct pit_channel *c)
{
	if (!c->armed)
		return c->mode != 0; // after a mode write: low in mode 0, high otherwise
	u64 n = reload_of(c), t = ticks_now(c);
	switch (c->mode) {
	case 0: return t >= n;
	case 2: return t % n != n - 1;
	case 3: return (t % n) < (n + 1) / 2;
	case 4: return t != n;
	default: return true;
	}
}

// How often IRQ 0 is raised: the period, but never faster than the minimum
// for the periodic modes (2 and 3); a one-shot (mode 0) fires once anyway.
static u64 irq_period_tsc(struct vm *vm, struct pit_channel *c)
{
	u64 period = tsc_per_period(c);
	u64 min = cfg.tsc_khz * PIT_MIN_IRQ_PERIOD_US / 1000;
	if (c->mode == 0 || period >= min)
		return period;
	if (!c->clamp_said) {
		vm_say(vm, SAID_TIMER, "PIT period of %lu ns raised to %u us for its interrupts (the counter keeps its rate)",
		       reload_of(c) * 1000000000u / PIT_HZ, PIT_MIN_IRQ_PERIOD_US);
		c->clamp_said = true;
	}
	return min;
}

static void control(struct vpit *p, u8 v)
{
	u8 sel = v >> 6;
	if (sel == 3) { // read-back: latch the counts of the channels named
		for (int i = 0; i < 3; i++) {
			struct pit_channel *c = &p->ch[i];
			if (!(v & 0x20) && (v & (2u << i)) && !c->latched) {
				c->latch = count_now(c);
				c->latched = true;
				c->latch_hi_next = false;
			}
		}
		return;
	}
	struct pit_channel *c = &p->ch[sel];
	if (((v >> 4) & 3) == 0) { // counter latch
		if (!c->latched) {
			c->latch = count_now(c);
			c->latched = true;
			c->latch_hi_next = false;
		}
		return;
	}
	c->access = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4; // 6 and 7 are 2 and 3
	c->rw_state = 0;
	c->read_hi_next = false;
	c->armed = false;
}

static void data_write(struct pit_channel *c, u8 v)
{
	// lobyte, hibyte, or lobyte then hibyte
	if (c->access == 1 || (c->access == 3 && c->rw_state == 0)) {
		c->lo_byte = v;
		if (c->access == 3) {
			c->rw_state = 1;
			return;
		}
		c->reload = v;
	} else if (c->access == 2) {
		c->reload = (u16)(v << 8);
	} else {
		c->reload = (u16)(c->lo_byte | (v << 8));
		c->rw_state = 0;
	}
	c->start_tsc = __builtin_ia32_rdtsc();
	c->fired = 0;
	c->armed = true;
	c->clamp_said = false;
}

static u8 data_read(struct pit_channel *c)
{
	u16 v = c->latched ? c->latch : count_now(c);
	bool hi;
	if (c->access == 3) { // two reads: low byte, then high
		bool *next = c->latched ? &c->latch_hi_next : &c->read_hi_next;
		hi = *next;
		*next = !hi;
		if (c->latched && hi)
			c->latched = false;
	} else { // one read, of the byte the access names
		hi = c->access == 2;
		c->latched = false;
	}
	return (u8)(hi ? v >> 8 : v);
}

u32 vpit_in(struct vm *vm, u16 port)
{
	struct vpit *p = &vm->dev.irq.pit;
	if (port == 0x61)
		return (p->port61 & 0x0F) | (out_now(&p->ch[2]) ? 0x20 : 0);
	if (port == 0x43)
		return 0xFF; // the control word cannot be read
	return data_read(&p->ch[port - 0x40]);
}

void vpit_out(struct vm *vm, u16 port, u8 val)
{
	struct vpit *p = &vm->dev.irq.pit;
	if (port == 0x61) {
		struct pit_channel *c = &p->ch[2];
		bool rising = (val & 1) && !(p->port61 & 1);
		p->port61 = val & 0x0F;
		if (rising && c->armed && (c->mode == 2 || c->mode == 3))
			c->start_tsc = __builtin_ia32_rdtsc(); // a rising gate reloads the count
	} else if (port == 0x43) {
		control(p, val);
	} else {
		data_write(&p->ch[port - 0x40], val);
	}
}

void vpit_update(struct vm *vm)
{
	struct pit_channel *c = &vm->dev.irq.pit.ch[0];
	if (!c->armed)
		return;
	u64 period = irq_period_tsc(vm, c);
	if (!period)
		return;
	u64 n = (__builtin_ia32_rdtsc() - c->start_tsc) / period;
	if (n > c->fired) {
		// Periods that passed while the guest could not take them merge
		// into one, as on a real 8259 (IRR holds one bit).
		intr_isa_pulse(vm, ISA_IRQ_PIT);
		c->fired = (c->mode == 0 || c->mode == 4) ? (u64)-1 : n; // one-shots fire once
	}
}

u64 vpit_next_irq_tsc(struct vm *vm)
{
	struct pit_channel *c = &vm->dev.irq.pit.ch[0];
	if (!c->armed || c->fired == (u64)-1 || intr_isa_masked(vm, ISA_IRQ_PIT))
		return ~0ull;
	u64 period = irq_period_tsc(vm, c);
	return period ? c->start_tsc + (c->fired + 1) * period : ~0ull;
}

bool vpit_tick_armed(const struct vm *vm)
{
	return vm->dev.irq.pit.ch[0].armed;
}

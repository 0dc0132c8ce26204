// Emulated 8259 PICs and PIT channel 0 for guests (see vpic.h). The PIT
// counts in host TSC time; its IRQ 0 is raised when umbra next looks (at any
// exit, and the host tick guarantees one every 10 ms).
#include "lib.h"
#include "log.h"
#include "umbra.h"
#include "vpic.h"

#define PIT_HZ 1193182u
// The shortest period at which a periodic PIT raises IRQ 0 (the counter
// itself still counts at the programmed rate). Every interrupt costs a guest
// a few exits under umbra, tens of microseconds under emulation: a faster
// tick would find the next interrupt pending at every interrupt window, and
// the guest would run nothing but its handler. KVM clamps periodic timers
// the same way (min_timer_period_us, 200 by default).
#define PIT_MIN_IRQ_PERIOD_US 200u

bool vpic_port(u16 port)
{
	return port == 0x20 || port == 0x21 || port == 0xA0 || port == 0xA1 ||
	       port == 0x40 || port == 0x43;
}

static void pic_write(struct pic8259 *p, bool data, u8 v)
{
	if (!data && (v & 0x10)) { // ICW1
		*p = (struct pic8259){ .init_step = 2, .icw4 = v & 1, .base = p->base };
		return;
	}
	if (data) {
		switch (p->init_step) {
		case 2: p->base = v & 0xF8; p->init_step = 3; return;
		case 3: p->init_step = p->icw4 ? 4 : 0; return;
		case 4: p->auto_eoi = v & 2; p->init_step = 0; return;
		}
		p->imr = v; // OCW1
		return;
	}
	if (v & 0x08) { // OCW3
		if (v & 0x02)
			p->read_isr = v & 0x01;
		return;
	}
	if ((v & 0xE0) == 0x20) { // non-specific EOI: the highest priority in service
		for (int i = 0; i < 8; i++)
			if (p->isr & (1u << i)) {
				p->isr &= (u8)~(1u << i);
				break;
			}
	} else if ((v & 0xE0) == 0x60) { // specific EOI
		p->isr &= (u8)~(1u << (v & 7));
	}
}

static u64 pit_period_ticks(const struct pit8254 *t)
{
	u64 n = t->reload ? t->reload : 65536;
	return n * cfg.tsc_khz * 1000 / PIT_HZ;
}

// How often IRQ 0 is raised: the period, but never faster than the minimum
// for the periodic modes (2 and 3); a one-shot (mode 0) fires once anyway.
static u64 pit_irq_period_ticks(struct vm *vm, struct pit8254 *t)
{
	u64 period = pit_period_ticks(t);
	u64 min = cfg.tsc_khz * PIT_MIN_IRQ_PERIOD_US / 1000;
	if (t->mode == 0 || period >= min)
		return period;
	if (!t->clamp_said) {
		vm_say(vm, SAID_TIMER, "PIT period of %lu ns raised to %u us for its interrupts (the counter keeps its rate)",
		       (u64)(t->reload ? t->reload : 65536) * 1000000000u / PIT_HZ, PIT_MIN_IRQ_PERIOD_US);
		t->clamp_said = true;
	}
	return min;
}

static u16 pit_count_now(const struct pit8254 *t)
{
	u64 n = t->reload ? t->reload : 65536;
	u64 period = pit_period_ticks(t);
	if (!t->armed || !period)
		return (u16)n;
	u64 in = (__builtin_ia32_rdtsc() - t->start_tsc) % period;
	return (u16)(n - in * n / period);
}

static void pit_write(struct vm *vm, u16 port, u8 v)
{
	struct pit8254 *t = &vm->irq.pit;
	if (port == 0x43) {
		if ((v >> 6) != 0)
			return; // channels 1, 2 and read-back: not offered
		if (((v >> 4) & 3) == 0) { // latch
			t->latch = pit_count_now(t);
			t->latched = true;
			t->latch_hi_next = false;
			return;
		}
		t->access = (v >> 4) & 3;
		t->mode = (v >> 1) & 7;
		t->rw_state = 0;
		t->armed = false;
		return;
	}
	// Data port: lobyte, hibyte, or lobyte then hibyte.
	if (t->access == 1 || (t->access == 3 && t->rw_state == 0)) {
		t->lo_byte = v;
		if (t->access == 3) {
			t->rw_state = 1;
			return;
		}
		t->reload = v;
	} else if (t->access == 2) {
		t->reload = (u16)(v << 8);
	} else {
		t->reload = (u16)(t->lo_byte | (v << 8));
		t->rw_state = 0;
	}
	t->start_tsc = __builtin_ia32_rdtsc();
	t->fired = 0;
	t->armed = true;
	t->clamp_said = false;
}

static u8 pit_read(struct vm *vm)
{
	struct pit8254 *t = &vm->irq.pit;
	u16 c = t->latched ? t->latch : pit_count_now(t);
	if (t->latch_hi_next) {
		t->latch_hi_next = false;
		t->latched = false;
		return (u8)(c >> 8);
	}
	t->latch_hi_next = true;
	return (u8)c;
}

u32 vpic_in(struct vm *vm, u16 port)
{
	struct pic8259 *p = &vm->irq.pic[port >= 0xA0];
	switch (port) {
	case 0x20: case 0xA0: return p->read_isr ? p->isr : p->irr;
	case 0x21: case 0xA1: return p->imr;
	case 0x40: return pit_read(vm);
	default: return 0xFF;
	}
}

void vpic_out(struct vm *vm, u16 port, u8 val)
{
	if (port == 0x40 || port == 0x43)
		pit_write(vm, port, val);
	else
		pic_write(&vm->irq.pic[port >= 0xA0], port & 1, val);
}

void vpit_update(struct vm *vm)
{
	struct pit8254 *t = &vm->irq.pit;
	if (!t->armed)
		return;
	u64 period = pit_irq_period_ticks(vm, t);
	if (!period)
		return;
	u64 n = (__builtin_ia32_rdtsc() - t->start_tsc) / period;
	if (n > t->fired) {
		// Periods that passed while the guest could not take them merge
		// into one, as on a real 8259 (IRR holds one bit).
		vm->irq.pic[0].irr |= 1;
		t->fired = t->mode == 0 ? (u64)-1 : n; // mode 0 fires once
	}
}

// Highest-priority pending, unmasked request above what is in service.
static int pic_best(const struct pic8259 *p)
{
	u8 req = p->irr & (u8)~p->imr;
	for (int i = 0; i < 8; i++) {
		if (p->isr & (1u << i))
			return -1; // in service blocks itself and lower priorities
		if (req & (1u << i))
			return i;
	}
	return -1;
}

int vpic_pending(struct vm *vm)
{
	struct pic8259 *m = &vm->irq.pic[0], *s = &vm->irq.pic[1];
	if (pic_best(s) >= 0)
		m->irr |= 1u << 2; // the cascade line
	else
		m->irr &= (u8)~(1u << 2);
	int irq = pic_best(m);
	if (irq < 0 || m->init_step)
		return -1;
	if (irq == 2)
		return s->init_step ? -1 : s->base + pic_best(s);
	return m->base + irq;
}

void vpic_ack(struct vm *vm)
{
	struct pic8259 *m = &vm->irq.pic[0], *s = &vm->irq.pic[1];
	int irq = pic_best(m);
	if (irq < 0)
		return;
	if (irq == 2) {
		int si = pic_best(s);
		s->irr &= (u8)~(1u << si);
		if (!s->auto_eoi)
			s->isr |= (u8)(1u << si);
	}
	m->irr &= (u8)~(1u << irq);
	if (!m->auto_eoi)
		m->isr |= (u8)(1u << irq);
}

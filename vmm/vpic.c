// Emulated 8259 PICs for guests (see vpic.h); the PIT is vpit.c.
#include "lib.h"
#include "log.h"
#include "umbra.h"
#include "vpic.h"

bool vpic_port(u16 port)
{
	return port == 0x20 || port == 0x21 || port == 0xA0 || port == 0xA1;
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

u32 vpic_in(struct vm *vm, u16 port)
{
	struct pic8259 *p = &vm->dev.irq.pic[port >= 0xA0];
	switch (port) {
	case 0x20: case 0xA0: return p->read_isr ? p->isr : p->irr;
	case 0x21: case 0xA1: return p->imr;
	default: return 0xFF;
	}
}

void vpic_out(struct vm *vm, u16 port, u8 val)
{
	pic_write(&vm->dev.irq.pic[port >= 0xA0], port & 1, val);
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
	struct pic8259 *m = &vm->dev.irq.pic[0], *s = &vm->dev.irq.pic[1];
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
	struct pic8259 *m = &vm->dev.irq.pic[0], *s = &vm->dev.irq.pic[1];
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

// Interrupt routing between devices, the 8259s, the IOAPIC, the local APIC
// and the CPU (see intr.h).
#include "intr.h"
#include "vm.h"

static u32 ioapic_pin(u32 irq)
{
	return irq == ISA_IRQ_PIT ? 2 : irq;
}

void intr_isa_set(struct vm *vm, u32 irq, bool level)
{
	struct vdev_irq *d = &vm->dev.irq;
	u16 bit = (u16)(1u << irq);
	bool rising = level && !(d->isa_lines & bit);
	if (rising)
		d->pic[irq >= 8].irr |= (u8)(1u << (irq & 7)); // edge-triggered 8259 inputs
	d->isa_lines = level ? d->isa_lines | bit : d->isa_lines & (u16)~bit;
	vioapic_set_line(vm, ioapic_pin(irq), level, rising);
}

void intr_isa_pulse(struct vm *vm, u32 irq)
{
	intr_isa_set(vm, irq, true);
	intr_isa_set(vm, irq, false);
}

bool intr_isa_masked(const struct vm *vm, u32 irq)
{
	const struct vdev_irq *d = &vm->dev.irq;
	bool pic_masked = (d->pic[irq >= 8].imr & (1u << (irq & 7))) || (irq >= 8 && (d->pic[0].imr & 4)) ||
			  !vlapic_accepts_pic(&vm->dev.lapic);
	return pic_masked && vioapic_pin_masked(&vm->dev.ioapic, ioapic_pin(irq));
}

// QEMU's order (cpu_get_pic_interrupt): the 8259 when LINT0 passes it,
// ignoring the APIC's priorities (ExtINT); else the APIC's best vector.
static int pending(struct vm *vm, bool *from_lapic)
{
	struct vlapic *a = &vm->dev.lapic;
	int vec = vlapic_accepts_pic(a) ? vpic_pending(vm) : -1;
	*from_lapic = vec < 0;
	return vec >= 0 ? vec : vlapic_pending(a);
}

bool intr_waiting(struct vm *vm)
{
	bool from_lapic;
	return vm->dev.lapic.nmi_pending || pending(vm, &from_lapic) >= 0;
}

void intr_deliver(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct vlapic *a = &vm->dev.lapic;
	v->want_irq_window = false;
	if (a->nmi_pending && !v->inject.valid) {
		a->nmi_pending = false;
		v->inject = (struct event){ true, false, 2, EVENT_NMI, 0 };
		v->halted = false;
		return;
	}
	bool from_lapic;
	int vec = pending(vm, &from_lapic);
	if (vec < 0)
		return;
	if (!v->inject.valid && (v->rflags & EFLAGS_IF) && !v->int_shadow) {
		v->inject = (struct event){ true, false, (u8)vec, EVENT_EXTINT, 0 };
		v->irq_from_lapic = from_lapic;
		if (from_lapic)
			vlapic_ack(a, (u8)vec);
		else
			vpic_ack(vm);
		v->halted = false;
		v->irqs_injected++;
	} else {
		v->want_irq_window = true;
	}
}

void intr_undeliver(struct vcpu *v, u8 vector)
{
	struct vm *vm = v->vm;
	v->irq_check = true;
	if (v->irq_from_lapic) {
		vlapic_unack(&vm->dev.lapic, vector);
		return;
	}
	struct pic8259 *pic = &vm->dev.irq.pic[vector >= vm->dev.irq.pic[1].base && vector < vm->dev.irq.pic[1].base + 8];
	u8 bit = (u8)(1u << (vector & 7));
	pic->isr &= (u8)~bit;
	pic->irr |= bit;
}

// Interrupt routing: the ISA lines of the platform's devices go to both the
// 8259 pair and the IOAPIC (IRQ 0 to pin 2, as the MP table's override says;
// the others to the pin of their number); the CPU takes an interrupt from
// the 8259 (directly, or through LINT0 in virtual-wire mode) or the local
// APIC, by QEMU's rule: the 8259's output first when LINT0 lets it through.
#ifndef UMBRA_INTR_H
#define UMBRA_INTR_H

#include "types.h"

#define ISA_IRQ_PIT 0
#define ISA_IRQ_COM1 4
#define ISA_IRQ_RTC 8

struct vm;
struct vcpu;
// A device's ISA line goes to level; the 8259 latches it on the way up.
void intr_isa_set(struct vm *vm, u32 irq, bool level);
// A pulse on the line (a timer's tick).
void intr_isa_pulse(struct vm *vm, u32 irq);
// Is the line masked on every path to the CPU? (Then an idle guest need not wake for it.)
bool intr_isa_masked(const struct vm *vm, u32 irq);
// Is an NMI or interrupt waiting for the CPU to take it (it wakes a HLT)?
bool intr_waiting(struct vm *vm);
// Before an entry: the NMI or interrupt to deliver now, taken from its
// controller; if the guest cannot take it, ask for the interrupt window.
void intr_deliver(struct vcpu *v);
// An interrupt injected as e but not delivered (a fault during its
// delivery): back to pending in the controller it came from.
void intr_undeliver(struct vcpu *v, u8 vector);

#endif

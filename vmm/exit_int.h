// Between the exit dispatch (exit.c) and the instruction emulation
// (emulate.c). vmm/ only.
#ifndef UMBRA_EXIT_INT_H
#define UMBRA_EXIT_INT_H

#include "vm.h"

// Deliver an exception raised while handling exit e, folding in any event
// whose delivery the exit interrupted (#DF, triple fault: SDM table 6-5).
void raise_exception(struct vcpu *v, const struct vm_exit *e, u8 vec, bool has_ec, u32 ec);
void inject_gp(struct vcpu *v, const struct vm_exit *e);
void inject_ud(struct vcpu *v, const struct vm_exit *e);

// Write the low size (1, 2, 4) bytes of a guest register, as x86 does.
void gpr_write(struct vcpu *v, u8 reg, u32 val, u8 size);

// emulate.c: complete the instruction behind each kind of exit.
void handle_cr(struct vcpu *v, const struct vm_exit *e);
void handle_invlpg(struct vcpu *v, const struct vm_exit *e);
void handle_insn(struct vcpu *v, const struct vm_exit *e);
void handle_msr(struct vcpu *v, const struct vm_exit *e);
void handle_string_io(struct vcpu *v, const struct vm_exit *e);

#endif

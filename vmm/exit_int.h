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
u32 gpr_read(struct vcpu *v, u8 reg);

struct insn;
// Fetch and decode the instruction at CS:EIP; on failure end the VM with
// the reason and the bytes.
bool fetch_insn(struct vcpu *v, struct insn *in);
// The linear address of its memory operand.
gva_t mem_operand(struct vcpu *v, const struct insn *in);

// mmio.c: a device lives at gpa (the fault found no RAM there).
bool mmio_at(gpa_t gpa);
// Complete the access the instruction at CS:EIP makes to the device at gpa.
void mmio_access(struct vcpu *v, const struct vm_exit *e, gpa_t gpa);

// emulate.c: complete the instruction behind each kind of exit.
void handle_cr(struct vcpu *v, const struct vm_exit *e);
void handle_invlpg(struct vcpu *v, const struct vm_exit *e);
void handle_insn(struct vcpu *v, const struct vm_exit *e);
void handle_msr(struct vcpu *v, const struct vm_exit *e);
void handle_string_io(struct vcpu *v, const struct vm_exit *e);

#endif

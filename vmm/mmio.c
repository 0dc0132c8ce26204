// Device memory (MMIO): a guest access to a guest-physical page where a
// device lives, not RAM, has no shadow entry, so it faults every time. umbra
// decodes the instruction at CS:EIP (the MOV forms, and the ALU forms with a
// memory operand: OR, AND, ADD, ..., CMP, TEST; vmm/insn.c), checks it is
// the access that faulted, and does it against the device's registers: an
// ALU form reads the register, computes with the CPU's flags, and writes
// the result back unless it only compares. An
// instruction it cannot decode, or an access of a size or alignment the
// device has no register for, stops the VM with the reason (and the bytes).
#include "exit_int.h"
#include "hv.h"
#include "insn.h"
#include "log.h"
#include "umbra.h"
#include "vioapic.h"
#include "vlapic.h"

struct mmio_dev {
	gpa_t base;
	u32 size;
	const char *name;
	u32 (*read)(struct vm *vm, u32 offset);
	void (*write)(struct vm *vm, u32 offset, u32 val);
};

// Devices with 32-bit registers only (as the 82093 and the local APIC).
static const struct mmio_dev devices[] = {
	{ IOAPIC_GPA, PAGE_SIZE, "IOAPIC", vioapic_read, vioapic_write },
	{ LAPIC_GPA, PAGE_SIZE, "local APIC", vlapic_read, vlapic_write },
};

static const struct mmio_dev *device_at(gpa_t gpa)
{
	for (u32 i = 0; i < ARRAY_SIZE(devices); i++)
		if (gpa >= devices[i].base && gpa - devices[i].base < devices[i].size)
			return &devices[i];
	return NULL;
}

bool mmio_at(gpa_t gpa)
{
	return device_at(gpa) != NULL;
}

void mmio_access(struct vcpu *v, const struct vm_exit *e, gpa_t gpa)
{
	const struct mmio_dev *d = device_at(gpa);
	struct insn in;
	if (!fetch_insn(v, &in))
		return;
	if ((in.kind != INSN_MOV_LOAD && in.kind != INSN_MOV_STORE && in.kind != INSN_ALU) ||
	    mem_operand(v, &in) != e->pf_addr) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "%s access at gpa 0x%x by an instruction umbra does not emulate for MMIO (eip 0x%x)",
		       d->name, gpa, (u32)v->rip);
		return;
	}
	if (in.size != 4 || (gpa & 3)) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "%u-byte %s access at gpa 0x%x: its registers are 32-bit and aligned (eip 0x%x)",
		       in.size, d->name, gpa, (u32)v->rip);
		return;
	}
	u32 offset = (u32)(gpa - d->base);
	v->irq_check = true;
	if (in.kind == INSN_MOV_LOAD) {
		gpr_write(v, in.reg, d->read(v->vm, offset), 4);
	} else if (in.kind == INSN_MOV_STORE) {
		d->write(v->vm, offset, in.has_imm ? in.imm : gpr_read(v, in.reg));
	} else {
		u32 mem = d->read(v->vm, offset), other = in.has_imm ? in.imm : gpr_read(v, in.reg), result;
		u32 dst = in.to_reg ? other : mem, src = in.to_reg ? mem : other;
		v->rflags = (v->rflags & ~0xFFFFFFFFull) | insn_alu(in.alu, 4, dst, src, (u32)v->rflags, &result);
		if (in.alu != ALU_CMP && in.alu != ALU_TEST) {
			if (in.to_reg)
				gpr_write(v, in.reg, result, 4);
			else
				d->write(v->vm, offset, result);
		}
	}
	v->rip += in.len;
}

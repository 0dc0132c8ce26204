// The instructions umbra completes for the guest, decoded from its bytes
// (vmm/insn.c): MOV to and from control registers, CLTS, LMSW, SMSW,
// INVLPG, RDMSR/WRMSR, CPUID, INVD, RDPMC. A fault they raise goes to the
// guest as the CPU would raise it; what umbra cannot do stops the VM.
#include "asm.h"
#include "cpuid.h"
#include "devices.h"
#include "exit.h"
#include "exit_int.h"
#include "frame.h"
#include "hv.h"
#include "insn.h"
#include "lib.h"
#include "pvclock.h"
#include "log.h"
#include "umbra.h"

#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)

static void host_cpuid(u32 leaf, u32 sub, struct cpuid_regs *r)
{
	cpuid_count(leaf, sub, &r->eax, &r->ebx, &r->ecx, &r->edx);
}

// The CR4 and EFER bits the CPU umbra shows its guests has (the rest #GP),
// derived once from the CPUID policy: it does not change while umbra runs.
static struct {
	bool known;
	u32 cr4, efer;
	bool amd;         // the vendor is AuthenticAMD: its MSRs are AMD's
} guest_bits;

static void guest_bits_init(void)
{
	if (guest_bits.known)
		return;
	guest_bits.cr4 = cpuid_guest_cr4_valid(host_cpuid);
	guest_bits.efer = cpuid_guest_efer_valid(host_cpuid);
	struct cpuid_regs r;
	cpuid_guest(0, 0, host_cpuid, &r);
	guest_bits.amd = r.ebx == 0x68747541u && r.edx == 0x69746e65u && r.ecx == 0x444d4163u;
	guest_bits.known = true;
}

static u32 cr4_valid(void)
{
	guest_bits_init();
	return guest_bits.cr4;
}

static u32 efer_valid(void)
{
	guest_bits_init();
	return guest_bits.efer;
}

enum gva_access { GVA_READ, GVA_WRITE, GVA_PROBE_WRITE };

// Read or write guest-virtual memory as the guest at its CPL would:
// permission checks, A/D updates, #PF on failure (GVA_PROBE_WRITE: the
// checks of a write, without writing). Returns false if a fault was raised
// or the VM ended.
static bool access_gva(struct vcpu *v, const struct vm_exit *e, gva_t gva, void *buf, u32 len,
		       enum gva_access how)
{
	struct walk_ctx ctx = vcpu_walk_ctx(v);
	u32 access = (how == GVA_READ ? 0 : WALK_WRITE) | (v->cpl == 3 ? WALK_USER : 0);
	u32 done = 0;
	while (done < len) {
		struct walk w;
		gva_t at = gva + done;
		switch (walk_gva(&ctx, at, access, &w)) {
		case WALK_OK:
			break;
		case WALK_FAULT:
			v->cr2 = at;
			raise_exception(v, e, VEC_PF, true, w.error_code);
			return false;
		case WALK_BAD_GPA:
			vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "page table at gpa 0x%x lies outside guest memory", w.bad_gpa);
			return false;
		case WALK_NOMEM: {
			char why[160];
			vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "%s, walking the page tables of gva 0x%x",
			       w.err == -ERR_IO ? "the swap disk failed to read back a page table"
						: vm_oom_reason(why, sizeof(why)), at);
			return false;
		}
		}
		u32 chunk = MIN(len - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
		int r = 0;
		if (how == GVA_WRITE)
			r = shadow_gpa_write(&v->vm->mmu, w.gpa, (const u8 *)buf + done, chunk);
		else if (how == GVA_READ)
			r = gpa_read(&v->vm->gpmap, w.gpa, (u8 *)buf + done, chunk);
		if (r < 0) {
			char why[160];
			vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "access to gpa 0x%x: %s", w.gpa,
			       r == -ERR_IO ? "the swap disk failed to read it back"
			       : r == -ERR_NOMEM ? vm_oom_reason(why, sizeof(why)) : "outside guest memory");
			return false;
		}
		done += chunk;
	}
	return true;
}

static bool write_gva(struct vcpu *v, const struct vm_exit *e, gva_t gva, const void *buf, u32 len)
{
	return access_gva(v, e, gva, (void *)buf, len, GVA_WRITE);
}

bool fetch_insn(struct vcpu *v, struct insn *in)
{
	u8 code[15];
	gva_t pc = hv->seg_base(v, SEG_CS) + (u32)v->rip;
	u32 n = vcpu_peek(v, pc, code, sizeof(code));
	bool code32 = hv->code32(v);
	if (insn_decode(code, n, code32, in))
		return true;
	vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
	       "cannot emulate the instruction at eip 0x%x in %u-bit code (%u bytes: %02x %02x %02x %02x)",
	       (u32)v->rip, code32 ? 32 : 16, n, n > 0 ? code[0] : 0, n > 1 ? code[1] : 0,
	       n > 2 ? code[2] : 0, n > 3 ? code[3] : 0);
	return false;
}

u32 gpr_read(struct vcpu *v, u8 reg)
{
	return (u32)v->gpr[reg];
}

void gpr_write(struct vcpu *v, u8 reg, u32 val, u8 size)
{
	if (size == 4)
		v->gpr[reg] = val;
	else if (size == 2)
		v->gpr[reg] = (v->gpr[reg] & ~0xFFFFull) | (val & 0xFFFF);
	else
		v->gpr[reg] = (v->gpr[reg] & ~0xFFull) | (val & 0xFF);
}

gva_t mem_operand(struct vcpu *v, const struct insn *in)
{
	u32 gpr[8];
	for (int i = 0; i < 8; i++)
		gpr[i] = (u32)v->gpr[i];
	return hv->seg_base(v, in->seg) + insn_mem_offset(in, gpr);
}

// A CR3 load or a paging-mode change: sync what the guest wrote, then use
// the root for the new state (the shadows themselves persist).
static void switch_root(struct vcpu *v)
{
	struct walk_ctx ctx = vcpu_walk_ctx(v);
	if (shadow_load_cr3(&v->shadow, &ctx) < 0)
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "out of host memory for shadow tables (%lu frames free)", frame_free_count());
}

static void set_cr0(struct vcpu *v, const struct vm_exit *e, u32 val)
{
	val = (val & CR0_VALID) | CR0_ET;
	if (((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD))) {
		inject_gp(v, e);
		return;
	}
	if (!(val & CR0_PE)) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "real mode (CR0.PE=0) is not supported");
		return;
	}
	if ((val & CR0_PG) && (v->cr4 & CR4_PAE)) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "PAE paging is not supported");
		return;
	}
	bool mode = (val ^ v->cr0) & (CR0_PG | CR0_WP | CR0_PE);
	v->cr0 = val;
	v->paging_changed = true;
	if (mode)
		switch_root(v);
}

static void set_cr4(struct vcpu *v, const struct vm_exit *e, u32 val)
{
	if (val & ~cr4_valid()) {
		inject_gp(v, e);
		return;
	}
	if ((val & CR4_PAE) && (v->cr0 & CR0_PG)) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "PAE paging is not supported");
		return;
	}
	bool mode = (val ^ v->cr4) & (CR4_PSE | CR4_PGE | CR4_PAE);
	v->cr4 = val;
	v->paging_changed = true;
	if (mode)
		switch_root(v);
}

static void set_cr3(struct vcpu *v, u32 val)
{
	v->cr3 = val;
	switch_root(v);
}

void handle_cr(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	if (!fetch_insn(v, &in))
		return;
	switch (in.kind) {
	case INSN_MOV_FROM_CR: {
		u32 val = 0;
		switch (in.cr) {
		case 0: val = v->cr0; break;
		case 2: val = v->cr2; break;
		case 3: val = v->cr3; break;
		case 4: val = v->cr4; break;
		case 8: val = 0; break;
		default: inject_ud(v, e); return;
		}
		gpr_write(v, in.reg, val, 4);
		break;
	}
	case INSN_MOV_TO_CR: {
		u32 val = gpr_read(v, in.reg);
		switch (in.cr) {
		case 0: set_cr0(v, e, val); break;
		case 2: v->cr2 = val; break;
		case 3: set_cr3(v, val); break;
		case 4: set_cr4(v, e, val); break;
		case 8: break;
		default: inject_ud(v, e); return;
		}
		break;
	}
	case INSN_CLTS:
		set_cr0(v, e, v->cr0 & ~CR0_TS);
		break;
	case INSN_LMSW: {
		u16 src;
		if (in.has_mem) {
			u8 b[2];
			if (vcpu_peek(v, mem_operand(v, &in), b, 2) != 2) {
				vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "LMSW operand unreadable");
				return;
			}
			src = b[0] | (b[1] << 8);
		} else {
			src = (u16)gpr_read(v, in.rm);
		}
		// LMSW loads MP, EM, TS and may set PE, never clear it.
		set_cr0(v, e, (v->cr0 & ~0xEu) | (src & 0xF) | (v->cr0 & CR0_PE));
		break;
	}
	case INSN_SMSW:
		if (in.has_mem) {
			u16 w = (u16)v->cr0;
			if (!write_gva(v, e, mem_operand(v, &in), &w, 2))
				return;
		} else {
			gpr_write(v, in.rm, v->cr0, in.opsize);
		}
		break;
	default:
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "control-register exit on an instruction umbra cannot emulate at eip 0x%x",
		       (u32)v->rip);
		return;
	}
	if (v->vm->state == VM_RUNNING && !v->inject.valid)
		v->rip += in.len;
}

void handle_invlpg(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	(void)e;
	if (!fetch_insn(v, &in))
		return;
	if (in.kind != INSN_INVLPG) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "INVLPG exit on another instruction");
		return;
	}
	shadow_invlpg(&v->shadow, mem_operand(v, &in));
	v->rip += in.len;
}

// Instructions intercepted only to keep the host's state from the guest.
void vm_cpuid(struct vm *vm, u32 leaf, u32 sub, struct cpuid_regs *r)
{
	cpuid_guest(leaf, sub, host_cpuid, r);
	if ((leaf == 1 || leaf == 0x80000001u) && vlapic_hw_enabled(&vm->dev.lapic))
		r->edx |= CPUID_APIC; // as QEMU's, the bit goes when the APIC is disabled
}

void handle_insn(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	if (!fetch_insn(v, &in))
		return;
	switch (in.kind) {
	case INSN_CPUID: {
		struct cpuid_regs r;
		vm_cpuid(v->vm, (u32)v->gpr[GPR_RAX], (u32)v->gpr[GPR_RCX], &r);
		v->gpr[GPR_RAX] = r.eax, v->gpr[GPR_RBX] = r.ebx, v->gpr[GPR_RCX] = r.ecx, v->gpr[GPR_RDX] = r.edx;
		v->rip += in.len;
		break;
	}
	case INSN_INVD:
		// Write-back caches stay coherent: INVD's only guest-visible
		// effect would be to lose writes, which no guest may count on.
		// A no-op, as in KVM (and QEMU).
		v->rip += in.len;
		break;
	case INSN_RDPMC:
		// No performance counters are offered: #UD, as plain QEMU gives.
		inject_ud(v, e);
		break;
	default:
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "instruction exit on another instruction at eip 0x%x",
		       (u32)v->rip);
	}
}

// The MSRs umbra answers itself, vendor-neutral; the rest go to the backend
// (SYSENTER_*, PAT's storage); the paravirtual clock's are pvclock.c's. An MSR neither knows is absent: #GP, as the
// SDM says, and so is one whose feature CPUID hides (MTRR, MCA, APIC).
#define MSR_UCODE_REV 0x8B
#define MSR_K7_HWCR 0xC0010015u            // AMD: hardware configuration
#define MSR_K8_INT_PENDING_MSG 0xC0010055u // AMD: C1E state (Linux reads it unchecked)
#define HWCR_WRITABLE ((1u << 3) | (1u << 6) | (1u << 8) | (1u << 18)) // TLB flush filter, SMM lock,
	// ignore-NE, MC-status write enable: bits kernels set that change nothing here (KVM's set)

static bool amd_guest(void)
{
	guest_bits_init();
	return guest_bits.amd;
}

static bool msr_get(struct vcpu *v, u32 msr, u64 *val)
{
	switch (msr) {
	case MSR_EFER: *val = v->efer; return true;
	case MSR_APIC_BASE: *val = vlapic_base_read(v->vm); return true;
	case MSR_TSC: *val = __builtin_ia32_rdtsc(); return true;
	case MSR_UCODE_REV: *val = 0; return true; // no microcode update loaded
	case MSR_K7_HWCR: *val = 0; return amd_guest();
	case MSR_K8_INT_PENDING_MSG: *val = 0; return amd_guest(); // no C1E
	default:
		if (pvclock_msr(msr)) {
			*val = pvclock_msr_read(v, msr);
			return true;
		}
		return hv->msr_read(v, msr, val);
	}
}

// A PAT entry is a memory type: 0, 1, 4, 5, 6 or 7, in the low 3 bits of its byte.
static bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 type = (u8)(pat >> (8 * i));
		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

static bool msr_set(struct vcpu *v, u32 msr, u64 val)
{
	switch (msr) {
	case MSR_EFER:
		// What CPUID does not show cannot be turned on (SYSCALL, NX,
		// long mode: none of them is shown).
		if (val & ~(u64)efer_valid())
			return false;
		v->efer = (u32)val;
		return true;
	case MSR_APIC_BASE:
		return vlapic_base_write(v->vm, val);
	case MSR_TSC:
		vm_say(v->vm, SAID_TSC_WRITE, "wrmsr TSC ignored");
		return true;
	case MSR_UCODE_REV:
		return true; // writing 0 before CPUID is how software asks; there is nothing to load
	case MSR_K7_HWCR:
		return amd_guest() && !(val & ~(u64)HWCR_WRITABLE);
	case MSR_K8_INT_PENDING_MSG:
		return amd_guest() && val == 0;
	case MSR_PAT:
		return pat_valid(val) && hv->msr_write(v, msr, val);
	default:
		if (pvclock_msr(msr))
			return pvclock_msr_write(v, msr, val);
		return hv->msr_write(v, msr, val);
	}
}

void handle_msr(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	if (!fetch_insn(v, &in))
		return;
	u32 msr = (u32)v->gpr[GPR_RCX];
	u64 val = 0;
	if (!e->msr_write) {
		if (!msr_get(v, msr, &val)) {
			vm_say(v->vm, SAID_MSR, "rdmsr 0x%x: not offered, #GP", msr);
			inject_gp(v, e);
			return;
		}
		v->gpr[GPR_RAX] = (u32)val;
		v->gpr[GPR_RDX] = (u32)(val >> 32);
	} else {
		val = ((u64)(u32)v->gpr[GPR_RDX] << 32) | (u32)v->gpr[GPR_RAX];
		if (!msr_set(v, msr, val)) {
			if (msr != MSR_EFER && msr != MSR_PAT)
				vm_say(v->vm, SAID_MSR, "wrmsr 0x%x: not offered, #GP", msr);
			inject_gp(v, e);
			return;
		}
	}
	v->rip += in.len;
}

// INS and OUTS, with or without REP: element by element through the device
// models, guest memory with the guest's rights. As QEMU does, INS checks
// that it may write the element before it reads the port, so a fault loses
// no input. After a fault the registers say how far it got and RIP stays on
// the instruction; so it does after STRING_IO_BATCH elements, for the rest
// to run after any pending interrupt, as a CPU's REP allows.
#define STRING_IO_BATCH 4096
void handle_string_io(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	if (!fetch_insn(v, &in))
		return;
	if (in.kind != INSN_INS && in.kind != INSN_OUTS) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "string I/O exit on another instruction at eip 0x%x",
		       (u32)v->rip);
		return;
	}
	u32 mask = in.mem.addr16 ? 0xFFFF : 0xFFFFFFFF;
	u8 index = in.kind == INSN_INS ? GPR_RDI : GPR_RSI;
	u32 step = (v->rflags & EFLAGS_DF) ? (u32)-in.size : in.size;
	u32 count = in.rep ? (u32)v->gpr[GPR_RCX] & mask : 1;
	u32 done = 0;
	for (; done < count && done < STRING_IO_BATCH; done++) {
		u32 at = (u32)v->gpr[index] & mask;
		gva_t gva = hv->seg_base(v, in.seg) + at;
		u32 val = 0;
		if (in.kind == INSN_OUTS) {
			if (!access_gva(v, e, gva, &val, in.size, GVA_READ))
				break;
			dev_out(v->vm, e->port, in.size, val);
		} else {
			if (!access_gva(v, e, gva, &val, in.size, GVA_PROBE_WRITE))
				break;
			val = dev_in(v->vm, e->port, in.size);
			if (!access_gva(v, e, gva, &val, in.size, GVA_WRITE))
				break;
		}
		v->gpr[index] = (v->gpr[index] & ~(u64)mask) | ((at + step) & mask);
		if (in.rep)
			v->gpr[GPR_RCX] = (v->gpr[GPR_RCX] & ~(u64)mask) | ((count - done - 1) & mask);
		if (v->vm->state != VM_RUNNING)
			return; // the device ended the VM (the exit port)
	}
	if (done == count && v->vm->state == VM_RUNNING)
		v->rip += in.len;
}

// Why a VM entry failed. The CPU says only "invalid guest state" (exit
// reason 33) or a VM-instruction error number; umbra goes through the SDM's
// checks (vol. 3C, 27.3.1, for a 32-bit guest without unrestricted guest)
// itself and names the first field that breaks one, so that a refused entry
// is a message, not a hunt.
#include "asm.h"
#include "lib.h"
#include "printf.h"
#include "vmcs.h"
#include "vmx_int.h"

static char why[240], detail[200]; // the message, and the rule broken in it

static const char *const seg_names[] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };

#define FAIL_IN(buf, ...)                                               \
	do {                                                            \
		ksnprintf(buf, sizeof(buf), __VA_ARGS__);               \
		return buf;                                             \
	} while (0)
#define FAIL(...) FAIL_IN(detail, __VA_ARGS__)
#define SAY(...) FAIL_IN(why, __VA_ARGS__)

static bool limit_ok(u32 limit, u32 ar)
{
	bool g = ar & (1u << 15);
	if ((limit & 0xFFF) != 0xFFF && g)
		return false;
	if ((limit >> 20) && !g)
		return false;
	return true;
}

static const char *check_segments(u64 rflags)
{
	u32 sel[8], ar[8], limit[8];
	u64 base[8];
	for (int i = 0; i < 8; i++) {
		sel[i] = (u32)vmread(VMCS_GUEST_ES_SEL + 2 * i);
		ar[i] = (u32)vmread(VMCS_GUEST_ES_AR + 2 * i);
		limit[i] = (u32)vmread(VMCS_GUEST_ES_LIMIT + 2 * i);
		base[i] = vmread(VMCS_GUEST_ES_BASE + 2 * i);
	}
	if (rflags & EFLAGS_VM) {
		for (int i = 0; i < 6; i++) {
			if (base[i] != (u64)sel[i] << 4 || limit[i] != 0xFFFF || ar[i] != 0xF3)
				FAIL("guest %s (sel 0x%x base 0x%lx limit 0x%x ar 0x%x) is not a virtual-8086 segment",
				     seg_names[i], sel[i], base[i], limit[i], ar[i]);
		}
	} else {
		u32 cs_type = ar[1] & 15, cs_dpl = (ar[1] >> 5) & 3, ss_dpl = (ar[2] >> 5) & 3;
		if (cs_type != 9 && cs_type != 11 && cs_type != 13 && cs_type != 15)
			FAIL("guest CS access rights 0x%x: type %u is not an accessed code segment", ar[1], cs_type);
		if (cs_type <= 11 && cs_dpl != ss_dpl)
			FAIL("guest CS DPL %u differs from SS DPL %u (non-conforming code)", cs_dpl, ss_dpl);
		if ((sel[2] & 3) != (sel[1] & 3))
			FAIL("guest SS selector RPL %u differs from CS's %u", sel[2] & 3, sel[1] & 3);
		for (int i = 0; i < 6; i++) {
			if (ar[i] & VMX_AR_UNUSABLE) {
				if (i == 1)
					FAIL("guest CS is unusable");
				continue;
			}
			u32 type = ar[i] & 15;
			if (!(ar[i] & (1u << 4)) || !(ar[i] & (1u << 7)))
				FAIL("guest %s access rights 0x%x: not a present code or data segment", seg_names[i], ar[i]);
			if (!(type & 1))
				FAIL("guest %s access rights 0x%x: type %u is not accessed", seg_names[i], ar[i], type);
			if (i == 2 && type != 3 && type != 7)
				FAIL("guest SS access rights 0x%x: type %u is not a writable data segment", ar[i], type);
			if (i == 2 && ss_dpl != (sel[2] & 3))
				FAIL("guest SS DPL %u differs from its selector's RPL %u", ss_dpl, sel[2] & 3);
			if ((ar[i] & 0xFFFE0F00) != 0)
				FAIL("guest %s access rights 0x%x: reserved bits set", seg_names[i], ar[i]);
			if (!limit_ok(limit[i], ar[i]))
				FAIL("guest %s limit 0x%x does not fit its granularity (access rights 0x%x)", seg_names[i],
				     limit[i], ar[i]);
		}
	}
	u32 tr_type = ar[7] & 15;
	if ((ar[7] & VMX_AR_UNUSABLE) || (sel[7] & 4) || (tr_type != 3 && tr_type != 11) || (ar[7] & (1u << 4)) ||
	    !(ar[7] & (1u << 7)) || !limit_ok(limit[7], ar[7]))
		FAIL("guest TR (selector 0x%x, access rights 0x%x, limit 0x%x) is not a present busy TSS", sel[7], ar[7],
		     limit[7]);
	if (!(ar[6] & VMX_AR_UNUSABLE) &&
	    ((sel[6] & 4) || (ar[6] & 15) != 2 || (ar[6] & (1u << 4)) || !(ar[6] & (1u << 7)) || !limit_ok(limit[6], ar[6])))
		FAIL("guest LDTR (selector 0x%x, access rights 0x%x) is not a present LDT", sel[6], ar[6]);
	return NULL;
}

static const char *check_guest(void)
{
	u64 cr0 = vmread(VMCS_GUEST_CR0), cr4 = vmread(VMCS_GUEST_CR4);
	u64 f0 = rdmsr(MSR_VMX_CR0_FIXED0), f1 = rdmsr(MSR_VMX_CR0_FIXED1);
	if ((cr0 & f0) != f0 || (cr0 & ~f1))
		FAIL("guest CR0 0x%lx breaks IA32_VMX_CR0_FIXED0/1 (0x%lx/0x%lx)", cr0, f0, f1);
	f0 = rdmsr(MSR_VMX_CR4_FIXED0), f1 = rdmsr(MSR_VMX_CR4_FIXED1);
	if ((cr4 & f0) != f0 || (cr4 & ~f1))
		FAIL("guest CR4 0x%lx breaks IA32_VMX_CR4_FIXED0/1 (0x%lx/0x%lx)", cr4, f0, f1);
	if (vmread(VMCS_GUEST_DR7) >> 32)
		FAIL("guest DR7 0x%lx has bits 63:32 set", vmread(VMCS_GUEST_DR7));
	if (vmread(VMCS_LINK_POINTER) != ~0ull)
		FAIL("VMCS link pointer 0x%lx is not all ones", vmread(VMCS_LINK_POINTER));
	u64 rflags = vmread(VMCS_GUEST_RFLAGS), rip = vmread(VMCS_GUEST_RIP);
	if (!(rflags & 2) || (rflags & (1u << 3 | 1u << 5 | 1u << 15 | ~0x3FFFFFull)))
		FAIL("guest RFLAGS 0x%lx: reserved bits wrong", rflags);
	if (rip >> 32)
		FAIL("guest RIP 0x%lx beyond 32 bits", rip);
	const char *s = check_segments(rflags);
	if (s)
		return s;
	if (vmread(VMCS_GUEST_GDTR_LIMIT) >> 16 || vmread(VMCS_GUEST_IDTR_LIMIT) >> 16)
		FAIL("guest GDTR or IDTR limit beyond 16 bits");
	u32 block = (u32)vmread(VMCS_GUEST_INTERRUPTIBILITY), info = (u32)vmread(VMCS_ENTRY_INTR_INFO);
	if ((block & 3) == 3 || (block & ~0xFu))
		FAIL("guest interruptibility 0x%x: STI and MOV SS blocking both, or reserved bits", block);
	if ((block & VMX_BLOCK_STI) && !(rflags & EFLAGS_IF))
		FAIL("guest interruptibility: STI blocking with RFLAGS.IF clear (0x%lx)", rflags);
	if ((info & VMX_INTR_VALID) && ((info >> VMX_INTR_TYPE_SHIFT) & 7) == VMX_INTR_EXTINT &&
	    ((block & 3) || !(rflags & EFLAGS_IF)))
		FAIL("external interrupt 0x%x injected while the guest blocks interrupts (RFLAGS 0x%lx, "
		     "interruptibility 0x%x)", info, rflags, block);
	u64 dbg = vmread(VMCS_GUEST_PENDING_DBG);
	bool tf = rflags & EFLAGS_TF, bs = dbg & (1u << 14);
	if ((block & 3) && tf != bs)
		FAIL("guest pending debug exceptions 0x%lx: BS must equal RFLAGS.TF in an interrupt shadow", dbg);
	if (vmread(VMCS_GUEST_ACTIVITY) > 3)
		FAIL("guest activity state %lu", vmread(VMCS_GUEST_ACTIVITY));
	return NULL;
}

const char *vmx_entry_failure(struct vcpu *v, u32 reason, u64 qual)
{
	vmx_load(v->hw);
	if (reason == VMX_EXIT_BAD_GUEST) {
		const char *s = check_guest();
		if (s)
			SAY("invalid guest state, %s", s);
		SAY("invalid guest state (qualification %lu), in no field umbra checks: see the emulator's or "
		    "CPU's own account", qual);
	}
	if (reason == VMX_EXIT_BAD_MSR_LOAD)
		SAY("VM entry failed loading MSR entry %lu", qual);
	SAY("VM entry failed (exit reason %u, qualification %lu)", reason, qual);
}

static const char *const insn_errors[] = {
	[4] = "VMLAUNCH with a VMCS that is not clear",
	[5] = "VMRESUME with a VMCS that was not launched",
	[7] = "invalid control fields",
	[8] = "invalid host-state fields",
	[26] = "events blocked by MOV SS",
};

const char *vmx_insn_failure(struct vcpu *v, u32 insn_error, bool launched)
{
	const char *insn = launched ? "VMRESUME" : "VMLAUNCH";
	if (!insn_error)
		SAY("%s failed: no current VMCS", insn);
	const char *what = insn_error < ARRAY_SIZE(insn_errors) && insn_errors[insn_error] ?
				   insn_errors[insn_error] : "see the SDM's table of VM-instruction errors";
	if (insn_error == 7) {
		vmx_load(v->hw);
		u32 info = (u32)vmread(VMCS_ENTRY_INTR_INFO);
		if (info & VMX_INTR_VALID)
			SAY("%s failed (VM-instruction error 7, %s): entry interruption information 0x%x, error code "
			     "0x%lx", insn, what, info, vmread(VMCS_ENTRY_EXC_EC));
	}
	SAY("%s failed (VM-instruction error %u: %s)", insn, insn_error, what);
}

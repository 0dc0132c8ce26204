// VMX exit reasons, qualifications and interruption information into
// umbra's vendor-neutral vm_exit (vm.h).
#include "lib.h"
#include "vmcs.h"
#include "vmx_int.h"

static void event_from_vmx(u32 info, u32 ec, struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (!(info & VMX_INTR_VALID))
		return;
	ev->valid = true;
	ev->vector = (u8)info;
	u32 type = (info >> VMX_INTR_TYPE_SHIFT) & 7;
	// INT n, INT3, INTO and INT1 are restarted, not re-injected: as SVM's
	// software interrupts.
	ev->type = type >= VMX_INTR_SOFT_INT ? EVENT_SOFTINT : type;
	ev->has_ec = info & VMX_INTR_EC;
	ev->ec = ec;
}

void vmx_decode_exit(struct vcpu *v, struct vmx_vcpu *vx, struct vm_exit *e)
{
	u32 reason = (u32)vmread(VMCS_EXIT_REASON);
	u64 qual = vmread(VMCS_EXIT_QUALIFICATION);
	memset(e, 0, sizeof(*e));
	e->raw = reason;
	e->info1 = qual;
	vx->exit_reason = reason;
	vx->qual = qual;
	u32 idt = (u32)vmread(VMCS_IDT_VECTORING_INFO);
	event_from_vmx(idt, idt & VMX_INTR_EC ? (u32)vmread(VMCS_IDT_VECTORING_EC) : 0, &e->interrupted);
	if (reason & VMX_EXIT_ENTRY_FAILED) {
		e->reason = EXIT_INVALID;
		e->why = vmx_entry_failure(v, reason & 0xFFFF, qual);
		return;
	}
	switch (reason & 0xFFFF) {
	case VMX_EXIT_EXCEPTION: {
		u32 info = (u32)vmread(VMCS_EXIT_INTR_INFO);
		e->info2 = info;
		if (((info >> VMX_INTR_TYPE_SHIFT) & 7) == VMX_INTR_NMI)
			e->reason = EXIT_INTR;
		else if ((u8)info == VEC_PF) {
			e->reason = EXIT_PF;
			e->pf_ec = (u32)vmread(VMCS_EXIT_INTR_EC);
			e->pf_addr = (u32)qual; // a #PF exit leaves CR2 alone
		} else if ((u8)info == VEC_DF)
			e->reason = EXIT_DF;
		else
			e->reason = EXIT_OTHER;
		break;
	}
	case VMX_EXIT_EXTINT:
		e->reason = EXIT_INTR;
		break;
	case VMX_EXIT_TRIPLE_FAULT:
		e->reason = EXIT_SHUTDOWN;
		break;
	case VMX_EXIT_IRQ_WINDOW:
		e->reason = EXIT_IRQ_WINDOW;
		break;
	case VMX_EXIT_TASK_SWITCH:
		e->reason = EXIT_OTHER;
		e->why = "a hardware task switch (VMX always exits; umbra does not emulate them)";
		break;
	case VMX_EXIT_CPUID:
	case VMX_EXIT_INVD:
	case VMX_EXIT_RDPMC:
		e->reason = EXIT_INSN;
		break;
	case VMX_EXIT_HLT:
		e->reason = EXIT_HLT;
		break;
	case VMX_EXIT_INVLPG:
		e->reason = EXIT_INVLPG;
		break;
	case VMX_EXIT_VMCALL:
		e->reason = EXIT_VMMCALL;
		break;
	case VMX_EXIT_GETSEC:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
		e->reason = EXIT_VIRT_INSN;
		break;
	case VMX_EXIT_CR: {
		u32 type = (qual >> 4) & 3; // 0 MOV to, 1 MOV from, 2 CLTS, 3 LMSW
		e->reason = type == 1 ? EXIT_CR_READ : EXIT_CR_WRITE;
		e->cr = type >= 2 ? 0 : qual & 15;
		break;
	}
	case VMX_EXIT_IO:
		e->reason = EXIT_IO;
		e->port = (u16)(qual >> 16);
		e->io_size = (qual & 7) + 1; // 1, 2 or 4
		e->io_in = qual & (1u << 3);
		e->io_string = qual & (1u << 4);
		e->io_rep = qual & (1u << 5);
		e->next_rip = (u32)v->rip + (u32)vmread(VMCS_EXIT_INSN_LEN);
		break;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		e->reason = EXIT_MSR;
		e->msr_write = (reason & 0xFFFF) == VMX_EXIT_WRMSR;
		break;
	default:
		if ((reason & 0xFFFF) >= VMX_EXIT_VMCLEAR && (reason & 0xFFFF) <= VMX_EXIT_VMXON)
			e->reason = EXIT_VIRT_INSN; // VMX's own instructions: #UD, as SVM's
		else
			e->reason = EXIT_OTHER;
	}
	// The exits an instruction makes give its length.
	if (e->reason == EXIT_CR_READ || e->reason == EXIT_CR_WRITE || e->reason == EXIT_INVLPG ||
	    e->reason == EXIT_IO || e->reason == EXIT_MSR || e->reason == EXIT_INSN || e->reason == EXIT_HLT)
		e->insn_len = (u8)vmread(VMCS_EXIT_INSN_LEN);
}

// Shared inside vmm/vmx/ only.
#ifndef UMBRA_VMX_INT_H
#define UMBRA_VMX_INT_H

#include "vm.h"

struct vmx_vcpu {
	void *vmcs;        // its VMCS region (a frame)
	bool launched;     // VMRESUME from now on (VMLAUNCH after VMCLEAR)
	u32 proc;          // the primary processor-based controls last written
	u32 intr_state;    // interruptibility (STI or MOV SS blocking) at the last exit
	u64 dr6;           // the guest's DR6 (not in the VMCS)
	u64 pat;           // the guest's PAT, kept for RDMSR
	u32 exit_reason;   // the last exit, for the log
	u64 qual;
};

u64 vmread(u32 field);
void vmwrite(u32 field, u64 v);
void vmx_load(struct vmx_vcpu *vx);
// Why a VM entry failed, the field named where umbra's own checks of the
// SDM's rules find it: after an entry failure exit (reason 33 and the
// like), and after VMLAUNCH/VMRESUME failed with VM-instruction error
// insn_error (0: no current VMCS).
// After a VM exit (RIP already in v): what it was, for exit.c.
void vmx_decode_exit(struct vcpu *v, struct vmx_vcpu *vx, struct vm_exit *e);
const char *vmx_entry_failure(struct vcpu *v, u32 reason, u64 qual);
const char *vmx_insn_failure(struct vcpu *v, u32 insn_error, bool launched);

#endif

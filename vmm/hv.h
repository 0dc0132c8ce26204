// The backend ops table: everything vendor-specific (AMD SVM, Intel VMX)
// sits behind it, in the manner of bhyve's vmm_ops.
#ifndef UMBRA_HV_H
#define UMBRA_HV_H

#include "vm.h"

struct hv_ops {
	const char *name;
	// NULL if this CPU can run the backend, else why not.
	const char *(*probe)(void);
	int (*cpu_init)(void);
	// Prepare a vCPU in the multiboot entry state (vcpu fields already set).
	int (*vcpu_create)(struct vcpu *v);
	void (*vcpu_destroy)(struct vcpu *v);
	// Give dst (already created) the guest state of src: segments,
	// descriptor tables, the MSRs the control block holds.
	void (*vcpu_clone)(struct vcpu *dst, const struct vcpu *src);
	// Enter the guest until the next exit; vcpu fields are synced both ways.
	void (*vcpu_run)(struct vcpu *v, struct vm_exit *exit);
	u32 (*seg_base)(struct vcpu *v, enum seg s);
	// The code segment's default operand and address size is 32 bits (CS.D).
	bool (*code32)(struct vcpu *v);
	// MSRs the control block holds (SYSENTER_*, PAT); false if not one of them.
	bool (*msr_read)(struct vcpu *v, u32 msr, u64 *val);
	bool (*msr_write)(struct vcpu *v, u32 msr, u64 val);
	// Print the backend's view of the vCPU (for logs and the console).
	void (*dump)(struct vcpu *v);
};

extern const struct hv_ops svm_ops, vmx_ops;
extern const struct hv_ops *hv;

#endif

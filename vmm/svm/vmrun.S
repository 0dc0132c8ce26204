// The SVM world switch and nothing else: load the guest's general registers,
// VMRUN, store them back. The VMCB holds RAX, RSP, RIP and RFLAGS. The state
// VMRUN leaves alone (FS, GS, TR, LDTR, syscall and sysenter MSRs) is the
// guest's in the CPU across exits; VMLOAD brings it in when svm.c says so.
#include "guest_gprs.h"
	.text
	.code64

// void svm_vmrun(u64 vmcb_pa, u64 *gpr, u64 vmload)
	.globl svm_vmrun
svm_vmrun:
	PUSH_HOST_CALLEE_SAVED
	push	%rsi			// 16(%rsp): guest registers
	push	%rdi			// 8(%rsp): guest VMCB
	push	%rdx			// 0(%rsp): VMLOAD first?

	clgi

	mov	16(%rsp), %rax
	LOAD_GUEST_GPRS %rax
	mov	8*7(%rax), %rdi
	mov	8(%rsp), %rax
	cmpq	$0, 0(%rsp)
	je	1f
	vmload
1:	vmrun
	.globl svm_vmrun_exit_point
svm_vmrun_exit_point:			// vmm/trap.c knows it: see there

	// RAX is the VMCB address again; every other register is the guest's.
	xchg	16(%rsp), %rax
	STORE_GUEST_GPRS %rax

	stgi

	add	$24, %rsp
	POP_HOST_CALLEE_SAVED
	ret

	.section .note.GNU-stack, "", @progbits

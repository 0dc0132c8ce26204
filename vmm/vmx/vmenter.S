// The VMX world switch and nothing else: load the guest's general registers,
// VMLAUNCH or VMRESUME, and at the VM exit (the VMCS's host RIP is
// vmx_exit) store them back. The VMCS holds RSP, RIP and RFLAGS; RAX is ours
// to move, unlike SVM. A VM exit clears RFLAGS (IF too): the host's come
// back from the stack, so a host interrupt that made the exit is taken at
// the POPF.
#include "guest_gprs.h"
	.text
	.code64

#define VMCS_HOST_RSP 0x6C14

// int vmx_enter(u64 *gpr, u64 launched): 0 after a VM exit; 1 if the
// instruction failed with no current VMCS (VMfailInvalid), 2 with an error
// number in the VMCS (VMfailValid)
	.globl vmx_enter
vmx_enter:
	PUSH_HOST_CALLEE_SAVED
	pushfq
	push	%rdi			// 0(%rsp): guest registers
	mov	$VMCS_HOST_RSP, %rax
	vmwrite	%rsp, %rax
	test	%rsi, %rsi		// launched? (no MOV below changes the flags)
	mov	%rdi, %rax
	LOAD_GUEST_GPRS %rax
	mov	8*7(%rax), %rdi
	mov	8*0(%rax), %rax
	jnz	1f
	vmlaunch
	jmp	2f
1:	vmresume
2:	// Still here: the instruction failed (CF: no VMCS; ZF: error number).
	mov	$2, %eax
	jnc	3f
	mov	$1, %eax
3:	add	$8, %rsp
	popfq
	jmp	4f

	.globl vmx_exit
vmx_exit:
	// RSP is the host RSP written above: 0(%rsp) is the register array.
	push	%rax
	mov	8(%rsp), %rax
	STORE_GUEST_GPRS %rax
	popq	8*0(%rax)
	add	$8, %rsp
	popfq
	xor	%eax, %eax
4:	POP_HOST_CALLEE_SAVED
	ret

	.section .note.GNU-stack, "", @progbits

// Assembler macros for the world switches (vmm/svm/vmrun.S,
// vmm/vmx/vmenter.S): move the guest's general registers between the CPU
// and struct vcpu's gpr[] (enum gpr's order, 8 bytes each) at \base.
// RAX, RSP and RDI are each backend's own business: RSP is in the control
// block on both, RAX in SVM's too, and one register must hold \base. Also
// the host's callee-saved registers, kept on the stack across the switch.
#ifndef UMBRA_GUEST_GPRS_H
#define UMBRA_GUEST_GPRS_H

.macro LOAD_GUEST_GPRS base
	mov	8*1(\base), %rcx
	mov	8*2(\base), %rdx
	mov	8*3(\base), %rbx
	mov	8*5(\base), %rbp
	mov	8*6(\base), %rsi
	mov	8*8(\base), %r8
	mov	8*9(\base), %r9
	mov	8*10(\base), %r10
	mov	8*11(\base), %r11
	mov	8*12(\base), %r12
	mov	8*13(\base), %r13
	mov	8*14(\base), %r14
	mov	8*15(\base), %r15
.endm

// Also RDI.
.macro STORE_GUEST_GPRS base
	mov	%rcx, 8*1(\base)
	mov	%rdx, 8*2(\base)
	mov	%rbx, 8*3(\base)
	mov	%rbp, 8*5(\base)
	mov	%rsi, 8*6(\base)
	mov	%rdi, 8*7(\base)
	mov	%r8, 8*8(\base)
	mov	%r9, 8*9(\base)
	mov	%r10, 8*10(\base)
	mov	%r11, 8*11(\base)
	mov	%r12, 8*12(\base)
	mov	%r13, 8*13(\base)
	mov	%r14, 8*14(\base)
	mov	%r15, 8*15(\base)
.endm

// The host's callee-saved registers around a world switch (SysV ABI).
.macro PUSH_HOST_CALLEE_SAVED
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
.endm

.macro POP_HOST_CALLEE_SAVED
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
.endm

#endif

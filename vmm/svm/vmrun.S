// The SVM world switch and nothing else: load the guest's general registers,
// VMRUN, store them back. The VMCB holds RAX, RSP, RIP and RFLAGS. The state
// VMRUN leaves alone (FS, GS, TR, LDTR, syscall and sysenter MSRs) is the
// guest's in the CPU across exits; VMLOAD brings it in when svm.c says so.
	.text
	.code64

// void svm_vmrun(u64 vmcb_pa, u64 *gpr, u64 vmload)
	.globl svm_vmrun
svm_vmrun:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rsi			// 16(%rsp): guest registers
	push	%rdi			// 8(%rsp): guest VMCB
	push	%rdx			// 0(%rsp): VMLOAD first?

	clgi

	mov	16(%rsp), %rax
	mov	8*1(%rax), %rcx
	mov	8*2(%rax), %rdx
	mov	8*3(%rax), %rbx
	mov	8*5(%rax), %rbp
	mov	8*6(%rax), %rsi
	mov	8*7(%rax), %rdi
	mov	8*8(%rax), %r8
	mov	8*9(%rax), %r9
	mov	8*10(%rax), %r10
	mov	8*11(%rax), %r11
	mov	8*12(%rax), %r12
	mov	8*13(%rax), %r13
	mov	8*14(%rax), %r14
	mov	8*15(%rax), %r15
	mov	8(%rsp), %rax
	cmpq	$0, 0(%rsp)
	je	1f
	vmload
1:	vmrun
	.globl svm_vmrun_exit_point
svm_vmrun_exit_point:			// vmm/trap.c knows it: see there

	// RAX is the VMCB address again; every other register is the guest's.
	xchg	16(%rsp), %rax
	mov	%rcx, 8*1(%rax)
	mov	%rdx, 8*2(%rax)
	mov	%rbx, 8*3(%rax)
	mov	%rbp, 8*5(%rax)
	mov	%rsi, 8*6(%rax)
	mov	%rdi, 8*7(%rax)
	mov	%r8, 8*8(%rax)
	mov	%r9, 8*9(%rax)
	mov	%r10, 8*10(%rax)
	mov	%r11, 8*11(%rax)
	mov	%r12, 8*12(%rax)
	mov	%r13, 8*13(%rax)
	mov	%r14, 8*14(%rax)
	mov	%r15, 8*15(%rax)

	stgi

	add	$24, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret

	.section .note.GNU-stack, "", @progbits

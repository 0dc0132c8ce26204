// The VMX world switch and nothing else: load the guest's general registers,
// VMLAUNCH or VMRESUME, and at the VM exit (the VMCS's host RIP is
// vmx_exit) store them back. The VMCS holds RSP, RIP and RFLAGS; RAX is ours
// to move, unlike SVM. A VM exit clears RFLAGS (IF too): the host's come
// back from the stack, so a host interrupt that made the exit is taken at
// the POPF.
	.text
	.code64

#define VMCS_HOST_RSP 0x6C14

// int vmx_enter(u64 *gpr, u64 launched): 0 after a VM exit; 1 if the
// instruction failed with no current VMCS (VMfailInvalid), 2 with an error
// number in the VMCS (VMfailValid)
	.globl vmx_enter
vmx_enter:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	pushfq
	push	%rdi			// 0(%rsp): guest registers
	mov	$VMCS_HOST_RSP, %rax
	vmwrite	%rsp, %rax
	test	%rsi, %rsi		// launched? (no MOV below changes the flags)
	mov	%rdi, %rax
	mov	8*1(%rax), %rcx
	mov	8*2(%rax), %rdx
	mov	8*3(%rax), %rbx
	mov	8*5(%rax), %rbp
	mov	8*6(%rax), %rsi
	mov	8*8(%rax), %r8
	mov	8*9(%rax), %r9
	mov	8*10(%rax), %r10
	mov	8*11(%rax), %r11
	mov	8*12(%rax), %r12
	mov	8*13(%rax), %r13
	mov	8*14(%rax), %r14
	mov	8*15(%rax), %r15
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
	popq	8*0(%rax)
	add	$8, %rsp
	popfq
	xor	%eax, %eax
4:	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret

	.section .note.GNU-stack, "", @progbits

// Paging test guests: multiboot entry, exception stubs, and the ring switch.
	.section .multiboot, "a"
	.align 4
	.long 0x1BADB002, 0x3, -(0x1BADB002 + 0x3)

	.text
	.globl _start
_start:
	mov	$kstack_top, %esp
	push	%ebx
	push	%eax
	call	lib_main
1:	cli
	hlt
	jmp	1b

// Exception and syscall stubs: push a uniform frame, call trap().
.macro STUB vec, has_ec
	.globl isr\vec
isr\vec:
	.if \has_ec == 0
	push	$0
	.endif
	push	$\vec
	jmp	isr_common
.endm
	STUB 0,0; STUB 1,0; STUB 2,0; STUB 3,0; STUB 4,0; STUB 5,0; STUB 6,0; STUB 7,0
	STUB 8,1; STUB 9,0; STUB 10,1; STUB 11,1; STUB 12,1; STUB 13,1; STUB 14,1; STUB 15,0
	STUB 16,0; STUB 17,1; STUB 18,0; STUB 19,0; STUB 32,0; STUB 36,0; STUB 128,0
	STUB 49,0; STUB 65,0; STUB 81,0; STUB 97,0; STUB 255,0

isr_common:
	pusha
	push	%ds
	push	%es
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	push	%esp
	call	trap
	add	$4, %esp
	pop	%es
	pop	%ds
	popa
	add	$8, %esp
	iret

// u32 user_call(u32 fn, u32 arg): run fn(arg) at CPL 3 on the user stack;
// comes back when fn does INT 0x80 (or faults with a fault expected), with
// the value of EAX at that point. Kernel state is kept in ctx_* for trap().
	.globl user_call
user_call:
	push	%ebp
	push	%ebx
	push	%esi
	push	%edi
	mov	%esp, ctx_esp
	mov	20(%esp), %ecx		// fn
	mov	24(%esp), %eax		// arg
	mov	$user_stack_top, %edx
	sub	$8, %edx
	movl	$user_exit, (%edx)	// return address of fn: INT 0x80
	mov	%eax, 4(%edx)		// its argument
	push	$0x23			// user SS
	push	%edx			// user ESP
	pushf
	push	$0x1B			// user CS
	push	%ecx
	mov	$0x23, %ax
	mov	%ax, %ds
	mov	%ax, %es
	iret
user_exit:
	int	$0x80
	.globl user_return
user_return:				// trap() jumps here, EAX = result
	mov	ctx_esp, %esp
	pop	%edi
	pop	%esi
	pop	%ebx
	pop	%ebp
	ret

	.bss
	.align 4096
	.globl kstack_top, user_stack_top, istack_top
	.space 16384
kstack_top:
	.space 16384
user_stack_top:
	.space 8192			// TSS.esp0: entries from ring 3 start here
istack_top:
	.globl ctx_esp
ctx_esp: .long 0
	.section .note.GNU-stack, "", @progbits

// kern's entry: the multiboot header, the boot stack, trap vectors and the
// context switch. Assembly only where C cannot do it.
	.section .multiboot, "a"
	.align 4
	.long 0x1BADB002, 0x3, -(0x1BADB002 + 0x3)

	.text
	.globl _start
_start:
	mov	$boot_stack_top, %esp
	push	%ebx
	push	%eax
	call	kmain
1:	cli
	hlt
	jmp	1b

// Trap vectors: push a zero error code where the CPU pushes none, then the
// vector number, then join alltraps.
.macro VEC n, has_err
	.globl vec\n
vec\n:
	.if \has_err == 0
	pushl	$0
	.endif
	pushl	$\n
	jmp	alltraps
.endm
VEC 0,0; VEC 1,0; VEC 2,0; VEC 3,0; VEC 4,0; VEC 5,0; VEC 6,0; VEC 7,0
VEC 8,1; VEC 9,0; VEC 10,1; VEC 11,1; VEC 12,1; VEC 13,1; VEC 14,1; VEC 15,0
VEC 16,0; VEC 17,1; VEC 18,0; VEC 19,0
VEC 32,0; VEC 39,0; VEC 64,0

	.data
	.globl vectors
vectors:
	.long vec0, vec1, vec2, vec3, vec4, vec5, vec6, vec7, vec8, vec9
	.long vec10, vec11, vec12, vec13, vec14, vec15, vec16, vec17, vec18, vec19
	.text

alltraps:
	push	%ds
	push	%es
	push	%fs
	push	%gs
	pushal
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	push	%esp
	call	trap
	add	$4, %esp
	.globl trapret
trapret:
	popal
	pop	%gs
	pop	%fs
	pop	%es
	pop	%ds
	add	$8, %esp
	iret

// swtch(u32 *save_esp, u32 new_esp): save the callee-saved registers on
// this stack, switch stacks, restore the other's.
	.globl swtch
swtch:
	mov	4(%esp), %eax
	mov	8(%esp), %edx
	push	%ebp
	push	%ebx
	push	%esi
	push	%edi
	mov	%esp, (%eax)
	mov	%edx, %esp
	pop	%edi
	pop	%esi
	pop	%ebx
	pop	%ebp
	ret

	.bss
	.align 16
	.space 16384
boot_stack_top:
	.section .note.GNU-stack, "", @progbits

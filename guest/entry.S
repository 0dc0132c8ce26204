// The default guest's entry: a multiboot1 header, a stack, main().
	.section .multiboot, "a"
	.align 4
	.long 0x1BADB002, 0x3, -(0x1BADB002 + 0x3)
	.text
	.globl _start
_start:
	mov	$stack_top, %esp
	push	%ebx
	push	%eax
	call	main
1:	cli
	hlt
	jmp	1b
	.bss
	.align 16
	.space 16384
stack_top:
	.section .note.GNU-stack, "", @progbits

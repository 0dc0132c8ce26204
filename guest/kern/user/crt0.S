// A user program's entry: the kernel passes the command line's address in eax.
	.text
	.globl _start
_start:
	push	%eax
	call	main
	push	%eax
	call	exit
1:	jmp	1b
	.section .note.GNU-stack, "", @progbits

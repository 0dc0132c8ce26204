// umbra's entry: a multiboot1 header, then the 32-bit protected-mode code a
// multiboot loader jumps to, which switches to 64-bit long mode and calls kmain.
// Runs once, on the boot CPU, identity-mapped, with interrupts off.

#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000003	// page-align modules, give us the memory map
#define KSTACK_SIZE	(64 * 1024)

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .boot.text, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	mov	%eax, %edi		// multiboot magic, kept for kmain
	mov	%ebx, %esi		// multiboot info, kept for kmain

	// The loader zeroes .bss, but say so ourselves rather than trust it.
	mov	$__bss_start, %edx
	mov	$__bss_end, %ecx
1:	cmp	%ecx, %edx
	jae	2f
	movl	$0, (%edx)
	add	$4, %edx
	jmp	1b
2:
	// Identity-map the first 4 GiB with 2 MiB pages: one PML4 entry, four
	// PDPT entries, four page directories of 512 entries each.
	mov	$boot_pdpt, %eax
	or	$0x3, %eax
	mov	%eax, boot_pml4
	xor	%ecx, %ecx
3:	mov	%ecx, %eax
	shl	$12, %eax
	add	$boot_pd, %eax
	or	$0x3, %eax
	mov	%eax, boot_pdpt(, %ecx, 8)
	inc	%ecx
	cmp	$4, %ecx
	jb	3b

	xor	%ecx, %ecx		// ecx = index over 2048 PDEs
4:	mov	%ecx, %eax
	shl	$21, %eax		// low 32 bits of the physical address
	or	$0x83, %eax		// present, writable, 2 MiB page
	mov	%eax, boot_pd(, %ecx, 8)
	mov	%ecx, %eax
	shr	$11, %eax		// high bits: ecx >> 11 == 0, >= 4 GiB never
	mov	%eax, boot_pd + 4(, %ecx, 8)
	inc	%ecx
	cmp	$2048, %ecx
	jb	4b

	mov	$boot_pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$0x20, %eax		// PAE
	mov	%eax, %cr4
	mov	$0xC0000080, %ecx	// EFER
	rdmsr
	or	$0x100, %eax		// LME
	wrmsr
	mov	%cr0, %eax
	or	$0x80010001, %eax	// PG | WP | PE
	mov	%eax, %cr0

	lgdt	boot_gdt_ptr
	ljmp	$0x08, $start64

	.code64
start64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	xor	%ax, %ax
	mov	%ax, %fs
	mov	%ax, %gs
	lea	boot_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	mov	%edi, %edi		// upper halves are undefined after the mode switch
	mov	%esi, %esi
	call	kmain
5:	cli
	hlt
	jmp	5b

	.section .rodata
	.align 16
boot_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF	// 0x08: 64-bit code, DPL 0
	.quad 0x00CF92000000FFFF	// 0x10: data, DPL 0
boot_gdt_end:
	.align 8
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.section .bss
	.align 4096
boot_pml4:	.space 4096
boot_pdpt:	.space 4096
	.globl boot_pd
boot_pd:	.space 4 * 4096
	.align 16
	.globl boot_stack_top
boot_stack:	.space KSTACK_SIZE
boot_stack_top:

	.section .note.GNU-stack, "", @progbits

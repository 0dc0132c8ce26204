// x86 architectural constants: control-register bits, 32-bit non-PAE paging
// entries, page-fault error codes, exception vectors, MSR numbers.
// Masks and shifts only; shared by the VMM, mm/ and host tests.
#ifndef UMBRA_X86_H
#define UMBRA_X86_H

#include "types.h"

#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)

#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_MCE (1u << 6)
#define CR4_PGE (1u << 7)
#define CR4_PCE (1u << 8)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_VMXE (1u << 13)

#define CR3_PWT (1u << 3)
#define CR3_PCD (1u << 4)
#define CR3_ADDR_MASK 0xFFFFF000u

// 32-bit (non-PAE) paging entries, guest and shadow alike.
#define PTE_P (1u << 0)
#define PTE_W (1u << 1)
#define PTE_U (1u << 2)
#define PTE_PWT (1u << 3)
#define PTE_PCD (1u << 4)
#define PTE_A (1u << 5)
#define PTE_D (1u << 6)
#define PTE_PS (1u << 7)   // in a PDE: 4 MiB page
#define PTE_PAT (1u << 7)  // in a PTE
#define PTE_G (1u << 8)
#define PTE_AVL_SHIFT 9    // bits 9-11 belong to software
#define PTE_ADDR_MASK 0xFFFFF000u
#define PDE_LARGE_ADDR_MASK 0xFFC00000u
#define PDE_LARGE_PAT (1u << 12)
#define PDE_LARGE_HI_SHIFT 13      // PSE-36: bits 13-20 are address bits 32-39
#define PDE_LARGE_HI_MASK 0x001FE000u
#define PDE_LARGE_RSVD (1u << 21)  // reserved with MAXPHYADDR <= 40

#define PT_ENTRIES 1024
#define PDE_SHIFT 22
#define PDE_INDEX(gva) ((u32)(gva) >> PDE_SHIFT)
#define PTE_INDEX(gva) (((u32)(gva) >> PAGE_SHIFT) & (PT_ENTRIES - 1))
#define LARGE_PAGE_SIZE (1u << PDE_SHIFT)

// Page-fault error code.
#define PFEC_P (1u << 0)     // the entry was present: a protection fault
#define PFEC_W (1u << 1)     // a write
#define PFEC_U (1u << 2)     // at CPL 3
#define PFEC_RSVD (1u << 3)  // a reserved bit was set
#define PFEC_I (1u << 4)     // an instruction fetch

#define EFLAGS_TF (1u << 8)
#define EFLAGS_IF (1u << 9)
#define EFLAGS_DF (1u << 10)
#define EFLAGS_VM (1u << 17)
#define DR6_BS (1u << 14)  // single-step: the #DB came from EFLAGS.TF

enum x86_vector {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
	VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11,
	VEC_SS = 12, VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17,
	VEC_MC = 18, VEC_XM = 19,
};

#define MSR_TSC 0x00000010
#define MSR_APIC_BASE 0x0000001B
#define MSR_SYSENTER_CS 0x00000174
#define MSR_SYSENTER_ESP 0x00000175
#define MSR_SYSENTER_EIP 0x00000176
#define MSR_PAT 0x00000277
#define MSR_EFER 0xC0000080
#define MSR_STAR 0xC0000081
#define MSR_VM_CR 0xC0010114
#define MSR_VM_HSAVE_PA 0xC0010117

#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)
#define EFER_SVME (1u << 12)

#endif

// The AMD SVM virtual machine control block (APM vol. 2, appendix B), as
// packed structs with one offset comment per field. Only vmm/svm/ sees it.
#ifndef UMBRA_VMCB_H
#define UMBRA_VMCB_H

#include "types.h"

struct vmcb_seg {
	u16 sel;
	u16 attr;   // compressed: type S DPL P in 7:0, AVL L D/B G in 11:8
	u32 limit;
	u64 base;
} __attribute__((packed));

struct vmcb_control {
	u16 intercept_cr_read;   // 0x000
	u16 intercept_cr_write;  // 0x002
	u16 intercept_dr_read;   // 0x004
	u16 intercept_dr_write;  // 0x006
	u32 intercept_exc;       // 0x008
	u32 intercept1;          // 0x00C
	u32 intercept2;          // 0x010
	u8 rsvd1[0x03C - 0x014]; // 0x014
	u16 pause_thresh;        // 0x03C
	u16 pause_count;         // 0x03E
	u64 iopm_pa;             // 0x040
	u64 msrpm_pa;            // 0x048
	u64 tsc_offset;          // 0x050
	u32 asid;                // 0x058
	u8 tlb_control;          // 0x05C
	u8 rsvd2[3];             // 0x05D
	u64 vintr;               // 0x060
	u64 int_shadow;          // 0x068
	u64 exitcode;            // 0x070
	u64 exitinfo1;           // 0x078
	u64 exitinfo2;           // 0x080
	u64 exitintinfo;         // 0x088
	u64 np_enable;           // 0x090
	u8 rsvd3[0x0A8 - 0x098]; // 0x098
	u64 eventinj;            // 0x0A8
	u64 n_cr3;               // 0x0B0
	u64 lbr_virt;            // 0x0B8
	u32 clean;               // 0x0C0
	u32 rsvd4;               // 0x0C4
	u64 nrip;                // 0x0C8
	u8 insn_len;             // 0x0D0
	u8 insn_bytes[15];       // 0x0D1
	u8 rsvd5[0x400 - 0x0E0]; // 0x0E0
} __attribute__((packed));

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs; // 0x400
	struct vmcb_seg gdtr, ldtr, idtr, tr;   // 0x460
	u8 rsvd1[0x4CB - 0x4A0];  // 0x4A0
	u8 cpl;                   // 0x4CB
	u32 rsvd2;                // 0x4CC
	u64 efer;                 // 0x4D0
	u8 rsvd3[0x548 - 0x4D8];  // 0x4D8
	u64 cr4;                  // 0x548
	u64 cr3;                  // 0x550
	u64 cr0;                  // 0x558
	u64 dr7;                  // 0x560
	u64 dr6;                  // 0x568
	u64 rflags;               // 0x570
	u64 rip;                  // 0x578
	u8 rsvd4[0x5D8 - 0x580];  // 0x580
	u64 rsp;                  // 0x5D8
	u8 rsvd5[0x5F8 - 0x5E0];  // 0x5E0
	u64 rax;                  // 0x5F8
	u64 star;                 // 0x600
	u64 lstar;                // 0x608
	u64 cstar;                // 0x610
	u64 sfmask;               // 0x618
	u64 kernel_gs_base;       // 0x620
	u64 sysenter_cs;          // 0x628
	u64 sysenter_esp;         // 0x630
	u64 sysenter_eip;         // 0x638
	u64 cr2;                  // 0x640
	u8 rsvd6[0x668 - 0x648];  // 0x648
	u64 g_pat;                // 0x668
	u64 dbgctl;               // 0x670
	u64 br_from, br_to;       // 0x678
	u64 last_exc_from, last_exc_to; // 0x688
} __attribute__((packed));

struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
	u8 rsvd[4096 - 0x400 - sizeof(struct vmcb_save)];
} __attribute__((packed));

_Static_assert(sizeof(struct vmcb_control) == 0x400, "vmcb control area");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4CB, "vmcb cpl");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr4) == 0x548, "vmcb cr4");
_Static_assert(__builtin_offsetof(struct vmcb, save.rsp) == 0x5D8, "vmcb rsp");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5F8, "vmcb rax");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr2) == 0x640, "vmcb cr2");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "vmcb g_pat");
_Static_assert(sizeof(struct vmcb) == 4096, "vmcb is one page");

// intercept1 (vector 3)
#define SVM_INTERCEPT_INTR (1u << 0)
#define SVM_INTERCEPT_NMI (1u << 1)
#define SVM_INTERCEPT_SMI (1u << 2)
#define SVM_INTERCEPT_INIT (1u << 3)
#define SVM_INTERCEPT_VINTR (1u << 4)
#define SVM_INTERCEPT_RDPMC (1u << 15)
#define SVM_INTERCEPT_CPUID (1u << 18)
#define SVM_INTERCEPT_INVD (1u << 22)
#define SVM_INTERCEPT_HLT (1u << 24)
#define SVM_INTERCEPT_INVLPG (1u << 25)
#define SVM_INTERCEPT_INVLPGA (1u << 26)
#define SVM_INTERCEPT_IOIO (1u << 27)
#define SVM_INTERCEPT_MSR (1u << 28)
#define SVM_INTERCEPT_TASK_SWITCH (1u << 29)
#define SVM_INTERCEPT_SHUTDOWN (1u << 31)
// intercept2 (vector 4)
#define SVM_INTERCEPT_VMRUN (1u << 0)
#define SVM_INTERCEPT_VMMCALL (1u << 1)
#define SVM_INTERCEPT_VMLOAD (1u << 2)
#define SVM_INTERCEPT_VMSAVE (1u << 3)
#define SVM_INTERCEPT_STGI (1u << 4)
#define SVM_INTERCEPT_CLGI (1u << 5)
#define SVM_INTERCEPT_SKINIT (1u << 6)
#define SVM_INTERCEPT_RDTSCP (1u << 7)

#define SVM_EXIT_CR0_READ 0x000
#define SVM_EXIT_CR0_WRITE 0x010
#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_VINTR 0x064
#define SVM_EXIT_RDPMC 0x06F
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_INVD 0x076
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPG 0x079
#define SVM_EXIT_INVLPGA 0x07A
#define SVM_EXIT_IOIO 0x07B
#define SVM_EXIT_MSR 0x07C
#define SVM_EXIT_TASK_SWITCH 0x07D
#define SVM_EXIT_SHUTDOWN 0x07F
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_RDTSCP 0x087
// QEMU writes VMEXIT_INVALID as 0x00000000FFFFFFFF: compare the low 32 bits.
#define SVM_EXIT_INVALID 0xFFFFFFFFu

// EXITINFO1 of an IOIO exit
#define SVM_IOIO_IN (1u << 0)
#define SVM_IOIO_STR (1u << 2)
#define SVM_IOIO_REP (1u << 3)
#define SVM_IOIO_SZ_SHIFT 4
#define SVM_IOIO_PORT_SHIFT 16

// EVENTINJ and EXITINTINFO
#define SVM_EVT_VECTOR_MASK 0xFFu
#define SVM_EVT_TYPE_SHIFT 8
#define SVM_EVT_EV (1u << 11)
#define SVM_EVT_V (1u << 31)

#define SVM_TLB_FLUSH_ASID 3 // this guest's ASID only (needs FlushByAsid)
#define SVM_TLB_FLUSH_ALL 1
#define SVM_VINTR_MASKING (1ull << 24)
#define SVM_VINTR_IRQ (1ull << 8)
#define SVM_VINTR_IGN_TPR (1ull << 20)

#endif

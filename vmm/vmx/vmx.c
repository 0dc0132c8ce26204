// The Intel VMX backend: VMXON, a VMCS per vCPU, the run loop's entry and
// exit halves, and the translation of VMX exit reasons into umbra's
// vendor-neutral vm_exit. Shadow paging without EPT: the guest's CR3 loads
// and stores, INVLPG and every #PF exit to umbra, whose shadow root is the
// CR3 the CPU runs on; CR0 and CR4 are owned by umbra bit for bit (masks all
// ones), the guest reading its own values from the read shadows.
#include "asid.h"
#include "asm.h"
#include "frame.h"
#include "hv.h"
#include "lib.h"
#include "log.h"
#include "printf.h"
#include "vmcs.h"
#include "vmx_int.h"

int vmx_enter(u64 *gpr, u64 launched);
void vmx_exit(void);

static struct vmx_vcpu vcpus[MAX_VMS];
static struct vmx_vcpu *current; // the current VMCS (VMPTRLD), if any
static u64 dr6_in_cpu = ~0ull;   // what DR6 holds (umbra never changes it itself)
static u32 revision;             // IA32_VMX_BASIC bits 30:0
static u8 vmxon_region[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
// One I/O bitmap pair and one MSR bitmap for every VM: intercept everything
// (but port 0x80, see svm.c).
static u8 io_bitmap[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 msr_bitmap[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u32 ctl_pin, ctl_proc, ctl_proc2, ctl_exit, ctl_entry;
static u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
static bool vpid_on, invvpid_single;
static struct asid_space vpids;

// The host needs a TSS for VMX (a VM exit loads TR from a non-null
// selector): the boot GDT's code and data descriptors, and one.
static struct {
	u32 rsvd0;
	u64 rsp[3];
	u64 rsvd1, ist[7], rsvd2;
	u16 rsvd3, iomap;
} __attribute__((packed)) host_tss;
static u64 host_gdt[5] __attribute__((aligned(16)));
#define HOST_CS 0x08
#define HOST_DS 0x10
#define HOST_TR 0x18

// The CR0 and CR4 bits that follow the guest's own into the real registers.
#define GUEST_CR0_PASS (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_AM | CR0_CD | CR0_NW)
#define GUEST_CR4_PASS (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_MCE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT)

// VMREAD/VMWRITE of the current VMCS. A failed VMWRITE is umbra's bug.
u64 vmread(u32 field)
{
	u64 v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((u64)field) : "cc");
	return v;
}

void vmwrite(u32 field, u64 v)
{
	u8 bad;
	__asm__ volatile("vmwrite %1, %2; setbe %0" : "=q"(bad) : "r"(v), "r"((u64)field) : "cc", "memory");
	if (bad)
		panic("vmx: VMWRITE of field 0x%x failed (VM-instruction error %lu)", field, vmread(VMCS_INSN_ERROR));
}

static bool vmx_insn(const char *insn_failed, u64 pa, int which)
{
	u8 bad;
	switch (which) {
	case 0: __asm__ volatile("vmxon %1; setbe %0" : "=q"(bad) : "m"(pa) : "cc", "memory"); break;
	case 1: __asm__ volatile("vmclear %1; setbe %0" : "=q"(bad) : "m"(pa) : "cc", "memory"); break;
	default: __asm__ volatile("vmptrld %1; setbe %0" : "=q"(bad) : "m"(pa) : "cc", "memory"); break;
	}
	if (bad)
		kprintf("umbra: vmx: %s failed\n", insn_failed);
	return !bad;
}

// Make vx's VMCS the current one.
void vmx_load(struct vmx_vcpu *vx)
{
	if (current == vx)
		return;
	if (!vmx_insn("VMPTRLD", (u64)(uintptr_t)vx->vmcs, 2))
		panic("vmx: VMPTRLD of a VMCS umbra made failed");
	current = vx;
}

static struct vmx_vcpu *vx_of(struct vcpu *v)
{
	struct vmx_vcpu *vx = v->hw;
	vmx_load(vx);
	return vx;
}

// A control's value: what umbra wants, plus what the CPU requires (low
// half of the capability MSR), if the CPU allows all it wants (high half).
static bool control(u32 msr, u32 want, u32 *out, const char *name, const char **why)
{
	u64 cap = rdmsr(msr);
	u32 must = (u32)cap, may = (u32)(cap >> 32);
	if ((want & may) != want) {
		static char buf[96];
		ksnprintf(buf, sizeof(buf), "VMX %s controls lack bits 0x%x umbra needs", name, want & ~may);
		*why = buf;
		return false;
	}
	*out = want | must;
	return true;
}

static bool cpu_has_vmx(void)
{
	u32 a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	return c & (1u << 5);
}

static const char *vmx_probe(void)
{
	if (!cpu_has_vmx())
		return "CPU has no VMX (CPUID 1 ECX bit 5)";
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMXON))
		return "VMX disabled by firmware (IA32_FEATURE_CONTROL locked without VMXON)";
	u64 basic = rdmsr(MSR_VMX_BASIC);
	bool tru = basic & VMX_BASIC_TRUE_CTLS;
	const char *why = NULL;
	if (!control(tru ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS, PIN_EXTINT_EXITING | PIN_NMI_EXITING,
		     &ctl_pin, "pin-based", &why) ||
	    !control(tru ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS,
		     PROC_HLT_EXITING | PROC_INVLPG_EXITING | PROC_RDPMC_EXITING | PROC_CR3_LOAD_EXITING |
			     PROC_CR3_STORE_EXITING | PROC_IO_BITMAPS | PROC_MSR_BITMAPS,
		     &ctl_proc, "processor-based", &why) ||
	    !control(tru ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS, EXIT_HOST_64 | EXIT_SAVE_DEBUG, &ctl_exit,
		     "VM-exit", &why) ||
	    !control(tru ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS, ENTRY_LOAD_DEBUG, &ctl_entry, "VM-entry",
		     &why))
		return why;
	if (!(rdmsr(tru ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS) >> 32 & PROC_IRQ_WINDOW_EXITING))
		return "VMX cannot exit at an interrupt window";
	return NULL;
}

static void host_tables_init(void)
{
	host_gdt[1] = 0x00AF9A000000FFFFull; // as the boot GDT: 64-bit code
	host_gdt[2] = 0x00CF92000000FFFFull; // data
	u64 base = (u64)(uintptr_t)&host_tss, limit = sizeof(host_tss) - 1;
	host_tss.iomap = sizeof(host_tss);
	host_gdt[3] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ull << 40 | ((base >> 24) & 0xFF) << 56;
	host_gdt[4] = base >> 32;
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) ptr = { sizeof(host_gdt) - 1, (u64)(uintptr_t)host_gdt };
	__asm__ volatile("lgdt %0; ltr %w1" ::"m"(ptr), "r"(HOST_TR) : "memory");
}

static int vmx_cpu_init(void)
{
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		// No firmware locked it (Bochs's BIOS does not): allow VMXON, lock.
		wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_VMXON | FEATURE_CONTROL_LOCK);
	}
	cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	write_cr0((read_cr0() | cr0_fixed0) & cr0_fixed1);
	write_cr4((read_cr4() | cr4_fixed0 | CR4_VMXE) & cr4_fixed1);
	u64 basic = rdmsr(MSR_VMX_BASIC);
	revision = (u32)basic & 0x7FFFFFFF;
	*(u32 *)vmxon_region = revision;
	if (!vmx_insn("VMXON", (u64)(uintptr_t)vmxon_region, 0))
		return -ERR_INVAL;
	host_tables_init();
	memset(io_bitmap, 0xFF, sizeof(io_bitmap));
	io_bitmap[0x80 / 8] &= (u8)~(1u << (0x80 % 8));
	memset(msr_bitmap, 0xFF, sizeof(msr_bitmap));

	bool tru = basic & VMX_BASIC_TRUE_CTLS;
	u64 proc_cap = rdmsr(tru ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS);
	if ((proc_cap >> 32) & PROC_SECONDARY) {
		u64 cap2 = rdmsr(MSR_VMX_PROCBASED_CTLS2);
		// The EPT/VPID capability MSR exists only with EPT or VPID.
		u64 ept_vpid = (cap2 >> 32) & (PROC2_EPT | PROC2_VPID) ? rdmsr(MSR_VMX_EPT_VPID_CAP) : 0;
		// VPIDs wrap with an all-context INVVPID: without one, no VPID.
		if (((cap2 >> 32) & PROC2_VPID) && (ept_vpid & VMX_CAP_INVVPID) && (ept_vpid & VMX_CAP_INVVPID_ALL)) {
			vpid_on = true;
			invvpid_single = ept_vpid & VMX_CAP_INVVPID_SINGLE;
			ctl_proc |= PROC_SECONDARY;
			ctl_proc2 = PROC2_VPID | (u32)cap2;
			asid_space_init(&vpids, 1u << 16);
		}
	}
	kprintf("umbra: vmx: VMCS revision %u; shadow paging (EPT not used); %s\n", revision,
		!vpid_on ? "no VPID: every VM entry and exit flushes the TLB" :
		invvpid_single ? "VPID: a stale vCPU flushes its own VPID (INVVPID single-context)" :
				 "VPID: a stale vCPU takes a fresh VPID");
	return 0;
}

static void seg_init(int i, u16 sel, u32 ar, u32 limit)
{
	vmwrite(VMCS_GUEST_ES_SEL + 2 * i, sel);
	vmwrite(VMCS_GUEST_ES_AR + 2 * i, ar);
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, limit);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * i, 0);
}

static void host_state_init(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idt;
	__asm__ volatile("sidt %0" : "=m"(idt));
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SEL, HOST_CS);
	vmwrite(VMCS_HOST_SS_SEL, HOST_DS);
	vmwrite(VMCS_HOST_DS_SEL, HOST_DS);
	vmwrite(VMCS_HOST_ES_SEL, HOST_DS);
	vmwrite(VMCS_HOST_FS_SEL, 0);
	vmwrite(VMCS_HOST_GS_SEL, 0);
	vmwrite(VMCS_HOST_TR_SEL, HOST_TR);
	vmwrite(VMCS_HOST_FS_BASE, 0);
	vmwrite(VMCS_HOST_GS_BASE, 0);
	vmwrite(VMCS_HOST_TR_BASE, (u64)(uintptr_t)&host_tss);
	vmwrite(VMCS_HOST_GDTR_BASE, (u64)(uintptr_t)host_gdt);
	vmwrite(VMCS_HOST_IDTR_BASE, idt.base);
	vmwrite(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit);
}

static int vmx_vcpu_create(struct vcpu *v)
{
	hfn_t hfn = frame_alloc(FRAME_VMM, v->vm->id);
	if (!hfn)
		return -ERR_NOMEM;
	struct vmx_vcpu *vx = &vcpus[v->vm->id];
	memset(vx, 0, sizeof(*vx));
	vx->vmcs = hfn_ptr(hfn);
	memset(vx->vmcs, 0, PAGE_SIZE);
	*(u32 *)vx->vmcs = revision;
	if (!vmx_insn("VMCLEAR", (u64)(uintptr_t)vx->vmcs, 1)) {
		frame_put(hfn);
		return -ERR_INVAL;
	}
	v->hw = vx;
	if (current == vx)
		current = NULL;
	vmx_load(vx);

	vmwrite(VMCS_PIN_CTLS, ctl_pin);
	vx->proc = ctl_proc;
	vmwrite(VMCS_PROC_CTLS, vx->proc);
	if (ctl_proc & PROC_SECONDARY)
		vmwrite(VMCS_PROC_CTLS2, ctl_proc2);
	vmwrite(VMCS_EXIT_CTLS, ctl_exit);
	vmwrite(VMCS_ENTRY_CTLS, ctl_entry);
	// #PF: every one, whatever its error code (mask 0, match 0): the shadow
	// must see each. #DF: for the log, as on SVM.
	vmwrite(VMCS_EXCEPTION_BITMAP, 1u << VEC_PF | 1u << VEC_DF);
	vmwrite(VMCS_PF_EC_MASK, 0);
	vmwrite(VMCS_PF_EC_MATCH, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0); // every CR3 load exits
	vmwrite(VMCS_IO_BITMAP_A, (u64)(uintptr_t)io_bitmap);
	vmwrite(VMCS_IO_BITMAP_B, (u64)(uintptr_t)io_bitmap + PAGE_SIZE);
	vmwrite(VMCS_MSR_BITMAP, (u64)(uintptr_t)msr_bitmap);
	vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	vmwrite(VMCS_TSC_OFFSET, 0);
	// umbra owns every bit of CR0 and CR4: a guest write of a value other
	// than its read shadow exits, a read gets the shadow.
	vmwrite(VMCS_CR0_MASK, ~0ull);
	vmwrite(VMCS_CR4_MASK, ~0ull);
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	host_state_init();

	// The multiboot entry state: flat 32-bit protected mode, paging off.
	seg_init(0, 0x18, 0xC093, 0xFFFFFFFF);           // ES
	seg_init(1, 0x10, 0xC09B, 0xFFFFFFFF);           // CS
	for (int i = 2; i < 6; i++)
		seg_init(i, 0x18, 0xC093, 0xFFFFFFFF);   // SS, DS, FS, GS
	seg_init(6, 0, VMX_AR_UNUSABLE, 0);              // LDTR
	seg_init(7, 0, 0x008B, 0xFFFF);                  // TR: a busy 32-bit TSS
	vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xFFFF);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0x3FF);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
	vmwrite(VMCS_GUEST_ACTIVITY, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	vx->dr6 = 0xFFFF0FF0;
	vx->pat = 0x0007040600070406ull;
	v->paging_changed = true;
	return 0;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *vx = v->hw;
	if (!vx)
		return;
	vmx_insn("VMCLEAR", (u64)(uintptr_t)vx->vmcs, 1); // inactive: its frame may go
	if (current == vx)
		current = NULL;
	frame_put((hfn_t)((uintptr_t)vx->vmcs >> PAGE_SHIFT));
	vx->vmcs = NULL;
	v->hw = NULL;
}

// The guest state a clone takes from its parent: everything of the
// guest-state area that umbra does not recompute at each entry.
static const u16 clone_fields[] = {
	0x0800, 0x0802, 0x0804, 0x0806, 0x0808, 0x080A, 0x080C, 0x080E,         // selectors
	0x4800, 0x4802, 0x4804, 0x4806, 0x4808, 0x480A, 0x480C, 0x480E, 0x4810, 0x4812, // limits
	0x4814, 0x4816, 0x4818, 0x481A, 0x481C, 0x481E, 0x4820, 0x4822,         // access rights
	0x6806, 0x6808, 0x680A, 0x680C, 0x680E, 0x6810, 0x6812, 0x6814, 0x6816, 0x6818, // bases
	VMCS_GUEST_DR7, VMCS_GUEST_DEBUGCTL, VMCS_GUEST_SYSENTER_CS, VMCS_GUEST_SYSENTER_ESP,
	VMCS_GUEST_SYSENTER_EIP, VMCS_GUEST_INTERRUPTIBILITY, VMCS_GUEST_PENDING_DBG,
};

static void vmx_vcpu_clone(struct vcpu *dst, const struct vcpu *src)
{
	u64 val[ARRAY_SIZE(clone_fields)];
	struct vmx_vcpu *s = vx_of((struct vcpu *)src);
	for (u32 i = 0; i < ARRAY_SIZE(clone_fields); i++)
		val[i] = vmread(clone_fields[i]);
	struct vmx_vcpu *d = vx_of(dst);
	for (u32 i = 0; i < ARRAY_SIZE(clone_fields); i++)
		vmwrite(clone_fields[i], val[i]);
	d->dr6 = s->dr6;
	d->pat = s->pat;
	d->intr_state = s->intr_state;
	dst->asid = (struct asid_tag){ 0 };
	dst->paging_changed = true;
}

// Real CR0 and CR4 from the guest's: WP and PG forced as on SVM (the shadow
// stands in for paging-off identity maps), plus what VMX requires (PE, NE,
// VMXE). False if the guest's state cannot run in VMX without unrestricted
// guest: real mode.
static bool set_real_crs(struct vcpu *v)
{
	if (!(v->cr0 & CR0_PE))
		return false;
	vmwrite(VMCS_GUEST_CR0, (((u64)v->cr0 & GUEST_CR0_PASS) | CR0_PG | CR0_WP | cr0_fixed0) & cr0_fixed1);
	vmwrite(VMCS_CR0_READ_SHADOW, v->cr0);
	vmwrite(VMCS_GUEST_CR4, (((u64)v->cr4 & GUEST_CR4_PASS) | cr4_fixed0) & cr4_fixed1);
	vmwrite(VMCS_CR4_READ_SHADOW, v->cr4);
	return true;
}

static void tlb_prepare(struct vcpu *v)
{
	if (!vpid_on) {
		// Without VPID every VM entry and exit flushes the TLB's guest
		// translations: a stale vCPU needs nothing more.
		if (v->tlb_stale)
			v->tlb_flushes++;
		v->tlb_stale = false;
		return;
	}
	enum tlb_flush f = asid_prepare(&vpids, &v->asid, v->tlb_stale, invvpid_single);
	struct {
		u64 vpid, addr;
	} desc = { v->asid.asid, 0 };
	if (f != TLB_NONE) {
		u64 type = f == TLB_FLUSH_ASID ? 1 : 2; // single-context, all-context
		__asm__ volatile("invvpid %0, %1" ::"m"(desc), "r"(type) : "cc", "memory");
		v->tlb_flushes++;
	}
	v->tlb_stale = false;
	vmwrite(VMCS_VPID, v->asid.asid);
}

static void vmx_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct vmx_vcpu *vx = vx_of(v);
	vmwrite(VMCS_GUEST_RIP, v->rip);
	vmwrite(VMCS_GUEST_RSP, v->gpr[GPR_RSP]);
	vmwrite(VMCS_GUEST_RFLAGS, v->rflags);
	if (v->paging_changed) {
		if (!set_real_crs(v)) {
			memset(e, 0, sizeof(*e));
			e->reason = EXIT_INVALID;
			e->why = "real mode (CR0.PE clear): VMX without unrestricted guest cannot run it";
			return;
		}
		v->paging_changed = false;
	}
	vmwrite(VMCS_GUEST_CR3, shadow_root_hpa(&v->shadow));
	tlb_prepare(v);
	// An interrupt shadow goes back as the CPU gave it (STI or MOV SS);
	// STI's needs IF, so a shadow umbra cannot name is MOV SS's.
	u32 block = 0;
	if (v->int_shadow)
		block = vx->intr_state ? vx->intr_state : (v->rflags & EFLAGS_IF) ? VMX_BLOCK_STI : VMX_BLOCK_MOVSS;
	if ((block & VMX_BLOCK_STI) && !(v->rflags & EFLAGS_IF))
		block = VMX_BLOCK_MOVSS;
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, block);
	// A single-step trap after an instruction umbra completed: pending
	// (BS), for the CPU to deliver before the guest's next instruction and
	// set DR6.BS itself (injected as a #DB, with DR6.BS set by umbra, the
	// guest found BS clear under Bochs). In
	// an interrupt shadow with TF set, BS must be pending too (a VM-entry
	// check): the CPU holds the trap there.
	bool step = v->dr6_bs && v->inject.valid && v->inject.type == EVENT_EXCEPTION && v->inject.vector == VEC_DB;
	if (step) {
		v->inject.valid = false;
		v->dr6_bs = false;
	}
	vmwrite(VMCS_GUEST_PENDING_DBG, step || (block && (v->rflags & EFLAGS_TF)) ? DR6_BS : 0);
	u32 proc = v->want_irq_window ? vx->proc | PROC_IRQ_WINDOW_EXITING : vx->proc & ~PROC_IRQ_WINDOW_EXITING;
	if (proc != vx->proc) {
		vx->proc = proc;
		vmwrite(VMCS_PROC_CTLS, proc);
	}
	if (v->dr6_bs) {
		vx->dr6 = (vx->dr6 & ~0xFull) | DR6_BS; // as SVM's side does
		v->dr6_bs = false;
	}
	if (v->inject.valid) {
		struct event *ev = &v->inject;
		ASSERT(ev->type != EVENT_SOFTINT); // restarted, never injected
		vmwrite(VMCS_ENTRY_INTR_INFO, ev->vector | (u32)ev->type << VMX_INTR_TYPE_SHIFT | VMX_INTR_VALID |
						      (ev->has_ec ? VMX_INTR_EC : 0));
		if (ev->has_ec)
			vmwrite(VMCS_ENTRY_EXC_EC, ev->ec);
		ev->valid = false;
	}
	// CR2 and DR6 are not in the VMCS: the registers hold the guest's
	// (written only when another value is wanted: DR6 moves are slow).
	if (read_cr2() != v->cr2)
		write_cr2(v->cr2);
	if (dr6_in_cpu != vx->dr6)
		write_dr(6, vx->dr6);
	int r = vmx_enter(v->gpr, vx->launched);
	vx->dr6 = dr6_in_cpu = read_dr(6);
	v->cr2 = (u32)read_cr2();
	if (r) {
		memset(e, 0, sizeof(*e));
		e->reason = EXIT_INVALID;
		e->why = vmx_insn_failure(v, r == 1 ? 0 : (u32)vmread(VMCS_INSN_ERROR), vx->launched);
		vmwrite(VMCS_ENTRY_INTR_INFO, 0);
		return;
	}
	vx->launched = true;
	v->rip = (u32)vmread(VMCS_GUEST_RIP);
	v->gpr[GPR_RSP] = (u32)vmread(VMCS_GUEST_RSP);
	v->rflags = vmread(VMCS_GUEST_RFLAGS);
	v->cpl = (vmread(VMCS_GUEST_ES_AR + 2 * SEG_SS) >> 5) & 3;
	vx->intr_state = (u32)vmread(VMCS_GUEST_INTERRUPTIBILITY) & (VMX_BLOCK_STI | VMX_BLOCK_MOVSS);
	v->int_shadow = vx->intr_state != 0;
	vmx_decode_exit(v, vx, e);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0); // delivered, or back in the IDT-vectoring info
}

static u32 vmx_seg_base(struct vcpu *v, enum seg s)
{
	vx_of(v);
	return (u32)vmread(VMCS_GUEST_ES_BASE + 2 * s);
}

static bool vmx_code32(struct vcpu *v)
{
	vx_of(v);
	return !(v->rflags & EFLAGS_VM) && (vmread(VMCS_GUEST_ES_AR + 2 * SEG_CS) & VMX_AR_DB);
}

static bool vmx_msr_read(struct vcpu *v, u32 msr, u64 *val)
{
	struct vmx_vcpu *vx = vx_of(v);
	switch (msr) {
	case MSR_SYSENTER_CS: *val = vmread(VMCS_GUEST_SYSENTER_CS); return true;
	case MSR_SYSENTER_ESP: *val = vmread(VMCS_GUEST_SYSENTER_ESP); return true;
	case MSR_SYSENTER_EIP: *val = vmread(VMCS_GUEST_SYSENTER_EIP); return true;
	case MSR_PAT: *val = vx->pat; return true; // kept, not loaded: see the README
	}
	return false;
}

static bool vmx_msr_write(struct vcpu *v, u32 msr, u64 val)
{
	struct vmx_vcpu *vx = vx_of(v);
	switch (msr) {
	case MSR_SYSENTER_CS: vmwrite(VMCS_GUEST_SYSENTER_CS, (u32)val); return true;
	case MSR_SYSENTER_ESP: vmwrite(VMCS_GUEST_SYSENTER_ESP, val); return true;
	case MSR_SYSENTER_EIP: vmwrite(VMCS_GUEST_SYSENTER_EIP, val); return true;
	case MSR_PAT: vx->pat = val; return true;
	}
	return false;
}

static void vmx_dump(struct vcpu *v)
{
	struct vmx_vcpu *vx = vx_of(v);
	kprintf("umbra:   vmx: exit reason=0x%x qualification=0x%lx intr=0x%lx idt-vectoring=0x%lx insn-error=%lu\n",
		vx->exit_reason, vx->qual, vmread(VMCS_EXIT_INTR_INFO), vmread(VMCS_IDT_VECTORING_INFO),
		vmread(VMCS_INSN_ERROR));
	kprintf("umbra:   vmx: real cr0=%lx cr3=%lx cr4=%lx cs=%lx/%lx ss=%lx/%lx tr=%lx/%lx rflags=%lx "
		"interruptibility=%lx\n",
		vmread(VMCS_GUEST_CR0), vmread(VMCS_GUEST_CR3), vmread(VMCS_GUEST_CR4), vmread(0x0802),
		vmread(0x4816), vmread(0x0804), vmread(0x4818), vmread(VMCS_GUEST_TR_SEL), vmread(0x4822),
		vmread(VMCS_GUEST_RFLAGS), vmread(VMCS_GUEST_INTERRUPTIBILITY));
}

const struct hv_ops vmx_ops = {
	.name = "vmx",
	.probe = vmx_probe,
	.cpu_init = vmx_cpu_init,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_clone = vmx_vcpu_clone,
	.vcpu_run = vmx_vcpu_run,
	.seg_base = vmx_seg_base,
	.code32 = vmx_code32,
	.msr_read = vmx_msr_read,
	.msr_write = vmx_msr_write,
	.dump = vmx_dump,
};

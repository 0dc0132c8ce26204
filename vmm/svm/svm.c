// The AMD SVM backend: VMCB setup, the run loop's entry and exit halves, and
// the translation of SVM exit codes into umbra's vendor-neutral vm_exit.
#include "asid.h"
#include "asm.h"
#include "frame.h"
#include "hv.h"
#include "lib.h"
#include "log.h"
#include "vmcb.h"

void svm_vmrun(u64 vmcb_pa, u64 *gpr, u64 vmload);

// The guest state VMLOAD and VMSAVE move (FS, GS, TR, LDTR with their hidden
// parts, KernelGsBase, the SYSCALL and SYSENTER MSRs) stays in the CPU from
// one exit to the next entry: umbra never uses any of it (no per-CPU GS, no
// IST in its IDT, no system calls). So it is loaded only when another vCPU's
// is in the CPU or umbra changed the VMCB's copy, and saved into the VMCB
// only when umbra reads it or another vCPU's comes in: KVM's way, and under
// QEMU's TCG each of these instructions costs as much as a fifth of an exit.
static struct vcpu *hidden_in_cpu; // whose is there (NULL: the VMCB's copy is newer)

static void vmsave(struct vmcb *vmcb)
{
	__asm__ volatile("vmsave" ::"a"((u64)(uintptr_t)vmcb) : "memory");
}

// Bring v's VMCB up to date with what the CPU holds for it.
static void hidden_save(struct vcpu *v)
{
	if (hidden_in_cpu == v)
		vmsave(v->hw);
}

// One I/O and one MSR permission map for every VM: intercept everything.
static u8 iopm[3 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 msrpm[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 host_hsave[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct asid_space asids; // as many as CPUID 8000_000A EBX says
static bool flush_by_asid;      // CPUID 8000_000A EDX bit 6: TLB_CONTROL 3 works
static bool nrips;              // CPUID 8000_000A EDX bit 3: the VMCB gives the next RIP

// The CR0 and CR4 bits the guest controls directly in the real registers.
#define GUEST_CR0_PASS (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_AM | CR0_CD | CR0_NW)
#define GUEST_CR4_PASS (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_MCE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT)

static const char *svm_probe(void)
{
	u32 a, b, c, d;
	cpuid(0x80000000, &a, &b, &c, &d);
	if (a < 0x8000000A)
		return "no extended CPUID leaf 0x8000000A";
	cpuid(0x80000001, &a, &b, &c, &d);
	if (!(c & (1u << 2)))
		return "CPU has no SVM (CPUID 8000_0001 ECX bit 2)";
	if (rdmsr(MSR_VM_CR) & (1u << 4))
		return "SVM disabled by firmware (VM_CR.SVMDIS)";
	return NULL;
}

static int svm_cpu_init(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, (u64)(uintptr_t)host_hsave);
	memset(iopm, 0xFF, sizeof(iopm));
	// Port 0x80, the PC's I/O delay port (Linux's outb_p/inb_p touch it
	// after every access), goes to the hardware unintercepted, as KVM's
	// VMX side allows: an exit for a delay only slows the guest down.
	iopm[0x80 / 8] &= (u8)~(1u << (0x80 % 8));
	memset(msrpm, 0xFF, sizeof(msrpm));
	u32 a, b, c, d;
	cpuid(0x8000000A, &a, &b, &c, &d);
	if (b < 2) // one ASID is the host's: no guest could run
		return -ERR_NOMEM;
	asid_space_init(&asids, b);
	flush_by_asid = d & (1u << 6);
	nrips = d & (1u << 3);
	kprintf("umbra: svm: %u ASIDs, handed out by generation; %s; %s\n", b,
		flush_by_asid ? "FlushByAsid: a stale vCPU flushes its own ASID" :
				"no FlushByAsid: a stale vCPU takes a fresh ASID",
		nrips ? "NRIPS: intercepted instructions' lengths checked against the decoder's" : "no NRIPS");
	return 0;
}

static void seg_set(struct vmcb_seg *s, u16 sel, u16 attr, u32 limit, u64 base)
{
	s->sel = sel;
	s->attr = attr;
	s->limit = limit;
	s->base = base;
}

static int svm_vcpu_create(struct vcpu *v)
{
	hfn_t hfn = frame_alloc(FRAME_VMM, v->vm->id);
	if (!hfn)
		return -ERR_NOMEM;
	struct vmcb *vmcb = hfn_ptr(hfn);
	v->hw = vmcb;
	if (hidden_in_cpu == v)
		hidden_in_cpu = NULL;

	struct vmcb_control *c = &vmcb->ctl;
	c->intercept_cr_read = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 8);
	c->intercept_cr_write = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 8);
	c->intercept_exc = 1u << VEC_PF | 1u << VEC_DF; // #DF: for the log (a triple fault's chain)
	c->intercept1 = SVM_INTERCEPT_INTR | SVM_INTERCEPT_NMI | SVM_INTERCEPT_HLT |
			SVM_INTERCEPT_INVLPG | SVM_INTERCEPT_INVLPGA | SVM_INTERCEPT_IOIO |
			SVM_INTERCEPT_MSR | SVM_INTERCEPT_SHUTDOWN |
			SVM_INTERCEPT_CPUID |  // the guest sees umbra's CPU, not the host's
			SVM_INTERCEPT_INVD |   // would drop the host's dirty cache lines too
			SVM_INTERCEPT_RDPMC;   // the host's counters, counting every VM
	c->intercept2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
			SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
			SVM_INTERCEPT_SKINIT;
	c->iopm_pa = (u64)(uintptr_t)iopm;
	c->msrpm_pa = (u64)(uintptr_t)msrpm;
	c->asid = 0; // given at the first entry: a fresh tag, nothing cached under it
	// Physical interrupts follow the host's IF, not the guest's: a guest
	// running with interrupts off is still preempted by umbra's timer.
	c->vintr = SVM_VINTR_MASKING;

	// The multiboot entry state: flat 32-bit protected mode, paging off.
	struct vmcb_save *s = &vmcb->save;
	seg_set(&s->cs, 0x10, 0x0C9B, 0xFFFFFFFF, 0);
	seg_set(&s->ds, 0x18, 0x0C93, 0xFFFFFFFF, 0);
	s->es = s->ss = s->fs = s->gs = s->ds;
	seg_set(&s->gdtr, 0, 0, 0xFFFF, 0);
	seg_set(&s->idtr, 0, 0, 0x3FF, 0);
	seg_set(&s->tr, 0, 0x008B, 0xFFFF, 0);
	seg_set(&s->ldtr, 0, 0x0082, 0xFFFF, 0);
	s->cpl = 0;
	s->dr6 = 0xFFFF0FF0;
	s->dr7 = 0x400;
	s->g_pat = 0x0007040600070406ull;
	v->paging_changed = true;
	return 0;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
	if (hidden_in_cpu == v)
		hidden_in_cpu = NULL;
	if (v->hw)
		frame_put((hfn_t)((uintptr_t)v->hw >> PAGE_SHIFT));
	v->hw = NULL;
}

static void svm_vcpu_clone(struct vcpu *dst, const struct vcpu *src)
{
	struct vmcb *d = dst->hw;
	const struct vmcb *s = src->hw;
	hidden_save((struct vcpu *)src);
	memcpy(&d->save, &s->save, sizeof(d->save));
	if (hidden_in_cpu == dst)
		hidden_in_cpu = NULL;
	dst->asid = (struct asid_tag){ 0 }; // its own fresh tag at its first entry
	dst->paging_changed = true;
}

static void event_from_svm(u64 info, struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (!(info & SVM_EVT_V))
		return;
	ev->valid = true;
	ev->vector = info & SVM_EVT_VECTOR_MASK;
	ev->type = (info >> SVM_EVT_TYPE_SHIFT) & 7;
	ev->has_ec = info & SVM_EVT_EV;
	ev->ec = (u32)(info >> 32);
}

static void decode_exit(struct vmcb *vmcb, u64 rip, struct vm_exit *e)
{
	u64 code = vmcb->ctl.exitcode;
	memset(e, 0, sizeof(*e));
	e->raw = code;
	e->info1 = vmcb->ctl.exitinfo1;
	e->info2 = vmcb->ctl.exitinfo2;
	event_from_svm(vmcb->ctl.exitintinfo, &e->interrupted);

	if ((u32)code == SVM_EXIT_INVALID) {
		e->reason = EXIT_INVALID;
		e->why = "VMEXIT_INVALID (the APM's consistency checks, 15.5.1)";
		return;
	}
	if (code < SVM_EXIT_CR0_WRITE) {
		e->reason = EXIT_CR_READ;
		e->cr = code - SVM_EXIT_CR0_READ;
		return;
	}
	if (code < SVM_EXIT_CR0_WRITE + 16) {
		e->reason = EXIT_CR_WRITE;
		e->cr = code - SVM_EXIT_CR0_WRITE;
		return;
	}
	switch (code) {
	case SVM_EXIT_EXCP_BASE + VEC_DF:
		e->reason = EXIT_DF;
		break;
	case SVM_EXIT_EXCP_BASE + VEC_PF:
		e->reason = EXIT_PF;
		e->pf_ec = (u32)e->info1;
		e->pf_addr = (u32)e->info2;
		break;
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
		e->reason = EXIT_INTR;
		break;
	case SVM_EXIT_VINTR:
		e->reason = EXIT_IRQ_WINDOW;
		break;
	case SVM_EXIT_HLT:
		e->reason = EXIT_HLT;
		break;
	case SVM_EXIT_CPUID:
	case SVM_EXIT_INVD:
	case SVM_EXIT_RDPMC:
		e->reason = EXIT_INSN;
		break;
	case SVM_EXIT_INVLPG:
		e->reason = EXIT_INVLPG;
		break;
	case SVM_EXIT_IOIO:
		e->reason = EXIT_IO;
		e->port = (u16)(e->info1 >> SVM_IOIO_PORT_SHIFT);
		e->io_size = (e->info1 >> SVM_IOIO_SZ_SHIFT) & 7; // one-hot 1, 2, 4
		e->io_in = e->info1 & SVM_IOIO_IN;
		e->io_string = e->info1 & SVM_IOIO_STR;
		e->io_rep = e->info1 & SVM_IOIO_REP;
		e->next_rip = (u32)e->info2;
		break;
	case SVM_EXIT_MSR:
		e->reason = EXIT_MSR;
		e->msr_write = e->info1 & 1;
		break;
	case SVM_EXIT_SHUTDOWN:
		e->reason = EXIT_SHUTDOWN;
		break;
	case SVM_EXIT_VMMCALL:
		e->reason = EXIT_VMMCALL;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		e->reason = EXIT_VIRT_INSN;
		break;
	default:
		e->reason = EXIT_OTHER;
	}
	// With NRIPS an intercepted instruction's exit gives the next RIP.
	if (nrips && vmcb->ctl.nrip > rip && vmcb->ctl.nrip - rip <= 15 &&
	    (e->reason == EXIT_CR_READ || e->reason == EXIT_CR_WRITE || e->reason == EXIT_INVLPG ||
	     e->reason == EXIT_IO || e->reason == EXIT_MSR || e->reason == EXIT_INSN || e->reason == EXIT_HLT))
		e->insn_len = (u8)(vmcb->ctl.nrip - rip);
}

static void svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct vmcb *vmcb = v->hw;
	struct vmcb_save *s = &vmcb->save;

	s->rip = v->rip;
	s->rsp = v->gpr[GPR_RSP];
	s->rax = v->gpr[GPR_RAX];
	s->rflags = v->rflags;
	s->cr2 = v->cr2;
	s->efer = v->efer | EFER_SVME;
	if (v->paging_changed) {
		// WP is forced so supervisor writes obey read-only shadow PTEs,
		// which dirty-bit tracking needs; PG is forced because the shadow
		// stands in for the guest's paging-off identity map too.
		s->cr0 = (v->cr0 & GUEST_CR0_PASS) | CR0_PG | CR0_WP;
		s->cr4 = v->cr4 & GUEST_CR4_PASS;
		v->paging_changed = false;
	}
	s->cr3 = shadow_root_hpa(&v->shadow);
	switch (asid_prepare(&asids, &v->asid, v->tlb_stale, flush_by_asid)) {
	case TLB_FLUSH_ALL:
		vmcb->ctl.tlb_control = SVM_TLB_FLUSH_ALL; // old tags are reused from here on
		v->tlb_flushes++;
		break;
	case TLB_FLUSH_ASID:
		vmcb->ctl.tlb_control = SVM_TLB_FLUSH_ASID;
		v->tlb_flushes++;
		break;
	case TLB_NONE:
		break;
	}
	v->tlb_stale = false;
	vmcb->ctl.asid = v->asid.asid;
	ASSERT(v->asid.asid > 0 && v->asid.asid < asids.limit);
	vmcb->ctl.int_shadow = v->int_shadow ? 1 : 0;
	if (v->want_irq_window) {
		// A virtual interrupt request makes the CPU exit (VINTR) the moment
		// the guest can take an interrupt.
		vmcb->ctl.vintr |= SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR;
		vmcb->ctl.intercept1 |= SVM_INTERCEPT_VINTR;
	} else {
		vmcb->ctl.vintr &= ~(SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR);
		vmcb->ctl.intercept1 &= ~SVM_INTERCEPT_VINTR;
	}
	if (v->dr6_bs) {
		// As a single-step trap leaves it: BS set, B0-B3 clear (QEMU's
		// choice too; the SDM lets B0-B3 be cleared), the rest kept.
		s->dr6 = (s->dr6 & ~0xFull) | DR6_BS;
		v->dr6_bs = false;
	}
	if (v->inject.valid) {
		struct event *ev = &v->inject;
		vmcb->ctl.eventinj = ev->vector | ((u64)ev->type << SVM_EVT_TYPE_SHIFT) |
				     SVM_EVT_V | (ev->has_ec ? SVM_EVT_EV | ((u64)ev->ec << 32) : 0);
		ev->valid = false;
	}

	// VMRUN loads CR2 from the VMCB, but Bochs's does not: the register
	// itself holds the guest's too (umbra takes no page faults of its own).
	if (read_cr2() != v->cr2)
		write_cr2(v->cr2);
	bool load = hidden_in_cpu != v;
	if (load && hidden_in_cpu)
		vmsave(hidden_in_cpu->hw); // the other vCPU's, back into its VMCB
	hidden_in_cpu = v;
	svm_vmrun((u64)(uintptr_t)vmcb, v->gpr, load);

	// Clear the injection after the exit, not before the entry, or the
	// injection just programmed is lost.
	vmcb->ctl.eventinj = 0;
	vmcb->ctl.tlb_control = 0;
	v->rip = (u32)s->rip;
	v->gpr[GPR_RSP] = (u32)s->rsp;
	v->gpr[GPR_RAX] = (u32)s->rax;
	v->rflags = s->rflags;
	v->cr2 = (u32)s->cr2;
	v->cpl = s->cpl;
	v->int_shadow = vmcb->ctl.int_shadow & 1;
	decode_exit(vmcb, s->rip, e);
}

static u32 svm_seg_base(struct vcpu *v, enum seg sg)
{
	struct vmcb_save *s = &((struct vmcb *)v->hw)->save;
	if (sg == SEG_FS || sg == SEG_GS)
		hidden_save(v); // only ES, CS, SS and DS come back with every exit
	const struct vmcb_seg *segs[] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs };
	return (u32)segs[sg]->base;
}

static bool svm_code32(struct vcpu *v)
{
	// The VMCB's attributes pack descriptor bits 40-47 and 52-55: D/B is bit 10.
	const struct vmcb_save *s = &((struct vmcb *)v->hw)->save;
	return !(v->rflags & EFLAGS_VM) && (s->cs.attr & (1u << 10));
}

static bool svm_msr_read(struct vcpu *v, u32 msr, u64 *val)
{
	struct vmcb_save *s = &((struct vmcb *)v->hw)->save;
	switch (msr) {
	case MSR_SYSENTER_CS: *val = s->sysenter_cs; return true;
	case MSR_SYSENTER_ESP: *val = s->sysenter_esp; return true;
	case MSR_SYSENTER_EIP: *val = s->sysenter_eip; return true;
	case MSR_PAT: *val = s->g_pat; return true;
	}
	return false;
}

static bool svm_msr_write(struct vcpu *v, u32 msr, u64 val)
{
	struct vmcb_save *s = &((struct vmcb *)v->hw)->save;
	if (msr != MSR_PAT) {
		// A SYSENTER MSR: the VMCB's copy becomes the newer one, loaded
		// at the next entry.
		hidden_save(v);
		if (hidden_in_cpu == v)
			hidden_in_cpu = NULL;
	}
	switch (msr) {
	case MSR_SYSENTER_CS: s->sysenter_cs = val; return true;
	case MSR_SYSENTER_ESP: s->sysenter_esp = val; return true;
	case MSR_SYSENTER_EIP: s->sysenter_eip = val; return true;
	case MSR_PAT: s->g_pat = val; return true;
	}
	return false;
}

static void svm_dump(struct vcpu *v)
{
	struct vmcb *vmcb = v->hw;
	hidden_save(v);
	struct vmcb_save *s = &vmcb->save;
	kprintf("umbra:   svm: exitcode=%lx info1=%lx info2=%lx intinfo=%lx\n",
		vmcb->ctl.exitcode, vmcb->ctl.exitinfo1, vmcb->ctl.exitinfo2, vmcb->ctl.exitintinfo);
	kprintf("umbra:   svm: real cr0=%lx cr3=%lx cr4=%lx efer=%lx cs=%x/%x ss=%x/%x cpl=%u\n",
		s->cr0, s->cr3, s->cr4, s->efer, s->cs.sel, s->cs.attr, s->ss.sel, s->ss.attr, s->cpl);
}

const struct hv_ops svm_ops = {
	.name = "svm",
	.probe = svm_probe,
	.cpu_init = svm_cpu_init,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_clone = svm_vcpu_clone,
	.vcpu_run = svm_vcpu_run,
	.seg_base = svm_seg_base,
	.code32 = svm_code32,
	.msr_read = svm_msr_read,
	.msr_write = svm_msr_write,
	.dump = svm_dump,
};

// Vendor-neutral VM-exit handling: control registers, INVLPG, shadow page
// faults, port I/O, MSRs, and event re-injection. Nothing a guest does here
// may crash umbra: bad behaviour ends that VM with a reason.
#include "asm.h"
#include "cpuid.h"
#include "insn.h"
#include "devices.h"
#include "exit.h"
#include "frame.h"
#include "hv.h"
#include "lib.h"
#include "log.h"
#include "umbra.h"

#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)

static void host_cpuid(u32 leaf, u32 sub, struct cpuid_regs *r)
{
	cpuid_count(leaf, sub, &r->eax, &r->ebx, &r->ecx, &r->edx);
}

// The CR4 and EFER bits the CPU umbra shows its guests has; the rest #GP.
static u32 cr4_valid(void)
{
	static u32 v;
	if (!v)
		v = cpuid_guest_cr4_valid(host_cpuid);
	return v;
}

static u32 efer_valid(void)
{
	static u32 v;
	static bool known;
	if (!known)
		v = cpuid_guest_efer_valid(host_cpuid), known = true;
	return v;
}

static bool is_contributory(u8 vec)
{
	return vec == VEC_DE || (vec >= VEC_TS && vec <= VEC_GP);
}

// Deliver an exception raised while the exit in e was being handled, folding
// in any event whose delivery the exit interrupted (SDM table 6-5).
static void raise_exception(struct vcpu *v, const struct vm_exit *e, u8 vec, bool has_ec, u32 ec)
{
	const struct event *prev = &e->interrupted;
	if (prev->valid && (prev->type == EVENT_EXCEPTION || prev->type == EVENT_NMI)) {
		if (prev->type == EVENT_EXCEPTION && prev->vector == VEC_DF) {
			vcpu_note_event(v, prev);
			vm_end(v->vm, UMBRA_EXIT_TRIPLE_FAULT, true,
			       "triple fault (exception %u while delivering #DF) at eip 0x%x", vec, (u32)v->rip);
			return;
		}
		bool prev_pf = prev->type == EVENT_EXCEPTION && prev->vector == VEC_PF;
		bool prev_contrib = prev->type == EVENT_EXCEPTION && is_contributory(prev->vector);
		if ((prev_pf && (vec == VEC_PF || is_contributory(vec))) ||
		    (prev_contrib && is_contributory(vec))) {
			vec = VEC_DF;
			has_ec = true;
			ec = 0;
		}
	}
	if (prev->valid && prev->type == EVENT_EXTINT) {
		// The interrupt was taken from the PIC: put it back as pending.
		struct pic8259 *pic = &v->vm->irq.pic[prev->vector >= v->vm->irq.pic[1].base &&
						      prev->vector < v->vm->irq.pic[1].base + 8];
		u8 bit = (u8)(1u << (prev->vector & 7));
		pic->isr &= (u8)~bit;
		pic->irr |= bit;
	}
	v->inject = (struct event){ true, has_ec, vec, EVENT_EXCEPTION, ec };
}

// Resume the event whose delivery the exit interrupted. A software interrupt
// (INT n, INT3, INTO) is not re-injected: RIP still points at the
// instruction, which raises it again.
static void reinject_interrupted(struct vcpu *v, const struct vm_exit *e)
{
	if (!e->interrupted.valid)
		return;
	if (e->interrupted.type == EVENT_SOFTINT) {
		v->soft_restarted++;
		return;
	}
	v->inject = e->interrupted;
	v->reinjected++;
}

static void handle_one(struct vcpu *v, const struct vm_exit *e, struct vm *vm);

static void inject_gp(struct vcpu *v, const struct vm_exit *e)
{
	raise_exception(v, e, VEC_GP, true, 0);
}

static void inject_ud(struct vcpu *v, const struct vm_exit *e)
{
	raise_exception(v, e, VEC_UD, false, 0);
}

u32 vcpu_peek(struct vcpu *v, gva_t gva, u8 *buf, u32 len)
{
	struct walk_ctx ctx = vcpu_walk_ctx(v);
	u32 done = 0;
	while (done < len) {
		struct walk w;
		gva_t at = gva + done;
		if (walk_gva(&ctx, at, WALK_PEEK, &w) != WALK_OK)
			break;
		u32 chunk = MIN(len - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
		if (gpa_read(&v->vm->gpmap, w.gpa, buf + done, chunk) < 0)
			break;
		done += chunk;
	}
	return done;
}

// Write guest-virtual memory as the guest at its CPL would: permission
// checks, A/D updates, #PF on failure. Returns false if a fault was raised or
// the VM ended.
static bool write_gva(struct vcpu *v, const struct vm_exit *e, gva_t gva, const void *buf, u32 len)
{
	struct walk_ctx ctx = vcpu_walk_ctx(v);
	u32 access = WALK_WRITE | (v->cpl == 3 ? WALK_USER : 0);
	u32 done = 0;
	while (done < len) {
		struct walk w;
		gva_t at = gva + done;
		switch (walk_gva(&ctx, at, access, &w)) {
		case WALK_OK:
			break;
		case WALK_FAULT:
			v->cr2 = at;
			raise_exception(v, e, VEC_PF, true, w.error_code);
			return false;
		case WALK_BAD_GPA:
			vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "page table at gpa 0x%x lies outside guest memory", w.bad_gpa);
			return false;
	case WALK_NOMEM:
			vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "out of host memory copying a shared page table (%lu frames free)", frame_free_count());
			return false;
		}
		u32 chunk = MIN(len - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
		if (shadow_gpa_write(&v->vm->mmu, w.gpa, (const u8 *)buf + done, chunk) < 0) {
			vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "write to gpa 0x%x outside guest memory", w.gpa);
			return false;
		}
		done += chunk;
	}
	return true;
}

// Fetch and decode the instruction at CS:EIP; on failure end the VM.
static bool fetch_insn(struct vcpu *v, struct insn *in)
{
	u8 code[15];
	gva_t pc = hv->seg_base(v, SEG_CS) + (u32)v->rip;
	u32 n = vcpu_peek(v, pc, code, sizeof(code));
	bool code32 = hv->code32(v);
	if (insn_decode(code, n, code32, in))
		return true;
	vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
	       "cannot emulate the instruction at eip 0x%x in %u-bit code (%u bytes: %02x %02x %02x %02x)",
	       (u32)v->rip, code32 ? 32 : 16, n, n > 0 ? code[0] : 0, n > 1 ? code[1] : 0,
	       n > 2 ? code[2] : 0, n > 3 ? code[3] : 0);
	return false;
}

static u32 gpr_read(struct vcpu *v, u8 reg)
{
	return (u32)v->gpr[reg];
}

static void gpr_write(struct vcpu *v, u8 reg, u32 val, u8 size)
{
	if (size == 4)
		v->gpr[reg] = val;
	else if (size == 2)
		v->gpr[reg] = (v->gpr[reg] & ~0xFFFFull) | (val & 0xFFFF);
	else
		v->gpr[reg] = (v->gpr[reg] & ~0xFFull) | (val & 0xFF);
}

static gva_t mem_operand(struct vcpu *v, const struct insn *in)
{
	u32 gpr[8];
	for (int i = 0; i < 8; i++)
		gpr[i] = (u32)v->gpr[i];
	return hv->seg_base(v, in->seg) + insn_mem_offset(in, gpr);
}

// A CR3 load or a paging-mode change: sync what the guest wrote, then use
// the root for the new state (the shadows themselves persist).
static void switch_root(struct vcpu *v)
{
	struct walk_ctx ctx = vcpu_walk_ctx(v);
	if (shadow_load_cr3(&v->shadow, &ctx) < 0)
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "out of host memory for shadow tables (%lu frames free)", frame_free_count());
}

static void set_cr0(struct vcpu *v, const struct vm_exit *e, u32 val)
{
	val = (val & CR0_VALID) | CR0_ET;
	if (((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD))) {
		inject_gp(v, e);
		return;
	}
	if (!(val & CR0_PE)) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "real mode (CR0.PE=0) is not supported");
		return;
	}
	if ((val & CR0_PG) && (v->cr4 & CR4_PAE)) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "PAE paging is not supported");
		return;
	}
	bool mode = (val ^ v->cr0) & (CR0_PG | CR0_WP | CR0_PE);
	v->cr0 = val;
	v->paging_changed = true;
	if (mode)
		switch_root(v);
}

static void set_cr4(struct vcpu *v, const struct vm_exit *e, u32 val)
{
	if (val & ~cr4_valid()) {
		inject_gp(v, e);
		return;
	}
	if ((val & CR4_PAE) && (v->cr0 & CR0_PG)) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "PAE paging is not supported");
		return;
	}
	bool mode = (val ^ v->cr4) & (CR4_PSE | CR4_PGE | CR4_PAE);
	v->cr4 = val;
	v->paging_changed = true;
	if (mode)
		switch_root(v);
}

static void set_cr3(struct vcpu *v, u32 val)
{
	v->cr3 = val;
	switch_root(v);
}

static void handle_cr(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	if (!fetch_insn(v, &in))
		return;
	switch (in.kind) {
	case INSN_MOV_FROM_CR: {
		u32 val = 0;
		switch (in.cr) {
		case 0: val = v->cr0; break;
		case 2: val = v->cr2; break;
		case 3: val = v->cr3; break;
		case 4: val = v->cr4; break;
		case 8: val = 0; break;
		default: inject_ud(v, e); return;
		}
		gpr_write(v, in.reg, val, 4);
		break;
	}
	case INSN_MOV_TO_CR: {
		u32 val = gpr_read(v, in.reg);
		switch (in.cr) {
		case 0: set_cr0(v, e, val); break;
		case 2: v->cr2 = val; break;
		case 3: set_cr3(v, val); break;
		case 4: set_cr4(v, e, val); break;
		case 8: break;
		default: inject_ud(v, e); return;
		}
		break;
	}
	case INSN_CLTS:
		set_cr0(v, e, v->cr0 & ~CR0_TS);
		break;
	case INSN_LMSW: {
		u16 src;
		if (in.has_mem) {
			u8 b[2];
			if (vcpu_peek(v, mem_operand(v, &in), b, 2) != 2) {
				vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "LMSW operand unreadable");
				return;
			}
			src = b[0] | (b[1] << 8);
		} else {
			src = (u16)gpr_read(v, in.rm);
		}
		// LMSW loads MP, EM, TS and may set PE, never clear it.
		set_cr0(v, e, (v->cr0 & ~0xEu) | (src & 0xF) | (v->cr0 & CR0_PE));
		break;
	}
	case INSN_SMSW:
		if (in.has_mem) {
			u16 w = (u16)v->cr0;
			if (!write_gva(v, e, mem_operand(v, &in), &w, 2))
				return;
		} else {
			gpr_write(v, in.rm, v->cr0, in.opsize);
		}
		break;
	default:
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "control-register exit on an instruction umbra cannot emulate at eip 0x%x",
		       (u32)v->rip);
		return;
	}
	if (v->vm->state == VM_RUNNING && !v->inject.valid)
		v->rip += in.len;
}

static void handle_invlpg(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	(void)e;
	if (!fetch_insn(v, &in))
		return;
	if (in.kind != INSN_INVLPG) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "INVLPG exit on another instruction");
		return;
	}
	shadow_invlpg(&v->shadow, mem_operand(v, &in));
	v->rip += in.len;
}

static void handle_pf(struct vcpu *v, const struct vm_exit *e)
{
	struct walk w;
	struct walk_ctx ctx = vcpu_walk_ctx(v);
	if (e->pf_ec & PFEC_RSVD) {
		// umbra never writes reserved bits into a shadow entry: a bug of
		// ours, so stop this VM (not the others) and say so.
		hv->dump(v);
		vm_end(v->vm, UMBRA_EXIT_INTERNAL, true,
		       "umbra bug: reserved-bit fault on a shadow PTE at gva 0x%x", e->pf_addr);
		return;
	}
	enum shadow_result r = shadow_page_fault(&v->shadow, &ctx, e->pf_addr, e->pf_ec, &w);
	switch (r) {
	case SHADOW_FIXED:
		reinject_interrupted(v, e);
		break;
	case SHADOW_GUEST_FAULT:
		v->cr2 = e->pf_addr;
		raise_exception(v, e, VEC_PF, true, w.error_code);
		break;
	case SHADOW_BAD_GPA:
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "access to gpa 0x%x beyond its %u MiB of memory (gva 0x%x, eip 0x%x)",
		       w.bad_gpa, v->vm->mem_mib, e->pf_addr, (u32)v->rip);
		break;
	case SHADOW_NOMEM:
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "out of host memory at gva 0x%x (%lu frames free, %lu shadow tables held)",
		       e->pf_addr, frame_free_count(), v->vm->mmu.stats.tables);
		break;
	}
}

// The clone hypercall: a 32-bit IN from HC_CLONE_PORT. Like fork, the
// parent gets the new VM's id and the clone 0; HC_FAILED when no clone
// could be made. On plain QEMU the port reads all-ones.
static void hypercall_clone(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	char err[100];
	v->rip = e->next_rip; // both resume after the IN
	u64 t0 = __builtin_ia32_rdtsc();
	struct vm *child = vm_clone(vm, err, sizeof(err));
	u64 cycles = __builtin_ia32_rdtsc() - t0;
	u64 us = tsc_to_us(cycles);
	if (!child) {
		vm_say(vm, SAID_CLONE, "clone refused: %s", err);
		v->gpr[GPR_RAX] = HC_FAILED;
		return;
	}
	v->gpr[GPR_RAX] = child->id;
	child->vcpu.gpr[GPR_RAX] = 0;
	if (v->rflags & EFLAGS_TF) {
		// Both come out of the IN: the clone takes its single-step #DB
		// too (handle_exit raises the parent's).
		child->vcpu.inject = (struct event){ true, false, VEC_DB, EVENT_EXCEPTION, 0 };
		child->vcpu.dr6_bs = true;
	}
	if (cfg.clone_deep)
		kprintf("umbra: vm%u cloned into vm%u (deep copy of %u frames in %lu us, %lu cycles)\n", vm->id,
			child->id, child->gpmap.populated, us, cycles);
	else
		kprintf("umbra: vm%u cloned into vm%u (shared copy-on-write, %u guest frames, in %lu us, %lu cycles)\n",
			vm->id, child->id, vm->gpmap.populated, us, cycles);
	if (cfg.audit_all)
		vm_audit_all("after vm%u cloned into vm%u", vm->id, child->id);
}

// The bench hook: reclaim the frame under the guest's EIP through its
// reverse map, then by scanning every shadow table, and log both costs.
static void hypercall_bench_reclaim(struct vcpu *v)
{
	struct walk_ctx ctx = vcpu_walk_ctx(v);
	struct walk w;
	gva_t pc = hv->seg_base(v, SEG_CS) + (u32)v->rip;
	if (walk_gva(&ctx, pc, WALK_PEEK, &w) != WALK_OK)
		return;
	hfn_t hfn = gpmap_lookup(&v->vm->gpmap, w.gpa >> PAGE_SHIFT);
	if (!hfn)
		return;
	u32 tables = 0, vms_live = 0;
	for (u32 i = 0; i < shadow_sp_limit(); i++)
		tables += shadow_sp_at(i) != NULL;
	for (u32 i = 1; i < MAX_VMS; i++)
		vms_live += vms[i].state == VM_RUNNING;
	u32 k = rmap_count(hfn);
	u64 t0 = __builtin_ia32_rdtsc();
	u32 n = shadow_reclaim(hfn, NULL, NULL);
	u64 t1 = __builtin_ia32_rdtsc();
	u32 m = shadow_reclaim_scan(hfn);
	u64 t2 = __builtin_ia32_rdtsc();
	kprintf("umbra: bench: reclaim of frame 0x%lx (%u mappings) with %u VMs, %u shadow tables: "
		"rmap %lu cycles (%u entries), scan %lu cycles (%u more)\n",
		hfn, k, vms_live, tables, t1 - t0, n, t2 - t1, m);
}

static void handle_io(struct vcpu *v, const struct vm_exit *e)
{
	if (e->port == HC_CLONE_PORT && e->io_in && e->io_size == 4 && !e->io_string) {
		hypercall_clone(v, e);
		return;
	}
	if (e->port == HC_BENCH_PORT && cfg.bench && !e->io_in && !e->io_string) {
		hypercall_bench_reclaim(v);
		v->rip = e->next_rip;
		return;
	}
	if (e->io_string) {
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "string I/O (INS/OUTS) on port 0x%x is not supported", e->port);
		return;
	}
	u8 size = e->io_size == 4 ? 4 : e->io_size == 2 ? 2 : 1;
	u32 val = (u32)v->gpr[GPR_RAX];
	if (e->io_in) {
		val = dev_in(v->vm, e->port, size);
		gpr_write(v, GPR_RAX, val, size);
	} else {
		dev_out(v->vm, e->port, size, val);
	}
	v->rip = e->next_rip;
}

// Instructions intercepted only to keep the host's state from the guest.
static void handle_insn(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	if (!fetch_insn(v, &in))
		return;
	switch (in.kind) {
	case INSN_CPUID: {
		struct cpuid_regs r;
		cpuid_guest((u32)v->gpr[GPR_RAX], (u32)v->gpr[GPR_RCX], host_cpuid, &r);
		v->gpr[GPR_RAX] = r.eax, v->gpr[GPR_RBX] = r.ebx, v->gpr[GPR_RCX] = r.ecx, v->gpr[GPR_RDX] = r.edx;
		v->rip += in.len;
		break;
	}
	case INSN_INVD:
		// Write-back caches stay coherent: INVD's only guest-visible
		// effect would be to lose writes, which no guest may count on.
		// A no-op, as in KVM (and QEMU).
		v->rip += in.len;
		break;
	case INSN_RDPMC:
		// No performance counters are offered: #UD, as plain QEMU gives.
		inject_ud(v, e);
		break;
	default:
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "instruction exit on another instruction at eip 0x%x",
		       (u32)v->rip);
	}
}

static void handle_msr(struct vcpu *v, const struct vm_exit *e)
{
	struct insn in;
	if (!fetch_insn(v, &in))
		return;
	u32 msr = (u32)v->gpr[GPR_RCX];
	u64 val = 0;
	if (!e->msr_write) {
		if (msr == MSR_EFER)
			val = v->efer;
		else if (msr == MSR_TSC)
			val = __builtin_ia32_rdtsc();
		else if (!hv->msr_read(v, msr, &val)) {
			vm_say(v->vm, SAID_MSR, "rdmsr 0x%x: not offered, #GP", msr);
			inject_gp(v, e);
			return;
		}
		v->gpr[GPR_RAX] = (u32)val;
		v->gpr[GPR_RDX] = (u32)(val >> 32);
	} else {
		val = ((u64)(u32)v->gpr[GPR_RDX] << 32) | (u32)v->gpr[GPR_RAX];
		if (msr == MSR_EFER) {
			if (val & ~(u64)efer_valid()) {
				// What CPUID does not show cannot be turned on (SYSCALL,
				// NX, long mode: none of them is shown).
				inject_gp(v, e);
				return;
			}
			v->efer = (u32)val;
		} else if (msr == MSR_TSC) {
			vm_say(v->vm, SAID_TSC_WRITE, "wrmsr TSC ignored");
		} else if (!hv->msr_write(v, msr, val)) {
			vm_say(v->vm, SAID_MSR, "wrmsr 0x%x: not offered, #GP", msr);
			inject_gp(v, e);
			return;
		}
	}
	v->rip += in.len;
}

void handle_exit(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	u64 rip = v->rip;
	bool stepping = v->rflags & EFLAGS_TF;
	handle_one(v, e, vm);
	if (v->rip == rip || vm->state != VM_RUNNING)
		return;
	// umbra completed an instruction for the guest. An interrupt shadow
	// (after STI or MOV SS) covers one instruction: it is over.
	v->int_shadow = false;
	// With TF set when it began, the CPU would now raise the single-step
	// #DB (a trap, DR6.BS; it goes before a pending interrupt, which waits
	// for the handler's IRET). Not after HLT, as on QEMU: the trap comes
	// after the instruction that follows the wake-up.
	if (stepping && !v->inject.valid && e->reason != EXIT_HLT) {
		v->inject = (struct event){ true, false, VEC_DB, EVENT_EXCEPTION, 0 };
		v->dr6_bs = true;
		v->single_steps++;
	}
}

static void handle_one(struct vcpu *v, const struct vm_exit *e, struct vm *vm)
{
	switch (e->reason) {
	case EXIT_PF:
		handle_pf(v, e);
		break;
	case EXIT_CR_READ:
	case EXIT_CR_WRITE:
		handle_cr(v, e);
		break;
	case EXIT_INVLPG:
		handle_invlpg(v, e);
		break;
	case EXIT_IO:
		handle_io(v, e);
		break;
	case EXIT_MSR:
		handle_msr(v, e);
		break;
	case EXIT_INSN:
		handle_insn(v, e);
		break;
	case EXIT_INTR:
		reinject_interrupted(v, e);
		break;
	case EXIT_HLT:
		if (!(v->rflags & EFLAGS_IF))
			vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "halted with interrupts disabled at eip 0x%x", (u32)v->rip);
		else if (!vm->irq.pit.armed || (vm->irq.pic[0].imr & 1))
			vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "halted waiting for an interrupt with no timer armed at eip 0x%x", (u32)v->rip);
		else {
			v->rip += 1; // HLT is one byte; the wait is the scheduler's
			v->halted = true;
		}
		break;
	case EXIT_IRQ_WINDOW:
		break; // the next entry injects what is pending
	case EXIT_SHUTDOWN:
		if (e->interrupted.valid)
			vcpu_note_event(v, &e->interrupted);
		vm_end(vm, UMBRA_EXIT_TRIPLE_FAULT, true, "triple fault (shutdown) at eip 0x%x", (u32)v->rip);
		break;
	case EXIT_DF:
		// A double fault: intercepted only so that the log can name the
		// event whose delivery raised it. Deliver it as the CPU would have.
		if (e->interrupted.valid)
			vcpu_note_event(v, &e->interrupted);
		v->inject = (struct event){ true, true, VEC_DF, EVENT_EXCEPTION, 0 };
		break;
	case EXIT_VMMCALL:
	case EXIT_SVM_INSN:
		inject_ud(v, e);
		break;
	case EXIT_INVALID:
		hv->dump(v);
		vm_end(vm, UMBRA_EXIT_INTERNAL, true, "the CPU refused the guest state (VMEXIT_INVALID)");
		break;
	case EXIT_OTHER:
	case EXIT_NR:
		hv->dump(v);
		vm_end(vm, UMBRA_EXIT_INTERNAL, true, "unexpected exit 0x%lx", e->raw);
		break;
	}
}

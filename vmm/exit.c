// Vendor-neutral VM-exit handling: the dispatch, exceptions and event
// re-injection, shadow page faults, port I/O and the hypercalls; the
// instructions umbra completes for the guest are in emulate.c. Nothing a
// guest does here may crash umbra: bad behaviour ends that VM with a reason.
#include "asm.h"
#include "devices.h"
#include "exit.h"
#include "exit_int.h"
#include "frame.h"
#include "hv.h"
#include "intr.h"
#include "lib.h"
#include "log.h"
#include "umbra.h"

static bool is_contributory(u8 vec)
{
	return vec == VEC_DE || (vec >= VEC_TS && vec <= VEC_GP);
}

// Deliver an exception raised while the exit in e was being handled, folding
// in any event whose delivery the exit interrupted (SDM table 6-5).
void raise_exception(struct vcpu *v, const struct vm_exit *e, u8 vec, bool has_ec, u32 ec)
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
	if (prev->valid && prev->type == EVENT_EXTINT)
		intr_undeliver(v, prev->vector); // back to pending where it came from
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

void inject_gp(struct vcpu *v, const struct vm_exit *e)
{
	raise_exception(v, e, VEC_GP, true, 0);
}

void inject_ud(struct vcpu *v, const struct vm_exit *e)
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
		if (mmio_at(w.bad_gpa)) {
			mmio_access(v, e, w.bad_gpa);
			break;
		}
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "access to gpa 0x%x beyond its %u MiB of memory (gva 0x%x, eip 0x%x)",
		       w.bad_gpa, v->vm->mem_mib, e->pf_addr, (u32)v->rip);
		break;
	case SHADOW_BAD_TABLE:
		vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "a page table of gva 0x%x at gpa 0x%x lies beyond its %u MiB of memory (eip 0x%x)",
		       e->pf_addr, w.bad_gpa, v->vm->mem_mib, (u32)v->rip);
		break;
	case SHADOW_NOMEM:
		if (w.err == -ERR_IO)
			vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "the swap disk failed to read back guest memory at gva 0x%x (gpa 0x%x)", e->pf_addr,
			       w.bad_gpa);
		else {
			char why[160];
			vm_end(v->vm, UMBRA_EXIT_GUEST_STOPPED, true, "%s, at gva 0x%x (%lu shadow tables held)",
			       vm_oom_reason(why, sizeof(why)), e->pf_addr, v->vm->mmu.stats.tables);
		}
		break;
	}
}

// The #DB a CPU raises after an instruction that began with EFLAGS.TF set
// (DR6.BS is set at the entry that delivers it).
static void single_step_trap(struct vcpu *v)
{
	v->inject = (struct event){ true, false, VEC_DB, EVENT_EXCEPTION, 0 };
	v->dr6_bs = true;
}

// The clone hypercall: a 32-bit IN from HC_CLONE_PORT. Like fork, the
// parent gets the new VM's id and the clone 0; HC_FAILED when no clone
// could be made. On plain QEMU the port reads all-ones. A 32-bit OUT of N
// to the port before asks for N clones at once (from the same state, the
// parent not running in between): the parent gets the last one's id.
static void hypercall_clone(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	char err[100];
	u32 want = vm->clone_batch ? vm->clone_batch : 1, made = 0;
	vm->clone_batch = 0;
	v->rip = e->next_rip; // all resume after the IN
	u64 tables0 = frame_count_of_type(FRAME_SHADOW), batch_t0 = __builtin_ia32_rdtsc();
	v->gpr[GPR_RAX] = HC_FAILED;
	for (; made < want; made++) {
		u64 tables = frame_count_of_type(FRAME_SHADOW);
		u64 t0 = __builtin_ia32_rdtsc();
		struct vm *child = vm_clone(vm, err, sizeof(err));
		u64 cycles = __builtin_ia32_rdtsc() - t0;
		u64 us = tsc_to_us(cycles);
		if (!child) {
			vm_say(vm, SAID_CLONE, "clone refused: %s", err);
			break;
		}
		v->gpr[GPR_RAX] = child->id;
		child->vcpu.gpr[GPR_RAX] = 0;
		if (v->rflags & EFLAGS_TF) {
			// Both come out of the IN: the clone takes its single-step #DB
			// too (handle_exit raises the parent's).
			single_step_trap(&child->vcpu);
		}
		if (cfg.clone_deep)
			kprintf("umbra: vm%u cloned into vm%u (deep copy of %u frames in %lu us, %lu cycles)\n", vm->id,
				child->id, child->gpmap.populated, us, cycles);
		else
			kprintf("umbra: vm%u cloned into vm%u (shared copy-on-write, %u guest frames, in %lu us, %lu cycles; "
				"shadow tables %lu before, %lu after)\n", vm->id, child->id, vm->gpmap.populated, us, cycles,
				tables, frame_count_of_type(FRAME_SHADOW));
		if (cfg.audit_all)
			vm_audit_all("after vm%u cloned into vm%u", vm->id, child->id);
	}
	if (want > 1)
		kprintf("umbra: vm%u cloned %u of %u at once in %lu us; shadow tables %lu before, %lu after\n", vm->id, made,
			want, tsc_to_us(__builtin_ia32_rdtsc() - batch_t0), tables0, frame_count_of_type(FRAME_SHADOW));
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
	if (e->port == HC_CLONE_PORT && !e->io_in && e->io_size == 4 && !e->io_string) {
		// How many clones the next clone hypercall makes (at most a VM
		// slot each; more is refused there, cleanly, as slots run out).
		u32 n = (u32)v->gpr[GPR_RAX];
		v->vm->clone_batch = n > MAX_VMS ? MAX_VMS : n;
		v->rip = e->next_rip;
		return;
	}
	if (e->port == HC_BENCH_PORT && cfg.bench && !e->io_in && !e->io_string) {
		hypercall_bench_reclaim(v);
		v->rip = e->next_rip;
		return;
	}
	if (e->io_string) {
		handle_string_io(v, e);
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

void handle_exit(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	u64 rip = v->rip;
	bool stepping = v->rflags & EFLAGS_TF;
	vm_make_room();
	handle_one(v, e, vm);
	if (v->rip == rip || vm->state != VM_RUNNING)
		return;
	// The CPU's length of the instruction (VMX, SVM's next RIP) against
	// the decoder's, by which umbra moved RIP: a check of the decoder.
	if (e->insn_len && e->reason != EXIT_HLT) {
		v->len_checked++;
		if ((u32)(v->rip - rip) != e->insn_len && v->len_differ++ == 0)
			kprintf("umbra: vm%u: umbra bug: the instruction at eip 0x%x is %u bytes to the CPU, %u to umbra's "
				"decoder\n", vm->id, (u32)rip, e->insn_len, (u32)(v->rip - rip));
	}
	// umbra completed an instruction for the guest. An interrupt shadow
	// (after STI or MOV SS) covers one instruction: it is over.
	v->int_shadow = false;
	// With TF set when it began, the CPU would now raise the single-step
	// #DB (a trap, DR6.BS; it goes before a pending interrupt, which waits
	// for the handler's IRET). Not after HLT, as on QEMU: the trap comes
	// after the instruction that follows the wake-up.
	if (stepping && !v->inject.valid && e->reason != EXIT_HLT) {
		single_step_trap(v);
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
		else if (vm_next_deadline(vm) == ~0ull && !uart_can_wake(vm) && !vpit_tick_armed(vm) && !intr_waiting(vm))
			vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "halted waiting for an interrupt with no timer armed and no input enabled at eip 0x%x",
			       (u32)v->rip);
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
	case EXIT_VIRT_INSN:
		inject_ud(v, e);
		break;
	case EXIT_INVALID:
		hv->dump(v);
		// Whole in the log; the VM's reason may cut it short.
		kprintf("umbra: vm%u: the CPU refused to enter it: %s\n", vm->id, e->why ? e->why : "no reason given");
		vm_end(vm, UMBRA_EXIT_INTERNAL, true, "the CPU refused to enter it: %s", e->why ? e->why : "no reason given");
		break;
	case EXIT_OTHER:
	case EXIT_NR:
		hv->dump(v);
		vm_end(vm, UMBRA_EXIT_INTERNAL, true, "unexpected exit 0x%lx%s%s", e->raw, e->why ? ": " : "",
		       e->why ? e->why : "");
		break;
	}
}

// The scheduler: every running VM in turn, SLICE_TICKS host ticks at a time.
// A host timer interrupt during a VM's run is an INTR exit, so a VM that
// never exits by itself is still preempted. umbra never uses the FPU, so the
// FPU/SSE state belongs to the VM that ran last and moves on a switch only.
#include "asm.h"
#include "console.h"
#include "irq.h"
#include "log.h"
#include "umbra.h"

#define SLICE_TICKS 2

static struct vm *fpu_owner;

static void give_fpu(struct vm *vm)
{
	if (fpu_owner == vm)
		return;
	if (fpu_owner)
		fxsave(fpu_owner->vcpu.fpu);
	fxrstor(vm->vcpu.fpu);
	fpu_owner = vm;
}

void sched_save_fpu(struct vm *vm)
{
	if (fpu_owner == vm)
		fxsave(vm->vcpu.fpu);
}

void sched_run(void (*finish)(struct vm *vm))
{
	u64 deadline = cfg.deadline_s ? ticks + (u64)cfg.deadline_s * TICK_HZ : 0;
	sti();
	for (;;) {
		bool any = false, ran = false;
		for (u32 i = 1; i < MAX_VMS; i++) {
			struct vm *vm = &vms[i];
			if (vm->state != VM_RUNNING)
				continue;
			any = true;
			if (deadline && ticks >= deadline)
				vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true, "umbra's deadline=%u s passed",
				       cfg.deadline_s);
			else {
				give_fpu(vm);
				vm_run_slice(vm, ticks + SLICE_TICKS);
				ran |= !vm->vcpu.halted;
			}
			if (vm->state == VM_ENDED) {
				if (fpu_owner == vm)
					fpu_owner = NULL;
				finish(vm);
			}
		}
		console_poll();
		if (!any)
			break;
		if (!ran)
			hlt(); // every VM waits for an interrupt: so does umbra, until the next tick
	}
	cli();
}

// The scheduler: every running VM in turn, SLICE_TICKS host ticks at a time.
// A host timer interrupt during a VM's run is an INTR exit, so a VM that
// never exits by itself is still preempted. The CPU state that VMRUN does
// not switch and umbra never uses itself (FPU/SSE, DR0-DR3) belongs to the
// VM that ran last and moves on a switch only.
#include "asm.h"
#include "console.h"
#include "hosttimer.h"
#include "lib.h"
#include "irq.h"
#include "log.h"
#include "umbra.h"

#define SLICE_TICKS 2

static struct vm *cpu_owner; // whose FPU and DR0-DR3 are in the CPU

static void save_cpu_state(struct vm *vm)
{
	fxsave(vm->vcpu.fpu);
	for (int i = 0; i < 4; i++)
		vm->vcpu.dr[i] = (u32)read_dr(i);
}

static void give_cpu_state(struct vm *vm)
{
	if (cpu_owner == vm)
		return;
	if (cpu_owner)
		save_cpu_state(cpu_owner);
	fxrstor(vm->vcpu.fpu);
	for (int i = 0; i < 4; i++)
		write_dr(i, vm->vcpu.dr[i]);
	cpu_owner = vm;
}

void sched_save_state(struct vm *vm)
{
	if (cpu_owner == vm)
		save_cpu_state(vm);
}

void sched_forget(struct vm *vm)
{
	if (cpu_owner == vm)
		cpu_owner = NULL;
}

// The earliest moment (TSC) a device of a running VM raises an interrupt.
static u64 next_guest_deadline(void)
{
	u64 next = ~0ull;
	for (u32 i = 1; i < MAX_VMS; i++) {
		struct vm *vm = &vms[i];
		if (vm->state == VM_RUNNING)
			next = MIN(next, vm_next_deadline(vm));
	}
	return next;
}

void sched_run(void (*finish)(struct vm *vm))
{
	u64 deadline = cfg.deadline_s ? ticks + (u64)cfg.deadline_s * TICK_HZ : 0;
	u64 next_dedup = cfg.dedup_every_s ? ticks + (u64)cfg.dedup_every_s * TICK_HZ : 0;
	sti();
	for (;;) {
		// dedup_every=S: a deduplication pass every S seconds, between
		// slices (no guest frame in use by umbra's own code then).
		if (next_dedup && ticks >= next_dedup) {
			vm_dedup(false);
			next_dedup = ticks + (u64)cfg.dedup_every_s * TICK_HZ;
		}
		bool any = false, ran = false;
		for (u32 i = 1; i < MAX_VMS; i++) {
			struct vm *vm = &vms[i];
			if (vm->state == VM_RUNNING) {
				any = true;
				if (deadline && ticks >= deadline)
					vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true, "umbra's deadline=%u s passed",
					       cfg.deadline_s);
				else {
					give_cpu_state(vm);
					vm_run_slice(vm, ticks + SLICE_TICKS);
					ran |= !vm->vcpu.halted;
				}
			}
			// Whatever ended it (its own exit, umbra, the console's kill
			// between two slices), a VM is reported and freed here.
			if (vm->state == VM_ENDED) {
				any = true;
				finish(vm);
			}
		}
		console_poll();
		if (console_quit) {
			for (u32 i = 1; i < MAX_VMS; i++)
				vm_end(&vms[i], UMBRA_EXIT_GUEST_STOPPED, true, "umbra quit from the console");
		}
		if (!any)
			break;
		if (!ran)
			hosttimer_sleep_until(next_guest_deadline()); // every VM waits for an interrupt
	}
	cli();
}

// Console commands about VMs: list, show, kill, clone, and quit umbra.
#include "asm.h"
#include "console.h"
#include "console_int.h"
#include "hv.h"
#include "lib.h"
#include "log.h"
#include "printf.h"

static const char *state_name(const struct vm *vm)
{
	if (vm->state == VM_ENDED)
		return "ended";
	return vm->vcpu.halted ? "halted" : "running";
}

void cmd_vms(int argc, char **argv)
{
	u64 from;
	if (!arg_from(argc, argv, 1, &from))
		return;
	kprintf("  id  state    mem     tag parent     exits  shadow-faults  tables  clones\n");
	u32 shown = 0, more = 0;
	for (u32 i = 1; i < MAX_VMS; i++) {
		const struct vm *vm = &vms[i];
		if (vm->state == VM_EMPTY || i < from)
			continue;
		if (shown == PAGE_LINES) {
			more++;
			continue;
		}
		char parent[8] = "-";
		if (vm->parent)
			ksnprintf(parent, sizeof(parent), "vm%u", vm->parent);
		kprintf("  %-3u %-8s %4uM  %4u %-6s %9lu  %13lu  %6lu  %6lu\n", vm->id, state_name(vm), vm->mem_mib,
			vm->vcpu.asid.asid, parent, vm->vcpu.exits_total, vm->mmu.stats.faults, vm->mmu.stats.tables,
			vm->clones);
		shown++;
	}
	if (more)
		kprintf("  ... %u more: 'vms from N' lists from id N\n", more);
}

void cmd_vm(int argc, char **argv)
{
	struct vm *vm = arg_vm(argv[1]);
	(void)argc;
	if (!vm)
		return;
	const struct vcpu *v = &vm->vcpu;
	kprintf("vm%u: %s, %u MiB, TLB tag %u (ASID or VPID; generation %lu), parent %u, cmdline '%s'\n", vm->id, state_name(vm),
		vm->mem_mib, vm->vcpu.asid.asid, vm->vcpu.asid.gen, vm->parent, vm->cmdline);
	if (vm->state == VM_ENDED)
		kprintf("  ended: status %u%s: %s\n", vm->exit_status, vm->stopped_by_umbra ? " (by umbra)" : "",
			vm->reason);
	kprintf("  eax %08lx ebx %08lx ecx %08lx edx %08lx esi %08lx edi %08lx\n", v->gpr[GPR_RAX] & 0xFFFFFFFF,
		v->gpr[GPR_RBX] & 0xFFFFFFFF, v->gpr[GPR_RCX] & 0xFFFFFFFF, v->gpr[GPR_RDX] & 0xFFFFFFFF,
		v->gpr[GPR_RSI] & 0xFFFFFFFF, v->gpr[GPR_RDI] & 0xFFFFFFFF);
	kprintf("  ebp %08lx esp %08lx eip %08lx eflags %08lx cpl %u\n", v->gpr[GPR_RBP] & 0xFFFFFFFF,
		v->gpr[GPR_RSP] & 0xFFFFFFFF, v->rip & 0xFFFFFFFF, v->rflags & 0xFFFFFFFF, v->cpl);
	kprintf("  guest cr0 %08x cr2 %08x cr3 %08x cr4 %08x\n", v->cr0, v->cr2, v->cr3, v->cr4);
	kprintf("  exits %lu: pf %lu cr %lu invlpg %lu io %lu msr %lu hlt %lu intr %lu irq-window %lu\n",
		v->exits_total, v->exits[EXIT_PF], v->exits[EXIT_CR_READ] + v->exits[EXIT_CR_WRITE],
		v->exits[EXIT_INVLPG], v->exits[EXIT_IO], v->exits[EXIT_MSR], v->exits[EXIT_HLT],
		v->exits[EXIT_INTR], v->exits[EXIT_IRQ_WINDOW]);
	const struct shadow_stats *st = &vm->mmu.stats;
	kprintf("  shadow: %lu faults, %lu fills, %lu reflected, %lu CR3 loads, %lu invlpg, %lu tables own now\n",
		st->faults, st->fills, st->guest_faults, st->cr3_loads, st->invlpgs, st->tables);
	kprintf("  copy-on-write: %lu frames copied, %lu shared tables copied, %lu taken over; %lu guest table writes trapped\n",
		st->cow_breaks, st->sp_copies, st->sp_taken, st->unsyncs);
	kprintf("  TLB flushes %lu, interrupts injected %lu, reclaims %lu\n", v->tlb_flushes, v->irqs_injected,
		vm->reclaims);
	vlapic_show(vm);
	vioapic_show(vm);
}

void cmd_kill(int argc, char **argv)
{
	struct vm *vm = arg_running_vm(argv[1], "killed");
	(void)argc;
	if (!vm)
		return;
	vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true, "killed from the console");
	kprintf("vm%u killed\n", vm->id);
}

bool console_quit;

void cmd_quit(int argc, char **argv)
{
	(void)argc, (void)argv;
	u32 running = 0;
	for (u32 i = 1; i < MAX_VMS; i++)
		running += vms[i].state == VM_RUNNING;
	kprintf("umbra: quitting%s\n", running ? ": the VMs still running are stopped" : "");
	console_quit = true;
}

void cmd_clone(int argc, char **argv)
{
	struct vm *vm = arg_running_vm(argv[1], "cloned");
	(void)argc;
	if (!vm)
		return;
	char err[100];
	u64 t0 = rdtsc();
	struct vm *child = vm_clone(vm, err, sizeof(err));
	if (!child) {
		kprintf("error: clone of vm%u refused: %s\n", vm->id, err);
		return;
	}
	kprintf("vm%u cloned into vm%u (%s, %lu us)\n", vm->id, child->id, cfg.clone_deep ? "deep copy" : "shared copy-on-write",
		tsc_to_us(rdtsc() - t0));
}

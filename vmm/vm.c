// VM lifecycle: create from a module or as a clone, run a slice (the
// scheduler, sched.c, picks whose), end, destroy; guest-caused messages.
// One vCPU per VM for now.
#include "audit.h"
#include "console.h"
#include "swap.h"
#include "dedup.h"
#include "exit.h"
#include "frame.h"
#include "hv.h"
#include "lib.h"
#include "loader.h"
#include "log.h"
#include "printf.h"
#include "hosttimer.h"
#include "intr.h"
#include "irq.h"
#include "umbra.h"
#include <stdarg.h>

struct vm vms[MAX_VMS];

#define DEFAULT_MEM_MIB 64
#define MAX_MEM_MIB 3072

#define GUEST_CMDLINE_MAX 1400 // what the multiboot info page has room for

// Split a module's command line: words "umbra.NAME=VALUE" are umbra's
// settings for the VM (umbra.mem=MiB); everything else, spacing included,
// is the guest's command line, exactly as plain QEMU's -append would hand
// it over. False, with the reason, on a bad or unknown setting.
static bool split_cmdline(const char *line, char *guest, size_t guestlen, u32 *mib, char *err, size_t errlen)
{
	*mib = DEFAULT_MEM_MIB;
	size_t out = 0;
	const char *gap = line; // whitespace before the next word, kept only if the word is
	for (const char *p = line; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if (w == p)
			break;
		if (p - w >= 6 && strncmp(w, "umbra.", 6) == 0) {
			if (p - w < 10 || strncmp(w, "umbra.mem=", 10) != 0) {
				char word[48];
				size_t len = MIN((size_t)(p - w), sizeof(word) - 1);
				memcpy(word, w, len);
				word[len] = '\0';
				ksnprintf(err, errlen, "unknown setting '%s' (umbra.mem=MiB is the one there is)", word);
				return false;
			}
			u64 n;
			if (!parse_number(w + 10, p, MAX_MEM_MIB, &n) || n < 2) {
				ksnprintf(err, errlen, "umbra.mem= takes a size in MiB (2..%u)", MAX_MEM_MIB);
				return false;
			}
			*mib = (u32)n;
		} else {
			size_t n = (size_t)(p - gap);
			if (out + n >= guestlen) {
				ksnprintf(err, errlen, "command line longer than %u bytes", (u32)guestlen - 1);
				return false;
			}
			memcpy(guest + out, gap, n);
			out += n;
		}
		gap = p;
	}
	guest[out] = '\0';
	return true;
}

// A free VM slot, zeroed, with its id; NULL when all are taken.
static struct vm *vm_slot(char *err, size_t errlen)
{
	for (u16 i = 1; i < MAX_VMS; i++) {
		if (vms[i].state == VM_EMPTY) {
			struct vm *vm = &vms[i];
			memset(vm, 0, sizeof(*vm));
			vm->id = i;
			vm->vcpu.vm = vm;
			return vm;
		}
	}
	ksnprintf(err, errlen, "too many VMs (at most %u)", MAX_VMS - 1);
	return NULL;
}

struct vm *vm_create_from_module(const u8 *image, u32 size, const u8 *initrd, u32 initrd_size,
				 const char *cmdline, char *err, size_t errlen)
{
	struct vm *vm = vm_slot(err, errlen);
	if (!vm)
		return NULL;
	u16 id = vm->id;
	char guest_cmdline[GUEST_CMDLINE_MAX + 1];
	if (!split_cmdline(cmdline, guest_cmdline, sizeof(guest_cmdline), &vm->mem_mib, err, errlen))
		return NULL;
	cmdline = guest_cmdline;
	size_t n = MIN(strlen(cmdline), sizeof(vm->cmdline) - 1);
	memcpy(vm->cmdline, cmdline, n);
	gpmap_init(&vm->gpmap, vm->mem_mib << (20 - PAGE_SHIFT), id);
	devices_reset(&vm->dev, vm->mem_mib);
	vm->pvclock_base_tsc = __builtin_ia32_rdtsc();
	vm->vcpu.vm = vm;
	// The FPU as FNINIT leaves it, plus SSE's default MXCSR.
	vm->vcpu.fpu[0] = 0x7F;
	vm->vcpu.fpu[1] = 0x03;
	vm->vcpu.fpu[24] = 0x80;
	vm->vcpu.fpu[25] = 0x1F;
	if (shadow_init(&vm->mmu, &vm->gpmap, id) < 0) {
		ksnprintf(err, errlen, "out of host memory");
		return NULL;
	}
	shadow_vcpu_init(&vm->vcpu.shadow, &vm->mmu);
	int r = (vm->lapic_page = frame_alloc(FRAME_GUEST, id)) ? 0 : -ERR_NOMEM;
	if (r < 0)
		ksnprintf(err, errlen, "out of host memory");
	else
		r = loader_load(vm, image, size, initrd, initrd_size, cmdline, err, errlen);
	struct walk_ctx ctx = vcpu_walk_ctx(&vm->vcpu);
	if (r == 0 && shadow_load_cr3(&vm->vcpu.shadow, &ctx) < 0) {
		ksnprintf(err, errlen, "out of host memory for the first shadow table");
		r = -ERR_NOMEM;
	}
	if (r == 0 && hv->vcpu_create(&vm->vcpu) < 0) {
		ksnprintf(err, errlen, "out of host memory for the vCPU");
		r = -ERR_NOMEM;
	}
	if (r < 0) {
		vm_destroy(vm);
		return NULL;
	}
	vm->state = VM_RUNNING;
	return vm;
}

struct vm *vm_clone(struct vm *parent, char *err, size_t errlen)
{
	struct vm *vm = vm_slot(err, errlen);
	if (!vm)
		return NULL;
	vm->mem_mib = parent->mem_mib;
	vm->parent = parent->id;
	memcpy(vm->cmdline, parent->cmdline, sizeof(vm->cmdline));
	vm->dev = parent->dev;
	vm->dev.uart.q_count = 0; // typed input was for the parent
	vlapic_cloned(vm, parent);
	vm->pvclock_base_tsc = parent->pvclock_base_tsc; // one clock for both
	gpmap_init(&vm->gpmap, parent->gpmap.nr_frames, vm->id);
	int r = shadow_init(&vm->mmu, &vm->gpmap, vm->id);
	shadow_vcpu_init(&vm->vcpu.shadow, &vm->mmu);
	if (r == 0 && !(vm->lapic_page = frame_alloc(FRAME_GUEST, vm->id)))
		r = -ERR_NOMEM;
	if (!cfg.clone_deep) {
		// Copy-on-write: the clone's map names the parent's leaves.
		gpmap_share(&vm->gpmap, &parent->gpmap);
	}
	// clone=deep (for comparison): every guest frame the parent has, copied now.
	// (A swapped-out frame of the parent's is read back for the copy.)
	for (gfn_t g = 0; cfg.clone_deep && r == 0 && gpmap_next_entry(&parent->gpmap, &g); g++) {
		swap_make_room(2);
		hfn_t from = gpmap_resident(&parent->gpmap, g, &r);
		hfn_t h = from ? gpmap_populate(&vm->gpmap, g, &r) : 0;
		if (h)
			memcpy(hfn_ptr(h), hfn_ptr(from), PAGE_SIZE);
	}
	struct vcpu *v = &vm->vcpu, *pv = &parent->vcpu;
	if (r == 0 && hv->vcpu_create(v) < 0)
		r = -ERR_NOMEM;
	if (r == 0 && !cfg.clone_deep)
		r = shadow_clone(&v->shadow, &pv->shadow);
	if (r == 0) {
		hv->vcpu_clone(v, pv);
		memcpy(v->gpr, pv->gpr, sizeof(v->gpr));
		v->rip = pv->rip;
		v->rflags = pv->rflags;
		v->cr0 = pv->cr0, v->cr3 = pv->cr3, v->cr4 = pv->cr4, v->cr2 = pv->cr2;
		v->efer = pv->efer;
		v->cpl = pv->cpl;
		sched_save_state(parent);
		memcpy(v->fpu, pv->fpu, sizeof(v->fpu));
		memcpy(v->dr, pv->dr, sizeof(v->dr));
		v->pvclock_time_msr = pv->pvclock_time_msr;
		v->pvclock_wall_msr = pv->pvclock_wall_msr;
		struct walk_ctx ctx = vcpu_walk_ctx(v);
		r = shadow_load_cr3(&v->shadow, &ctx);
	}
	if (r < 0) {
		ksnprintf(err, errlen, "out of host memory (%lu frames free)", frame_free_count());
		vm_destroy(vm);
		return NULL;
	}
	vm->state = VM_RUNNING;
	parent->clones++;
	return vm;
}

static void print_violation(void *arg, const struct audit_violation *v)
{
	struct vm *vm = arg;
	kprintf("umbra: vm%u: audit: %s: gva 0x%x found 0x%x expected 0x%x frame 0x%lx\n", vm->id,
		audit_kind_name(v->kind), v->gva, v->found, v->expected, v->hfn);
}

u32 vm_audit(struct vm *vm)
{
	struct audit_result res;
	if (shadow_audit(&vm->mmu, print_violation, vm, &res) == 0)
		kprintf("umbra: vm%u: audit: OK (%lu shadow tables, %lu shadow PDEs, %lu shadow PTEs, %lu reverse-map entries, %lu guest frames)\n",
			vm->id, res.tables, res.spdes, res.sptes, res.rmap_entries, res.guest_frames);
	else
		kprintf("umbra: vm%u: audit: %u violation(s)\n", vm->id, res.violations);
	return res.violations;
}

u32 vm_audit_all(const char *fmt, ...)
{
	char when[64];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(when, sizeof(when), fmt, ap);
	va_end(ap);
	u32 n = 0, bad = 0;
	struct audit_result sum = { 0 };
	for (u32 i = 1; i < MAX_VMS; i++) {
		if (vms[i].state == VM_EMPTY)
			continue;
		struct audit_result res;
		u32 v = shadow_audit(&vms[i].mmu, print_violation, &vms[i], &res);
		n++;
		bad += v;
		sum.tables += res.tables, sum.sptes += res.sptes, sum.rmap_entries += res.rmap_entries;
	}
	if (bad)
		kprintf("umbra: audit %s: %u violation(s) in %u VMs\n", when, bad, n);
	else
		kprintf("umbra: audit %s: OK (%u VMs, %lu tables, %lu shadow PTEs, %lu reverse-map entries, %lu shared tables)\n",
			when, n, sum.tables, sum.sptes, sum.rmap_entries, shadow_global.shared_tables);
	return bad;
}

struct vm_totals vm_retired;

// Add a VM's counters to the totals of VMs gone.
static void retire_counters(struct vm *vm)
{
	const struct vcpu *v = &vm->vcpu;
	for (int i = 0; i < EXIT_NR; i++)
		vm_retired.exits[i] += v->exits[i];
	shadow_stats_add(&vm_retired.shadow, &vm->mmu.stats);
	vm_retired.tlb_flushes += v->tlb_flushes;
	vm_retired.reclaims += vm->reclaims;
	vm_retired.vms++;
}

void vm_destroy(struct vm *vm)
{
	if (vm->state != VM_EMPTY)
		retire_counters(vm);
	sched_forget(vm);
	hv->vcpu_destroy(&vm->vcpu);
	shadow_vcpu_destroy(&vm->vcpu.shadow);
	shadow_destroy(&vm->mmu);
	gpmap_destroy(&vm->gpmap);
	if (vm->lapic_page)
		frame_put(vm->lapic_page);
	vm->lapic_page = 0;
	vm->state = VM_EMPTY;
}

void vm_end(struct vm *vm, u32 status, bool by_umbra, const char *fmt, ...)
{
	if (vm->state != VM_RUNNING)
		return;
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
	va_end(ap);
	vm->state = VM_ENDED;
	vm->exit_status = status;
	vm->stopped_by_umbra = by_umbra;
	vm->end_tsc = __builtin_ia32_rdtsc();
	if (vm->line_len)
		vm_console_putc(vm, '\n');
}

static const char *const said_name[SAID_NR] = {
	[SAID_MSR] = "MSR not offered", [SAID_TSC_WRITE] = "TSC write ignored",
	[SAID_PORT] = "port without a device", [SAID_CLONE] = "clone refused", [SAID_TIMER] = "timer",
	[SAID_APIC] = "interrupt refused",
};

void vm_say(struct vm *vm, enum vm_said kind, const char *fmt, ...)
{
	u32 n = ++vm->said[kind];
	if (n > VM_SAID_BURST)
		return;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("umbra: vm%u: %s%s\n", vm->id, msg,
		n == VM_SAID_BURST ? " (more of these are counted, not shown)" : "");
}

void vm_said_report(struct vm *vm)
{
	for (int k = 0; k < SAID_NR; k++)
		if (vm->said[k] > VM_SAID_BURST)
			kprintf("umbra: vm%u: %u more '%s' messages not shown (%u in all)\n", vm->id,
				vm->said[k] - VM_SAID_BURST, said_name[k], vm->said[k]);
}

// Guests may hold at most mem_limit together: before umbra handles an
// exit (when no guest frame is in use by umbra's own code), frames go to
// swap to leave room for a few more. When that is not possible (no swap
// disk, the disk full or failing, nothing evictable), guests may go over
// by SWAP_SLACK frames; then the VM that asks for one more stops for want
// of memory (vm_oom_reason says why), and the others run on.
u64 guest_frames_peak;
static bool stuck;   // room could not be made last time,
static u64 stuck_at; // with guests holding this many frames

// (When the clock found every candidate in use, umbra tries again only
// once guests hold more: each look costs a walk of the candidates' reverse
// maps, and a guest that maps one frame 24,576 times would pay it at every
// exit.)
void vm_make_room(void)
{
	u64 n = frame_count_of_type(FRAME_GUEST);
	if (n > guest_frames_peak)
		guest_frames_peak = n;
	if (stuck && n < stuck_at) // frames went (a VM ended): from here, any growth tries again
		stuck_at = n;
	if (swap_limit_frames && n + 8 > swap_limit_frames && (!stuck || n > stuck_at)) {
		u64 batches = swap_stats.batches;
		stuck = swap_make_room(8) < 0;
		stuck_at = frame_count_of_type(FRAME_GUEST);
		if (cfg.audit_all && swap_stats.batches != batches)
			vm_audit_all("after swap batch %lu", swap_stats.batches);
	}
}

void vm_dedup(bool say)
{
	u64 t0 = __builtin_ia32_rdtsc();
	int n = dedup_run();
	u32 frames, pages;
	dedup_count(&frames, &pages);
	if (n < 0)
		kprintf("umbra: dedup: no memory for the pass's hash table\n");
	else if (say || n > 0)
		kprintf("umbra: dedup: %d frames merged in %lu us; %u merged frames now stand for %u guest pages, the zero "
			"frame for %u; guests hold %lu frames\n", n, tsc_to_us(__builtin_ia32_rdtsc() - t0), frames, pages,
			swap_zero_refs(), frame_count_of_type(FRAME_GUEST));
	if (cfg.audit_all && n > 0)
		vm_audit_all("after a dedup pass");
}

// Why a VM found no guest frame: for its end message.
const char *vm_oom_reason(char *buf, size_t n)
{
	if (!swap_limit_frames || frame_count_of_type(FRAME_GUEST) < swap_limit_frames + SWAP_SLACK) {
		ksnprintf(buf, n, "out of host memory (%lu frames free)", frame_free_count());
		return buf;
	}
	ksnprintf(buf, n, "out of memory: guests hold %lu MiB, mem_limit is %u MiB, and %s (%u of %u swap slots in use)",
		  frame_count_of_type(FRAME_GUEST) >> (20 - PAGE_SHIFT), cfg.mem_limit_mib,
		  swap_failure_name(swap_stats.last_failure), swap_slots_used(), swap_slots());
	return buf;
}

void vm_console_putc(struct vm *vm, char c)
{
	if (cfg.split) {
		guest_putc_raw(c);
		return;
	}
	if (console_typing_vm() == vm->id) {
		// What is typed goes to this VM: its output too, byte by byte,
		// after what it had printed of its line before. (c 0: only that.)
		for (u16 i = 0; i < vm->line_len; i++)
			guest_line_putc(vm->id, vm->line[i]);
		vm->line_len = 0;
		if (c)
			guest_line_putc(vm->id, c);
		return;
	}
	if (!c)
		return;
	if (c != '\n' && vm->line_len < sizeof(vm->line) - 1) {
		vm->line[vm->line_len++] = c;
		return;
	}
	vm->line[vm->line_len] = '\0';
	kprintf("[vm%u] %s\n", vm->id, vm->line);
	vm->line_len = 0;
	if (c != '\n')
		vm_console_putc(vm, c);
}

// reclaim_every=N (testing): reclaim the frame of some present shadow PTE,
// chosen by a rotating cursor, so guests run with reclaims under their feet.
static void reclaim_some(struct vm *vm)
{
	const u32 *pd = hfn_ptr(vm->vcpu.shadow.root->hfn);
	for (u32 n = 0; n < PT_ENTRIES * 4; n++) {
		u32 slot = (u32)(vm->reclaims * 7919 + n * 31) % (PT_ENTRIES * 4);
		u32 spde = pd[(slot + vm->id) % PT_ENTRIES];
		if (!(spde & PTE_P))
			continue;
		const u32 *pt = hfn_ptr(spde >> PAGE_SHIFT);
		for (u32 j = 0; j < PT_ENTRIES; j++) {
			u32 spte = pt[(j + slot) % PT_ENTRIES];
			if (spte & PTE_P) {
				vm->reclaimed_entries += shadow_reclaim(spte >> PAGE_SHIFT, NULL, NULL);
				vm->reclaims++;
				return;
			}
		}
	}
}

u64 vm_next_deadline(struct vm *vm)
{
	return MIN(vlapic_next_irq_tsc(vm), MIN(vpit_next_irq_tsc(vm), uart_next_irq_tsc(vm)));
}

// Before an entry: let the timers (PIT, local APIC) and the UART raise what
// is due, hand the guest the best pending interrupt if it can take one now
// (else ask the backend to exit as soon as it can: the interrupt window),
// and bring the APIC's page of register values up to date.
static void deliver_interrupts(struct vcpu *v)
{
	struct vm *vm = v->vm;
	vpit_update(vm);
	vlapic_update(vm);
	uart_update(vm);
	intr_deliver(v);
	vlapic_page_sync(vm);
}

void vm_run_slice(struct vm *vm, u64 until)
{
	struct vcpu *v = &vm->vcpu;
	struct vm_exit e;
	if (!vm->start_tsc)
		vm->start_tsc = __builtin_ia32_rdtsc();
	vm->slices++;
	v->irq_check = true; // typed input may have come, another VM had the host's timer
	while (vm->state == VM_RUNNING && ticks < until) {
		// Interrupts can only have changed if a device was touched or a
		// deadline passed: most exits (shadow faults, INVLPG, CR) need
		// none of this, which costs a few microseconds under emulation.
		if (v->irq_check || v->want_irq_window || __builtin_ia32_rdtsc() >= vm->next_deadline) {
			deliver_interrupts(v);
			vm->next_deadline = vm_next_deadline(vm);
			hosttimer_arm(vm->next_deadline); // exit when its next interrupt is due
			v->irq_check = false;
		}
		if (v->halted)
			return; // waiting for an interrupt: give up the slice
		u32 gen = shadow_tlb_gen[vm->id];
		v->tlb_stale = gen != v->tlb_gen_seen;
		v->tlb_gen_seen = gen;
		if (v->inject.valid)
			vcpu_note_event(v, &v->inject);
		hv->vcpu_run(v, &e);
		u64 exited = __builtin_ia32_rdtsc();
		v->exits[e.reason < EXIT_NR ? e.reason : EXIT_OTHER]++;
		v->exits_total++;
		handle_exit(v, &e);
		// (An MMIO access, a PF exit too, sets irq_check itself.)
		v->irq_check |= e.reason != EXIT_PF && e.reason != EXIT_INVLPG && e.reason != EXIT_CR_READ &&
				e.reason != EXIT_CR_WRITE;
		if (cfg.reclaim_every && v->exits_total % cfg.reclaim_every == 0)
			reclaim_some(vm);
		v->handling_tsc += __builtin_ia32_rdtsc() - exited;
	}
}

// The serial console monitor (COM1): reads a command line while the guests
// run (polled between scheduler slices and while umbra idles), and shows or
// drives the data structures umbra is about: VMs, shadow tables, reverse
// maps, reclaim, the auditor. Every command answers in whole lines; a bad
// command or argument gets one line starting with "error:".
#include "asm.h"
#include "audit.h"
#include "console.h"
#include "frame.h"
#include "hv.h"
#include "lib.h"
#include "log.h"
#include "printf.h"
#include "umbra.h"

#define COM1 0x3F8
#define LINE_MAX 120
#define PAGE_LINES 32  // longer listings stop here and say how to go on

static char line[LINE_MAX + 1];
static u32 len;
static bool overlong;
static bool active;

struct cmd {
	const char *name, *args, *help;
	void (*run)(int argc, char **argv);
};
static const struct cmd cmds[];

static bool prompt_shown;

static void prompt(void)
{
	kprintf("umbra> ");
	prompt_shown = true;
}

bool console_take_prompt(void)
{
	if (!active || !prompt_shown)
		return false;
	prompt_shown = false;
	return true;
}

void console_redraw(void)
{
	line[len] = '\0';
	prompt();
	for (u32 i = 0; i < len; i++)
		console_putc(line[i]);
}

static void console_erase(void)
{
	console_putc('\b');
	console_putc(' ');
	console_putc('\b');
}

void console_init(void)
{
	active = !cfg.split;
	if (active)
		kprintf("umbra: console on COM1: type 'help' for commands\n");
}

static bool arg_num(const char *s, const char *what, u64 max, u64 *out)
{
	if (!parse_number(s, s + strlen(s), ~0ull, out)) {
		kprintf("error: %s must be a number (decimal, or hex with 0x): '%s'\n", what, s);
		return false;
	}
	if (*out > max) {
		kprintf("error: %s %s is out of range (at most %lu)\n", what, s, max);
		return false;
	}
	return true;
}

// The VM named by s, which must exist (running or ended but not yet gone).
static struct vm *arg_vm(const char *s)
{
	u64 id;
	if (!arg_num(s, "VM id", MAX_VMS - 1, &id))
		return NULL;
	if (id == 0 || vms[id].state == VM_EMPTY) {
		kprintf("error: no vm%lu (see 'vms')\n", id);
		return NULL;
	}
	return &vms[id];
}

// "from K" at the end of a listing command: where to start.
static bool arg_from(int argc, char **argv, int at, u64 *from)
{
	*from = 0;
	if (argc <= at)
		return true;
	if (argc != at + 2 || strcmp(argv[at], "from") != 0) {
		kprintf("error: expected 'from N' after the arguments\n");
		return false;
	}
	return arg_num(argv[at + 1], "start", 1u << 30, from);
}

static const char *state_name(const struct vm *vm)
{
	if (vm->state == VM_ENDED)
		return "ended";
	return vm->vcpu.halted ? "halted" : "running";
}

static void cmd_help(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (const struct cmd *c = cmds; c->name; c++) {
		char head[40];
		ksnprintf(head, sizeof(head), "%s %s", c->name, c->args);
		kprintf("  %-24s %s\n", head, c->help);
	}
	kprintf("  numbers are decimal, or hex with 0x; Backspace and Ctrl-U edit the line\n");
}

static void cmd_vms(int argc, char **argv)
{
	u64 from;
	if (!arg_from(argc, argv, 1, &from))
		return;
	kprintf("  id  state    mem    ASID parent     exits  shadow-faults  tables  clones\n");
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
			vm->vcpu.asid.asid, parent, vm->vcpu.exits_total, vm->vcpu.mmu.stats.faults, vm->vcpu.mmu.stats.tables,
			vm->clones);
		shown++;
	}
	if (more)
		kprintf("  ... %u more: 'vms from N' lists from id N\n", more);
}

static void cmd_vm(int argc, char **argv)
{
	struct vm *vm = arg_vm(argv[1]);
	(void)argc;
	if (!vm)
		return;
	const struct vcpu *v = &vm->vcpu;
	kprintf("vm%u: %s, %u MiB, ASID %u (generation %lu), parent %u, cmdline '%s'\n", vm->id, state_name(vm),
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
	const struct shadow_stats *st = &v->mmu.stats;
	kprintf("  shadow: %lu faults, %lu fills, %lu reflected, %lu CR3 loads, %lu invlpg, %lu tables own now\n",
		st->faults, st->fills, st->guest_faults, st->cr3_loads, st->invlpgs, st->tables);
	kprintf("  copy-on-write: %lu frames copied, %lu shared tables copied, %lu taken over; %lu guest table writes trapped\n",
		st->cow_breaks, st->sp_copies, st->sp_taken, st->unsyncs);
	kprintf("  TLB flushes %lu, interrupts injected %lu, reclaims %lu\n", v->tlb_flushes, v->irqs_injected,
		vm->reclaims);
}

static void cmd_kill(int argc, char **argv)
{
	struct vm *vm = arg_vm(argv[1]);
	(void)argc;
	if (!vm)
		return;
	if (vm->state != VM_RUNNING) {
		kprintf("error: vm%u has already ended\n", vm->id);
		return;
	}
	vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true, "killed from the console");
	kprintf("vm%u killed\n", vm->id);
}

bool console_quit;

static void cmd_quit(int argc, char **argv)
{
	(void)argc, (void)argv;
	u32 running = 0;
	for (u32 i = 1; i < MAX_VMS; i++)
		running += vms[i].state == VM_RUNNING;
	kprintf("umbra: quitting%s\n", running ? ": the VMs still running are stopped" : "");
	console_quit = true;
}

static void cmd_clone(int argc, char **argv)
{
	struct vm *vm = arg_vm(argv[1]);
	(void)argc;
	if (!vm)
		return;
	if (vm->state != VM_RUNNING) {
		kprintf("error: vm%u has ended: only a running VM can be cloned\n", vm->id);
		return;
	}
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

static void flags_str(u32 e, char *buf)
{
	ksnprintf(buf, 16, "%c%c%c%c%c%c", (e & PTE_P) ? 'P' : '-', (e & PTE_W) ? 'W' : '-', (e & PTE_U) ? 'U' : '-',
		  (e & PTE_A) ? 'A' : '-', (e & PTE_D) ? 'D' : '-', (e & PTE_PS) ? 'S' : '-');
}

static void cmd_walk(int argc, char **argv)
{
	struct vm *vm = arg_vm(argv[1]);
	u64 gva;
	(void)argc;
	if (!vm || !arg_num(argv[2], "address", 0xFFFFFFFFu, &gva))
		return;
	struct vcpu *v = &vm->vcpu;
	struct walk_ctx ctx = vcpu_walk_ctx(v);
	struct walk w;
	char f1[16], f2[16];
	enum walk_status st = walk_gva(&ctx, (gva_t)gva, WALK_PEEK, &w);
	kprintf("walk vm%u 0x%08lx (guest cr0 %08x cr3 %08x cr4 %08x)\n", vm->id, gva, v->cr0, v->cr3, v->cr4);
	if (!w.paging) {
		kprintf("  guest:  paging off: gpa 0x%08x\n", w.gpa);
	} else {
		flags_str(w.pde, f1);
		kprintf("  guest:  PDE[%u] at gpa 0x%08x = 0x%08x %s\n", PDE_INDEX(gva), w.pde_gpa, w.pde, f1);
		if (w.pte_gpa) {
			flags_str(w.pte, f2);
			kprintf("          PTE[%u] at gpa 0x%08x = 0x%08x %s\n", PTE_INDEX(gva), w.pte_gpa, w.pte, f2);
		}
		if (st == WALK_OK)
			kprintf("          -> gpa 0x%08x%s\n", w.gpa, w.large ? " (4 MiB page)" : "");
		else
			kprintf("          -> %s\n", st == WALK_FAULT ? "not mapped: the guest would take #PF" : "outside guest memory");
	}
	if (st == WALK_OK) {
		hfn_t h = gpmap_lookup(&vm->gpmap, w.gpa >> PAGE_SHIFT);
		if (h)
			kprintf("          -> host frame 0x%lx (count %u%s)\n", h, frame_of(h)->count,
				gpmap_exclusive(&vm->gpmap, w.gpa >> PAGE_SHIFT) ? ", this VM's own" : ", shared with clones");
		else
			kprintf("          -> no host frame yet (never touched)\n");
	}
	if (!v->mmu.root) {
		kprintf("  shadow: no root\n");
		return;
	}
	const u32 *pd = hfn_ptr(v->mmu.root->hfn);
	u32 spde = pd[PDE_INDEX(gva)];
	flags_str(spde, f1);
	kprintf("  shadow: root table 0x%lx, PDE[%u] = 0x%08x %s\n", v->mmu.root->hfn, PDE_INDEX(gva), spde, f1);
	if (!(spde & PTE_P))
		return;
	struct sp *sp = shadow_sp_of(spde >> PAGE_SHIFT);
	u32 spte = ((const u32 *)hfn_ptr(sp->hfn))[PTE_INDEX(gva)];
	flags_str(spte, f2);
	kprintf("          table 0x%lx (%s, guest table gfn 0x%x%s), PTE[%u] = 0x%08x %s\n", sp->hfn,
		sp->owner == SP_SHARED ? "shared" : "own", sp->gfn, sp->unsync ? ", unsync" : "", PTE_INDEX(gva), spte, f2);
	if (!(spte & PTE_P))
		return;
	hfn_t h = spte >> PAGE_SHIFT;
	u32 k = rmap_count(h);
	if (k == 1)
		kprintf("          -> host frame 0x%lx, its only mapping (kept in its metadata word)\n", h);
	else
		kprintf("          -> host frame 0x%lx, one of %u mappings (in its reverse-map set at bucket choice %u, "
			"slot %u: bits 9-11)\n", h, k, (spte >> 11) & 1, (spte >> 9) & 3);
}

static void role_str(u16 role, char *buf, size_t n)
{
	ksnprintf(buf, n, "%s%s%s%s%s%s%s%s%s%s", (role & SP_ROLE_DIR) ? "dir" : "table",
		  (role & SP_ROLE_DIRECT) ? ",direct" : "", (role & SP_ROLE_NOPG) ? ",nopg" : "",
		  (role & SP_ROLE_WP) ? ",wp" : "", (role & SP_ROLE_PSE) ? ",pse" : "",
		  (role & SP_ROLE_PDE_U) ? ",u" : "", (role & SP_ROLE_PDE_W) ? ",w" : "",
		  (role & SP_ROLE_PDE_D) ? ",d" : "", (role & SP_ROLE_PDE_PWT) ? ",pwt" : "",
		  (role & SP_ROLE_PDE_PCD) ? ",pcd" : "");
}

static bool used_by(const struct sp *sp, u16 id)
{
	if (sp->owner == id)
		return true;
	if (sp->owner != SP_SHARED)
		return false;
	struct rmap_iter it;
	spte_ref_t p;
	for_each_rmap(sp->hfn, &it, &p)
		if (frame_of(p >> PAGE_SHIFT)->owner == id)
			return true;
	return false;
}

static void cmd_shadows(int argc, char **argv)
{
	u16 only = 0;
	int at = 1;
	if (argc > 1 && strcmp(argv[1], "from") != 0) {
		struct vm *vm = arg_vm(argv[1]);
		if (!vm)
			return;
		only = vm->id;
		at = 2;
	}
	u64 from;
	if (!arg_from(argc, argv, at, &from))
		return;
	u32 total = 0, shared = 0, shown = 0, next = 0;
	for (u32 k = 0; k < shadow_sp_limit(); k++) {
		struct sp *sp = shadow_sp_at(k);
		if (!sp || (only && !used_by(sp, only)))
			continue;
		total++;
		shared += sp->owner == SP_SHARED;
		if (k < from)
			continue;
		if (shown == PAGE_LINES) {
			if (!next)
				next = k;
			continue;
		}
		if (!shown)
			kprintf("  #      table     guest-gfn  role              count  VMs  PDEs  owner\n");
		char role[40], owner[12];
		role_str(sp->role, role, sizeof(role));
		u32 nvm, nspde;
		shadow_sp_users(sp, &nvm, &nspde);
		if (sp->owner == SP_SHARED)
			ksnprintf(owner, sizeof(owner), "shared");
		else
			ksnprintf(owner, sizeof(owner), "vm%u", sp->owner);
		kprintf("  %-6u 0x%-7lx 0x%-7x  %-16s %6u %4u %5u  %s%s\n", k, sp->hfn, sp->gfn, role,
			frame_of(sp->hfn)->count, nvm, nspde, owner, sp->unsync ? " unsync" : "");
		shown++;
	}
	if (only)
		kprintf("  %u shadow tables used by vm%u, %u of them shared by clones\n", total, only, shared);
	else
		kprintf("  %u shadow tables, %u of them shared by clones\n", total, shared);
	if (next)
		kprintf("  ... more: 'shadows %s%sfrom %u' goes on\n", only ? argv[1] : "", only ? " " : "", next);
}

// Where the guest sees the entry at spte: each shadow PDE linking its table.
static void print_entry(spte_ref_t ref, const char *prefix, u32 value)
{
	hfn_t table = ref >> PAGE_SHIFT;
	u32 index = (ref & (PAGE_SIZE - 1)) / 4;
	struct frame *tf = frame_of(table);
	if (tf->type != FRAME_SHADOW) {
		kprintf("%s0x%x: not in a shadow table (!)\n", prefix, ref);
		return;
	}
	struct sp *sp = shadow_sp_of(table);
	char f[16];
	flags_str(value, f);
	char owner[12];
	if (sp->owner == SP_SHARED)
		ksnprintf(owner, sizeof(owner), "shared");
	else
		ksnprintf(owner, sizeof(owner), "vm%u", sp->owner);
	kprintf("%stable 0x%lx [%u] = 0x%08x %s (%s", prefix, table, index, value, f, owner);
	struct rmap_iter it;
	spte_ref_t parent;
	u32 n = 0;
	for_each_rmap(table, &it, &parent) {
		if (n++ < 4)
			kprintf("%s vm%u gva 0x%08x", n == 1 ? ":" : ",", frame_of(parent >> PAGE_SHIFT)->owner,
				((parent & (PAGE_SIZE - 1)) / 4) << PDE_SHIFT | index << PAGE_SHIFT);
	}
	if (n > 4)
		kprintf(", +%u more)\n", n - 4);
	else
		kprintf(")\n");
}

static bool arg_frame(const char *s, hfn_t *hfn)
{
	u64 h;
	if (!arg_num(s, "frame number", frame_table_size - 1, &h))
		return false;
	*hfn = h;
	return true;
}

static void cmd_frame(int argc, char **argv)
{
	hfn_t hfn;
	if (!arg_frame(argv[1], &hfn))
		return;
	u64 from;
	if (!arg_from(argc, argv, 2, &from))
		return;
	struct frame *f = frame_of(hfn);
	kprintf("frame 0x%lx: %s, count %u, owner %s%u%s\n", hfn, frame_type_name(f->type), f->count,
		f->owner ? "vm" : "", f->owner, (f->flags & FRAME_F_PROTECTED) ? ", write-protected guest table" : "");
	if (f->type == FRAME_FREE || f->type == FRAME_RESERVED || f->type == FRAME_RMAP || f->type == FRAME_VMM)
		return;
	if (f->type == FRAME_SHADOW) {
		struct sp *sp = shadow_sp_of(hfn);
		char role[40];
		role_str(sp->role, role, sizeof(role));
		kprintf("  shadows guest table gfn 0x%x as %s; linked by:\n", sp->gfn, role);
	}
	u32 n = 0, shown = 0;
	struct rmap_iter it;
	spte_ref_t ref;
	for_each_rmap(hfn, &it, &ref) {
		if (n++ < from || shown >= PAGE_LINES)
			continue;
		print_entry(ref, "  ", *spte_ptr(ref));
		shown++;
	}
	kprintf("  %u reverse-map entr%s (%u bytes of hash set)\n", n, n == 1 ? "y" : "ies", rmap_bytes(hfn));
	if (n > from + shown)
		kprintf("  ... more: 'frame 0x%lx from %lu' goes on\n", hfn, from + shown);
}

static u32 reclaim_shown;
static void report_zap(void *arg, u16 owner, spte_ref_t ref, u32 old)
{
	(void)arg, (void)owner;
	if (reclaim_shown++ < PAGE_LINES)
		print_entry(ref, "  invalidated: ", old);
}

static u32 reclaim_one(hfn_t hfn, bool verbose)
{
	u64 flushes = shadow_global.tlb_requests;
	reclaim_shown = 0;
	u32 n = shadow_reclaim(hfn, verbose ? report_zap : NULL, NULL);
	if (verbose) {
		if (reclaim_shown > PAGE_LINES)
			kprintf("  ... and %u more\n", reclaim_shown - PAGE_LINES);
		kprintf("reclaim: frame 0x%lx: %u shadow entr%s invalidated, %lu TLB flush%s requested\n", hfn, n,
			n == 1 ? "y" : "ies", shadow_global.tlb_requests - flushes, shadow_global.tlb_requests - flushes == 1 ? "" : "es");
	}
	return n;
}

static void cmd_reclaim(int argc, char **argv)
{
	(void)argc;
	if (argv[1][0] == '0' && (argv[1][1] == 'x' || argv[1][1] == 'X')) {
		hfn_t hfn;
		if (!arg_frame(argv[1], &hfn))
			return;
		u8 t = frame_of(hfn)->type;
		if (t != FRAME_GUEST) {
			kprintf("error: frame 0x%lx is %s, not guest memory: only guest frames are reclaimed\n", hfn,
				frame_type_name((enum frame_type)t));
			return;
		}
		reclaim_one(hfn, true);
		return;
	}
	u64 want;
	if (!arg_num(argv[1], "count", 1000000, &want))
		return;
	// COUNT mapped guest frames, taken round-robin over the running VMs.
	static u32 cursor;
	u64 frames = 0, entries = 0, flushes = shadow_global.tlb_requests;
	for (u32 tries = 0; frames < want && tries < MAX_VMS * GPMAP_ROOT_ENTRIES; tries++) {
		u32 vmi = 1 + cursor % (MAX_VMS - 1), leafi = (cursor / (MAX_VMS - 1)) % GPMAP_ROOT_ENTRIES;
		cursor++;
		struct vm *vm = &vms[vmi];
		if (vm->state != VM_RUNNING || !vm->gpmap.leaf[leafi])
			continue;
		const u32 *leaf = hfn_ptr(vm->gpmap.leaf[leafi]);
		for (u32 j = 0; j < GPMAP_LEAF_ENTRIES && frames < want; j++) {
			if (leaf[j] && frame_of(leaf[j])->rmap) {
				entries += reclaim_one(leaf[j], false);
				frames++;
			}
		}
	}
	kprintf("reclaim: %lu frames, %lu shadow entries invalidated, %lu TLB flushes requested\n", frames, entries,
		shadow_global.tlb_requests - flushes);
}

static void cmd_audit(int argc, char **argv)
{
	(void)argc, (void)argv;
	vm_audit_all("on request");
}

static void cmd_stats(int argc, char **argv)
{
	(void)argc, (void)argv;
	u64 ex[EXIT_NR], total = 0;
	struct shadow_stats st = vm_retired.shadow;
	u64 flushes = vm_retired.tlb_flushes, reclaims = vm_retired.reclaims;
	memcpy(ex, vm_retired.exits, sizeof(ex));
	u32 live = 0;
	for (u32 i = 1; i < MAX_VMS; i++) {
		const struct vm *vm = &vms[i];
		if (vm->state == VM_EMPTY)
			continue;
		live++;
		for (int r = 0; r < EXIT_NR; r++)
			ex[r] += vm->vcpu.exits[r];
		const u64 *from = (const u64 *)&vm->vcpu.mmu.stats;
		u64 *to = (u64 *)&st;
		for (size_t k = 0; k < sizeof(st) / sizeof(u64); k++)
			to[k] += from[k];
		flushes += vm->vcpu.tlb_flushes;
		reclaims += vm->reclaims;
	}
	for (int r = 0; r < EXIT_NR; r++)
		total += ex[r];
	kprintf("stats: %u VMs now, %lu gone\n", live, vm_retired.vms);
	kprintf("  VM exits %lu: pf %lu cr %lu invlpg %lu io %lu msr %lu hlt %lu intr %lu irq-window %lu other %lu\n", total,
		ex[EXIT_PF], ex[EXIT_CR_READ] + ex[EXIT_CR_WRITE], ex[EXIT_INVLPG], ex[EXIT_IO], ex[EXIT_MSR], ex[EXIT_HLT],
		ex[EXIT_INTR], ex[EXIT_IRQ_WINDOW], ex[EXIT_SHUTDOWN] + ex[EXIT_VMMCALL] + ex[EXIT_SVM_INSN] + ex[EXIT_INSN] +
		ex[EXIT_INVALID] + ex[EXIT_OTHER]);
	kprintf("  shadow faults %lu, fills %lu, reflected to the guest %lu, CR3 loads %lu (%lu found their root)\n",
		st.faults, st.fills, st.guest_faults, st.cr3_loads, st.roots_reused);
	kprintf("  guest page-table writes trapped %lu, syncs %lu dropping %lu entries, tables unshadowed %lu, "
		"frames whose mappings were recycled %lu\n", st.unsyncs, st.syncs, st.zapped, st.unshadowed, st.recycles);
	kprintf("  clones %lu; COW breaks %lu (leaves copied %lu); shared tables copied %lu, taken over %lu, shared now %lu\n",
		shadow_global.clones, gpmap_stats.cow_frames, gpmap_stats.cow_leaves, st.sp_copies, st.sp_taken,
		shadow_global.shared_tables);
	kprintf("  reverse-map sets %lu (%lu bytes, in %lu frames); adds %lu, removes %lu, entries moved %lu, "
		"sets rebuilt %lu\n", rmap_stats.sets, rmap_stats.bytes, rmap_stats.set_frames, rmap_stats.adds,
		rmap_stats.removes, rmap_stats.kicks, rmap_stats.resizes);
	kprintf("  reclaims %lu (by reclaim_every), TLB flushes %lu\n", reclaims, flushes);
}

static void cmd_mem(int argc, char **argv)
{
	(void)argc, (void)argv;
	u64 shared = 0, guest_refs = 0;
	for (hfn_t h = 0; h < frame_table_size; h++) {
		const struct frame *f = frame_of(h);
		if (f->type == FRAME_GUEST && f->count > 1)
			shared++;
		if (f->type == FRAME_GPMAP && f->count > 1)
			guest_refs += GPMAP_LEAF_ENTRIES; // an upper bound: a shared leaf
	}
	u64 freef = frame_free_count(), total = frame_table_size - frame_count_of_type(FRAME_RESERVED);
	kprintf("mem: %lu frames managed (%lu MiB): %lu free, %lu used\n", total, total >> 8, freef, total - freef);
	kprintf("  guest memory %lu (%lu shared by several VMs, more in %lu shared leaves), shadow tables %lu, "
		"guest-physical map leaves %lu, reverse-map sets %lu, umbra's own %lu\n",
		frame_count_of_type(FRAME_GUEST), shared, guest_refs / GPMAP_LEAF_ENTRIES, frame_count_of_type(FRAME_SHADOW),
		frame_count_of_type(FRAME_GPMAP), frame_count_of_type(FRAME_RMAP), frame_count_of_type(FRAME_VMM));
	kprintf("  metadata: frame table %lu KiB (%u bytes a frame), %u shadow descriptors of %u bytes, "
		"reverse-map sets %lu bytes\n", (u64)frame_table_size * sizeof(struct frame) / 1024,
		(u32)sizeof(struct frame), shadow_sp_limit(), (u32)sizeof(struct sp),
		rmap_stats.bytes);
}

static const struct cmd cmds[] = {
	{ "help", "", "this list", cmd_help },
	{ "vms", "[from N]", "every VM: id, state, memory, ASID, parent, exits, shadow faults", cmd_vms },
	{ "vm", "N", "one VM: registers, guest CR0/CR3/CR4, counters", cmd_vm },
	{ "kill", "N", "stop VM N", cmd_kill },
	{ "clone", "N", "clone VM N (as its clone hypercall would)", cmd_clone },
	{ "walk", "N GVA", "guest page-table walk and shadow walk of GVA in VM N", cmd_walk },
	{ "shadows", "[N] [from K]", "shadow tables (of VM N): guest table, role, count, sharers", cmd_shadows },
	{ "frame", "HFN [from K]", "a host frame: type, count, owner, every reverse-map entry", cmd_frame },
	{ "reclaim", "0xHFN|COUNT", "reclaim one frame (hex), or COUNT mapped frames", cmd_reclaim },
	{ "audit", "", "run the auditor over every VM", cmd_audit },
	{ "stats", "", "exits by reason, shadow, copy-on-write, reverse-map counters", cmd_stats },
	{ "mem", "", "frames free, used, shared; metadata bytes", cmd_mem },
	{ "quit", "", "stop every VM and end umbra (QEMU exits)", cmd_quit },
	{ NULL, NULL, NULL, NULL },
};

// Does argc fit the command's synopsis? A word is required; a bracketed
// group ("[N]", "[from K]") may be left out as a whole.
static bool argc_ok(const struct cmd *c, int argc)
{
	int req = 0, opt = 0;
	bool in_group = false;
	for (const char *a = c->args; *a;) {
		while (*a == ' ')
			a++;
		if (!*a)
			break;
		if (*a == '[')
			in_group = true;
		bool group = in_group;
		while (*a && *a != ' ') {
			if (*a == ']')
				in_group = false;
			a++;
		}
		if (group)
			opt++;
		else
			req++;
	}
	return argc - 1 >= req && argc - 1 <= req + opt;
}

static void execute(char *s)
{
	char *argv[8];
	int argc = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (!*s)
			break;
		if (argc == 8) {
			kprintf("error: too many words\n");
			return;
		}
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	if (!argc)
		return;
	for (const struct cmd *c = cmds; c->name; c++) {
		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (!argc_ok(c, argc)) {
			kprintf("error: usage: %s %s\n", c->name, c->args);
			return;
		}
		c->run(argc, argv);
		return;
	}
	kprintf("error: unknown command '%s' ('help' lists them)\n", argv[0]);
}

void console_poll(void)
{
	if (!active)
		return;
	while (inb(COM1 + 5) & 0x01) {
		u8 c = inb(COM1);
		if (c == '\r' || c == '\n') {
			prompt_shown = false;
			kprintf("\n");
			line[len] = '\0';
			if (overlong)
				kprintf("error: line too long (at most %u characters)\n", LINE_MAX);
			else
				execute(line);
			len = 0;
			overlong = false;
			prompt();
		} else if (c == 0x08 || c == 0x7F) {
			if (len) {
				len--;
				console_erase();
			}
		} else if (c == 0x15) { // Ctrl-U
			while (len) {
				len--;
				console_erase();
			}
			overlong = false;
		} else if (c >= 0x20 && c < 0x7F) {
			if (len < LINE_MAX) {
				line[len++] = (char)c;
				console_putc((char)c);
			} else {
				overlong = true;
			}
		}
		// Other control bytes and non-ASCII are dropped.
	}
}

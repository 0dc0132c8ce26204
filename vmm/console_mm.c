// Console commands about the memory manager: walks, shadow tables, frames
// and their reverse maps, reclaim, the auditor, counters and memory.
#include "asm.h"
#include "ata.h"
#include "audit.h"
#include "console_int.h"
#include "frame.h"
#include "lib.h"
#include "log.h"
#include "printf.h"
#include "swap.h"
#include "dedup.h"

static void flags_str(u32 e, char *buf)
{
	ksnprintf(buf, 16, "%c%c%c%c%c%c", (e & PTE_P) ? 'P' : '-', (e & PTE_W) ? 'W' : '-', (e & PTE_U) ? 'U' : '-',
		  (e & PTE_A) ? 'A' : '-', (e & PTE_D) ? 'D' : '-', (e & PTE_PS) ? 'S' : '-');
}

void cmd_walk(int argc, char **argv)
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
	if (!v->shadow.root) {
		kprintf("  shadow: no root\n");
		return;
	}
	const u32 *pd = hfn_ptr(v->shadow.root->hfn);
	u32 spde = pd[PDE_INDEX(gva)];
	flags_str(spde, f1);
	kprintf("  shadow: root table 0x%lx, PDE[%u] = 0x%08x %s\n", v->shadow.root->hfn, PDE_INDEX(gva), spde, f1);
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
			"slot %u: bits 9-11)\n", h, k, rmap_spte_bucket(spte), rmap_spte_slot(spte));
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

void cmd_shadows(int argc, char **argv)
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
		if (!sp || (only && !shadow_sp_used_by(sp, only)))
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
			kprintf("  #      table     guest-gfn  role                  count  VMs  PDEs  owner\n");
		char role[40], owner[12];
		role_str(sp->role, role, sizeof(role));
		u32 nvm, nspde;
		shadow_sp_users(sp, &nvm, &nspde);
		if (sp->owner == SP_SHARED)
			ksnprintf(owner, sizeof(owner), "shared");
		else
			ksnprintf(owner, sizeof(owner), "vm%u", sp->owner);
		kprintf("  %-6u 0x%-7lx 0x%-7x  %-20s %6u %4u %5u  %s%s\n", k, sp->hfn, sp->gfn, role,
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

void cmd_frame(int argc, char **argv)
{
	hfn_t hfn;
	if (!arg_frame(argv[1], &hfn))
		return;
	u64 from;
	if (!arg_from(argc, argv, 2, &from))
		return;
	struct frame *f = frame_of(hfn);
	char owner[12];
	if (f->owner == SP_SHARED)
		ksnprintf(owner, sizeof(owner), "shared");
	else if (f->owner == OWNER_NONE)
		ksnprintf(owner, sizeof(owner), "none");
	else
		ksnprintf(owner, sizeof(owner), "vm%u", f->owner);
	kprintf("frame 0x%lx: %s, count %u, owner %s%s\n", hfn, frame_type_name(f->type), f->count, owner,
		(f->flags & FRAME_F_PROTECTED) ? ", write-protected guest table" : "");
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

void cmd_reclaim(int argc, char **argv)
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
	// VM by VM from where the last one stopped, each VM's frames in order.
	static u32 vm_cursor;
	static gfn_t gfn_cursor;
	u64 frames = 0, entries = 0, flushes = shadow_global.tlb_requests;
	for (u32 tries = 0; frames < want && tries < MAX_VMS; tries++) {
		struct vm *vm = &vms[1 + vm_cursor % (MAX_VMS - 1)];
		hfn_t h;
		for (gfn_t g = gfn_cursor; vm->state == VM_RUNNING && frames < want &&
					   (h = gpmap_next(&vm->gpmap, &g)); g++) {
			gfn_cursor = g + 1;
			if (frame_of(h)->rmap) {
				entries += reclaim_one(h, false);
				frames++;
			}
		}
		if (frames < want) {
			vm_cursor++;
			gfn_cursor = 0;
		}
	}
	kprintf("reclaim: %lu frames, %lu shadow entries invalidated, %lu TLB flushes requested\n", frames, entries,
		shadow_global.tlb_requests - flushes);
}

void cmd_audit(int argc, char **argv)
{
	(void)argc, (void)argv;
	vm_audit_all("on request");
}

void cmd_stats(int argc, char **argv)
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
		shadow_stats_add(&st, &vm->mmu.stats);
		flushes += vm->vcpu.tlb_flushes;
		reclaims += vm->reclaims;
	}
	for (int r = 0; r < EXIT_NR; r++)
		total += ex[r];
	kprintf("stats: %u VMs now, %lu gone\n", live, vm_retired.vms);
	kprintf("  VM exits %lu: pf %lu cr %lu invlpg %lu io %lu msr %lu hlt %lu intr %lu irq-window %lu other %lu\n", total,
		ex[EXIT_PF], ex[EXIT_CR_READ] + ex[EXIT_CR_WRITE], ex[EXIT_INVLPG], ex[EXIT_IO], ex[EXIT_MSR], ex[EXIT_HLT],
		ex[EXIT_INTR], ex[EXIT_IRQ_WINDOW], ex[EXIT_SHUTDOWN] + ex[EXIT_VMMCALL] + ex[EXIT_VIRT_INSN] + ex[EXIT_INSN] +
		ex[EXIT_INVALID] + ex[EXIT_OTHER]);
	kprintf("  shadow faults %lu, fills %lu, reflected to the guest %lu, CR3 loads %lu (%lu found their root)\n",
		st.faults, st.fills, st.guest_faults, st.cr3_loads, st.roots_reused);
	kprintf("  guest page-table writes trapped %lu, syncs %lu dropping %lu entries and downgrading %lu, write-hot tables %lu, tables unshadowed %lu, "
		"frames whose mappings were recycled %lu\n", st.unsyncs, st.syncs, st.zapped, st.downgraded, st.hot, st.unshadowed, st.recycles);
	kprintf("  clones %lu; COW breaks %lu (leaves copied %lu); shared tables copied %lu, taken over %lu, shared now %lu\n",
		shadow_global.clones, gpmap_stats.cow_frames, gpmap_stats.cow_leaves, st.sp_copies, st.sp_taken,
		shadow_global.shared_tables);
	kprintf("  reverse-map sets %lu (%lu bytes, in %lu frames); adds %lu, removes %lu, entries moved %lu, "
		"sets rebuilt %lu\n", rmap_stats.sets, rmap_stats.bytes, rmap_stats.set_frames, rmap_stats.adds,
		rmap_stats.removes, rmap_stats.kicks, rmap_stats.resizes);
	kprintf("  reclaims %lu (by reclaim_every), TLB flushes %lu\n", reclaims, flushes);
	kprintf("  swap: %lu frames evicted in %lu batches, %lu made the zero frame, %lu read back; the clock looked at "
		"%lu, %lu of them accessed; %lu read errors, %lu write errors; %lu times no room could be made\n",
		swap_stats.evictions, swap_stats.batches, swap_stats.zero_pages, swap_stats.faultins, swap_stats.scanned,
		swap_stats.referenced, swap_stats.read_errors, swap_stats.write_errors, swap_stats.refused);
	kprintf("  dedup: %lu passes, %lu frames hashed, %lu merged (%lu into the zero frame), %lu hash collisions\n",
		dedup_stats.runs, dedup_stats.scanned, dedup_stats.merged, dedup_stats.zero, dedup_stats.collisions);
}

void cmd_dedup(int argc, char **argv)
{
	(void)argc, (void)argv;
	vm_dedup(true);
}

void cmd_swap(int argc, char **argv)
{
	(void)argc, (void)argv;
	if (swap_slots())
		kprintf("swap: an ATA disk on the primary IDE channel (%s), %u slots of a page (%u MiB), %u in use\n",
			ata_dma() ? "bus-master DMA" : "PIO", swap_slots(), swap_slots() >> 8, swap_slots_used());
	else
		kprintf("swap: no swap disk (scripts/qemu gives one unless UMBRA_SWAP_MIB=0)\n");
	if (cfg.mem_limit_mib)
		kprintf("  mem_limit %u MiB: guests hold %lu MiB now\n", cfg.mem_limit_mib,
			frame_count_of_type(FRAME_GUEST) >> (20 - PAGE_SHIFT));
	else
		kprintf("  no mem_limit: nothing is swapped out (mem_limit=MIB on umbra's command line)\n");
	kprintf("  disk: %lu pages written (%lu us each), %lu read (%lu us each), %lu errors; pages all zeros now the zero frame: %u\n",
		ata_stats.writes, ata_stats.writes ? tsc_to_us(ata_stats.write_cycles) / ata_stats.writes : 0,
		ata_stats.reads, ata_stats.reads ? tsc_to_us(ata_stats.read_cycles) / ata_stats.reads : 0, ata_stats.errors,
		swap_zero_refs());
	if (swap_stats.last_failure != SWAP_OK)
		kprintf("  the last time room could not be made: %s\n", swap_failure_name(swap_stats.last_failure));
}

void cmd_mem(int argc, char **argv)
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
	u64 swapped = 0;
	for (u32 i = 1; i < MAX_VMS; i++) {
		const struct gpmap *m = vms[i].state == VM_EMPTY ? NULL : &vms[i].gpmap;
		u32 e;
		for (gfn_t g = 0; m && (e = gpmap_next_entry(m, &g)); g++)
			swapped += gpmap_entry_swapped(e);
	}
	u32 mframes, mpages;
	dedup_count(&mframes, &mpages);
	kprintf("  guest pages: resident %lu (limit %s), swapped out %lu (over the VMs' maps; %u slots hold them), "
		"the zero frame %u, merged %u into %u frames\n", frame_count_of_type(FRAME_GUEST),
		cfg.mem_limit_mib ? "mem_limit" : "none", swapped, swap_slots_used(), swap_zero_refs(), mpages, mframes);
	kprintf("  metadata: frame table %lu KiB (%u bytes a frame), %u shadow descriptors of %u bytes, "
		"reverse-map sets %lu bytes\n", (u64)frame_table_size * sizeof(struct frame) / 1024,
		(u32)sizeof(struct frame), shadow_sp_limit(), (u32)sizeof(struct sp),
		rmap_stats.bytes);
}

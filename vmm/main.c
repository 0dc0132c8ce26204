// kmain: umbra's start on the boot CPU. Reads the multiboot information the
// loader (GRUB or QEMU) left, sets up host frames, makes a VM of every
// module and runs them, then reports and ends.
#include "asm.h"
#include "audit.h"
#include "console.h"
#include "exit.h"
#include "fwcfg.h"
#include "frame.h"
#include "hosttimer.h"
#include "hv.h"
#include "irq.h"
#include "lib.h"
#include "loader.h"
#include "multiboot.h"
#include "log.h"
#include "printf.h"
#include "ata.h"
#include "swap.h"
#include "umbra.h"

#define HOST_MEM_LIMIT (4ull << 30) // shadow tables must lie below 4 GiB


struct umbra_config cfg = { .end_exit = true };
const struct hv_ops *hv;
uintptr_t mm_phys_base; // the VMM sees host-physical memory identity-mapped

extern u8 __kernel_start[], __kernel_end[];
void trap_init(void);
u64 tsc_calibrate_khz(void);

// Ranges [start, end) of host memory that must not become free frames.
struct range {
	u64 start, end;
};
static struct range busy[256];
static int nbusy;

// Ranges that touch one already noted (page granular) join it: modules and
// their command lines, which loaders pack together, take a few entries
// however many there are. A range that fits nowhere is not dropped: umbra
// would hand out frames over a guest's image.
static void busy_add(u64 start, u64 end)
{
	u64 s = start & PAGE_MASK, e = ALIGN_UP(end, (u64)PAGE_SIZE);
	for (int i = 0; i < nbusy; i++) {
		if (s <= ALIGN_UP(busy[i].end, (u64)PAGE_SIZE) && e >= (busy[i].start & PAGE_MASK)) {
			busy[i].start = MIN(busy[i].start, start);
			busy[i].end = MAX(busy[i].end, end);
			return;
		}
	}
	if (nbusy == (int)ARRAY_SIZE(busy))
		panic("more than %u separate memory ranges to keep (modules scattered by the loader)",
		      (u32)ARRAY_SIZE(busy));
	busy[nbusy++] = (struct range){ start, end };
}

static bool word_is(const char *w, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - w) == n && strncmp(w, s, n) == 0;
}

// The word [w, end) as a string, cut to fit.
static const char *word_str(char *buf, size_t n, const char *w, const char *end)
{
	size_t len = MIN((size_t)(end - w), n - 1);
	memcpy(buf, w, len);
	buf[len] = '\0';
	return buf;
}

// NAME=N in [w, end), the number starting at w + skip.
static void number_option(const char *w, const char *end, int skip, u64 max, u32 *to, bool say)
{
	u64 n;
	char word[64];
	if (parse_number(w + skip, end, max, &n))
		*to = (u32)n;
	else if (say)
		kprintf("umbra: option '%s' ignored: it takes a number up to %lu\n", word_str(word, sizeof(word), w, end),
			max);
}

// append=WORD: WORD goes at the end of every Linux kernel's command line
// (as QEMU's -append would put it there), after those before it. The
// quiet first pass does nothing, so the second does not append twice.
static void append_option(const char *w, const char *end, bool say)
{
	size_t have = strlen(cfg.linux_append), len = (size_t)(end - w);
	if (!say)
		return;
	if (have + 1 + len >= sizeof(cfg.linux_append)) {
		char word[64];
		kprintf("umbra: option 'append=%s' ignored: the words to append take at most %lu bytes\n",
			word_str(word, sizeof(word), w, end), (u64)sizeof(cfg.linux_append) - 1);
		return;
	}
	if (have)
		cfg.linux_append[have++] = ' ';
	memcpy(cfg.linux_append + have, w, len);
	cfg.linux_append[have + len] = '\0';
}

// The swap disk, if QEMU gave one, and the limit on guest memory.
static void swap_init(void)
{
	u64 bytes = ata_init(cfg.swap_fail_reads);
	if (bytes && swap_attach(&ata_swap_ops, ata_pages()))
		kprintf("umbra: swap: an ATA disk of %lu MiB on the primary IDE channel (%s), %u slots of a page\n",
			bytes >> 20, ata_dma() ? "bus-master DMA" : "PIO", swap_slots());
	if (cfg.mem_limit_kib && !cfg.mem_limit_mib)
		cfg.mem_limit_mib = (cfg.mem_limit_kib + 1023) / 1024; // what messages say
	if (!cfg.mem_limit_mib)
		return;
	swap_zero_init(); // all-zero pages need no disk
	swap_limit_frames = cfg.mem_limit_kib ? MAX(cfg.mem_limit_kib / 4, 1u) : (u64)cfg.mem_limit_mib << (20 - PAGE_SHIFT);
	kprintf("umbra: guests hold at most %lu KiB of host memory together (mem_limit)%s\n", swap_limit_frames * 4,
		swap_slots() ? "; the rest goes to swap" : "; no swap disk: a VM that needs more is stopped");
}

// umbra's own options: its command line (after the kernel's path, which
// QEMU's multiboot loader puts first: skip_path), or more from QEMU's fw_cfg.
// say: report what is not understood (once the log is set up; a first,
// quiet pass finds log=com2).
static void parse_cmdline(const char *c, bool skip_path, bool say)
{
	const char *p = c;
	while (p && *p == ' ')
		p++;
	if (skip_path && p) {
		// QEMU's -kernel puts the kernel's path first; GRUB 2 does not
		// (its line is the options alone): skip a first word that is a path.
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		bool path = e - p > 4 && strncmp(e - 4, ".elf", 4) == 0;
		for (const char *q = p; q < e; q++)
			path |= *q == '/';
		if (path)
			p = e;
	}
	for (; p && *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if (word_is(w, p, "log=com2"))
			cfg.split = true;
		else if (word_is(w, p, "end=halt"))
			cfg.end_exit = false;
		else if (word_is(w, p, "clone=deep"))
			cfg.clone_deep = true;
		else if (word_is(w, p, "bench"))
			cfg.bench = true;
		else if (word_is(w, p, "audit=all"))
			cfg.audit_all = true;
		else if (p - w > 9 && strncmp(w, "deadline=", 9) == 0)
			number_option(w, p, 9, 100000, &cfg.deadline_s, say);
		else if (p - w > 14 && strncmp(w, "reclaim_every=", 14) == 0)
			number_option(w, p, 14, 1000000000, &cfg.reclaim_every, say);
		else if (p - w > 11 && strncmp(w, "mem_limit=", 10) == 0 && (p[-1] == 'k' || p[-1] == 'K'))
			number_option(w, p - 1, 10, 1u << 30, &cfg.mem_limit_kib, say); // KiB (tests)
		else if (p - w > 10 && strncmp(w, "mem_limit=", 10) == 0)
			number_option(w, p, 10, 1u << 20, &cfg.mem_limit_mib, say);
		else if (p - w > 12 && strncmp(w, "dedup_every=", 12) == 0)
			number_option(w, p, 12, 3600, &cfg.dedup_every_s, say);
		else if (p - w > 16 && strncmp(w, "swap_fail_reads=", 16) == 0)
			number_option(w, p, 16, 1000000, &cfg.swap_fail_reads, say);
		else if (p - w > 7 && strncmp(w, "append=", 7) == 0)
			append_option(w + 7, p, say);
		else if (w != p && say) {
			char word[64];
			kprintf("umbra: unknown option '%s' ignored\n", word_str(word, sizeof(word), w, p));
		}
	}
}

// Give every usable RAM frame below 4 GiB that nothing uses to the
// allocator, after carving the frame table itself out of one of them.
static void memory_init(const struct mb_info *mbi)
{
	if (!(mbi->flags & MBI_MMAP))
		panic("the boot loader gave no memory map");
	u64 top = 0;
	for (u32 off = 0; off < mbi->mmap_length;) {
		const struct mb_mmap *m = (const void *)(uintptr_t)(mbi->mmap_addr + off);
		if (m->type == 1)
			top = MAX(top, MIN(m->base + m->len, HOST_MEM_LIMIT));
		off += m->size + 4;
	}
	hfn_t nframes = top >> PAGE_SHIFT;
	u64 table_bytes = ALIGN_UP(nframes * sizeof(struct frame), (u64)PAGE_SIZE);

	// Place the frame table in the first usable hole above 1 MiB.
	u64 table = 0;
	for (u32 off = 0; off < mbi->mmap_length && !table;) {
		const struct mb_mmap *m = (const void *)(uintptr_t)(mbi->mmap_addr + off);
		off += m->size + 4;
		if (m->type != 1)
			continue;
		u64 lo = ALIGN_UP(MAX(m->base, 0x100000ull), (u64)PAGE_SIZE);
		u64 hi = MIN(m->base + m->len, top);
		for (u64 at = lo; at + table_bytes <= hi;) {
			bool clash = false;
			for (int i = 0; i < nbusy; i++) {
				if (at < busy[i].end && at + table_bytes > busy[i].start) {
					at = ALIGN_UP(busy[i].end, (u64)PAGE_SIZE);
					clash = true;
					break;
				}
			}
			if (!clash) {
				table = at;
				break;
			}
		}
	}
	if (!table)
		panic("no room for the frame table (%lu bytes)", table_bytes);
	busy_add(table, table + table_bytes);
	frame_table_init((struct frame *)(uintptr_t)table, nframes);

	for (u32 off = 0; off < mbi->mmap_length;) {
		const struct mb_mmap *m = (const void *)(uintptr_t)(mbi->mmap_addr + off);
		off += m->size + 4;
		if (m->type != 1)
			continue;
		u64 lo = ALIGN_UP(MAX(m->base, 0x100000ull), (u64)PAGE_SIZE);
		u64 hi = MIN(m->base + m->len, top) & PAGE_MASK;
		// Free [lo, hi) minus the busy ranges, one page at a time in runs.
		for (u64 at = lo; at < hi;) {
			u64 next = hi;
			bool in_busy = false;
			for (int i = 0; i < nbusy; i++) {
				if (at >= busy[i].start && at < busy[i].end) {
					in_busy = true;
					next = ALIGN_UP(busy[i].end, (u64)PAGE_SIZE);
					break;
				}
				if (busy[i].start > at && busy[i].start < next)
					next = busy[i].start & PAGE_MASK;
			}
			if (!in_busy && next > at)
				frame_add_free(at >> PAGE_SHIFT, next >> PAGE_SHIFT);
			at = MAX(next, at + PAGE_SIZE);
		}
	}
	kprintf("umbra: memory: %lu MiB below 4 GiB, %lu frames free, frame table %lu KiB (%u bytes a frame)\n",
		top >> 20, frame_free_count(), table_bytes >> 10, (u32)sizeof(struct frame));
}

u64 tsc_to_us(u64 ticks)
{
	return cfg.tsc_khz ? ticks * 1000 / cfg.tsc_khz : 0;
}


static void report_vm(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;
	u64 us = tsc_to_us(vm->end_tsc - vm->start_tsc);
	kprintf("umbra: vm%u ended after %lu slices: status %u%s: %s\n", vm->id, vm->slices, vm->exit_status,
		vm->stopped_by_umbra ? " (stopped by umbra)" : "", vm->reason);
	if (vm->stopped_by_umbra)
		vcpu_diagnose(v);
	const struct shadow_stats *st = &vm->mmu.stats;
	kprintf("umbra: vm%u: %lu exits in %lu ms (%lu exits/s); shadow: %lu faults, %lu fills, %lu reflected, %lu invlpg; %u guest frames\n",
		vm->id, v->exits_total, us / 1000, us ? v->exits_total * 1000000 / us : 0,
		st->faults, st->fills, st->guest_faults, st->invlpgs, vm->gpmap.populated);
	kprintf("umbra: vm%u: shadow tables: %lu made, %lu CR3 loads (%lu found their root), %lu guest table writes trapped, %lu syncs dropping %lu entries and downgrading %lu; %lu went write-hot; %lu shared tables copied, %lu taken over (%lu roots, %lu tables at 3 GiB and above, %lu below)\n",
		vm->id, st->tables_made, st->cr3_loads, st->roots_reused, st->unsyncs, st->syncs, st->zapped, st->downgraded,
		st->hot, st->sp_copies, st->sp_taken, st->sp_own_roots, st->sp_own_high, st->sp_own_low);
	kprintf("umbra: vm%u: exits by reason: pf %lu cr %lu invlpg %lu io %lu msr %lu intr %lu; events re-injected %lu, INT n restarted %lu; "
		"instruction lengths %lu checked against the CPU's, %lu differ; umbra's own handling %lu ns an exit\n",
		vm->id, v->exits[EXIT_PF], v->exits[EXIT_CR_READ] + v->exits[EXIT_CR_WRITE],
		v->exits[EXIT_INVLPG], v->exits[EXIT_IO], v->exits[EXIT_MSR], v->exits[EXIT_INTR],
		v->reinjected, v->soft_restarted, v->len_checked, v->len_differ,
		v->exits_total ? tsc_to_us(v->handling_tsc) * 1000 / v->exits_total : 0);
	if (vm->dev.lapic.page_shows)
		kprintf("umbra: vm%u: local APIC page shown read-only %u times (for reads without exits)\n", vm->id,
			vm->dev.lapic.page_shows);
	if (v->irqs_injected)
		kprintf("umbra: vm%u: %lu interrupts injected (8259 and local APIC)\n", vm->id, v->irqs_injected);
	vm_said_report(vm);
	if (cfg.reclaim_every)
		kprintf("umbra: vm%u: reclaimed %lu frames (%lu shadow entries) while it ran\n",
			vm->id, vm->reclaims, vm->reclaimed_entries);
}

static u32 last_status = UMBRA_EXIT_LOAD_FAILED;
static bool all_ok = true;

// A VM ended: say how, audit its shadow, give its frames back.
static void vm_finish(struct vm *vm)
{
	report_vm(vm);
	if (cfg.audit_all)
		vm_audit_all("after vm%u ended", vm->id);
	else
		vm_audit(vm);
	last_status = vm->exit_status;
	if (vm->stopped_by_umbra || vm->exit_status != 0)
		all_ok = false;
	vm_destroy(vm);
}

void kmain(u32 magic, u32 mbi_pa);

void kmain(u32 magic, u32 mbi_pa)
{
	u64 boot_tsc = rdtsc();
	const struct mb_info *mbi = (const void *)(uintptr_t)mbi_pa;
	const char *cmdline = magic == MB_BOOT_MAGIC && (mbi->flags & MBI_CMDLINE) ?
		(const char *)(uintptr_t)mbi->cmdline : NULL;
	const char *loader = magic == MB_BOOT_MAGIC && (mbi->flags & MBI_LOADER_NAME) ?
		(const char *)(uintptr_t)mbi->boot_loader_name : "";
	cfg.module_names = strncmp(loader, "GRUB 2", 6) != 0;
	// More options from QEMU's -fw_cfg name=opt/umbra/args (how make run
	// asks a GRUB-booted umbra to keep its console with a terminal).
	static char fw_args[256];
	bool have_fw_args = fwcfg_read_file("opt/umbra/args", fw_args, sizeof(fw_args));
	parse_cmdline(cmdline, true, false);
	if (have_fw_args)
		parse_cmdline(fw_args, false, false);
	log_init(cfg.split);
	parse_cmdline(cmdline, true, true);
	if (have_fw_args) {
		kprintf("umbra: options from fw_cfg: %s\n", fw_args);
		parse_cmdline(fw_args, false, true);
	}
	if (cfg.linux_append[0])
		kprintf("umbra: Linux kernels' command lines end with '%s' (append=)\n", cfg.linux_append);
	console_init();
	trap_init();
	kprintf("umbra: booting (64-bit VMM, shadow paging)\n");
	if (magic != MB_BOOT_MAGIC)
		panic("not started by a multiboot loader (magic 0x%x)", magic);

	busy_add(0, 0x100000);
	busy_add((u64)(uintptr_t)__kernel_start, (u64)(uintptr_t)__kernel_end);
	busy_add(mbi_pa, mbi_pa + sizeof(*mbi));
	if (mbi->flags & MBI_CMDLINE)
		busy_add(mbi->cmdline, mbi->cmdline + strlen((const char *)(uintptr_t)mbi->cmdline) + 1);
	const struct mb_module *mods = (const void *)(uintptr_t)mbi->mods_addr;
	u32 nmods = (mbi->flags & MBI_MODS) ? mbi->mods_count : 0;
	busy_add(mbi->mmap_addr, mbi->mmap_addr + mbi->mmap_length);
	if (nmods)
		busy_add(mbi->mods_addr, mbi->mods_addr + nmods * sizeof(*mods));
	for (u32 i = 0; i < nmods; i++) {
		busy_add(mods[i].start, mods[i].end);
		if (mods[i].cmdline)
			busy_add(mods[i].cmdline, mods[i].cmdline + strlen((const char *)(uintptr_t)mods[i].cmdline) + 1);
	}
	memory_init(mbi);
	cfg.tsc_khz = tsc_calibrate_khz();
	rtc_host_init();
	swap_init();
	u64 free_at_boot = frame_free_count();

	// The backend is the CPU's: Intel's VMX when CPUID says VMX, else AMD's SVM.
	const char *why_vmx = vmx_ops.probe(), *why = why_vmx;
	hv = &vmx_ops;
	if (why_vmx) {
		hv = &svm_ops;
		why = hv->probe();
	}
	if (why)
		panic("cannot run guests: %s; %s", why, why_vmx);
	if (hv->cpu_init() < 0)
		panic("cannot run guests: the %s backend could not start on this CPU", hv->name);
	// umbra keeps guests' FPU/SSE state with FXSAVE/FXRSTOR: allow both.
	write_cr0((read_cr0() & ~(u64)(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	kprintf("umbra: backend %s (%s), %u module(s), TSC %lu kHz\n", hv->name,
		hv == &vmx_ops ? "Intel VMX, from CPUID 1 ECX bit 5" : "AMD SVM, from CPUID 8000_0001 ECX bit 2", nmods,
		cfg.tsc_khz);

	int created = 0, rejected = 0;
	for (u32 i = 0; i < nmods; i++) {
		const char *cmd = mods[i].cmdline ? (const char *)(uintptr_t)mods[i].cmdline : "";
		char err[120];
		if (mods[i].end <= mods[i].start) {
			kprintf("umbra: module %u (%s): rejected: empty\n", i, cmd);
			all_ok = false;
			rejected++;
			continue;
		}
		const u8 *image = (const u8 *)(uintptr_t)mods[i].start;
		u32 size = mods[i].end - mods[i].start;
		// A Linux kernel's initrd is the module after it, unless that is
		// a kernel itself.
		const u8 *initrd = NULL;
		u32 initrd_size = 0, first = i;
		if (linux_is_bzimage(image, size) && i + 1 < nmods && mods[i + 1].end > mods[i + 1].start &&
		    !loader_is_kernel((const u8 *)(uintptr_t)mods[i + 1].start, mods[i + 1].end - mods[i + 1].start)) {
			i++;
			initrd = (const u8 *)(uintptr_t)mods[i].start;
			initrd_size = mods[i].end - mods[i].start;
		}
		struct vm *vm = vm_create_from_module(image, size, initrd, initrd_size, cmd, err, sizeof(err));
		if (!vm) {
			kprintf("umbra: module %u (%s): rejected: %s\n", first, cmd, err);
			all_ok = false;
			rejected++;
			continue;
		}
		created++;
		kprintf("umbra: vm%u: %u MiB, entry 0x%x, from module %u (%s)%s\n",
			vm->id, vm->mem_mib, (u32)vm->vcpu.rip, first, cmd,
			initrd ? ", initrd the next module" : "");
	}
	if (created)
		kprintf("umbra: boot to first guest entry: %lu us of umbra's own time\n",
			tsc_to_us(rdtsc() - boot_tsc));
	irq_init();
	hosttimer_init();
	sched_run(vm_finish);
	if (swap_stats.evictions || swap_stats.zero_pages) {
		kprintf("umbra: swap: %lu frames evicted in %lu batches, %lu read back; %lu read errors, %lu write errors; "
			"%u slots in use at the end\n", swap_stats.evictions, swap_stats.batches, swap_stats.faultins,
			swap_stats.read_errors, swap_stats.write_errors, swap_slots_used());
		kprintf("umbra: swap: %lu all-zero frames became the zero frame (no disk write)\n", swap_stats.zero_pages);
		kprintf("umbra: swap: the clock looked at %lu frames, %lu of them accessed; the disk took %lu us a write, "
			"%lu us a read; %lu pages read ahead with the faulting ones\n", swap_stats.scanned,
			swap_stats.referenced, ata_stats.writes ? tsc_to_us(ata_stats.write_cycles) / ata_stats.writes : 0,
			ata_stats.reads ? tsc_to_us(ata_stats.read_cycles) / ata_stats.reads : 0, swap_stats.readahead);
		u64 ev = swap_stats.evictions + swap_stats.zero_pages;
		kprintf("umbra: swap: %lu ns an eviction all told; unmapping %lu ns of it through reverse maps, where a "
			"scan of every shadow table took %lu ns (%lu sampled)\n",
			ev ? tsc_to_us(swap_stats.evict_cycles * 1000 / ev) : 0,
			ev ? tsc_to_us(swap_stats.unmap_cycles * 1000 / ev) : 0,
			swap_stats.scans ? tsc_to_us(swap_stats.scan_cycles * 1000 / swap_stats.scans) : 0, swap_stats.scans);
	}
	kprintf("umbra: guests held at most %lu frames (%lu MiB) at once\n", guest_frames_peak, guest_frames_peak >> 8);
	u64 free_at_end = frame_free_count();
	kprintf("umbra: all VMs ended: %d created, %d rejected; free frames at boot %lu, at end %lu: %s\n",
		created, rejected, free_at_boot, free_at_end,
		free_at_boot == free_at_end ? "no leak" : "LEAK");
	if (free_at_boot != free_at_end)
		panic("frames leaked: %lu", free_at_boot - free_at_end);
	if (!cfg.end_exit && !console_quit) {
		kprintf("umbra: every VM has ended; the console stays: type 'quit' to leave\n");
		while (!console_quit) {
			console_poll();
			sti();
			hlt(); // the next timer tick
			cli();
		}
	}
	if (cfg.split)
		qemu_exit(created ? last_status : UMBRA_EXIT_LOAD_FAILED);
	qemu_exit(all_ok && created ? 0 : 1);
}

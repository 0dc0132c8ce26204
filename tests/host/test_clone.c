// Host model test of clones (mm/ only): VMs that share guest memory and
// shadow tables copy-on-write. Each VM keeps a reference copy of what its
// data pages must hold; a model CPU reads and writes through the shadow
// tables exactly as hardware would (a write lands in whatever frame a
// writable shadow entry names), so a shadow that lets one VM write a frame
// another still uses shows up as a wrong value in the other. Clones of
// clones, page-table edits, CR3 switches, reclaims and VM ends are mixed in,
// and the auditor checks every live VM after every operation.
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "check.h"
#include "dedup.h"
#include "frame.h"
#include "gpmap.h"
#include "shadow.h"
#include "swap.h"
#include "walk.h"

void host_mem_init(u64 nframes);

#define NVM 12
#define GUEST_FRAMES 4096     // 16 MiB
#define PD_GPA 0x1000u
#define PD2_GPA 0x2000u
#define PT_GPA(k) (0x10000u + (u32)(k) * 0x1000u)
#define DATA_GFN 1024u        // data frames 4..8 MiB
#define NDATA 1024u
#define NPDE 4
#define NPTE 16

struct tvm {
	bool live;
	struct gpmap gm;
	struct shadow_mmu s;
	struct shadow_vcpu sv;
	gpa_t cr3;
	u32 data[NDATA];          // what word 0 of each data frame must hold
};
static struct tvm vm[NVM];

static u64 rng_state = 0x2545F4914F6CDD1Dull;
static u32 rnd(u32 n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (u32)(rng_state % n);
}

static struct walk_ctx ctx_of(struct tvm *v)
{
	return (struct walk_ctx){ CR0_PG | CR0_PE | CR0_WP, v->cr3, CR4_PSE, &v->gm };
}

static u32 guest_read(struct tvm *v, gpa_t gpa)
{
	u32 x = 0;
	gpa_read(&v->gm, gpa, &x, 4);
	return x;
}

// A guest write that umbra traps or makes (a page-table edit): copy-on-write
// first, then tell the shadow, as the fault path does.
static void guest_write(struct tvm *v, gpa_t gpa, u32 val)
{
	CHECK(shadow_gpa_write(&v->s, gpa, &val, 4) == 0, "shadow_gpa_write");
}

// The model CPU: user access through the shadow tables (CR0.WP=1); on
// success, the word at the host frame it reaches.
static u32 *cpu_access(struct tvm *v, gva_t gva, bool write, u32 *ec)
{
	u32 spde = ((u32 *)hfn_ptr(v->sv.root->hfn))[PDE_INDEX(gva)];
	*ec = (write ? PFEC_W : 0) | PFEC_U;
	if (!(spde & PTE_P))
		return NULL;
	u32 spte = ((u32 *)hfn_ptr(spde >> PAGE_SHIFT))[PTE_INDEX(gva)];
	if (!(spte & PTE_P))
		return NULL;
	*ec |= PFEC_P;
	if (!(spde & spte & PTE_U) || (write && !(spde & spte & PTE_W)))
		return NULL;
	// As hardware does: the Accessed bit in the shadow entry it used.
	((u32 *)hfn_ptr(spde >> PAGE_SHIFT))[PTE_INDEX(gva)] |= PTE_A;
	return (u32 *)((u8 *)hfn_ptr(spte >> PAGE_SHIFT) + (gva & 0xFFC));
}

// One access as the guest sees it: fixed faults retried. NULL when the
// guest takes a #PF; *fault tells whether that matches its own tables.
static u32 *access(struct tvm *v, gva_t gva, bool write, bool *guest_fault)
{
	*guest_fault = false;
	for (int tries = 0; tries < 4; tries++) {
		u32 ec;
		u32 *p = cpu_access(v, gva, write, &ec);
		if (p)
			return p;
		struct walk_ctx c = ctx_of(v);
		struct walk w;
		enum shadow_result r = shadow_page_fault(&v->sv, &c, gva, ec, &w);
		if (r == SHADOW_GUEST_FAULT) {
			*guest_fault = true;
			return NULL;
		}
		CHECK(r == SHADOW_FIXED, "fault at %x: result %d", gva, r);
		if (r != SHADOW_FIXED)
			return NULL;
	}
	CHECK(0, "shadow never converged at %x", gva);
	return NULL;
}

static void reload(struct tvm *v)
{
	struct walk_ctx c = ctx_of(v);
	CHECK(shadow_load_cr3(&v->sv, &c) == 0, "load_cr3");
}

static void print_violation(void *arg, const struct audit_violation *x)
{
	int *left = arg;
	if ((*left)-- > 0)
		printf("  audit vm%d: %s: gva %x found %x expected %x frame %llx\n", left[1],
		       audit_kind_name(x->kind), x->gva, x->found, x->expected, (unsigned long long)x->hfn);
}

static u32 audit_all(int op)
{
	u32 bad = 0;
	for (int i = 0; i < NVM; i++) {
		if (!vm[i].live)
			continue;
		struct audit_result res;
		int left[2] = { 3, i };
		u32 n = shadow_audit(&vm[i].s, print_violation, left, &res);
		CHECK(n == 0, "op %d: vm%d: %u violations", op, i, n);
		bad += n;
	}
	return bad;
}

static struct tvm *vm_new(int *id)
{
	for (int i = 1; i < NVM; i++) {
		if (!vm[i].live) {
			*id = i;
			memset(&vm[i], 0, sizeof(vm[i]));
			gpmap_init(&vm[i].gm, GUEST_FRAMES, (u16)i);
			shadow_init(&vm[i].s, &vm[i].gm, (u16)i);
			shadow_vcpu_init(&vm[i].sv, &vm[i].s);
			return &vm[i];
		}
	}
	return NULL;
}

static void vm_end(struct tvm *v)
{
	shadow_vcpu_destroy(&v->sv);
	shadow_destroy(&v->s);
	gpmap_destroy(&v->gm);
	v->live = false;
}

// Clone as vm_clone does: share memory, then the shadow.
static bool vm_fork(struct tvm *p)
{
	int id;
	struct tvm *c = vm_new(&id);
	if (!c)
		return false;
	gpmap_share(&c->gm, &p->gm);
	if (shadow_clone(&c->sv, &p->sv) < 0) {
		CHECK(0, "shadow_clone");
		return false;
	}
	c->cr3 = p->cr3;
	memcpy(c->data, p->data, sizeof(c->data));
	reload(c);
	c->live = true;
	return true;
}

// The swap store of the swap variant: pages in host memory; a read can be
// made to fail.
#define STORE_SLOTS 16384
static u8 *store;
static u32 store_fail_reads; // fail every Nth read (0: never)
static u64 store_reads;

static int store_write(void *arg, u32 slot, const void *page)
{
	(void)arg;
	memcpy(store + (size_t)slot * PAGE_SIZE, page, PAGE_SIZE);
	return 0;
}

static int store_write_run(void *arg, u32 first, u32 n, const void *const *pages)
{
	for (u32 i = 0; i < n; i++)
		store_write(arg, first + i, pages[i]);
	return 0;
}

static int store_read(void *arg, u32 slot, void *page);
static int store_read_run(void *arg, u32 first, u32 n, void *const *pages)
{
	for (u32 i = 0; i < n; i++)
		if (store_read(arg, first + i, pages[i]) < 0)
			return -1;
	return 0;
}

static int store_read(void *arg, u32 slot, void *page)
{
	(void)arg;
	if (store_fail_reads && ++store_reads % store_fail_reads == 0)
		return -1;
	memcpy(page, store + (size_t)slot * PAGE_SIZE, PAGE_SIZE);
	return 0;
}

// Clones, COW, edits, CR3 switches, reclaims, VM ends at random; with swap,
// also under a limit of guest frames far below what the VMs hold, frames
// evicted by the clock before each operation and some at random, every
// read checked against what was written.
static void clone_random(bool swap)
{
	host_mem_init(GUEST_FRAMES * 6);
	if (swap) {
		static const struct swap_ops ops = {
			.write = store_write, .read = store_read, .write_run = store_write_run, .read_run = store_read_run,
		};
		if (!store)
			store = malloc((size_t)STORE_SLOTS * PAGE_SIZE);
		CHECK(store && swap_attach(&ops, STORE_SLOTS), "swap_attach");
		swap_limit_frames = 300;
		memset(&swap_stats, 0, sizeof(swap_stats));
	}
	u64 free_before = frame_free_count();
	int id;
	struct tvm *v0 = vm_new(&id);
	v0->live = true;
	v0->cr3 = PD_GPA;
	for (int k = 0; k < NPDE; k++) {
		guest_write(v0, PD_GPA + 4 * k, PT_GPA(k) | 7);
		guest_write(v0, PD2_GPA + 4 * k, PT_GPA(k) | 7);
		for (int t = 0; t < NPTE; t++)
			guest_write(v0, PT_GPA(k) + 4 * t, ((DATA_GFN + rnd(NDATA)) << PAGE_SHIFT) | 7);
	}
	reload(v0);
	int ops = getenv("UMBRA_SOAK") ? 20000000 : 300000;
	u64 clones = 0, ends = 0, wrong = 0, writes = 0, reads = 0, edits = 0, reclaims = 0;
	u64 swapouts = 0;
	for (int op = 0; op < ops && wrong < 5; op++) {
		if ((op < 20000 || (op & 15) == 0) && audit_all(op))
			wrong++;
		if (swap && swap_make_room(4) < 0) {
			CHECK(0, "op %d: make room: %s", op, swap_failure_name(swap_stats.last_failure));
			wrong++;
		}
		if (swap && op % 3000 == 2999) // merge identical pages of all VMs
			CHECK(dedup_run() >= 0, "dedup_run");
		if (swap && rnd(8) == 0) { // evict a frame some VM holds, shared or not
			struct tvm *v = &vm[rnd(NVM)];
			hfn_t h = v->live ? gpmap_lookup(&v->gm, DATA_GFN + rnd(NDATA)) : 0;
			swapouts += h && swap_out(h) == 0;
		}
		int i = (int)rnd(NVM);
		struct tvm *v = &vm[i];
		if (!v->live)
			continue;
		int k = (int)rnd(NPDE), t = (int)rnd(NPTE);
		gva_t gva = ((u32)k << 22) | ((u32)t << 12) | (rnd(1024) * 4);
		u32 r = rnd(100);
		if (r < 70) { // read or write a data word through the shadow
			bool write = rnd(2);
			struct walk w;
			struct walk_ctx c = ctx_of(v);
			c.gpmap = &v->gm;
			bool guest_ok = walk_gva(&c, gva, WALK_PEEK, &w) == WALK_OK;
			bool gfault;
			u32 *p = access(v, gva, write, &gfault);
			gfn_t gfn = w.gpa >> PAGE_SHIFT;
			if (!p) {
				CHECK(gfault, "op %d: vm%d: no access at %x", op, i, gva);
				continue;
			}
			CHECK(guest_ok && gfn >= DATA_GFN && gfn < DATA_GFN + NDATA, "op %d: access where the guest maps nothing", op);
			if (!guest_ok || gfn < DATA_GFN || gfn >= DATA_GFN + NDATA)
				continue;
			CHECK((w.gpa & 0xFFF) == (gva & 0xFFF), "offset");
			u32 *word0 = (u32 *)((uintptr_t)p & ~(uintptr_t)0xFFF);
			if (write) {
				// (Some writes of 0 leave a page all zeros: the zero frame's;
				// some of one of two values make pages dedup can merge.)
				u32 val = rnd(4) == 0 ? 0 : rnd(3) == 0 ? 0x1234u * (1 + rnd(2)) : (u32)op * 2654435761u;
				*word0 = val; // as the CPU would, through the shadow entry
				v->data[gfn - DATA_GFN] = val;
				writes++;
			} else {
				reads++;
				if (*word0 != v->data[gfn - DATA_GFN]) {
					CHECK(0, "op %d: vm%d reads %x at gfn %x, wrote %x", op, i, *word0, gfn,
					      v->data[gfn - DATA_GFN]);
					wrong++;
				}
			}
		} else if (r < 82) { // edit a PTE (map another frame, or other rights), INVLPG
			static const u32 flags[] = { 7, 7, 7, 5, 0 };
			gpa_t at = PT_GPA(k) + 4 * (u32)t;
			guest_write(v, at, ((DATA_GFN + rnd(NDATA)) << PAGE_SHIFT) | flags[rnd(5)]);
			shadow_invlpg(&v->sv, gva & ~0xFFFu);
			edits++;
		} else if (r < 86) { // switch address space
			v->cr3 = v->cr3 == PD_GPA ? PD2_GPA : PD_GPA;
			reload(v);
		} else if (r < 90) { // clear the A bit of a PTE, INVLPG
			gpa_t at = PT_GPA(k) + 4 * (u32)t;
			guest_write(v, at, guest_read(v, at) & ~(PTE_A | PTE_D));
			shadow_invlpg(&v->sv, gva & ~0xFFFu);
		} else if (r < 94) { // reclaim a frame this VM maps
			hfn_t h = gpmap_lookup(&v->gm, DATA_GFN + rnd(NDATA));
			if (h) {
				shadow_reclaim(h, NULL, NULL);
				CHECK(rmap_count(h) == 0, "reclaim left mappings");
				reclaims++;
			}
		} else if (r < 98) {
			clones += vm_fork(v);
		} else {
			int live = 0;
			for (int j = 0; j < NVM; j++)
				live += vm[j].live;
			if (live > 1) {
				vm_end(v);
				ends++;
			}
		}
	}
	audit_all(ops);
	printf("  %d ops: %llu clones, %llu ends, %llu writes, %llu reads, %llu PTE edits, %llu reclaims;"
	       " %llu frames and %llu leaves copied, %llu shared tables now\n", ops,
	       (unsigned long long)clones, (unsigned long long)ends, (unsigned long long)writes,
	       (unsigned long long)reads, (unsigned long long)edits, (unsigned long long)reclaims,
	       (unsigned long long)gpmap_stats.cow_frames, (unsigned long long)gpmap_stats.cow_leaves,
	       (unsigned long long)shadow_global.shared_tables);
	u64 copies = 0, taken = 0;
	for (int i = 0; i < NVM; i++) {
		if (vm[i].live) {
			copies += vm[i].s.stats.sp_copies;
			taken += vm[i].s.stats.sp_taken;
			vm_end(&vm[i]);
		}
	}
	CHECK(clones > 50 && writes > 1000 && gpmap_stats.cow_frames > 100, "the run exercised little");
	CHECK(frame_free_count() == free_before, "leak: %llu frames free, %llu before",
	      (unsigned long long)frame_free_count(), (unsigned long long)free_before);
	CHECK(shadow_global.shared_tables == 0, "shared tables left: %llu",
	      (unsigned long long)shadow_global.shared_tables);
	(void)copies, (void)taken;
	if (swap) {
		printf("  swap: %llu written out, %llu more made the zero frame (%llu of all at random), %llu read back, %llu batches (%llu written in one run), %llu of %llu"
		       " frames looked at found accessed; %u slots in use at the end\n",
		       (unsigned long long)swap_stats.evictions, (unsigned long long)swap_stats.zero_pages,
		       (unsigned long long)swapouts,
		       (unsigned long long)swap_stats.faultins, (unsigned long long)swap_stats.batches,
		       (unsigned long long)swap_stats.runs,
		       (unsigned long long)swap_stats.referenced, (unsigned long long)swap_stats.scanned,
		       swap_slots_used());
		printf("  read-ahead: %llu pages read with the faulting ones\n", (unsigned long long)swap_stats.readahead);
		CHECK(swap_stats.readahead > 100, "little read-ahead: %llu", (unsigned long long)swap_stats.readahead);
		printf("  dedup: %llu runs, %llu frames hashed, %llu merged (%llu into the zero frame), %llu hash collisions\n",
		       (unsigned long long)dedup_stats.runs, (unsigned long long)dedup_stats.scanned,
		       (unsigned long long)dedup_stats.merged, (unsigned long long)dedup_stats.zero,
		       (unsigned long long)dedup_stats.collisions);
		CHECK(swap_stats.evictions > 2000 && swap_stats.faultins > 1500 && swapouts > 1000 &&
		      swap_stats.zero_pages > 300, "the run swapped little");
		CHECK(dedup_stats.merged - dedup_stats.zero > 1000, "dedup merged little");
		CHECK(swap_stats.runs > 100, "few batches written in one run: %llu", (unsigned long long)swap_stats.runs);
		CHECK(swap_slots_used() == 0, "swap slots leaked: %u", swap_slots_used());
		swap_limit_frames = 0;
		swap_detach();
	}
}

// A read error of the store while a fault brings a frame back: the fault
// fails with -ERR_IO (the VM is stopped by vmm/), nothing is changed (the
// entry still names its slot, the audit finds nothing), and once the store
// reads again the same access gets the data that was written.
static void test_swap_read_error(void)
{
	host_mem_init(GUEST_FRAMES * 3);
	static const struct swap_ops ops = { .write = store_write, .read = store_read };
	if (!store)
		store = malloc((size_t)STORE_SLOTS * PAGE_SIZE);
	CHECK(store && swap_attach(&ops, STORE_SLOTS), "swap_attach");
	u64 free_before = frame_free_count();
	int id;
	struct tvm *v = vm_new(&id);
	v->live = true;
	v->cr3 = PD_GPA;
	guest_write(v, PD_GPA, PT_GPA(0) | 7);
	guest_write(v, PT_GPA(0) + 4, (DATA_GFN << PAGE_SHIFT) | 7);
	reload(v);
	bool gf;
	u32 *p = access(v, 0x1000, true, &gf);
	CHECK(p, "write");
	if (p)
		*p = 0x5A5A1234;
	hfn_t h = gpmap_lookup(&v->gm, DATA_GFN);
	CHECK(h && swap_out(h) == 0, "swap_out");
	CHECK(gpmap_entry_swapped(gpmap_entry(&v->gm, DATA_GFN)) && swap_slots_used() == 1, "not swapped");
	store_fail_reads = 1;
	struct walk_ctx c = ctx_of(v);
	struct walk w;
	enum shadow_result r = shadow_page_fault(&v->sv, &c, 0x1000, PFEC_U, &w);
	CHECK(r == SHADOW_NOMEM && w.err == -ERR_IO, "a failed read: result %d err %d", r, w.err);
	CHECK(gpmap_entry_swapped(gpmap_entry(&v->gm, DATA_GFN)) && swap_slots_used() == 1, "the entry changed");
	CHECK(swap_stats.read_errors >= 1, "read error not counted");
	audit_all(0);
	store_fail_reads = 0;
	p = access(v, 0x1000, false, &gf);
	CHECK(p && *p == 0x5A5A1234, "after the error: %x", p ? *p : 0);
	CHECK(swap_slots_used() == 0, "slot not freed");
	vm_end(v);
	CHECK(frame_free_count() == free_before, "leak");
	swap_detach();
}

static void test_clone_random(void)
{
	clone_random(false);
}

static void test_clone_swap(void)
{
	clone_random(true);
}

// Clone cost must not depend on guest memory: the clone touches the
// parent's root and its leaf slots, never the frames or tables below.
static void test_clone_flat(void)
{
	host_mem_init(GUEST_FRAMES * 3);
	int id;
	struct tvm *p = vm_new(&id);
	p->live = true;
	p->cr3 = PD_GPA;
	// Two tables mapping 8 MiB of distinct frames, all written.
	for (u32 k = 0; k < 2; k++) {
		guest_write(p, PD_GPA + 4 * k, PT_GPA(k) | 7);
		for (u32 t = 0; t < 1024; t++)
			guest_write(p, PT_GPA(k) + 4 * t, ((DATA_GFN + k * 1024 + t) << PAGE_SHIFT) | 7);
	}
	reload(p);
	bool gf;
	for (u32 a = 0; a < 2u << 22; a += 4096)
		if (!access(p, a, true, &gf))
			CHECK(0, "fill %x", a);
	u64 free_before = frame_free_count();
	u64 copied = gpmap_stats.cow_frames + gpmap_stats.cow_leaves;
	CHECK(vm_fork(p), "fork");
	// No table for the clone: it shares the parent's root and the tables
	// below (at most one frame of the clone's guest map); no guest frame.
	CHECK(free_before - frame_free_count() <= 1, "clone took %llu frames",
	      (unsigned long long)(free_before - frame_free_count()));
	CHECK(gpmap_stats.cow_frames + gpmap_stats.cow_leaves == copied, "clone copied memory");
	CHECK(shadow_global.shared_tables == 3, "%llu shared tables", (unsigned long long)shadow_global.shared_tables);
	audit_all(0);
	// A write by the parent copies one frame (and the leaf), and two
	// tables: the root and the table of the page written.
	CHECK(access(p, 0x1000, true, &gf), "write");
	CHECK(p->s.stats.sp_copies == 2, "%llu tables copied", (unsigned long long)p->s.stats.sp_copies);
	CHECK(shadow_global.shared_tables == 3, "%llu shared tables", (unsigned long long)shadow_global.shared_tables);
	audit_all(1);
	// The clone's first write takes the root and that table over (it is
	// their last user) and copies nothing.
	struct tvm *c = NULL;
	for (int i = 0; i < NVM; i++)
		if (vm[i].live && &vm[i] != p)
			c = &vm[i];
	CHECK(c && access(c, 0x2000, true, &gf), "clone's write");
	CHECK(c && c->s.stats.sp_copies == 0 && c->s.stats.sp_taken == 2, "clone copied %llu, took %llu",
	      c ? (unsigned long long)c->s.stats.sp_copies : 0ull, c ? (unsigned long long)c->s.stats.sp_taken : 0ull);
	CHECK(shadow_global.shared_tables == 1, "%llu shared tables", (unsigned long long)shadow_global.shared_tables);
	audit_all(2);
	for (int i = 0; i < NVM; i++)
		if (vm[i].live)
			vm_end(&vm[i]);
	CHECK(shadow_global.shared_tables == 0, "shared tables left");
}

int main(void)
{
	RUN(test_clone_flat);
	RUN(test_clone_random);
	RUN(test_clone_swap);
	RUN(test_swap_read_error);
	CHECK_EXIT();
}

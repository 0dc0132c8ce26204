// Host tests of mm/: frames, gpmaps, the guest walker and the shadow MMU,
// checked against a reference model of 32-bit paging written apart from
// mm/walk.c (same SDM rules, different code).
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "frame.h"
#include "gpmap.h"
#include "shadow.h"
#include "walk.h"
#include "audit.h"

void host_mem_init(u64 nframes);

// ---- reference model ---------------------------------------------------

struct ref {
	bool fault;
	u32 ec;
	gpa_t gpa;
};

// What hardware must do for this access given the raw entries.
static struct ref ref_access(u32 pde, u32 pte, bool pse, bool wp, gva_t gva, bool write, bool user)
{
	struct ref r = { false, (write ? 2u : 0u) | (user ? 4u : 0u), 0 };
	bool large = pse && (pde & 0x80);
	if (!(pde & 1) || (!large && !(pte & 1))) {
		r.fault = true;
		return r;
	}
	u32 rights_u = large ? (pde & 4) : (pde & pte & 4);
	u32 rights_w = large ? (pde & 2) : (pde & pte & 2);
	bool ok;
	if (user)
		ok = rights_u && (!write || rights_w);
	else
		ok = !write || rights_w || !wp;
	if (!ok) {
		r.fault = true;
		r.ec |= 1;
		return r;
	}
	r.gpa = large ? (pde & 0xFFC00000u) + (gva & 0x3FFFFFu) : (pte & 0xFFFFF000u) + (gva & 0xFFFu);
	return r;
}

// ---- a tiny guest ------------------------------------------------------

#define GUEST_FRAMES 2048 // 8 MiB
#define PD_GPA 0x1000u
#define PT_GPA 0x2000u
#define DATA_GPA 0x400000u
#define PD2_GPA 0x3000u

static struct gpmap gm;

static u32 *gpa_word(gpa_t gpa)
{
	int err;
	hfn_t hfn = gpmap_populate(&gm, gpa >> PAGE_SHIFT, &err);
	return (u32 *)((u8 *)hfn_ptr(hfn) + (gpa & 0xFFF));
}

static void guest_reset(void)
{
	host_mem_init(GUEST_FRAMES * 2 + 64);
	gpmap_init(&gm, GUEST_FRAMES, 1);
}

static void test_frames(void)
{
	host_mem_init(64);
	u64 free0 = frame_free_count();
	CHECK(free0 == 63, "frame 0 must stay reserved: %llu free", (unsigned long long)free0);
	hfn_t got[63];
	for (int i = 0; i < 63; i++) {
		got[i] = frame_alloc(FRAME_GUEST, 1);
		CHECK(got[i] != 0, "alloc %d failed", i);
		u8 *p = hfn_ptr(got[i]);
		CHECK(p[0] == 0 && p[4095] == 0, "frame not zeroed");
		memset(p, 0xAB, PAGE_SIZE);
	}
	CHECK(frame_alloc(FRAME_GUEST, 1) == 0, "allocated past the end");
	CHECK(frame_count_of_type(FRAME_GUEST) == 63, "type count");
	frame_get(got[5]);
	frame_put(got[5]);
	CHECK(frame_of(got[5])->type == FRAME_GUEST, "freed with a reference left");
	for (int i = 0; i < 63; i++)
		frame_put(got[i]);
	CHECK(frame_free_count() == free0, "leak: %llu", (unsigned long long)frame_free_count());
	hfn_t again = frame_alloc(FRAME_SHADOW, 2);
	CHECK(((u8 *)hfn_ptr(again))[100] == 0, "reused frame not zeroed");
}

// gpmap_next visits exactly the populated frames, in order: sparse ones,
// both sides of leaf boundaries, the map's last frame (its size not a whole
// number of leaves), none in an empty map.
static void test_gpmap_next(void)
{
	host_mem_init(4096);
	struct gpmap m;
	const u32 size = 3 * GPMAP_LEAF_ENTRIES + 17;
	gpmap_init(&m, size, 1);
	gfn_t g = 0;
	CHECK(gpmap_next(&m, &g) == 0, "an empty map has a frame");
	static const gfn_t want[] = { 0, 1, GPMAP_LEAF_ENTRIES - 1, GPMAP_LEAF_ENTRIES, 2 * GPMAP_LEAF_ENTRIES + 5,
				      3 * GPMAP_LEAF_ENTRIES + 16 };
	hfn_t hw[ARRAY_SIZE(want)];
	int err;
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
		hw[i] = gpmap_populate(&m, want[i], &err);
	unsigned n = 0;
	hfn_t h;
	for (g = 0; (h = gpmap_next(&m, &g)); g++, n++) {
		CHECK(n < ARRAY_SIZE(want) && g == want[n] && h == hw[n], "visit %u: gfn 0x%x hfn 0x%llx", n, g,
		      (unsigned long long)h);
		if (n >= ARRAY_SIZE(want))
			break;
	}
	CHECK(n == ARRAY_SIZE(want), "visited %u of %u frames", n, (unsigned)ARRAY_SIZE(want));
	gpmap_destroy(&m);
}

static void test_gpmap(void)
{
	guest_reset();
	u64 free0 = frame_free_count();
	int err = 0;
	CHECK(gpmap_lookup(&gm, 5) == 0, "untouched frame present");
	hfn_t a = gpmap_populate(&gm, 5, &err);
	CHECK(a && gpmap_lookup(&gm, 5) == a, "populate/lookup");
	CHECK(gpmap_populate(&gm, 5, &err) == a, "populate twice gave another frame");
	CHECK(gpmap_populate(&gm, GUEST_FRAMES, &err) == 0 && err == -ERR_FAULT, "beyond memory");
	CHECK(gpmap_lookup(&gm, 0xFFFFF) == 0, "lookup beyond memory");
	u32 v = 0x12345678, r = 0;
	CHECK(gpa_write(&gm, 0x3000, &v, 4) == 0 && gpa_read(&gm, 0x3000, &r, 4) == 0 && r == v, "gpa rw");
	CHECK(gpa_read(&gm, GUEST_FRAMES << 12, &r, 4) == -ERR_FAULT, "read beyond memory");
	gpmap_destroy(&gm);
	CHECK(frame_free_count() == free0, "gpmap leak");
}

static const u32 flag_sets[] = { 0, 1, 3, 5, 7 }; // P, P|W, P|U, P|W|U, and not present

// Every PDE x PTE permission combination, every access, both WP values,
// 4 KiB and 4 MiB pages: walk_gva must agree with the reference model, and
// set A/D exactly on success.
static void test_walk_exhaustive(void)
{
	guest_reset();
	int n = 0;
	for (int large = 0; large < 2; large++)
	for (unsigned i = 0; i < ARRAY_SIZE(flag_sets); i++)
	for (unsigned j = 0; j < ARRAY_SIZE(flag_sets); j++)
	for (int wp = 0; wp < 2; wp++)
	for (int acc = 0; acc < 4; acc++) {
		if (large && j)
			continue;
		bool write = acc & 1, user = acc & 2;
		gva_t gva = 0x00C01234u;
		u32 pde = large ? (DATA_GPA | 0x80 | flag_sets[i]) : (PT_GPA | flag_sets[i]);
		u32 pte = 0x00005000u | flag_sets[j];
		*gpa_word(PD_GPA + 3 * 4) = pde;
		*gpa_word(PT_GPA + 1 * 4) = pte;
		struct walk_ctx ctx = { CR0_PG | CR0_PE | (wp ? CR0_WP : 0), PD_GPA, CR4_PSE, &gm };
		struct walk w;
		enum walk_status st = walk_gva(&ctx, gva, (write ? WALK_WRITE : 0) | (user ? WALK_USER : 0), &w);
		struct ref r = ref_access(pde, pte, true, wp, gva, write, user);
		n++;
		CHECK((st == WALK_FAULT) == r.fault, "large=%d pde=%x pte=%x wp=%d w=%d u=%d: status %d",
		      large, pde, pte, wp, write, user, st);
		if (st == WALK_FAULT && r.fault)
			CHECK(w.error_code == r.ec, "ec %x want %x", w.error_code, r.ec);
		if (st == WALK_OK && !r.fault) {
			CHECK(w.gpa == r.gpa, "gpa %x want %x", w.gpa, r.gpa);
			u32 npde = *gpa_word(PD_GPA + 12), npte = *gpa_word(PT_GPA + 4);
			CHECK(npde & PTE_A, "PDE.A not set");
			if (large)
				CHECK(!!(npde & PTE_D) == write, "4M D=%d after write=%d", !!(npde & PTE_D), write);
			else {
				CHECK(npte & PTE_A, "PTE.A not set");
				CHECK(!!(npte & PTE_D) == write, "D=%d after write=%d", !!(npte & PTE_D), write);
			}
		}
		if (st == WALK_FAULT) {
			u32 npte = *gpa_word(PT_GPA + 4);
			CHECK(!(npte & PTE_D), "D set by a faulting access");
		}
	}
	CHECK(n == (25 + 5) * 2 * 4, "ran %d combinations", n);
}

static void test_walk_paging_off_and_bad_gpa(void)
{
	guest_reset();
	struct walk w;
	struct walk_ctx off = { CR0_PE, 0, 0, &gm };
	CHECK(walk_gva(&off, 0x123456, WALK_WRITE | WALK_USER, &w) == WALK_OK && w.gpa == 0x123456,
	      "paging off must be identity");
	// A directory beyond guest memory.
	struct walk_ctx bad = { CR0_PG | CR0_PE, 0x7FFFF000u, 0, &gm };
	CHECK(walk_gva(&bad, 0x1000, 0, &w) == WALK_BAD_GPA && w.bad_gpa >= 0x7FFFF000u, "bad PD gpa");
	// A PDE pointing at a page table beyond guest memory.
	*gpa_word(PD_GPA) = 0x7F000000u | 7;
	struct walk_ctx c = { CR0_PG | CR0_PE, PD_GPA, 0, &gm };
	CHECK(walk_gva(&c, 0x1000, 0, &w) == WALK_BAD_GPA, "bad PT gpa");
	// Without CR4.PSE the PS bit is ignored: the PDE points at a table.
	*gpa_word(PD_GPA) = PT_GPA | 0x80 | 7;
	*gpa_word(PT_GPA + 4) = 0x9000 | 7;
	CHECK(walk_gva(&c, 0x1abc, 0, &w) == WALK_OK && w.gpa == 0x9abc && !w.large, "PS without PSE");
	// PSE with the reserved bit 21 set: #PF with RSVD|P.
	*gpa_word(PD_GPA) = 0x00400000u | (1u << 21) | 0x80 | 7;
	c.cr4 = CR4_PSE;
	CHECK(walk_gva(&c, 0x1abc, 0, &w) == WALK_FAULT && w.error_code == (PFEC_RSVD | PFEC_P),
	      "reserved bit 21: ec %x", w.error_code);
	// Peek neither checks permissions nor sets A.
	*gpa_word(PD_GPA) = PT_GPA | 1;
	*gpa_word(PT_GPA + 4) = 0x9000 | 1;
	CHECK(walk_gva(&c, 0x1000, WALK_PEEK | WALK_USER | WALK_WRITE, &w) == WALK_OK, "peek");
	CHECK(!(*gpa_word(PT_GPA + 4) & PTE_A), "peek set A");
}

// ---- the shadow, through a model of the CPU ----------------------------

static struct shadow_mmu sm;
static struct shadow_vcpu sv; // the one vCPU on sm

// The CPU's own check of the shadow tables (CR0.WP=1 always): returns true
// if the access goes through, and the host frame it reaches.
static bool cpu_access(gva_t gva, bool write, bool user, u32 *ec, hfn_t *hfn)
{
	u32 *pd = hfn_ptr(sv.root->hfn);
	u32 spde = pd[PDE_INDEX(gva)];
	*ec = (write ? 2u : 0u) | (user ? 4u : 0u);
	if (!(spde & 1))
		return false;
	u32 spte = ((u32 *)hfn_ptr(spde >> 12))[PTE_INDEX(gva)];
	if (!(spte & 1))
		return false;
	*ec |= 1;
	u32 u = spde & spte & 4, w = spde & spte & 2;
	if (user && !u)
		return false;
	if (write && !w)
		return false;
	*hfn = spte >> 12;
	return true;
}

// Perform one guest access under the shadow: retry after each fixed fault,
// as the hardware and umbra do. Returns the outcome the guest sees.
static struct ref shadow_access(struct walk_ctx *ctx, gva_t gva, bool write, bool user, int *retries)
{
	struct ref r = { false, 0, 0 };
	for (*retries = 0; *retries < 4; (*retries)++) {
		u32 ec;
		hfn_t hfn;
		if (cpu_access(gva, write, user, &ec, &hfn)) {
			r.gpa = (gpa_t)(hfn << 12) | (gva & 0xFFF); // host frame, not gpa
			return r;
		}
		struct walk w;
		enum shadow_result res = shadow_page_fault(&sv, ctx, gva, ec, &w);
		if (res == SHADOW_GUEST_FAULT) {
			r.fault = true;
			r.ec = w.error_code;
			return r;
		}
		if (res != SHADOW_FIXED) {
			r.fault = true;
			r.ec = 0xDEAD;
			return r;
		}
	}
	r.fault = true;
	r.ec = 0xBEEF; // the shadow never converged
	return r;
}

static void test_shadow_exhaustive(void)
{
	guest_reset();
	CHECK(shadow_init(&sm, &gm, 1) == 0, "shadow_init");
	shadow_vcpu_init(&sv, &sm);
	for (int large = 0; large < 2; large++)
	for (unsigned i = 0; i < ARRAY_SIZE(flag_sets); i++)
	for (unsigned j = 0; j < ARRAY_SIZE(flag_sets); j++)
	for (int wp = 0; wp < 2; wp++)
	for (int dirty = 0; dirty < 2; dirty++)
	for (int acc = 0; acc < 4; acc++)
	for (int acc2 = 0; acc2 < 4; acc2++) {
		if (large && j)
			continue;
		gva_t gva = 0x00C01234u;
		u32 d = dirty ? PTE_D : 0;
		u32 pde = large ? (DATA_GPA | 0x80 | flag_sets[i] | d) : (PT_GPA | flag_sets[i]);
		u32 pte = 0x00005000u | flag_sets[j] | d;
		*gpa_word(PD_GPA + 12) = pde;
		*gpa_word(PT_GPA + 4) = pte;
		// Direct writes here stand for guest writes, which umbra traps.
		shadow_guest_wrote(&sm, PD_GPA >> 12);
		shadow_guest_wrote(&sm, PT_GPA >> 12);
		struct walk_ctx ctx = { CR0_PG | CR0_PE | (wp ? CR0_WP : 0), PD_GPA, CR4_PSE, &gm };
		CHECK(shadow_load_cr3(&sv, &ctx) == 0, "load_cr3");
		// Two accesses in a row: the second runs against whatever the first
		// left in the shadow, which is where stale permissions would show.
		int accs[2] = { acc, acc2 };
		for (int k = 0; k < 2; k++) {
			bool write = accs[k] & 1, user = accs[k] & 2;
			struct ref want = ref_access(pde, pte, true, wp, gva, write, user);
			int retries;
			struct ref got = shadow_access(&ctx, gva, write, user, &retries);
			CHECK(got.fault == want.fault && (!got.fault || got.ec == want.ec),
			      "large=%d pde=%x pte=%x wp=%d acc=%d,%d step %d: fault %d ec %x, want %d ec %x",
			      large, pde, pte, wp, acc, acc2, k, got.fault, got.ec, want.fault, want.ec);
			if (!got.fault && !want.fault) {
				hfn_t expect = gpmap_lookup(&gm, want.gpa >> 12);
				CHECK(got.gpa == ((gpa_t)(expect << 12) | (gva & 0xFFF)),
				      "maps host %x, want frame of gpa %x", got.gpa, want.gpa);
				u32 leaf = large ? *gpa_word(PD_GPA + 12) : *gpa_word(PT_GPA + 4);
				CHECK(!write || (leaf & PTE_D), "write went through with D clear: %x", leaf);
			}
		}
	}
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
}

// Random guest activity that always invalidates as the architecture asks:
// every access must then behave exactly as the reference model says, and
// A/D bits must match the model's.
static u64 rng_state = 0x9E3779B97F4A7C15ull;
static u32 rnd(u32 n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (u32)(rng_state % n);
}

// INVLPG every address that maps through entry t of the table at table_gpa,
// as a guest must after editing a PTE of a table linked in several places.
static void invalidate_pte(gpa_t pd_gpa, gpa_t table_gpa, int t, int npde, bool pse)
{
	for (int k = 0; k < npde; k++) {
		u32 pde = *gpa_word(pd_gpa + 4 * k);
		if ((pde & 1) && !(pse && (pde & 0x80)) && (pde & 0xFFFFF000u) == table_gpa)
			shadow_invlpg(&sv, ((u32)k << 22) | ((u32)t << 12));
	}
}

// Two address spaces (directories at PD_GPA and PD2_GPA) start out sharing
// their page tables; the guest edits tables of either, loaded or not, turns
// PDEs into 4 MiB pages and back, clears A/D, switches CR3, flips CR0.WP and
// CR4.PSE, and accesses memory; umbra reclaims frames under it. The guest
// always invalidates as the architecture asks, so every access must behave
// exactly as the reference model says, A/D included, and the auditor must be
// clean after every operation.
#define PD2_GPA 0x3000u

static void print_violation(void *arg, const struct audit_violation *v)
{
	int *left = arg;
	if ((*left)-- > 0)
		printf("  audit: %s: gva %x found %x expected %x frame %llx\n", audit_kind_name(v->kind),
		       v->gva, v->found, v->expected, (unsigned long long)v->hfn);
}

static void test_shadow_random(void)
{
	guest_reset();
	u64 free_before = frame_free_count();
	CHECK(shadow_init(&sm, &gm, 1) == 0, "shadow_init");
	shadow_vcpu_init(&sv, &sm);
	const int npde = 4, npte = 8;
	// PDEs 0..3 cover 0..16 MiB; page tables at 0x10000 + k*0x1000, linked
	// into both directories; data frames in 4..8 MiB.
	for (int k = 0; k < npde; k++) {
		*gpa_word(PD_GPA + 4 * k) = (0x10000u + k * 0x1000u) | 7;
		*gpa_word(PD2_GPA + 4 * k) = (0x10000u + k * 0x1000u) | 7;
	}
	for (int k = 0; k < npde; k++)
		for (int t = 0; t < npte; t++)
			*gpa_word(0x10000u + k * 0x1000u + 4 * t) = (0x400000u + rnd(1024) * 0x1000u) | 7;
	bool wp = true, pse = true;
	gpa_t cur = PD_GPA, other = PD2_GPA;
#define CTX ((struct walk_ctx){ CR0_PG | CR0_PE | (wp ? CR0_WP : 0), cur, pse ? CR4_PSE : 0, &gm })
#define RELOAD() do { struct walk_ctx c_ = CTX; CHECK(shadow_load_cr3(&sv, &c_) == 0, "load_cr3"); } while (0)
#define WROTE(gpa) shadow_guest_wrote(&sm, (gpa) >> 12)
	RELOAD();
	int ops = getenv("UMBRA_SOAK") ? 100000000 : 1000000, mismatches = 0;
	u64 reclaims = 0, reclaimed = 0, audits = 0, switches = 0, remote = 0, freed = 0;
	for (int op = 0; op < ops && mismatches < 5; op++) {
		// The auditor after every operation (every 64th past the first 5e4:
		// a full audit costs a walk per shadow PTE).
		if (op < 50000 || (op & 63) == 0) {
			struct audit_result res;
			audits++;
			int left = 3;
			if (shadow_audit(&sm, print_violation, &left, &res)) {
				mismatches++;
				CHECK(0, "op %d: audit found %u violations", op, res.violations);
			}
		}
		struct walk_ctx ctx = CTX;
		int k = rnd(npde), t = rnd(npte);
		gva_t gva = ((u32)k << 22) | ((u32)t << 12) | rnd(4096);
		u32 *pdep = gpa_word(cur + 4 * k);
		gpa_t pt_gpa = *pdep & 0xFFFFF000u;
		u32 *ptep = gpa_word(pt_gpa + 4 * t);
		switch (rnd(13)) {
		case 0: // rewrite a PTE, then INVLPG it wherever it is linked
			if (!(*pdep & 0x80) || !pse) {
				*ptep = (0x400000u + rnd(1024) * 0x1000u) | flag_sets[rnd(5)] | (rnd(2) ? PTE_D : 0);
				WROTE(pt_gpa);
				invalidate_pte(cur, pt_gpa, t, npde, pse);
			}
			break;
		case 1: { // turn a PDE into a 4 MiB page or back
			// A 4 MiB translation is one TLB entry, so INVLPG of any address
			// in it suffices; a page table's 4 KiB entries each need their
			// own, so the model then reloads CR3 instead.
			bool was_large = pse && (*pdep & 0x80) && (*pdep & 1);
			if (*pdep & 0x80) // a table: its own, or another slot's (linked twice)
				*pdep = (0x10000u + (rnd(2) ? (u32)k : rnd(npde)) * 0x1000u) | flag_sets[1 + rnd(4)];
			else
				*pdep = 0x400000u | 0x80 | flag_sets[rnd(5)];
			WROTE(cur);
			if (was_large)
				shadow_invlpg(&sv, gva);
			else
				RELOAD();
			break;
		}
		case 2: // clear A/D of the leaf, INVLPG; of a PDE above a table, reload
			// (other pages cached through that PDE would not set its A again)
			if (pse && (*pdep & 0x80)) {
				*pdep &= ~(PTE_A | PTE_D);
				WROTE(cur);
				shadow_invlpg(&sv, gva);
			} else if (rnd(4)) {
				*ptep &= ~(PTE_A | PTE_D);
				WROTE(pt_gpa);
				invalidate_pte(cur, pt_gpa, t, npde, pse);
			} else {
				*pdep &= ~PTE_A;
				WROTE(cur);
				RELOAD();
			}
			break;
		case 3: // CR3 reload or a paging-mode change
			if (rnd(4) == 0)
				wp = !wp;
			else if (rnd(8) == 0)
				pse = !pse;
			RELOAD();
			break;
		case 4: { // reclaim a data frame: exactly its mappings go, the scan finds none left
			// Mostly a frame the shadow maps at gva, else any data frame.
			hfn_t hfn = 0;
			u32 spde = ((u32 *)hfn_ptr(sv.root->hfn))[k];
			if (spde & PTE_P) {
				u32 spte = ((u32 *)hfn_ptr(spde >> 12))[t];
				if (spte & PTE_P)
					hfn = spte >> 12;
			}
			if (!hfn)
				hfn = gpmap_lookup(&gm, (0x400000u >> 12) + rnd(1024));
			if (!hfn || frame_of(hfn)->type != FRAME_GUEST)
				break;
			u32 before = rmap_count(hfn);
			u32 n = shadow_reclaim(hfn, NULL, NULL);
			u32 left = shadow_reclaim_scan(hfn);
			reclaims++;
			reclaimed += n;
			if (n != before || left != 0) {
				mismatches++;
				CHECK(0, "op %d: reclaim invalidated %u of %u mappings, scan found %u left", op, n, before, left);
			}
			break;
		}
		case 5: { // switch to the other address space
			gpa_t x = cur;
			cur = other;
			other = x;
			switches++;
			RELOAD();
			break;
		}
		case 7: // free the address space not loaded; a fresh one takes its place
			if (rnd(8) == 0) {
				other = (other == PD2_GPA || other == PD_GPA) && cur != 0x4000u ? 0x4000u :
					(cur != PD2_GPA ? PD2_GPA : PD_GPA);
				for (int q = 0; q < npde; q++)
					*gpa_word(other + 4 * q) = (0x10000u + rnd(npde) * 0x1000u) | 7;
				WROTE(other);
				freed++;
			}
			break;
		case 6: { // edit the directory that is not loaded: no invalidation due
			u32 *opde = gpa_word(other + 4 * k);
			if (rnd(2))
				*opde = (0x10000u + rnd(npde) * 0x1000u) | flag_sets[1 + rnd(4)];
			else
				*opde = 0x400000u | 0x80 | flag_sets[rnd(5)];
			WROTE(other);
			remote++;
			break;
		}
		default: { // an access
			bool write = rnd(2), user = rnd(2);
			u32 pde0 = *pdep, pte0 = *ptep;
			struct ref want = ref_access(pde0, pte0, pse, wp, gva, write, user);
			int retries;
			struct ref got = shadow_access(&ctx, gva, write, user, &retries);
			if (got.fault != want.fault || (got.fault && got.ec != want.ec)) {
				mismatches++;
				CHECK(0, "op %d gva %x w=%d u=%d pde %x pte %x wp %d pse %d: fault %d ec %x, want %d ec %x",
				      op, gva, write, user, pde0, pte0, wp, pse, got.fault, got.ec, want.fault, want.ec);
			} else if (!got.fault) {
				hfn_t expect = gpmap_lookup(&gm, want.gpa >> 12);
				if (got.gpa != ((gpa_t)(expect << 12) | (gva & 0xFFF))) {
					mismatches++;
					CHECK(0, "op %d: wrong frame", op);
				}
				bool large = pse && (pde0 & 0x80);
				u32 leaf = large ? *pdep : *ptep;
				if (!(*pdep & PTE_A) || !(leaf & PTE_A) || (write && !(leaf & PTE_D))) {
					mismatches++;
					CHECK(0, "op %d: A/D not set: pde %x leaf %x write %d", op, *pdep, leaf, write);
				}
			}
		}
		}
	}
	CHECK(sm.stats.fills > 1000 && sm.stats.guest_faults > 100 && reclaims > 1000 && reclaimed > 100 &&
	      sm.stats.roots_reused > 1000 && sm.stats.syncs > 1000 && switches > 1000 && remote > 1000 &&
	      sm.stats.hot > 10 && sm.stats.downgraded > 10,
	      "the run exercised little: %llu fills, %llu reclaims of %llu mappings, %llu roots reused, %llu syncs, "
	      "%llu tables went write-hot, %llu entries downgraded",
	      (unsigned long long)sm.stats.fills, (unsigned long long)reclaims, (unsigned long long)reclaimed,
	      (unsigned long long)sm.stats.roots_reused, (unsigned long long)sm.stats.syncs,
	      (unsigned long long)sm.stats.hot, (unsigned long long)sm.stats.downgraded);
	printf("  %d operations, %llu audits, %llu fills, %llu reclaims (%llu mappings), %llu CR3 switches, "
	       "%llu roots reused, %llu tables made, %llu syncs dropping %llu entries and downgrading %llu, "
	       "%llu tables write-hot, %llu address spaces freed, %llu tables unshadowed\n", ops,
	       (unsigned long long)audits, (unsigned long long)sm.stats.fills,
	       (unsigned long long)reclaims, (unsigned long long)reclaimed, (unsigned long long)switches,
	       (unsigned long long)sm.stats.roots_reused, (unsigned long long)sm.stats.tables_made,
	       (unsigned long long)sm.stats.syncs, (unsigned long long)sm.stats.zapped,
	       (unsigned long long)sm.stats.downgraded, (unsigned long long)sm.stats.hot,
	       (unsigned long long)freed, (unsigned long long)sm.stats.unshadowed);
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
	gpmap_destroy(&gm);
	CHECK(frame_free_count() == free_before, "frames leaked: %llu free, %llu before",
	      (unsigned long long)frame_free_count(), (unsigned long long)free_before);
#undef CTX
#undef RELOAD
#undef WROTE
}

// A guest page table linked into two directories has one shadow table,
// counted by both shadow PDEs; it outlives the first directory's shadow and
// goes with the second. Its guest frame is protected while it is shadowed.
static void test_shadow_sharing(void)
{
	guest_reset();
	u64 free0 = frame_free_count();
	CHECK(shadow_init(&sm, &gm, 1) == 0, "shadow_init");
	shadow_vcpu_init(&sv, &sm);
	*gpa_word(PD_GPA + 4) = PT_GPA | 7;   // gva 0x400000.. in directory 1
	*gpa_word(PD2_GPA + 8) = PT_GPA | 7;  // gva 0x800000.. in directory 2
	*gpa_word(PT_GPA + 4) = 0x5000 | 7;
	struct walk_ctx c1 = { CR0_PG | CR0_PE | CR0_WP, PD_GPA, 0, &gm };
	struct walk_ctx c2 = { CR0_PG | CR0_PE | CR0_WP, PD2_GPA, 0, &gm };
	int r;
	CHECK(shadow_load_cr3(&sv, &c1) == 0, "load 1");
	struct ref a = shadow_access(&c1, 0x401000, false, false, &r);
	CHECK(shadow_load_cr3(&sv, &c2) == 0, "load 2");
	struct ref b = shadow_access(&c2, 0x801000, false, false, &r);
	CHECK(!a.fault && !b.fault && a.gpa == b.gpa, "both reach the frame");
	hfn_t pt_shadow = ((u32 *)hfn_ptr(sv.root->hfn))[2] >> 12;
	hfn_t pt_shadow1 = ((u32 *)hfn_ptr(sv.cache[1]->hfn))[1] >> 12;
	CHECK(pt_shadow == pt_shadow1, "two shadow tables for one guest table");
	CHECK(frame_of(pt_shadow)->count == 2 && rmap_count(pt_shadow) == 2, "count %u, parents %u",
	      frame_of(pt_shadow)->count, rmap_count(pt_shadow));
	CHECK(sm.stats.tables == 3 && sm.stats.tables_made == 3, "tables %llu", (unsigned long long)sm.stats.tables);
	hfn_t pt_guest = gpmap_lookup(&gm, PT_GPA >> 12);
	CHECK(frame_of(pt_guest)->flags & FRAME_F_PROTECTED, "shadowed guest table not protected");
	// Back to directory 1: its root is found again, nothing rebuilt.
	CHECK(shadow_load_cr3(&sv, &c1) == 0 && sm.stats.tables_made == 3 && sm.stats.roots_reused == 1,
	      "root not kept: made %llu", (unsigned long long)sm.stats.tables_made);
	// Push directory 2's root out of the cache (directory 1's is newest):
	// the table stays, counted once.
	for (u32 i = 0; i < ROOT_CACHE - 1; i++) {
		struct walk_ctx c = { CR0_PG | CR0_PE | CR0_WP, 0x20000u + i * 0x1000u, 0, &gm };
		shadow_load_cr3(&sv, &c);
	}
	CHECK(shadow_sp_of(pt_shadow)->gfn == PT_GPA >> 12 && frame_of(pt_shadow)->count == 1,
	      "after one directory went: count %u", frame_of(pt_shadow)->count);
	for (u32 i = 0; i < ROOT_CACHE; i++) {
		struct walk_ctx c = { CR0_PG | CR0_PE | CR0_WP, 0x30000u + i * 0x1000u, 0, &gm };
		shadow_load_cr3(&sv, &c);
	}
	CHECK(frame_of(pt_shadow)->type != FRAME_SHADOW || shadow_sp_of(pt_shadow)->gfn != PT_GPA >> 12,
	      "the table outlived its last reference");
	CHECK(!(frame_of(pt_guest)->flags & FRAME_F_PROTECTED), "unshadowed table still protected");
	struct audit_result res;
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0, "audit: %u", res.violations);
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
	gpmap_destroy(&gm);
	CHECK(frame_free_count() == free0, "leak");
}

// A page-table frame the guest turns into data: its writes stop being
// trapped after a few rounds instead of paying on every sync forever.
static void test_shadow_flood(void)
{
	guest_reset();
	CHECK(shadow_init(&sm, &gm, 1) == 0, "shadow_init");
	shadow_vcpu_init(&sv, &sm);
	*gpa_word(PD_GPA + 4) = PT_GPA | 7;
	*gpa_word(PT_GPA + 4) = 0x5000 | 7;
	struct walk_ctx c = { CR0_PG | CR0_PE | CR0_WP, PD_GPA, 0, &gm };
	int r;
	shadow_load_cr3(&sv, &c);
	shadow_access(&c, 0x401000, false, false, &r);
	hfn_t pt_guest = gpmap_lookup(&gm, PT_GPA >> 12);
	int rounds = 0;
	while ((frame_of(pt_guest)->flags & FRAME_F_PROTECTED) && rounds < 20) {
		*gpa_word(PT_GPA + 8) = rounds; // data now, never used as a table
		shadow_guest_wrote(&sm, PT_GPA >> 12);
		shadow_load_cr3(&sv, &c);
		rounds++;
	}
	CHECK(rounds == SP_FLOOD_WRITES && sm.stats.unshadowed == 1, "unshadowed after %d rounds (%llu)", rounds,
	      (unsigned long long)sm.stats.unshadowed);
	struct audit_result res;
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0, "audit: %u", res.violations);
	// Used as a table again: shadowed and protected again.
	*gpa_word(PT_GPA + 4) = 0x5000 | 7;
	shadow_access(&c, 0x401000, false, false, &r);
	CHECK(frame_of(pt_guest)->flags & FRAME_F_PROTECTED, "not protected when used again");
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
}

// One guest frame mapped at 600,000 addresses (590 guest page tables, every
// entry naming it): its reverse map grows through every set size to the
// largest; past what that holds, the fault recycles the frame's mappings
// instead of failing. Every access succeeds and maps the right frame.
static void test_shadow_alias_flood(void)
{
	enum { N = 600000, NPT = (N + 1023) / 1024 };
	host_mem_init(12288);
	gpmap_init(&gm, 3072, 1);
	CHECK(shadow_init(&sm, &gm, 1) == 0, "shadow_init");
	shadow_vcpu_init(&sv, &sm);
	const gpa_t pd = 0x1000, pts = 0x400000, target = 0x9000;
	*gpa_word(target) = 0xA11A5;
	for (u32 t = 0; t < NPT; t++) {
		*gpa_word(pd + t * 4) = (pts + t * 4096) | 7;
		for (u32 i = 0; i < 1024; i++)
			*gpa_word(pts + t * 4096 + i * 4) = target | 5 | PTE_A;
	}
	struct walk_ctx c = { CR0_PG | CR0_PE | CR0_WP, pd, 0, &gm };
	CHECK(shadow_load_cr3(&sv, &c) == 0, "load_cr3");
	hfn_t h = gpmap_lookup(&gm, target >> 12);
	u32 failed = 0, most = 0;
	for (u32 i = 0; i < N; i++) {
		struct walk w;
		if (shadow_page_fault(&sv, &c, i << 12, PFEC_U, &w) != SHADOW_FIXED)
			failed++;
		u32 *spd = hfn_ptr(sv.root->hfn);
		u32 *spt = hfn_ptr(spd[i >> 10] >> 12);
		if (!(spt[i & 1023] & PTE_P) || spt[i & 1023] >> 12 != h)
			failed++;
		if (rmap_count(h) > most)
			most = rmap_count(h);
	}
	CHECK(failed == 0, "%u accesses failed", failed);
	CHECK(sm.stats.recycles >= 1 && most > 400000, "recycles %llu, most mappings %u",
	      (unsigned long long)sm.stats.recycles, most);
	struct audit_result res;
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0 && res.sptes == rmap_count(h),
	      "audit: %u violations, %llu sptes, %u mapped", res.violations, (unsigned long long)res.sptes,
	      rmap_count(h));
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
	CHECK(rmap_count(h) == 0 && rmap_stats.sets == 0, "mappings left: %u", rmap_count(h));
}

// Out of host frames: a fault drops the cached roots not in use and then
// succeeds; with nothing left to drop it fails cleanly (no partial state,
// audit OK).
static void test_shadow_nomem(void)
{
	guest_reset();
	CHECK(shadow_init(&sm, &gm, 1) == 0, "shadow_init");
	shadow_vcpu_init(&sv, &sm);
	*gpa_word(PT_GPA + 4) = 0x5000 | 7;
	*gpa_word(0x5000) = 1; // the data frame exists
	for (u32 i = 0; i < ROOT_CACHE; i++) {
		gpa_t pd = 0x20000u + i * 0x1000u;
		*gpa_word(pd + 4) = PT_GPA | 7;
		struct walk_ctx c = { CR0_PG | CR0_PE | CR0_WP, pd, 0, &gm };
		int r;
		shadow_load_cr3(&sv, &c);
		shadow_access(&c, 0x401000, false, false, &r);
	}
	// A new page table under the current root needs a frame: take them all.
	*gpa_word(0x20000u + (ROOT_CACHE - 1) * 0x1000u + 8) = (PT_GPA + 0x1000) | 7;
	*gpa_word(PT_GPA + 0x1000 + 4) = 0x5000 | 7;
	// And one more after that (gva 0xC01000), for when nothing is left.
	*gpa_word(0x20000u + (ROOT_CACHE - 1) * 0x1000u + 12) = (PT_GPA + 0x2000) | 7;
	*gpa_word(PT_GPA + 0x2000 + 4) = 0x5000 | 7;
	u64 grabbed = 0;
	while (frame_alloc(FRAME_VMM, 0))
		grabbed++;
	struct walk_ctx cur = { CR0_PG | CR0_PE | CR0_WP, 0x20000u + (ROOT_CACHE - 1) * 0x1000u, 0, &gm };
	struct walk w;
	// The fault finds no frame, drops the roots not in use itself, and
	// succeeds on its second try.
	u64 tables = sm.stats.tables;
	enum shadow_result r = shadow_page_fault(&sv, &cur, 0x801000, 0, &w);
	struct audit_result res;
	CHECK(r == SHADOW_FIXED && sm.stats.oom_shrinks == 1 && sm.stats.tables < tables,
	      "fault with no frame left: %d, %llu shrinks, tables %llu -> %llu", r,
	      (unsigned long long)sm.stats.oom_shrinks, (unsigned long long)tables, (unsigned long long)sm.stats.tables);
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0, "audit after shrink: %u", res.violations);
	// Nothing left to drop: the next fault that needs a frame fails cleanly.
	while (frame_alloc(FRAME_VMM, 0))
		grabbed++;
	r = shadow_page_fault(&sv, &cur, 0xC01000, 0, &w);
	CHECK(r == SHADOW_NOMEM && sm.stats.oom_shrinks == 1, "fault with nothing to drop: %d", r);
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0, "audit after a failed fault: %u", res.violations);
	CHECK(grabbed > 0, "nothing to grab");
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
}

// Every audit check can fire: corrupt a healthy shadow one way at a time.
static u32 seen_kinds;
static void note_kind(void *arg, const struct audit_violation *v)
{
	(void)arg;
	seen_kinds |= 1u << v->kind;
}

// A fresh VM 1 whose directory links one page table at PT_GPA; the caller
// fills the table, then loads the returned context.
static struct walk_ctx one_table_guest(void)
{
	guest_reset();
	CHECK(shadow_init(&sm, &gm, 1) == 0, "shadow_init");
	shadow_vcpu_init(&sv, &sm);
	*gpa_word(PD_GPA) = PT_GPA | 7;
	return (struct walk_ctx){ CR0_PG | CR0_PE | CR0_WP, PD_GPA, CR4_PSE, &gm };
}

// A device page shown read-only beyond guest memory (the local APIC's
// registers, vmm/vlapic.c): reads map it without W even from a dirty,
// writable guest PTE; a write is the device's (SHADOW_BAD_GPA); the audit
// counts its mappings; hiding it and zapping its reverse map leaves none;
// and while hidden, reads are the device's too.
static void test_shadow_readonly_page(void)
{
	struct walk_ctx ctx = one_table_guest();
	hfn_t dev = frame_alloc(FRAME_GUEST, 1);
	const gpa_t dev_gpa = 0xFEE00000u;
	*gpa_word(PT_GPA + 8) = dev_gpa | 7 | PTE_A | PTE_D;  // gva 0x2000, user, writable, dirty
	*gpa_word(PT_GPA + 12) = dev_gpa | 3;                 // gva 0x3000, kernel
	CHECK(shadow_load_cr3(&sv, &ctx) == 0, "load_cr3");
	struct walk w;
	CHECK(shadow_page_fault(&sv, &ctx, 0x2000, PFEC_U, &w) == SHADOW_BAD_GPA && w.bad_gpa == dev_gpa,
	      "hidden: a read is the device's");
	gpmap_show_readonly(&gm, dev_gpa >> PAGE_SHIFT, dev);
	int r;
	struct ref a = shadow_access(&ctx, 0x2000, false, true, &r);
	struct ref b = shadow_access(&ctx, 0x3000, false, false, &r);
	CHECK(!a.fault && !b.fault && a.gpa >> 12 == dev && b.gpa >> 12 == dev, "reads reach the page");
	u32 *pt = hfn_ptr(((u32 *)hfn_ptr(sv.root->hfn))[0] >> 12);
	CHECK(!(pt[2] & PTE_W) && !(pt[3] & PTE_W) && rmap_count(dev) == 2, "read-only, two mappings: %x %x",
	      pt[2], pt[3]);
	CHECK(shadow_page_fault(&sv, &ctx, 0x2000, PFEC_U | PFEC_W | PFEC_P, &w) == SHADOW_BAD_GPA &&
	      w.bad_gpa == dev_gpa && !(pt[2] & PTE_W), "a write is the device's, the entry stays read-only");
	struct audit_result res;
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0 && res.sptes == res.rmap_entries, "audit: %u",
	      res.violations);
	gpmap_show_readonly(&gm, dev_gpa >> PAGE_SHIFT, 0);
	CHECK(shadow_reclaim(dev, NULL, NULL) == 2 && !(pt[2] & PTE_P) && !(pt[3] & PTE_P), "hidden: zapped");
	CHECK(shadow_page_fault(&sv, &ctx, 0x2000, PFEC_U, &w) == SHADOW_BAD_GPA, "hidden again: the device's");
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0, "audit after: %u", res.violations);
	CHECK(rmap_count(dev) == 0, "mappings left: %u", rmap_count(dev));
	frame_put(dev);
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
}

// A frame mapped at three addresses lives in a reverse-map set; an entry
// whose slot bits are wrong is caught.
static void test_audit_rmap_bits(void)
{
	struct walk_ctx ctx = one_table_guest();
	*gpa_word(PT_GPA + 8) = 0x6000 | 5;
	*gpa_word(PT_GPA + 12) = 0x6000 | 5;
	*gpa_word(PT_GPA + 16) = 0x6000 | 5;
	CHECK(shadow_load_cr3(&sv, &ctx) == 0, "load_cr3");
	int r;
	shadow_access(&ctx, 0x2000, false, true, &r);
	shadow_access(&ctx, 0x3000, false, true, &r);
	shadow_access(&ctx, 0x4000, false, true, &r);
	u32 *pt = hfn_ptr(((u32 *)hfn_ptr(sv.root->hfn))[0] >> 12);
	hfn_t h = pt[2] >> 12;
	struct audit_result res;
	CHECK(rmap_count(h) == 3 && rmap_bytes(h) == 16 && shadow_audit(&sm, NULL, NULL, &res) == 0,
	      "three mappings in a set: count %u, %u bytes, %u violations", rmap_count(h), rmap_bytes(h),
	      res.violations);
	for (u32 i = 2; i <= 4; i++) {
		u32 save = pt[i];
		pt[i] ^= 1u << 9; // another slot of the same bucket
		seen_kinds = 0;
		shadow_audit(&sm, note_kind, NULL, &res);
		CHECK((seen_kinds & (1u << AUDIT_RMAP_BROKEN)) && (seen_kinds & (1u << AUDIT_SPTE_NOT_IN_RMAP)),
		      "entry %u with wrong slot bits: kinds %x", i, seen_kinds);
		pt[i] = save;
	}
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0, "restored");
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
	CHECK(frame_of(h)->rmap == 0, "mappings left after destroy");
}

static void test_audit_detects(void)
{
	struct walk_ctx ctx = one_table_guest();
	*gpa_word(PT_GPA + 4) = 0x5000 | 7 | PTE_D;
	*gpa_word(PT_GPA + 8) = 0x6000 | 5;
	CHECK(shadow_load_cr3(&sv, &ctx) == 0, "load_cr3");
	int r;
	shadow_access(&ctx, 0x1000, true, true, &r);
	shadow_access(&ctx, 0x2000, false, true, &r);
	struct audit_result res;
	CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0 && res.sptes == 2 && res.rmap_entries == 2,
	      "healthy shadow: %u violations, %llu sptes", res.violations, (unsigned long long)res.sptes);
	u32 *pt = hfn_ptr(((u32 *)hfn_ptr(sv.root->hfn))[0] >> 12);
	struct { const char *what; enum audit_kind kind; } cases[] = {
		{ "looser", AUDIT_LOOSER }, { "walk fails", AUDIT_WALK_FAILS },
		{ "wrong frame", AUDIT_WRONG_FRAME }, { "not owned", AUDIT_NOT_OWNED },
		{ "not in rmap", AUDIT_SPTE_NOT_IN_RMAP }, { "dangling rmap", AUDIT_RMAP_DANGLING },
		{ "table rmap", AUDIT_TABLE_RMAP }, { "refcount", AUDIT_REFCOUNT },
		{ "writable table", AUDIT_WRITABLE_TABLE }, { "unprotected", AUDIT_UNPROTECTED },
		{ "stale pde", AUDIT_STALE_PDE },
	};
	hfn_t pd0_hfn = ((u32 *)hfn_ptr(sv.root->hfn))[0] >> 12;
	for (unsigned c = 0; c < ARRAY_SIZE(cases); c++) {
		u32 save1 = pt[1], save2 = pt[2], gpte2 = *gpa_word(PT_GPA + 8), gpde0 = *gpa_word(PD_GPA);
		u32 tcount = frame_of(pd0_hfn)->count;
		u8 fl1 = frame_of(pt[1] >> 12)->flags, flpt = frame_of(gpmap_lookup(&gm, PT_GPA >> 12))->flags;
		hfn_t h2 = pt[2] >> 12, other = 0;
		u64 rmap_save = frame_of(h2)->rmap;
		u32 *pd = hfn_ptr(sv.root->hfn);
		u64 table_rmap = frame_of(pd[0] >> 12)->rmap;
		switch (cases[c].kind) {
		case AUDIT_LOOSER: pt[2] |= PTE_W; break;
		case AUDIT_WALK_FAILS: *gpa_word(PT_GPA + 8) = 0; break;
		case AUDIT_WRONG_FRAME: *gpa_word(PT_GPA + 8) = 0x7000 | 5; break;
		case AUDIT_NOT_OWNED:
			other = frame_alloc(FRAME_VMM, 0);
			rmap_remove(h2, (spte_ref_t)((uintptr_t)&pt[2] - mm_phys_base));
			rmap_add(other, (spte_ref_t)((uintptr_t)&pt[2] - mm_phys_base));
			pt[2] = (u32)(other << 12) | (pt[2] & 0xFFF);
			break;
		case AUDIT_SPTE_NOT_IN_RMAP: frame_of(h2)->rmap = 0; break;
		case AUDIT_RMAP_DANGLING: frame_of(h2)->rmap = (u32)((uintptr_t)&pt[5] - mm_phys_base); break;
		case AUDIT_TABLE_RMAP: frame_of(pd[0] >> 12)->rmap = 0x4444; break;
		case AUDIT_REFCOUNT: frame_of(pd[0] >> 12)->count++; break;
		case AUDIT_WRITABLE_TABLE: frame_of(pt[1] >> 12)->flags |= FRAME_F_PROTECTED; break;
		case AUDIT_UNPROTECTED: frame_of(gpmap_lookup(&gm, PT_GPA >> 12))->flags &= ~FRAME_F_PROTECTED; break;
		case AUDIT_STALE_PDE: *gpa_word(PD_GPA) = (PT_GPA + 0x1000) | 7; break;
		default: break;
		}
		seen_kinds = 0;
		shadow_audit(&sm, note_kind, NULL, &res);
		CHECK(seen_kinds & (1u << cases[c].kind), "%s: not reported (kinds %x)", cases[c].what, seen_kinds);
		if (other) {
			rmap_remove(other, (spte_ref_t)((uintptr_t)&pt[2] - mm_phys_base));
			frame_put(other);
		}
		pt[1] = save1;
		pt[2] = save2;
		*gpa_word(PT_GPA + 8) = gpte2;
		*gpa_word(PD_GPA) = gpde0;
		frame_of(pd0_hfn)->count = tcount;
		frame_of(save1 >> 12)->flags = fl1;
		frame_of(gpmap_lookup(&gm, PT_GPA >> 12))->flags = flpt;
		frame_of(h2)->rmap = rmap_save;
		frame_of(pd[0] >> 12)->rmap = table_rmap;
		CHECK(shadow_audit(&sm, NULL, NULL, &res) == 0, "%s: not restored", cases[c].what);
	}
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
}

int main(void)
{
	RUN(test_frames);
	RUN(test_gpmap);
	RUN(test_gpmap_next);
	RUN(test_walk_exhaustive);
	RUN(test_walk_paging_off_and_bad_gpa);
	RUN(test_shadow_exhaustive);
	RUN(test_shadow_random);
	RUN(test_shadow_sharing);
	RUN(test_shadow_flood);
	RUN(test_shadow_alias_flood);
	RUN(test_shadow_nomem);
	RUN(test_audit_detects);
	RUN(test_audit_rmap_bits);
	RUN(test_shadow_readonly_page);
	CHECK_EXIT();
}

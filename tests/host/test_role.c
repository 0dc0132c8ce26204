// The shadow role, proved by enumeration: a shadow table is found again by
// (gfn, role) alone, so every two guest states that reach one key must fill
// it with the same entries. For every paging mode (off, on), CR0.WP, CR4.PSE
// and every guest PDE (all 256 combinations of P, R/W, U/S, PWT, PCD, A, D,
// PS) over a guest page table holding all 128 combinations of a PTE's bits,
// each access kind (read/write x supervisor/user) is faulted through the real
// shadow MMU on a fresh shadow; the keys and the entries (or the #PF) are
// recorded; then every pair of states with equal keys must have equal
// entries for every access. A collision is a protection bypass: the second
// state would run on the first one's rights.
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "frame.h"
#include "gpmap.h"
#include "shadow.h"
#include "walk.h"

void host_mem_init(u64 nframes);

#define GUEST_FRAMES 2048  // 8 MiB
#define PD_GPA 0x1000u
#define REGION 0x400000u   // gva and gpa of everything tested: PDE 1
#define PT_GPA REGION      // the guest page table: same gfn as the 4 MiB page and the identity
#define DATA_GPA 0x480000u // the page table's leaves
#define NPTE 128           // every combination of P W U PWT PCD A D
#define NACC 4

static struct gpmap gm;

static u32 *gpa_word(gpa_t gpa)
{
	int err;
	hfn_t hfn = gpmap_populate(&gm, gpa >> PAGE_SHIFT, &err);
	return (u32 *)((u8 *)hfn_ptr(hfn) + (gpa & 0xFFF));
}

// The entry whose bits are the set bits of combination k, from a list.
static u32 entry_bits(u32 k, const u32 *bit, int n)
{
	u32 v = 0;
	for (int b = 0; b < n; b++)
		if (k & (1u << b))
			v |= bit[b];
	return v;
}

static const u32 pte_bit[7] = { PTE_P, PTE_W, PTE_U, PTE_PWT, PTE_PCD, PTE_A, PTE_D };
static const u32 pde_bit[8] = { PTE_P, PTE_W, PTE_U, PTE_PWT, PTE_PCD, PTE_A, PTE_D, PTE_PS };
#define pte_bits(j) entry_bits(j, pte_bit, 7)
#define pde_bits(k) entry_bits(k, pde_bit, 8)

// The guest as each pass starts it: the walker's A/D updates and the
// writes of the previous pass undone.
static void guest_lay(u32 pde)
{
	memset(gpa_word(PD_GPA), 0, PAGE_SIZE);
	memset(gpa_word(PT_GPA), 0, PAGE_SIZE);
	*gpa_word(PD_GPA + 4 * (REGION >> PDE_SHIFT)) =
		(pde & PTE_PS) ? (REGION | pde) : (PT_GPA | pde);
	for (u32 j = 0; j < NPTE; j++)
		*gpa_word(PT_GPA + 4 * j) = (DATA_GPA + j * PAGE_SIZE) | pte_bits(j);
}

// The guest frame number a host frame stands for (frames are populated in a
// fixed order, so the same gfn is the same hfn in every pass).
static u32 gfn_by_hfn[GUEST_FRAMES + 256];

static u32 gfn_of(hfn_t hfn)
{
	return hfn < ARRAY_SIZE(gfn_by_hfn) ? gfn_by_hfn[hfn] : 0xFFFFF;
}

struct record {
	u32 input;          // pg | wp << 1 | pse << 2 | pde combination << 3
	u8 acc;
	bool linked;        // a table was linked for the region
	gfn_t root_gfn, gfn;
	u16 root_role, role;
	u32 e[NPTE];        // 1 << 31 | error code for a #PF; else the entry, frame as gfn
};

static int by_key(const void *a_, const void *b_)
{
	const struct record *a = a_, *b = b_;
	if (a->gfn != b->gfn)
		return a->gfn < b->gfn ? -1 : 1;
	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	if (a->acc != b->acc)
		return a->acc < b->acc ? -1 : 1;
	return (int)a->input - (int)b->input;
}

static u32 pde_of[2 * 2 * 2 * 256];

// Roots: one key and one guest PDE must call for one child key.
static int by_root(const void *a_, const void *b_)
{
	const struct record *a = a_, *b = b_;
	if (a->root_gfn != b->root_gfn)
		return a->root_gfn < b->root_gfn ? -1 : 1;
	if (a->root_role != b->root_role)
		return a->root_role < b->root_role ? -1 : 1;
	if (pde_of[a->input] != pde_of[b->input])
		return pde_of[a->input] < pde_of[b->input] ? -1 : 1;
	if (a->acc != b->acc)
		return a->acc < b->acc ? -1 : 1;
	return (int)a->input - (int)b->input;
}

static struct record recs[2 * 2 * 2 * 256 * NACC];

static void one_pass(u32 input, u8 acc, struct record *r)
{
	bool pg = input & 1, wp = input & 2, pse = input & 4;
	u32 pde = pde_bits(input >> 3);
	pde_of[input] = pde;
	guest_lay(pde);
	struct shadow_mmu sm;
	struct shadow_vcpu sv;
	CHECK(shadow_init(&sm, &gm, 1) == 0, "shadow_init");
	shadow_vcpu_init(&sv, &sm);
	struct walk_ctx ctx = { CR0_PE | (pg ? CR0_PG : 0) | (wp ? CR0_WP : 0), PD_GPA, pse ? CR4_PSE : 0, &gm };
	CHECK(shadow_load_cr3(&sv, &ctx) == 0, "load_cr3");
	u32 ec = (acc & 1 ? PFEC_W : 0) | (acc & 2 ? PFEC_U : 0);
	memset(r, 0, sizeof(*r));
	r->input = input;
	r->acc = acc;
	r->root_gfn = sv.root->gfn;
	r->root_role = sv.root->role;
	for (u32 j = 0; j < NPTE; j++) {
		struct walk w;
		gva_t gva = REGION + j * PAGE_SIZE;
		enum shadow_result res = shadow_page_fault(&sv, &ctx, gva, ec, &w);
		if (res == SHADOW_GUEST_FAULT) {
			r->e[j] = 1u << 31 | w.error_code;
			continue;
		}
		CHECK(res == SHADOW_FIXED, "input %u acc %u gva 0x%x: result %d", input, acc, gva, res);
		u32 spde = ((u32 *)hfn_ptr(sv.root->hfn))[PDE_INDEX(gva)];
		u32 spte = ((u32 *)hfn_ptr(spde >> PAGE_SHIFT))[PTE_INDEX(gva)];
		r->e[j] = gfn_of(spte >> PAGE_SHIFT) << PAGE_SHIFT | (spte & 0xFFF & ~RMAP_SPTE_BITS);
	}
	u32 spde = ((u32 *)hfn_ptr(sv.root->hfn))[PDE_INDEX(REGION)];
	if (spde & PTE_P) {
		struct sp *child = shadow_sp_of(spde >> PAGE_SHIFT);
		r->linked = true;
		r->gfn = child->gfn;
		r->role = child->role;
	}
	shadow_vcpu_destroy(&sv);
	shadow_destroy(&sm);
}

static void test_role_keys_exhaustive(void)
{
	host_mem_init(GUEST_FRAMES + 256);
	gpmap_init(&gm, GUEST_FRAMES, 1);
	for (gfn_t g = 0; g < GUEST_FRAMES; g++) {
		gpa_word(g << PAGE_SHIFT); // a fixed gfn -> hfn layout for every pass
		gfn_by_hfn[gpmap_lookup(&gm, g)] = g;
	}
	u32 n = 0;
	for (u32 input = 0; input < 2 * 2 * 2 * 256; input++)
		for (u8 acc = 0; acc < NACC; acc++)
			one_pass(input, acc, &recs[n++]);

	// Roots: one key and one guest PDE, one child key for every access.
	qsort(recs, n, sizeof(recs[0]), by_root);
	u32 root_collisions = 0;
	for (u32 i = 1; i < n; i++) {
		const struct record *a = &recs[i - 1], *b = &recs[i];
		if (a->root_gfn != b->root_gfn || a->root_role != b->root_role ||
		    pde_of[a->input] != pde_of[b->input] || a->acc != b->acc || !a->linked || !b->linked)
			continue;
		if (a->gfn != b->gfn || a->role != b->role)
			if (root_collisions++ < 3)
				CHECK(0, "inputs %u and %u: root key (0x%x, 0x%x) and PDE 0x%x, children (0x%x, 0x%x) and (0x%x, 0x%x)",
				      a->input, b->input, a->root_gfn, a->root_role, pde_of[a->input], a->gfn, a->role, b->gfn, b->role);
	}

	// Tables: equal keys, equal entries for every access.
	qsort(recs, n, sizeof(recs[0]), by_key);
	u32 keys = 0, collisions = 0, linked = 0;
	for (u32 i = 0; i < n; i++) {
		const struct record *a = &recs[i];
		if (!a->linked)
			continue;
		linked++;
		if (i == 0 || a->gfn != recs[i - 1].gfn || a->role != recs[i - 1].role)
			keys++;
		for (u32 k = i + 1; k < n && recs[k].gfn == a->gfn && recs[k].role == a->role; k++) {
			const struct record *b = &recs[k];
			if (b->acc != a->acc || !b->linked)
				continue;
			for (u32 j = 0; j < NPTE; j++) {
				if (a->e[j] == b->e[j])
					continue;
				if (collisions++ < 5)
					CHECK(0, "key (gfn 0x%x, role 0x%x) reached by inputs %u (pg %u wp %u pse %u pde 0x%x) and %u "
					      "(pg %u wp %u pse %u pde 0x%x): access %u at pte %u gives 0x%x and 0x%x",
					      a->gfn, a->role, a->input, a->input & 1, !!(a->input & 2), !!(a->input & 4), pde_of[a->input],
					      b->input, b->input & 1, !!(b->input & 2), !!(b->input & 4), pde_of[b->input], a->acc, j,
					      a->e[j], b->e[j]);
				break;
			}
		}
	}
	CHECK(collisions == 0, "%u pairs of guest states share a key but not their entries", collisions);
	// The enumeration must reach every kind of table, or it proves little.
	CHECK(keys >= 40 && linked > n / 2, "only %u keys, %u of %u passes linked a table", keys, linked, n);
	printf("  %u passes, %u linked a table, %u distinct keys, %u colliding pairs\n", n, linked, keys, collisions);
	gpmap_destroy(&gm);
}

int main(void)
{
	RUN(test_role_keys_exhaustive);
	CHECK_EXIT();
}

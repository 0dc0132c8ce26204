// The shadow MMU as a virtual TLB (mm/, pure C). A shadow PTE is written only
// from a successful guest walk, never grants more than the guest entries do,
// maps only frames of the VM's own gpmap, and is recorded in the reverse map
// of the frame it maps; a shadow PDE likewise in its table's.
#include "frame.h"
#include "lib.h"
#include "shadow.h"

static struct shadow_mmu *all_shadows;
void (*shadow_tlb_flush_owner)(u16 owner);

static spte_ref_t ref_of(const u32 *entry)
{
	return (spte_ref_t)((uintptr_t)entry - mm_phys_base);
}

int shadow_init(struct shadow_mmu *s, struct gpmap *gpmap, u16 owner)
{
	memset(s, 0, sizeof(*s));
	s->gpmap = gpmap;
	s->owner = owner;
	s->root = frame_alloc(FRAME_SHADOW, owner);
	if (!s->root)
		return -ERR_NOMEM;
	s->next = all_shadows;
	all_shadows = s;
	return 0;
}

hpa_t shadow_root_hpa(const struct shadow_mmu *s)
{
	return s->root << PAGE_SHIFT;
}

static u32 *root_table(const struct shadow_mmu *s)
{
	return hfn_ptr(s->root);
}

static void clear_spte(u32 *sptep)
{
	rmap_remove(*sptep >> PAGE_SHIFT, ref_of(sptep));
	*sptep = 0;
}

static void drop_table(struct shadow_mmu *s, u32 *spdep)
{
	hfn_t pt_hfn = *spdep >> PAGE_SHIFT;
	u32 *pt = hfn_ptr(pt_hfn);
	for (u32 i = 0; i < PT_ENTRIES; i++)
		if (pt[i] & PTE_P)
			clear_spte(&pt[i]);
	rmap_remove(pt_hfn, ref_of(spdep));
	*spdep = 0;
	frame_put(pt_hfn);
	s->stats.tables--;
	s->tlb_flush = true;
}

void shadow_flush(struct shadow_mmu *s)
{
	u32 *pd = root_table(s);
	for (u32 i = 0; i < PT_ENTRIES; i++)
		if (pd[i] & PTE_P)
			drop_table(s, &pd[i]);
	s->stats.flushes++;
	s->tlb_flush = true;
}

void shadow_destroy(struct shadow_mmu *s)
{
	if (!s->root)
		return;
	shadow_flush(s);
	frame_put(s->root);
	s->root = 0;
	for (struct shadow_mmu **pp = &all_shadows; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
}

void shadow_invlpg(struct shadow_mmu *s, gva_t gva)
{
	u32 *spdep = &root_table(s)[PDE_INDEX(gva)];
	s->stats.invlpgs++;
	if (!(*spdep & PTE_P))
		return;
	if (*spdep & SPDE_LARGE) {
		drop_table(s, spdep);
		return;
	}
	u32 *sptep = &((u32 *)hfn_ptr(*spdep >> PAGE_SHIFT))[PTE_INDEX(gva)];
	if (*sptep & PTE_P) {
		clear_spte(sptep);
		s->tlb_flush = true;
	}
}

// The shadow PTE for a successful walk. The CPU runs the guest with CR0.WP=1
// and the guest's D bits must be set by umbra, so:
//  - no write permission until the guest entry is dirty (the first write
//    faults here and sets D);
//  - a supervisor write that the guest's CR0.WP=0 allows on a read-only page
//    gets a writable, supervisor-only entry; a later user access faults and
//    gets the user's (read-only) view instead.
static u32 make_spte(const struct walk *w, const struct walk_ctx *ctx, u32 ec, hfn_t hfn)
{
	u32 leaf = w->large ? w->pde : w->pte;
	u32 spte = (u32)(hfn << PAGE_SHIFT) | PTE_P | (leaf & (PTE_PWT | PTE_PCD));
	if (!w->paging)
		return spte | PTE_W | PTE_U;
	bool user = w->user;
	bool writable = false;
	if (w->dirty) {
		if (w->rw)
			writable = true;
		else if (!(ctx->cr0 & CR0_WP) && (ec & PFEC_W) && !(ec & PFEC_U)) {
			writable = true;
			user = false;
		}
	}
	return spte | (user ? PTE_U : 0) | (writable ? PTE_W : 0);
}

enum shadow_result shadow_page_fault(struct shadow_mmu *s, const struct walk_ctx *ctx,
				     gva_t gva, u32 ec, struct walk *w)
{
	s->stats.faults++;
	switch (walk_gva(ctx, gva, ec & (PFEC_W | PFEC_U), w)) {
	case WALK_OK:
		break;
	case WALK_FAULT:
		s->stats.guest_faults++;
		return SHADOW_GUEST_FAULT;
	case WALK_BAD_GPA:
		return SHADOW_BAD_GPA;
	}

	int err = 0;
	hfn_t hfn = gpmap_populate(s->gpmap, w->gpa >> PAGE_SHIFT, &err);
	if (!hfn) {
		w->bad_gpa = w->gpa;
		return err == -ERR_FAULT ? SHADOW_BAD_GPA : SHADOW_NOMEM;
	}

	u32 *spdep = &root_table(s)[PDE_INDEX(gva)];
	u32 want_large = w->large ? SPDE_LARGE : 0;
	// A table filled from a 4 MiB guest page and one filled from a guest page
	// table are invalidated differently: never mix the two in one table.
	if ((*spdep & PTE_P) && (*spdep & SPDE_LARGE) != want_large)
		drop_table(s, spdep);
	if (!(*spdep & PTE_P)) {
		hfn_t pt = frame_alloc(FRAME_SHADOW, s->owner);
		if (!pt)
			return SHADOW_NOMEM;
		if (!rmap_add(pt, ref_of(spdep))) { // one parent: never allocates
			frame_put(pt);
			return SHADOW_NOMEM;
		}
		s->stats.tables++;
		// Permissions are decided in the PTE alone; the PDE allows all.
		*spdep = (u32)(pt << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U | want_large;
	}
	u32 *sptep = &((u32 *)hfn_ptr(*spdep >> PAGE_SHIFT))[PTE_INDEX(gva)];
	u32 spte = make_spte(w, ctx, ec, hfn);
	if ((*sptep & PTE_P) && (*sptep >> PAGE_SHIFT) == hfn) {
		*sptep = spte; // same frame, new rights: the rmap entry stands
	} else {
		if (*sptep & PTE_P)
			clear_spte(sptep);
		if (!rmap_add(hfn, ref_of(sptep)))
			return SHADOW_NOMEM;
		*sptep = spte;
	}
	s->stats.fills++;
	return SHADOW_FIXED;
}

u32 shadow_reclaim(hfn_t hfn, shadow_zap_fn report, void *arg)
{
	u32 n = 0;
	struct frame *f = frame_of(hfn);
	while (f->rmap) {
		struct rmap_iter it;
		spte_ref_t ref;
		rmap_first(hfn, &it, &ref);
		u32 *sptep = spte_ptr(ref);
		u16 owner = frame_of(ref >> PAGE_SHIFT)->owner;
		if (report)
			report(arg, owner, ref, *sptep);
		ASSERT((*sptep >> PAGE_SHIFT) == hfn);
		clear_spte(sptep);
		if (shadow_tlb_flush_owner)
			shadow_tlb_flush_owner(owner);
		n++;
	}
	return n;
}

u32 shadow_reclaim_scan(hfn_t hfn)
{
	u32 n = 0;
	for (struct shadow_mmu *s = all_shadows; s; s = s->next) {
		u32 *pd = root_table(s);
		for (u32 i = 0; i < PT_ENTRIES; i++) {
			if (!(pd[i] & PTE_P))
				continue;
			u32 *pt = hfn_ptr(pd[i] >> PAGE_SHIFT);
			for (u32 j = 0; j < PT_ENTRIES; j++) {
				if ((pt[j] & PTE_P) && (pt[j] >> PAGE_SHIFT) == hfn) {
					clear_spte(&pt[j]);
					s->tlb_flush = true;
					n++;
				}
			}
		}
	}
	return n;
}

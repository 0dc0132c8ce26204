// The shadow auditor (mm/, pure C): every invariant listed at struct
// shadow_mmu, checked from both directions (shadow -> guest and rmap, and
// rmap -> shadow).
#include "audit.h"
#include "frame.h"
#include "lib.h"

struct auditor {
	audit_report_fn report;
	void *arg;
	struct audit_result *res;
};

static void violation(struct auditor *a, enum audit_kind kind, gva_t gva, u32 found, u32 expected, hfn_t hfn)
{
	struct audit_violation v = { kind, gva, found, expected, hfn };
	a->res->violations++;
	if (a->report)
		a->report(a->arg, &v);
}

static bool rmap_holds(hfn_t hfn, spte_ref_t ref)
{
	struct rmap_iter it;
	spte_ref_t s;
	for_each_rmap(hfn, &it, &s)
		if (s == ref)
			return true;
	return false;
}

static void audit_spte(struct auditor *a, struct shadow_mmu *s, const struct walk_ctx *ctx,
		       gva_t gva, u32 spde, u32 *sptep)
{
	u32 spte = *sptep;
	hfn_t hfn = spte >> PAGE_SHIFT;
	struct walk w;
	a->res->sptes++;
	if (!rmap_holds(hfn, (spte_ref_t)((uintptr_t)sptep - mm_phys_base)))
		violation(a, AUDIT_SPTE_NOT_IN_RMAP, gva, spte, 0, hfn);
	if (walk_gva(ctx, gva, WALK_PEEK, &w) != WALK_OK) {
		violation(a, AUDIT_WALK_FAILS, gva, spte, w.pde, hfn);
		return;
	}
	struct frame *f = frame_of(hfn);
	if (f->type != FRAME_GUEST || f->owner != s->owner)
		violation(a, AUDIT_NOT_OWNED, gva, spte, s->owner, hfn);
	hfn_t want = gpmap_lookup(s->gpmap, w.gpa >> PAGE_SHIFT);
	if (hfn != want)
		violation(a, AUDIT_WRONG_FRAME, gva, spte, (u32)(want << PAGE_SHIFT), hfn);
	if (w.paging && !!(spde & SPDE_LARGE) != w.large)
		violation(a, AUDIT_LARGE_MISMATCH, gva, spde, w.pde, hfn);
	u32 guest = w.large ? w.pde : w.pte;
	bool looser = false;
	if (w.paging) {
		if ((spte & PTE_U) && !w.user)
			looser = true;
		// Writable needs a dirty guest entry, and either R/W at both levels
		// or the supervisor-only view of a CR0.WP=0 guest.
		if ((spte & PTE_W) && (!w.dirty || !(w.rw || (!(ctx->cr0 & CR0_WP) && !(spte & PTE_U)))))
			looser = true;
	}
	if (looser)
		violation(a, AUDIT_LOOSER, gva, spte, guest, hfn);
}

u32 shadow_audit(struct shadow_mmu *s, const struct walk_ctx *ctx, audit_report_fn report,
		 void *arg, struct audit_result *res)
{
	struct auditor a = { report, arg, res };
	memset(res, 0, sizeof(*res));
	u32 *pd = hfn_ptr(s->root);
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		if (!(pd[i] & PTE_P))
			continue;
		res->spdes++;
		hfn_t pt_hfn = pd[i] >> PAGE_SHIFT;
		struct frame *f = frame_of(pt_hfn);
		if (f->type != FRAME_SHADOW || f->owner != s->owner) {
			violation(&a, AUDIT_TABLE_NOT_SHADOW, i << PDE_SHIFT, pd[i], 0, pt_hfn);
			continue;
		}
		spte_ref_t ref = (spte_ref_t)((uintptr_t)&pd[i] - mm_phys_base);
		if (f->rmap != ref) // a virtual TLB's table has exactly one parent
			violation(&a, AUDIT_TABLE_RMAP, i << PDE_SHIFT, (u32)f->rmap, ref, pt_hfn);
		u32 *pt = hfn_ptr(pt_hfn);
		for (u32 j = 0; j < PT_ENTRIES; j++)
			if (pt[j] & PTE_P)
				audit_spte(&a, s, ctx, (i << PDE_SHIFT) | (j << PAGE_SHIFT), pd[i], &pt[j]);
	}
	// The other direction: every reverse-map entry of every guest frame is a
	// live shadow PTE that maps that frame.
	for (u32 r = 0; r < GPMAP_ROOT_ENTRIES; r++) {
		if (!s->gpmap->leaf[r])
			continue;
		const u32 *leaf = hfn_ptr(s->gpmap->leaf[r]);
		for (u32 k = 0; k < GPMAP_LEAF_ENTRIES; k++) {
			hfn_t hfn = leaf[k];
			if (!hfn)
				continue;
			res->guest_frames++;
			struct rmap_iter it;
			spte_ref_t ref;
			for_each_rmap(hfn, &it, &ref) {
				res->rmap_entries++;
				struct frame *tf = frame_of(ref >> PAGE_SHIFT);
				u32 e = *spte_ptr(ref);
				if (tf->type != FRAME_SHADOW || !(e & PTE_P) || (e >> PAGE_SHIFT) != hfn)
					violation(&a, AUDIT_RMAP_DANGLING, 0, e, ref, hfn);
			}
		}
	}
	if (res->rmap_entries != res->sptes)
		violation(&a, AUDIT_COUNT_MISMATCH, 0, (u32)res->sptes, (u32)res->rmap_entries, 0);
	return res->violations;
}

const char *audit_kind_name(enum audit_kind k)
{
	static const char *const names[AUDIT_NR_KINDS] = {
		"shadow PDE points at a frame that is not this VM's shadow table",
		"shadow table's reverse map does not hold exactly its PDE",
		"present shadow PTE for an address the guest cannot translate",
		"shadow PTE maps another frame than the guest walk gives",
		"shadow PTE maps a frame the VM does not own",
		"shadow PTE grants more than the guest entries",
		"4 MiB marking disagrees with the guest PDE",
		"present shadow PTE missing from its frame's reverse map",
		"reverse-map entry is not a live shadow PTE mapping the frame",
		"shadow PTEs and reverse-map entries differ in number",
	};
	return k < AUDIT_NR_KINDS ? names[k] : "?";
}

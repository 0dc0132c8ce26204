// The shadow auditor (mm/, pure C): every invariant listed at struct sp and
// struct shadow_mmu, checked from both sides (shadow -> guest and rmap, and
// rmap -> shadow).
#include "audit.h"
#include "frame.h"
#include "lib.h"
#include "shadow_int.h"

struct auditor {
	audit_report_fn report;
	void *arg;
	struct audit_result *res;
	struct shadow_mmu *s;
};

static void violation(struct auditor *a, enum audit_kind kind, gva_t gva, u32 found, u32 expected, hfn_t hfn)
{
	struct audit_violation v = { kind, gva, found, expected, hfn };
	a->res->violations++;
	if (a->report)
		a->report(a->arg, &v);
}

// One table on its own: owner, count, protection, entries and their rmaps.
static void audit_table(struct auditor *a, struct sp *sp)
{
	struct shadow_mmu *s = a->s;
	struct frame *f = frame_of(sp->hfn);
	a->res->tables++;
	if (f->type != FRAME_SHADOW || f->owner != sp->owner || shadow_sp_of(sp->hfn) != sp ||
	    (sp->owner == SP_SHARED && sp->unsync))
		violation(a, AUDIT_TABLE_NOT_SHADOW, 0, f->type, FRAME_SHADOW, sp->hfn);
	// Root-cache slots hold roots: this VM's, or every VM's for a root
	// clones share.
	u32 holds = 0;
	if (sp->owner == s->owner)
		holds = sp_root_holds(s, sp);
	else if (sp->role & SP_ROLE_DIR)
		for (const struct shadow_mmu *m = all_shadows; m; m = m->next)
			holds += sp_root_holds(m, sp);
	u32 broken = rmap_check(sp->hfn);
	if (broken)
		violation(a, AUDIT_RMAP_BROKEN, 0, broken, 0, sp->hfn);
	if (f->count != rmap_count(sp->hfn) + holds)
		violation(a, AUDIT_REFCOUNT, 0, f->count, rmap_count(sp->hfn) + holds, sp->hfn);
	if (!(sp->role & SP_ROLE_DIRECT) && !sp->unsync) {
		hfn_t g = gpmap_lookup(s->gpmap, sp->gfn);
		if (g && !(frame_of(g)->flags & FRAME_F_PROTECTED))
			violation(a, AUDIT_UNPROTECTED, 0, sp->gfn, 0, g);
	}
	u32 *t = hfn_ptr(sp->hfn);
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		if (!(t[i] & PTE_P))
			continue;
		hfn_t h = t[i] >> PAGE_SHIFT;
		if (sp->role & SP_ROLE_DIR) {
			a->res->spdes++;
			struct frame *cf = frame_of(h);
			// A shared root links shared tables only.
			if (cf->type != FRAME_SHADOW || (cf->owner != s->owner && cf->owner != SP_SHARED) ||
			    (sp->owner == SP_SHARED && cf->owner != SP_SHARED))
				violation(a, AUDIT_TABLE_NOT_SHADOW, i << PDE_SHIFT, t[i], 0, h);
			else if (!rmap_holds(h, ref_of(&t[i])))
				violation(a, AUDIT_TABLE_RMAP, i << PDE_SHIFT, t[i], ref_of(&t[i]), h);
			else if ((t[i] & PTE_W) && cf->owner == SP_SHARED)
				violation(a, AUDIT_COW_WRITABLE, i << PDE_SHIFT, t[i], 0, h);
			continue;
		}
		a->res->sptes++;
		struct frame *gf = frame_of(h);
		if (!rmap_holds(h, ref_of(&t[i])))
			violation(a, AUDIT_SPTE_NOT_IN_RMAP, 0, t[i], 0, h);
		// Whose frame it is, the walk from the root decides (audit_spte):
		// frames of clones are shared.
		if (gf->type != FRAME_GUEST)
			violation(a, AUDIT_NOT_OWNED, 0, t[i], s->owner, h);
		if ((t[i] & PTE_W) && (gf->flags & FRAME_F_PROTECTED))
			violation(a, AUDIT_WRITABLE_TABLE, 0, t[i], 0, h);
	}
}

// A shadow PTE against a fresh walk of the guest from the root it hangs under.
static void audit_spte(struct auditor *a, const struct walk_ctx *ctx, gva_t gva, const struct sp *child,
		       u32 spde, u32 spte)
{
	struct walk w;
	hfn_t hfn = spte >> PAGE_SHIFT;
	if (walk_gva(ctx, gva, WALK_PEEK, &w) != WALK_OK) {
		violation(a, AUDIT_WALK_FAILS, gva, spte, w.pde, hfn);
		return;
	}
	hfn_t want = gpmap_lookup(a->s->gpmap, w.gpa >> PAGE_SHIFT);
	if (hfn != want)
		violation(a, AUDIT_WRONG_FRAME, gva, spte, (u32)(want << PAGE_SHIFT), hfn);
	else if ((spde & spte & PTE_W) && !gpmap_exclusive(a->s->gpmap, w.gpa >> PAGE_SHIFT))
		violation(a, AUDIT_COW_WRITABLE, gva, spte, spde, hfn);
	if (w.paging && !!(child->role & SP_ROLE_DIRECT) != w.large)
		violation(a, AUDIT_LARGE_MISMATCH, gva, child->role, w.pde, hfn);
	bool looser = false;
	if (w.paging) {
		// Present only while the guest entry says it was accessed.
		if (!((w.large ? w.pde : w.pte) & PTE_A))
			looser = true;
		if ((spte & PTE_U) && !w.user)
			looser = true;
		// Writable needs a dirty guest entry, and either R/W at both levels
		// or the supervisor-only view of a CR0.WP=0 guest.
		if ((spte & PTE_W) && (!w.dirty || !(w.rw || (!(ctx->cr0 & CR0_WP) && !(spte & PTE_U)))))
			looser = true;
	}
	if (looser)
		violation(a, AUDIT_LOOSER, gva, spte, w.large ? w.pde : w.pte, hfn);
}

static void audit_root(struct auditor *a, struct sp *root)
{
	if (root->unsync)
		return;
	struct walk_ctx ctx = { CR0_PE, 0, 0, a->s->gpmap };
	if (!(root->role & SP_ROLE_DIRECT)) {
		ctx.cr0 |= CR0_PG | ((root->role & SP_ROLE_WP) ? CR0_WP : 0);
		ctx.cr3 = root->gfn << PAGE_SHIFT;
		ctx.cr4 = (root->role & SP_ROLE_PSE) ? CR4_PSE : 0;
	}
	u32 *pd = hfn_ptr(root->hfn);
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		if (!(pd[i] & PTE_P) || frame_of(pd[i] >> PAGE_SHIFT)->type != FRAME_SHADOW)
			continue;
		struct sp *child = shadow_sp_of(pd[i] >> PAGE_SHIFT);
		if (!(root->role & SP_ROLE_DIRECT)) {
			u32 g = 0;
			gpa_read(a->s->gpmap, (root->gfn << PAGE_SHIFT) + i * 4, &g, 4);
			gfn_t gfn;
			u16 role;
			shadow_child_key(g, i << PDE_SHIFT, root->role, &gfn, &role);
			// umbra's own walks set D in the guest PDE through one root
			// only: another root may still link the clean child, whose
			// entries are all read-only, so stricter, never looser.
			bool clean_child = (role & SP_ROLE_PDE_D) && child->role == (role & ~SP_ROLE_PDE_D);
			if ((g & (PTE_P | PTE_A)) != (PTE_P | PTE_A) || gfn != child->gfn ||
			    (role != child->role && !clean_child)) {
				violation(a, AUDIT_STALE_PDE, i << PDE_SHIFT, child->gfn << PAGE_SHIFT, g, child->hfn);
				continue;
			}
		}
		if (child->unsync)
			continue;
		u32 *pt = hfn_ptr(child->hfn);
		for (u32 j = 0; j < PT_ENTRIES; j++)
			if (pt[j] & PTE_P)
				audit_spte(a, &ctx, (i << PDE_SHIFT) | (j << PAGE_SHIFT), child, pd[i], pt[j]);
	}
}

// Every reverse-map entry of a frame the VM's tables may map.
static void audit_rmap_of(struct auditor *a, hfn_t hfn)
{
	u32 broken = rmap_check(hfn);
	if (broken)
		violation(a, AUDIT_RMAP_BROKEN, 0, broken, 0, hfn);
	struct rmap_iter it;
	spte_ref_t ref;
	for_each_rmap(hfn, &it, &ref) {
		struct frame *tf = frame_of(ref >> PAGE_SHIFT);
		u32 e = *spte_ptr(ref);
		if (tf->type != FRAME_SHADOW || !(e & PTE_P) || (e >> PAGE_SHIFT) != hfn) {
			violation(a, AUDIT_RMAP_DANGLING, 0, e, ref, hfn);
			continue;
		}
		// A frame shared with clones is also mapped by their tables:
		// count the entries of tables this VM uses.
		struct sp *sp = shadow_sp_of(ref >> PAGE_SHIFT);
		if (shadow_sp_used_by(sp, a->s->owner))
			a->res->rmap_entries++;
	}
}

u32 shadow_audit(struct shadow_mmu *s, audit_report_fn report, void *arg, struct audit_result *res)
{
	struct auditor a = { report, arg, res, s };
	memset(res, 0, sizeof(*res));
	for (u32 k = 0; k < shadow_sp_limit(); k++) {
		struct sp *sp = shadow_sp_at(k);
		if (sp && shadow_sp_used_by(sp, s->owner))
			audit_table(&a, sp);
	}
	for (const struct shadow_vcpu *sv = s->vcpus; sv; sv = sv->next)
		for (int i = 0; i < ROOT_CACHE; i++)
			if (sv->cache[i])
				audit_root(&a, sv->cache[i]);
	// The other direction: every reverse-map entry of every guest frame (and
	// of the device page shown read-only) is a live shadow PTE that maps it.
	// (The zero frame and merged frames stand for several pages: the map of
	// each is looked at once; a mark says which were.)
	hfn_t hfn;
	for (gfn_t g = 0; (hfn = gpmap_next(s->gpmap, &g)); g++) {
		res->guest_frames++;
		struct frame *f = frame_of(hfn);
		if (f->flags & FRAME_F_AUDIT_SEEN)
			continue;
		if (f->flags & (FRAME_F_ZERO | FRAME_F_MERGED))
			f->flags |= FRAME_F_AUDIT_SEEN;
		audit_rmap_of(&a, hfn);
	}
	for (gfn_t g = 0; (hfn = gpmap_next(s->gpmap, &g)); g++)
		frame_of(hfn)->flags &= ~FRAME_F_AUDIT_SEEN;
	if (s->gpmap->ro_hfn)
		audit_rmap_of(&a, s->gpmap->ro_hfn);
	if (res->rmap_entries != res->sptes)
		violation(&a, AUDIT_COUNT_MISMATCH, 0, (u32)res->sptes, (u32)res->rmap_entries, 0);
	return res->violations;
}

const char *audit_kind_name(enum audit_kind k)
{
	static const char *const names[AUDIT_NR_KINDS] = {
		"shadow PDE points at a frame that is not this VM's shadow table",
		"shadow PDE missing from its table's reverse map",
		"present shadow PTE for an address the guest cannot translate",
		"shadow PTE maps another frame than the guest walk gives",
		"shadow PTE maps a frame the VM does not own",
		"shadow PTE grants more than the guest entries",
		"4 MiB marking disagrees with the guest PDE",
		"present shadow PTE missing from its frame's reverse map",
		"reverse-map entry is not a live shadow PTE mapping the frame",
		"shadow PTEs and reverse-map entries differ in number",
		"table's count is not its parents plus root-cache holds",
		"writable shadow PTE maps a protected guest table",
		"in-sync shadowed guest table is not write-protected",
		"in-sync root links another table than the guest PDE asks",
		"write allowed to a frame shared with a clone, or through a shared table",
		"reverse-map set's count or an entry's slot bits disagree with the set",
	};
	return k < AUDIT_NR_KINDS ? names[k] : "?";
}

// Sharing shadow tables between clones (mm/, pure C): the clone's root,
// taking a copy of a shared table before a VM changes it, and repointing a
// VM's entries when a write gives it its own copy of a shared guest frame.
// The model is at struct sp (include/shadow.h).
#include "frame.h"
#include "lib.h"
#include "shadow.h"
#include "shadow_int.h"

bool shadow_sp_used_by(const struct sp *sp, u16 owner)
{
	if (sp->owner != SP_SHARED)
		return sp->owner == owner;
	struct rmap_iter it;
	spte_ref_t parent;
	for_each_rmap(sp->hfn, &it, &parent)
		if (owner_of_spde(parent) == owner)
			return true;
	return false;
}

void shadow_sp_users(const struct sp *sp, u32 *vms, u32 *spdes)
{
	u16 seen[64];
	u32 nseen = 0;
	*vms = *spdes = 0;
	struct rmap_iter it;
	spte_ref_t parent;
	for_each_rmap(sp->hfn, &it, &parent) {
		u16 o = owner_of_spde(parent);
		(*spdes)++;
		bool known = false;
		for (u32 i = 0; i < nseen && !known; i++)
			known = seen[i] == o;
		if (known)
			continue;
		(*vms)++;
		if (nseen < 64)
			seen[nseen++] = o;
	}
	if ((sp->role & SP_ROLE_DIR) && !*vms)
		*vms = 1; // a cached root nothing links
}

// s must change the shared table sp: return s's own table for it. If no
// other VM links sp, s takes it as it is; else s gets a copy (read-only
// entries: the frames they map are shared) and its shadow PDEs move to the
// copy. Out of memory, s's links to sp are dropped instead and NULL is
// returned: s refaults and builds its own table later.
struct sp *sp_unshare(struct shadow_mmu *s, struct sp *sp)
{
	if (sp->owner == s->owner)
		return sp;
	ASSERT(sp->owner == SP_SHARED && !(sp->role & SP_ROLE_DIR) && !sp->unsync);
	struct rmap_iter it;
	spte_ref_t parent;
	bool others = false;
	for_each_rmap(sp->hfn, &it, &parent)
		others |= owner_of_spde(parent) != s->owner;
	if (!others) {
		shadow_global.shared_tables--;
		s->stats.tables++;
		s->stats.sp_taken++;
		sp_set_owner(sp, s->owner);
		sp->wgen = 0; // its entries may be writable from before the clone
		return sp;
	}
	struct sp *copy = sp_new(s, sp->gfn, sp->role);
	const u32 *from = table_of(sp);
	u32 *to = copy ? table_of(copy) : NULL;
	for (u32 i = 0; copy && i < PT_ENTRIES; i++) {
		if (!(from[i] & PTE_P))
			continue;
		to[i] = from[i] & ~PTE_W;
		if (!rmap_add(from[i] >> PAGE_SHIFT, ref_of(&to[i]))) {
			to[i] = 0;
			break; // the rest stays empty: s refaults on it
		}
	}
	// Move s's links, one at a time: each changes sp's reverse map.
	for (bool moved = true; moved;) {
		moved = false;
		for_each_rmap(sp->hfn, &it, &parent) {
			if (owner_of_spde(parent) != s->owner)
				continue;
			u32 *spdep = spte_ptr(parent);
			if (!copy) {
				sp_unlink_child(s, spdep);
			} else {
				rmap_remove(sp->hfn, parent);
				*spdep = (u32)(copy->hfn << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U;
				if (rmap_add(copy->hfn, parent)) {
					frame_get(copy->hfn);
				} else {
					*spdep = 0; // refaults
				}
				sp_tlb_flush(s);
				sp_put(s, sp); // the link's reference; others still link it
			}
			moved = true;
			break;
		}
	}
	if (!copy)
		return NULL;
	s->stats.sp_copies++;
	bool linked = frame_of(copy->hfn)->count > 1;
	sp_put(s, copy); // sp_new's reference: the links hold it now
	return linked ? copy : NULL;
}

// A write gave s its own copy (new) of the shared guest frame old: every
// entry s's shadow has for old must now name new. Those in s's tables are
// repointed (read-only; a write refaults and gets the right rights); a
// shared table s links is first copied for s. Entries of other VMs stay.
void shadow_cow_moved(void *arg, gfn_t gfn, hfn_t old, hfn_t new_)
{
	struct shadow_mmu *s = arg;
	(void)gfn;
	s->stats.cow_breaks++;
	for (;;) {
		struct rmap_iter it;
		spte_ref_t ref, mine = 0;
		for_each_rmap(old, &it, &ref) {
			if (shadow_sp_used_by(shadow_sp_of(ref >> PAGE_SHIFT), s->owner)) {
				mine = ref;
				break;
			}
		}
		if (!mine)
			return;
		struct sp *sp = shadow_sp_of(mine >> PAGE_SHIFT);
		if (sp->owner == SP_SHARED) {
			sp_unshare(s, sp); // its copy's entry is found next round
			continue;
		}
		u32 *sptep = spte_ptr(mine);
		rmap_remove(old, mine);
		*sptep = (u32)(new_ << PAGE_SHIFT) | (*sptep & (PAGE_SIZE - 1) & ~PTE_W);
		if (!rmap_add(new_, mine))
			*sptep = 0;
		sp_tlb_flush(s);
	}
}

int shadow_clone(struct shadow_vcpu *sv, struct shadow_vcpu *psv)
{
	struct shadow_mmu *s = sv->mmu, *parent = psv->mmu;
	ASSERT(!sv->root && psv->root && s->gpmap->nr_frames == parent->gpmap->nr_frames);
	// Shared tables are in sync for all: the parent syncs first.
	shadow_sync_all(parent, true);
	// Every guest frame is now shared, so no entry may let the parent write
	// one: take W from the shadow PDEs of its roots (the tables below are
	// checked at the first write through each; wgen says which).
	parent->wgen++;
	for (struct shadow_vcpu *pv = parent->vcpus; pv; pv = pv->next) {
		for (int i = 0; i < ROOT_CACHE; i++) {
			if (!pv->cache[i])
				continue;
			u32 *pd = table_of(pv->cache[i]);
			for (u32 j = 0; j < PT_ENTRIES; j++)
				pd[j] &= ~PTE_W;
		}
	}
	sp_tlb_flush(parent);
	s->wgen = 1;
	struct sp *proot = psv->root;
	struct sp *root = sp_new(s, proot->gfn, proot->role);
	if (!root)
		return -ERR_NOMEM;
	const u32 *from = table_of(proot);
	u32 *to = table_of(root);
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		if (!(from[i] & PTE_P))
			continue;
		hfn_t h = from[i] >> PAGE_SHIFT;
		to[i] = from[i];
		if (!rmap_add(h, ref_of(&to[i]))) {
			to[i] = 0;
			sp_put(s, root); // unlinks what was linked
			return -ERR_NOMEM;
		}
		frame_get(h);
		struct sp *child = shadow_sp_of(h);
		if (child->owner != SP_SHARED) {
			parent->stats.tables--;
			shadow_global.shared_tables++;
			sp_set_owner(child, SP_SHARED);
		}
	}
	sv->cache[0] = sv->root = root;
	sp_tlb_flush(s);
	shadow_global.clones++;
	return 0;
}

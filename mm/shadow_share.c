// Sharing shadow tables between clones (mm/, pure C): the clone's root
// (its parent's, shared), taking a copy of a shared table or root before a
// VM changes it, and repointing a
// VM's entries when a write gives it its own copy of a shared guest frame.
// The model is at struct sp (include/shadow.h).
#include "frame.h"
#include "lib.h"
#include "shadow.h"
#include "shadow_int.h"

u32 sp_root_holds(const struct shadow_mmu *s, const struct sp *root)
{
	u32 n = 0;
	for (const struct shadow_vcpu *sv = s->vcpus; sv; sv = sv->next)
		for (int i = 0; i < ROOT_CACHE; i++)
			n += sv->cache[i] == root;
	return n;
}

static bool root_held_by(const struct sp *root, u16 owner)
{
	for (const struct shadow_mmu *m = all_shadows; m; m = m->next)
		if (m->owner == owner)
			return sp_root_holds(m, root) > 0;
	return false;
}

bool spde_used_by(spte_ref_t parent, u16 owner)
{
	u16 o = owner_of_spde(parent);
	if (o != SP_SHARED)
		return o == owner;
	return root_held_by(shadow_sp_of(parent >> PAGE_SHIFT), owner);
}

bool shadow_sp_used_by(const struct sp *sp, u16 owner)
{
	if (sp->owner != SP_SHARED)
		return sp->owner == owner;
	if (sp->role & SP_ROLE_DIR)
		return root_held_by(sp, owner);
	struct rmap_iter it;
	spte_ref_t parent;
	for_each_rmap(sp->hfn, &it, &parent)
		if (spde_used_by(parent, owner))
			return true;
	return false;
}

struct users {
	u16 seen[64];
	u32 nseen, vms;
};

static void user_seen(struct users *u, u16 o)
{
	for (u32 i = 0; i < u->nseen; i++)
		if (u->seen[i] == o)
			return;
	u->vms++;
	if (u->nseen < 64)
		u->seen[u->nseen++] = o;
}

void shadow_sp_users(const struct sp *sp, u32 *vms, u32 *spdes)
{
	struct users u = { .nseen = 0 };
	*spdes = 0;
	if ((sp->role & SP_ROLE_DIR) && sp->owner != SP_SHARED)
		user_seen(&u, sp->owner);
	struct rmap_iter it;
	spte_ref_t parent;
	for_each_rmap(sp->hfn, &it, &parent) {
		(*spdes)++;
		u16 o = owner_of_spde(parent);
		if (o != SP_SHARED) {
			user_seen(&u, o);
			continue;
		}
		const struct sp *root = shadow_sp_of(parent >> PAGE_SHIFT);
		for (const struct shadow_mmu *m = all_shadows; m; m = m->next)
			if (sp_root_holds(m, root))
				user_seen(&u, m->owner);
	}
	if ((sp->role & SP_ROLE_DIR) && sp->owner == SP_SHARED)
		for (const struct shadow_mmu *m = all_shadows; m; m = m->next)
			if (sp_root_holds(m, sp))
				user_seen(&u, m->owner);
	*vms = u.vms;
}

// s must change the shared root it holds: s takes root itself if no other
// VM holds it, else a copy, which links the same (shared) tables read-only
// and replaces root in each of s's root-cache slots. NULL: no memory.
struct sp *sp_root_own(struct shadow_mmu *s, struct sp *root)
{
	if (root->owner == s->owner)
		return root;
	ASSERT(root->owner == SP_SHARED && (root->role & SP_ROLE_DIR));
	u32 mine = sp_root_holds(s, root);
	ASSERT(mine > 0);
	s->stats.sp_own_roots++;
	if (frame_of(root->hfn)->count == mine) {
		shadow_global.shared_tables--;
		s->stats.tables++;
		s->stats.sp_taken++;
		sp_set_owner(root, s->owner);
		return root;
	}
	struct sp *copy = sp_new(s, root->gfn, root->role);
	if (!copy)
		return NULL;
	const u32 *from = table_of(root);
	u32 *to = table_of(copy);
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		if (!(from[i] & PTE_P))
			continue;
		ASSERT(!(from[i] & PTE_W));
		to[i] = from[i];
		if (rmap_add(from[i] >> PAGE_SHIFT, ref_of(&to[i])))
			frame_get(from[i] >> PAGE_SHIFT);
		else
			to[i] = 0; // refaults
	}
	// sp_new's reference goes to the first slot, one more to each other.
	bool first = true;
	for (struct shadow_vcpu *sv = s->vcpus; sv; sv = sv->next) {
		for (int i = 0; i < ROOT_CACHE; i++) {
			if (sv->cache[i] != root)
				continue;
			if (!first)
				frame_get(copy->hfn);
			first = false;
			sv->cache[i] = copy;
			if (sv->root == root)
				sv->root = copy;
			sp_put(s, root); // others hold it still
		}
	}
	s->stats.sp_copies++;
	sp_tlb_flush(s);
	return copy;
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
	// s's links to sp in a root it shares with clones become links in a
	// root of its own first (out of memory, the link goes, for all: they
	// refault). Each changes sp's reverse map: look again after each.
	for (bool again = true; again;) {
		again = false;
		for_each_rmap(sp->hfn, &it, &parent) {
			struct sp *root = shadow_sp_of(parent >> PAGE_SHIFT);
			if (root->owner != SP_SHARED || !sp_root_holds(s, root))
				continue;
			if (!sp_root_own(s, root)) {
				bool last = frame_of(sp->hfn)->count == 1;
				sp_unlink_child(s, spte_ptr(parent));
				if (last)
					return NULL; // that freed sp
			}
			again = true;
			break;
		}
	}
	bool others = false, high = false;
	for_each_rmap(sp->hfn, &it, &parent) {
		others |= owner_of_spde(parent) != s->owner;
		high |= owner_of_spde(parent) == s->owner && (parent & (PAGE_SIZE - 1)) / 4 >= 768;
	}
	if (high)
		s->stats.sp_own_high++;
	else
		s->stats.sp_own_low++;
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
// The zero frame (mm/swap.c) and a merged frame (mm/dedup.c) stand for
// several guest pages: s's entries for them are dropped instead (they
// refault, each to what its page is now).
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
		if ((frame_of(old)->flags & (FRAME_F_ZERO | FRAME_F_MERGED)) || !rmap_add(new_, mine))
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
	// The clone runs on the parent's root, shared: whichever of them must
	// change it first takes a copy (sp_root_own). Everything it links is
	// shared too.
	struct sp *root = psv->root;
	const u32 *pd = table_of(root);
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		if (!(pd[i] & PTE_P))
			continue;
		struct sp *child = shadow_sp_of(pd[i] >> PAGE_SHIFT);
		if (child->owner != SP_SHARED) {
			parent->stats.tables--;
			shadow_global.shared_tables++;
			sp_set_owner(child, SP_SHARED);
		}
	}
	if (root->owner != SP_SHARED) {
		parent->stats.tables--;
		shadow_global.shared_tables++;
		sp_set_owner(root, SP_SHARED);
	}
	frame_get(root->hfn);
	sv->cache[0] = sv->root = root;
	sp_tlb_flush(s);
	shadow_global.clones++;
	return 0;
}

// Keeping shadow tables in step with guest tables the guest writes (mm/,
// pure C): a guest table is write-protected while shadowed; its first write
// makes its shadows unsync (the guest writes on freely), and a sync brings
// them back in line (keeping entries that lost rights only, dropping the
// rest) and protects the table again: at CR3 loads, before an unsync table
// is linked, and entry by entry at INVLPG, as the architecture's TLB rules
// allow. A table written again and again but never used stops being shadowed.
#include "frame.h"
#include "lib.h"
#include "shadow.h"
#include "shadow_int.h"

static u32 guest_entry(struct shadow_mmu *s, gfn_t table, u32 index)
{
	u32 e = 0;
	if (gpa_read(s->gpmap, (table << PAGE_SHIFT) + index * 4, &e, 4) < 0)
		return 0;
	return e;
}

// Does a shadow PTE still stand for the guest PTE gpte under role?
static bool spte_current(struct shadow_mmu *s, u32 spte, u32 gpte, u16 role)
{
	if ((gpte & (PTE_P | PTE_A)) != (PTE_P | PTE_A))
		return false;
	if (gpmap_lookup(s->gpmap, gpte >> PAGE_SHIFT) != (spte >> PAGE_SHIFT))
		return false;
	bool user = (role & SP_ROLE_PDE_U) && (gpte & PTE_U);
	bool rw = (role & SP_ROLE_PDE_W) && (gpte & PTE_W);
	if ((spte & PTE_U) && !user)
		return false;
	if ((spte & PTE_W) && (!(gpte & PTE_D) || !(rw || (!(role & SP_ROLE_WP) && !(spte & PTE_U)))))
		return false;
	return true;
}

// Bring an unsync table back in line with its guest table, then protect it;
// or, a write-hot table, leave it writable for the guest, still unsync (it
// is synced again at the next CR3 load, and entry by entry at INVLPG, as the
// architecture lets a TLB hold stale entries until then). A table is hot
// once the guest has written it SP_HOT_REWRITES times, each after a sync
// had protected it again (as a fork's parent does with its page tables:
// every write a trap, an exit, otherwise), the last one after a fill through
// it (a frame written but never used as a table is for unshadow(), not
// this), and cools after SP_COOL_SYNCS
// syncs in a row that found nothing changed (each costs a scan of the
// table at a CR3 load). True: it stays unsync. With protect_all (before a
// clone shares tables) every table is protected.
static bool sync_sp(struct shadow_mmu *s, struct sp *sp, bool protect_all)
{
	ASSERT(sp->owner == s->owner);
	u32 *t = table_of(sp);
	u64 before = s->stats.zapped + s->stats.downgraded;
	// The guest table, looked up once (an unpopulated frame reads as zeros).
	hfn_t ghfn = gpmap_contains(s->gpmap, (gpa_t)sp->gfn << PAGE_SHIFT) ? gpmap_lookup(s->gpmap, sp->gfn) : 0;
	const u32 *gt = ghfn ? hfn_ptr(ghfn) : NULL;
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		if (!(t[i] & PTE_P))
			continue;
		u32 g = gt ? gt[i] : 0;
		if (sp->role & SP_ROLE_DIR) {
			gfn_t gfn;
			u16 role;
			shadow_child_key(g, i << PDE_SHIFT, sp->role, &gfn, &role);
			struct sp *child = shadow_sp_of(t[i] >> PAGE_SHIFT);
			if ((g & (PTE_P | PTE_A)) != (PTE_P | PTE_A) || child->gfn != gfn || child->role != role) {
				sp_unlink_child(s, &t[i]);
				s->stats.zapped++;
			}
		} else if (!spte_current(s, t[i], g, sp->role)) {
			// Most changes take rights away (fork write-protects for
			// copy-on-write): keep the mapping with fewer rights when
			// that is enough, rather than fault it back in later.
			u32 fewer = t[i] & ~(u32)PTE_W;
			if (!spte_current(s, fewer, g, sp->role))
				fewer &= ~(u32)PTE_U;
			if (spte_current(s, fewer, g, sp->role)) {
				t[i] = fewer;
				s->stats.downgraded++;
			} else {
				clear_spte(&t[i]);
				s->stats.zapped++;
			}
			sp_tlb_flush(s);
		}
	}
	s->stats.syncs++;
	bool changed = s->stats.zapped + s->stats.downgraded != before;
	if (sp->hot && !changed && ++sp->quiet >= SP_COOL_SYNCS)
		sp->hot = false, sp->rewrites = 0;
	else if (sp->hot && changed)
		sp->quiet = 0;
	else if (!sp->hot && sp->rewrites >= SP_HOT_REWRITES && sp->writes <= 1 && !(sp->role & SP_ROLE_DIR)) {
		sp->hot = true;
		sp->quiet = 0;
		s->stats.hot++;
	}
	if (sp->hot && !protect_all)
		return true;
	sp->hot = false;
	sp->unsync = false;
	protect(s, sp->gfn); // its frame exists: the guest wrote it
	return false;
}

// Sync an unsync table now, before linking it where the guest has already
// invalidated what its stale entries say.
void sync_before_use(struct shadow_mmu *s, struct sp *sp)
{
	if (!sp->unsync)
		return;
	unsync_remove(s, sp);
	if (sync_sp(s, sp, false)) { // hot: in line now, and still unsync
		sp->unsync_next = s->unsync;
		s->unsync = sp;
	}
}

// Unlink a page table from every shadow PDE that points at it (found
// through its own reverse map); the last unlink frees it.
static void unshadow(struct shadow_mmu *s, struct sp *sp)
{
	hfn_t hfn = sp->hfn;
	s->stats.unshadowed++;
	// A page table's references are exactly its parents: the last unlink
	// frees it, so count them first.
	for (u32 n = rmap_count(hfn); n > 0; n--) {
		struct rmap_iter it;
		spte_ref_t parent;
		rmap_first(hfn, &it, &parent);
		sp_unlink_child(s, spte_ptr(parent));
	}
}

// Out of memory for s's copy of a shared root whose guest table s wrote:
// s's cache forgets it; a root s's CPU walks (the callers own those first,
// so only a second vCPU's) is emptied instead, for every VM that holds it.
static struct sp *root_forget(struct shadow_mmu *s, struct sp *root)
{
	for (struct shadow_vcpu *sv = s->vcpus; sv; sv = sv->next) {
		for (int i = 0; i < ROOT_CACHE; i++) {
			if (sv->cache[i] != root || sv->root == root)
				continue;
			sv->cache[i] = NULL;
			sp_put(s, root);
		}
	}
	if (!sp_root_holds(s, root))
		return NULL;
	u32 *t = table_of(root);
	for (u32 i = 0; i < PT_ENTRIES; i++)
		if (t[i] & PTE_P)
			sp_unlink_child(s, &t[i]);
	return root;
}

// A shared table of gfn that s links (other than skip), or NULL.
static struct sp *shared_sp_of(struct shadow_mmu *s, gfn_t gfn, const struct sp *skip)
{
	for (struct sp *sp = sp_hash[bucket_of(SP_SHARED, gfn)]; sp; sp = sp->hash_next)
		if (sp != skip && sp->gfn == gfn && sp->owner == SP_SHARED && !(sp->role & SP_ROLE_DIRECT) &&
		    shadow_sp_used_by(sp, s->owner))
			return sp;
	return NULL;
}

void shadow_guest_wrote(struct shadow_mmu *s, gfn_t gfn)
{
	hfn_t hfn = gpmap_lookup(s->gpmap, gfn);
	if (!hfn || !(frame_of(hfn)->flags & FRAME_F_PROTECTED))
		return;
	// The write is s's alone (the frame was copied for it if shared): the
	// shared shadows of that table stay right for the others, and s goes
	// on with its own copies, marked unsync below.
	for (struct sp *sp, *emptied = NULL; (sp = shared_sp_of(s, gfn, emptied));) {
		if (!(sp->role & SP_ROLE_DIR))
			sp_unshare(s, sp);
		else if (!sp_root_own(s, sp))
			emptied = root_forget(s, sp);
	}
	struct sp *flooded = NULL;
	for (struct sp *sp = sp_hash[bucket_of(s->owner, gfn)]; sp; sp = sp->hash_next) {
		if (sp->gfn != gfn || sp->owner != s->owner || (sp->role & SP_ROLE_DIRECT) || sp->unsync)
			continue;
		sp->unsync = true;
		sp->unsync_next = s->unsync;
		s->unsync = sp;
		sp->rewrites = (u8)MIN(sp->rewrites + 1, 255);
		if (++sp->writes >= SP_FLOOD_WRITES && !(sp->role & SP_ROLE_DIR))
			flooded = sp;
	}
	frame_of(hfn)->flags &= ~FRAME_F_PROTECTED;
	s->stats.unsyncs++;
	// Written again and again, used never: a frame that stopped being a page
	// table must not pay for its shadow forever. (One table a write; the
	// others of the frame follow on their own writes.)
	if (flooded)
		unshadow(s, flooded);
}

void shadow_sync_all(struct shadow_mmu *s, bool protect_all)
{
	// Hot tables wait on a list of their own until the end, where a table
	// freed meanwhile (a sync unlinks children) is still found and taken off.
	while (s->unsync) {
		struct sp *sp = s->unsync;
		s->unsync = sp->unsync_next;
		if (sync_sp(s, sp, protect_all)) {
			sp->unsync_next = s->unsync_kept;
			s->unsync_kept = sp;
		}
	}
	s->unsync = s->unsync_kept;
	s->unsync_kept = NULL;
}


// Is the shadow PDE at index i of the root still what the guest's PDE asks?
static bool spde_current(struct shadow_vcpu *sv, u32 spde, u32 i)
{
	struct shadow_mmu *s = sv->mmu;
	const struct sp *root = sv->root;
	if (root->role & SP_ROLE_DIRECT)
		return true; // paging off: the identity never changes
	u32 g = guest_entry(s, root->gfn, i);
	gfn_t gfn;
	u16 role;
	shadow_child_key(g, i << PDE_SHIFT, root->role, &gfn, &role);
	const struct sp *child = shadow_sp_of(spde >> PAGE_SHIFT);
	return (g & (PTE_P | PTE_A)) == (PTE_P | PTE_A) && child->gfn == gfn && child->role == role;
}

void shadow_invlpg(struct shadow_vcpu *sv, gva_t gva)
{
	struct shadow_mmu *s = sv->mmu;
	u32 *spdep = &table_of(sv->root)[PDE_INDEX(gva)];
	s->stats.invlpgs++;
	if (!(*spdep & PTE_P))
		return;
	// INVLPG also drops paging-structure caches: a changed PDE takes effect,
	// and a 4 MiB translation goes whole.
	if (!spde_current(sv, *spdep, PDE_INDEX(gva)) ||
	    (shadow_sp_of(*spdep >> PAGE_SHIFT)->role & SP_ROLE_DIRECT)) {
		// In a root shared with clones, in s's own copy of it; out of
		// memory, in the shared root, for all (they refault).
		struct sp *root = sv->root->owner == s->owner ? sv->root : sp_root_own(s, sv->root);
		if (root)
			spdep = &table_of(root)[PDE_INDEX(gva)];
		if (*spdep & PTE_P)
			sp_unlink_child(s, spdep);
		return;
	}
	u32 *sptep = &((u32 *)hfn_ptr(*spdep >> PAGE_SHIFT))[PTE_INDEX(gva)];
	if (!(*sptep & PTE_P))
		return;
	struct sp *sp = shadow_sp_of(*spdep >> PAGE_SHIFT);
	if (sp->owner == SP_SHARED) {
		// A shared table is in sync: an entry still current stays, for
		// everyone; else this VM takes its own copy to drop it from.
		u32 g = guest_entry(s, sp->gfn, PTE_INDEX(gva));
		if (spte_current(s, *sptep, g, sp->role) || !(sp = sp_unshare(s, sp)))
			return;
		sptep = &table_of(sp)[PTE_INDEX(gva)];
		if (!(*sptep & PTE_P))
			return;
	}
	clear_spte(sptep);
	sp_tlb_flush(s);
}

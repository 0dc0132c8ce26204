// Persistent, shared shadow tables (mm/, pure C). See include/shadow.h for
// the model. A shadow PTE is written only from a successful guest walk,
// never grants more than the guest entries do, never lets the guest write a
// protected table, maps only frames of the VM's own gpmap, and is recorded
// in the reverse map of the frame it maps; a shadow PDE likewise in the
// reverse map of the table it points at.
#include "frame.h"
#include "lib.h"
#include "shadow.h"
#include "shadow_int.h"


static struct sp sp_pool[SP_POOL];
static struct sp *sp_free;
static u32 sp_pool_used;       // entries ever handed out (the rest are fresh)
struct sp *sp_hash[SP_HASH];
struct shadow_mmu *all_shadows;
u32 shadow_tlb_gen[MAX_VMS];
struct shadow_global shadow_global;

void shadow_stats_add(struct shadow_stats *to, const struct shadow_stats *from)
{
	_Static_assert(sizeof(*to) % sizeof(u64) == 0, "shadow_stats holds u64 counters only");
	const u64 *f = (const u64 *)from;
	u64 *t = (u64 *)to;
	for (size_t i = 0; i < sizeof(*to) / sizeof(u64); i++)
		t[i] += f[i];
}

struct sp *shadow_sp_of(hfn_t hfn)
{
	struct frame *f = frame_of(hfn);
	ASSERT(f->type == FRAME_SHADOW && f->sp_plus1);
	return &sp_pool[f->sp_plus1 - 1];
}

u32 shadow_sp_limit(void)
{
	return sp_pool_used;
}

struct sp *shadow_sp_at(u32 index)
{
	if (index >= sp_pool_used || !sp_pool[index].hfn)
		return NULL;
	return &sp_pool[index];
}

u32 bucket_of(u16 owner, gfn_t gfn)
{
	return ((gfn * 2654435761u) ^ ((u32)owner * 40503u)) & (SP_HASH - 1);
}

struct sp *sp_lookup(u16 owner, gfn_t gfn, u16 role)
{
	for (struct sp *sp = sp_hash[bucket_of(owner, gfn)]; sp; sp = sp->hash_next)
		if (sp->gfn == gfn && sp->role == role && sp->owner == owner)
			return sp;
	return NULL;
}

// Is gfn a guest table that some shadow of owner's stands for?
static bool gfn_shadowed(u16 owner, gfn_t gfn)
{
	for (struct sp *sp = sp_hash[bucket_of(owner, gfn)]; sp; sp = sp->hash_next)
		if (sp->gfn == gfn && sp->owner == owner && !(sp->role & SP_ROLE_DIRECT))
			return true;
	return false;
}

void flush_owner(struct shadow_mmu *s, u16 owner)
{
	if (owner == SP_SHARED || owner >= MAX_VMS)
		return;
	shadow_tlb_gen[owner]++;
	if (!s || owner != s->owner)
		shadow_global.tlb_requests++;
}

// An entry of the table in frame table changed: flush every VM that may
// cache it (its owner; each VM holding it, a shared root; each VM linking
// it, a shared table).
void flush_table_users(struct shadow_mmu *s, hfn_t table)
{
	u16 owner = frame_of(table)->owner;
	if (owner != SP_SHARED) {
		flush_owner(s, owner);
		return;
	}
	struct sp *sp = shadow_sp_of(table);
	if (sp->role & SP_ROLE_DIR) {
		for (struct shadow_mmu *m = all_shadows; m; m = m->next)
			if (sp_root_holds(m, sp))
				flush_owner(s, m->owner);
		return;
	}
	struct rmap_iter it;
	spte_ref_t parent;
	for_each_rmap(table, &it, &parent)
		flush_table_users(s, parent >> PAGE_SHIFT); // a root: no deeper
}

// Move sp to another owner (SP_SHARED or a VM), keeping the hash right.
void sp_set_owner(struct sp *sp, u16 owner)
{
	for (struct sp **pp = &sp_hash[bucket_of(sp->owner, sp->gfn)]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == sp) {
			*pp = sp->hash_next;
			break;
		}
	}
	sp->owner = owner;
	frame_of(sp->hfn)->owner = owner;
	u32 b = bucket_of(owner, sp->gfn);
	sp->hash_next = sp_hash[b];
	sp_hash[b] = sp;
}

// Write-protect guest frame gfn: mark it and take write permission from
// every shadow PTE that maps it, found through its reverse map.
bool protect(struct shadow_mmu *s, gfn_t gfn)
{
	// Populate it if it was never touched: the flag lives on the frame, and
	// the guest's first write to it must be seen too.
	int err;
	hfn_t hfn = gpmap_populate(s->gpmap, gfn, &err);
	// A table is never the zero frame or a merged one (mm/swap.c, dedup.c):
	// it gets its own copy.
	if (hfn && (frame_of(hfn)->flags & (FRAME_F_ZERO | FRAME_F_MERGED)))
		hfn = gpmap_writable(s->gpmap, gfn, &err);
	if (!hfn)
		return false;
	frame_of(hfn)->flags |= FRAME_F_PROTECTED | FRAME_F_SHADOWED;
	shadow_clear_bits(s, hfn, PTE_W); // stricter is right for every VM: shared tables too
	return true;
}

bool shadow_clear_bits(struct shadow_mmu *s, hfn_t hfn, u32 bits)
{
	bool had = false;
	struct rmap_iter it;
	spte_ref_t ref;
	for_each_rmap(hfn, &it, &ref) {
		u32 *e = spte_ptr(ref);
		if (*e & bits) {
			*e &= ~bits;
			flush_table_users(s, ref >> PAGE_SHIFT);
			had = true;
		}
	}
	return had;
}

void clear_spte(u32 *sptep)
{
	rmap_remove(*sptep >> PAGE_SHIFT, ref_of(sptep));
	*sptep = 0;
}

void sp_unlink_child(struct shadow_mmu *s, u32 *spdep)
{
	hfn_t child = *spdep >> PAGE_SHIFT;
	rmap_remove(child, ref_of(spdep));
	*spdep = 0;
	flush_table_users(s, ref_of(spdep) >> PAGE_SHIFT);
	sp_put(s, shadow_sp_of(child));
}

void unsync_remove(struct shadow_mmu *s, struct sp *sp)
{
	struct sp **lists[] = { &s->unsync, &s->unsync_kept };
	for (int l = 0; l < 2; l++) {
		for (struct sp **pp = lists[l]; *pp; pp = &(*pp)->unsync_next) {
			if (*pp == sp) {
				*pp = sp->unsync_next;
				return;
			}
		}
	}
}

// The last reference went: empty the table, forget it, free it.
static void sp_free_now(struct shadow_mmu *s, struct sp *sp)
{
	u32 *t = table_of(sp);
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		if (!(t[i] & PTE_P))
			continue;
		if (sp->role & SP_ROLE_DIR)
			sp_unlink_child(s, &t[i]);
		else
			clear_spte(&t[i]);
	}
	for (struct sp **pp = &sp_hash[bucket_of(sp->owner, sp->gfn)]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == sp) {
			*pp = sp->hash_next;
			break;
		}
	}
	if (sp->unsync)
		unsync_remove(s, sp);
	// A frame shared with clones may be a table other VMs shadow: it stays
	// protected (at worst one needless write fault, which drops the flag).
	if (!(sp->role & SP_ROLE_DIRECT) && sp->owner != SP_SHARED && gpmap_exclusive(s->gpmap, sp->gfn) &&
	    !gfn_shadowed(sp->owner, sp->gfn) && !gfn_shadowed(SP_SHARED, sp->gfn))
		frame_of(gpmap_lookup(s->gpmap, sp->gfn))->flags &= ~(FRAME_F_PROTECTED | FRAME_F_SHADOWED);
	if (sp->owner == SP_SHARED)
		shadow_global.shared_tables--;
	else
		s->stats.tables--;
	hfn_t hfn = sp->hfn;
	memset(sp, 0, sizeof(*sp));
	sp->hash_next = sp_free;
	sp_free = sp;
	frame_put(hfn);
}

void sp_put(struct shadow_mmu *s, struct sp *sp)
{
	if (frame_of(sp->hfn)->count == 1)
		sp_free_now(s, sp);
	else
		frame_put(sp->hfn);
}

// A new shadow table for (gfn, role), holding one reference for the caller.
struct sp *sp_new(struct shadow_mmu *s, gfn_t gfn, u16 role)
{
	struct sp *sp = sp_free;
	if (sp)
		sp_free = sp->hash_next;
	else if (sp_pool_used < SP_POOL)
		sp = &sp_pool[sp_pool_used++];
	else
		return NULL;
	hfn_t hfn = frame_alloc(FRAME_SHADOW, s->owner);
	if (!hfn) {
		sp->hash_next = sp_free;
		sp_free = sp;
		return NULL;
	}
	*sp = (struct sp){ .hfn = hfn, .gfn = gfn, .role = role, .owner = s->owner, .wgen = s->wgen };
	frame_of(hfn)->sp_plus1 = (u32)(sp - sp_pool) + 1;
	u32 b = bucket_of(s->owner, gfn);
	sp->hash_next = sp_hash[b];
	sp_hash[b] = sp;
	s->stats.tables++;
	s->stats.tables_made++;
	if (!(role & SP_ROLE_DIRECT) && gpmap_contains(s->gpmap, gfn << PAGE_SHIFT) && !protect(s, gfn)) {
		sp_put(s, sp);
		return NULL;
	}
	return sp;
}

static inline __attribute__((always_inline)) void child_key(u32 gpde, gva_t gva, u16 root_role, gfn_t *gfn,
								u16 *role)
{
	if (root_role & SP_ROLE_NOPG) {
		// The identity: which 4 MiB of guest-physical memory, nothing else.
		*gfn = (gva >> PDE_SHIFT) << (PDE_SHIFT - PAGE_SHIFT);
		*role = SP_ROLE_DIRECT | SP_ROLE_NOPG;
		return;
	}
	u16 r = (u16)((root_role & SP_ROLE_WP) | ((gpde & PTE_U) ? SP_ROLE_PDE_U : 0) |
		      ((gpde & PTE_W) ? SP_ROLE_PDE_W : 0));
	if ((root_role & SP_ROLE_PSE) && (gpde & PTE_PS)) {
		*gfn = (gpde & PDE_LARGE_ADDR_MASK) >> PAGE_SHIFT;
		*role = r | SP_ROLE_DIRECT | ((gpde & PTE_D) ? SP_ROLE_PDE_D : 0) |
			((gpde & PTE_PWT) ? SP_ROLE_PDE_PWT : 0) | ((gpde & PTE_PCD) ? SP_ROLE_PDE_PCD : 0);
	} else {
		*gfn = gpde >> PAGE_SHIFT;
		*role = r;
	}
}

void shadow_child_key(u32 gpde, gva_t gva, u16 root_role, gfn_t *gfn, u16 *role)
{
	child_key(gpde, gva, root_role, gfn, role);
}

int shadow_init(struct shadow_mmu *s, struct gpmap *gpmap, u16 owner)
{
	memset(s, 0, sizeof(*s));
	s->gpmap = gpmap;
	s->owner = owner;
	s->wgen = 1;
	gpmap->moved = shadow_cow_moved;
	gpmap->moved_arg = s;
	s->next = all_shadows;
	all_shadows = s;
	return 0;
}

void shadow_destroy(struct shadow_mmu *s)
{
	ASSERT(!s->vcpus);
	ASSERT(s->stats.tables == 0 && !s->unsync);
	for (struct shadow_mmu **pp = &all_shadows; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
}

// The shadow PTE for a successful walk. The CPU runs the guest with CR0.WP=1
// and the guest's D bits must be set by umbra, so:
//  - no write permission until the guest entry is dirty (the first write
//    faults here and sets D), and none to a protected guest table;
//  - a supervisor write that the guest's CR0.WP=0 allows on a read-only page
//    gets a writable, supervisor-only entry; a later user access faults and
//    gets the user's (read-only) view instead.
//  - none to a frame shared with a clone (the first write copies it).
static u32 make_spte(const struct walk *w, const struct walk_ctx *ctx, u32 ec, hfn_t hfn, bool exclusive)
{
	u32 leaf = w->large ? w->pde : w->pte;
	u32 spte = (u32)(hfn << PAGE_SHIFT) | PTE_P | (leaf & (PTE_PWT | PTE_PCD));
	bool protected_ = (frame_of(hfn)->flags & FRAME_F_PROTECTED) || !exclusive;
	if (!w->paging)
		return spte | PTE_U | (protected_ ? 0 : PTE_W);
	bool user = w->user;
	bool writable = false;
	if (w->dirty && !protected_) {
		if (w->rw)
			writable = true;
		else if (!(ctx->cr0 & CR0_WP) && (ec & PFEC_W) && !(ec & PFEC_U)) {
			writable = true;
			user = false;
		}
	}
	return spte | (user ? PTE_U : 0) | (writable ? PTE_W : 0);
}

// A frame mapped so often that its reverse map cannot grow (its set is at
// the largest size, or memory for a larger one is short): drop its other
// mappings, which refault, and start its map again with this entry, as KVM
// recycles long rmaps. Not for a frame with few mappings: there the memory
// is short, and dropping would only thrash.
static bool rmap_recycle(struct shadow_mmu *s, hfn_t hfn, spte_ref_t ref)
{
	if (rmap_count(hfn) < RMAP_RECYCLE_AT)
		return false;
	s->stats.recycles++;
	shadow_reclaim(hfn, NULL, NULL);
	return rmap_add(hfn, ref);
}

// One try at the fault (inlined into its only caller: the fill path is hot).
static inline __attribute__((always_inline)) enum shadow_result
page_fault_once(struct shadow_vcpu *sv, const struct walk_ctx *ctx, gva_t gva, u32 ec, struct walk *w)
{
	struct shadow_mmu *s = sv->mmu;
	switch (walk_gva(ctx, gva, ec & (PFEC_W | PFEC_U), w)) {
	case WALK_OK:
		break;
	case WALK_FAULT:
		s->stats.guest_faults++;
		return SHADOW_GUEST_FAULT;
	case WALK_BAD_GPA:
		return SHADOW_BAD_TABLE;
	case WALK_NOMEM:
		w->bad_gpa = w->pte_gpa ? w->pte_gpa : w->pde_gpa;
		return SHADOW_NOMEM;
	}

	int err = 0;
	gfn_t gfn = w->gpa >> PAGE_SHIFT;
	// A write gets a frame of this VM's own (copied if shared with a clone).
	bool write = ec & PFEC_W;
	hfn_t hfn = write ? gpmap_writable(s->gpmap, gfn, &err) : gpmap_populate(s->gpmap, gfn, &err);
	if (!hfn && err == -ERR_FAULT && !write)
		hfn = gpmap_lookup(s->gpmap, gfn); // a device page shown read-only (never exclusive: no W)
	if (!hfn) {
		w->bad_gpa = w->gpa;
		w->err = err;
		return err == -ERR_FAULT ? SHADOW_BAD_GPA : SHADOW_NOMEM;
	}
	// The fill changes the root: a root shared with clones becomes s's own.
	if (sv->root->owner != s->owner && !sp_root_own(s, sv->root))
		return SHADOW_NOMEM;
	// A write the guest may make to a table umbra shadows: let it through
	// and bring the shadows of that table back in sync later.
	if ((ec & PFEC_W) && (frame_of(hfn)->flags & FRAME_F_PROTECTED))
		shadow_guest_wrote(s, w->gpa >> PAGE_SHIFT);

	gfn_t cgfn;
	u16 crole;
	child_key(w->pde, gva, sv->root->role, &cgfn, &crole);
	u32 *spdep = &table_of(sv->root)[PDE_INDEX(gva)];
	if (*spdep & PTE_P) {
		struct sp *cur = shadow_sp_of(*spdep >> PAGE_SHIFT);
		if (cur->gfn != cgfn || cur->role != crole)
			sp_unlink_child(s, spdep);
	}
	if (!(*spdep & PTE_P)) {
		struct sp *child = sp_lookup(s->owner, cgfn, crole);
		if (child) {
			sync_before_use(s, child);
			frame_get(child->hfn);
		}
		else if (!(child = sp_new(s, cgfn, crole)))
			return SHADOW_NOMEM;
		// Permissions are decided in the PTE alone; the PDE allows all,
		// but writes only once the table is known not to let this VM write
		// a frame it shares with a clone.
		*spdep = (u32)(child->hfn << PAGE_SHIFT) | PTE_P | PTE_U | (child->wgen == s->wgen ? PTE_W : 0);
		if (!rmap_add(child->hfn, ref_of(spdep))) {
			*spdep = 0;
			sp_put(s, child);
			return SHADOW_NOMEM;
		}
	}
	struct sp *child = shadow_sp_of(*spdep >> PAGE_SHIFT);
	if (child->owner != s->owner && !(child = sp_unshare(s, child)))
		return SHADOW_FIXED; // dropped for want of memory: refault and rebuild
	if ((ec & PFEC_W) && !(*spdep & PTE_W)) {
		if (child->wgen != s->wgen) {
			u32 *t = table_of(child);
			for (u32 i = 0; i < PT_ENTRIES; i++)
				t[i] &= ~PTE_W;
			child->wgen = s->wgen;
			s->stats.w_checks++;
		}
		*spdep |= PTE_W;
		sp_tlb_flush(s);
	}
	child->writes = 0; // in use as a table
	u32 *sptep = &table_of(child)[PTE_INDEX(gva)];
	// Only a dirty page read may get a writable entry: only then does it
	// matter whether the frame is still shared.
	u32 spte = make_spte(w, ctx, ec, hfn, write || !w->dirty || gpmap_exclusive(s->gpmap, gfn));
	if ((*sptep & PTE_P) && (*sptep >> PAGE_SHIFT) == hfn) {
		// Same frame, new rights: the rmap entry, and its bits, stand.
		*sptep = spte | (*sptep & RMAP_SPTE_BITS);
	} else {
		if (*sptep & PTE_P)
			clear_spte(sptep);
		*sptep = spte;
		if (!rmap_add(hfn, ref_of(sptep)) && !rmap_recycle(s, hfn, ref_of(sptep))) {
			*sptep = 0;
			return SHADOW_NOMEM;
		}
	}
	s->stats.fills++;
	return SHADOW_FIXED;
}

enum shadow_result shadow_page_fault(struct shadow_vcpu *sv, const struct walk_ctx *ctx,
				     gva_t gva, u32 ec, struct walk *w)
{
	struct shadow_mmu *s = sv->mmu;
	s->stats.faults++;
	for (bool retried = false;; retried = true) {
		enum shadow_result r = page_fault_once(sv, ctx, gva, ec, w);
		// Out of memory: drop the shadows of address spaces not loaded, once.
		if (r != SHADOW_NOMEM || retried || !shadow_shrink(s))
			return r;
		s->stats.oom_shrinks++;
	}
}

int shadow_gpa_write(struct shadow_mmu *s, gpa_t gpa, const void *buf, u32 len)
{
	// A write to a table some root of s shadows may change what a root
	// s's CPU walks says: a root s shares with clones becomes s's own first.
	for (struct shadow_vcpu *sv = s->vcpus; sv; sv = sv->next)
		if (sv->root && sv->root->owner != s->owner && sv->root->gfn == gpa >> PAGE_SHIFT &&
		    !sp_root_own(s, sv->root))
			return -ERR_NOMEM;
	int r = gpa_write(s->gpmap, gpa, buf, len);
	if (r == 0)
		shadow_guest_wrote(s, gpa >> PAGE_SHIFT);
	return r;
}

u32 shadow_reclaim(hfn_t hfn, shadow_zap_fn report, void *arg)
{
	u32 n = 0;
	u64 flush[4] = { 0 }; // owners whose TLB must go, flushed once each
	ASSERT(frame_of(hfn)->type != FRAME_SHADOW); // tables go with their last parent
	// One pass over the reverse map clears every entry; the map itself is
	// then dropped whole.
	struct rmap_iter it;
	spte_ref_t ref;
	for_each_rmap(hfn, &it, &ref) {
		u32 *sptep = spte_ptr(ref);
		u16 owner = frame_of(ref >> PAGE_SHIFT)->owner;
		ASSERT((*sptep >> PAGE_SHIFT) == hfn);
		if (report)
			report(arg, owner, ref, *sptep);
		*sptep = 0; // right for every VM a shared table serves, too
		if (owner != SP_SHARED && owner < 256)
			flush[owner / 64] |= 1ull << (owner % 64);
		else
			flush_table_users(NULL, ref >> PAGE_SHIFT);
		n++;
	}
	rmap_clear(hfn);
	for (u32 w = 0; w < 4; w++)
		for (u64 bits = flush[w]; bits; bits &= bits - 1)
			flush_owner(NULL, (u16)(w * 64 + (u32)__builtin_ctzll(bits)));
	return n;
}

u32 shadow_reclaim_scan(hfn_t hfn)
{
	u32 n = 0;
	for (u32 k = 0; k < sp_pool_used; k++) {
		struct sp *sp = &sp_pool[k];
		if (!sp->hfn || (sp->role & SP_ROLE_DIR))
			continue;
		u32 *t = table_of(sp);
		for (u32 j = 0; j < PT_ENTRIES; j++) {
			if ((t[j] & PTE_P) && (t[j] >> PAGE_SHIFT) == hfn) {
				clear_spte(&t[j]);
				flush_table_users(NULL, sp->hfn);
				n++;
			}
		}
	}
	return n;
}

// mm/-internal interface between shadow.c (tables, faults, reclaim),
// shadow_sync.c (guest table writes, sync, INVLPG) and shadow_share.c
// (sharing tables between clones). Not for vmm/.
#ifndef UMBRA_SHADOW_INT_H
#define UMBRA_SHADOW_INT_H

#include "frame.h"
#include "shadow.h"

static inline spte_ref_t ref_of(const u32 *entry)
{
	return (spte_ref_t)((uintptr_t)entry - mm_phys_base);
}

static inline u32 *table_of(const struct sp *sp)
{
	return hfn_ptr(sp->hfn);
}

// The VM whose root holds the shadow PDE at parent, or SP_SHARED for a
// root clones share (then sp_root_holds says whose it is).
static inline u16 owner_of_spde(spte_ref_t parent)
{
	return frame_of(parent >> PAGE_SHIFT)->owner;
}

// s's own entries were removed or narrowed: its vCPUs flush before entering.
static inline void sp_tlb_flush(struct shadow_mmu *s)
{
	shadow_tlb_gen[s->owner]++;
}

// The table of owner for (gfn, role), or NULL.
struct sp *sp_lookup(u16 owner, gfn_t gfn, u16 role);
// A new table for (gfn, role) of s, holding one reference for the caller.
struct sp *sp_new(struct shadow_mmu *s, gfn_t gfn, u16 role);
// Drop a reference; the last frees the table (and unlinks its children).
void sp_put(struct shadow_mmu *s, struct sp *sp);
// Clear the shadow PDE at spdep and drop its table's reference.
void sp_unlink_child(struct shadow_mmu *s, u32 *spdep);
void sp_set_owner(struct sp *sp, u16 owner);
struct sp *sp_unshare(struct shadow_mmu *s, struct sp *sp);
// Shared roots (shadow_share.c): how many of s's root-cache slots hold root;
// s's own root for the shared root it must change (a copy, or root itself
// when no other VM holds it), in every slot of s's that held it, or NULL
// out of memory.
u32 sp_root_holds(const struct shadow_mmu *s, const struct sp *root);
struct sp *sp_root_own(struct shadow_mmu *s, struct sp *root);
// Does the shadow PDE at parent serve owner (in its root, or a shared root
// it holds)?
bool spde_used_by(spte_ref_t parent, u16 owner);
// Flush every VM that may cache an entry of the table in frame table.
void flush_table_users(struct shadow_mmu *s, hfn_t table);
// Clear bits in every shadow entry that maps hfn (its reverse map), each VM
// that may cache one flushing its TLB: did any have them?
bool shadow_clear_bits(struct shadow_mmu *s, hfn_t hfn, u32 bits);
extern struct shadow_mmu *all_shadows; // every live shadow
void shadow_cow_moved(void *arg, gfn_t gfn, hfn_t old, hfn_t new_);

// Between shadow.c (tables, faults, reclaim) and shadow_sync.c (unsync,
// sync, INVLPG):
#define SP_HASH 4096
extern struct sp *sp_hash[SP_HASH]; // (owner, gfn) -> tables, chained
u32 bucket_of(u16 owner, gfn_t gfn);
// Write-protect gfn's frame (it is shadowed); false if it is not populated.
bool protect(struct shadow_mmu *s, gfn_t gfn);
void clear_spte(u32 *sptep);
void unsync_remove(struct shadow_mmu *s, struct sp *sp);
// Every vCPU of owner flushes its TLB before its next entry.
void flush_owner(struct shadow_mmu *s, u16 owner);
// Sync an unsync table now, before it is linked where the guest has
// already invalidated what its stale entries say.
void sync_before_use(struct shadow_mmu *s, struct sp *sp);

#endif

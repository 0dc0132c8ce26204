// Reverse maps: for every host frame, the set of shadow PTEs that map it.
// One mapping is the spte's address kept in the frame's own metadata word
// (no allocation, the seed's `direct`); more live in 64-byte blocks of 15.
#ifndef UMBRA_RMAP_H
#define UMBRA_RMAP_H

#include "frame.h"

// Shadow PTEs are named by their host-physical address (below 4 GiB, 4-byte
// aligned), so a reverse-map entry is 4 bytes.
typedef u32 spte_ref_t;

#define RMAP_BLOCK_ENTRIES 15

struct rmap_block {
	spte_ref_t spte[RMAP_BLOCK_ENTRIES];
	u32 next;   // hpa of the next block | entries used here (low 4 bits)
};
_Static_assert(sizeof(struct rmap_block) == 64, "an rmap block is one cache line");

struct rmap_stats {
	u64 blocks;       // blocks in use
	u64 block_frames; // frames holding blocks
	u64 adds, removes;
};
extern struct rmap_stats rmap_stats;

// Record / forget that the spte at spte_hpa maps hfn. Add is O(1); remove
// scans only hfn's own entries, swapping the last one into the hole. Add
// returns false when no block could be allocated (the caller must not
// install the spte).
bool rmap_add(hfn_t hfn, spte_ref_t spte);
void rmap_remove(hfn_t hfn, spte_ref_t spte);
u32 rmap_count(hfn_t hfn);
// Forget every entry of hfn at once (the caller has cleared the sptes).
void rmap_clear(hfn_t hfn);

// Iterate over hfn's entries; the loop body may not change hfn's rmap.
struct rmap_iter {
	u32 head;
	const struct rmap_block *blk;
	u32 i;
};
bool rmap_first(hfn_t hfn, struct rmap_iter *it, spte_ref_t *spte);
bool rmap_next(struct rmap_iter *it, spte_ref_t *spte);
#define for_each_rmap(hfn, it, spte) \
	for (bool ok_ = rmap_first(hfn, it, spte); ok_; ok_ = rmap_next(it, spte))

// Extra bytes the reverse map of hfn costs beyond its metadata word.
u32 rmap_bytes(hfn_t hfn);

static inline u32 *spte_ptr(spte_ref_t spte)
{
	return hpa_ptr(spte);
}

#endif

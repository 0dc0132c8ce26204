// Reverse maps: for every host frame, the set of shadow entries that map it.
// One mapping is the entry's address kept in the frame's own metadata word
// (no allocation, the seed's `direct`); more live in a small hash set whose
// slot each entry records in its own ignored bits, so that removal is O(1).
#ifndef UMBRA_RMAP_H
#define UMBRA_RMAP_H

#include "frame.h"

// Shadow entries are named by their host-physical address (below 4 GiB,
// 4-byte aligned), so a reverse-map entry is 4 bytes.
typedef u32 spte_ref_t;

// Bits 9-11 of a present shadow PTE or PDE, which the CPU ignores, belong to
// the reverse map while the entry is in one: which of its two buckets holds
// it (bit 11) and where in the bucket (bits 9-10). Code that rewrites such an
// entry keeps them; code that installs one writes the entry first and then
// calls rmap_add, which sets them.
#define RMAP_SPTE_BITS 0xE00u
// Where a shadow entry sits in its frame's reverse-map set, from those bits:
// which of its two buckets, and which of the bucket's four slots.
static inline u32 rmap_spte_bucket(u32 spte) { return (spte >> 11) & 1; }
static inline u32 rmap_spte_slot(u32 spte) { return (spte >> 9) & 3; }

// The largest set: 2^19 words (a directory frame and 512 leaf frames),
// which holds up to 491,520 entries. Past RMAP_RECYCLE_AT, a frame whose
// map cannot grow has its mappings dropped rather than the fault failed.
#define RMAP_MAX_ORDER 19
#define RMAP_RECYCLE_AT 65536

struct rmap_stats {
	u64 sets;         // sets in use
	u64 bytes;        // their size
	u64 set_frames;   // frames holding sets
	u64 adds, removes;
	u64 kicks;        // entries moved to their other bucket
	u64 stuck;        // adds that found no room after the most moves allowed
	u64 resizes;      // sets rebuilt larger or smaller
};
extern struct rmap_stats rmap_stats;

// Record that the entry at ref (already written, naming hfn) maps hfn, or
// forget it (the entry still intact). Remove is O(1): it reads the entry's
// slot from its bits. Add is O(1) expected, amortized over the rebuilds that
// keep the set between 1/8 and 15/16 full; it returns false when no memory
// could be had, and then nothing changed (the caller must not keep the entry).
bool rmap_add_more(hfn_t hfn, spte_ref_t ref);
void rmap_remove(hfn_t hfn, spte_ref_t ref);
// Is ref in hfn's reverse map, at the slot its bits name? O(1).
bool rmap_holds(hfn_t hfn, spte_ref_t ref);
u32 rmap_count(hfn_t hfn);
// Forget every entry of hfn at once (the caller has cleared the entries).
void rmap_clear(hfn_t hfn);
// Check hfn's set against itself: the header's count, and every entry's bits
// against its slot and its two buckets. Returns the number of faults found.
u32 rmap_check(hfn_t hfn);

// Iterate over hfn's entries in O(entries); the body may not change hfn's map.
struct rmap_iter {
	u32 table; // 0: one entry, already returned
	u32 order;
	u32 i;
};
bool rmap_first(hfn_t hfn, struct rmap_iter *it, spte_ref_t *ref);
bool rmap_next(struct rmap_iter *it, spte_ref_t *ref);
#define for_each_rmap(hfn, it, ref) \
	for (bool ok_ = rmap_first(hfn, it, ref); ok_; ok_ = rmap_next(it, ref))

// Extra bytes the reverse map of hfn costs beyond its metadata word.
u32 rmap_bytes(hfn_t hfn);

static inline u32 *spte_ptr(spte_ref_t ref)
{
	return hpa_ptr(ref);
}

// The first mapping, the common case of every fill, inline.
static inline bool rmap_add(hfn_t hfn, spte_ref_t ref)
{
	struct frame *f = frame_of(hfn);
	if (f->rmap || !ref || (ref & 3))
		return rmap_add_more(hfn, ref);
	f->rmap = ref;
	rmap_stats.adds++;
	return true;
}

#endif

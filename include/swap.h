// Swap (mm/, pure C): guest frames written to a backing store, freed, and
// read back when something touches them. umbra holds guest memory to a
// limit (mem_limit=MIB); above it, a clock over host frames picks victims
// by the Accessed bits of their shadow entries, harvested through each
// frame's reverse map, and evicts them: every shadow entry goes (reverse
// map), the page goes to a slot of the store, and every gpmap entry that
// named the frame (one per leaf: clones share frames by gfn) names the
// slot instead. A fault on such an entry reads it back into a fresh frame,
// which every one of those entries names again: a shared frame comes back
// shared. Shadowed guest tables are not evicted. Victims go 16 a batch,
// written with one command into slots in a row; a fault reads the slots
// after its own from the same batch with it (read-ahead). An all-zero
// victim is not written: its entries name the one zero frame.
//
// The store is a device vmm/ drives (vmm/ata.c), or a host test's array;
// mm/ sees it through struct swap_ops.
#ifndef UMBRA_SWAP_H
#define UMBRA_SWAP_H

#include "gpmap.h"

// A gpmap leaf entry with this bit names a swap slot (the low bits), not a
// host frame (host frame numbers are below 2^20).
#define GPMAP_SWAPPED 0x80000000u

static inline bool gpmap_entry_swapped(u32 e)
{
	return (e & GPMAP_SWAPPED) != 0;
}

struct swap_ops {
	// Write or read the page in slot of the store: 0, or < 0 when the
	// store failed (then nothing was changed on umbra's side).
	int (*write)(void *arg, u32 slot, const void *page);
	int (*read)(void *arg, u32 slot, void *page);
	// Optional: write or read n pages at slots first.. first+n-1, one command.
	int (*write_run)(void *arg, u32 first, u32 n, const void *const *pages);
	int (*read_run)(void *arg, u32 first, u32 n, void *const *pages);
	void *arg;
	u64 (*now)(void); // a clock for the figures below (cycles), or NULL
};

enum swap_failure {
	SWAP_OK,
	SWAP_NO_STORE,     // over the limit, and no store to evict to
	SWAP_FULL,         // every slot holds a page
	SWAP_WRITE_ERROR,  // the store failed a write
	SWAP_NOTHING,      // no frame could be evicted (all in use as tables, or just referenced)
};

struct swap_stats {
	u64 evictions;     // frames written out and freed
	u64 faultins;      // frames read back on a fault
	u64 readahead;     // ... and read with them (slots after theirs, same batch)
	u64 batches;       // eviction rounds (one TLB flush request per VM each)
	u64 runs;          // ... whose pages went to the store in one command
	u64 scanned;       // frames the clock looked at
	u64 referenced;    // ... of which had been accessed since the last look
	u64 write_errors, read_errors;
	u64 refused;       // make-room calls that could not get under the limit
	u64 zero_pages;    // evicted frames that were all zeros: now the zero frame, no disk write
	u64 capped;        // guest frames refused: over the limit by SWAP_SLACK
	// With a clock: time spent evicting (the clock's choice, the unmapping,
	// the write), unmapping through reverse maps, and, every 64th eviction,
	// what a scan of every shadow table would have cost instead.
	u64 evict_cycles, unmap_cycles, scan_cycles, scans;
	enum swap_failure last_failure;
};
extern struct swap_stats swap_stats;

// The limit on guest frames all VMs together hold; 0: none. Work under way
// may take guests over it by up to SWAP_SLACK frames when nothing can be
// swapped out at once; beyond that, a guest frame is refused to the VM that
// asks (swap_frame_alloc), which stops for want of memory.
extern u64 swap_limit_frames;
#define SWAP_SLACK 64

// Attach a store of nslots pages; its slot counts take frames of umbra's
// (false: not enough memory for them).
bool swap_attach(const struct swap_ops *ops, u32 nslots);
// Give the store back (every slot free): host tests, between runs.
void swap_detach(void);
// The zero frame (made by swap_zero_init, which swap_attach calls too):
// every all-zero guest page evicted becomes a reference to it. 0: none.
extern hfn_t swap_zero_hfn;
bool swap_zero_init(void);
// Guest pages that are the zero frame now (its references but umbra's own).
u32 swap_zero_refs(void);
u32 swap_slots(void);
u32 swap_slots_used(void);
const char *swap_failure_name(enum swap_failure f);

// At a point where no guest frame is in use by umbra's own code (before a
// shadow fault is handled, an instruction emulated, a clone made): evict
// until want more guest frames fit under the limit. 0, or -ERR_NOMEM when
// that was not possible (swap_stats.last_failure says why).
int swap_make_room(u32 want);

// A guest frame for owner (gpmap.c, swap_in), or 0: none free, or guests
// over the limit by SWAP_SLACK already (the VM that asked is the one that
// stops, for want of memory).
hfn_t swap_frame_alloc(u16 owner);
// Slot references, for gpmap.c: a leaf copied or dropped.
void swap_slot_get(u32 slot);
void swap_slot_put(u32 slot);
// For gpmap.c: read gfn's page back from the slot its entry names, into a
// fresh frame that every gpmap naming that slot at gfn then names. The
// frame, or 0 with *err (-ERR_NOMEM, -ERR_IO).
hfn_t swap_in(struct gpmap *m, gfn_t gfn, u32 entry, int *err);
// Evict one guest frame now (the clock's choice aside): for tests and the
// console. 0, or < 0 (not evictable, store full, write error).
int swap_out(hfn_t hfn);
// For mm/ (swap.c, dedup.c): can guest frame h be moved out of the maps
// (every reference a leaf entry at its gfn; not a shadowed table, the zero
// frame or a merged one)? And every leaf entry of every map holding e at
// gfn, each leaf once, set to set_to unless that is 0: how many.
bool swap_frame_movable(hfn_t h);
// Is the page all zeros (then it needs no disk: the zero frame stands for it)?
bool swap_page_zero(const void *page);
u32 swap_holders(gfn_t gfn, u32 e, u32 set_to);
// Movable frame h's pages become into's (the zero frame, or a frame of the
// same bytes): its mappings go through its reverse map, every leaf that
// named it names into, its references move there, and h is freed.
void swap_repoint(hfn_t h, hfn_t into);

#endif

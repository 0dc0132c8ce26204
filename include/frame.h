// Host frames: one metadata record per frame, indexed by frame number.
#ifndef UMBRA_FRAME_H
#define UMBRA_FRAME_H

#include "mm.h"

enum frame_type {
	FRAME_RESERVED = 0, // firmware, umbra's image, modules: never handed out
	FRAME_FREE,
	FRAME_GUEST,        // guest-physical memory of a VM
	FRAME_SHADOW,       // a shadow page table or directory
	FRAME_GPMAP,        // a leaf of a guest-physical map
	FRAME_VMM,          // umbra's own (the backends' control blocks, ...)
	FRAME_RMAP,         // reverse-map sets
	FRAME_NR_TYPES
};

// Invariants: count is 0 exactly when type is FRAME_FREE or FRAME_RESERVED;
// a free frame's link holds the next free frame number (0 ends the list);
// a frame in use keeps in rmap the head of its reverse map (mm/rmap.c):
// every shadow entry that maps it, 0 when none. A shadow table's frame
// keeps its descriptor's index, plus one, in sp_plus1 (mm/shadow.c). Host memory umbra
// manages lies below 4 GiB, so frame numbers and entry addresses fit 32 bits.
struct frame {
	u32 count;  // references: mappings in gpmaps, parents of a shadow table, or 1
	u8 type;    // enum frame_type
	u8 flags;   // FRAME_F_*
	u16 owner;  // VM id of a guest or shadow frame; OWNER_NONE for umbra's
	            // own; SP_SHARED (shadow.h) for a table clones share
	union {
		u32 link; // free: next free hfn
		u32 rmap; // in use: reverse-map head
	};
	union {
		u32 sp_plus1; // FRAME_SHADOW: 1 + the index of its struct sp (0: none yet)
		u32 gfn;      // FRAME_GUEST in a gpmap: the guest frame number every
		              // map that holds it holds it at (clones share by gfn)
	};
};

#define OWNER_NONE 0 // no VM: umbra's own frames

// The guest frame holds a guest page table or directory that umbra shadows:
// no shadow entry may let the guest write it (until its shadows go unsync).
#define FRAME_F_PROTECTED 0x01
// A shadow table stands (or stood, until the last went) for the guest table
// in this frame: it is not swapped out (mm/swap.c), even while unsync.
#define FRAME_F_SHADOWED 0x02
// The one frame of zeros that stands for every all-zero guest page swapped
// out (mm/swap.c): shared read-only, copied on a write, never a table.
#define FRAME_F_ZERO 0x04
// Identical guest pages, of several VMs or guest frame numbers, merged into
// this frame (mm/dedup.c): shared read-only, copied on a write, not
// swapped out; its gfn is one of them only.
#define FRAME_F_MERGED 0x08
// The auditor's mark on a frame it has looked at (ZERO/MERGED ones appear at
// several gfns); clear outside shadow_audit.
#define FRAME_F_AUDIT_SEEN 0x10
_Static_assert(sizeof(struct frame) == 16, "struct frame is 16 bytes");

extern struct frame *frame_table;
extern hfn_t frame_table_size;

static inline struct frame *frame_of(hfn_t hfn)
{
	return &frame_table[hfn];
}

// Take over a metadata table for frames [0, nframes), every frame reserved.
void frame_table_init(struct frame *table, hfn_t nframes);
// Hand frames [start, end) to the allocator.
void frame_add_free(hfn_t start, hfn_t end);
// A zeroed frame of the given type with count 1, or 0 when none is left.
hfn_t frame_alloc(enum frame_type type, u16 owner);
// Drop one reference; the frame returns to the pool when the last goes.
void frame_put(hfn_t hfn);
void frame_get(hfn_t hfn);
u64 frame_free_count(void);
u64 frame_count_of_type(enum frame_type type);
const char *frame_type_name(enum frame_type type);

#endif

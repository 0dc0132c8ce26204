// A VM's guest-physical map: guest frame number -> host frame, two levels
// (a root of 1024 leaf frames, each mapping 4 MiB), filled on first touch.
// Clones share leaves and frames copy-on-write: a leaf or a guest frame is
// the map's own only while its count is 1.
#ifndef UMBRA_GPMAP_H
#define UMBRA_GPMAP_H

#include "frame.h"

#define GPMAP_LEAF_ENTRIES 1024
#define GPMAP_ROOT_ENTRIES 1024  // 4 GiB of guest-physical space

// A write gave the map its own copy of a shared frame: the shadow repoints
// this VM's entries from old to new (mm/shadow.c). It cannot fail.
typedef void (*gpmap_moved_fn)(void *arg, gfn_t gfn, hfn_t old, hfn_t new_);

struct gpmap {
	u32 nr_frames;                  // guest memory size; gfns >= this do not exist
	u16 owner;                      // VM id stamped on the frames
	u32 populated;                  // guest frames this map allocated or copied
	gpmap_moved_fn moved;
	void *moved_arg;
	gfn_t ro_gfn;                   // a device page shown read-only beyond guest memory
	hfn_t ro_hfn;                   // (its frame, umbra's to write; 0: none shown now)
	u32 leaf[GPMAP_ROOT_ENTRIES];   // hfn of each leaf, 0 when none yet
};

struct gpmap_stats {
	u64 cow_frames;  // guest frames copied on a write
	u64 cow_leaves;  // leaves copied on a change
	u64 shares;      // maps made by sharing another
};
extern struct gpmap_stats gpmap_stats;

void gpmap_init(struct gpmap *m, u32 nr_frames, u16 owner);
// The map of VM owner (maps register by owner: mm/swap.c finds every map
// that names a frame), or NULL.
struct gpmap *gpmap_of_owner(u16 owner);
// The host frame backing gfn, or 0 when it was never touched (reads as
// zeros) or is swapped out (mm/swap.h: gpmap_resident brings it back).
// It may be shared with clones: read it, do not write it. Beyond guest
// memory, the device page shown read-only (gpmap_show_readonly), or 0.
hfn_t gpmap_lookup(const struct gpmap *m, gfn_t gfn);
// gfn's raw leaf entry: a host frame, GPMAP_SWAPPED | slot, or 0.
u32 gpmap_entry(const struct gpmap *m, gfn_t gfn);
// The host frame backing gfn, read back first if it is swapped out; 0 with
// *err 0 when never touched, or with *err < 0 (-ERR_NOMEM, -ERR_IO).
hfn_t gpmap_resident(struct gpmap *m, gfn_t gfn, int *err);
// Walk a map's resident frames: the first at or after *gfn (its number in
// *gfn) and its host frame, or 0 when there is none. Absent leaves are
// skipped whole: for (gfn_t g = 0; (h = gpmap_next(m, &g)); g++) ...
hfn_t gpmap_next(const struct gpmap *m, gfn_t *gfn);
// The same over every entry, resident or swapped out: the raw entry.
u32 gpmap_next_entry(const struct gpmap *m, gfn_t *gfn);
// The leaf entry for gfn in m's own or shared leaf, or NULL (mm/swap.c).
u32 *gpmap_entry_ptr(struct gpmap *m, gfn_t gfn);
// The host frame backing gfn, allocated and zeroed on first use, read back
// if swapped out; 0 with *err set to -ERR_FAULT (outside guest memory),
// -ERR_NOMEM or -ERR_IO. Possibly shared.
hfn_t gpmap_populate(struct gpmap *m, gfn_t gfn, int *err);
// The same, but the map's own: a shared frame is copied first (and moved is
// called). Everything that writes guest memory goes through here.
static inline hfn_t gpmap_writable(struct gpmap *m, gfn_t gfn, int *err);
// Is gfn backed by a frame this map alone holds?
bool gpmap_exclusive(const struct gpmap *m, gfn_t gfn);
// Make the empty map m share every leaf of src (and so every guest frame):
// the clone's memory, at a cost that does not depend on what src holds.
void gpmap_share(struct gpmap *m, const struct gpmap *src);
// Show frame hfn at gfn (beyond guest memory) for the shadow to map
// read-only; writes still fault, for the device to handle. hfn 0 hides it.
// The caller zaps the frame's mappings (shadow_reclaim) when it hides it.
void gpmap_show_readonly(struct gpmap *m, gfn_t gfn, hfn_t hfn);
void gpmap_destroy(struct gpmap *m);

static inline bool gpmap_contains(const struct gpmap *m, gpa_t gpa)
{
	return (gpa >> PAGE_SHIFT) < m->nr_frames;
}

hfn_t gpmap_writable_slow(struct gpmap *m, gfn_t gfn, int *err);

// Inline for the fill path: most writes find the frame already the map's own.
static inline hfn_t gpmap_writable(struct gpmap *m, gfn_t gfn, int *err)
{
	if (gfn < m->nr_frames) {
		u32 leaf = m->leaf[gfn / GPMAP_LEAF_ENTRIES];
		if (leaf && frame_of(leaf)->count == 1) {
			u32 h = ((const u32 *)hfn_ptr(leaf))[gfn % GPMAP_LEAF_ENTRIES];
			if (h && !(h & 0x80000000u) && frame_of(h)->count == 1) // not GPMAP_SWAPPED
				return h;
		}
	}
	return gpmap_writable_slow(m, gfn, err);
}

#endif

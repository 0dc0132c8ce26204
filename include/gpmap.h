// A VM's guest-physical map: guest frame number -> host frame, two levels
// (a root of 1024 leaf frames, each mapping 4 MiB), filled on first touch.
#ifndef UMBRA_GPMAP_H
#define UMBRA_GPMAP_H

#include "mm.h"

#define GPMAP_LEAF_ENTRIES 1024
#define GPMAP_ROOT_ENTRIES 1024  // 4 GiB of guest-physical space

struct gpmap {
	u32 nr_frames;                  // guest memory size; gfns >= this do not exist
	u16 owner;                      // VM id stamped on the frames
	u32 populated;                  // guest frames allocated so far
	u32 leaf[GPMAP_ROOT_ENTRIES];   // hfn of each leaf, 0 when none yet
};

void gpmap_init(struct gpmap *m, u32 nr_frames, u16 owner);
// The host frame backing gfn, or 0 when it was never touched (reads as zeros).
hfn_t gpmap_lookup(const struct gpmap *m, gfn_t gfn);
// The host frame backing gfn, allocated and zeroed on first use; 0 with *err
// set to -ERR_FAULT (outside guest memory) or -ERR_NOMEM.
hfn_t gpmap_populate(struct gpmap *m, gfn_t gfn, int *err);
void gpmap_destroy(struct gpmap *m);

static inline bool gpmap_contains(const struct gpmap *m, gpa_t gpa)
{
	return (gpa >> PAGE_SHIFT) < m->nr_frames;
}

#endif

// Guest-physical maps (mm/, pure C): the only way a VM reaches host memory,
// so a VM can never be given a frame it does not own.
#include "frame.h"
#include "gpmap.h"
#include "lib.h"

void gpmap_init(struct gpmap *m, u32 nr_frames, u16 owner)
{
	memset(m, 0, sizeof(*m));
	m->nr_frames = nr_frames;
	m->owner = owner;
}

hfn_t gpmap_lookup(const struct gpmap *m, gfn_t gfn)
{
	if (gfn >= m->nr_frames)
		return 0;
	u32 leaf = m->leaf[gfn / GPMAP_LEAF_ENTRIES];
	if (!leaf)
		return 0;
	return ((const u32 *)hfn_ptr(leaf))[gfn % GPMAP_LEAF_ENTRIES];
}

hfn_t gpmap_populate(struct gpmap *m, gfn_t gfn, int *err)
{
	if (gfn >= m->nr_frames) {
		*err = -ERR_FAULT;
		return 0;
	}
	u32 *leafp = &m->leaf[gfn / GPMAP_LEAF_ENTRIES];
	if (!*leafp) {
		hfn_t leaf = frame_alloc(FRAME_GPMAP, m->owner);
		if (!leaf) {
			*err = -ERR_NOMEM;
			return 0;
		}
		*leafp = (u32)leaf;
	}
	u32 *slot = &((u32 *)hfn_ptr(*leafp))[gfn % GPMAP_LEAF_ENTRIES];
	if (!*slot) {
		hfn_t hfn = frame_alloc(FRAME_GUEST, m->owner);
		if (!hfn) {
			*err = -ERR_NOMEM;
			return 0;
		}
		*slot = (u32)hfn;
		m->populated++;
	}
	return *slot;
}

void gpmap_destroy(struct gpmap *m)
{
	for (u32 i = 0; i < GPMAP_ROOT_ENTRIES; i++) {
		if (!m->leaf[i])
			continue;
		u32 *leaf = hfn_ptr(m->leaf[i]);
		for (u32 j = 0; j < GPMAP_LEAF_ENTRIES; j++)
			if (leaf[j])
				frame_put(leaf[j]);
		frame_put(m->leaf[i]);
		m->leaf[i] = 0;
	}
	m->populated = 0;
}

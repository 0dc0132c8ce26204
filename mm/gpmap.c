// Guest-physical maps (mm/, pure C): the only way a VM reaches host memory,
// so a VM can never be given a frame it does not own. Sharing is two-level:
// a clone shares the parent's leaves (count raised on each leaf); changing a
// shared leaf copies it, raising the count of every frame it names; writing
// a frame whose count is above 1 copies the frame.
#include "frame.h"
#include "gpmap.h"
#include "lib.h"

struct gpmap_stats gpmap_stats;

void gpmap_init(struct gpmap *m, u32 nr_frames, u16 owner)
{
	memset(m, 0, sizeof(*m));
	m->nr_frames = nr_frames;
	m->owner = owner;
}

hfn_t gpmap_lookup(const struct gpmap *m, gfn_t gfn)
{
	if (gfn >= m->nr_frames)
		return gfn == m->ro_gfn ? m->ro_hfn : 0;
	u32 leaf = m->leaf[gfn / GPMAP_LEAF_ENTRIES];
	if (!leaf)
		return 0;
	return ((const u32 *)hfn_ptr(leaf))[gfn % GPMAP_LEAF_ENTRIES];
}

hfn_t gpmap_next(const struct gpmap *m, gfn_t *gfn)
{
	gfn_t g = *gfn;
	while (g < m->nr_frames) {
		gfn_t end = (g / GPMAP_LEAF_ENTRIES + 1) * GPMAP_LEAF_ENTRIES;
		if (end > m->nr_frames)
			end = m->nr_frames;
		u32 leaf = m->leaf[g / GPMAP_LEAF_ENTRIES];
		if (leaf) {
			const u32 *e = hfn_ptr(leaf);
			for (; g < end; g++) {
				if (e[g % GPMAP_LEAF_ENTRIES]) {
					*gfn = g;
					return e[g % GPMAP_LEAF_ENTRIES];
				}
			}
		}
		g = end;
	}
	return 0;
}

bool gpmap_exclusive(const struct gpmap *m, gfn_t gfn)
{
	if (gfn >= m->nr_frames)
		return false;
	u32 leaf = m->leaf[gfn / GPMAP_LEAF_ENTRIES];
	if (!leaf || frame_of(leaf)->count != 1)
		return false;
	u32 hfn = ((const u32 *)hfn_ptr(leaf))[gfn % GPMAP_LEAF_ENTRIES];
	return hfn && frame_of(hfn)->count == 1;
}

// The slot for gfn in a leaf the map alone holds (made or copied), or NULL.
static u32 *own_slot(struct gpmap *m, gfn_t gfn, int *err)
{
	u32 *leafp = &m->leaf[gfn / GPMAP_LEAF_ENTRIES];
	if (!*leafp || frame_of(*leafp)->count > 1) {
		hfn_t leaf = frame_alloc(FRAME_GPMAP, m->owner);
		if (!leaf) {
			*err = -ERR_NOMEM;
			return NULL;
		}
		if (*leafp) {
			u32 *to = hfn_ptr(leaf);
			memcpy(to, hfn_ptr(*leafp), PAGE_SIZE);
			for (u32 i = 0; i < GPMAP_LEAF_ENTRIES; i++)
				if (to[i])
					frame_get(to[i]);
			frame_put(*leafp);
			gpmap_stats.cow_leaves++;
		}
		*leafp = (u32)leaf;
	}
	return &((u32 *)hfn_ptr(*leafp))[gfn % GPMAP_LEAF_ENTRIES];
}

hfn_t gpmap_populate(struct gpmap *m, gfn_t gfn, int *err)
{
	if (gfn >= m->nr_frames) {
		*err = -ERR_FAULT;
		return 0;
	}
	hfn_t hfn = gpmap_lookup(m, gfn);
	if (hfn)
		return hfn;
	u32 *slot = own_slot(m, gfn, err);
	if (!slot)
		return 0;
	hfn = frame_alloc(FRAME_GUEST, m->owner);
	if (!hfn) {
		*err = -ERR_NOMEM;
		return 0;
	}
	*slot = (u32)hfn;
	m->populated++;
	return hfn;
}

hfn_t gpmap_writable_slow(struct gpmap *m, gfn_t gfn, int *err)
{
	hfn_t hfn = gpmap_populate(m, gfn, err);
	if (!hfn)
		return 0;
	u32 *slot = own_slot(m, gfn, err);
	if (!slot)
		return 0;
	hfn_t old = *slot;
	if (frame_of(old)->count == 1)
		return old;
	hfn_t copy = frame_alloc(FRAME_GUEST, m->owner);
	if (!copy) {
		*err = -ERR_NOMEM;
		return 0;
	}
	memcpy(hfn_ptr(copy), hfn_ptr(old), PAGE_SIZE);
	// A shadowed guest table stays protected in the copy: the writer's
	// shadows of it learn of the write from the fault that follows.
	frame_of(copy)->flags = frame_of(old)->flags;
	*slot = (u32)copy;
	m->populated++;
	gpmap_stats.cow_frames++;
	if (m->moved)
		m->moved(m->moved_arg, gfn, old, copy);
	frame_put(old);
	return copy;
}

void gpmap_share(struct gpmap *m, const struct gpmap *src)
{
	ASSERT(m->nr_frames == src->nr_frames);
	for (u32 i = 0; i < GPMAP_ROOT_ENTRIES; i++) {
		ASSERT(!m->leaf[i]);
		if (src->leaf[i]) {
			frame_get(src->leaf[i]);
			m->leaf[i] = src->leaf[i];
		}
	}
	gpmap_stats.shares++;
}

void gpmap_show_readonly(struct gpmap *m, gfn_t gfn, hfn_t hfn)
{
	ASSERT(gfn >= m->nr_frames);
	m->ro_gfn = gfn;
	m->ro_hfn = hfn;
}

void gpmap_destroy(struct gpmap *m)
{
	for (u32 i = 0; i < GPMAP_ROOT_ENTRIES; i++) {
		if (!m->leaf[i])
			continue;
		if (frame_of(m->leaf[i])->count == 1) {
			u32 *leaf = hfn_ptr(m->leaf[i]);
			for (u32 j = 0; j < GPMAP_LEAF_ENTRIES; j++)
				if (leaf[j])
					frame_put(leaf[j]);
		}
		frame_put(m->leaf[i]);
		m->leaf[i] = 0;
	}
	m->populated = 0;
}

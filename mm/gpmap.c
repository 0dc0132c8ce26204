// Guest-physical maps (mm/, pure C): the only way a VM reaches host memory,
// so a VM can never be given a frame it does not own. Sharing is two-level:
// a clone shares the parent's leaves (count raised on each leaf); changing a
// shared leaf copies it, raising the count of every frame it names; writing
// a frame whose count is above 1 copies the frame.
#include "frame.h"
#include "gpmap.h"
#include "lib.h"
#include "swap.h"

struct gpmap_stats gpmap_stats;
static struct gpmap *by_owner[MAX_VMS];

void gpmap_init(struct gpmap *m, u32 nr_frames, u16 owner)
{
	memset(m, 0, sizeof(*m));
	m->nr_frames = nr_frames;
	m->owner = owner;
	if (owner < MAX_VMS)
		by_owner[owner] = m;
}

struct gpmap *gpmap_of_owner(u16 owner)
{
	return owner < MAX_VMS ? by_owner[owner] : NULL;
}

u32 gpmap_entry(const struct gpmap *m, gfn_t gfn)
{
	if (gfn >= m->nr_frames)
		return 0;
	u32 leaf = m->leaf[gfn / GPMAP_LEAF_ENTRIES];
	if (!leaf)
		return 0;
	return ((const u32 *)hfn_ptr(leaf))[gfn % GPMAP_LEAF_ENTRIES];
}

u32 *gpmap_entry_ptr(struct gpmap *m, gfn_t gfn)
{
	if (gfn >= m->nr_frames || !m->leaf[gfn / GPMAP_LEAF_ENTRIES])
		return NULL;
	return &((u32 *)hfn_ptr(m->leaf[gfn / GPMAP_LEAF_ENTRIES]))[gfn % GPMAP_LEAF_ENTRIES];
}

hfn_t gpmap_lookup(const struct gpmap *m, gfn_t gfn)
{
	if (gfn >= m->nr_frames)
		return gfn == m->ro_gfn ? m->ro_hfn : 0;
	u32 e = gpmap_entry(m, gfn);
	return gpmap_entry_swapped(e) ? 0 : e;
}

hfn_t gpmap_resident(struct gpmap *m, gfn_t gfn, int *err)
{
	*err = 0;
	if (gfn >= m->nr_frames)
		return gfn == m->ro_gfn ? m->ro_hfn : 0;
	u32 e = gpmap_entry(m, gfn);
	return gpmap_entry_swapped(e) ? swap_in(m, gfn, e, err) : e;
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
				if (e[g % GPMAP_LEAF_ENTRIES] && !gpmap_entry_swapped(e[g % GPMAP_LEAF_ENTRIES])) {
					*gfn = g;
					return e[g % GPMAP_LEAF_ENTRIES];
				}
			}
		}
		g = end;
	}
	return 0;
}

u32 gpmap_next_entry(const struct gpmap *m, gfn_t *gfn)
{
	for (gfn_t g = *gfn; g < m->nr_frames; g++) {
		if (!m->leaf[g / GPMAP_LEAF_ENTRIES]) {
			g = (g / GPMAP_LEAF_ENTRIES + 1) * GPMAP_LEAF_ENTRIES - 1;
			continue;
		}
		u32 e = gpmap_entry(m, g);
		if (e) {
			*gfn = g;
			return e;
		}
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
	return hfn && !gpmap_entry_swapped(hfn) && frame_of(hfn)->count == 1;
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
			for (u32 i = 0; i < GPMAP_LEAF_ENTRIES; i++) {
				if (gpmap_entry_swapped(to[i]))
					swap_slot_get(to[i] & ~GPMAP_SWAPPED);
				else if (to[i])
					frame_get(to[i]);
			}
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
	u32 e = gpmap_entry(m, gfn);
	if (gpmap_entry_swapped(e))
		return swap_in(m, gfn, e, err);
	if (e)
		return e;
	u32 *slot = own_slot(m, gfn, err);
	if (!slot)
		return 0;
	hfn_t hfn = swap_frame_alloc(m->owner);
	if (!hfn) {
		*err = -ERR_NOMEM;
		return 0;
	}
	frame_of(hfn)->gfn = gfn;
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
	hfn_t copy = swap_frame_alloc(m->owner);
	if (!copy) {
		*err = -ERR_NOMEM;
		return 0;
	}
	memcpy(hfn_ptr(copy), hfn_ptr(old), PAGE_SIZE);
	// A shadowed guest table stays protected in the copy: the writer's
	// shadows of it learn of the write from the fault that follows.
	frame_of(copy)->flags = frame_of(old)->flags & ~(FRAME_F_ZERO | FRAME_F_MERGED);
	frame_of(copy)->gfn = gfn;
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
			for (u32 j = 0; j < GPMAP_LEAF_ENTRIES; j++) {
				if (gpmap_entry_swapped(leaf[j]))
					swap_slot_put(leaf[j] & ~GPMAP_SWAPPED);
				else if (leaf[j])
					frame_put(leaf[j]);
			}
		}
		frame_put(m->leaf[i]);
		m->leaf[i] = 0;
	}
	m->populated = 0;
	if (m->owner < MAX_VMS && by_owner[m->owner] == m)
		by_owner[m->owner] = NULL;
}

// Deduplication (mm/, pure C), as KSM does it but with umbra's reverse maps
// doing the work KSM needs its rmap_items for: every guest frame that can
// move (swap_frame_movable) is hashed; a frame with the same bytes as one
// seen before (hash, then a byte compare) is merged into it: its mappings
// go through its reverse map, every gpmap leaf that named it names the
// other, which becomes read-only everywhere (FRAME_F_MERGED) and is copied
// by the first VM that writes it, as any shared frame. An all-zero frame is
// merged into the zero frame (mm/swap.c). Merged frames are not swapped out.
#include "dedup.h"
#include "frame.h"
#include "lib.h"
#include "shadow.h"
#include "shadow_int.h"
#include "swap.h"

struct dedup_stats dedup_stats;

#define SLOTS_PER_FRAME (PAGE_SIZE / sizeof(struct slot))
#define MAX_TABLE_FRAMES 4096

struct slot {
	u64 hash; // 0: empty (a page whose hash is 0 is taken as 1)
	u32 hfn;
	u32 pad;
};

static hfn_t table[MAX_TABLE_FRAMES];
static u32 table_frames, mask;

static struct slot *slot_at(u32 i)
{
	return (struct slot *)hfn_ptr(table[i / SLOTS_PER_FRAME]) + i % SLOTS_PER_FRAME;
}

// FNV-1a over the page's 64-bit words: a page's fingerprint.
static u64 page_hash(const void *p)
{
	const u64 *w = p;
	u64 h = 0xCBF29CE484222325ull;
	for (u32 i = 0; i < PAGE_SIZE / 8; i++)
		h = (h ^ w[i]) * 0x100000001B3ull;
	return h ? h : 1;
}

// h's pages become into's: shared, read-only, h freed.
static void merge(hfn_t into, hfn_t h)
{
	shadow_clear_bits(NULL, into, PTE_W);
	swap_repoint(h, into);
	if (!(frame_of(into)->flags & FRAME_F_ZERO))
		frame_of(into)->flags |= FRAME_F_MERGED;
	dedup_stats.merged++;
}

static bool table_alloc(u64 candidates)
{
	u64 want = 2 * candidates + 2, slots = SLOTS_PER_FRAME;
	while (slots < want)
		slots *= 2;
	table_frames = (u32)(slots / SLOTS_PER_FRAME);
	if (table_frames > MAX_TABLE_FRAMES)
		return false;
	for (u32 i = 0; i < table_frames; i++) {
		if (!(table[i] = frame_alloc(FRAME_VMM, OWNER_NONE))) {
			while (i--)
				frame_put(table[i]);
			return false;
		}
	}
	mask = (u32)slots - 1;
	return true;
}

static void table_free(void)
{
	for (u32 i = 0; i < table_frames; i++)
		frame_put(table[i]);
	table_frames = 0;
}

int dedup_run(void)
{
	u64 candidates = frame_count_of_type(FRAME_GUEST);
	if (!table_alloc(candidates))
		return -ERR_NOMEM;
	dedup_stats.runs++;
	u32 merged = 0;
	for (hfn_t h = 1; h < frame_table_size; h++) {
		struct frame *f = frame_of(h);
		bool target = f->type == FRAME_GUEST && (f->flags & FRAME_F_MERGED);
		if (!target && !swap_frame_movable(h))
			continue;
		dedup_stats.scanned++;
		const void *page = hfn_ptr(h);
		if (!target && swap_zero_hfn && swap_page_zero(page)) {
			merge(swap_zero_hfn, h);
			dedup_stats.zero++;
			merged++;
			continue;
		}
		u64 hash = page_hash(page);
		for (u32 i = (u32)hash & mask;; i = (i + 1) & mask) {
			struct slot *s = slot_at(i);
			if (!s->hash) {
				s->hash = hash;
				s->hfn = (u32)h;
				break;
			}
			if (s->hash != hash)
				continue;
			if (memcmp(hfn_ptr(s->hfn), page, PAGE_SIZE) != 0) {
				dedup_stats.collisions++;
				continue;
			}
			if (target) // two merged frames the same: keep both, rare
				break;
			merge(s->hfn, h);
			merged++;
			break;
		}
	}
	table_free();
	return (int)merged;
}

void dedup_count(u32 *frames, u32 *pages)
{
	*frames = *pages = 0;
	for (hfn_t h = 1; h < frame_table_size; h++) {
		const struct frame *f = frame_of(h);
		if (f->type == FRAME_GUEST && (f->flags & FRAME_F_MERGED)) {
			(*frames)++;
			*pages += f->count;
		}
	}
}

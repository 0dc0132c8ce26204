// Reverse maps (mm/, pure C). A frame's metadata word holds its head:
//   0              nothing maps the frame
//   entry address  exactly one shadow entry maps it (bit 0 clear)
//   set | 1        two or more: a cuckoo hash set of entry addresses
// A set has 2^order 4-byte words: order 2..10 is one block of 16 B..4 KiB,
// order 11..19 a directory frame naming 2^(order-10) leaf frames. Word 0
// (the header: count << 5 | order) is never a slot. Slots come in buckets of
// four; an entry lives in one of its two buckets (two hashes of its address)
// and says which, and where in it, in its own bits 9-11 (RMAP_SPTE_BITS):
// removal goes straight there. Adding takes a free slot of either bucket or
// moves a resident to its other bucket (cuckoo hashing), at most MAX_KICKS
// times; past that, or 15/16 full, the set is rebuilt twice as big. Below
// 1/8 full it is rebuilt smaller, and with one entry left that entry goes
// back into the metadata word.
#include "lib.h"
#include "rmap.h"

#define HEAD_SET 1u
#define LEAF_ORDER 10 // a frame of words
#define MAX_KICKS 48

struct rmap_stats rmap_stats;

// Blocks of orders 2..9 are carved from frames, a free list per order; a
// frame goes back once no block of its order is in use (an idle umbra holds
// none). Order 10 blocks are whole frames.
static u32 free_blocks[LEAF_ORDER];
static u32 blocks_used[LEAF_ORDER];

static u32 *words(u32 hpa)
{
	return hpa_ptr(hpa);
}

static u32 block_alloc(u32 order)
{
	if (order >= LEAF_ORDER) {
		hfn_t hfn = frame_alloc(FRAME_RMAP, 0);
		if (hfn)
			rmap_stats.set_frames++;
		return (u32)(hfn << PAGE_SHIFT);
	}
	u32 size = 4u << order;
	if (!free_blocks[order]) {
		hfn_t hfn = frame_alloc(FRAME_RMAP, 0);
		if (!hfn)
			return 0;
		rmap_stats.set_frames++;
		u32 base = (u32)(hfn << PAGE_SHIFT);
		for (u32 at = PAGE_SIZE; at > 0; at -= size) {
			words(base + at - size)[0] = free_blocks[order];
			free_blocks[order] = base + at - size;
		}
	}
	u32 b = free_blocks[order];
	free_blocks[order] = words(b)[0];
	memset(words(b), 0, size);
	blocks_used[order]++;
	return b;
}

static void block_free(u32 b, u32 order)
{
	if (order >= LEAF_ORDER) {
		frame_put(b >> PAGE_SHIFT);
		rmap_stats.set_frames--;
		return;
	}
	words(b)[0] = free_blocks[order];
	free_blocks[order] = b;
	if (--blocks_used[order])
		return;
	// No block of this order is in use: hand its frames back.
	for (u32 at = free_blocks[order]; at; at = words(at)[0]) {
		hfn_t hfn = at >> PAGE_SHIFT;
		if (frame_of(hfn)->type == FRAME_RMAP) {
			frame_put(hfn); // leaves the contents, and so this chain, intact
			rmap_stats.set_frames--;
		}
	}
	free_blocks[order] = 0;
}

static u32 set_bytes(u32 order);

static void set_free(u32 set, u32 order)
{
	if (order > LEAF_ORDER) {
		const u32 *dir = words(set);
		for (u32 k = 0; k < 1u << (order - LEAF_ORDER); k++)
			if (dir[1 + k])
				block_free(dir[1 + k], LEAF_ORDER);
	}
	block_free(set, order > LEAF_ORDER ? LEAF_ORDER : order);
	rmap_stats.sets--;
	rmap_stats.bytes -= set_bytes(order);
}

static u32 set_alloc(u32 order)
{
	u32 set = block_alloc(order > LEAF_ORDER ? LEAF_ORDER : order);
	if (!set)
		return 0;
	rmap_stats.sets++;
	rmap_stats.bytes += set_bytes(order);
	for (u32 k = 0; order > LEAF_ORDER && k < 1u << (order - LEAF_ORDER); k++) {
		if (!(words(set)[1 + k] = block_alloc(LEAF_ORDER))) {
			set_free(set, order);
			return 0;
		}
	}
	words(set)[0] = order;
	return set;
}

static u32 *word_at(u32 set, u32 order, u32 i)
{
	if (order <= LEAF_ORDER)
		return words(set) + i;
	return words(words(set)[1 + (i >> LEAF_ORDER)]) + (i & ((1u << LEAF_ORDER) - 1));
}

static u32 slots(u32 order)
{
	return (1u << order) - 1;
}

// The most entries a set of this order is filled with.
static u32 max_fill(u32 order)
{
	return slots(order) - slots(order) / 16;
}

// Two independent hashes of the entry's address pick its buckets.
static u32 bucket_of(spte_ref_t ref, u32 order, u32 which)
{
	if (order == 2)
		return 0;
	u32 x = ref >> 2;
	u32 h;
	if (which) {
		h = (x ^ (x >> 15)) * 0x85EBCA6Bu;
		h = (h ^ (h >> 13)) * 0xC2B2AE35u;
	} else {
		h = x * 0x9E3779B1u;
	}
	return h >> (34 - order);
}

static void stamp(spte_ref_t ref, u32 which, u32 j)
{
	u32 *e = spte_ptr(ref);
	*e = (*e & ~RMAP_SPTE_BITS) | which << 11 | j << 9;
}

// Give the entry at word i the bits that say so.
static void stamp_at(u32 set, u32 order, u32 i)
{
	spte_ref_t ref = *word_at(set, order, i);
	stamp(ref, bucket_of(ref, order, 0) == i / 4 ? 0 : 1, i % 4);
}

static u32 *slot_of(u32 set, u32 order, spte_ref_t ref)
{
	u32 e = *spte_ptr(ref);
	return word_at(set, order, 4 * bucket_of(ref, order, rmap_spte_bucket(e)) + rmap_spte_slot(e));
}

// Put ref into the set. False when MAX_KICKS moves found no room; the set
// is then as it was, its entries' bits too.
static bool place(u32 set, u32 order, spte_ref_t ref)
{
	struct {
		u32 i;
		spte_ref_t was;
	} path[MAX_KICKS];
	static u32 seed = 0x2545F491u;
	spte_ref_t cur = ref;
	for (u32 k = 0;; k++) {
		for (u32 w = 0; w < 2; w++) {
			u32 b = bucket_of(cur, order, w);
			for (u32 j = b == 0; j < 4; j++) { // word 0 is the header
				u32 *slot = word_at(set, order, 4 * b + j);
				if (!*slot) {
					*slot = cur;
					stamp(cur, w, j);
					return true;
				}
			}
		}
		if (k == MAX_KICKS)
			break;
		// Both buckets full: take a resident's slot; it tries its other
		// bucket next.
		seed = seed * 1103515245u + 12345u;
		u32 w = (seed >> 16) & 1;
		u32 b = bucket_of(cur, order, w);
		u32 j = b == 0 ? 1 + (seed >> 17) % 3 : (seed >> 17) & 3;
		u32 *slot = word_at(set, order, 4 * b + j);
		path[k].i = 4 * b + j;
		path[k].was = *slot;
		*slot = cur;
		stamp(cur, w, j);
		cur = path[k].was;
		rmap_stats.kicks++;
	}
	rmap_stats.stuck++;
	for (u32 k = MAX_KICKS; k-- > 0;) {
		*word_at(set, order, path[k].i) = path[k].was;
		stamp_at(set, order, path[k].i);
	}
	return false;
}

// Move f's set (and extra, unless 0) into a new set of the smallest order
// from `order` on that takes them. False when no memory could be had: the
// old set stands, its entries' bits as they were.
static bool rebuild(struct frame *f, u32 order, spte_ref_t extra)
{
	u32 old = f->rmap & ~HEAD_SET;
	u32 old_order = words(old)[0] & 31, count = (words(old)[0] >> 5) + (extra != 0);
	bool moved = false; // entries' bits name a set that was given up
	for (; order <= RMAP_MAX_ORDER; order++) {
		if (count > max_fill(order))
			continue;
		u32 set = set_alloc(order);
		if (!set)
			break;
		moved = true;
		bool ok = !extra || place(set, order, extra);
		for (u32 i = 1; ok && i < 1u << old_order; i++) {
			spte_ref_t e = *word_at(old, old_order, i);
			ok = !e || place(set, order, e);
		}
		if (ok) {
			words(set)[0] = count << 5 | order;
			set_free(old, old_order);
			f->rmap = set | HEAD_SET;
			rmap_stats.resizes++;
			return true;
		}
		set_free(set, order);
	}
	for (u32 i = 1; moved && i < 1u << old_order; i++)
		if (*word_at(old, old_order, i))
			stamp_at(old, old_order, i);
	return false;
}

bool rmap_add_more(hfn_t hfn, spte_ref_t ref)
{
	struct frame *f = frame_of(hfn);
	ASSERT(ref && !(ref & 3));
	if (!f->rmap) {
		f->rmap = ref;
	} else if (!(f->rmap & HEAD_SET)) {
		u32 set = set_alloc(2);
		if (!set)
			return false;
		place(set, 2, f->rmap); // one bucket of three free slots
		place(set, 2, ref);
		words(set)[0] = 2 << 5 | 2;
		f->rmap = set | HEAD_SET;
	} else {
		u32 set = f->rmap & ~HEAD_SET;
		u32 order = words(set)[0] & 31;
		if ((words(set)[0] >> 5) < max_fill(order) && place(set, order, ref))
			words(set)[0] += 1 << 5;
		else if (!rebuild(f, order + 1, ref))
			return false;
	}
	rmap_stats.adds++;
	return true;
}

void rmap_remove(hfn_t hfn, spte_ref_t ref)
{
	struct frame *f = frame_of(hfn);
	rmap_stats.removes++;
	if (!(f->rmap & HEAD_SET)) {
		ASSERT(f->rmap == ref);
		f->rmap = 0;
		return;
	}
	u32 set = f->rmap & ~HEAD_SET;
	u32 order = words(set)[0] & 31;
	u32 *slot = slot_of(set, order, ref);
	ASSERT(*slot == ref);
	*slot = 0;
	u32 count = (words(set)[0] -= 1 << 5) >> 5;
	if (count == 1) {
		// Back to one mapping: back into the metadata word. The set is
		// small here (it shrank on the way down), so the search is short.
		for (u32 i = 1; i < 1u << order; i++) {
			spte_ref_t e = *word_at(set, order, i);
			if (e) {
				stamp(e, 0, 0);
				f->rmap = e;
			}
		}
		set_free(set, order);
	} else if (count < slots(order) / 8) {
		u32 want = 2;
		while (count * 2 > slots(want))
			want++;
		(void)rebuild(f, want, 0); // for iteration's sake: without memory, stay
	}
}

bool rmap_holds(hfn_t hfn, spte_ref_t ref)
{
	u32 head = frame_of(hfn)->rmap;
	if (!(head & HEAD_SET))
		return head && head == ref;
	u32 set = head & ~HEAD_SET;
	return *slot_of(set, words(set)[0] & 31, ref) == ref;
}

u32 rmap_count(hfn_t hfn)
{
	u32 head = frame_of(hfn)->rmap;
	if (!(head & HEAD_SET))
		return head != 0;
	return words(head & ~HEAD_SET)[0] >> 5;
}

u32 rmap_check(hfn_t hfn)
{
	u32 head = frame_of(hfn)->rmap;
	if (!(head & HEAD_SET))
		return head & 3 ? 1 : 0;
	u32 set = head & ~HEAD_SET, faults = 0, n = 0;
	u32 order = words(set)[0] & 31;
	if (order < 2 || order > RMAP_MAX_ORDER)
		return 1;
	for (u32 i = 1; i < 1u << order; i++) {
		spte_ref_t e = *word_at(set, order, i);
		if (!e)
			continue;
		n++;
		if (slot_of(set, order, e) != word_at(set, order, i))
			faults++;
	}
	if (n != words(set)[0] >> 5 || n < 2)
		faults++;
	return faults;
}

void rmap_clear(hfn_t hfn)
{
	struct frame *f = frame_of(hfn);
	rmap_stats.removes += rmap_count(hfn);
	if (f->rmap & HEAD_SET)
		set_free(f->rmap & ~HEAD_SET, words(f->rmap & ~HEAD_SET)[0] & 31);
	f->rmap = 0;
}

bool rmap_first(hfn_t hfn, struct rmap_iter *it, spte_ref_t *ref)
{
	u32 head = frame_of(hfn)->rmap;
	it->table = 0;
	if (!(head & HEAD_SET)) {
		*ref = head;
		return head != 0;
	}
	it->table = head & ~HEAD_SET;
	it->order = words(it->table)[0] & 31;
	it->i = 0;
	return rmap_next(it, ref);
}

bool rmap_next(struct rmap_iter *it, spte_ref_t *ref)
{
	if (!it->table)
		return false;
	while (++it->i < 1u << it->order) {
		spte_ref_t e = *word_at(it->table, it->order, it->i);
		if (e) {
			*ref = e;
			return true;
		}
	}
	return false;
}

static u32 set_bytes(u32 order)
{
	if (order <= LEAF_ORDER)
		return 4u << order;
	return PAGE_SIZE * (1 + (1u << (order - LEAF_ORDER)));
}

u32 rmap_bytes(hfn_t hfn)
{
	u32 head = frame_of(hfn)->rmap;
	if (!(head & HEAD_SET))
		return 0;
	return set_bytes(words(head & ~HEAD_SET)[0] & 31);
}

// Swap (mm/, pure C): see include/swap.h for the model. Slots hold a
// reference count each (how many gpmap leaf entries name the slot) and a
// tag (the page's gfn and the batch that wrote it, for read-ahead), in
// frames of umbra's; a free slot's count is 0. The clock's hand moves over
// host frame numbers.
#include "frame.h"
#include "lib.h"
#include "shadow.h"
#include "shadow_int.h"
#include "swap.h"

#define SLOTS_PER_FRAME PAGE_SIZE // one byte of count a slot (a leaf per VM at most)
#define EVICT_BATCH 16

struct swap_stats swap_stats;
u64 swap_limit_frames;
hfn_t swap_zero_hfn;

static struct swap_ops ops;
static u32 nslots, used, cursor;
static hfn_t count_frames[64]; // slot counts: 64 frames x 4096 slots = 1 GiB of store
// A slot's page: its gfn (low 20 bits) and the batch that wrote it (high 12
// bits, mod 4096): read-ahead brings in the pages of the same batch.
static hfn_t tag_frames[256];
#define TAGS_PER_FRAME (PAGE_SIZE / 4)
#define READAHEAD 8
static hfn_t hand = 1;         // the clock

static u8 *count_of(u32 slot)
{
	return (u8 *)hfn_ptr(count_frames[slot / SLOTS_PER_FRAME]) + slot % SLOTS_PER_FRAME;
}

static u32 *tag_of(u32 slot)
{
	return (u32 *)hfn_ptr(tag_frames[slot / TAGS_PER_FRAME]) + slot % TAGS_PER_FRAME;
}

static u32 tag(gfn_t gfn)
{
	return (gfn & 0xFFFFF) | (u32)(swap_stats.batches & 0xFFF) << 20;
}

bool swap_zero_init(void)
{
	if (!swap_zero_hfn && (swap_zero_hfn = frame_alloc(FRAME_GUEST, OWNER_NONE)))
		frame_of(swap_zero_hfn)->flags = FRAME_F_ZERO;
	return swap_zero_hfn != 0;
}

hfn_t swap_frame_alloc(u16 owner)
{
	if (swap_limit_frames && frame_count_of_type(FRAME_GUEST) >= swap_limit_frames + SWAP_SLACK) {
		swap_stats.capped++;
		return 0;
	}
	return frame_alloc(FRAME_GUEST, owner);
}

u32 swap_zero_refs(void)
{
	return swap_zero_hfn ? frame_of(swap_zero_hfn)->count - 1 : 0;
}

bool swap_attach(const struct swap_ops *o, u32 n)
{
	ASSERT(!nslots);
	if (!swap_zero_init())
		return false;
	n = MIN(n, (u32)(sizeof(count_frames) / sizeof(count_frames[0])) * SLOTS_PER_FRAME);
	for (u32 i = 0; i * SLOTS_PER_FRAME < n; i++) {
		if (!(count_frames[i] = frame_alloc(FRAME_VMM, OWNER_NONE))) {
			while (i--)
				frame_put(count_frames[i]);
			return false;
		}
	}
	for (u32 i = 0; i * TAGS_PER_FRAME < n; i++) {
		if (!(tag_frames[i] = frame_alloc(FRAME_VMM, OWNER_NONE))) {
			while (i--)
				frame_put(tag_frames[i]);
			for (u32 j = 0; j * SLOTS_PER_FRAME < n; j++)
				frame_put(count_frames[j]);
			return false;
		}
	}
	ops = *o;
	nslots = n;
	return true;
}

void swap_detach(void)
{
	ASSERT(!used);
	for (u32 i = 0; i * SLOTS_PER_FRAME < nslots; i++) {
		frame_put(count_frames[i]);
		count_frames[i] = 0;
	}
	for (u32 i = 0; i * TAGS_PER_FRAME < nslots; i++) {
		frame_put(tag_frames[i]);
		tag_frames[i] = 0;
	}
	nslots = cursor = 0;
	hand = 1;
	if (swap_zero_hfn) {
		ASSERT(frame_of(swap_zero_hfn)->count == 1);
		frame_put(swap_zero_hfn);
		swap_zero_hfn = 0;
	}
	memset(&ops, 0, sizeof(ops));
}

u32 swap_slots(void)
{
	return nslots;
}

u32 swap_slots_used(void)
{
	return used;
}

const char *swap_failure_name(enum swap_failure f)
{
	static const char *const names[] = {
		"none", "no swap store", "swap store full", "swap store write error",
		"no frame can be evicted",
	};
	return f <= SWAP_NOTHING ? names[f] : "?";
}

void swap_slot_get(u32 slot)
{
	ASSERT(slot < nslots && *count_of(slot) > 0 && *count_of(slot) < 255);
	(*count_of(slot))++;
}

void swap_slot_put(u32 slot)
{
	ASSERT(slot < nslots && *count_of(slot) > 0);
	if (--*count_of(slot) == 0)
		used--;
}

static bool slot_alloc(u32 *slot)
{
	if (used == nslots)
		return false;
	for (;; cursor = (cursor + 1) % nslots) {
		if (!*count_of(cursor)) {
			*slot = cursor;
			cursor = (cursor + 1) % nslots;
			used++;
			return true;
		}
	}
}

// Every leaf entry of every map that holds e at gfn, each leaf once (a
// shared leaf is one entry for all the maps that share it), set to set_to
// unless that is 0. The number of them.
u32 swap_holders(gfn_t gfn, u32 e, u32 set_to)
{
	u32 n = 0;
	for (u16 o = 0; o < MAX_VMS; o++) {
		struct gpmap *m = gpmap_of_owner(o);
		u32 *p = m ? gpmap_entry_ptr(m, gfn) : NULL;
		if (p && *p == e) {
			if (set_to)
				*p = set_to;
			n++;
		}
	}
	return n;
}

bool swap_frame_movable(hfn_t h)
{
	const struct frame *f = frame_of(h);
	if (f->type != FRAME_GUEST || (f->flags & (FRAME_F_PROTECTED | FRAME_F_SHADOWED | FRAME_F_ZERO | FRAME_F_MERGED)))
		return false;
	return swap_holders(f->gfn, (u32)h, 0) == f->count;
}

static void evict_to(hfn_t h, u32 slot);

bool swap_page_zero(const void *page)
{
	const u64 *w = page;
	for (u32 i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

void swap_repoint(hfn_t h, hfn_t into)
{
	shadow_reclaim(h, NULL, NULL);
	u32 n = swap_holders(frame_of(h)->gfn, (u32)h, (u32)into);
	for (u32 i = 0; i < n; i++) {
		frame_get(into);
		frame_put(h);
	}
}

// No disk write for an all-zero page: it becomes the zero frame.
static void to_zero(hfn_t h)
{
	swap_repoint(h, swap_zero_hfn);
	swap_stats.zero_pages++;
}

// n free slots in a row (a run does not wrap), reserved; false: none.
static bool slot_alloc_run(u32 n, u32 *first)
{
	if (used + n > nslots)
		return false;
	u32 run = 0;
	for (u32 step = 0, i = cursor; step < nslots + n; step++, i = (i + 1) % nslots) {
		if (i == 0)
			run = 0;
		if (*count_of(i)) {
			run = 0;
			continue;
		}
		if (++run == n) {
			*first = i + 1 - n;
			for (u32 j = 0; j < n; j++)
				*count_of(*first + j) = 1;
			used += n;
			cursor = (i + 1) % nslots;
			return true;
		}
	}
	return false;
}

// Evict victims (each movable): all-zero ones to the zero frame, the others
// written with one command into slots in a row when the store can, else one
// by one. 0, or < 0 when the store failed or was full (last_failure).
static int swap_out_batch(const hfn_t *v, u32 n)
{
	hfn_t disk[EVICT_BATCH];
	const void *pages[EVICT_BATCH];
	u32 k = 0;
	for (u32 i = 0; i < n; i++) {
		if (swap_zero_hfn && swap_page_zero(hfn_ptr(v[i])))
			to_zero(v[i]);
		else
			disk[k++] = v[i];
	}
	u32 first;
	if (k > 1 && ops.write_run && slot_alloc_run(k, &first)) {
		for (u32 i = 0; i < k; i++)
			pages[i] = hfn_ptr(disk[i]);
		if (ops.write_run(ops.arg, first, k, pages) < 0) {
			for (u32 i = 0; i < k; i++)
				*count_of(first + i) = 0;
			used -= k;
			swap_stats.write_errors++;
			swap_stats.last_failure = SWAP_WRITE_ERROR;
			return -ERR_IO;
		}
		for (u32 i = 0; i < k; i++)
			evict_to(disk[i], first + i);
		swap_stats.runs++;
		return 0;
	}
	for (u32 i = 0; i < k; i++) {
		int r = swap_out(disk[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int swap_out(hfn_t h)
{
	if (!swap_frame_movable(h)) {
		swap_stats.last_failure = SWAP_NOTHING;
		return -ERR_INVAL;
	}
	if (swap_zero_hfn && swap_page_zero(hfn_ptr(h))) {
		to_zero(h);
		return 0;
	}
	if (!nslots) {
		swap_stats.last_failure = SWAP_NO_STORE;
		return -ERR_NOMEM;
	}
	u32 slot;
	if (!slot_alloc(&slot)) {
		swap_stats.last_failure = SWAP_FULL;
		return -ERR_NOMEM;
	}
	// Nothing runs between here and the end: write the page as it is, then
	// take every mapping (reverse map) and every gpmap entry away.
	if (ops.write(ops.arg, slot, hfn_ptr(h)) < 0) {
		used--;
		swap_stats.write_errors++;
		swap_stats.last_failure = SWAP_WRITE_ERROR;
		return -ERR_IO;
	}
	evict_to(h, slot);
	return 0;
}

// h's page is in slot: its mappings go (reverse map), every leaf that named
// it names the slot, and it is freed.
static void evict_to(hfn_t h, u32 slot)
{
	struct frame *f = frame_of(h);
	u64 t0 = ops.now ? ops.now() : 0;
	shadow_reclaim(h, NULL, NULL);
	if (ops.now) {
		u64 t1 = ops.now();
		swap_stats.unmap_cycles += t1 - t0;
		if (swap_stats.evictions % 64 == 0) {
			shadow_reclaim_scan(h); // finds nothing now: its cost is the figure
			swap_stats.scan_cycles += ops.now() - t1;
			swap_stats.scans++;
		}
	}
	u32 refs = f->count;
	*count_of(slot) = (u8)refs;
	*tag_of(slot) = tag(f->gfn);
	u32 n = swap_holders(f->gfn, (u32)h, GPMAP_SWAPPED | slot);
	ASSERT(n == refs);
	while (n--)
		frame_put(h);
	swap_stats.evictions++;
}

// The page read into h is slot's: every leaf that named the slot (at its
// gfn) names h, and the slot is free.
static void install(hfn_t h, u32 slot, gfn_t gfn)
{
	frame_of(h)->gfn = gfn;
	u32 refs = *count_of(slot);
	u32 n = swap_holders(gfn, GPMAP_SWAPPED | slot, (u32)h);
	ASSERT(n == refs);
	for (u32 i = 1; i < n; i++)
		frame_get(h);
	*count_of(slot) = 0;
	used--;
}

hfn_t swap_in(struct gpmap *m, gfn_t gfn, u32 entry, int *err)
{
	u32 slot = entry & ~GPMAP_SWAPPED;
	ASSERT(slot < nslots && *count_of(slot) > 0);
	hfn_t h[READAHEAD];
	void *pages[READAHEAD];
	if (!(h[0] = swap_frame_alloc(m->owner))) {
		*err = -ERR_NOMEM;
		return 0;
	}
	pages[0] = hfn_ptr(h[0]);
	// Read-ahead: the slots after it that the same batch wrote come in with
	// it, one command, while guest frames may be had without going over.
	u32 k = 1, batch = *tag_of(slot) >> 20;
	while (ops.read_run && k < READAHEAD && slot + k < nslots && *count_of(slot + k) &&
	       *tag_of(slot + k) >> 20 == batch &&
	       (!swap_limit_frames || frame_count_of_type(FRAME_GUEST) < swap_limit_frames) &&
	       (h[k] = swap_frame_alloc(m->owner))) {
		pages[k] = hfn_ptr(h[k]);
		k++;
	}
	int r = k > 1 ? ops.read_run(ops.arg, slot, k, pages) : ops.read(ops.arg, slot, pages[0]);
	if (r < 0) {
		for (u32 i = 0; i < k; i++)
			frame_put(h[i]);
		swap_stats.read_errors++;
		*err = -ERR_IO;
		return 0;
	}
	install(h[0], slot, gfn);
	for (u32 i = 1; i < k; i++)
		install(h[i], slot + i, *tag_of(slot + i) & 0xFFFFF);
	swap_stats.faultins++;
	swap_stats.readahead += k - 1;
	return h[0];
}

// Was frame h accessed since the clock last looked? Its shadow entries say
// (the CPU sets A in them); the bits are cleared for the next look, and
// the VMs using them flush their TLBs before they run again.
static bool harvest_accessed(hfn_t h)
{
	return shadow_clear_bits(NULL, h, PTE_A);
}

static int make_room(u32 want);

int swap_make_room(u32 want)
{
	if (!swap_limit_frames || frame_count_of_type(FRAME_GUEST) + want <= swap_limit_frames)
		return 0;
	u64 t0 = ops.now ? ops.now() : 0;
	int r = make_room(want);
	if (ops.now)
		swap_stats.evict_cycles += ops.now() - t0;
	return r;
}

static int make_room(u32 want)
{
	while (frame_count_of_type(FRAME_GUEST) + want > swap_limit_frames) {
		// One batch: EVICT_BATCH victims (fewer rounds of the clock, and
		// of TLB flushes), the clock going round at most once: a frame
		// found accessed gets its second chance until the next call, as
		// the guest runs between two calls (going round twice here would
		// take the pages an instruction is using one by one, for ever).
		hfn_t victims[EVICT_BATCH];
		u32 evicted = 0;
		u64 budget = frame_table_size;
		swap_stats.batches++;
		for (; budget && evicted < EVICT_BATCH; budget--) {
			hfn_t h = hand;
			hand = hand + 1 < frame_table_size ? hand + 1 : 1;
			if (frame_of(h)->type != FRAME_GUEST)
				continue;
			swap_stats.scanned++;
			if (harvest_accessed(h)) {
				swap_stats.referenced++;
				continue;
			}
			// (Round once, the clock may still come to a victim again.)
			bool again = false;
			for (u32 i = 0; i < evicted && !again; i++)
				again = victims[i] == h;
			if (!again && swap_frame_movable(h))
				victims[evicted++] = h;
		}
		if (evicted && swap_out_batch(victims, evicted) < 0) {
			swap_stats.refused++;
			return -ERR_NOMEM; // store full or failing: last_failure says
		}
		if (!evicted) {
			swap_stats.last_failure = SWAP_NOTHING;
			swap_stats.refused++;
			return -ERR_NOMEM;
		}
	}
	return 0;
}

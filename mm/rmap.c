// Reverse maps (mm/, pure C). A frame's metadata word holds its head:
//   0                 nothing maps the frame
//   spte address      exactly one shadow PTE maps it (bit 0 clear)
//   block address | 1 a chain of 64-byte blocks; only the first may be
//                     partly filled, the others hold 15 entries each
// Blocks come from frames carved 64 at a time; when no block is in use the
// frames go back to the allocator, so an idle umbra holds none.
#include "lib.h"
#include "rmap.h"

#define HEAD_BLOCKS 1u
#define NEXT_COUNT_MASK 0xFu
#define BLOCKS_PER_FRAME (PAGE_SIZE / sizeof(struct rmap_block))

struct rmap_stats rmap_stats;
static u32 free_blocks; // hpa of the first free block, chained through next

static struct rmap_block *block_at(u32 hpa)
{
	return hpa_ptr(hpa);
}

static u32 block_alloc(void)
{
	if (!free_blocks) {
		hfn_t hfn = frame_alloc(FRAME_RMAP, 0);
		if (!hfn)
			return 0;
		rmap_stats.block_frames++;
		u32 base = (u32)(hfn << PAGE_SHIFT);
		for (u32 i = BLOCKS_PER_FRAME; i-- > 0;) {
			block_at(base + i * 64)->next = free_blocks;
			free_blocks = base + i * 64;
		}
	}
	u32 b = free_blocks;
	free_blocks = block_at(b)->next;
	memset(block_at(b), 0, sizeof(struct rmap_block));
	rmap_stats.blocks++;
	return b;
}

static void block_free(u32 b)
{
	block_at(b)->next = free_blocks;
	free_blocks = b;
	if (--rmap_stats.blocks)
		return;
	// Nothing uses a block: hand every block frame back.
	for (u32 at = free_blocks; at; at = block_at(at)->next) {
		hfn_t hfn = at >> PAGE_SHIFT;
		if (frame_of(hfn)->type == FRAME_RMAP) {
			frame_put(hfn); // leaves the contents, and so this chain, intact
			rmap_stats.block_frames--;
		}
	}
	free_blocks = 0;
}

static u32 used(const struct rmap_block *b)
{
	return b->next & NEXT_COUNT_MASK;
}

bool rmap_add(hfn_t hfn, spte_ref_t spte)
{
	struct frame *f = frame_of(hfn);
	ASSERT(spte && !(spte & 3));
	rmap_stats.adds++;
	if (!f->rmap) {
		f->rmap = spte;
		return true;
	}
	if (!(f->rmap & HEAD_BLOCKS)) {
		u32 b = block_alloc();
		if (!b)
			return false;
		struct rmap_block *blk = block_at(b);
		blk->spte[0] = (spte_ref_t)f->rmap;
		blk->spte[1] = spte;
		blk->next = 2;
		f->rmap = b | HEAD_BLOCKS;
		return true;
	}
	u32 head = (u32)f->rmap & ~HEAD_BLOCKS;
	struct rmap_block *blk = block_at(head);
	if (used(blk) < RMAP_BLOCK_ENTRIES) {
		blk->spte[used(blk)] = spte;
		blk->next++;
		return true;
	}
	u32 b = block_alloc();
	if (!b)
		return false;
	block_at(b)->spte[0] = spte;
	block_at(b)->next = head | 1;
	f->rmap = b | HEAD_BLOCKS;
	return true;
}

void rmap_remove(hfn_t hfn, spte_ref_t spte)
{
	struct frame *f = frame_of(hfn);
	rmap_stats.removes++;
	if (!(f->rmap & HEAD_BLOCKS)) {
		ASSERT(f->rmap == spte);
		f->rmap = 0;
		return;
	}
	u32 head = (u32)f->rmap & ~HEAD_BLOCKS;
	struct rmap_block *first = block_at(head);
	// Find the entry; fill its hole with the first block's last entry.
	for (u32 b = head; b; b = block_at(b)->next & ~NEXT_COUNT_MASK) {
		struct rmap_block *blk = block_at(b);
		for (u32 i = 0; i < used(blk); i++) {
			if (blk->spte[i] != spte)
				continue;
			blk->spte[i] = first->spte[used(first) - 1];
			first->spte[used(first) - 1] = 0;
			first->next--;
			if (!used(first)) {
				u32 rest = first->next & ~NEXT_COUNT_MASK;
				block_free(head);
				f->rmap = rest ? (rest | HEAD_BLOCKS) : 0;
			} else if (used(first) == 1 && !(first->next & ~NEXT_COUNT_MASK)) {
				// Back to one mapping: back into the metadata word.
				f->rmap = first->spte[0];
				block_free(head);
			}
			return;
		}
	}
	ASSERT(!"rmap_remove: spte not in the frame's reverse map");
}

void rmap_clear(hfn_t hfn)
{
	struct frame *f = frame_of(hfn);
	if (f->rmap & HEAD_BLOCKS) {
		u32 b = (u32)f->rmap & ~HEAD_BLOCKS;
		while (b) {
			u32 next = block_at(b)->next & ~NEXT_COUNT_MASK;
			rmap_stats.removes += used(block_at(b));
			block_free(b);
			b = next;
		}
	} else if (f->rmap) {
		rmap_stats.removes++;
	}
	f->rmap = 0;
}

bool rmap_first(hfn_t hfn, struct rmap_iter *it, spte_ref_t *spte)
{
	it->head = frame_of(hfn)->rmap;
	it->i = 0;
	it->blk = NULL;
	if (!it->head)
		return false;
	if (!(it->head & HEAD_BLOCKS)) {
		*spte = (spte_ref_t)it->head;
		return true;
	}
	it->blk = block_at((u32)it->head & ~HEAD_BLOCKS);
	*spte = it->blk->spte[0];
	return true;
}

bool rmap_next(struct rmap_iter *it, spte_ref_t *spte)
{
	if (!it->blk)
		return false;
	if (++it->i >= used(it->blk)) {
		u32 next = it->blk->next & ~NEXT_COUNT_MASK;
		if (!next)
			return false;
		it->blk = block_at(next);
		it->i = 0;
	}
	*spte = it->blk->spte[it->i];
	return true;
}

u32 rmap_count(hfn_t hfn)
{
	struct rmap_iter it;
	spte_ref_t s;
	u32 n = 0;
	for_each_rmap(hfn, &it, &s)
		n++;
	return n;
}

u32 rmap_bytes(hfn_t hfn)
{
	u32 head = frame_of(hfn)->rmap;
	if (!(head & HEAD_BLOCKS))
		return 0;
	u32 n = 0;
	for (u32 b = (u32)head & ~HEAD_BLOCKS; b; b = block_at(b)->next & ~NEXT_COUNT_MASK)
		n += sizeof(struct rmap_block);
	return n;
}

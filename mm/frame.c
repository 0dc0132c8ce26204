// Host frame allocator and per-frame metadata (mm/, pure C). A free list
// threaded through the metadata itself: alloc and free are O(1), and the
// metadata of any frame is found from its number alone.
#include "frame.h"
#include "lib.h"

struct frame *frame_table;
hfn_t frame_table_size;
static hfn_t free_head;
static u64 free_count;
static u64 type_count[FRAME_NR_TYPES];

void frame_table_init(struct frame *table, hfn_t nframes)
{
	frame_table = table;
	frame_table_size = nframes;
	memset(table, 0, nframes * sizeof(*table));
	free_head = 0;
	free_count = 0;
	memset(type_count, 0, sizeof(type_count));
	type_count[FRAME_RESERVED] = nframes;
}

void frame_add_free(hfn_t start, hfn_t end)
{
	// Frame 0 is never handed out: 0 means "no frame" everywhere in mm/.
	if (start == 0)
		start = 1;
	for (hfn_t hfn = end; hfn-- > start;) {
		struct frame *f = frame_of(hfn);
		ASSERT(f->type == FRAME_RESERVED);
		f->type = FRAME_FREE;
		f->link = (u32)free_head;
		free_head = hfn;
		free_count++;
		type_count[FRAME_RESERVED]--;
		type_count[FRAME_FREE]++;
	}
}

hfn_t frame_alloc(enum frame_type type, u16 owner)
{
	hfn_t hfn = free_head;
	if (!hfn)
		return 0;
	struct frame *f = frame_of(hfn);
	ASSERT(f->type == FRAME_FREE && f->count == 0);
	free_head = f->link;
	free_count--;
	type_count[FRAME_FREE]--;
	type_count[type]++;
	f->type = (u8)type;
	f->count = 1;
	f->owner = owner;
	f->flags = 0;
	f->link = 0;
	f->sp_plus1 = 0;
	memset(hfn_ptr(hfn), 0, PAGE_SIZE);
	return hfn;
}

void frame_get(hfn_t hfn)
{
	struct frame *f = frame_of(hfn);
	ASSERT(f->count > 0 && f->type != FRAME_FREE);
	f->count++;
}

void frame_put(hfn_t hfn)
{
	struct frame *f = frame_of(hfn);
	ASSERT(f->count > 0 && f->type != FRAME_FREE && f->type != FRAME_RESERVED);
	if (--f->count)
		return;
	ASSERT(f->rmap == 0); // nothing may still map a frame that is freed
	type_count[f->type]--;
	type_count[FRAME_FREE]++;
	f->type = FRAME_FREE;
	f->owner = 0;
	f->flags = 0;
	f->sp_plus1 = 0;
	f->link = (u32)free_head;
	free_head = hfn;
	free_count++;
}

u64 frame_free_count(void)
{
	return free_count;
}

u64 frame_count_of_type(enum frame_type type)
{
	return type < FRAME_NR_TYPES ? type_count[type] : 0;
}

const char *frame_type_name(enum frame_type type)
{
	static const char *const names[FRAME_NR_TYPES] = {
		"reserved", "free", "guest", "shadow", "gpmap", "vmm", "rmap",
	};
	return type < FRAME_NR_TYPES ? names[type] : "?";
}

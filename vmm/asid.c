// Address-space tag allocation by generation (see asid.h).
#include "asid.h"
#include "lib.h"

void asid_space_init(struct asid_space *sp, u32 limit)
{
	ASSERT(limit >= 2);
	sp->limit = limit;
	sp->next = 1;
	sp->gen = 1;
	sp->wraps = 0;
}

enum tlb_flush asid_prepare(struct asid_space *sp, struct asid_tag *t, bool stale, bool flush_by_asid)
{
	if (stale && !flush_by_asid)
		t->gen = 0; // a tag nothing is cached under
	bool fresh = t->gen != sp->gen;
	if (asid_get(sp, t))
		return TLB_FLUSH_ALL;
	// A tag new in this generation has nothing cached under it.
	return stale && !fresh ? TLB_FLUSH_ASID : TLB_NONE;
}

bool asid_get(struct asid_space *sp, struct asid_tag *t)
{
	if (t->gen == sp->gen)
		return false;
	bool flush = false;
	if (sp->next >= sp->limit) {
		// Every tag of this generation is out: their TLB entries go at
		// once, and the tags start over for whoever runs next.
		sp->gen++;
		sp->wraps++;
		sp->next = 1;
		flush = true;
	}
	t->asid = sp->next++;
	t->gen = sp->gen;
	return flush;
}

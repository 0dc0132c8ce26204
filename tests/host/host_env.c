// The host stand-in for umbra's hardware: host-physical memory is a malloc'ed
// arena, and a broken invariant aborts the test.
#include <stdio.h>
#include <stdlib.h>
#include "frame.h"
#include "lib.h"

uintptr_t mm_phys_base;

_Noreturn void assert_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
	abort();
}

static void *arena;

// Fresh fake physical memory of nframes frames; frame 0 stays reserved.
void host_mem_init(u64 nframes);
void host_mem_init(u64 nframes)
{
	free(arena);
	arena = aligned_alloc(PAGE_SIZE, nframes * PAGE_SIZE);
	if (!arena)
		abort();
	mm_phys_base = (uintptr_t)arena;
	static struct frame *table;
	free(table);
	table = calloc(nframes, sizeof(*table));
	frame_table_init(table, nframes);
	frame_add_free(1, nframes);
}

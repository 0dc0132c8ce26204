// Thrashing: 24 MiB of guest memory (16-40 MiB, six 4 MiB pages at
// TEST_VA) written and read back whole, three times over, each pass checking
// what the last one wrote in every page. Under umbra with a mem_limit far
// below 24 MiB (make test's swap/thrash: mem_limit=4) every pass evicts
// and reads back the whole of it; the guest must not notice.
#include "lib/lib.h"

#define LARGE_PAGES 6
#define BYTES (LARGE_PAGES * 0x400000u)
#define ROUNDS 3
#define PAGE_BYTES 4096u

static u32 word(u32 round, u32 page, u32 i)
{
	return (round * 0x9E3779B9u) ^ (page * 0x85EBCA6Bu) ^ (i * 0xC2B2AE35u);
}

void test_main(void)
{
	write_cr4(read_cr4() | CR4_PSE);
	for (u32 i = 0; i < LARGE_PAGES; i++)
		kpd[(TEST_VA >> 22) + i] = (0x01000000u + i * 0x400000u) | P | W | PS;
	reload_cr3();
	u32 pages = BYTES / PAGE_BYTES, bad = 0, first_bad = 0;
	for (u32 round = 0; round <= ROUNDS; round++) {
		for (u32 p = 0; p < pages; p++) {
			volatile u32 *pg = (volatile u32 *)(TEST_VA + p * PAGE_BYTES);
			// Three words a page: its first, a middle one, its last.
			if (round) {
				u32 ok = pg[0] == word(round - 1, p, 0) && pg[517] == word(round - 1, p, 517) &&
					 pg[1023] == word(round - 1, p, 1023);
				if (!ok && !bad++)
					first_bad = p;
			}
			if (round < ROUNDS) {
				pg[0] = word(round, p, 0);
				pg[517] = word(round, p, 517);
				pg[1023] = word(round, p, 1023);
			}
		}
		if (round)
			report(!bad, "every page holds what the pass before wrote", "round %u: %u pages wrong, the first %u",
			       round, bad, first_bad);
	}
	report_summary();
}

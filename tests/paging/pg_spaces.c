// Eight address spaces that share their lower page tables and each own one
// more, switched by CR3 loads hundreds of times while the guest edits page
// tables of spaces that are not loaded (no invalidation is due: the switch
// is one) and tables shared by all (invalidated where loaded). umbra keeps
// shadows across the switches, so every edit must reach them.
#include "lib/lib.h"

#define SPACES 8
#define PAGES 16

static u32 *pd[SPACES], *own[SPACES], *shared_pt;
static u32 *frames[64];

static u32 rd(u32 va) { return *(volatile u32 *)va; }

void test_main(void)
{
	for (int f = 0; f < 64; f++) {
		frames[f] = alloc_page();
		frames[f][0] = 0xF000u + (u32)f;
	}
	shared_pt = alloc_page();
	for (int k = 0; k < PAGES; k++)
		shared_pt[k] = (u32)frames[k] | P | W;
	for (int s = 0; s < SPACES; s++) {
		pd[s] = alloc_page();
		for (int i = 0; i < 4; i++)
			pd[s][i] = kpd[i];           // the identity map, shared
		pd[s][TEST_VA >> 22] = (u32)shared_pt | P | W;
		own[s] = alloc_page();
		pd[s][(TEST_VA >> 22) + 1] = (u32)own[s] | P | W;
		for (int k = 0; k < PAGES; k++)
			own[s][k] = (u32)frames[(s * 5 + k) % 64] | P | W;
	}
	u32 own_va = TEST_VA + 0x400000;
	int bad_own = 0, bad_shared = 0, bad_remote = 0;
	u32 seed = 12345;
	for (int round = 0; round < 400; round++) {
		seed = seed * 1103515245u + 12345u;
		int s = (int)((seed >> 16) % SPACES), t = (int)((seed >> 8) % SPACES);
		int k = (int)(seed % PAGES), f = (int)((seed >> 4) % 64);
		write_cr3((u32)pd[s]);
		// Everything this space maps must read as its tables say.
		for (int j = 0; j < PAGES; j++) {
			bad_own += rd(own_va + j * 4096u) != 0xF000u + ((own[s][j] & ~0xFFFu) - (u32)frames[0]) / 4096u;
			bad_shared += rd(TEST_VA + j * 4096u) != 0xF000u + ((shared_pt[j] & ~0xFFFu) - (u32)frames[0]) / 4096u;
		}
		// Edit space t's own table while s is loaded (t may be s: then
		// invalidate), and an entry of the table all spaces share.
		own[t][k] = (u32)frames[f] | P | W;
		if (t == s)
			invlpg(own_va + k * 4096u);
		shared_pt[(k + 3) % PAGES] = (u32)frames[(f + 7) % 64] | P | W;
		invlpg(TEST_VA + ((k + 3) % PAGES) * 4096u);
		// The edit of t is visible once t is loaded.
		write_cr3((u32)pd[t]);
		bad_remote += rd(own_va + k * 4096u) != 0xF000u + (u32)f;
	}
	write_cr3((u32)kpd);
	report(bad_own == 0, "own_tables_after_switches", "%d stale reads", bad_own);
	report(bad_shared == 0, "shared_table_in_every_space", "%d stale reads", bad_shared);
	report(bad_remote == 0, "edits_of_unloaded_spaces_seen", "%d stale reads", bad_remote);
}

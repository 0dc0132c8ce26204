// What INVLPG, CR3 loads and CR4.PGE/PSE changes must invalidate: after each,
// the guest sees its new mapping. Only architectural invalidations are relied
// on, never a stale entry surviving. INVLPG is used in every addressing form,
// so a mis-decoded operand leaves a stale translation and fails.
#include "lib/lib.h"

static u32 *pt;
static u32 marker;

// Map page k to a fresh frame holding a new marker; the old translation was
// read (cached) first. Returns the marker the new frame holds.
static u32 remap(int k)
{
	(void)*(volatile u32 *)(TEST_VA + k * 4096u);
	u32 *f = alloc_page();
	f[0] = ++marker;
	pt[k] = (u32)f | P | W;
	return marker;
}

static bool sees(int k, u32 m)
{
	return *(volatile u32 *)(TEST_VA + k * 4096u) == m;
}

#define FORM(name, k, ...)                                                     \
	do {                                                                   \
		u32 m_ = remap(k);                                             \
		__VA_ARGS__;                                                   \
		report(sees(k, m_), "invlpg_" name, "stale translation (read %x, want %x)", \
		       *(volatile u32 *)(TEST_VA + k * 4096u), m_);            \
	} while (0)

void test_main(void)
{
	pt = new_pt(kpd, TEST_VA, P | W | U);
	for (int k = 0; k < 64; k++)
		pt[k] = (u32)alloc_page() | P | W;
	reload_cr3();
	u32 base = TEST_VA;

	FORM("disp32", 1, __asm__ volatile("invlpg %c0" ::"i"(TEST_VA + 4096) : "memory"));
	FORM("eax", 2, __asm__ volatile("invlpg (%0)" ::"a"(base + 2 * 4096) : "memory"));
	FORM("ecx_disp8", 3, __asm__ volatile("invlpg 0x10(%0)" ::"c"(base + 3 * 4096 - 0x10) : "memory"));
	FORM("edx_disp32", 4, __asm__ volatile("invlpg 0x1000(%0)" ::"d"(base + 3 * 4096) : "memory"));
	FORM("ebx_disp8_neg", 5, __asm__ volatile("invlpg -8(%0)" ::"b"(base + 5 * 4096 + 8) : "memory"));
	FORM("esi_disp32", 6, __asm__ volatile("invlpg 0x12345(%0)" ::"S"(base + 6 * 4096 - 0x12345) : "memory"));
	FORM("edi_edx_x2", 7, __asm__ volatile("invlpg (%0,%1,2)" ::"D"(base), "d"(7 * 2048) : "memory"));
	FORM("eax_ecx_x4_disp8", 8, __asm__ volatile("invlpg 0x40(%0,%1,4)" ::"a"(base - 0x40), "c"(8 * 1024) : "memory"));
	FORM("ecx_x8_disp32_nobase", 9, __asm__ volatile("invlpg %c1(,%0,8)" ::"c"(9 * 512), "i"(TEST_VA) : "memory"));
	FORM("ebp_disp8", 10, __asm__ volatile("push %%ebp; mov %0, %%ebp; invlpg 8(%%ebp); pop %%ebp"
					       ::"a"(base + 10 * 4096 - 8) : "memory"));
	FORM("esp", 11, __asm__ volatile("mov %%esp, %%edx; mov %0, %%esp; invlpg (%%esp); mov %%edx, %%esp"
					 ::"a"(base + 11 * 4096) : "edx", "memory"));
	FORM("esp_disp8", 12, __asm__ volatile("mov %%esp, %%edx; mov %0, %%esp; invlpg 4(%%esp); mov %%edx, %%esp"
					       ::"a"(base + 12 * 4096 - 4) : "edx", "memory"));
	FORM("ds_override", 13, __asm__ volatile("invlpg %%ds:(%0)" ::"b"(base + 13 * 4096) : "memory"));
	FORM("ebx_esi_x1", 14, __asm__ volatile("invlpg (%0,%1,1)" ::"b"(base), "S"(14 * 4096) : "memory"));
	FORM("unaligned_in_page", 15, __asm__ volatile("invlpg (%0)" ::"D"(base + 15 * 4096 + 0xFFF) : "memory"));

	// INVLPG of one page leaves nothing wrong elsewhere: pages 20..29 remapped,
	// each invalidated by its own INVLPG, all seen.
	int bad = 0;
	u32 ms[10];
	for (int k = 0; k < 10; k++)
		ms[k] = remap(20 + k);
	for (int k = 0; k < 10; k++)
		invlpg(TEST_VA + (20 + k) * 4096u);
	for (int k = 0; k < 10; k++)
		bad += !sees(20 + k, ms[k]);
	report(bad == 0, "invlpg_each_of_ten", "%d stale", bad);

	// A CR3 load invalidates non-global entries.
	u32 m = remap(30);
	reload_cr3();
	report(sees(30, m), "cr3_reload", "stale");

	// Global pages: usable, invalidated by INVLPG and by toggling CR4.PGE.
	write_cr4(read_cr4() | CR4_PGE);
	pt[31] |= G;
	invlpg(TEST_VA + 31 * 4096);
	*(volatile u32 *)(TEST_VA + 31 * 4096) = 0x61;
	report(*(volatile u32 *)(TEST_VA + 31 * 4096) == 0x61, "global_page_usable", "read %x", *(volatile u32 *)(TEST_VA + 31 * 4096));
	m = remap(31);
	pt[31] |= G;
	invlpg(TEST_VA + 31 * 4096);
	report(sees(31, m), "global_invlpg", "stale");
	m = remap(31);
	pt[31] |= G;
	write_cr4(read_cr4() & ~CR4_PGE);
	write_cr4(read_cr4() | CR4_PGE);
	report(sees(31, m), "global_pge_toggle", "stale");
	m = remap(32);
	reload_cr3();
	report(sees(32, m), "nonglobal_cr3_with_pge", "stale");
	write_cr4(read_cr4() & ~CR4_PGE);

	// PSE: a 4 MiB page replaced by a page table. INVLPG of any address in a
	// 4 MiB page drops its whole translation.
	write_cr4(read_cr4() | CR4_PSE);
	u32 big = TEST_VA + 0x1000000;
	u32 bi = big >> 22;
	kpd[bi] = 0x00C00000u | PS | P | W;
	reload_cr3();
	for (int k = 0; k < 8; k++)
		*(volatile u32 *)(0x00C00000u + k * 4096u) = 0xB0 + k;
	u32 sum = 0;
	for (int k = 0; k < 8; k++)
		sum += *(volatile u32 *)(big + k * 4096u);
	u32 *npt = alloc_page();
	for (int k = 0; k < 8; k++) {
		u32 *f = alloc_page();
		f[0] = 0xD0 + k;
		npt[k] = (u32)f | P | W;
	}
	kpd[bi] = (u32)npt | P | W;
	invlpg(big + 5 * 4096);
	bad = 0;
	for (int k = 0; k < 8; k++)
		bad += *(volatile u32 *)(big + k * 4096u) != 0xD0u + k;
	report(sum == 8 * 0xB0 + 28 && bad == 0, "large_to_table_one_invlpg", "sum %x, %d stale", sum, bad);
	// And back: the table's 4 KiB entries need a CR3 load.
	kpd[bi] = 0x00C00000u | PS | P | W;
	reload_cr3();
	bad = 0;
	for (int k = 0; k < 8; k++)
		bad += *(volatile u32 *)(big + k * 4096u) != 0xB0u + k;
	report(bad == 0, "table_to_large_cr3", "%d stale", bad);
	// CR4.PSE off: the PS bit is ignored and the PDE points at a table.
	u32 *tbl = (u32 *)0x00C00000u; // the 4 MiB page's first frame, as a table
	u32 *f = alloc_page();
	f[0] = 0xE1;
	tbl[3] = (u32)f | P | W;
	write_cr4(read_cr4() & ~CR4_PSE);
	u32 got = *(volatile u32 *)(big + 3 * 4096);
	write_cr4(read_cr4() | CR4_PSE);
	u32 got2 = *(volatile u32 *)(big + 3 * 4096);
	report(got == 0xE1 && got2 == 0xB3, "pse_off_ps_ignored", "pse off %x, on %x", got, got2);
}

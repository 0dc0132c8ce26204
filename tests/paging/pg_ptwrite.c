// Guests write their page tables as data with any instruction: byte, word,
// unaligned, atomic and string stores; tables mapped as data, linked into two
// directories, and a self-mapped directory.
#include "lib/lib.h"

static u32 *pt;
static u32 next_marker = 0x100;

static u32 *marked_frame(u32 *m)
{
	u32 *f = alloc_page();
	*m = f[0] = next_marker++;
	return f;
}

static u32 peek(int k) { return *(volatile u32 *)(TEST_VA + k * 4096u); }

void test_main(void)
{
	pt = new_pt(kpd, TEST_VA, P | W | U);
	u32 m0, m1;
	for (int k = 0; k < 16; k++)
		pt[k] = (u32)marked_frame(&m0) | P | W;
	reload_cr3();

	// Byte store to byte 1 and 2 of a PTE (frame-address bits 12-23).
	(void)peek(0);
	u32 *f = marked_frame(&m1);
	u32 nv = (u32)f | P | W;
	((volatile u8 *)&pt[0])[1] = (u8)(nv >> 8);
	((volatile u8 *)&pt[0])[2] = (u8)(nv >> 16);
	invlpg(TEST_VA);
	report(peek(0) == m1, "byte_stores", "read %x want %x", peek(0), m1);

	// 16-bit store of the high half.
	(void)peek(1);
	f = marked_frame(&m1);
	((volatile u16 *)&pt[1])[0] = (u16)((u32)f | P | W);
	((volatile u16 *)&pt[1])[1] = (u16)((u32)f >> 16);
	invlpg(TEST_VA + 4096);
	report(peek(1) == m1, "word_stores", "read %x want %x", peek(1), m1);

	// LOCK CMPXCHG.
	(void)peek(2);
	f = marked_frame(&m1);
	u32 old = pt[2];
	u32 seen = __sync_val_compare_and_swap(&pt[2], old, (u32)f | P | W);
	invlpg(TEST_VA + 2 * 4096);
	report(seen == old && peek(2) == m1, "lock_cmpxchg", "read %x want %x", peek(2), m1);

	// XCHG with memory.
	(void)peek(3);
	f = marked_frame(&m1);
	u32 xv = (u32)f | P | W;
	__asm__ volatile("xchg %0, %1" : "+r"(xv), "+m"(pt[3]) :: "memory");
	invlpg(TEST_VA + 3 * 4096);
	report(peek(3) == m1, "xchg", "read %x want %x", peek(3), m1);

	// LOCK AND clears P: the page faults; LOCK OR sets it back.
	(void)peek(4);
	__sync_fetch_and_and(&pt[4], ~P);
	invlpg(TEST_VA + 4 * 4096);
	u32 v;
	bool ok = k_read(TEST_VA + 4 * 4096, &v);
	__sync_fetch_and_or(&pt[4], P);
	invlpg(TEST_VA + 4 * 4096);
	bool ok2 = k_read(TEST_VA + 4 * 4096, &v);
	report(!ok && fault_err == 0 && ok2, "lock_and_or", "cleared-P access ok %u, restored ok %u", ok, ok2);

	// Unaligned 32-bit store spanning PTEs 5 and 6: it writes the high half of
	// one and the low half (flags, address bits 12-15) of the next.
	(void)peek(5);
	(void)peek(6);
	u32 *fa = marked_frame(&m0);
	u32 *fb = marked_frame(&m1);
	pt[5] = ((u32)fa & 0xFFFF) | P | W; // low half of 5 already final
	pt[6] = ((u32)fb & 0xFFFF0000u);     // high half of 6 already final
	u32 span = ((u32)fa >> 16) | ((((u32)fb & 0xFFFF) | P | W) << 16);
	__asm__ volatile("movl %1, (%0)" ::"r"((u8 *)&pt[5] + 2), "r"(span) : "memory");
	invlpg(TEST_VA + 5 * 4096);
	invlpg(TEST_VA + 6 * 4096);
	report(peek(5) == m0 && peek(6) == m1, "unaligned_span_two_ptes", "read %x %x want %x %x",
	       peek(5), peek(6), m0, m1);

	// REP MOVSD: copy the table, change the copy, switch the PDE to it.
	u32 *copy = alloc_page();
	unsigned n = 1024;
	u32 *dst = copy, *src = pt;
	__asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(n) :: "memory");
	f = marked_frame(&m1);
	copy[7] = (u32)f | P | W;
	(void)peek(7);
	kpd[TEST_VA >> 22] = (u32)copy | P | W | U;
	reload_cr3();
	report(peek(7) == m1 && peek(0) == *(u32 *)(pt[0] & ~0xFFFu), "rep_movsd_table_copy",
	       "read %x want %x", peek(7), m1);

	// REP STOSD clears the table: every page faults.
	u32 *tmp = alloc_page();
	for (int k = 0; k < 16; k++)
		tmp[k] = copy[k];
	kpd[TEST_VA >> 22] = (u32)tmp | P | W | U;
	reload_cr3();
	(void)peek(8);
	n = 1024;
	dst = tmp;
	__asm__ volatile("rep stosl" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
	reload_cr3();
	int faults = 0;
	for (int k = 0; k < 16; k++)
		faults += !k_read(TEST_VA + k * 4096u, &v);
	report(faults == 16, "rep_stosd_clear", "%d of 16 pages fault", faults);
	kpd[TEST_VA >> 22] = (u32)pt | P | W | U;
	reload_cr3();

	// The page table mapped as data at another address, edited through it.
	u32 *pt2 = new_pt(kpd, TEST_VA + 0x400000, P | W | U);
	pt2[0] = (u32)pt | P | W;
	reload_cr3();
	volatile u32 *view = (u32 *)(TEST_VA + 0x400000);
	(void)peek(9);
	f = marked_frame(&m1);
	view[9] = (u32)f | P | W;
	invlpg(TEST_VA + 9 * 4096);
	report(peek(9) == m1 && pt[9] == ((u32)f | P | W | (pt[9] & (A | D))), "pt_mapped_as_data",
	       "read %x want %x", peek(9), m1);

	// One table linked into two directories: an edit made in one address
	// space is seen in the other after switching to it.
	u32 *pd2 = alloc_page();
	for (int i = 0; i < 4; i++)
		pd2[i] = kpd[i];
	pd2[TEST_VA >> 22] = (u32)pt | P | W | U;
	write_cr3((u32)pd2);
	(void)peek(10);
	write_cr3((u32)kpd);
	f = marked_frame(&m1);
	pt[10] = (u32)f | P | W;
	invlpg(TEST_VA + 10 * 4096);
	u32 in1 = peek(10);
	write_cr3((u32)pd2);
	u32 in2 = peek(10);
	write_cr3((u32)kpd);
	report(in1 == m1 && in2 == m1, "table_linked_in_two_dirs", "as1 %x as2 %x want %x", in1, in2, m1);

	// A self-mapped directory: PDE 1023 points at the directory itself.
	kpd[1023] = (u32)kpd | P | W;
	reload_cr3();
	volatile u32 *ptes = (u32 *)0xFFC00000u;
	volatile u32 *pdes = (u32 *)0xFFFFF000u;
	u32 idx = TEST_VA >> 12;
	report(pdes[TEST_VA >> 22] == kpd[TEST_VA >> 22] && (ptes[idx + 11] & ~0xFFFu) == (pt[11] & ~0xFFFu),
	       "self_map_reads", "pde %x pte %x", pdes[TEST_VA >> 22], ptes[idx + 11]);
	(void)peek(11);
	f = marked_frame(&m1);
	ptes[idx + 11] = (u32)f | P | W;
	invlpg(TEST_VA + 11 * 4096);
	report(peek(11) == m1 && pt[11] == ((u32)f | P | W | (pt[11] & (A | D))), "self_map_pte_write",
	       "read %x want %x", peek(11), m1);
	// A new page table installed through the directory window.
	u32 *pt3 = alloc_page();
	f = marked_frame(&m1);
	pt3[0] = (u32)f | P | W;
	pdes[(TEST_VA + 0x800000) >> 22] = (u32)pt3 | P | W;
	invlpg(TEST_VA + 0x800000);
	report(*(volatile u32 *)(TEST_VA + 0x800000) == m1, "self_map_pde_write", "read %x",
	       *(volatile u32 *)(TEST_VA + 0x800000));
	kpd[1023] = 0;
	reload_cr3();
}

// kern's memory: physical frames with reference counts (a frame shared by
// fork is freed by its last user), page directories whose kernel half maps
// all of physical memory with 4 MiB pages, and copy-on-write fork.
#include "kernel.h"

#define MAX_FRAMES 0x3F000u
static u16 refcnt[MAX_FRAMES];
static u32 free_list, nfree;
static u32 kpd[1024] __attribute__((aligned(4096)));
u64 cow_faults, cow_copies;

void mm_init(u32 start, u32 end)
{
	for (u32 pa = end; pa > start;) {
		pa -= PGSIZE;
		*(u32 *)pa = free_list;
		free_list = pa;
		nfree++;
	}
	for (u32 i = 0; i < (end + (1u << 22) - 1) >> 22; i++)
		kpd[i] = (i << 22) | PTE_PS | PTE_W | PTE_P;
	__asm__ volatile("mov %%cr4, %%eax; or $0x10, %%eax; mov %%eax, %%cr4;"
			 "mov %0, %%cr3; mov %%cr0, %%eax; or $0x80010000, %%eax; mov %%eax, %%cr0"
			 ::"r"(kpd) : "eax", "memory");
}

u32 frame_alloc(void)
{
	u32 pa = free_list;
	if (!pa)
		return 0;
	free_list = *(u32 *)pa;
	nfree--;
	memset((void *)pa, 0, PGSIZE);
	refcnt[pa / PGSIZE] = 1;
	return pa;
}

void frame_get(u32 pa)
{
	refcnt[pa / PGSIZE]++;
}

void frame_put(u32 pa)
{
	if (!refcnt[pa / PGSIZE])
		panic("frame_put: frame 0x%x is free", pa);
	if (--refcnt[pa / PGSIZE])
		return;
	*(u32 *)pa = free_list;
	free_list = pa;
	nfree++;
}

u32 frames_free(void)
{
	return nfree;
}

u32 *pgdir_new(void)
{
	u32 *pd = (u32 *)frame_alloc();
	if (pd)
		memcpy(pd, kpd, KERNEL_PDES * 4);
	return pd;
}

// The PTE for a user address, making its page table if asked.
u32 *pte_of(u32 *pd, u32 va, bool make)
{
	u32 *pde = &pd[va >> 22];
	if (!(*pde & PTE_P)) {
		if (!make)
			return NULL;
		u32 pt = frame_alloc();
		if (!pt)
			return NULL;
		*pde = pt | PTE_U | PTE_W | PTE_P;
	}
	return &((u32 *)(*pde & ~0xFFFu))[(va >> 12) & 1023];
}

bool map_page(u32 *pd, u32 va, u32 pa, u32 flags)
{
	u32 *pte = pte_of(pd, va, true);
	if (!pte)
		return false;
	*pte = pa | flags | PTE_P;
	return true;
}

u32 *pgdir_copy_cow(u32 *pd)
{
	u32 *child = pgdir_new();
	if (!child)
		return NULL;
	for (u32 i = KERNEL_PDES; i < 1024; i++) {
		if (!(pd[i] & PTE_P))
			continue;
		u32 *pt = (u32 *)(pd[i] & ~0xFFFu);
		for (u32 j = 0; j < 1024; j++) {
			if (!(pt[j] & PTE_P))
				continue;
			// Both sides lose write permission; the first write copies.
			if (pt[j] & (PTE_W | PTE_COW))
				pt[j] = (pt[j] & ~PTE_W) | PTE_COW;
			u32 *cpte = pte_of(child, (i << 22) | (j << 12), true);
			if (!cpte) {
				pgdir_free(child);
				return NULL;
			}
			*cpte = pt[j];
			frame_get(pt[j] & ~0xFFFu);
		}
	}
	// The parent's own entries lost W: its TLB must forget them.
	__asm__ volatile("mov %%cr3, %%eax; mov %%eax, %%cr3" ::: "eax", "memory");
	return child;
}

void pgdir_free(u32 *pd)
{
	for (u32 i = KERNEL_PDES; i < 1024; i++) {
		if (!(pd[i] & PTE_P))
			continue;
		u32 *pt = (u32 *)(pd[i] & ~0xFFFu);
		for (u32 j = 0; j < 1024; j++)
			if (pt[j] & PTE_P)
				frame_put(pt[j] & ~0xFFFu);
		frame_put((u32)pt);
	}
	frame_put((u32)pd);
}

bool cow_fault(u32 *pd, u32 va)
{
	if (va < USER_BASE || va >= USER_TOP)
		return false;
	u32 *pte = pte_of(pd, va, false);
	if (!pte || !(*pte & PTE_P) || !(*pte & PTE_COW))
		return false;
	cow_faults++;
	u32 pa = *pte & ~0xFFFu;
	if (refcnt[pa / PGSIZE] > 1) {
		u32 copy = frame_alloc();
		if (!copy)
			return false;
		memcpy((void *)copy, (void *)pa, PGSIZE);
		frame_put(pa);
		pa = copy;
		cow_copies++;
	}
	*pte = pa | (*pte & 0xFFFu & ~PTE_COW) | PTE_W;
	invlpg(va);
	return true;
}

u32 *kernel_pd(void)
{
	return kpd;
}

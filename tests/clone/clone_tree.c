// The clone tree: a guest with paging on (4 KiB pages) clones itself at
// each of 6 levels, so 64 VMs run at once, and the original clones once more
// (65 VMs, clones of clones). Before each clone a VM fills that level's
// region of memory with its pattern; after it, parent and clone each check
// that the region still holds it (inherited intact, and not yet overwritten
// by the other), write their own pattern over it, spin so the relatives run,
// and at the end check every region holds their own pattern (nothing of a
// relative shows through, nothing of theirs leaked). Each VM prints its path
// in the tree and a checksum of its regions, which tests/run.sh recomputes.
// On plain QEMU the port reads all-ones: one VM, path 1, still checked.
#include <stdbool.h>
#include "../edge/edge.h"

#define LEVELS 7             // levels 0..5 binary, level 6 only the original clones
#define REGION_PAGES 16
#define REGION(l) ((volatile u32 *)(0x800000u + (u32)(l) * REGION_PAGES * 4096u))
#define WORDS (REGION_PAGES * 1024u)

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pt[4][1024] __attribute__((aligned(4096)));

static inline u32 inl(unsigned short p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static void put_hex(u32 v)
{
	puts_("0x");
	for (int s = 28; s >= 0; s -= 4)
		putc_("0123456789abcdef"[(v >> s) & 15]);
}

// The word i of region l for the VM whose path (a leading 1, then one bit
// per clone: 0 parent, 1 clone) is path. tests/run.sh has the same formula.
static u32 pattern(u32 path, u32 l, u32 i)
{
	return path * 0x9E3779B1u + l * 0x85EBCA77u + i;
}

static void fill(u32 l, u32 path)
{
	for (u32 i = 0; i < WORDS; i++)
		REGION(l)[i] = pattern(path, l, i);
}

static u32 count_bad(u32 l, u32 path)
{
	u32 bad = 0;
	for (u32 i = 0; i < WORDS; i++)
		bad += REGION(l)[i] != pattern(path, l, i);
	return bad;
}

static void spin(u32 n)
{
	for (volatile u32 i = 0; i < n; i++)
		;
}

void main(u32 magic, u32 mbi)
{
	(void)magic, (void)mbi;
	// Identity-map 16 MiB with 4 KiB pages, so the shadow has page tables.
	for (u32 k = 0; k < 4; k++) {
		pd[k] = (u32)pt[k] | 3;
		for (u32 t = 0; t < 1024; t++)
			pt[k][t] = ((k << 22) | (t << 12)) | 3;
	}
	__asm__ volatile("mov %0, %%cr3; mov %%cr0, %%eax; or $0x80010000, %%eax; mov %%eax, %%cr0"
			 ::"r"(pd) : "eax");
	u32 path = 1, bad = 0, level_paths[LEVELS];
	bool plain = false;
	for (u32 l = 0; l < LEVELS; l++) {
		if (l == LEVELS - 1 && path != (1u << (LEVELS - 1)))
			break; // only the original clones at the last level
		fill(l, path);
		u32 r = plain ? 0xFFFFFFFFu : inl(0x6C0);
		if (r == 0xFFFFFFFEu) {
			puts_("tree: umbra refused a clone\n");
			outb(0xF4, 1);
		}
		plain = r == 0xFFFFFFFFu;
		bad += count_bad(l, path); // inherited intact
		path = path * 2 + (r == 0 ? 1 : 0);
		spin(20000);
		fill(l, path);
		spin(20000);
		bad += count_bad(l, path);
		level_paths[l] = path;
	}
	u32 sum = 0, levels = 0;
	for (u32 l = 0; l < LEVELS; l++) {
		if (l == LEVELS - 1 && level_paths[LEVELS - 2] != (1u << (LEVELS - 1)))
			break;
		u32 mine = level_paths[l];
		bad += count_bad(l, mine);
		for (u32 i = 0; i < WORDS; i++)
			sum += REGION(l)[i];
		levels++;
	}
	puts_("tree: path ");
	put_hex(path);
	puts_(" levels ");
	putc_((char)('0' + levels));
	puts_(" checksum ");
	put_hex(sum);
	puts_(bad ? " FAIL\n" : " ok\n");
	outb(0xF4, bad ? 1 : 0);
}

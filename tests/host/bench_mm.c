#define _POSIX_C_SOURCE 199309L
// mm/ benchmarks on the host (make bench): reclaim through the reverse map
// against a scan of every shadow table, reverse-map memory, and the work of
// one shadow fill (counted by callgrind: run with --fill-only).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "frame.h"
#include "rmap.h"
#include "shadow.h"

void host_mem_init(u64 nframes);

#define VMS 10             // 10 x 1024 = 10,240 shadow tables
#define GUEST_MIB 16

struct guest {
	struct gpmap gm;
	struct shadow_mmu sm;
	struct shadow_vcpu sv;
	struct walk_ctx ctx;
};
static struct guest guests[VMS];

static u32 *gword(struct gpmap *m, gpa_t gpa)
{
	int err;
	hfn_t h = gpmap_populate(m, gpa >> 12, &err);
	if (!h) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	return (u32 *)((u8 *)hfn_ptr(h) + (gpa & 0xFFF));
}

// A guest whose directory maps all 1024 PDEs, each to its own page table
// whose first entry maps its own data frame: touching gva i<<22 for every i
// makes 1024 shadow tables, each holding one entry.
static void guest_build(struct guest *g, u16 id)
{
	gpmap_init(&g->gm, GUEST_MIB << 8, id);
	const gpa_t pd = 0x1000, pts = 0x400000, data = 0x800000;
	for (u32 i = 0; i < 1024; i++) {
		*gword(&g->gm, pd + i * 4) = (pts + i * 4096) | 7;
		*gword(&g->gm, pts + i * 4096) = (data + i * 4096) | 7 | 0x60;
	}
	g->ctx = (struct walk_ctx){ CR0_PG | CR0_PE | CR0_WP, pd, 0, &g->gm };
	if (shadow_init(&g->sm, &g->gm, id) || (shadow_vcpu_init(&g->sv, &g->sm), shadow_load_cr3(&g->sv, &g->ctx))) {
		fprintf(stderr, "bench: shadow_init\n");
		exit(1);
	}
}

static void touch(struct guest *g, u32 i)
{
	struct walk w;
	if (shadow_page_fault(&g->sv, &g->ctx, i << 22, PFEC_W | PFEC_U, &w) != SHADOW_FIXED) {
		fprintf(stderr, "bench: fill failed\n");
		exit(1);
	}
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void bench_reclaim(void)
{
	for (int v = 0; v < VMS; v++) {
		guest_build(&guests[v], (u16)(v + 1));
		for (u32 i = 0; i < 1024; i++)
			touch(&guests[v], i);
	}
	u64 tables = 0;
	for (int v = 0; v < VMS; v++)
		tables += guests[v].sm.stats.tables;
	// VM 3's 1024 data frames, each mapped exactly once: reclaim all of them
	// through the reverse map in one timed batch, then refill and reclaim a
	// few by scanning. Best of 5 batches each.
	struct guest *g = &guests[3];
	hfn_t target[1024];
	for (u32 i = 0; i < 1024; i++)
		target[i] = gpmap_lookup(&g->gm, (0x800000 >> 12) + i);
	double best_rmap = 1e9, best_scan = 1e9;
	for (int round = 0; round < 5; round++) {
		double t0 = now();
		for (u32 i = 0; i < 1024; i++)
			if (shadow_reclaim(target[i], NULL, NULL) != 1)
				exit(2);
		double t1 = now();
		if ((t1 - t0) / 1024 < best_rmap)
			best_rmap = (t1 - t0) / 1024;
		for (u32 i = 0; i < 1024; i++)
			touch(g, i);
		t0 = now();
		for (u32 i = 0; i < 4; i++)
			if (shadow_reclaim_scan(target[i * 97]) != 1)
				exit(3);
		t1 = now();
		if ((t1 - t0) / 4 < best_scan)
			best_scan = (t1 - t0) / 4;
		for (u32 i = 0; i < 4; i++)
			touch(g, i * 97);
	}
	printf("BENCH reclaim_speedup_vs_scan %.0f x shadows=%llu rmap_ns=%.0f scan_us=%.0f mappings=1\n",
	       best_scan / best_rmap, (unsigned long long)tables, best_rmap * 1e9, best_scan * 1e6);
}

// Entries to map from: real words in frames standing for shadow tables,
// since the reverse map keeps each entry's slot in the entry.
static spte_ref_t entries_for(hfn_t hfn, spte_ref_t *refs, u32 n)
{
	static hfn_t table;
	static u32 used = 1024;
	for (u32 i = 0; i < n; i++) {
		if (used == 1024) {
			table = frame_alloc(FRAME_SHADOW, 1);
			used = 0;
		}
		refs[i] = (spte_ref_t)((table << PAGE_SHIFT) + used++ * 4);
		*spte_ptr(refs[i]) = (u32)(hfn << PAGE_SHIFT) | 1;
	}
	return refs[0];
}

static void bench_rmap_bytes(void)
{
	spte_ref_t refs[64];
	hfn_t single = frame_alloc(FRAME_GUEST, 1);
	rmap_add(single, entries_for(single, refs, 1));
	printf("BENCH rmap_bytes_single %u B\n", rmap_bytes(single));
	u64 bytes = 0, mappings = 0;
	for (u32 k = 2; k <= 64; k++) {
		hfn_t f = frame_alloc(FRAME_GUEST, 1);
		entries_for(f, refs, k);
		for (u32 i = 0; i < k; i++)
			rmap_add(f, refs[i]);
		bytes += rmap_bytes(f);
		mappings += k;
	}
	printf("BENCH rmap_bytes_multi %.2f B mappings=2..64 frames=63 total_bytes=%llu set=cuckoo,4-slot-buckets\n",
	       (double)bytes / (double)mappings, (unsigned long long)bytes);
}

// Removal cost against the number of mappings: remove one entry and put it
// back, many times, from frames mapped k times (k = 2 .. 131,072). O(1)
// removal keeps the ratio near 1 (cache misses aside).
static void bench_rmap_remove(void)
{
	static spte_ref_t refs[131072];
	double ns[2];
	u32 ks[2] = { 2, 131072 };
	for (int c = 0; c < 2; c++) {
		u32 k = ks[c];
		hfn_t f = frame_alloc(FRAME_GUEST, 1);
		entries_for(f, refs, k);
		for (u32 i = 0; i < k; i++)
			if (!rmap_add(f, refs[i]))
				exit(4);
		double best = 1e9;
		for (int round = 0; round < 5; round++) {
			u32 n = 200000, x = 12345;
			double t0 = now();
			for (u32 r = 0; r < n; r++) {
				x = x * 1103515245u + 12345u;
				spte_ref_t e = refs[(x >> 8) % k];
				rmap_remove(f, e);
				rmap_add(f, e);
			}
			double t = (now() - t0) / n;
			if (t < best)
				best = t;
		}
		ns[c] = best * 1e9;
		rmap_clear(f);
		frame_put(f);
	}
	printf("BENCH rmap_remove_cost_ratio %.2f x mappings=%u_vs_%u remove+add_ns=%.0f_vs_%.0f\n",
	       ns[1] / ns[0], ks[1], ks[0], ns[1], ns[0]);
}

// 2^(step/4): four points an octave, so the curve shows where sets grow.
static double pow2_quarter(u32 step)
{
	static const double q[4] = { 1.0, 1.189207115, 1.414213562, 1.681792831 };
	return (double)(1u << (step / 4)) * q[step % 4];
}

// Curves for make bench's plots, as "x y..." lines in files under dir.
// Reclaim of one frame mapped k times (k = 1 .. 1024, by a guest whose k
// page tables all map it), through the reverse map and by scanning the
// 10,240+ shadow tables of bench_reclaim's guests; and reverse-map bytes
// per mapping for frames mapped k times (k = 1 .. 65,536).
static void bench_curves(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/reclaim_vs_mappings.dat", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		exit(5);
	fprintf(f, "# mappings rmap_ns scan_ns\n");
	static struct guest alias;
	gpmap_init(&alias.gm, GUEST_MIB << 8, VMS + 1);
	const gpa_t pd = 0x1000, pts = 0x400000, data = 0x800000;
	for (u32 i = 0; i < 1024; i++) {
		*gword(&alias.gm, pd + i * 4) = (pts + i * 4096) | 7;
		*gword(&alias.gm, pts + i * 4096) = data | 7 | 0x60;
	}
	alias.ctx = (struct walk_ctx){ CR0_PG | CR0_PE | CR0_WP, pd, 0, &alias.gm };
	if (shadow_init(&alias.sm, &alias.gm, VMS + 1) ||
	    (shadow_vcpu_init(&alias.sv, &alias.sm), shadow_load_cr3(&alias.sv, &alias.ctx)))
		exit(6);
	*gword(&alias.gm, data) = 1; // the frame they all map exists from now on
	hfn_t h = gpmap_lookup(&alias.gm, data >> 12);
	for (u32 k = 1; k <= 1024; k *= 2) {
		double best_r = 1e9, best_s = 1e9;
		for (int round = 0; round < 3; round++) {
			for (u32 i = 0; i < k; i++)
				touch(&alias, i);
			double t0 = now();
			if (shadow_reclaim(h, NULL, NULL) != k)
				exit(7);
			double t1 = now();
			for (u32 i = 0; i < k; i++)
				touch(&alias, i);
			double t2 = now();
			if (shadow_reclaim_scan(h) != k)
				exit(8);
			double t3 = now();
			best_r = t1 - t0 < best_r ? t1 - t0 : best_r;
			best_s = t3 - t2 < best_s ? t3 - t2 : best_s;
		}
		fprintf(f, "%u %.0f %.0f\n", k, best_r * 1e9, best_s * 1e9);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/rmap_bytes_vs_mappings.dat", dir);
	f = fopen(path, "w");
	if (!f)
		exit(5);
	fprintf(f, "# mappings bytes_per_mapping\n");
	static spte_ref_t refs[65536];
	for (u32 step = 0, k = 1; k <= 65536; step++, k = (u32)(pow2_quarter(step) + 0.5)) {
		hfn_t fr = frame_alloc(FRAME_GUEST, 1);
		entries_for(fr, refs, k);
		for (u32 i = 0; i < k; i++)
			if (!rmap_add(fr, refs[i]))
				exit(9);
		fprintf(f, "%u %.2f\n", k, (double)rmap_bytes(fr) / k);
		rmap_clear(fr);
		frame_put(fr);
	}
	fclose(f);
}

// Steady-state fills into an existing shadow table; callgrind counts the
// instructions inside shadow_page_fault (--toggle-collect).
static void fill_only(int n)
{
	struct guest *g = &guests[0];
	guest_build(g, 1);
	touch(g, 7);
	for (int r = 0; r < n; r++) {
		shadow_invlpg(&g->sv, 7u << 22);
		touch(g, 7);
	}
	printf("fills %d\n", n);
}

int main(int argc, char **argv)
{
	host_mem_init(VMS * 3200 + 8192 + 1024 + 3200 + 2048);
	if (argc > 2 && !strcmp(argv[1], "--fill-only")) {
		fill_only(atoi(argv[2]));
		return 0;
	}
	bench_reclaim();
	bench_rmap_bytes();
	bench_rmap_remove();
	if (argc > 2 && !strcmp(argv[1], "--curves"))
		bench_curves(argv[2]);
	return 0;
}

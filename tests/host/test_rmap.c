// Host tests of the reverse map: random adds and removes over many frames,
// checked after every step against a plain list per frame; the single-
// pointer case costs no bytes; sets of hundreds of thousands of entries;
// running out of memory at every kind of growth; every frame goes back.
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "check.h"
#include "rmap.h"
#include "x86.h"

void host_mem_init(u64 nframes);

#define NFR 40
#define MAXM 300
#define NTABLES 100

static spte_ref_t model[NFR][MAXM];
static u32 nmodel[NFR];
static hfn_t tables[256]; // fake shadow tables the entries live in
static u8 holder[NTABLES * 1024]; // which frame (+1) the model says each entry maps
static u64 seed = 42;

static u32 rnd(void)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (u32)(seed >> 33);
}

static u32 entry_index(spte_ref_t s)
{
	for (u32 t = 0; t < NTABLES; t++)
		if (tables[t] == s >> PAGE_SHIFT)
			return t * 1024 + (s & (PAGE_SIZE - 1)) / 4;
	return 0;
}

// An entry of a fake table, written as an entry naming hfn.
static spte_ref_t entry_for(hfn_t hfn, u32 table, u32 index)
{
	spte_ref_t s = (spte_ref_t)((tables[table] << PAGE_SHIFT) + index * 4);
	*spte_ptr(s) = (u32)(hfn << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U;
	return s;
}

static bool same_set(int f, hfn_t hfn)
{
	struct rmap_iter it;
	spte_ref_t s;
	u32 n = 0;
	for_each_rmap(hfn, &it, &s) {
		if (holder[entry_index(s)] != f + 1)
			return false;
		n++;
	}
	for (u32 i = 0; i < nmodel[f]; i++)
		if (!rmap_holds(hfn, model[f][i]))
			return false;
	return n == nmodel[f];
}

static void model_drop(int f, u32 i)
{
	holder[entry_index(model[f][i])] = 0;
	model[f][i] = model[f][--nmodel[f]];
}

static void test_rmap_random(void)
{
	host_mem_init(4096);
	u64 free0 = frame_free_count();
	for (int t = 0; t < NTABLES; t++)
		tables[t] = frame_alloc(FRAME_SHADOW, 1);
	hfn_t frames[NFR];
	for (int f = 0; f < NFR; f++)
		frames[f] = frame_alloc(FRAME_GUEST, 1);
	int bad = 0;
	u32 most = 0;
	for (int op = 0; op < 400000 && bad < 5; op++) {
		int f = (int)(rnd() % NFR);
		// Phases of growth and of shrinking, so sets pass every size.
		bool grow = (op / 20000) % 2 == 0;
		bool add = nmodel[f] == 0 || (nmodel[f] < MAXM && rnd() % 8 < (grow ? 6u : 2u));
		if (add) {
			u32 t = rnd() % NTABLES, i = rnd() % 1024, g = holder[t * 1024 + i];
			spte_ref_t s = (spte_ref_t)((tables[t] << PAGE_SHIFT) + i * 4);
			if (g == (u32)f + 1)
				continue;
			if (g) {
				// The entry maps another frame: move it, as a refill does.
				g--;
				rmap_remove(frames[g], s);
				for (u32 k = 0; k < nmodel[g]; k++)
					if (model[g][k] == s)
						model_drop((int)g, k);
			}
			*spte_ptr(s) = (u32)(frames[f] << PAGE_SHIFT) | PTE_P;
			CHECK(rmap_add(frames[f], s), "add failed");
			model[f][nmodel[f]++] = s;
			holder[t * 1024 + i] = (u8)(f + 1);
		} else {
			u32 i = rnd() % nmodel[f];
			rmap_remove(frames[f], model[f][i]);
			model_drop(f, i);
		}
		if (nmodel[f] > most)
			most = nmodel[f];
		u32 bytes = rmap_bytes(frames[f]);
		if (!same_set(f, frames[f]) || rmap_count(frames[f]) != nmodel[f] || rmap_check(frames[f])) {
			bad++;
			CHECK(0, "op %d frame %d: rmap differs from the model (%u vs %u, %u faults)", op, f,
			      rmap_count(frames[f]), nmodel[f], rmap_check(frames[f]));
		}
		// Nothing for one mapping; for more, the set stays within a
		// constant factor of its entries (so iterating is O(entries)).
		if (nmodel[f] <= 1 ? bytes != 0 : bytes > 40 * nmodel[f] + 32) {
			bad++;
			CHECK(0, "frame %d: %u mappings in %u bytes", f, nmodel[f], bytes);
		}
	}
	printf("  %llu adds, %llu entries moved to their other bucket, %llu sets rebuilt\n", (unsigned long long)rmap_stats.adds, (unsigned long long)rmap_stats.kicks, (unsigned long long)rmap_stats.resizes);
	CHECK(rmap_stats.adds > 150000 && most == MAXM && rmap_stats.kicks > 0 && rmap_stats.resizes > 1000,
	      "the sequence did not reach every case (adds %llu, most %u, kicks %llu, resizes %llu)",
	      (unsigned long long)rmap_stats.adds, most, (unsigned long long)rmap_stats.kicks,
	      (unsigned long long)rmap_stats.resizes);
	for (int f = 0; f < NFR; f++) {
		while (nmodel[f]) {
			rmap_remove(frames[f], model[f][nmodel[f] - 1]);
			model_drop(f, nmodel[f] - 1);
		}
		CHECK(frame_of(frames[f])->rmap == 0, "frame %d rmap not empty", f);
		frame_put(frames[f]);
	}
	for (int t = 0; t < NTABLES; t++)
		frame_put(tables[t]);
	CHECK(rmap_stats.sets == 0 && rmap_stats.set_frames == 0, "blocks %llu frames %llu left",
	      (unsigned long long)rmap_stats.sets, (unsigned long long)rmap_stats.set_frames);
	CHECK(frame_free_count() == free0, "frames leaked: %llu", (unsigned long long)(free0 - frame_free_count()));
}

static void test_rmap_single_is_free(void)
{
	host_mem_init(64);
	tables[0] = frame_alloc(FRAME_SHADOW, 1);
	hfn_t h = frame_alloc(FRAME_GUEST, 1);
	spte_ref_t a = entry_for(h, 0, 0), b = entry_for(h, 0, 1);
	CHECK(rmap_add(h, a), "add");
	CHECK(frame_of(h)->rmap == a && rmap_bytes(h) == 0 && rmap_stats.sets == 0,
	      "one mapping must live in the metadata word");
	CHECK(rmap_add(h, b) && rmap_bytes(h) == 16 && rmap_count(h) == 2, "second mapping: %u bytes",
	      rmap_bytes(h));
	CHECK(rmap_holds(h, a) && rmap_holds(h, b) && !rmap_check(h), "both held");
	rmap_remove(h, a);
	CHECK(frame_of(h)->rmap == b && rmap_stats.sets == 0, "back to one: back into the word");
	CHECK((*spte_ptr(b) & RMAP_SPTE_BITS) == 0, "a lone entry keeps no slot bits");
	rmap_remove(h, b);
	CHECK(frame_of(h)->rmap == 0, "empty");
	frame_put(h);
}

// A frame mapped 200,000 times (a set of directory + leaf frames): every
// entry found through its bits, removed in random order, nothing left.
static void test_rmap_huge(void)
{
	enum { N = 200000 };
	host_mem_init(1200);
	u64 free0 = frame_free_count();
	hfn_t h = frame_alloc(FRAME_GUEST, 1);
	static spte_ref_t refs[N];
	u32 ntab = (N + 1023) / 1024;
	for (u32 t = 0; t < ntab; t++)
		tables[t] = frame_alloc(FRAME_SHADOW, 1);
	for (u32 i = 0; i < N; i++) {
		refs[i] = entry_for(h, i / 1024, i % 1024);
		if (!rmap_add(h, refs[i])) {
			CHECK(0, "add %u failed", i);
			return;
		}
	}
	CHECK(rmap_count(h) == N && !rmap_check(h), "count %u, %u faults", rmap_count(h), rmap_check(h));
	CHECK(rmap_bytes(h) <= 16 * N, "%u bytes for %u mappings", rmap_bytes(h), N);
	u32 missing = 0;
	for (u32 i = 0; i < N; i++)
		missing += !rmap_holds(h, refs[i]);
	CHECK(missing == 0, "%u entries not held", missing);
	for (u32 i = N; i-- > 1;) {
		u32 j = rnd() % (i + 1);
		spte_ref_t t = refs[i];
		refs[i] = refs[j];
		refs[j] = t;
	}
	for (u32 i = 0; i < N; i++) {
		rmap_remove(h, refs[i]);
		if (i % 50000 == 0 && rmap_check(h))
			CHECK(0, "after %u removes: %u faults", i, rmap_check(h));
	}
	CHECK(frame_of(h)->rmap == 0 && rmap_stats.sets == 0, "not empty");
	frame_put(h);
	for (u32 t = 0; t < ntab; t++)
		frame_put(tables[t]);
	CHECK(frame_free_count() == free0, "frames leaked: %llu", (unsigned long long)(free0 - frame_free_count()));
}

// Out of frames at each kind of growth (first set, carved block, whole
// frame, directory and leaves), and when an add finds no room after all its
// moves: add fails cleanly and the map is as it was, slot bits included.
static void test_rmap_exhaustion(void)
{
	enum { N = 1500, FRAMES = 6 };
	host_mem_init(96);
	for (u32 t = 0; t < 4; t++)
		tables[t] = frame_alloc(FRAME_SHADOW, 1);
	hfn_t hogs[96], x;
	u32 nhogs = 0, failures = 0, stuck_failures = 0;
	static spte_ref_t refs[N];
	static u8 used[4096];
	for (u32 fr = 0; fr < FRAMES; fr++) {
		hfn_t h = frame_alloc(FRAME_GUEST, 1);
		memset(used, 0, sizeof(used));
		while (nhogs < 96 && (x = frame_alloc(FRAME_VMM, 0)))
			hogs[nhogs++] = x;
		for (u32 i = 0; i < N; i++) {
			u32 k;
			do
				k = rnd() % 4096;
			while (used[k]);
			used[k] = 1;
			refs[i] = entry_for(h, k / 1024, k % 1024);
			u64 stuck = rmap_stats.stuck;
			if (rmap_add(h, refs[i]))
				continue;
			// Refused: nothing changed. Free frames until it fits.
			failures++;
			stuck_failures += rmap_stats.stuck != stuck;
			u32 held = 0;
			for (u32 j = 0; j < i; j++)
				held += rmap_holds(h, refs[j]);
			CHECK(rmap_count(h) == i && held == i && !rmap_check(h), "failed add %u changed the map", i);
			bool ok = false;
			while (!ok && nhogs) {
				frame_put(hogs[--nhogs]);
				ok = rmap_add(h, refs[i]);
			}
			CHECK(ok, "add %u failed with every frame free", i);
			while (nhogs < 96 && (x = frame_alloc(FRAME_VMM, 0)))
				hogs[nhogs++] = x;
		}
		CHECK(rmap_count(h) == N && !rmap_check(h), "count %u", rmap_count(h));
		rmap_clear(h);
		frame_put(h);
		while (nhogs)
			frame_put(hogs[--nhogs]);
	}
	CHECK(failures >= 4 * FRAMES && stuck_failures >= 1,
	      "only %u growths ran out of memory, %u of them after moves found no room", failures, stuck_failures);
	CHECK(rmap_stats.sets == 0 && rmap_stats.set_frames == 0, "blocks left");
}

int main(void)
{
	RUN(test_rmap_single_is_free);
	RUN(test_rmap_random);
	RUN(test_rmap_huge);
	RUN(test_rmap_exhaustion);
	CHECK_EXIT();
}

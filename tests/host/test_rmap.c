// Host tests of the reverse map: random adds and removes over many frames,
// checked after every step against a plain list per frame; the single-
// pointer case costs no bytes; every block frame goes back at the end.
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "rmap.h"

void host_mem_init(u64 nframes);

#define NFR 40
#define MAXM 70

static spte_ref_t model[NFR][MAXM];
static u32 nmodel[NFR];

static bool model_has(int f, spte_ref_t s)
{
	for (u32 i = 0; i < nmodel[f]; i++)
		if (model[f][i] == s)
			return true;
	return false;
}

static bool same_set(int f, hfn_t hfn)
{
	struct rmap_iter it;
	spte_ref_t s;
	u32 n = 0;
	for_each_rmap(hfn, &it, &s) {
		if (!model_has(f, s))
			return false;
		n++;
	}
	return n == nmodel[f];
}

static void test_rmap_random(void)
{
	host_mem_init(4096);
	u64 free0 = frame_free_count();
	hfn_t frames[NFR];
	for (int f = 0; f < NFR; f++)
		frames[f] = frame_alloc(FRAME_GUEST, 1);
	u64 seed = 42;
	int bad = 0;
	for (int op = 0; op < 150000 && bad < 5; op++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		int f = (int)((seed >> 33) % NFR);
		bool add = ((seed >> 20) & 3) != 0 ? nmodel[f] < MAXM : false;
		if (nmodel[f] == 0)
			add = true;
		if (add) {
			spte_ref_t s;
			do {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				s = (spte_ref_t)(0x1000 + ((seed >> 30) % 100000) * 4);
			} while (model_has(f, s));
			CHECK(rmap_add(frames[f], s), "add failed");
			model[f][nmodel[f]++] = s;
		} else {
			u32 i = (u32)((seed >> 40) % nmodel[f]);
			rmap_remove(frames[f], model[f][i]);
			model[f][i] = model[f][--nmodel[f]];
		}
		if (!same_set(f, frames[f]) || rmap_count(frames[f]) != nmodel[f]) {
			bad++;
			CHECK(0, "op %d frame %d: rmap differs from the model (%u vs %u)", op, f,
			      rmap_count(frames[f]), nmodel[f]);
		}
		if (nmodel[f] <= 1)
			CHECK(rmap_bytes(frames[f]) == 0, "%u mapping(s) cost %u bytes", nmodel[f], rmap_bytes(frames[f]));
		u32 want_blocks = nmodel[f] <= 1 ? 0 : (nmodel[f] + RMAP_BLOCK_ENTRIES - 1) / RMAP_BLOCK_ENTRIES;
		if (rmap_bytes(frames[f]) != want_blocks * 64) {
			bad++;
			CHECK(0, "frame %d: %u mappings in %u bytes, want %u", f, nmodel[f],
			      rmap_bytes(frames[f]), want_blocks * 64);
		}
	}
	CHECK(rmap_stats.adds > 50000, "few adds");
	for (int f = 0; f < NFR; f++) {
		while (nmodel[f])
			rmap_remove(frames[f], model[f][--nmodel[f]]);
		CHECK(frame_of(frames[f])->rmap == 0, "frame %d rmap not empty", f);
		frame_put(frames[f]);
	}
	CHECK(rmap_stats.blocks == 0 && rmap_stats.block_frames == 0, "blocks %llu frames %llu left",
	      (unsigned long long)rmap_stats.blocks, (unsigned long long)rmap_stats.block_frames);
	CHECK(frame_free_count() == free0, "frames leaked: %llu", (unsigned long long)(free0 - frame_free_count()));
}

static void test_rmap_single_is_free(void)
{
	host_mem_init(64);
	hfn_t h = frame_alloc(FRAME_GUEST, 1);
	CHECK(rmap_add(h, 0x2000), "add");
	CHECK(frame_of(h)->rmap == 0x2000 && rmap_bytes(h) == 0 && rmap_stats.blocks == 0,
	      "one mapping must live in the metadata word");
	CHECK(rmap_add(h, 0x2004) && rmap_bytes(h) == 64 && rmap_count(h) == 2, "second mapping");
	rmap_remove(h, 0x2000);
	CHECK(frame_of(h)->rmap == 0x2004 && rmap_stats.blocks == 0, "back to one: back into the word");
	rmap_remove(h, 0x2004);
	CHECK(frame_of(h)->rmap == 0, "empty");
	frame_put(h);
}

// Out of frames: add fails cleanly and the rmap is unchanged.
static void test_rmap_exhaustion(void)
{
	host_mem_init(8);
	hfn_t h = frame_alloc(FRAME_GUEST, 1);
	while (frame_alloc(FRAME_VMM, 0))
		;
	CHECK(rmap_add(h, 0x1000), "the first mapping needs no memory");
	CHECK(!rmap_add(h, 0x1004), "second add must fail with no frame for a block");
	CHECK(rmap_count(h) == 1 && frame_of(h)->rmap == 0x1000, "failed add changed the rmap");
	rmap_remove(h, 0x1000);
}

int main(void)
{
	RUN(test_rmap_single_is_free);
	RUN(test_rmap_random);
	RUN(test_rmap_exhaustion);
	CHECK_EXIT();
}

// Host tests of ASID allocation and TLB-flush decisions (vmm/asid.c) against a model TLB: every
// entry a vCPU makes is tagged with its ASID; a full flush empties the TLB.
// Whatever order vCPUs run, come and go in, a vCPU must never find an entry
// another vCPU left under its tag, and never get a tag the CPU lacks.
// (QEMU and Bochs ignore ASIDs, so this is where a wrong one shows.)
#include <string.h>
#include "check.h"
#include "asid.h"

#define MAX_TAGS 4096
#define MAX_VCPUS 256

static u32 tlb_owner[MAX_TAGS]; // vCPU number + 1 whose entries sit under the tag, 0: none

static void run_model(u32 limit, u32 nvcpus, u32 steps, bool churn, u32 seed)
{
	struct asid_space sp;
	struct asid_tag tag[MAX_VCPUS];
	u32 life[MAX_VCPUS]; // distinguishes a vCPU from the one that had its slot before
	asid_space_init(&sp, limit);
	memset(tag, 0, sizeof(tag));
	memset(tlb_owner, 0, sizeof(tlb_owner));
	for (u32 i = 0; i < nvcpus; i++)
		life[i] = i + 1;
	u32 next_life = nvcpus + 1, flushes = 0, bad = 0;
	for (u32 s = 0; s < steps; s++) {
		seed = seed * 1103515245u + 12345u;
		u32 v = (seed >> 8) % nvcpus;
		if (churn && ((seed >> 20) & 15) == 0) {
			// This vCPU's VM ends; a new one takes its slot.
			memset(&tag[v], 0, sizeof(tag[v]));
			life[v] = next_life++;
			continue;
		}
		if (asid_get(&sp, &tag[v])) {
			memset(tlb_owner, 0, sizeof(tlb_owner));
			flushes++;
		}
		u32 t = tag[v].asid;
		if (t == 0 || t >= limit) {
			if (bad++ < 3)
				CHECK(0, "limit %u: vCPU %u got ASID %u", limit, v, t);
			continue;
		}
		if (tlb_owner[t] && tlb_owner[t] != life[v]) {
			if (bad++ < 3)
				CHECK(0, "limit %u, %u vCPUs, step %u: vCPU %u runs on ASID %u, which holds entries of life %u",
				      limit, nvcpus, s, v, t, tlb_owner[t]);
			continue;
		}
		tlb_owner[t] = life[v]; // it runs and fills the TLB under its tag
	}
	CHECK(flushes == sp.wraps, "limit %u: %u flushes asked for, %llu generations begun", limit, flushes,
	      (unsigned long long)sp.wraps);
	// Enough tags for everyone and nobody leaving: never a full flush.
	if (!churn && nvcpus < limit)
		CHECK(flushes == 0, "limit %u, %u vCPUs: %u full flushes, want none", limit, nvcpus, flushes);
	// Far too few tags: wraps must happen (the test exercises them).
	if (nvcpus > 2 * limit)
		CHECK(flushes > 0, "limit %u, %u vCPUs: no generation ever wrapped", limit, nvcpus);
}

static void test_asid_model(void)
{
	static const u32 limits[] = { 2, 3, 16, 64, 4096 };
	static const u32 counts[] = { 1, 5, 15, 16, 65, 200 };
	for (unsigned i = 0; i < ARRAY_SIZE(limits); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(counts); j++)
			for (int churn = 0; churn < 2; churn++)
				run_model(limits[i], counts[j], 200000, churn, 7 + i * 31 + j);
}

// Stale vCPUs (their VM's shadow lost entries, or they loaded CR3): after
// the flush asid_prepare asks for, no entry cached before may be found,
// whether the CPU flushes by ASID or not. Entries carry the vCPU's epoch.
static void run_stale_model(u32 limit, u32 nvcpus, bool by_asid, u32 seed, u32 *full_flushes)
{
	struct asid_space sp;
	struct asid_tag tag[MAX_VCPUS] = { 0 };
	u32 epoch[MAX_VCPUS] = { 0 }, seen[MAX_VCPUS] = { 0 };
	static u32 tlb_epoch[MAX_TAGS];
	asid_space_init(&sp, limit);
	memset(tlb_owner, 0, sizeof(tlb_owner));
	u32 bad = 0, fulls = 0;
	for (u32 s = 0; s < 300000; s++) {
		seed = seed * 1103515245u + 12345u;
		u32 v = (seed >> 8) % nvcpus;
		if (((seed >> 20) & 3) == 0) {
			epoch[v]++; // mappings of v changed: what it cached is stale
			continue;
		}
		switch (asid_prepare(&sp, &tag[v], epoch[v] != seen[v], by_asid)) {
		case TLB_FLUSH_ALL:
			memset(tlb_owner, 0, sizeof(tlb_owner));
			fulls++;
			break;
		case TLB_FLUSH_ASID:
			CHECK(by_asid, "a per-ASID flush asked of a CPU without FlushByAsid");
			tlb_owner[tag[v].asid] = 0;
			break;
		case TLB_NONE:
			break;
		}
		seen[v] = epoch[v];
		u32 t = tag[v].asid;
		if (tlb_owner[t] && (tlb_owner[t] != v + 1 || tlb_epoch[t] != epoch[v])) {
			if (bad++ < 3)
				CHECK(0, "limit %u, %u vCPUs, %s: vCPU %u on ASID %u finds entries of vCPU %u epoch %u (now %u)",
				      limit, nvcpus, by_asid ? "FlushByAsid" : "no FlushByAsid", v, t, tlb_owner[t] - 1,
				      tlb_epoch[t], epoch[v]);
			continue;
		}
		tlb_owner[t] = v + 1;
		tlb_epoch[t] = epoch[v];
	}
	*full_flushes = fulls;
}

static void test_asid_stale_flushes(void)
{
	static const u32 limits[] = { 2, 16, 4096 };
	static const u32 counts[] = { 1, 8, 40 };
	for (unsigned i = 0; i < ARRAY_SIZE(limits); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(counts); j++)
			for (int by_asid = 0; by_asid < 2; by_asid++) {
				u32 fulls;
				run_stale_model(limits[i], counts[j], by_asid, 99 + i * 7 + j, &fulls);
				// With FlushByAsid and a tag for everyone, a stale vCPU
				// never costs the others their entries.
				if (by_asid && counts[j] < limits[i])
					CHECK(fulls == 0, "limit %u, %u vCPUs, FlushByAsid: %u full flushes", limits[i],
					      counts[j], fulls);
			}
}

// Round-robin over 65 VMs with 16 ASIDs, as the clone tree runs under QEMU:
// tags stay below 16 and each generation hands out 15.
static void test_asid_round_robin(void)
{
	struct asid_space sp;
	struct asid_tag tag[65] = { 0 };
	asid_space_init(&sp, 16);
	u32 maxtag = 0;
	for (u32 round = 0; round < 100; round++)
		for (u32 v = 0; v < 65; v++) {
			asid_get(&sp, &tag[v]);
			maxtag = tag[v].asid > maxtag ? tag[v].asid : maxtag;
		}
	CHECK(maxtag == 15, "highest ASID %u, want 15", maxtag);
	CHECK(sp.wraps == (100 * 65 - 1) / 15, "%llu generations, want %u", (unsigned long long)sp.wraps,
	      (100 * 65 - 1) / 15);
}

int main(void)
{
	RUN(test_asid_model);
	RUN(test_asid_round_robin);
	RUN(test_asid_stale_flushes);
	CHECK_EXIT();
}

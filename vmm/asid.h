// Address-space tags for the TLB (SVM's ASIDs, VMX's VPIDs), handed out as
// KVM does: a vCPU keeps its tag for one generation; when the CPU's tags run
// out, a new generation starts, the whole TLB is flushed once, and every
// vCPU gets a fresh tag at its next entry. Pure C: host-tested.
#ifndef UMBRA_ASID_H
#define UMBRA_ASID_H

#include "types.h"

struct asid_space {
	u32 limit;     // tags 1..limit-1 are usable (tag 0 is the host's)
	u32 next;      // the next tag of this generation
	u64 gen;       // generation now; starts at 1
	u64 wraps;     // generations begun after the first (full flushes)
};

struct asid_tag {
	u32 asid;      // valid while gen is the space's generation
	u64 gen;       // 0: none yet
};

// What the hardware must flush at an entry.
enum tlb_flush { TLB_NONE, TLB_FLUSH_ASID, TLB_FLUSH_ALL };

// limit is what the CPU reports (CPUID 8000_000A EBX for SVM); at least 2.
void asid_space_init(struct asid_space *sp, u32 limit);
// Before an entry: make t a tag of the current generation. True when the
// whole TLB (every tag) must be flushed at this entry, because tags of an
// old generation are being handed out again.
bool asid_get(struct asid_space *sp, struct asid_tag *t);
// Before an entry: give t a tag of the current generation and say what the
// hardware must flush. stale: entries this vCPU may have cached under its
// tag must go (its VM's shadow lost or narrowed entries, or it loaded CR3).
// A CPU that flushes by ASID (SVM's FlushByAsid) drops that one tag; one
// that cannot gets a fresh tag instead, and the whole TLB goes only when
// the tags run out. (umbra's shadow entries are never global, so one
// flush of the tag is what a CR3 load and a CR4.PGE change both need.)
enum tlb_flush asid_prepare(struct asid_space *sp, struct asid_tag *t, bool stale, bool flush_by_asid);

#endif

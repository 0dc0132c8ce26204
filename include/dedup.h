// Deduplication of identical guest pages across VMs (mm/dedup.c).
#ifndef UMBRA_DEDUP_H
#define UMBRA_DEDUP_H

#include "types.h"

struct dedup_stats {
	u64 runs;        // dedup_run calls
	u64 scanned;     // frames hashed
	u64 merged;      // frames merged into another (each one frame saved)
	u64 zero;        // ... of them into the zero frame
	u64 collisions;  // same hash, different bytes
};
extern struct dedup_stats dedup_stats;

// One pass over every guest frame that can move: identical ones merged.
// The number merged, or -ERR_NOMEM (no frames for the pass's hash table).
int dedup_run(void);
// Merged frames now, and the guest pages they stand for.
void dedup_count(u32 *frames, u32 *pages);

#endif

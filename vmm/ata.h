// umbra's own disk on the primary IDE channel (vmm/ata.c): the swap store.
#ifndef UMBRA_ATA_H
#define UMBRA_ATA_H

#include "types.h"

struct swap_ops;

struct ata_stats {
	u64 reads, writes, errors;
	u64 reads_tried;
	u64 runs;       // multi-page writes (one command each)
	u64 read_cycles, write_cycles; // TSC cycles spent in reads and writes
};
extern struct ata_stats ata_stats;

// Find the drive: its size in bytes, 0 when there is none (or it cannot do
// 48-bit LBAs). fail_reads_every N > 0: every Nth page read fails, as a
// drive's read error would (tests: swap_fail_reads=N).
u64 ata_init(u32 fail_reads_every);
u32 ata_pages(void);
bool ata_dma(void); // pages move by bus-master DMA (else PIO)
// One page (8 sectors) at page index page: 0, or -1 on a drive error.
int ata_write_page(u32 page, const void *buf);
int ata_read_page(u32 page, void *buf);
// Pages first.. first+n-1 with one command (n <= ATA_RUN_MAX).
#define ATA_RUN_MAX 64
int ata_write_pages(u32 first, u32 n, const void *const *pages);
int ata_read_pages(u32 first, u32 n, void *const *pages);
// The drive as mm/'s swap store, a slot a page.
extern const struct swap_ops ata_swap_ops;

#endif

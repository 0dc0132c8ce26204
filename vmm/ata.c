// umbra's own disk: an ATA drive on the legacy primary IDE channel (ports
// 0x1F0-0x1F7, control 0x3F6), 48-bit LBAs, interrupts off, polled. Pages
// move by bus-master DMA (the PCI IDE controller's, found by its class:
// one PRD entry, the page itself) when the controller has it, else by PIO.
// No guest sees it (guests' port I/O goes to umbra's device models, which
// have no disk); it is the swap store (mm/swap.c). A page is 8 sectors,
// slot N at LBA 8N, one command a page.
#include "asm.h"
#include "ata.h"
#include "frame.h"
#include "lib.h"
#include "log.h"
#include "swap.h"

#define ATA_DATA 0x1F0
#define ATA_ERROR 0x1F1
#define ATA_COUNT 0x1F2
#define ATA_LBA0 0x1F3
#define ATA_LBA1 0x1F4
#define ATA_LBA2 0x1F5
#define ATA_DRIVE 0x1F6
#define ATA_STATUS 0x1F7 // read
#define ATA_CMD 0x1F7    // write
#define ATA_CTRL 0x3F6

#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DF 0x20
#define ST_BSY 0x80

#define CMD_READ_EXT 0x24
#define CMD_WRITE_EXT 0x34
#define CMD_READ_DMA_EXT 0x25
#define CMD_WRITE_DMA_EXT 0x35

// The bus-master registers of the primary channel, from the controller's BAR4.
#define BM_CMD 0
#define BM_STATUS 2
#define BM_PRDT 4
#define BM_START 0x01
#define BM_TO_MEMORY 0x08
#define BM_ACTIVE 0x01
#define BM_ERROR 0x02
#define BM_INTR 0x04
#define CMD_FLUSH_EXT 0xEA
#define CMD_IDENTIFY 0xEC

#define SECTORS_PER_PAGE (PAGE_SIZE / 512)
#define SPIN_LIMIT 10000000

struct ata_stats ata_stats;
static u64 sectors;       // the drive's size, 0: no drive
static u32 fail_reads_every;
static u16 bm;            // bus-master I/O base, 0: PIO only
static u32 *prdt;         // its descriptor table (a frame of umbra's)

static u32 pci_read(u32 bus, u32 dev, u32 fn, u32 off)
{
	outl(0xCF8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xFC));
	return inl(0xCFC);
}

static void pci_write(u32 bus, u32 dev, u32 fn, u32 off, u32 v)
{
	outl(0xCF8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xFC));
	outl(0xCFC, v);
}

// The IDE controller on bus 0 (class 1, subclass 1) with bus mastering:
// its BAR4, mastering enabled; 0 when there is none.
static u16 find_bus_master(void)
{
	for (u32 dev = 0; dev < 32; dev++) {
		for (u32 fn = 0; fn < 8; fn++) {
			u32 id = pci_read(0, dev, fn, 0);
			if ((id & 0xFFFF) == 0xFFFF)
				continue;
			u32 class = pci_read(0, dev, fn, 8);
			if ((class >> 16) != 0x0101 || !(class & 0x8000)) // storage/IDE, bus-master capable
				continue;
			u32 bar4 = pci_read(0, dev, fn, 0x20);
			if (!(bar4 & 1) || !(bar4 & 0xFFFC))
				continue;
			pci_write(0, dev, fn, 4, pci_read(0, dev, fn, 4) | 0x5); // I/O space, bus master
			return (u16)(bar4 & 0xFFFC);
		}
	}
	return 0;
}

// Wait until the drive is not busy; then its status, or -1 after too long.
static int wait_ready(void)
{
	for (int spin = 0; spin < SPIN_LIMIT; spin++) {
		u8 st = inb(ATA_STATUS);
		if (st == 0xFF)
			return -1; // floating bus: no controller
		if (!(st & ST_BSY))
			return st;
		pause();
	}
	return -1;
}

// Wait for data to move (DRQ), or an error.
static bool wait_drq(void)
{
	int st = wait_ready();
	return st >= 0 && !(st & (ST_ERR | ST_DF)) && (st & ST_DRQ);
}

static void lba48(u64 lba, u16 count)
{
	outb(ATA_DRIVE, 0x40); // master, LBA
	outb(ATA_COUNT, (u8)(count >> 8));
	outb(ATA_LBA0, (u8)(lba >> 24));
	outb(ATA_LBA1, (u8)(lba >> 32));
	outb(ATA_LBA2, (u8)(lba >> 40));
	outb(ATA_COUNT, (u8)count);
	outb(ATA_LBA0, (u8)lba);
	outb(ATA_LBA1, (u8)(lba >> 8));
	outb(ATA_LBA2, (u8)(lba >> 16));
}

u64 ata_init(u32 fail_every)
{
	fail_reads_every = fail_every;
	outb(ATA_CTRL, 0x02); // nIEN: no interrupts, umbra polls
	outb(ATA_DRIVE, 0xA0);
	if (inb(ATA_STATUS) == 0xFF)
		return 0; // no controller
	outb(ATA_COUNT, 0);
	outb(ATA_LBA0, 0);
	outb(ATA_LBA1, 0);
	outb(ATA_LBA2, 0);
	outb(ATA_CMD, CMD_IDENTIFY);
	if (inb(ATA_STATUS) == 0)
		return 0; // no drive
	if (wait_ready() < 0 || inb(ATA_LBA1) || inb(ATA_LBA2))
		return 0; // not ATA (an ATAPI CD answers with a signature here)
	if (!wait_drq())
		return 0;
	u16 id[256];
	insw(ATA_DATA, id, 256);
	if (!(id[83] & (1u << 10)))
		return 0; // no 48-bit LBA: not worth supporting for a swap disk
	sectors = (u64)id[100] | (u64)id[101] << 16 | (u64)id[102] << 32 | (u64)id[103] << 48;
	hfn_t prd_frame = (id[88] & 0x3F) ? frame_alloc(FRAME_VMM, OWNER_NONE) : 0; // some UDMA mode
	if (prd_frame && (bm = find_bus_master()))
		prdt = hfn_ptr(prd_frame);
	else if (prd_frame)
		frame_put(prd_frame);
	return sectors * 512;
}

bool ata_dma(void)
{
	return bm != 0;
}

// Pages [page, page + n) by DMA: the PRD table names each (anywhere in
// memory), the drive moves them with one command.
static int dma_pages(u32 page, u32 n, const void *const *bufs, bool write)
{
	if (wait_ready() < 0)
		return -1;
	outb(bm + BM_CMD, 0);
	for (u32 i = 0; i < n; i++) {
		prdt[2 * i] = (u32)((uintptr_t)bufs[i] - mm_phys_base);
		prdt[2 * i + 1] = PAGE_SIZE | (i == n - 1 ? 0x80000000u : 0); // the last entry
	}
	outl(bm + BM_PRDT, (u32)((uintptr_t)prdt - mm_phys_base));
	outb(bm + BM_STATUS, BM_ERROR | BM_INTR); // clear them
	u8 dir = write ? 0 : BM_TO_MEMORY;
	outb(bm + BM_CMD, dir);
	lba48((u64)page * SECTORS_PER_PAGE, (u16)(n * SECTORS_PER_PAGE));
	outb(ATA_CMD, write ? CMD_WRITE_DMA_EXT : CMD_READ_DMA_EXT);
	outb(bm + BM_CMD, dir | BM_START);
	int spin = 0;
	u8 bst;
	while (((bst = inb(bm + BM_STATUS)) & BM_ACTIVE) && !(bst & BM_ERROR) && ++spin < SPIN_LIMIT)
		pause();
	outb(bm + BM_CMD, 0);
	int st = wait_ready();
	if (spin >= SPIN_LIMIT || (bst & BM_ERROR) || st < 0 || (st & (ST_ERR | ST_DF))) {
		ata_stats.errors++;
		return -1;
	}
	return 0;
}

u32 ata_pages(void)
{
	u64 pages = sectors / SECTORS_PER_PAGE;
	return pages > 0xFFFFFFFFu ? 0xFFFFFFFFu : (u32)pages;
}

// One page by PIO: 8 sectors, each when the drive asks for it (DRQ).
static int pio_page(u32 page, u16 *w, bool write)
{
	if (wait_ready() < 0)
		return -1;
	lba48((u64)page * SECTORS_PER_PAGE, SECTORS_PER_PAGE);
	outb(ATA_CMD, write ? CMD_WRITE_EXT : CMD_READ_EXT);
	for (u32 s = 0; s < SECTORS_PER_PAGE; s++, w += 256) {
		if (!wait_drq()) {
			ata_stats.errors++;
			return -1;
		}
		if (write)
			outsw(ATA_DATA, w, 256);
		else
			insw(ATA_DATA, w, 256);
	}
	int st = wait_ready();
	if (st < 0 || (st & (ST_ERR | ST_DF))) {
		ata_stats.errors++;
		return -1;
	}
	return 0;
}

int ata_write_page(u32 page, const void *buf)
{
	ASSERT(page < ata_pages());
	int r = bm ? dma_pages(page, 1, &buf, true) : pio_page(page, (u16 *)(uintptr_t)buf, true);
	ata_stats.writes += r == 0;
	return r;
}

int ata_read_page(u32 page, void *buf)
{
	ASSERT(page < ata_pages());
	if (fail_reads_every && ++ata_stats.reads_tried % fail_reads_every == 0) {
		ata_stats.errors++;
		return -1; // swap_fail_reads=N: a read error as the drive would give one
	}
	const void *b = buf;
	int r = bm ? dma_pages(page, 1, &b, false) : pio_page(page, buf, false);
	ata_stats.reads += r == 0;
	return r;
}

int ata_write_pages(u32 first, u32 n, const void *const *pages)
{
	ASSERT(n && n <= ATA_RUN_MAX && first + n <= ata_pages());
	if (!bm) {
		for (u32 i = 0; i < n; i++)
			if (ata_write_page(first + i, pages[i]) < 0)
				return -1;
		return 0;
	}
	int r = dma_pages(first, n, pages, true);
	ata_stats.writes += r == 0 ? n : 0;
	ata_stats.runs += r == 0;
	return r;
}

int ata_read_pages(u32 first, u32 n, void *const *pages)
{
	ASSERT(n && n <= ATA_RUN_MAX && first + n <= ata_pages());
	if (!bm || fail_reads_every) { // (swap_fail_reads counts page reads)
		for (u32 i = 0; i < n; i++)
			if (ata_read_page(first + i, pages[i]) < 0)
				return -1;
		return 0;
	}
	int r = dma_pages(first, n, (const void *const *)pages, false);
	ata_stats.reads += r == 0 ? n : 0;
	ata_stats.runs += r == 0;
	return r;
}

static int swap_write(void *arg, u32 slot, const void *page)
{
	(void)arg;
	u64 t0 = rdtsc();
	int r = ata_write_page(slot, page);
	ata_stats.write_cycles += rdtsc() - t0;
	return r;
}

static int swap_read(void *arg, u32 slot, void *page)
{
	(void)arg;
	u64 t0 = rdtsc();
	int r = ata_read_page(slot, page);
	ata_stats.read_cycles += rdtsc() - t0;
	return r;
}

static u64 now(void)
{
	return rdtsc();
}

static int swap_write_run(void *arg, u32 first, u32 n, const void *const *pages)
{
	(void)arg;
	u64 t0 = rdtsc();
	int r = ata_write_pages(first, n, pages);
	ata_stats.write_cycles += rdtsc() - t0;
	return r;
}

static int swap_read_run(void *arg, u32 first, u32 n, void *const *pages)
{
	(void)arg;
	u64 t0 = rdtsc();
	int r = ata_read_pages(first, n, pages);
	ata_stats.read_cycles += rdtsc() - t0;
	return r;
}

const struct swap_ops ata_swap_ops = {
	.write = swap_write, .read = swap_read, .write_run = swap_write_run, .read_run = swap_read_run, .now = now,
};

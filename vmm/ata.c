// umbra's own disk: an ATA drive on the legacy primary IDE channel (ports
// 0x1F0-0x1F7, control 0x3F6), driven by polling with PIO and 48-bit LBAs,
// interrupts off. No guest sees it (guests' port I/O goes to umbra's device
// models, which have no disk); it is the swap store (mm/swap.c). A page is
// 8 sectors, slot N at LBA 8N, one command a page.
#include "asm.h"
#include "ata.h"
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
#define CMD_FLUSH_EXT 0xEA
#define CMD_IDENTIFY 0xEC

#define SECTORS_PER_PAGE (PAGE_SIZE / 512)
#define SPIN_LIMIT 10000000

struct ata_stats ata_stats;
static u64 sectors;       // the drive's size, 0: no drive
static u32 fail_reads_every;

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
	return sectors * 512;
}

u32 ata_pages(void)
{
	u64 pages = sectors / SECTORS_PER_PAGE;
	return pages > 0xFFFFFFFFu ? 0xFFFFFFFFu : (u32)pages;
}

int ata_write_page(u32 page, const void *buf)
{
	ASSERT(page < ata_pages());
	if (wait_ready() < 0)
		return -1;
	lba48((u64)page * SECTORS_PER_PAGE, SECTORS_PER_PAGE);
	outb(ATA_CMD, CMD_WRITE_EXT);
	const u16 *w = buf;
	for (u32 s = 0; s < SECTORS_PER_PAGE; s++) {
		if (!wait_drq()) {
			ata_stats.errors++;
			return -1;
		}
		outsw(ATA_DATA, w, 256);
		w += 256;
	}
	int st = wait_ready();
	if (st < 0 || (st & (ST_ERR | ST_DF))) {
		ata_stats.errors++;
		return -1;
	}
	ata_stats.writes++;
	return 0;
}

int ata_read_page(u32 page, void *buf)
{
	ASSERT(page < ata_pages());
	if (fail_reads_every && ++ata_stats.reads_tried % fail_reads_every == 0) {
		ata_stats.errors++;
		return -1; // swap_fail_reads=N: a read error as the drive would give one
	}
	if (wait_ready() < 0)
		return -1;
	lba48((u64)page * SECTORS_PER_PAGE, SECTORS_PER_PAGE);
	outb(ATA_CMD, CMD_READ_EXT);
	u16 *w = buf;
	for (u32 s = 0; s < SECTORS_PER_PAGE; s++) {
		if (!wait_drq()) {
			ata_stats.errors++;
			return -1;
		}
		insw(ATA_DATA, w, 256);
		w += 256;
	}
	ata_stats.reads++;
	return 0;
}

static int swap_write(void *arg, u32 slot, const void *page)
{
	(void)arg;
	return ata_write_page(slot, page);
}

static int swap_read(void *arg, u32 slot, void *page)
{
	(void)arg;
	return ata_read_page(slot, page);
}

const struct swap_ops ata_swap_ops = { swap_write, swap_read, NULL };

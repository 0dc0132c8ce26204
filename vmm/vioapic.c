// The IOAPIC's registers (see vioapic.h), as QEMU answers them, which is
// what plain QEMU's guests see: the window decodes the low byte of the
// offset (0x00 IOREGSEL, 0x10 IOWIN, 0x40 EOI; the rest reads 0), the ID is
// 4 bits at 24, IOREGSEL 8 bits, the version register says 0x20 and 24 entries, a
// redirection entry keeps its delivery-status and remote-IRR bits (read-only)
// across writes, and an unknown register reads 0.
#include "umbra.h"
#include "vioapic.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_EOI 0x40
#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARB 0x02
#define REG_REDIR 0x10
#define VERSION 0x20
#define REDIR_MASKED (1ull << 16)
#define REDIR_RO ((1ull << 12) | (1ull << 14)) // delivery status, remote IRR

void vioapic_reset(struct vioapic *io)
{
	io->ioregsel = 0;
	io->id = 0;
	for (int i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = REDIR_MASKED;
}

static u32 reg_read(const struct vioapic *io, u32 reg)
{
	if (reg == REG_ID)
		return (u32)io->id << 24;
	if (reg == REG_VERSION)
		return VERSION | ((IOAPIC_PINS - 1) << 16);
	if (reg >= REG_REDIR && reg < REG_REDIR + 2 * IOAPIC_PINS) {
		u64 e = io->redir[(reg - REG_REDIR) / 2];
		return (reg & 1) ? (u32)(e >> 32) : (u32)e;
	}
	return 0; // arbitration (0 here, as QEMU), and registers that do not exist
}

static void reg_write(struct vioapic *io, u32 reg, u32 val)
{
	if (reg == REG_ID) {
		io->id = (val >> 24) & 0x0F;
	} else if (reg >= REG_REDIR && reg < REG_REDIR + 2 * IOAPIC_PINS) {
		u64 *e = &io->redir[(reg - REG_REDIR) / 2];
		if (reg & 1)
			*e = (*e & 0xFFFFFFFFull) | ((u64)val << 32);
		else
			*e = (*e & ~0xFFFFFFFFull) | (*e & REDIR_RO) | (val & ~(u32)REDIR_RO);
	}
}

u32 vioapic_read(struct vm *vm, u32 offset)
{
	struct vioapic *io = &vm->dev.ioapic;
	switch (offset & 0xFF) {
	case IOREGSEL: return io->ioregsel;
	case IOWIN: return reg_read(io, io->ioregsel);
	default: return 0;
	}
}

void vioapic_write(struct vm *vm, u32 offset, u32 val)
{
	struct vioapic *io = &vm->dev.ioapic;
	switch (offset & 0xFF) {
	case IOREGSEL: io->ioregsel = val & 0xFF; break; // an 8-bit register
	case IOWIN: reg_write(io, io->ioregsel, val); break;
	case IOAPIC_EOI: break; // no remote IRR is ever set while it routes nothing
	default: break;
	}
}

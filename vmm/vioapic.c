// The IOAPIC's registers (see vioapic.h), as QEMU answers them, which is
// what plain QEMU's guests see: the window decodes the low byte of the
// offset (0x00 IOREGSEL, 0x10 IOWIN, 0x40 EOI; the rest reads 0), the ID is
// 4 bits at 24, IOREGSEL 8 bits, the version register says 0x20 and 24 entries, a
// redirection entry keeps its delivery-status and remote-IRR bits (read-only)
// across writes, and an unknown register reads 0. Delivery as QEMU's too:
// an edge on a masked pin is lost, a level pin waits for its unmasking, and
// a level interrupt sets remote IRR until the EOI for its vector.
#include "log.h"
#include "umbra.h"
#include "vioapic.h"
#include "vlapic.h"
#include "vm.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_EOI 0x40
#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARB 0x02
#define REG_REDIR 0x10
#define VERSION 0x20
#define REDIR_MASKED (1ull << 16)
#define REDIR_LEVEL (1ull << 15)
#define REDIR_REMOTE_IRR (1ull << 14)
#define REDIR_LOGICAL (1ull << 11)
#define REDIR_RO ((1ull << 12) | REDIR_REMOTE_IRR) // delivery status, remote IRR
#define DM_FIXED 0
#define DM_LOWEST 1
#define DM_NMI 4
#define DM_EXTINT 7

void vioapic_reset(struct vioapic *io)
{
	io->ioregsel = 0;
	io->id = 0;
	io->irr = 0;
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

bool vioapic_pin_masked(const struct vioapic *io, u32 pin)
{
	return io->redir[pin] & REDIR_MASKED;
}

static void deliver(struct vm *vm, u64 e)
{
	struct vlapic *a = &vm->dev.lapic;
	if (!vlapic_match_dest(a, (u8)(e >> 56), e & REDIR_LOGICAL))
		return;
	switch ((e >> 8) & 7) {
	case DM_FIXED: case DM_LOWEST:
		vlapic_accept(vm, (u8)e, e & REDIR_LEVEL);
		break;
	case DM_NMI:
		a->nmi_pending = true;
		break;
	case DM_EXTINT: { // the 8259 gives the vector, as QEMU's IOAPIC asks it
		int vec = vpic_pending(vm);
		if (vec >= 0) {
			vpic_ack(vm);
			vlapic_accept(vm, (u8)vec, false);
		}
		break;
	}
	default:
		break; // SMI, INIT: nothing here takes them
	}
}

// Send what the asserted, unmasked pins ask: an edge once, a level once
// until its EOI (remote IRR).
static void service(struct vm *vm)
{
	struct vioapic *io = &vm->dev.ioapic;
	for (u32 pin = 0; io->irr && pin < IOAPIC_PINS; pin++) {
		u64 *e = &io->redir[pin];
		if (!(io->irr & (1u << pin)) || (*e & REDIR_MASKED))
			continue;
		if (!(*e & REDIR_LEVEL)) {
			io->irr &= ~(1u << pin);
		} else {
			if (*e & REDIR_REMOTE_IRR)
				continue;
			*e |= REDIR_REMOTE_IRR;
		}
		deliver(vm, *e);
	}
}

void vioapic_set_line(struct vm *vm, u32 pin, bool level, bool rising)
{
	struct vioapic *io = &vm->dev.ioapic;
	u64 e = io->redir[pin];
	if (e & REDIR_LEVEL) {
		if (!level) {
			io->irr &= ~(1u << pin);
			return;
		}
		io->irr |= 1u << pin;
	} else {
		if (!rising || (e & REDIR_MASKED))
			return; // the 82093 ignores edges on a masked pin
		io->irr |= 1u << pin;
	}
	service(vm);
}

void vioapic_show(const struct vm *vm)
{
	kprintf("  IOAPIC pins unmasked:");
	u32 n = 0;
	for (u32 pin = 0; pin < IOAPIC_PINS; pin++) {
		u64 e = vm->dev.ioapic.redir[pin];
		if (e & REDIR_MASKED)
			continue;
		kprintf(" %u->0x%x%s%s", pin, (u32)(u8)e, (e & REDIR_LEVEL) ? " level" : "",
			(e & REDIR_REMOTE_IRR) ? " (remote IRR)" : "");
		n++;
	}
	kprintf("%s\n", n ? "" : " none");
}

void vioapic_eoi(struct vm *vm, u8 vector)
{
	struct vioapic *io = &vm->dev.ioapic;
	bool again = false;
	for (u32 pin = 0; pin < IOAPIC_PINS; pin++) {
		u64 *e = &io->redir[pin];
		if ((*e & REDIR_REMOTE_IRR) && (u8)*e == vector) {
			*e &= ~REDIR_REMOTE_IRR;
			again = true;
		}
	}
	if (again)
		service(vm);
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
		if (!(*e & REDIR_LEVEL))
			*e &= ~REDIR_REMOTE_IRR; // an edge entry has no EOI to wait for
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
	case IOWIN: reg_write(io, io->ioregsel, val); service(vm); break;
	case IOAPIC_EOI: vioapic_eoi(vm, (u8)val); break;
	default: break;
	}
}

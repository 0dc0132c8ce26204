// The guest's local APIC (see vlapic.h). Plain QEMU is the reference; where
// it departs from the SDM on input no correct kernel gives, umbra follows
// the SDM and says so: reserved LVT and ICR-low bits read as 0, the ICR's
// delivery-status bit reads idle, a write to the ESR latches the errors seen
// since the last write (QEMU ignores it), vectors 0-15 are refused with an
// ESR error instead of delivered, and software disable masks every LVT.
//
// Hot reads: some kernels read the APIC ID on every lock. An exit per read
// costs tens of microseconds under emulation, so once a VM has made
// LAPIC_HOT_READS reads, its registers are shown in a page of their values
// mapped read-only (the shadow maps it as a device page, mm/gpmap.c): reads
// cost nothing, writes still exit and are emulated, and umbra rewrites the
// page whenever a register changes (all such changes happen in umbra). The
// timer's current count changes by itself, so while the timer counts the
// page is hidden (its mappings zapped through its reverse map) and reads
// exit again. The one thing the page cannot do: a read of a register that
// does not exist reads 0 without setting the ESR's illegal-address bit.
#include "frame.h"
#include "intr.h"
#include "lib.h"
#include "log.h"
#include "umbra.h"
#include "vlapic.h"
#include "vm.h"

#define REG_ID 0x02
#define REG_VERSION 0x03
#define REG_TPR 0x08
#define REG_APR 0x09
#define REG_PPR 0x0A
#define REG_EOI 0x0B
#define REG_LDR 0x0D
#define REG_DFR 0x0E
#define REG_SVR 0x0F
#define REG_ISR 0x10
#define REG_TMR 0x18
#define REG_IRR 0x20
#define REG_ESR 0x28
#define REG_ICR_LO 0x30
#define REG_ICR_HI 0x31
#define REG_LVT 0x32
#define REG_TMICT 0x38
#define REG_TMCCT 0x39
#define REG_TDCR 0x3E

#define VERSION 0x14 // an integrated APIC, as QEMU's
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_LEVEL (1u << 15)
#define LVT_PERIODIC (1u << 17)
#define ESR_SEND_ILLEGAL_VECTOR 0x20
#define ESR_RECV_ILLEGAL_VECTOR 0x40
#define ESR_ILLEGAL_ADDRESS 0x80
#define ICR_WRITABLE 0x000CCFFFu // vector, delivery and destination mode, level, trigger, shorthand
#define DM_FIXED 0
#define DM_LOWEST 1
#define DM_SMI 2
#define DM_NMI 4
#define DM_INIT 5
#define DM_SIPI 6
#define DM_EXTINT 7
// A periodic timer interrupts at most this often (its count still runs at
// the programmed rate), for the reason vpit.c gives; KVM does the same.
#define TIMER_MIN_PERIOD_US 200u
#define LAPIC_HOT_READS 256u

// The bits a guest can write in each LVT entry: vector, delivery mode,
// polarity, trigger, mask, and the timer's periodic mode.
static const u32 lvt_writable[LVT_NR] = {
	[LVT_TIMER] = 0x300FFu, [LVT_THERMAL] = 0x107FFu, [LVT_PERF] = 0x107FFu,
	[LVT_LINT0] = 0x1A7FFu, [LVT_LINT1] = 0x1A7FFu, [LVT_ERROR] = 0x100FFu,
};

void vlapic_reset(struct vlapic *a)
{
	memset(a, 0, sizeof(*a));
	a->base_msr = LAPIC_GPA | APIC_BASE_BSP | APIC_BASE_ENABLE;
	a->dfr_model = 0xF;
	a->svr = SVR_ENABLE | 0xFF;
	for (int i = 0; i < LVT_NR; i++)
		a->lvt[i] = LVT_MASKED;
	a->lvt[LVT_LINT0] = LVT_LEVEL | (DM_EXTINT << 8);
	a->lvt[LVT_LINT1] = LVT_LEVEL | (DM_NMI << 8);
	a->icr_lo = 0x000C4610u; // what SeaBIOS's last IPI (a startup to all others) leaves
	a->timer_next_tsc = ~0ull;
}

bool vlapic_hw_enabled(const struct vlapic *a)
{
	return a->base_msr & APIC_BASE_ENABLE;
}

static bool sw_enabled(const struct vlapic *a)
{
	return a->svr & SVR_ENABLE;
}

static bool test_bit(const u32 *bits, u8 v)
{
	return bits[v / 32] & (1u << (v % 32));
}

static void set_bit(u32 *bits, u8 v, bool on)
{
	if (on)
		bits[v / 32] |= 1u << (v % 32);
	else
		bits[v / 32] &= ~(1u << (v % 32));
}

static int highest(const u32 *bits)
{
	for (int i = 7; i >= 0; i--)
		if (bits[i])
			return i * 32 + 31 - __builtin_clz(bits[i]);
	return -1;
}

static u32 ppr(const struct vlapic *a)
{
	int isrv = highest(a->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xF0;
	return (a->tpr & 0xF0) >= isr_class ? a->tpr : isr_class;
}

int vlapic_pending(const struct vlapic *a)
{
	if (!sw_enabled(a))
		return -1;
	int irrv = highest(a->irr);
	if (irrv < 0)
		return -1;
	u32 p = ppr(a);
	if (p && ((u32)irrv & 0xF0) <= (p & 0xF0))
		return -1;
	return irrv;
}

void vlapic_ack(struct vlapic *a, u8 vector)
{
	set_bit(a->irr, vector, false);
	set_bit(a->isr, vector, true);
	a->page_dirty = true;
}

void vlapic_unack(struct vlapic *a, u8 vector)
{
	set_bit(a->isr, vector, false);
	set_bit(a->irr, vector, true);
	a->page_dirty = true;
}

bool vlapic_accepts_pic(const struct vlapic *a)
{
	return !vlapic_hw_enabled(a) || !(a->lvt[LVT_LINT0] & LVT_MASKED);
}

void vlapic_accept(struct vm *vm, u8 vector, bool level)
{
	struct vlapic *a = &vm->dev.lapic;
	if (vector < 16) {
		a->esr_pending |= ESR_RECV_ILLEGAL_VECTOR;
		vm_say(vm, SAID_APIC, "interrupt with vector %u refused by the local APIC (vectors 0-15 are reserved)", vector);
		return;
	}
	set_bit(a->irr, vector, true);
	set_bit(a->tmr, vector, level);
	a->page_dirty = true;
}

bool vlapic_match_dest(const struct vlapic *a, u8 dest, bool logical)
{
	if (!logical)
		return dest == 0xFF || dest == a->id;
	if (a->dfr_model == 0xF)
		return dest & a->ldr;
	return (dest & 0xF0) == (a->ldr & 0xF0) && (dest & a->ldr & 0x0F);
}

// Deliver what an LVT entry says (its interrupt fired).
static void local_deliver(struct vm *vm, enum lvt n)
{
	u32 lvt = vm->dev.lapic.lvt[n];
	if (lvt & LVT_MASKED)
		return;
	switch ((lvt >> 8) & 7) {
	case DM_FIXED:
		vlapic_accept(vm, (u8)lvt, (n == LVT_LINT0 || n == LVT_LINT1) && (lvt & LVT_LEVEL));
		break;
	case DM_NMI:
		vm->dev.lapic.nmi_pending = true;
		break;
	default:
		break; // ExtINT: the 8259 answers (vlapic_accepts_pic); SMI, INIT: no such thing here
	}
}

// Timer: QEMU's 1 GHz bus clock divided by 2^shift (TDCR 1011 = divide by 1).
static u32 timer_shift(const struct vlapic *a)
{
	u32 v = (a->timer_divide & 3) | ((a->timer_divide >> 1) & 4);
	return (v + 1) & 7;
}

static u64 tsc_to_ns(u64 tsc)
{
	return tsc / cfg.tsc_khz * 1000000 + tsc % cfg.tsc_khz * 1000000 / cfg.tsc_khz;
}

static u64 ns_to_tsc(u64 ns)
{
	return ns / 1000000 * cfg.tsc_khz + ns % 1000000 * cfg.tsc_khz / 1000000;
}

// Bus clocks (divided) since the count was loaded.
static u64 timer_elapsed(const struct vlapic *a, u64 now)
{
	return tsc_to_ns(now - a->timer_load_tsc) >> timer_shift(a);
}

static u32 timer_current(const struct vlapic *a, u64 now)
{
	if (!a->timer_initial)
		return 0;
	u64 d = timer_elapsed(a, now);
	if (a->lvt[LVT_TIMER] & LVT_PERIODIC)
		return a->timer_initial - (u32)(d % ((u64)a->timer_initial + 1));
	return d >= a->timer_initial ? 0 : a->timer_initial - (u32)d;
}

// The next expiry after now: a period is initial + 1 clocks, as QEMU's.
static void timer_arm(struct vlapic *a, u64 now)
{
	a->timer_next_tsc = ~0ull;
	if (!a->timer_initial)
		return;
	u64 d = timer_elapsed(a, now), period = (u64)a->timer_initial + 1, n;
	if (a->lvt[LVT_TIMER] & LVT_PERIODIC)
		n = (d / period + 1) * period;
	else if (d < a->timer_initial)
		n = period;
	else
		return; // a one-shot that already fired
	a->timer_next_tsc = a->timer_load_tsc + ns_to_tsc(n << timer_shift(a));
}

void vlapic_update(struct vm *vm)
{
	struct vlapic *a = &vm->dev.lapic;
	u64 now = __builtin_ia32_rdtsc();
	if (now < a->timer_next_tsc)
		return;
	local_deliver(vm, LVT_TIMER); // periods that passed unseen merge into one (IRR holds one bit)
	timer_arm(a, now);
	if (a->timer_next_tsc != ~0ull)
		a->timer_next_tsc = MAX(a->timer_next_tsc, now + TIMER_MIN_PERIOD_US * cfg.tsc_khz / 1000);
}

u64 vlapic_next_irq_tsc(const struct vm *vm)
{
	const struct vlapic *a = &vm->dev.lapic;
	return (a->lvt[LVT_TIMER] & LVT_MASKED) ? ~0ull : a->timer_next_tsc;
}

static void eoi(struct vm *vm)
{
	struct vlapic *a = &vm->dev.lapic;
	int v = highest(a->isr);
	if (v < 0)
		return;
	set_bit(a->isr, (u8)v, false);
	a->page_dirty = true;
	if (test_bit(a->tmr, (u8)v))
		vioapic_eoi(vm, (u8)v);
}

// An IPI (the ICR's low half was written). One CPU: only the APIC itself
// can be a destination.
static void send_ipi(struct vm *vm)
{
	struct vlapic *a = &vm->dev.lapic;
	u32 icr = a->icr_lo;
	u8 vector = (u8)icr, mode = (icr >> 8) & 7;
	bool to_self;
	switch ((icr >> 18) & 3) {
	case 0: to_self = vlapic_match_dest(a, (u8)(a->icr_hi >> 24), icr & (1u << 11)); break;
	case 1: case 2: to_self = true; break;
	default: to_self = false; break; // all excluding self
	}
	if (!to_self)
		return;
	switch (mode) {
	case DM_FIXED: case DM_LOWEST:
		if (vector < 16) {
			a->esr_pending |= ESR_SEND_ILLEGAL_VECTOR;
			return;
		}
		vlapic_accept(vm, vector, icr & LVT_LEVEL);
		break;
	case DM_NMI:
		a->nmi_pending = true;
		break;
	case DM_INIT:
		if ((icr & (1u << 14)) || !(icr & LVT_LEVEL)) // not the level de-assert, which does nothing
			vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true,
			       "INIT IPI to its own CPU: umbra has no firmware to restart it in");
		break;
	default:
		break; // SIPI (only a CPU waiting after INIT takes it), SMI, ExtINT
	}
}

// Register r's value; false if there is no such register.
static bool peek(const struct vlapic *a, u32 r, u32 *val)
{
	switch (r) {
	case REG_ID: *val = (u32)a->id << 24; return true;
	case REG_VERSION: *val = VERSION | ((LVT_NR - 1) << 16); return true;
	case REG_TPR: *val = a->tpr; return true;
	case REG_APR: *val = 0; return true;
	case REG_PPR: *val = ppr(a); return true;
	case REG_EOI: *val = 0; return true;
	case REG_LDR: *val = (u32)a->ldr << 24; return true;
	case REG_DFR: *val = ((u32)a->dfr_model << 28) | 0x0FFFFFFF; return true;
	case REG_SVR: *val = a->svr; return true;
	case REG_ESR: *val = a->esr; return true;
	case REG_ICR_LO: *val = a->icr_lo; return true;
	case REG_ICR_HI: *val = a->icr_hi; return true;
	case REG_TMICT: *val = a->timer_initial; return true;
	case REG_TMCCT: *val = timer_current(a, __builtin_ia32_rdtsc()); return true;
	case REG_TDCR: *val = a->timer_divide; return true;
	}
	if (r >= REG_ISR && r < REG_ISR + 8)
		*val = a->isr[r - REG_ISR];
	else if (r >= REG_TMR && r < REG_TMR + 8)
		*val = a->tmr[r - REG_TMR];
	else if (r >= REG_IRR && r < REG_IRR + 8)
		*val = a->irr[r - REG_IRR];
	else if (r >= REG_LVT && r < REG_LVT + LVT_NR)
		*val = a->lvt[r - REG_LVT];
	else
		return false;
	return true;
}

static bool timer_counts(const struct vlapic *a)
{
	return a->timer_next_tsc != ~0ull;
}

// The page's register values: all of it when it is shown, then (at each
// change) only the first 1 KiB, where the registers are: the rest reads 0.
static void page_write(struct vm *vm, bool whole)
{
	u32 *page = hfn_ptr(vm->lapic_page);
	for (u32 r = 0; r < (whole ? PAGE_SIZE / 16 : REG_TDCR + 1); r++) {
		u32 val = 0;
		peek(&vm->dev.lapic, r, &val);
		for (u32 i = 0; i < 4; i++) // QEMU decodes the offset's bits 4-11 only
			page[r * 4 + i] = val;
	}
	vm->dev.lapic.page_dirty = false;
}

void vlapic_page_sync(struct vm *vm)
{
	if (vm->dev.lapic.page_shown && vm->dev.lapic.page_dirty)
		page_write(vm, false);
}

void vlapic_page_hide(struct vm *vm)
{
	struct vlapic *a = &vm->dev.lapic;
	a->reads = 0;
	if (!a->page_shown)
		return;
	a->page_shown = false;
	gpmap_show_readonly(&vm->gpmap, LAPIC_GPA >> PAGE_SHIFT, 0);
	shadow_reclaim(vm->lapic_page, NULL, NULL);
}

void vlapic_cloned(struct vm *vm, struct vm *parent)
{
	struct vlapic *a = &vm->dev.lapic;
	vlapic_page_hide(parent);
	a->page_shown = false;
	a->page_dirty = true;
	a->reads = 0;
	a->page_shows = 0;
}

// Another emulated read: show the page if the VM reads often and the
// timer does not count.
static void count_read(struct vm *vm)
{
	struct vlapic *a = &vm->dev.lapic;
	if (a->page_shown || ++a->reads < LAPIC_HOT_READS || timer_counts(a) || !vm->lapic_page)
		return;
	page_write(vm, true);
	a->page_shown = true;
	a->page_shows++;
	gpmap_show_readonly(&vm->gpmap, LAPIC_GPA >> PAGE_SHIFT, vm->lapic_page);
}

u32 vlapic_read(struct vm *vm, u32 offset)
{
	struct vlapic *a = &vm->dev.lapic;
	u32 val;
	count_read(vm);
	if (peek(a, (offset >> 4) & 0xFF, &val))
		return val;
	a->esr_pending |= ESR_ILLEGAL_ADDRESS;
	return 0;
}

static void write_lvt(struct vm *vm, enum lvt n, u32 val)
{
	struct vlapic *a = &vm->dev.lapic;
	val &= lvt_writable[n];
	if (!sw_enabled(a))
		val |= LVT_MASKED;
	a->lvt[n] = val;
	if (n == LVT_TIMER)
		timer_arm(a, __builtin_ia32_rdtsc());
}

static void write_reg(struct vm *vm, u32 r, u32 val)
{
	struct vlapic *a = &vm->dev.lapic;
	if (r >= REG_LVT && r < REG_LVT + LVT_NR) {
		write_lvt(vm, r - REG_LVT, val);
		return;
	}
	switch (r) {
	case REG_ID: a->id = (u8)(val >> 24); break; // QEMU lets it change; so does the P6
	case REG_TPR: a->tpr = val & 0xFF; break;
	case REG_EOI: eoi(vm); break;
	case REG_LDR: a->ldr = (u8)(val >> 24); break;
	case REG_DFR: a->dfr_model = (u8)(val >> 28); break;
	case REG_SVR:
		a->svr = val & 0x1FF; // no EOI-broadcast suppression (version bit 24 clear)
		if (!sw_enabled(a))
			for (int i = 0; i < LVT_NR; i++)
				a->lvt[i] |= LVT_MASKED;
		break;
	case REG_ESR:
		a->esr = a->esr_pending;
		a->esr_pending = 0;
		break;
	case REG_ICR_LO:
		a->icr_lo = val & ICR_WRITABLE;
		send_ipi(vm);
		break;
	case REG_ICR_HI: a->icr_hi = val; break; // all 32 bits read back, as QEMU's

	case REG_TMICT:
		a->timer_initial = val;
		a->timer_load_tsc = __builtin_ia32_rdtsc();
		timer_arm(a, a->timer_load_tsc);
		break;
	case REG_TDCR:
		a->timer_divide = val & 0xB;
		timer_arm(a, __builtin_ia32_rdtsc());
		break;
	case REG_VERSION: case REG_APR: case REG_PPR: case REG_TMCCT:
		break; // read-only
	default:
		if ((r >= REG_ISR && r < REG_IRR + 8) || r == REG_ESR)
			break; // read-only
		a->esr_pending |= ESR_ILLEGAL_ADDRESS;
		break;
	}
}

void vlapic_write(struct vm *vm, u32 offset, u32 val)
{
	write_reg(vm, (offset >> 4) & 0xFF, val);
	vm->dev.lapic.page_dirty = true;
	if (timer_counts(&vm->dev.lapic))
		vlapic_page_hide(vm); // its current count now changes by itself
}

void vlapic_show(const struct vm *vm)
{
	const struct vlapic *a = &vm->dev.lapic;
	u32 lvt = a->lvt[LVT_TIMER];
	kprintf("  local APIC: %s, TPR %x, highest in service %d, pending %d; timer %s vector 0x%x, count %u of %u, "
		"divide %u; ID page %s (shown %u times)\n",
		!vlapic_hw_enabled(a) ? "disabled" : sw_enabled(a) ? "enabled" : "software-disabled", a->tpr,
		highest(a->isr), highest(a->irr), (lvt & LVT_MASKED) ? "masked" : (lvt & LVT_PERIODIC) ? "periodic" : "one-shot",
		lvt & 0xFF, timer_current(a, __builtin_ia32_rdtsc()), a->timer_initial, 1u << timer_shift(a),
		a->page_shown ? "shown" : "hidden", a->page_shows);
}

u64 vlapic_base_read(struct vm *vm)
{
	return vm->dev.lapic.base_msr;
}

// Bits 12-31 the base, 11 enable, 8 BSP (read-only); the rest reserved
// (x2APIC's bit 10 among them: it is not offered). Once disabled, the APIC
// stays disabled until reset, as QEMU's (and the SDM's: it loses its state).
bool vlapic_base_write(struct vm *vm, u64 val)
{
	struct vlapic *a = &vm->dev.lapic;
	if (val & ~(u64)(0xFFFFF000u | APIC_BASE_ENABLE | APIC_BASE_BSP))
		return false;
	if ((val & 0xFFFFF000u) != LAPIC_GPA) {
		vm_end(vm, UMBRA_EXIT_GUEST_STOPPED, true,
		       "the local APIC's base moved to 0x%x: umbra keeps it at 0x%x", (u32)val & 0xFFFFF000u, LAPIC_GPA);
		return true;
	}
	if (!(val & APIC_BASE_ENABLE) && vlapic_hw_enabled(a)) {
		a->page_dirty = true;
		a->base_msr &= ~(u64)APIC_BASE_ENABLE;
		a->svr &= ~SVR_ENABLE;
		for (int i = 0; i < LVT_NR; i++)
			a->lvt[i] |= LVT_MASKED;
	}
	return true;
}

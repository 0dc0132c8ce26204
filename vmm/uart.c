// The guest's 16550A (see uart.h). Register behaviour follows QEMU's model,
// which is what the same guest sees on plain QEMU: transmission completes at
// once, so THRE and TEMT are always set after a write and the transmit-empty
// interrupt follows every byte; the modem status lines are fixed (DCD, DSR,
// CTS) except in loopback, where they mirror MCR with no delta bits.
#include "lib.h"
#include "log.h"
#include "uart.h"
#include "intr.h"
#include "umbra.h"

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_CTI 0x0C
#define IIR_FIFO 0xC0
#define FCR_FE 0x01
#define FCR_RFR 0x02
#define FCR_XFR 0x04
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_INT_ANY 0x1E
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_FIXED 0xB0 // DCD | DSR | CTS

void uart_reset(struct vuart *u)
{
	memset(u, 0, sizeof(*u));
	u->lsr = LSR_THRE | LSR_TEMT;
	u->mcr = 0x08;   // OUT2, as QEMU resets it
	u->divisor = 12; // 9600 baud
	u->itl = 1;
}

static u8 uart_iir(const struct vuart *u)
{
	u8 id = IIR_NO_INT;
	if ((u->ier & IER_RLSI) && (u->lsr & LSR_INT_ANY))
		id = IIR_RLSI;
	else if ((u->ier & IER_RDI) && u->timeout_ipending)
		id = IIR_CTI;
	else if ((u->ier & IER_RDI) && (u->lsr & LSR_DR) && (!(u->fcr & FCR_FE) || u->rx_count >= u->itl))
		id = IIR_RDI;
	else if ((u->ier & IER_THRI) && u->thr_ipending)
		id = IIR_THRI;
	return id | ((u->fcr & FCR_FE) ? IIR_FIFO : 0);
}

static void update_irq(struct vm *vm)
{
	intr_isa_set(vm, ISA_IRQ_COM1, !(uart_iir(&vm->dev.uart) & IIR_NO_INT));
}

// Four character times at the programmed rate, 10 bits a character.
static u64 char_timeout_tsc(const struct vuart *u)
{
	u64 divisor = u->divisor ? u->divisor : 1;
	u64 ns = 4 * 10 * 1000000000ull * divisor / 115200;
	return __builtin_ia32_rdtsc() + ns * cfg.tsc_khz / 1000000;
}

// One byte arrives at the receiver (from the host or, in loopback, the
// transmitter). A full FIFO, or a full RBR without one, is an overrun.
static void receive(struct vuart *u, u8 c)
{
	if (u->fcr & FCR_FE) {
		if (u->rx_count == UART_FIFO) {
			u->lsr |= LSR_OE;
		} else {
			u->rx[(u->rx_head + u->rx_count) % UART_FIFO] = c;
			u->rx_count++;
		}
		u->timeout_tsc = char_timeout_tsc(u);
	} else {
		if (u->lsr & LSR_DR)
			u->lsr |= LSR_OE;
		u->rbr = c;
	}
	u->lsr |= LSR_DR;
}

static bool can_receive(const struct vuart *u)
{
	return (u->fcr & FCR_FE) ? u->rx_count < UART_FIFO : !(u->lsr & LSR_DR);
}

void uart_update(struct vm *vm)
{
	struct vuart *u = &vm->dev.uart;
	// Register accesses update the line themselves; only typed bytes and
	// the character timeout change it from outside (checked every entry).
	if (!u->q_count && !u->timeout_tsc)
		return;
	if (!(u->mcr & MCR_LOOP)) {
		while (u->q_count && can_receive(u)) {
			receive(u, u->queue[u->q_head]);
			u->q_head = (u->q_head + 1) % UART_INPUT_QUEUE;
			u->q_count--;
		}
	}
	if (u->timeout_tsc && u->rx_count && __builtin_ia32_rdtsc() >= u->timeout_tsc) {
		u->timeout_ipending = true;
		u->timeout_tsc = 0;
	}
	update_irq(vm);
}

bool uart_host_input(struct vm *vm, u8 c)
{
	struct vuart *u = &vm->dev.uart;
	if (u->q_count == UART_INPUT_QUEUE)
		return false;
	u->queue[(u->q_head + u->q_count) % UART_INPUT_QUEUE] = c;
	u->q_count++;
	return true;
}

u64 uart_next_irq_tsc(const struct vm *vm)
{
	const struct vuart *u = &vm->dev.uart;
	return u->timeout_tsc && u->rx_count && (u->ier & IER_RDI) ? u->timeout_tsc : ~0ull;
}

bool uart_can_wake(const struct vm *vm)
{
	return (vm->dev.uart.ier & IER_RDI) && !intr_isa_masked(vm, ISA_IRQ_COM1);
}

static u8 read_rbr(struct vuart *u)
{
	u8 c;
	if (u->fcr & FCR_FE) {
		c = 0;
		if (u->rx_count) {
			c = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO;
			u->rx_count--;
		}
		if (!u->rx_count) {
			u->lsr &= (u8)~(LSR_DR | LSR_BI);
			u->timeout_tsc = 0; // nothing left to time out
		} else
			u->timeout_tsc = char_timeout_tsc(u);
		u->timeout_ipending = false;
	} else {
		c = u->rbr;
		u->lsr &= (u8)~(LSR_DR | LSR_BI);
	}
	return c;
}

u8 uart_in(struct vm *vm, u16 reg)
{
	struct vuart *u = &vm->dev.uart;
	bool dlab = u->lcr & LCR_DLAB;
	u8 r;
	switch (reg) {
	case 0:
		if (dlab)
			return (u8)u->divisor;
		r = read_rbr(u);
		break;
	case 1:
		return dlab ? (u8)(u->divisor >> 8) : u->ier;
	case 2:
		r = uart_iir(u);
		if ((r & 0x0F) == IIR_THRI)
			u->thr_ipending = false; // reading the IIR that names it clears it
		break;
	case 3:
		return u->lcr;
	case 4:
		return u->mcr;
	case 5:
		r = u->lsr;
		u->lsr &= (u8)~(LSR_BI | LSR_OE);
		break;
	case 6:
		if (u->mcr & MCR_LOOP) // DCD <- OUT2, RI <- OUT1, DSR <- DTR, CTS <- RTS
			return (u8)(((u->mcr & 0x0C) << 4) | ((u->mcr & 0x02) << 3) | ((u->mcr & 0x01) << 5));
		return MSR_FIXED;
	default:
		return u->scr;
	}
	update_irq(vm);
	return r;
}

static void write_fcr(struct vuart *u, u8 val)
{
	if ((val ^ u->fcr) & FCR_FE) // turning the FIFOs on or off empties them
		val |= FCR_RFR | FCR_XFR;
	if (val & FCR_RFR) {
		u->lsr &= (u8)~(LSR_DR | LSR_BI);
		u->timeout_tsc = 0;
		u->timeout_ipending = false;
		u->rx_count = 0;
		u->rx_head = 0;
	}
	if (val & FCR_XFR) {
		u->lsr |= LSR_THRE;
		u->thr_ipending = true;
	}
	u->fcr = val & 0xC9;
	static const u8 trigger[4] = { 1, 4, 8, 14 };
	u->itl = trigger[val >> 6];
}

void uart_out(struct vm *vm, u16 reg, u8 val)
{
	struct vuart *u = &vm->dev.uart;
	bool dlab = u->lcr & LCR_DLAB;
	switch (reg) {
	case 0:
		if (dlab) {
			u->divisor = (u16)((u->divisor & 0xFF00) | val);
			break;
		}
		// Sent at once: THR empty again, and its interrupt pending.
		if (u->mcr & MCR_LOOP)
			receive(u, val);
		else
			vm_console_putc(vm, (char)val);
		u->lsr |= LSR_THRE | LSR_TEMT;
		u->thr_ipending = true;
		break;
	case 1:
		if (dlab) {
			u->divisor = (u16)((u->divisor & 0x00FF) | (val << 8));
			break;
		}
		if ((u->ier ^ val) & IER_THRI)
			u->thr_ipending = (val & IER_THRI) && (u->lsr & LSR_THRE);
		u->ier = val & 0x0F;
		break;
	case 2: write_fcr(u, val); break;
	case 3: u->lcr = val; break;
	case 4: u->mcr = val & 0x1F; break;
	case 7: u->scr = val; break;
	default: break; // LSR and MSR are read-only
	}
	update_irq(vm);
}

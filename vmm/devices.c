// Device models for the guest platform (see README "The guest platform").
#include "devices.h"
#include "lib.h"
#include "log.h"
#include "umbra.h"

#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LCR_DLAB 0x80

static void warn_port(struct vm *vm, u16 port, bool in)
{
	u8 *bits = &vm->warned_ports[port / 8];
	if (*bits & (1u << (port % 8)))
		return;
	*bits |= 1u << (port % 8);
	vm_say(vm, SAID_PORT, "%s port 0x%x: no device (reads all-ones, writes ignored; said once a port)",
	       in ? "in from" : "out to", port);
}

static u8 uart_in(struct vm *vm, u16 reg)
{
	bool dlab = vm->uart_lcr & UART_LCR_DLAB;
	switch (reg) {
	case 0: return dlab ? vm->uart_dll : 0;      // RBR: no input yet
	case 1: return dlab ? vm->uart_dlm : vm->uart_ier;
	case 2: return (vm->uart_fcr & 1) ? 0xC1 : 0x01; // IIR: nothing pending
	case 3: return vm->uart_lcr;
	case 4: return vm->uart_mcr;
	case 5: return UART_LSR_THRE | UART_LSR_TEMT;
	case 6: return (vm->uart_mcr & 0x10) ? (u8)((vm->uart_mcr & 0x0F) << 4) : 0xB0;
	default: return vm->uart_scr;
	}
}

static void uart_out(struct vm *vm, u16 reg, u8 val)
{
	bool dlab = vm->uart_lcr & UART_LCR_DLAB;
	switch (reg) {
	case 0:
		if (dlab)
			vm->uart_dll = val;
		else if (!(vm->uart_mcr & 0x10)) // loopback mode keeps bytes inside
			vm_console_putc(vm, (char)val);
		break;
	case 1:
		if (dlab)
			vm->uart_dlm = val;
		else
			vm->uart_ier = val & 0x0F;
		break;
	case 2: vm->uart_fcr = val; break;
	case 3: vm->uart_lcr = val; break;
	case 4: vm->uart_mcr = val & 0x1F; break;
	case 7: vm->uart_scr = val; break;
	default: break; // LSR and MSR are read-only
	}
}

u32 dev_in(struct vm *vm, u16 port, u8 size)
{
	if (vpic_port(port) && size == 1)
		return vpic_in(vm, port);
	if (vpit_port(port) && size == 1)
		return vpit_in(vm, port);
	if (rtc_port(port) && size == 1)
		return rtc_in(vm, port);
	if (port >= COM1_BASE && port < COM1_BASE + 8 && size == 1)
		return uart_in(vm, port - COM1_BASE);
	warn_port(vm, port, true);
	return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
}

void dev_out(struct vm *vm, u16 port, u8 size, u32 val)
{
	if (port >= EXIT_PORT && port < EXIT_PORT + 4) {
		u32 mask = size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
		vm_end(vm, val & mask, false, "wrote %u to the exit port", val & mask);
		return;
	}
	if (port >= COM1_BASE && port < COM1_BASE + 8 && size == 1) {
		uart_out(vm, port - COM1_BASE, (u8)val);
		return;
	}
	if (vpic_port(port) && size == 1) {
		vpic_out(vm, port, (u8)val);
		return;
	}
	if (vpit_port(port) && size == 1) {
		vpit_out(vm, port, (u8)val);
		return;
	}
	if (rtc_port(port) && size == 1) {
		rtc_out(vm, port, (u8)val);
		return;
	}
	warn_port(vm, port, false);
}

// Device models for the guest platform (see README "The guest platform").
#include "devices.h"
#include "legacy.h"
#include "lib.h"
#include "log.h"
#include "uart.h"
#include "umbra.h"

static void warn_port(struct vm *vm, u16 port, bool in)
{
	u8 *bits = &vm->warned_ports[port / 8];
	if (*bits & (1u << (port % 8)))
		return;
	*bits |= 1u << (port % 8);
	vm_say(vm, SAID_PORT, "%s port 0x%x: no device (reads all-ones, writes ignored; said once a port)",
	       in ? "in from" : "out to", port);
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
	u32 val;
	if (legacy_in(vm, port, size, &val))
		return val;
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
	if (legacy_out(vm, port, size, val))
		return;
	warn_port(vm, port, false);
}

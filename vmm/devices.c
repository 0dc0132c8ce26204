// Device models for the guest platform (see README "The guest platform").
#include "devices.h"
#include "legacy.h"
#include "lib.h"
#include "log.h"
#include "uart.h"
#include "vfwcfg.h"
#include "umbra.h"

void devices_reset(struct vm_devices *d, u32 mem_mib)
{
	memset(d, 0, sizeof(*d)); // PICs and PIT as after power-on; legacy, fw_cfg
	rtc_init(&d->rtc, mem_mib);
	uart_reset(&d->uart);
	vioapic_reset(&d->ioapic);
	vlapic_reset(&d->lapic);
}

static void warn_port(struct vm *vm, u16 port, bool in)
{
	u8 *bits = &vm->warned_ports[port / 8];
	if (*bits & (1u << (port % 8)))
		return;
	*bits |= 1u << (port % 8);
	vm_say(vm, SAID_PORT, "%s port 0x%x: no device (reads all-ones, writes ignored; said once a port)",
	       in ? "in from" : "out to", port);
}

static bool is_com1(u16 port)
{
	return port >= COM1_BASE && port < COM1_BASE + 8;
}

// The devices with byte-wide registers. A wider access to one is split into
// byte accesses to consecutive ports, low byte first, as QEMU (the
// reference) does for them: `inw 0x20` reads the IRR, then the IMR.
static bool byte_device(u16 port)
{
	return vpic_port(port) || vpit_port(port) || rtc_port(port) || is_com1(port);
}

static u8 byte_in(struct vm *vm, u16 port)
{
	if (vpic_port(port))
		return (u8)vpic_in(vm, port);
	if (vpit_port(port))
		return (u8)vpit_in(vm, port);
	if (rtc_port(port))
		return (u8)rtc_in(vm, port);
	if (is_com1(port))
		return uart_in(vm, port - COM1_BASE);
	u32 val;
	if (legacy_in(vm, port, 1, &val))
		return (u8)val;
	warn_port(vm, port, true);
	return 0xFF;
}

static void byte_out(struct vm *vm, u16 port, u8 val)
{
	if (is_com1(port))
		uart_out(vm, port - COM1_BASE, val);
	else if (vpic_port(port))
		vpic_out(vm, port, val);
	else if (vpit_port(port))
		vpit_out(vm, port, val);
	else if (rtc_port(port))
		rtc_out(vm, port, val);
	else if (!legacy_out(vm, port, 1, val))
		warn_port(vm, port, false);
}

u32 dev_in(struct vm *vm, u16 port, u8 size)
{
	if (vfwcfg_port(port))
		return vfwcfg_in(vm, port, size);
	if (size == 1 || byte_device(port)) {
		u32 val = 0;
		for (u8 i = 0; i < size; i++)
			val |= (u32)byte_in(vm, (u16)(port + i)) << (8 * i);
		return val;
	}
	u32 val;
	if (legacy_in(vm, port, size, &val))
		return val;
	warn_port(vm, port, true);
	return size == 4 ? 0xFFFFFFFFu : 0xFFFFu;
}

void dev_out(struct vm *vm, u16 port, u8 size, u32 val)
{
	if (port >= EXIT_PORT && port < EXIT_PORT + 4) {
		u32 mask = size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
		vm_end(vm, val & mask, false, "wrote %u to the exit port", val & mask);
		return;
	}
	if (vfwcfg_port(port)) {
		vfwcfg_out(vm, port, size, val);
		return;
	}
	if (size == 1 || byte_device(port)) {
		for (u8 i = 0; i < size && vm->state == VM_RUNNING; i++)
			byte_out(vm, (u16)(port + i), (u8)(val >> (8 * i)));
		return;
	}
	if (!legacy_out(vm, port, size, val))
		warn_port(vm, port, false);
}

// Host serial ports and the log. COM1 is the console; in "split" mode (what
// scripts/run-guest uses) the log goes to COM2 so COM1 carries only guest bytes.
#include "asm.h"
#include "console.h"
#include "lib.h"
#include "log.h"
#include "printf.h"
#include <stdarg.h>

#define COM1 0x3F8
#define COM2 0x2F8
#define EXIT_PORT 0xF4
#define BOCHS_SHUTDOWN_PORT 0x8900 // "Shutdown", a byte at a time, stops Bochs

static u16 log_port = COM1;

static void uart_init(u16 base)
{
	outb(base + 1, 0x00); // no interrupts
	outb(base + 3, 0x80); // DLAB
	outb(base + 0, 0x01); // 115200 baud
	outb(base + 1, 0x00);
	outb(base + 3, 0x03); // 8N1
	outb(base + 2, 0xC7); // FIFO on, cleared
	outb(base + 4, 0x03); // DTR, RTS
}

static void uart_putc(u16 base, char c)
{
	for (int spin = 0; spin < 100000 && !(inb(base + 5) & 0x20); spin++)
		pause();
	outb(base, (u8)c);
}

void log_init(bool split)
{
	uart_init(COM1);
	uart_init(COM2);
	log_port = split ? COM2 : COM1;
}

void console_putc(char c)
{
	uart_putc(COM1, c);
}

void guest_putc_raw(char c)
{
	uart_putc(COM1, c);
}

static void log_write(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			uart_putc(log_port, '\r');
		uart_putc(log_port, *s);
	}
}

static u16 open_vm; // a VM whose line on COM1 is open (begun, not ended)

void guest_line_putc(u16 vm_id, char c)
{
	if (open_vm != vm_id) {
		if (open_vm)
			log_write("\n");
		char prefix[16];
		ksnprintf(prefix, sizeof(prefix), "[vm%u] ", vm_id);
		log_write(prefix);
		open_vm = vm_id;
	}
	if (c == '\n') {
		log_write("\n");
		open_vm = 0;
	} else if (c != '\r') {
		uart_putc(COM1, c);
	}
}

void kprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	bool redraw = log_port == COM1 && console_take_prompt();
	if (redraw || (open_vm && log_port == COM1))
		log_write("\n");
	if (log_port == COM1)
		open_vm = 0;
	log_write(buf);
	if (redraw)
		console_redraw();
}

_Noreturn void qemu_exit(u32 status)
{
	// Said in the log first, for emulators that cannot return a status.
	kprintf("umbra: exit status %u\n", status);
	outl(EXIT_PORT, status);
	// Bochs has no isa-debug-exit: its shutdown port ends it instead.
	for (const char *p = "Shutdown"; *p; p++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*p);
	// No isa-debug-exit device (a real machine, or QEMU without it): stop here.
	for (;;) {
		cli();
		hlt();
	}
}

_Noreturn void panic(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_write("umbra: PANIC: ");
	log_write(buf);
	log_write("\n");
	qemu_exit(UMBRA_EXIT_INTERNAL);
}

_Noreturn void assert_fail(const char *file, int line, const char *expr)
{
	panic("%s:%d: assertion failed: %s", file, line, expr);
}

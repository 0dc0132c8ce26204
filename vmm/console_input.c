// Where typed bytes go. One VM at a time has the input focus; its COM1
// receives what is typed while input is the guest's. With log=com2 (COM1
// carries only guest bytes) input is always the guest's, byte for byte.
// With the console, input is the console's until Ctrl-A c gives it to the
// VM with the focus; Ctrl-A c again comes back, Ctrl-A Ctrl-A sends one
// Ctrl-A to the guest (QEMU's escape, as its -serial mon:stdio has it).
#include "console.h"
#include "lib.h"
#include "log.h"
#include "printf.h"
#include "umbra.h"

#include "console_int.h"

#define CTRL_A 0x01

static u16 focus;        // the VM with the input focus; 0: the first running one
static bool to_guest;    // console mode: input is the focus VM's
static bool esc_pending; // console mode: Ctrl-A was typed

static struct vm *focus_vm(void)
{
	if (focus && vms[focus].state == VM_RUNNING)
		return &vms[focus];
	for (u16 i = 1; i < MAX_VMS; i++) {
		if (vms[i].state == VM_RUNNING) {
			focus = i;
			return &vms[i];
		}
	}
	return NULL;
}

static void say_where(void)
{
	struct vm *vm = focus_vm();
	if (to_guest && vm) {
		kprintf("umbra: input goes to vm%u (Ctrl-A c: back to the console)\n", vm->id);
		vm_console_putc(vm, 0); // what it printed of its line so far (its prompt)
	}
	else
		kprintf("umbra: input goes to the console%s\n", vm ? " (Ctrl-A c: to the VM with the focus)" : "");
}

bool input_is_guests(void)
{
	return to_guest;
}

u16 console_typing_vm(void)
{
	return to_guest && focus && vms[focus].state == VM_RUNNING ? focus : 0;
}

struct vm *input_guest(bool console_active)
{
	if (!console_active)
		return focus_vm();
	if (!to_guest)
		return NULL;
	if (vms[focus].state != VM_RUNNING) {
		to_guest = false;
		kprintf("\numbra: vm%u has ended; input goes to the console\n", focus);
		return NULL;
	}
	return &vms[focus];
}

bool input_escape(u8 c, bool console_active)
{
	if (!console_active)
		return false;
	if (!esc_pending) {
		esc_pending = c == CTRL_A;
		return esc_pending;
	}
	esc_pending = false;
	if (c == 'c' || c == 'C') {
		to_guest = !to_guest && focus_vm();
		kprintf("\n");
		say_where();
		if (!to_guest)
			console_redraw();
		return true;
	}
	if (c == CTRL_A && to_guest) {
		struct vm *vm = focus_vm();
		if (vm)
			uart_host_input(vm, CTRL_A);
	}
	return true; // Ctrl-A and anything else: nothing
}

void cmd_focus(int argc, char **argv)
{
	(void)argc;
	struct vm *vm = arg_running_vm(argv[1], "given the input");
	if (!vm)
		return;
	focus = vm->id;
	to_guest = true;
	say_where();
}

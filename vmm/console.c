// The serial console monitor (COM1): the line editor, the command table and
// its dispatch, and the argument parsers the commands share. It reads a
// command line while the guests run (polled between scheduler slices and
// while umbra idles); the commands are in console_vm.c (VMs) and
// console_mm.c (the memory manager). Every command answers in whole lines; a
// bad command or argument gets one line starting with "error:".
#include "asm.h"
#include "audit.h"
#include "console.h"
#include "frame.h"
#include "hv.h"
#include "lib.h"
#include "log.h"
#include "printf.h"
#include "umbra.h"

#include "console_int.h"

#define COM1 0x3F8
#define LINE_MAX 120

static char line[LINE_MAX + 1];
static u32 len;
static bool overlong;
static bool active;

struct cmd {
	const char *name, *args, *help;
	void (*run)(int argc, char **argv);
};
static const struct cmd cmds[];

static bool prompt_shown;

static void prompt(void)
{
	kprintf("umbra> ");
	prompt_shown = true;
}

bool console_take_prompt(void)
{
	if (!active || !prompt_shown || input_is_guests())
		return false;
	prompt_shown = false;
	return true;
}

void console_redraw(void)
{
	line[len] = '\0';
	prompt();
	for (u32 i = 0; i < len; i++)
		console_putc(line[i]);
}

static void console_erase(void)
{
	console_putc('\b');
	console_putc(' ');
	console_putc('\b');
}

void console_init(void)
{
	active = !cfg.split;
	if (active)
		kprintf("umbra: console on COM1: type 'help' for commands\n");
}

bool arg_num(const char *s, const char *what, u64 max, u64 *out)
{
	if (!parse_number(s, s + strlen(s), ~0ull, out)) {
		kprintf("error: %s must be a number (decimal, or hex with 0x): '%s'\n", what, s);
		return false;
	}
	if (*out > max) {
		kprintf("error: %s %s is out of range (at most %lu)\n", what, s, max);
		return false;
	}
	return true;
}

// The VM named by s, which must exist (running or ended but not yet gone).
struct vm *arg_vm(const char *s)
{
	u64 id;
	if (!arg_num(s, "VM id", MAX_VMS - 1, &id))
		return NULL;
	if (id == 0 || vms[id].state == VM_EMPTY) {
		kprintf("error: no vm%lu (see 'vms')\n", id);
		return NULL;
	}
	return &vms[id];
}

struct vm *arg_running_vm(const char *s, const char *to_do)
{
	struct vm *vm = arg_vm(s);
	if (vm && vm->state != VM_RUNNING) {
		kprintf("error: vm%u has ended: only a running VM can be %s\n", vm->id, to_do);
		return NULL;
	}
	return vm;
}

// "from K" at the end of a listing command: where to start.
bool arg_from(int argc, char **argv, int at, u64 *from)
{
	*from = 0;
	if (argc <= at)
		return true;
	if (argc != at + 2 || strcmp(argv[at], "from") != 0) {
		kprintf("error: expected 'from N' after the arguments\n");
		return false;
	}
	return arg_num(argv[at + 1], "start", 1u << 30, from);
}

static void cmd_help(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (const struct cmd *c = cmds; c->name; c++) {
		char head[40];
		ksnprintf(head, sizeof(head), "%s %s", c->name, c->args);
		kprintf("  %-24s %s\n", head, c->help);
	}
	kprintf("  numbers are decimal, or hex with 0x; Backspace and Ctrl-U edit the line\n");
	kprintf("  Ctrl-A c switches input between this console and the VM with the focus\n");
}

static const struct cmd cmds[] = {
	{ "help", "", "this list", cmd_help },
	{ "vms", "[from N]", "every VM: id, state, memory, TLB tag (ASID, VPID), parent, exits, shadow faults", cmd_vms },
	{ "vm", "N", "one VM: registers, guest CR0/CR3/CR4, counters, APICs", cmd_vm },
	{ "kill", "N", "stop VM N", cmd_kill },
	{ "focus", "N", "typed input goes to VM N's COM1 (Ctrl-A c: back here, and there again)", cmd_focus },
	{ "clone", "N", "clone VM N (as its clone hypercall would)", cmd_clone },
	{ "walk", "N GVA", "guest page-table walk and shadow walk of GVA in VM N", cmd_walk },
	{ "shadows", "[N] [from K]", "shadow tables (of VM N): guest table, role, count, sharers", cmd_shadows },
	{ "frame", "HFN [from K]", "a host frame: type, count, owner, every reverse-map entry", cmd_frame },
	{ "reclaim", "0xHFN|COUNT", "reclaim one frame (hex), or COUNT mapped frames", cmd_reclaim },
	{ "audit", "", "run the auditor over every VM", cmd_audit },
	{ "stats", "", "exits by reason, shadow, copy-on-write, reverse-map counters", cmd_stats },
	{ "mem", "", "frames free, used, shared; guest pages resident, swapped, zero; metadata bytes", cmd_mem },
	{ "swap", "", "the swap disk, mem_limit, pages written and read, the last failure", cmd_swap },
	{ "dedup", "", "merge identical guest pages of all VMs now (copy-on-write)", cmd_dedup },
	{ "quit", "", "stop every VM and end umbra (QEMU exits)", cmd_quit },
	{ NULL, NULL, NULL, NULL },
};

// Does argc fit the command's synopsis? A word is required; a bracketed
// group ("[N]", "[from K]") may be left out as a whole.
static bool argc_ok(const struct cmd *c, int argc)
{
	int req = 0, opt = 0;
	bool in_group = false;
	for (const char *a = c->args; *a;) {
		while (*a == ' ')
			a++;
		if (!*a)
			break;
		if (*a == '[')
			in_group = true;
		bool group = in_group;
		while (*a && *a != ' ') {
			if (*a == ']')
				in_group = false;
			a++;
		}
		if (group)
			opt++;
		else
			req++;
	}
	return argc - 1 >= req && argc - 1 <= req + opt;
}

static void execute(char *s)
{
	char *argv[8];
	int argc = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (!*s)
			break;
		if (argc == 8) {
			kprintf("error: too many words\n");
			return;
		}
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	if (!argc)
		return;
	for (const struct cmd *c = cmds; c->name; c++) {
		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (!argc_ok(c, argc)) {
			kprintf("error: usage: %s %s\n", c->name, c->args);
			return;
		}
		c->run(argc, argv);
		return;
	}
	kprintf("error: unknown command '%s' ('help' lists them)\n", argv[0]);
}

void console_poll(void)
{
	while (inb(COM1 + 5) & 0x01) {
		struct vm *guest = input_guest(active);
		if (guest && guest->dev.uart.q_count == UART_INPUT_QUEUE)
			break; // the guest has not read what it has: the rest waits in the host's UART
		u8 c = inb(COM1);
		if (input_escape(c, active))
			continue;
		if (guest) {
			uart_host_input(guest, c);
			continue;
		}
		if (!active)
			continue; // log=com2 and no VM runs: nobody to type to
		if (c == '\r' || c == '\n') {
			prompt_shown = false;
			kprintf("\n");
			line[len] = '\0';
			if (overlong)
				kprintf("error: line too long (at most %u characters)\n", LINE_MAX);
			else
				execute(line);
			len = 0;
			overlong = false;
			if (!input_is_guests() && !console_quit) // `focus N` gave the typing to a VM
				prompt();
		} else if (c == 0x08 || c == 0x7F) {
			if (len) {
				len--;
				console_erase();
			}
		} else if (c == 0x15) { // Ctrl-U
			while (len) {
				len--;
				console_erase();
			}
			overlong = false;
		} else if (c >= 0x20 && c < 0x7F) {
			if (len < LINE_MAX) {
				line[len++] = (char)c;
				console_putc((char)c);
			} else {
				overlong = true;
			}
		}
		// Other control bytes and non-ASCII are dropped.
	}
}

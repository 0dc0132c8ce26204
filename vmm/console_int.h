// The console's commands and what they share (vmm/console*.c only).
#ifndef UMBRA_CONSOLE_INT_H
#define UMBRA_CONSOLE_INT_H

#include "umbra.h"

#define PAGE_LINES 32 // longer listings stop here and say how to go on

// Argument parsers: each prints one "error:" line and returns false (or
// NULL) on bad input.
bool arg_num(const char *s, const char *what, u64 max, u64 *out);
// The VM named by s, which must exist (running or ended but not yet gone).
struct vm *arg_vm(const char *s);
// The same, and it must still be running (to_do: "killed", "cloned", ...).
struct vm *arg_running_vm(const char *s, const char *to_do);
// "from K" at argv[at] (optional): where a listing starts.
bool arg_from(int argc, char **argv, int at, u64 *from);

// console_vm.c
void cmd_vms(int argc, char **argv);
void cmd_vm(int argc, char **argv);
void cmd_kill(int argc, char **argv);
void cmd_quit(int argc, char **argv);
void cmd_clone(int argc, char **argv);
// console_input.c: the VM whose COM1 takes typed bytes now, or NULL for
// the console; Ctrl-A sequences (true: the byte was the escape's).
struct vm *input_guest(bool console_active);
bool input_escape(u8 c, bool console_active);
bool input_is_guests(void); // console mode: typing goes to a VM (no prompt shown)
void cmd_focus(int argc, char **argv);
// console_mm.c
void cmd_walk(int argc, char **argv);
void cmd_shadows(int argc, char **argv);
void cmd_frame(int argc, char **argv);
void cmd_reclaim(int argc, char **argv);
void cmd_audit(int argc, char **argv);
void cmd_stats(int argc, char **argv);
void cmd_mem(int argc, char **argv);
void cmd_swap(int argc, char **argv);
void cmd_dedup(int argc, char **argv);

#endif

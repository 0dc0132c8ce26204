// The serial console monitor on COM1 (not in log=com2 mode, where COM1
// carries guest bytes only). See vmm/console.c and the README.
#ifndef UMBRA_CONSOLE_H
#define UMBRA_CONSOLE_H

#include "types.h"

void console_init(void);
// The console's quit: every VM still running is stopped, and umbra ends.
extern bool console_quit;
// Read what arrived on COM1 and run each complete command line. Called
// between scheduler slices and while umbra idles.
void console_poll(void);
// For kprintf: a line umbra prints on its own (a guest's line, a VM's end)
// while the prompt waits moves off it first (take returns true), and the
// prompt with the half-typed line is shown again after it (redraw).
bool console_take_prompt(void);
void console_redraw(void);
// The VM whose COM1 gets what is typed now (the focus VM, while input is
// the guest's), or 0: its output goes to COM1 byte by byte, not a whole
// line at a time, so that its prompt and its echo of typed keys show.
u16 console_typing_vm(void);

#endif

// umbra's own output: the log (umbra's messages) and the raw guest console.
// Where each goes depends on the mode chosen on umbra's command line.
#ifndef UMBRA_LOG_H
#define UMBRA_LOG_H

#include "types.h"

// Status umbra hands to QEMU's isa-debug-exit (QEMU exits with (v << 1) | 1)
// when it ends for a reason of its own rather than a guest's exit-port write.
#define UMBRA_EXIT_TRIPLE_FAULT 0x40 // guest triple fault or shutdown: 129
#define UMBRA_EXIT_LOAD_FAILED 0x41  // no guest could be loaded: 131
#define UMBRA_EXIT_INTERNAL 0x42     // umbra itself failed: 133
#define UMBRA_EXIT_GUEST_STOPPED 0x43 // guest stopped by umbra (bad access, unsupported): 135

void log_init(bool split);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_putc(char c);             // umbra's console (COM1)
void guest_putc_raw(char c);           // a guest byte, unprefixed, to COM1
// A byte of VM vm_id's output, passed on at once: "[vmN] " first at the
// start of its line; umbra's next line of its own, or another VM's, starts
// on a new line (the rest of this one gets the prefix again).
void guest_line_putc(u16 vm_id, char c);
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void qemu_exit(u32 status);

#endif

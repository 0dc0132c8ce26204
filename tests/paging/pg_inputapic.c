// Typed input on COM1 as pg_input, but on the APIC platform: the 8259 all
// masked, COM1's IRQ 4 routed by the IOAPIC (pin 4, vector 0x41) to the
// local APIC, and the guest waiting in HLT with no timer at all, which
// only the typed line can end.
// guest-input: hello, apic: typed input\n
#define VIA_IOAPIC 1
#include "pg_input.c"

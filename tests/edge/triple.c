// A guest that triple-faults: an empty IDT, then an exception.
// expect-status: 129
// expect-log: ended after [0-9]+ slices: status 64 \(stopped by umbra\): triple fault
// expect-log: vm1:   last events \(oldest first\): int 0x3 at eip 0x10[0-9a-f]+
// expect-log: vm1:   bytes at eip: cc
// Under VMX an exit a #DF causes is not one during event delivery (the
// SDM's rule; Bochs follows it): no IDT-vectoring information names the
// INT3 before it, so the log names the #DF.
// expect-log-vmx: ended after [0-9]+ slices: status 64 \(stopped by umbra\): triple fault
// expect-log-vmx: vm1:   last events \(oldest first\): #DF\(0x0\) at eip 0x10[0-9a-f]+
// expect-log-vmx: vm1:   bytes at eip: cc
#include "edge.h"
void main(u32 magic, u32 mbi)
{
	(void)magic; (void)mbi;
	struct { unsigned short limit; u32 base; } __attribute__((packed)) idt = { 0, 0 };
	puts_("edge: about to triple fault\n");
	__asm__ volatile("lidt %0; int3" ::"m"(idt));
}

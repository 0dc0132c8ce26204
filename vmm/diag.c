// What a VM looked like when umbra stopped it, for the log: enough to
// diagnose a triple fault or a refused instruction without a QEMU trace.
#include "exit.h"
#include "hv.h"
#include "lib.h"
#include "log.h"
#include "printf.h"
#include "umbra.h"

void vcpu_note_event(struct vcpu *v, const struct event *ev)
{
	// The same event again at the same place is one delivery resumed (after
	// a shadow fault, or the one a shutdown interrupted): note it once.
	if (v->nevents) {
		const struct event_note *last = &v->events[(v->nevents - 1) % VCPU_EVENTS];
		if (last->eip == (u32)v->rip && last->ev.vector == ev->vector && last->ev.type == ev->type &&
		    last->ev.has_ec == ev->has_ec && (!ev->has_ec || last->ev.ec == ev->ec))
			return;
	}
	struct event_note *n = &v->events[v->nevents % VCPU_EVENTS];
	n->ev = *ev;
	n->eip = (u32)v->rip;
	v->nevents++;
}

static const char *const exc_name[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP",
	"#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void event_str(const struct event *ev, char *buf, size_t n)
{
	const char *name = ev->vector < 32 && exc_name[ev->vector] ? exc_name[ev->vector] : NULL;
	if (ev->type == EVENT_EXTINT)
		ksnprintf(buf, n, "interrupt vector 0x%x", ev->vector);
	else if (ev->type == EVENT_SOFTINT)
		ksnprintf(buf, n, "int 0x%x", ev->vector);
	else if (name && ev->has_ec)
		ksnprintf(buf, n, "%s(0x%x)", name, ev->ec);
	else if (name)
		ksnprintf(buf, n, "%s", name);
	else
		ksnprintf(buf, n, "vector 0x%x", ev->vector);
}

void vcpu_diagnose(struct vcpu *v)
{
	u16 id = v->vm->id;
	kprintf("umbra: vm%u: stopped at eip 0x%08x (cs base 0x%x, %u-bit code, cpl %u), eflags 0x%x\n", id,
		(u32)v->rip, hv->seg_base(v, SEG_CS), hv->code32(v) ? 32 : 16, v->cpl, (u32)v->rflags);
	kprintf("umbra: vm%u:   cr0 0x%08x cr2 0x%08x cr3 0x%08x cr4 0x%08x efer 0x%x\n", id, v->cr0, v->cr2, v->cr3,
		v->cr4, v->efer);
	kprintf("umbra: vm%u:   eax %08x ebx %08x ecx %08x edx %08x esi %08x edi %08x ebp %08x esp %08x\n", id,
		(u32)v->gpr[GPR_RAX], (u32)v->gpr[GPR_RBX], (u32)v->gpr[GPR_RCX], (u32)v->gpr[GPR_RDX],
		(u32)v->gpr[GPR_RSI], (u32)v->gpr[GPR_RDI], (u32)v->gpr[GPR_RBP], (u32)v->gpr[GPR_RSP]);
	if (v->nevents) {
		char line[200], ev[40];
		u32 first = v->nevents > VCPU_EVENTS ? v->nevents - VCPU_EVENTS : 0;
		int len = ksnprintf(line, sizeof(line), "umbra: vm%u:   last events (oldest first):", id);
		for (u32 i = first; i < v->nevents && len < (int)sizeof(line); i++) {
			const struct event_note *n = &v->events[i % VCPU_EVENTS];
			event_str(&n->ev, ev, sizeof(ev));
			len += ksnprintf(line + len, sizeof(line) - (size_t)len, "%s %s at eip 0x%x", i == first ? "" : ",",
					 ev, n->eip);
		}
		kprintf("%s\n", line);
	} else {
		kprintf("umbra: vm%u:   no event was delivered to it\n", id);
	}
	u8 code[16];
	u32 got = vcpu_peek(v, hv->seg_base(v, SEG_CS) + (u32)v->rip, code, sizeof(code));
	char bytes[3 * sizeof(code) + 1];
	u32 at = 0;
	for (u32 i = 0; i < got; i++)
		at += (u32)ksnprintf(bytes + at, sizeof(bytes) - at, " %02x", code[i]);
	bytes[at] = '\0';
	kprintf("umbra: vm%u:   bytes at eip:%s%s\n", id, got ? bytes : " (not mapped)",
		got && got < sizeof(code) ? " (then unmapped)" : "");
}

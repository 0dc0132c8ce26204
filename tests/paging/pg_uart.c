// COM1 as a 16550A, against plain QEMU's: the state the guest finds, the
// scratch register, FIFO detection, loopback (MCR mirrored in MSR, bytes
// looping into the receive FIFO, overrun), and interrupts on IRQ 4: transmit
// empty (on enabling it and after each byte, cleared by reading IIR), data
// received at the trigger level, the character timeout below it. While
// loopback is on nothing can be printed, so results are kept and printed
// after.
#include "lib/lib.h"


static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }

#define COM 0x3F8
enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR IIR

static volatile u32 irqs, bad_vector;
static volatile u8 iir_log[32];
static volatile u32 iir_n;

// The handler reads IIR until nothing is pending, as Linux's 8250 does,
// and drains received data.
static void com_irq(struct frame *f)
{
	if (f->vec != 0x24)
		bad_vector++;
	irqs++;
	for (int i = 0; i < 8; i++) {
		u8 iir = inb(COM + IIR);
		if (iir_n < sizeof(iir_log))
			iir_log[iir_n++] = iir;
		if (iir & 1)
			break;
		if ((iir & 0x0F) == 0x04 || (iir & 0x0F) == 0x0C)
			while (inb(COM + LSR) & 1)
				(void)inb(COM + RBR);
	}
	outb(0x20, 0x20);
}

// How many of the logged IIR reads gave this interrupt reason.
static u32 iir_count(u8 reason)
{
	u32 n = 0;
	for (u32 i = 0; i < iir_n; i++)
		n += (iir_log[i] & 0x0F) == reason;
	return n;
}

static void print_log(const char *what)
{
	printf("%s: %u interrupts, IIR", what, irqs);
	for (u32 i = 0; i < iir_n; i++)
		printf(" %x", iir_log[i]);
	printf("\n");
	irqs = 0;
	iir_n = 0;
}

// Interrupts arrive after some latency (on QEMU TCG, at the end of a
// translated block): wait for the next one, bounded, instead of assuming.
static void wait_irq(u32 before)
{
	for (volatile u32 i = 0; i < 50000000 && irqs == before; i++)
		;
}

static void spin_ms(u32 ms)
{
	// The PIT's channel 2 as a stopwatch would be exact; a loop long enough
	// for any character timeout (4 characters at 2400 baud: 16.7 ms) will do.
	for (volatile u32 i = 0; i < ms * 200000; i++)
		;
}

void test_main(void)
{
	u8 r[8];
	for (int i = 0; i < 8; i++)
		r[i] = inb(COM + i);
	printf("at start: RBR %x IER %x IIR %x LCR %x MCR %x LSR %x MSR %x\n", r[0], r[1], r[2], r[3], r[4], r[5], r[6]);

	outb(COM + SCR, 0x5A);
	u8 s1 = inb(COM + SCR);
	outb(COM + SCR, 0xA5);
	report(s1 == 0x5A && inb(COM + SCR) == 0xA5, "scratch register keeps what is written", "%x", s1);

	outb(COM + LCR, 0x80);
	outb(COM + RBR, 0x01);
	outb(COM + IER, 0x00);
	u8 dll = inb(COM + RBR), dlm = inb(COM + IER);
	outb(COM + LCR, 0x03);
	report(dll == 1 && dlm == 0, "divisor latch reads back", "%x %x", dll, dlm);

	outb(COM + FCR, 0xC7);
	u8 iir_fifo = inb(COM + IIR);
	outb(COM + FCR, 0x00);
	u8 iir_nofifo = inb(COM + IIR);
	printf("FIFO detection: IIR %x with FIFOs on, %x off\n", iir_fifo, iir_nofifo);
	report((iir_fifo & 0xC0) == 0xC0 && (iir_nofifo & 0xC0) == 0, "a 16550A: FIFO bits in IIR follow FCR", "%x %x", iir_fifo, iir_nofifo);

	// Loopback: MSR mirrors MCR's four outputs.
	u8 msr[16];
	for (int m = 0; m < 16; m++) {
		outb(COM + MCR, (u8)(0x10 | m));
		msr[m] = inb(COM + MSR);
	}
	// Bytes loop into the receiver; the 17th overruns the FIFO.
	outb(COM + FCR, 0x07);
	for (int i = 0; i < 3; i++)
		outb(COM + RBR, (u8)('a' + i));
	u8 lsr3 = inb(COM + LSR);
	char got[4] = { 0 };
	for (int i = 0; i < 3; i++)
		got[i] = (char)inb(COM + RBR);
	u8 lsr0 = inb(COM + LSR);
	for (int i = 0; i < 17; i++)
		outb(COM + RBR, (u8)i);
	u8 lsr_over = inb(COM + LSR), lsr_after = inb(COM + LSR);
	u32 drained = 0;
	while ((inb(COM + LSR) & 1) && drained < 40) {
		(void)inb(COM + RBR);
		drained++;
	}
	outb(COM + MCR, 0x03);
	printf("loopback MSR for MCR 0..15:");
	for (int m = 0; m < 16; m++)
		printf(" %x", msr[m]);
	printf("\n");
	printf("loopback: LSR %x after 3 bytes, read '%s', LSR %x; 17 bytes: LSR %x then %x, %u drained\n",
	       lsr3, got, lsr0, lsr_over, lsr_after, drained);
	report(got[0] == 'a' && got[2] == 'c' && (lsr_over & 2) && !(lsr_after & 2) && drained == 16,
	       "loopback receives, overruns at 17, LSR read clears OE", "%x", lsr_over);

	// Interrupts on IRQ 4 through the 8259 (vector 0x24).
	trap_hook = com_irq;
	pic_init(0xEF);
	outb(COM + MCR, 0x0B); // DTR, RTS, OUT2 (the PC's interrupt enable)
	__asm__ volatile("sti");

	outb(COM + IER, 0x02); // transmit empty: pending at once
	wait_irq(0);
	outb(COM + IER, 0x00);
	print_log("enable THRI");

	outb(COM + IER, 0x02);
	wait_irq(0);
	outb(COM + RBR, 'x'); // each byte sent makes it pending again
	wait_irq(1);
	outb(COM + IER, 0x00);
	printf("\n");
	print_log("THRI, one byte");

	// Receive: loopback, FIFO trigger level 4. Four bytes: data available.
	// At 2400 baud (divisor 48) the character timeout is 16.7 ms: a host
	// that takes the CPU away between the bytes and the handler's IIR read
	// for less than that cannot turn the trigger-level interrupt into a
	// timeout (at 115200 baud it is 0.35 ms, which a loaded host exceeds).
	outb(COM + LCR, 0x80);
	outb(COM + RBR, 48);
	outb(COM + IER, 0x00);
	outb(COM + LCR, 0x03);
	outb(COM + FCR, 0x47);
	outb(COM + MCR, 0x1B);
	outb(COM + IER, 0x01);
	// The four bytes in one instruction (REP OUTSB: one exit under umbra),
	// so that no character timeout can come between them however the host
	// schedules this VM.
	static const char four[4] = { '0', '1', '2', '3' };
	const char *src = four;
	u32 n = 4;
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(COM + RBR) : "memory");
	wait_irq(0);
	// (Counted by what IIR said: an edge the 8259 latched earlier may bring
	// the handler once more with nothing pending, as on a loaded host.)
	u32 at_trigger = iir_count(0x04);
	u8 log_trigger = iir_log[0];
	irqs = 0, iir_n = 0;
	// One byte, below the trigger: the character timeout reports it.
	outb(COM + RBR, 'z');
	wait_irq(0);
	spin_ms(40);
	u32 at_timeout = iir_count(0x0C);
	u8 log_timeout = iir_log[0];
	outb(COM + IER, 0x00);
	outb(COM + MCR, 0x0B);
	outb(COM + FCR, 0x07);
	outb(COM + LCR, 0x80);
	outb(COM + RBR, 0x01);
	outb(COM + LCR, 0x03);
	irqs = 0, iir_n = 0;
	printf("receive: %u interrupt(s) at the trigger level (IIR %x), %u after a timeout (IIR %x)\n",
	       at_trigger, log_trigger, at_timeout, log_timeout);
	report(at_trigger == 1 && (log_trigger & 0x0F) == 4 && at_timeout == 1 && (log_timeout & 0x0F) == 0x0C,
	       "receive interrupts: trigger level, then character timeout", "%u %u", at_trigger, at_timeout);
	__asm__ volatile("cli");
	outb(0x21, 0xFF);
	report(bad_vector == 0, "only vector 0x24 arrived", "%u", bad_vector);
}

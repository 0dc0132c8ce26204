// The guest's COM1: a 16550A UART at 0x3F8 on IRQ 4, as QEMU models it (the
// reference): 16-byte receive FIFO with trigger levels and the character
// timeout, transmit-empty and receive interrupts, loopback, scratch. What the
// guest transmits is instant; what is typed for it (uart_host_input) waits
// in a queue until the FIFO has room, so no byte is dropped on the way.
#ifndef UMBRA_UART_H
#define UMBRA_UART_H

#include "types.h"

#define UART_FIFO 16
#define UART_INPUT_QUEUE 256

struct vuart {
	u8 ier, lcr, mcr, lsr, scr, fcr;
	u16 divisor;
	u8 rbr;                    // the receive register, FIFO off
	u8 rx[UART_FIFO], rx_head, rx_count, itl;
	bool thr_ipending;         // transmit-empty interrupt pending
	bool timeout_ipending;     // character timeout: data below the trigger level sat there
	u64 timeout_tsc;           // when it fires (0: not armed)
	u8 queue[UART_INPUT_QUEUE]; // typed bytes not yet in the FIFO
	u16 q_head, q_count;
};

struct vm;
void uart_reset(struct vuart *u);
u8 uart_in(struct vm *vm, u16 reg);
void uart_out(struct vm *vm, u16 reg, u8 val);
// A byte typed for the guest; false when its queue is full (the caller keeps it).
bool uart_host_input(struct vm *vm, u8 c);
// Move queued input into the FIFO, fire the timeout, update IRQ 4 (before an entry).
void uart_update(struct vm *vm);
// When its character timeout fires (TSC); ~0 for never.
u64 uart_next_irq_tsc(const struct vm *vm);
// Could the UART interrupt a halted guest (receive interrupts on, IRQ 4
// unmasked on the 8259 or the IOAPIC)?
bool uart_can_wake(const struct vm *vm);

#endif

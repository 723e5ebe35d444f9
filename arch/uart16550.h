/* uart16550.h - the 16550 UART's register layout (National Semiconductor PC16550D data sheet;
 * names as in Linux's serial_reg.h): the host console driver (drivers/uart.c) and the guest's
 * emulated COM ports (devices/vuart.c) both use it. Offsets from the port base. No code. */
#ifndef ARCH_UART16550_H
#define ARCH_UART16550_H

#include "arch/types.h"

/* Registers; DLL and DLM replace RBR/THR and IER while LCR.DLAB is 1. */
#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_DLL 0 /* divisor latch, low byte (DLAB = 1) */
#define UART_IER 1 /* interrupt enable */
#define UART_DLM 1 /* divisor latch, high byte (DLAB = 1) */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */
#define UART_MSR 6 /* modem status */
#define UART_SCR 7 /* scratch */

#define UART_IER_MASK GENMASK(3, 0) /* the four interrupt enables (RX data, THRE, line, modem) */

#define UART_IIR_NO_INT BIT(0)              /* no interrupt pending */
#define UART_IIR_FIFO_ENABLED GENMASK(7, 6) /* FIFOs enabled (FCR bit 0) */

#define UART_FCR_ENABLE_FIFO BIT(0)
#define UART_FCR_CLEAR_RCVR BIT(1) /* self-clearing */
#define UART_FCR_CLEAR_XMIT BIT(2) /* self-clearing */

#define UART_LCR_WLEN8 0x03 /* 8 data bits (no parity, 1 stop bit with the other bits 0) */
#define UART_LCR_DLAB BIT(7) /* divisor latch access */

#define UART_MCR_DTR BIT(0)
#define UART_MCR_RTS BIT(1)
#define UART_MCR_MASK GENMASK(4, 0) /* DTR, RTS, OUT1, OUT2, LOOP; bits 7:5 read 0 */

#define UART_LSR_DR BIT(0)   /* data ready */
#define UART_LSR_THRE BIT(5) /* transmit holding register empty */
#define UART_LSR_TEMT BIT(6) /* transmitter empty (holding and shift registers) */

#define UART_MSR_CTS BIT(4) /* clear to send */
#define UART_MSR_DSR BIT(5) /* data set ready */
#define UART_MSR_DCD BIT(7) /* data carrier detect */

#endif

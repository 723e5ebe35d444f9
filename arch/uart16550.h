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

#define UART_FIFO_SIZE 16      /* bytes in each FIFO of a 16550A */
#define UART_CLOCK_HZ 1843200  /* the PC's UART clock: baud = clock / (16 * divisor) */

#define UART_IER_RDI BIT(0)  /* received data available (and character timeout) */
#define UART_IER_THRI BIT(1) /* transmit holding register empty */
#define UART_IER_RLSI BIT(2) /* receiver line status (LSR bits 4:1) */
#define UART_IER_MSI BIT(3)  /* modem status (MSR bits 3:0) */
#define UART_IER_MASK GENMASK(3, 0) /* the four interrupt enables; bits 7:4 read 0 */

/* IIR: bit 0 clear when an interrupt is pending, bits 3:1 say which (highest priority first:
 * line status, received data / character timeout, THR empty, modem status). */
#define UART_IIR_NO_INT BIT(0)              /* no interrupt pending */
#define UART_IIR_ID GENMASK(3, 1)           /* the interrupt identification */
#define UART_IIR_RLSI 0x06                  /* receiver line status */
#define UART_IIR_RDI 0x04                   /* received data at the trigger level */
#define UART_IIR_RX_TIMEOUT 0x0c            /* character timeout (FIFO mode) */
#define UART_IIR_THRI 0x02                  /* transmit holding register empty */
#define UART_IIR_MSI 0x00                   /* modem status */
#define UART_IIR_FIFO_ENABLED GENMASK(7, 6) /* FIFOs enabled (FCR bit 0) */

#define UART_FCR_ENABLE_FIFO BIT(0)
#define UART_FCR_CLEAR_RCVR BIT(1) /* self-clearing */
#define UART_FCR_CLEAR_XMIT BIT(2) /* self-clearing */
#define UART_FCR_TRIGGER_SHIFT 6   /* bits 7:6: receive trigger level 1, 4, 8 or 14 bytes */

#define UART_LCR_WLEN8 0x03 /* 8 data bits (no parity, 1 stop bit with the other bits 0) */
#define UART_LCR_WLEN_MASK GENMASK(1, 0) /* data bits - 5 */
#define UART_LCR_STOP BIT(2)   /* 2 stop bits (1.5 with 5 data bits) */
#define UART_LCR_PARITY BIT(3) /* a parity bit */
#define UART_LCR_DLAB BIT(7)   /* divisor latch access */

#define UART_MCR_DTR BIT(0)
#define UART_MCR_RTS BIT(1)
#define UART_MCR_OUT1 BIT(2)
#define UART_MCR_OUT2 BIT(3) /* on a PC, enables the UART's interrupt onto the ISA IRQ line */
#define UART_MCR_LOOP BIT(4) /* loopback: transmitter into receiver, MCR outputs into MSR */
#define UART_MCR_MASK GENMASK(4, 0) /* DTR, RTS, OUT1, OUT2, LOOP; bits 7:5 read 0 */

#define UART_LSR_DR BIT(0)   /* data ready */
#define UART_LSR_OE BIT(1)   /* overrun error */
#define UART_LSR_PE BIT(2)   /* parity error */
#define UART_LSR_FE BIT(3)   /* framing error */
#define UART_LSR_BI BIT(4)   /* break interrupt */
#define UART_LSR_THRE BIT(5) /* transmit holding register empty */
#define UART_LSR_TEMT BIT(6) /* transmitter empty (holding and shift registers) */
#define UART_LSR_ERRORS GENMASK(4, 1) /* OE PE FE BI: the line status interrupt's sources,
				       * cleared by reading LSR */

#define UART_MSR_DCTS BIT(0) /* delta CTS */
#define UART_MSR_DDSR BIT(1) /* delta DSR */
#define UART_MSR_TERI BIT(2) /* trailing edge of RI */
#define UART_MSR_DDCD BIT(3) /* delta DCD */
#define UART_MSR_CTS BIT(4)  /* clear to send */
#define UART_MSR_DSR BIT(5)  /* data set ready */
#define UART_MSR_RI BIT(6)   /* ring indicator */
#define UART_MSR_DCD BIT(7)  /* data carrier detect */
#define UART_MSR_DELTAS GENMASK(3, 0) /* the modem status interrupt's sources, cleared by
				       * reading MSR */

#endif

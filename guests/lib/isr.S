/* isr.S - entry stubs for all 256 vectors (exceptions 0-31, interrupts 32-255) (32-bit, ring 0,
 * no privilege change). idt_init() installs gates for 0-63 only; idt_install_all() the rest.
 * Each stub makes the frame uniform (pushes 0 where the CPU pushes no error code), pushes its
 * vector and jumps to the common path, which saves the GPRs and calls idt_dispatch(frame).
 * INT n on a vector whose exception pushes an error code (8, 10-14, 17, 21, 29, 30) pushes
 * none: the frame is then one word short (see idt.h). */

	.text
	.code32

	.macro stub v
	.balign 8
isr_stub_\v:
	.if !((\v == 8) || (\v == 10) || (\v == 11) || (\v == 12) || (\v == 13) || (\v == 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30))
	pushl $0
	.endif
	pushl $\v
	jmp isr_common
	.endm

	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub \v
	.endr
	.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	stub \v
	.endr
	.altmacro
	.set vec, 64
	.rept 192
	stub %vec
	.set vec, vec + 1
	.endr
	.noaltmacro

isr_common:
	cld
	pushal
	pushl %esp                      /* struct idt_frame * */
	call idt_dispatch
	addl $4, %esp
	popal
	addl $8, %esp                   /* vector, error code */
	iret

	.section .rodata
	.balign 4
	.global isr_stubs
isr_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long isr_stub_\v
	.endr
	.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
	.long isr_stub_\v
	.endr
	.altmacro
	.macro stubaddr v
	.long isr_stub_\v
	.endm
	.set vec, 64
	.rept 192
	stubaddr %vec
	.set vec, vec + 1
	.endr
	.noaltmacro

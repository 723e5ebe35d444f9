/* crt0.S - multiboot v1 header and entry for the test guests (32-bit protected mode, no paging). */
#define MB1_MAGIC 0x1badb002
#define MB1_FLAGS 0x00000003 /* page-align modules, want memory info */

	.section .multiboot, "a"
	.balign 4
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)

	.text
	.code32
	.global _start
_start:
	movl $stack_top, %esp
	xorl %ebp, %ebp
	pushl %ebx                      /* multiboot info */
	pushl %eax                      /* magic */
	call guest_main
	pushl %eax
	call guest_exit                 /* never returns */
1:	cli
	hlt
	jmp 1b

	.bss
	.balign 16
	.skip 16384
stack_top:

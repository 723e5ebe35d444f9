/* ring3.S - the 32-bit assembly of guests/lib/pt.c: probing accesses with a resume label each
 * (the fault handler continues there, so no instruction length is guessed), and user_call(),
 * which runs a function at CPL3 and comes back through INT 0x80. The same code runs in
 * compatibility mode under IA-32e paging (long.S then provides the 64-bit INT 0x80 gate). */
#define SEL_KDATA 0x10
#define SEL_UCODE 0x23
#define SEL_UDATA 0x2b

	.text
	.code32

/* uint32_t pt_read32(uint32_t va, uint32_t unused): *va, or 0xdeadbeef after a fault. */
	.global pt_read32, pt_read32_resume
pt_read32:
	movl 4(%esp), %ecx
	movl $0xdeadbeef, %eax
	movl (%ecx), %eax
pt_read32_resume:
	ret

/* uint32_t pt_write32(uint32_t va, uint32_t val): *va = val; returns 0. */
	.global pt_write32, pt_write32_resume
pt_write32:
	movl 4(%esp), %ecx
	movl 8(%esp), %eax
	movl %eax, (%ecx)
pt_write32_resume:
	xorl %eax, %eax
	ret

/* uint32_t pt_exec32(uint32_t va, uint32_t unused): jumps to va with EDX = the resume label;
 * the code at va is `jmp *%edx`. Returns 0. */
	.global pt_exec32, pt_exec32_resume
pt_exec32:
	movl 4(%esp), %ecx
	movl $pt_exec32_resume, %edx
	jmp *%ecx
pt_exec32_resume:
	xorl %eax, %eax
	ret

/* uint32_t user_call(uint32_t (*fn)(uint32_t, uint32_t), uint32_t a, uint32_t b) */
	.global user_call
user_call:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, pt_user_saved_esp
	movl 20(%esp), %esi             /* fn */
	movl 24(%esp), %eax             /* a */
	movl 28(%esp), %edx             /* b */
	pushl $SEL_UDATA                /* SS */
	pushl $pt_user_stack_top        /* ESP */
	pushfl
	pushl $SEL_UCODE                /* CS */
	pushl $pt_user_tramp            /* EIP */
	movw $SEL_UDATA, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	iret

pt_user_tramp:                          /* CPL3 */
	pushl %edx
	pushl %eax
	call *%esi
	addl $8, %esp
	int $0x80
	ud2

/* The INT 0x80 gate of 32-bit modes (DPL3, interrupt gate): CPL0 on the TSS stack. */
	.global pt_user_int80_32
pt_user_int80_32:
	movl pt_user_saved_esp, %esp
/* long.S's 64-bit gate IRETQs here with ESP = pt_user_saved_esp, SS = 0x10. EAX = result. */
	.global pt_user_return
pt_user_return:
	movw $SEL_KDATA, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.data
	.balign 4
	.global pt_user_saved_esp
pt_user_saved_esp:
	.long 0

	.bss
	.balign 16
	.skip 4096
	.global pt_user_stack_top
pt_user_stack_top:
	.skip 4096
	.global pt_kstack_top
pt_kstack_top:

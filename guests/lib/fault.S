/* fault.S - the assembly half of guests/lib/fault.c: run a function at CPL0 or CPL3 and come
 * back to one resume point, whether it returned, ended with INT 0x81 (CPL3) or faulted. */
#define SEL_KDATA 0x10
#define SEL_UCODE 0x23
#define SEL_UDATA 0x2b

	.text
	.code32

/* int fault_run(void (*fn)(void)) */
	.global fault_run
fault_run:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, fault_saved_esp
	movl $-1, fault_last            /* .vector */
	movl 20(%esp), %eax
	movl $1, fault_armed
	call *%eax
	jmp fault_resume

/* int fault_run_user(void (*fn)(void)): fn at CPL3 on its own stack, interrupts off. */
	.global fault_run_user
fault_run_user:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, fault_saved_esp
	movl $-1, fault_last
	movl 20(%esp), %eax
	pushl $SEL_UDATA                /* SS */
	pushl $fault_user_stack_top     /* ESP */
	pushl fault_user_eflags         /* EFLAGS: 0x2 unless the guest set IOPL or IF */
	pushl $SEL_UCODE                /* CS */
	pushl %eax                      /* EIP */
	movw $SEL_UDATA, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movl $1, fault_armed
	iret

/* INT 0x81 from CPL3 (DPL3 gate): the user function is done without a fault. */
	.global fault_user_done
fault_user_done:
	movw $SEL_KDATA, %cx
	movw %cx, %ds
	movl $0, fault_armed
/* Where every run ends; the fault handler IRETs here at CPL0. */
	.global fault_resume
fault_resume:
	movw $SEL_KDATA, %cx
	movw %cx, %ss
	movl fault_saved_esp, %esp
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	pushl $0x2
	popfl
	movl $0, fault_armed
	movl fault_last, %eax           /* .vector */
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.data
	.balign 4
fault_saved_esp:
	.long 0
	.global fault_user_eflags
fault_user_eflags:
	.long 0x2

	.bss
	.balign 16
	.skip 4096
	.global fault_user_stack_top
fault_user_stack_top:

/* entry.S - 32-bit multiboot2 entry, identity map of the low 4 GiB, switch to long mode, apply
 * the image's relocations (it runs where GRUB loaded it), call kmain. */
#include "boot/link.h"
#define MB2_BOOT_MAGIC 0x36d76289
#define COM1 0x3f8

	.section .boot.text, "ax"
	.code32
	.global _start
_start:
	cli
	cld
	/* The image runs wherever GRUB put it (the multiboot2 relocatable tag, boot/header.S): no
	 * absolute address until the relocations are applied below. Find where we run with a
	 * CALL/POP, which needs four writable bytes of stack: the boot information's reserved
	 * word (offset 4, "ignored by the OS image") when a multiboot2 loader started us, else
	 * our own multiboot2 header's second word at the link address (a loader that is not
	 * multiboot2 does not relocate: it loads the ELF at its physical addresses; kmain then
	 * reports the wrong magic). */
	movl %eax, %edi
	leal 8(%ebx), %esp
	cmpl $MB2_BOOT_MAGIC, %edi
	je 1f
	movl $(HV_LINK_BASE + 8), %esp
1:	call .Lbase
.Lbase:	popl %ebp                      /* %ebp: where .Lbase runs; data is %ebp-relative */
	leal boot_stack_top-.Lbase(%ebp), %esp
	movl %edi, boot_magic-.Lbase(%ebp)
	movl %ebx, boot_info-.Lbase(%ebp)
	leal __image_start-.Lbase(%ebp), %eax
	subl $HV_LINK_BASE, %eax        /* how far from the link address: runtime - link */
	movl %eax, boot_delta-.Lbase(%ebp)

	/* Long mode needs CPUID leaf 0x80000001 EDX bit 29. */
	call cpuid_absent
	je no_long_mode
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz no_long_mode

	/* PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages: 0..4 GiB identity. */
	leal boot_pml4-.Lbase(%ebp), %esi
	leal boot_pdpt-.Lbase(%ebp), %edi
	leal boot_pd-.Lbase(%ebp), %ebx
	movl %edi, %eax
	orl $0x3, %eax
	movl %eax, (%esi)
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $12, %eax
	addl %ebx, %eax
	orl $0x3, %eax
	movl %eax, (%edi,%ecx,8)
	incl %ecx
	cmpl $4, %ecx
	jb 3b
	xorl %ecx, %ecx
4:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax                 /* present, writable, 2 MiB page */
	movl %eax, (%ebx,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax                  /* high dword: (index * 2 MiB) >> 32 */
	movl %eax, 4(%ebx,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jb 4b

	/* CR4 from scratch, nothing inherited from the loader (firmware with 5-level paging
	 * leaves LA57 set, which would make these 4-level tables wrong): PAE, and MCE so that a
	 * machine check is an exception the host reports, not a shutdown. */
	movl $((1 << 5) | (1 << 6)), %eax
	movl %eax, %cr4
	movl %esi, %cr3
	movl $0xc0000080, %ecx          /* EFER.LME */
	rdmsr
	orl $(1 << 8), %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax           /* PG | PE */
	andl $~0x60000000, %eax         /* caches on: clear CD and NW */
	movl %eax, %cr0

	/* The GDT's base where it runs (the relocation below writes the same value again). */
	leal gdt64-.Lbase(%ebp), %eax
	movl %eax, gdt64_ptr+2-.Lbase(%ebp)
	movl $0, gdt64_ptr+6-.Lbase(%ebp)
	lgdt gdt64_ptr-.Lbase(%ebp)
	pushl $0x08                     /* a far jump to where long_mode runs */
	leal long_mode-.Lbase(%ebp), %eax
	pushl %eax
	lret

/* ZF set when EFLAGS.ID does not toggle: a CPU without CPUID (before the Pentium).
 * Clobbers EAX and ECX. */
cpuid_absent:
	pushfl
	popl %eax
	movl %eax, %ecx
	xorl $(1 << 21), %eax
	pushl %eax
	popfl
	pushfl
	popl %eax
	cmpl %eax, %ecx
	ret

/* Without long mode nothing else can run: say so on COM1 (8N1, 115200) and halt. */
no_long_mode:
	movw $COM1+3, %dx
	movb $0x80, %al
	outb %al, %dx
	movw $COM1, %dx
	movb $1, %al
	outb %al, %dx
	movw $COM1+1, %dx
	xorb %al, %al
	outb %al, %dx
	movw $COM1+3, %dx
	movb $0x03, %al
	outb %al, %dx
	leal no_lm_msg-.Lbase(%ebp), %esi
3:	lodsb
	testb %al, %al
	jz 5f
	movb %al, %bl
	movw $COM1+5, %dx
4:	inb %dx, %al
	testb $0x20, %al
	jz 4b
	movw $COM1, %dx
	movb %bl, %al
	outb %al, %dx
	jmp 3b
5:	movw $COM1+5, %dx               /* drain: wait for TEMT */
	inb %dx, %al
	testb $0x40, %al
	jz 5b
	/* Power off as drivers/power.c does on QEMU: isa-debug-exit when CPUID says a hypervisor
	 * runs us and fw_cfg says QEMU. Elsewhere no emulator port is touched (0x500-0x53f are
	 * GPIO on many boards; telling Bochs apart needs its ACPI tables): halt. */
	call cpuid_absent
	je 9f
	movl $1, %eax
	cpuid
	btl $31, %ecx                   /* CPUID.1:ECX.hypervisor */
	jnc 9f
	movw $0x510, %dx
	xorw %ax, %ax
	outw %ax, %dx
	movw $0x511, %dx
	xorl %ecx, %ecx
	movl $4, %ebx
6:	shll $8, %ecx
	inb %dx, %al
	movb %al, %cl
	decl %ebx
	jnz 6b
	cmpl $0x51454d55, %ecx          /* "QEMU" read in order */
	jne 7f
	movw $0xf4, %dx
	movl $0x7f, %eax
	outl %eax, %dx
7:
9:	cli
	hlt
	jmp 9b

	.code64
long_mode:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	leaq boot_stack_top(%rip), %rsp
	xorq %rbp, %rbp
	/* Apply the image's relocations: the link is position-independent (-pie), and the only
	 * dynamic relocations are R_X86_64_RELATIVE (the Makefile checks that), one for each
	 * pointer stored in data: value = addend + delta. Idempotent. Before this, only
	 * RIP-relative addressing works. */
	movslq boot_delta(%rip), %rdx
	leaq __rela_start(%rip), %rsi
	leaq __rela_end(%rip), %rdi
11:	cmpq %rdi, %rsi
	jae 12f
	movq (%rsi), %rax               /* r_offset: the link address of the pointer */
	movq 16(%rsi), %rcx             /* r_addend: the link address it points to */
	addq %rdx, %rcx
	movq %rcx, (%rax,%rdx)
	addq $24, %rsi
	jmp 11b
12:	movl boot_magic(%rip), %edi
	movl boot_info(%rip), %esi
	call kmain
10:	cli
	hlt
	jmp 10b

	.section .rodata
no_lm_msg:
	.ascii "[hv E] FATAL: CPU: no long mode (x86-64): this hypervisor needs a 64-bit CPU\r\n"
	.asciz "[hv E] summary end=boot_failure code=127 exits=0\r\n"

	.section .data
	.balign 16
	.global gdt64
gdt64:
	.quad 0                         /* 0x00 null */
	.quad 0x00af9a000000ffff        /* 0x08 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff        /* 0x10 data, DPL 0 */
	.quad 0, 0                      /* 0x18 TSS (16 bytes), filled in by kernel/cpu.c */
gdt64_end:
	.global gdt64_ptr
gdt64_ptr:
	.short gdt64_end - gdt64 - 1
	.quad gdt64

boot_magic: .long 0
boot_info:  .long 0
	.global boot_delta
boot_delta: .long 0                     /* where the image runs minus its link address */

	.section .bss
	.balign 4096
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096 * 4
	.balign 16
	.global boot_stack_bottom
boot_stack_bottom:
	.skip 32768
	.global boot_stack_top
boot_stack_top:

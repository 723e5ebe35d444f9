# Makefile - build, run and test the hypervisor. `make help` lists the targets.
CROSS_COMPILE ?=
CC := $(CROSS_COMPILE)gcc
LD := $(CROSS_COMPILE)ld
HOSTCC ?= gcc
PYTHON ?= /usr/bin/python3
ifeq ($(DEBUG),1)
BUILD ?= build/debug
else
BUILD ?= build
endif
GUEST ?= hello
CMDLINE ?=
BOCHS ?= bochs
QEMU ?= qemu-system-x86_64

CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-stack-protector \
	-fpie -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-builtin -I. -MMD -MP
ifeq ($(DEBUG),1)
CFLAGS += -DMMU_AUDIT_DEFAULT=1 -O1
endif
ASFLAGS := -I. -MMD -MP
LDFLAGS := -nostdlib -pie --no-dynamic-linker -z text -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T $(BUILD)/linker.ld

# Every folder of the layer map (docs/architecture.md), bottom first.
HV_SRCS := $(wildcard boot/*.S arch/*.c kernel/*.c kernel/*.S drivers/*.c emul/*.c mmu/*.c \
	devices/*.c vmx/*.c vmx/*.S debug/*.c hv/*.c)
HV_OBJS := $(patsubst %,$(BUILD)/%.o,$(HV_SRCS))

GUEST_CFLAGS := -std=gnu11 -m32 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-stack-protector \
	-fno-pic -fno-pie -mno-sse -mno-mmx -fno-builtin -fno-asynchronous-unwind-tables \
	-Iguests/lib -MMD -MP
GUEST_LIB_SRCS := $(wildcard guests/lib/*.c guests/lib/*.S)
GUEST_LIB_OBJS := $(patsubst %,$(BUILD)/%.o,$(GUEST_LIB_SRCS))
GUEST_NAMES := $(patsubst guests/%.c,%,$(wildcard guests/*.c))
GUEST_ELFS := $(patsubst %,$(BUILD)/guests/%.elf,$(GUEST_NAMES))

.SECONDARY:
.PHONY: all iso run test unit systest deps clean help guests fuzz bench check linux-assets test-linux-audit
all: check $(BUILD)/hv.elf $(BUILD)/hv-narrow.elf $(BUILD)/hv-moved.elf $(BUILD)/hv.iso guests

# Source rules the compiler cannot see: only mmu/ knows the MMIO generation width; each macro
# name is defined in one file (scripts/check-defines.sh); includes point down the layer map.
check: $(BUILD)/hv.elf
	@scripts/check-mmio-gen.sh
	@scripts/check-defines.sh
	@$(PYTHON) scripts/check-layers.py $(BUILD)

help:
	@echo "make            build build/hv.elf, build/hv.iso (with GUEST=$(GUEST)) and the test guests"
	@echo "make run        boot build/hv.iso in Bochs with VMX; a two-way serial console on this"
	@echo "                terminal (Ctrl-A x quits, Ctrl-A c opens the hypervisor's monitor)"
	@echo "make run GUEST=linux   Debian's cloud kernel and a busybox shell as the guest (fetched"
	@echo "                with apt-get download into $(LINUX_DIR); 1-3 minutes to the shell in Bochs)"
	@echo "make test       host unit tests and system tests (Bochs and QEMU)"
	@echo "make unit       host unit tests only (cmocka)"
	@echo "make test-linux-audit   the slow debug run: Linux with shadow-table audits (~10 min)"
	@echo "make bench      benchmark suite in Bochs (docs/bench.md): table, build/bench/results.json"
	@echo "make fuzz       libFuzzer harnesses, FUZZ_TIME=60 seconds each (tests/fuzz/README.md)"
	@echo "make systest    system tests only (pytest)"
	@echo "make deps       install (as root) or name the Debian packages needed"
	@echo "make check      source rules the compiler cannot see (scripts/check-*)"
	@echo "           DEBUG=1: debug build (shadow-table audit at every named point)"
	@echo "variables: GUEST=name (guests/NAME.c, or linux)  CMDLINE='guest_mem=32M loglevel=debug'  CROSS_COMPILE=x86_64-elf-"
	@echo "           LINUX_CMDLINE='console=ttyS0,115200 ...' (GUEST=linux: the kernel's command line)"

# The hypervisor's objects depend on the flags they were compiled with (a stamp file, as the
# ISO's iso-config below): a change of CFLAGS (DEBUG=1, or -fpie) rebuilds them all.
$(BUILD)/hv-flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CFLAGS) | $(ASFLAGS) | $(LDFLAGS)' | cmp -s - $@ || echo '$(CFLAGS) | $(ASFLAGS) | $(LDFLAGS)' > $@

$(BUILD)/%.c.o: %.c $(BUILD)/hv-flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.S.o: %.S $(BUILD)/hv-flags
	@mkdir -p $(dir $@)
	$(CC) $(ASFLAGS) -c $< -o $@

# The screen console's font (drivers/screen.c), generated from GRUB's Unifont (grub-common)
# by scripts/pf2font.py; tests/system/test_screen.py reads the screen back with it.
FONT_PF2 ?= /usr/share/grub/ascii.pf2
$(BUILD)/gen/fbfont.h: scripts/pf2font.py $(FONT_PF2)
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/pf2font.py $(FONT_PF2) $@
$(BUILD)/drivers/screen.c.o: $(BUILD)/gen/fbfont.h
$(BUILD)/drivers/screen.c.o: CFLAGS += -I$(BUILD)/gen

# linker.ld through the C preprocessor: boot/link.h's HV_LINK_BASE.
$(BUILD)/linker.ld: linker.ld boot/link.h
	@mkdir -p $(@D)
	$(CPP) -P -undef -I. -x c -o $@ $<

# A position-independent image (docs/boot.md "Where the image runs"): its only dynamic
# relocations must be R_X86_64_RELATIVE, the one kind boot/entry.S applies, and GRUB refuses an
# ELF with a relocation section: scripts/fix-image.py checks the first and retypes the section.
$(BUILD)/hv.elf: $(HV_OBJS) $(BUILD)/linker.ld
	$(LD) $(LDFLAGS) -o $@ $(HV_OBJS)
	@scripts/fix-image.py $@
	@grub-file --is-x86-multiboot2 $@ 2>/dev/null || { command -v grub-file >/dev/null && echo "error: $@ is not multiboot2" && exit 1; } || true

# Guests: 32-bit multiboot v1 ELF kernels, each guests/NAME.c linked with guests/lib.
$(BUILD)/guests/lib/%.c.o: guests/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/lib/%.S.o: guests/lib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/%.c.o: guests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/%.elf: $(BUILD)/guests/%.c.o $(GUEST_LIB_OBJS) guests/lib/guest.ld
	$(LD) -m elf_i386 -nostdlib -static -z noexecstack --no-warn-rwx-segments -T guests/lib/guest.ld -o $@ $< $(GUEST_LIB_OBJS)

guests: $(GUEST_ELFS)

# The narrow-generation build: MMIO sptes keep 4 generation bits, so tests reach wrap-around
# in 16 memslot changes (docs/mmu.md). Exactly the MMU (mmu/*.c) is compiled differently;
# code elsewhere asks it (mmu_mmio_gen_bits, mmu_mmio_spte_current; `make check`).
MMU_OBJS := $(filter $(BUILD)/mmu/%,$(HV_OBJS))
NARROW_OBJS := $(filter-out $(MMU_OBJS),$(HV_OBJS)) $(patsubst $(BUILD)/%,$(BUILD)/narrow/%,$(MMU_OBJS))
$(BUILD)/narrow/%.c.o: %.c $(BUILD)/hv-flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMMIO_GEN_BITS=4 -c $< -o $@
$(BUILD)/hv-narrow.elf: $(NARROW_OBJS) $(BUILD)/linker.ld
	$(LD) $(LDFLAGS) -o $@ $(NARROW_OBJS)
	@scripts/fix-image.py $@

# The moved build: the same image, except that its multiboot2 header asks GRUB for an address
# of at least 16 MiB, so GRUB always loads it away from its link address: the system tests run
# a guest with it to check that everything works relocated (docs/boot.md), on BIOS too, where
# GRUB's `cutmem` does not move the load.
MOVED_OBJS := $(filter-out $(BUILD)/boot/header.S.o,$(HV_OBJS)) $(BUILD)/moved/boot/header.S.o
$(BUILD)/moved/boot/header.S.o: boot/header.S $(BUILD)/hv-flags
	@mkdir -p $(dir $@)
	$(CC) $(ASFLAGS) -DHV_LOAD_MIN=0x1000000 -c $< -o $@
$(BUILD)/hv-moved.elf: $(MOVED_OBJS) $(BUILD)/linker.ld
	$(LD) $(LDFLAGS) -o $@ $(MOVED_OBJS)
	@scripts/fix-image.py $@

# GUEST=linux: Debian's cloud kernel as the guest, with a busybox initramfs whose /init starts a
# shell (docs/linux.md). scripts/linux-fetch.sh keeps the kernel and busybox in $(LINUX_DIR) and
# brings them up to date with apt's lists on every `make run GUEST=linux` (it rewrites nothing
# when they are current); the hypervisor gets guest_mem=256M before CMDLINE, Bochs 512 MiB.
LINUX_DIR := $(BUILD)/linux
LINUX_INITRD := $(LINUX_DIR)/shell-initrd.gz
LINUX_CMDLINE ?=
ifeq ($(GUEST),linux)
ISO_GUEST := $(LINUX_DIR)/bzImage $(LINUX_INITRD) scripts/linux-iso.sh
ISO_CONFIG := $(GUEST) $(CMDLINE) | $(LINUX_CMDLINE)
else
ISO_GUEST := $(BUILD)/guests/$(GUEST).elf
ISO_CONFIG := $(GUEST) $(CMDLINE)
endif

$(LINUX_DIR)/bzImage $(LINUX_DIR)/busybox &:
	scripts/linux-fetch.sh $(LINUX_DIR)
$(LINUX_INITRD): $(LINUX_DIR)/busybox scripts/linux/init scripts/mkinitramfs.sh scripts/linux/newc.py
	BUSYBOX=$(LINUX_DIR)/busybox scripts/mkinitramfs.sh $@ scripts/linux/init

# Rebuild the ISO when GUEST=, CMDLINE= (or LINUX_CMDLINE=) change: their values live in a
# stamp file.
$(BUILD)/iso-config: FORCE
	@mkdir -p $(BUILD)
	@echo '$(ISO_CONFIG)' | cmp -s - $@ || echo '$(ISO_CONFIG)' > $@
# FORCE must be phony: with `.SECONDARY:` above, a missing non-phony FORCE lets make skip
# the stamp rule, and a new GUEST= or CMDLINE= would boot the old ISO (tests/system/test_build.py).
FORCE:
.PHONY: FORCE

$(BUILD)/hv.iso: $(BUILD)/hv.elf $(ISO_GUEST) scripts/mkiso.sh $(BUILD)/iso-config
ifeq ($(GUEST),linux)
	HV_ELF=$(BUILD)/hv.elf scripts/linux-iso.sh $@ $(LINUX_DIR)/bzImage $(LINUX_INITRD) \
		"guest_mem=256M $(CMDLINE)" $(if $(LINUX_CMDLINE),"$(LINUX_CMDLINE)")
else
	scripts/mkiso.sh $@ $(BUILD)/hv.elf $(BUILD)/guests/$(GUEST).elf "$(CMDLINE)"
endif

iso: $(BUILD)/hv.iso

# The console is two-way on a terminal (scripts/console.py); --timeout only limits a run
# whose stdin is not a terminal (output only, as in a script).
ifeq ($(GUEST),linux)
run: deps
	scripts/linux-fetch.sh $(LINUX_DIR)
	@$(MAKE) --no-print-directory $(BUILD)/hv.iso
	scripts/run-bochs.sh --iso $(BUILD)/hv.iso --megs 512 --timeout 900 --interactive
else
run: deps $(BUILD)/hv.iso
	scripts/run-bochs.sh --iso $(BUILD)/hv.iso --interactive
endif

deps:
	@scripts/deps.sh

unit: deps
	$(MAKE) -C tests/unit

# The Linux system tests (tests/system/test_linux.py) boot Debian's kernel: fetched (or found
# current in the cache) first; LINUX_REQUIRED=1 makes a missing kernel a failure, not a skip.
linux-assets: deps
	scripts/linux-fetch.sh $(LINUX_DIR)

systest: deps all linux-assets
	LINUX_REQUIRED=1 $(PYTHON) -m pytest -q tests/system

# The slow debug run of issue 13: Linux with shadow-table audits (docs/mmu.md "Audit").
test-linux-audit: deps all linux-assets
	LINUX_REQUIRED=1 LINUX_AUDIT=1 $(PYTHON) -m pytest -q tests/system/test_linux.py -k mmu_audit

test: deps all linux-assets
	$(MAKE) -C tests/unit
	$(MAKE) -C tests/fuzz smoke SMOKE_RUNS=3000
	LINUX_REQUIRED=1 $(PYTHON) -m pytest -q tests/system

fuzz: deps
	$(MAKE) -C tests/fuzz fuzz

# The Linux benchmark program (guests/linux/lbench.c, docs/bench.md): Linux userland, not a
# multiboot guest; a static x86-64 binary from the host's gcc and Debian's libc6-dev.
$(BUILD)/linux/lbench: guests/linux/lbench.c
	@mkdir -p $(dir $@)
	$(HOSTCC) -static -O2 -Wall -Wextra -Werror -o $@ $<

bench: deps all $(BUILD)/linux/lbench
	BUILD=$(BUILD) $(PYTHON) scripts/bench.py $(BENCHFLAGS)

clean:
	rm -rf $(BUILD)
	$(MAKE) -C tests/unit clean
	$(MAKE) -C tests/fuzz clean

-include $(HV_OBJS:.o=.d) $(NARROW_OBJS:.o=.d) $(BUILD)/moved/boot/header.S.d $(GUEST_LIB_OBJS:.o=.d)

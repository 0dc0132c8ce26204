# umbra: a tiny x86 hypervisor whose point is its shadow MMU.
# `make help` lists the targets.

B := build

# The VMM: 64-bit, freestanding, identity-mapped at 1 MiB.
KCFLAGS := -std=c11 -O2 -g
KCFLAGS += -ffreestanding          # no hosted C library behind us
KCFLAGS += -fno-pic -fno-pie       # linked at a fixed address
KCFLAGS += -mno-red-zone           # an exception would clobber the red zone
KCFLAGS += -mgeneral-regs-only     # no SSE/x87 in umbra: the guest's FPU state stays live
KCFLAGS += -fno-stack-protector    # no TLS canary in a freestanding kernel
KCFLAGS += -fno-omit-frame-pointer # readable stacks in gdb
KCFLAGS += -fno-strict-aliasing    # guest memory is read through many types
WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wundef -Wpointer-arith
KCFLAGS += $(WARN) -MD -Iinclude -Ivmm -Ivmm/svm

# mm/ on the host, for unit and model tests: same warnings, plus sanitizers.
HCFLAGS := -std=c11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined $(WARN) -MD -Iinclude -Ivmm

# Every source by name, as xv6 does: nothing joins the build by accident.
MM_SRCS := mm/frame.c mm/gpmap.c mm/walk.c mm/shadow.c mm/shadow_sync.c mm/shadow_vcpu.c mm/shadow_share.c mm/rmap.c mm/audit.c mm/swap.c mm/dedup.c
VMM_SRCS := vmm/main.c vmm/vm.c vmm/sched.c vmm/console.c vmm/console_vm.c vmm/console_mm.c vmm/console_input.c vmm/irq.c vmm/exit.c vmm/emulate.c vmm/pvclock.c vmm/insn.c vmm/vpic.c vmm/vpit.c vmm/rtc.c vmm/loader.c vmm/linux_boot.c vmm/devices.c vmm/uart.c vmm/legacy.c vmm/vfwcfg.c vmm/vioapic.c vmm/vlapic.c vmm/intr.c vmm/mptable.c vmm/mmio.c \
	vmm/ata.c vmm/log.c vmm/printf.c vmm/lib.c vmm/trap.c vmm/time.c vmm/hosttimer.c vmm/asid.c vmm/cpuid.c vmm/diag.c vmm/fwcfg.c vmm/svm/svm.c vmm/vmx/vmx.c vmm/vmx/vmx_exit.c vmm/vmx/vmx_check.c $(MM_SRCS)
ASM_SRCS := boot/entry.S vmm/trapentry.S vmm/svm/vmrun.S vmm/vmx/vmenter.S
KOBJS := $(VMM_SRCS:%.c=$(B)/k/%.o) $(ASM_SRCS:%.S=$(B)/k/%.o)

HOST_TESTS := $(B)/tests/host/test_mm $(B)/tests/host/test_role $(B)/tests/host/test_asid $(B)/tests/host/test_clone $(B)/tests/host/test_rmap $(B)/tests/host/test_insn
GUEST_DIR := $(B)/guest

.PHONY: all help deps run run-linux run-guest test test-bochs soak bench guests clean debug debug-guest linux
# The ISO is made by a second make once the guests' sub-makes have run, so
# that it depends on their files, not on the phony target: a make with
# nothing changed rebuilds nothing.
all: $(B)/umbra.elf $(B)/umbra.asm guests $(HOST_TESTS) $(B)/bench/bench_mm
	@$(MAKE) -s $(B)/umbra.iso

help:
	@echo "make            build build/umbra.elf (multiboot ELF32, 64-bit inside), build/umbra.iso, guests"
	@echo "make run        the demo: GRUB ISO, the guest OS running forkstress, cloned 3 times mid-run; type console commands (help); with a terminal the console stays until quit"
	@echo "make run-linux  Debian's Linux under umbra through GRUB, cloned 3 times while its fork stress runs; with a terminal each VM ends in a shell (focus N, Ctrl-A c) and the console stays until quit"
	@echo "make run-guest GUEST=k.elf [MEM=64]   run one multiboot kernel under umbra (see scripts/run-guest)"
	@echo "make run-guest GUEST=vmlinuz INITRD=initrd.gz MEM=128 [ARGS=console=ttyS0]   a Linux bzImage and its initrd"
	@echo "  (umbra's options in UMBRA_ARGS, e.g. UMBRA_ARGS=mem_limit=8: guests share 8 MiB, the rest is swapped to a"
	@echo "   disk of UMBRA_SWAP_MIB MiB, default 256, that scripts/qemu gives umbra)"
	@echo "  (UMBRA_EMULATOR=bochs-vmx, bochs-vmx-vpid or bochs-svm: umbra on Bochs with its Intel VMX or AMD SVM CPU, scripts/bochs)"
	@echo "make test       host tests of mm/, paging guests on plain QEMU vs umbra, Debian's Linux, clones, swap, the console, ISO boot,"
	@echo "                and both backends (Intel VMX, AMD SVM) on Bochs against plain QEMU"
	@echo "make test-bochs only the Bochs tests: umbra's VMX and SVM backends on Bochs's CPU models (scripts/bochs)"
	@echo "make test ONLY=PATTERN   only the tests whose names (as printed) match the extended regex"
	@echo "make soak       the model tests at length (10^8 operations, 2x10^7 with clones), Linux cloned under VMX on Bochs, longer guest limits"
	@echo "make bench      print BENCH lines (figures, not pass/fail) and draw build/bench/*.svg"
	@echo "make linux      fetch Debian's i386 kernel and busybox, build the initramfs with the fork stress (build/linux)"
	@echo "make debug      umbra in QEMU under gdb, stopped at kmain with source (scripts/debug)"
	@echo "make debug-guest GUEST=k.elf [SYMBOL=main]   the same, then stopped in the guest at SYMBOL"
	@echo "make clean      remove build/"

deps:
	@scripts/deps.sh

$(B)/k/%.o: %.c
	@mkdir -p $(dir $@)
	gcc $(KCFLAGS) -c $< -o $@

$(B)/k/%.o: %.S
	@mkdir -p $(dir $@)
	gcc $(KCFLAGS) -c $< -o $@

$(B)/umbra64.elf: $(KOBJS) boot/umbra.ld
	ld -m elf_x86_64 -nostdlib -z max-page-size=4096 --no-warn-rwx-segments -T boot/umbra.ld -o $@ $(KOBJS)

# QEMU's -kernel loads only ELF32 multiboot images: convert the 64-bit link.
$(B)/umbra.elf: $(B)/umbra64.elf
	objcopy -O elf32-i386 $< $@

$(B)/umbra.asm: $(B)/umbra64.elf
	objdump -d -S $< > $@

guests:
	@$(MAKE) -s -C guest O=$(CURDIR)/$(GUEST_DIR)
	@$(MAKE) -s -C guest/kern O=$(CURDIR)/$(GUEST_DIR)/kern
	@$(MAKE) -s -C tests/paging O=$(CURDIR)/$(B)/tests/paging
	@$(MAKE) -s -C tests/edge O=$(CURDIR)/$(B)/tests/edge
	@$(MAKE) -s -C tests/clone O=$(CURDIR)/$(B)/tests/clone

$(B)/umbra.iso: $(B)/umbra.elf $(GUEST_DIR)/hello.elf $(GUEST_DIR)/kern/kern.elf boot/grub.cfg
	@command -v grub-mkrescue >/dev/null || scripts/deps.sh
	@rm -rf $(B)/iso && mkdir -p $(B)/iso/boot/grub
	cp $(B)/umbra.elf $(GUEST_DIR)/hello.elf $(GUEST_DIR)/kern/kern.elf $(B)/iso/boot/
	cp boot/grub.cfg $(B)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(B)/iso 2>/dev/null

# Host tests link mm/ and the pure-C parts of vmm/ (the decoder).
HOST_SRCS := $(MM_SRCS) vmm/insn.c vmm/asid.c vmm/cpuid.c tests/host/host_env.c
# (Each compiles several sources into one binary, so gcc's -MD file would
# name the last one's headers only: depend on every header instead.)
HOST_HDRS := $(wildcard include/*.h vmm/*.h mm/*.h tests/host/*.h)
$(B)/tests/host/%: tests/host/%.c $(HOST_SRCS) $(HOST_HDRS) $(B)/tests/host/insn_cases.h
	@mkdir -p $(dir $@)
	gcc $(HCFLAGS) -I$(B)/tests/host $< $(HOST_SRCS) -o $@

# mm/ benchmarks: optimised, no sanitizers.
$(B)/bench/bench_mm: tests/host/bench_mm.c $(MM_SRCS) tests/host/host_env.c
	@mkdir -p $(dir $@)
	gcc -std=c11 -O2 -g $(WARN) -Iinclude $< $(MM_SRCS) tests/host/host_env.c -o $@

# Decoder test cases, encoded by GNU as from tests/host/gen_insn_cases.py.
$(B)/tests/host/insn_cases.h: tests/host/gen_insn_cases.py
	@mkdir -p $(dir $@)
	python3 $< $@

run: 
	@scripts/deps.sh run
	@$(MAKE) -s all
	@scripts/run-demo

# Debian's Linux forked while it runs, through GRUB (boot/grub-linux.cfg).
run-linux:
	@scripts/deps.sh run
	@$(MAKE) -s all linux
	@$(MAKE) -s $(B)/umbra-linux.iso
	@UMBRA_ISO=$(B)/umbra-linux.iso scripts/run-demo

run-guest: $(B)/umbra.elf
	@test -n "$(GUEST)" || { echo "usage: make run-guest GUEST=kernel [INITRD=initrd] [MEM=64] [ARGS='...']"; exit 2; }
	@# QEMU's status 1 is the guest's 0 ((v << 1) | 1): make says so, not "Error 1".
	@scripts/run-guest $(GUEST) $(if $(INITRD),--initrd $(INITRD)) $(or $(MEM),64) $(if $(ARGS),-- $(ARGS)); \
	st=$$?; if [ $$st = 1 ]; then echo "run-guest: the guest ended with status 0" >&2; \
	else echo "run-guest: status $$st (see scripts/run-guest)" >&2; exit $$st; fi

test:
	@scripts/deps.sh test
	@$(MAKE) -s all
	@$(MAKE) -s linux || echo "make test: Debian's Linux could not be had (see above): its tests are skipped" >&2
	@ONLY='$(ONLY)' tests/run.sh

# Only the Bochs tests (tests/run_bochs.sh): umbra's VMX and SVM backends on
# Bochs's Intel and AMD CPU models, against plain QEMU.
test-bochs:
	@scripts/deps.sh bochs
	@$(MAKE) -s all
	@ONLY='^(bochs|seam)' tests/run.sh

soak:
	@$(MAKE) -s all
	@tests/run.sh --soak

bench:
	@scripts/deps.sh bench
	@$(MAKE) -s all
	@tests/bench.sh

# Debian's i386 Linux as a guest (issue 13): the kernel and busybox from
# Debian's packages (scripts/fetch-linux), and an initramfs with the fork
# stress (tests/linux), both in build/linux.
LINUX := $(B)/linux
LSTRESS_ARGS := procs=3 depth=3 pages=8 rounds=6
linux: $(LINUX)/vmlinuz $(LINUX)/initrd.gz

$(LINUX)/vmlinuz $(LINUX)/busybox:
	@scripts/fetch-linux $(LINUX)

# No libc (raw system calls): builds with any gcc that has -m32.
$(LINUX)/lstress: tests/linux/lstress.c tests/linux/sys.h
	@mkdir -p $(dir $@)
	gcc -m32 -Os -static -nostdlib -ffreestanding -fno-pic -fno-pie -no-pie -fno-stack-protector $(WARN) $< -o $@

$(LINUX)/vmclone: tests/linux/vmclone.c tests/linux/sys.h
	@mkdir -p $(dir $@)
	gcc -m32 -Os -static -nostdlib -ffreestanding -fno-pic -fno-pie -no-pie -fno-stack-protector $(WARN) $< -o $@

$(LINUX)/initrd.gz: $(LINUX)/lstress $(LINUX)/vmclone $(LINUX)/busybox tests/linux/init tests/linux/mkinitrd Makefile
	tests/linux/mkinitrd $@ $(LINUX)/busybox $(LINUX)/lstress "$(LSTRESS_ARGS)"

# make run-linux's ISO: umbra, the kernel and the initramfs, GRUB's entry.
$(B)/umbra-linux.iso: $(B)/umbra.elf $(LINUX)/vmlinuz $(LINUX)/initrd.gz boot/grub-linux.cfg
	@command -v grub-mkrescue >/dev/null || scripts/deps.sh
	@rm -rf $(B)/iso-linux && mkdir -p $(B)/iso-linux/boot/grub
	cp $(B)/umbra.elf $(LINUX)/vmlinuz $(LINUX)/initrd.gz $(B)/iso-linux/boot/
	cp boot/grub-linux.cfg $(B)/iso-linux/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(B)/iso-linux 2>/dev/null

debug: all
	@scripts/debug

debug-guest: all
	@test -n "$(GUEST)" || { echo "usage: make debug-guest GUEST=kernel.elf [SYMBOL=main]"; exit 2; }
	@scripts/debug $(GUEST) $(or $(SYMBOL),main)

clean:
	rm -rf $(B)

-include $(KOBJS:.o=.d)

#!/usr/bin/env bash
# umbra's two backends side by side on one emulator (issue 17; part of make
# bench): Bochs with its Intel VMX CPU (core2_penryn_t9600, no EPT/VPID) and
# its AMD SVM CPU (ryzen), the same guests, best of 3 each, in CPU time.
# - vmx_exits_per_s: tests/bench/exits.elf's exits (220,000, counted in
#   umbra's log) over the CPU time of its run, less that of a run of a
#   guest that exits at once (Bochs's start, BIOS, GRUB, umbra's boot);
#   svm= the same under SVM.
# - vmx_forkstress_slowdown_vs_svm: the guest OS's forkstress (16 rounds), CPU
#   time less the same start-up, VMX over SVM; vmx_vpid_cpu_ms= the same on the
#   Skylake model, where umbra tags guest translations with VPIDs (without,
#   every VM entry and exit empties Bochs's TLB).
# Also, from umbra's log, each backend's own handling time per exit (TSC:
# Bochs's emulated clock, 400 MHz, so a count of instructions, not time).
set -uo pipefail
cd "$(dirname "$0")/../.."
B=build out=build/bench-out
mkdir -p "$out"
command -v bochs-bin >/dev/null || { echo "bochs bench: Bochs is not installed (scripts/deps.sh bench)" >&2; exit 0; }
# run EMU NAME KERNEL [-- ARGS]: the CPU time (user + system, ms) of the
# run, Bochs's mostly, best of 3 (less disturbed than wall time by the
# other tenants of a shared machine); the log of the last
run() {
	local emu=$1 name=$2 best=0 ms; shift 2
	local TIMEFORMAT='%3U %3S'
	for i in 1 2 3; do
		ms=$( { time UMBRA_EMULATOR=$emu UMBRA_LOG=$out/bochs-$name-$emu.log UMBRA_TIMEOUT=900 \
			scripts/run-guest "$@" </dev/null >$out/bochs-$name-$emu.out 2>/dev/null; } 2>&1 |
			awk '{printf "%d", ($1 + $2) * 1000}')
		{ [ $best = 0 ] || [ "$ms" -lt $best ]; } && best=$ms
	done
	echo $best
}
ns_per_exit() { sed -n 's/.*umbra.s own handling \([0-9]*\) ns an exit.*/\1/p' "$1" | head -1; }
exits_of() { sed -n 's/.*vm1: \([0-9]*\) exits in .*/\1/p' "$1" | head -1; }
declare -A base io fs
for emu in bochs-vmx bochs-svm bochs-vmx-vpid; do
	base[$emu]=$(run $emu start $B/tests/edge/exitwide.elf 16)
	[ $emu = bochs-vmx-vpid ] || io[$emu]=$(run $emu exits $B/tests/bench/exits.elf 16)
	fs[$emu]=$(run $emu forkstress $B/guest/kern/kern.elf 64 -- procs=3 depth=2 pages=8 rounds=16)
done
rate() { # EMU
	local n ms
	n=$(exits_of $out/bochs-exits-$1.log)
	ms=$(( ${io[$1]} - ${base[$1]} ))
	awk "BEGIN{printf \"%.0f\", ${n:-0} * 1000 / ($ms > 0 ? $ms : 1)}"
}
echo "BENCH vmx_exits_per_s $(rate bochs-vmx) exits/s svm=$(rate bochs-svm) exits=$(exits_of $out/bochs-exits-bochs-vmx.log) vmx_cpu_ms=$((${io[bochs-vmx]} - ${base[bochs-vmx]})) svm_cpu_ms=$((${io[bochs-svm]} - ${base[bochs-svm]})) startup_cpu_ms=${base[bochs-vmx]} emulator=bochs cpu=core2_penryn_t9600/ryzen"
fv=$((${fs[bochs-vmx]} - ${base[bochs-vmx]})) fsv=$((${fs[bochs-svm]} - ${base[bochs-svm]}))
fvp=$((${fs[bochs-vmx-vpid]} - ${base[bochs-vmx-vpid]}))
same=$(cmp -s $out/bochs-forkstress-bochs-vmx.out $out/bochs-forkstress-bochs-svm.out && echo yes || echo NO)
echo "BENCH vmx_forkstress_slowdown_vs_svm $(awk "BEGIN{printf \"%.2f\", $fv / ($fsv > 0 ? $fsv : 1)}") x vmx_cpu_ms=$fv svm_cpu_ms=$fsv exits_vmx=$(exits_of $out/bochs-forkstress-bochs-vmx.log) exits_svm=$(exits_of $out/bochs-forkstress-bochs-svm.log) handling_ns_vmx=$(ns_per_exit $out/bochs-forkstress-bochs-vmx.log) handling_ns_svm=$(ns_per_exit $out/bochs-forkstress-bochs-svm.log) vmx_vpid_cpu_ms=$fvp same_output=$same emulator=bochs"

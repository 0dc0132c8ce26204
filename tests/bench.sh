#!/usr/bin/env bash
# make bench: figures, not pass/fail. One line per figure:
#   BENCH <name> <value> <unit> [key=value ...]
# Compare within one run (ratios): these machines are shared and noisy.
set -uo pipefail
cd "$(dirname "$0")/.."
B=build
out=$B/bench-out
mkdir -p "$out"
make -s -C tests/bench O=$PWD/$B/tests/bench

now_ms() { date +%s%3N; }
plain() { scripts/qemu --plain "$1" --timeout 120 </dev/null; }
umbra() { # QEMU_MIB "UMBRA_ARGS" "MODULES" TIMEOUT_S
	scripts/qemu --umbra "$3" --mem "$1" --umbra-args "$2" --tcg --timeout "$4" </dev/null 2>/dev/null | tr -d '\r'
}

# Boot to the first guest instruction, wall time, best of 5: a guest that
# exits at once, under umbra (-kernel path) and on plain QEMU.
best_umbra=999999 best_plain=999999
for i in 1 2 3 4 5; do
	t0=$(now_ms); UMBRA_LOG=$out/boot.log scripts/run-guest $B/tests/edge/exitwide.elf >/dev/null 2>&1; t1=$(now_ms)
	[ $((t1 - t0)) -lt $best_umbra ] && best_umbra=$((t1 - t0))
	t0=$(now_ms); plain $B/tests/edge/exitwide.elf >/dev/null 2>&1; t1=$(now_ms)
	[ $((t1 - t0)) -lt $best_plain ] && best_plain=$((t1 - t0))
done
own_us=$(sed -n 's/.*boot to first guest entry: \([0-9]*\) us.*/\1/p' $out/boot.log)
echo "BENCH boot_to_guest_exit_wall_ms $best_umbra ms plain_qemu_ms=$best_plain umbra_own_us=$own_us accel=tcg"

# VM exits per second: 200,000 port reads and 20,000 CR3 reloads.
t0=$(now_ms); UMBRA_LOG=$out/exits.log scripts/run-guest $B/tests/bench/exits.elf >/dev/null 2>&1; t1=$(now_ms)
t2=$(now_ms); plain $B/tests/bench/exits.elf >/dev/null 2>&1; t3=$(now_ms)
line=$(grep -m1 'exits in' $out/exits.log)
exits=$(echo "$line" | sed -n 's/.*: \([0-9]*\) exits in.*/\1/p')
rate=$(echo "$line" | sed -n 's/.*(\([0-9]*\) exits\/s).*/\1/p')
echo "BENCH vm_exits_per_s $rate exits/s exits=$exits accel=tcg"
echo "BENCH exit_bench_slowdown_vs_qemu $(awk "BEGIN{printf \"%.1f\", ($t1-$t0)/($t3-$t2)}") x umbra_ms=$((t1 - t0)) plain_ms=$((t3 - t2))"

# mm/ on the host: reclaim through the rmap vs a scan of >= 10^4 shadow
# tables, reverse-map bytes, and instructions per shadow fill (callgrind
# counts instructions, so this figure is repeatable on a noisy machine).
$B/bench/bench_mm --curves "$B/bench"
n=20000
ir=$(valgrind --tool=callgrind --callgrind-out-file="$out/fill.cg" --toggle-collect=shadow_page_fault \
	$B/bench/bench_mm --fill-only $n 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
echo "BENCH fill_instructions $((ir / (n + 1))) instr fills=$((n + 1)) counted=shadow_page_fault+callees tool=callgrind"

# Clone cost inside umbra (TSC cycles of vm_clone, from umbra's log): a guest
# that has written all of its memory clones itself once. Shared clones at
# 16 MiB and 1 GiB (best of 5 each, TCG is noisy), shared and deep at 256 MiB.
umbra_clone() { # MEM_MIB UMBRA_ARGS -> cycles of the clone
	local mem=$1
	umbra $((2 * mem + 160)) "$2" "$B/tests/bench/clonemem.elf umbra.mem=$mem" 300 |
		sed -n 's/.*cloned into vm2 .* \([0-9]*\) cycles[;)].*/\1/p'
}
best_clone() { # MEM_MIB -> best of 5 shared clones (a run here and there
	# stalls for 5-12 ms under TCG, whatever the size: host scheduling)
	local best=0 c
	for i in 1 2 3 4 5; do
		c=$(umbra_clone "$1" "")
		[ -n "$c" ] && { [ "$best" = 0 ] || [ "$c" -lt "$best" ]; } && best=$c
	done
	echo "$best"
}
shared256=$(best_clone 256)
deep256=$(umbra_clone 256 clone=deep)
echo "BENCH clone_speedup_vs_deep $(awk "BEGIN{printf \"%.0f\", ${deep256:-0}/${shared256:-1}}") x mem=256M shared_cycles=$shared256 deep_cycles=$deep256 accel=tcg"
c16=$(best_clone 16)
c1g=$(best_clone 1024)
echo "BENCH clone_cost_1g_over_16m $(awk "BEGIN{printf \"%.2f\", ${c1g:-0}/${c16:-1}}") x cycles_16m=$c16 cycles_1g=$c1g guests=16M,1G best_of=5 accel=tcg"
# The clone-size curve for the plot: shared and deep from 16 MiB to 1 GiB.
{
	echo "# guest_mib shared_cycles deep_cycles"
	for m in 16 64 256 1024; do
		case $m in 16) s=$c16;; 256) s=$shared256;; 1024) s=$c1g;; *) s=$(best_clone $m);; esac
		d=$deep256; [ $m != 256 ] && d=$(umbra_clone $m clone=deep)
		echo "$m ${s:-0} ${d:-0}"
	done
} >"$B/bench/clone_vs_size.dat"

# Reclaim of a frame shared by 64 clones, inside umbra: 65 VMs each with its
# own copy of 240 page tables (the most the shadow pool allows for 65 VMs);
# the reverse map against a scan of every shadow table; the second of two
# runs (the first pays for TCG translating the code).
line=$(umbra 1400 bench "$B/tests/bench/clone64.elf umbra.mem=1024 tables=240" 300 |
	grep 'umbra: bench: reclaim' | tail -1)
k=$(echo "$line" | sed -n 's/.*(\([0-9]*\) mappings).*/\1/p')
nvm=$(echo "$line" | sed -n 's/.* with \([0-9]*\) VMs.*/\1/p')
tables=$(echo "$line" | sed -n 's/.* \([0-9]*\) shadow tables.*/\1/p')
rm_c=$(echo "$line" | sed -n 's/.*rmap \([0-9]*\) cycles.*/\1/p')
sc_c=$(echo "$line" | sed -n 's/.*scan \([0-9]*\) cycles.*/\1/p')
echo "BENCH reclaim_speedup_vs_scan_vm $(awk "BEGIN{printf \"%.0f\", ${sc_c:-0}/${rm_c:-1}}") x clones=64 vms=$nvm mappings=$k shadows=$tables rmap_cycles=$rm_c scan_cycles=$sc_c accel=tcg"

# forkstress (the guest OS): the same guest and sizes on plain QEMU and under
# umbra, both TCG, wall time of the whole run; umbra's exit counts for where
# the time goes.
K=$B/guest/kern/kern.elf
fs="procs=3 depth=3 pages=16 rounds=40"
forks=$((40 * 39))
t0=$(now_ms); scripts/qemu --plain $K --args "$fs" --timeout 600 </dev/null >$out/fs.plain 2>/dev/null; t1=$(now_ms)
t2=$(now_ms); UMBRA_LOG=$out/fs.log UMBRA_TIMEOUT=600 scripts/run-guest $K 64 -- $fs >$out/fs.umbra 2>/dev/null; t3=$(now_ms)
same=no; cmp -s $out/fs.plain $out/fs.umbra && same=yes
echo "BENCH forkstress_slowdown_vs_qemu $(awk "BEGIN{printf \"%.2f\", ($t3-$t2)/($t1-$t0)}") x forks=$forks umbra_ms=$((t3 - t2)) plain_ms=$((t1 - t0)) identical_output=$same accel=tcg"
echo "BENCH forkstress_forks_per_s $(awk "BEGIN{printf \"%.0f\", $forks*1000/($t3-$t2)}") forks/s forks=$forks plain_forks_per_s=$(awk "BEGIN{printf \"%.0f\", $forks*1000/($t1-$t0)}") accel=tcg"
grep -E 'exits in|by reason|shadow tables:' $out/fs.log | sed 's/^/  /'

# 10^6 reads of the local APIC's ID (tests/paging/pg_apicid.c), TSC cycles
# the guest counts, best of 3 alternating runs each: umbra serves them from
# its read-only page of register values (vmm/vlapic.c).
G=$B/tests/paging/pg_apicid.elf
bp=0 bu=0
for i in 1 2 3; do
	c=$(scripts/qemu --plain $G --args bench --timeout 120 </dev/null 2>/dev/null | sed -n 's/^cycles for 10^6 APIC ID reads: //p' | tr -d '\r')
	[ -n "$c" ] && { [ "$bp" = 0 ] || [ "$c" -lt "$bp" ]; } && bp=$c
	c=$(UMBRA_LOG=$out/apicid.log scripts/run-guest $G 64 -- bench 2>/dev/null | sed -n 's/^cycles for 10^6 APIC ID reads: //p')
	[ -n "$c" ] && { [ "$bu" = 0 ] || [ "$c" -lt "$bu" ]; } && bu=$c
done
ex=$(sed -n 's/.*exits by reason: pf \([0-9]*\).*/\1/p' $out/apicid.log)
echo "BENCH lapic_id_read_slowdown_vs_qemu $(awk "BEGIN{printf \"%.2f\", ${bu:-0}/(${bp:-0}+0.001)}") x reads=1000000 umbra_cycles=$bu plain_cycles=$bp umbra_pf_exits_whole_run=$ex best_of=3 accel=tcg"

# Debian's Linux under umbra against plain QEMU (tests/bench/linux.sh).
make -s linux >/dev/null 2>&1 || echo "bench: Debian's Linux could not be had (make linux says why)" >&2
tests/bench/linux.sh
grep -E 'exits in|by reason' $out/linux.umbra.log 2>/dev/null | sed 's/^/  /'
# Forking a booted Linux VM 16 times (tests/bench/linux_clone.sh).
tests/bench/linux_clone.sh

# Swap: 2x overcommitted forkstress, eviction and fault-in costs (tests/bench/swap.sh).
tests/bench/swap.sh

# Deduplication: 8 Linux VMs booted from the same kernel (tests/bench/dedup.sh).
tests/bench/dedup.sh

# The VMX and SVM backends side by side on Bochs (tests/bench/bochs.sh).
tests/bench/bochs.sh

# The figures, drawn from the curves above.
if gnuplot -e "dir='$B/bench'" tests/bench/plots.gp 2>"$out/gnuplot.err"; then
	echo "plots: $(ls $B/bench/*.svg | tr '\n' ' ')"
else
	echo "plots: gnuplot failed: $(head -3 "$out/gnuplot.err" | tr '\n' ' ')" >&2
fi

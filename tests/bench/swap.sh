#!/usr/bin/env bash
# Swap (issue 16; part of make bench): the guest OS's forkstress (procs=3
# depth=2 pages=256 rounds=4), which leaves 62 MiB of guest memory touched,
# under umbra with enough memory, then with mem_limit at half of what it
# held (2x overcommitted), alternately, best of 2 each (umbra's own count
# of the VM's life, ms). From the overcommitted run's log:
# - overcommit_slowdown: its time over the run with enough memory;
# - evict_us_per_frame: umbra's time an eviction, all told (the clock, the
#   unmapping, the disk write);
# - faultin_us_per_frame: the disk's time for a page read back (the rest of
#   a fault-in is a frame allocation and a leaf update);
# - swap_unmap_rmap_speedup_vs_scan: unmapping an evicted frame through its
#   reverse map against a scan of every shadow table (sampled: every 64th).
set -uo pipefail
cd "$(dirname "$0")/../.."
K=build/guest/kern/kern.elf out=build/bench-out
mkdir -p "$out"
[ -f $K ] || { echo "swap bench: $K not built (make)" >&2; exit 0; }
args="procs=3 depth=2 pages=256 rounds=4"
run() { # LIMIT_MIB LOG
	UMBRA_ARGS="mem_limit=$1" UMBRA_LOG="$2" UMBRA_TIMEOUT=600 scripts/run-guest $K 64 -- $args >/dev/null 2>&1
	sed -n 's/.*vm1: [0-9]* exits in \([0-9]*\) ms.*/\1/p' "$2"
}
full=$(run 0 $out/swap.full.log)
peak=$(sed -n 's/.*guests held at most \([0-9]*\) frames.*/\1/p' $out/swap.full.log | tr -d '\r')
limit=$(( peak / 2 / 256 ))
best_full=$full best_over=999999
for i in 1 2; do
	t=$(run $limit $out/swap.over.log); [ -n "$t" ] && [ "$t" -lt $best_over ] && best_over=$t
	t=$(run 0 $out/swap.full.log); [ -n "$t" ] && [ "$t" -lt $best_full ] && best_full=$t
done
l=$out/swap.over.log
ev=$(tr -d '\r' <$l | sed -n 's/^umbra: swap: \([0-9]*\) frames evicted in \([0-9]*\) batches, \([0-9]*\) read back.*/\1 \2 \3/p')
evict_ns=$(tr -d '\r' <$l | sed -n 's/^umbra: swap: \([0-9]*\) ns an eviction all told; unmapping \([0-9]*\) ns .* took \([0-9]*\) ns (\([0-9]*\) sampled).*/\1 \2 \3 \4/p')
read_us=$(tr -d '\r' <$l | sed -n 's/.*the disk took \([0-9]*\) us a write, \([0-9]*\) us a read.*/\1 \2/p')
set -- $evict_ns
echo "BENCH overcommit_slowdown $(awk "BEGIN{printf \"%.2f\", $best_over/($best_full+0.001)}") x overcommitted_ms=$best_over enough_ms=$best_full mem_limit_mib=$limit guest_mib=$((peak / 256)) evicted_batches_readback=${ev// /,} accel=tcg"
echo "BENCH evict_us_per_frame $(awk "BEGIN{printf \"%.1f\", ${1:-0}/1000}") us disk_write_us=${read_us%% *} accel=tcg"
echo "BENCH faultin_us_per_frame ${read_us##* } us (the disk's read) accel=tcg"
echo "BENCH swap_unmap_rmap_speedup_vs_scan $(awk "BEGIN{printf \"%.0f\", ${3:-0}/(${2:-1}+0.001)}") x rmap_ns=${2:-?} scan_ns=${3:-?} scans_sampled=${4:-?} accel=tcg"

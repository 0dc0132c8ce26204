#!/usr/bin/env bash
# Debian's Linux under umbra against plain QEMU (part of make bench): wall
# time from QEMU's start to /init's first line (the boot) and from there to
# the stress's result (the fork stress), the same files on both, TCG; and
# the exits a fork costs inside Linux, by reason: the difference between two
# runs under umbra whose stresses differ only in their number of rounds.
# (Exits that come with time, the timer's ticks, are in the difference too.)
set -uo pipefail
cd "$(dirname "$0")/../.."
B=build L=build/linux out=build/bench-out
mkdir -p "$out"
args="console=ttyS0 quiet"
[ -f $L/vmlinuz ] && [ -f $L/initrd.gz ] || { echo "linux bench: build/linux not made (make linux)" >&2; exit 0; }

# Each line of stdin with the milliseconds since $1 (microseconds) in front.
stamp() {
	local t0=$1 line now
	while IFS= read -r line; do
		now=${EPOCHREALTIME/./}
		echo "$(((now - t0) / 1000)) ${line%$'\r'}"
	done
}
at() { sed -n "s/^\([0-9]*\) $2.*/\1/p" "$1" | head -1; } # FILE REGEX -> ms of the first match

run_plain() { # INITRD OUT
	local t0=${EPOCHREALTIME/./}
	scripts/qemu --plain $L/vmlinuz --initrd "$1" --args "$args" --mem 128 --timeout 600 </dev/null 2>&1 | stamp "$t0" >"$2"
}
run_umbra() { # INITRD OUT LOG
	local t0=${EPOCHREALTIME/./}
	UMBRA_LOG=$3 UMBRA_TIMEOUT=600 scripts/run-guest $L/vmlinuz --initrd "$1" 128 -- $args </dev/null 2>&1 | stamp "$t0" >"$2"
}

# A longer stress than make test's (4x its rounds), so that the stress, not
# the boot, is most of what is timed; and one with half of that.
base=$(tr -d '\n' <<<"$(gunzip -c $L/initrd.gz | cpio -i --quiet --to-stdout lstress.args)")
rounds=$(sed -n 's/.*rounds=\([0-9]*\).*/\1/p' <<<"$base")
full=$((rounds * 4)) half=$((rounds * 2))
tests/linux/mkinitrd $out/initrd.full.gz $L/busybox $L/lstress "${base/rounds=$rounds/rounds=$full}"
tests/linux/mkinitrd $out/initrd.half.gz $L/busybox $L/lstress "${base/rounds=$rounds/rounds=$half}"
# Three runs each, alternating (the machine is shared and noisy): the
# figures are the ratios of the best times, every time is in the line.
best() { sort -n | head -1; }
pbs=() pss=() ubs=() uss=() same=yes
for i in 1 2 3; do
	run_plain $out/initrd.full.gz $out/linux.plain
	run_umbra $out/initrd.full.gz $out/linux.umbra $out/linux.umbra.log
	pb=$(at $out/linux.plain 'init: lstress') pe=$(at $out/linux.plain 'lstress: forks')
	ub=$(at $out/linux.umbra 'init: lstress') ue=$(at $out/linux.umbra 'lstress: forks')
	if [ -z "$pb" ] || [ -z "$ub" ] || [ -z "$pe" ] || [ -z "$ue" ]; then
		echo "linux bench: a run did not reach its lines (plain: boot ${pb:-none}, stress ${pe:-none}; umbra: ${ub:-none}, ${ue:-none})" >&2
		exit 0
	fi
	pbs+=("$pb") pss+=($((pe - pb))) ubs+=("$ub") uss+=($((ue - ub)))
	cmp -s <(grep -oE '(init|lstress): .*' $out/linux.plain) <(grep -oE '(init|lstress): .*' $out/linux.umbra) || same=no
done
forks=$(sed -n 's/.*lstress: forks=\([0-9]*\).*/\1/p' $out/linux.umbra | head -1)
kernel=$(cut -d' ' -f1 $L/version)
pb=$(printf '%s\n' "${pbs[@]}" | best) ub=$(printf '%s\n' "${ubs[@]}" | best)
ps=$(printf '%s\n' "${pss[@]}" | best) us=$(printf '%s\n' "${uss[@]}" | best)
list() { local IFS=,; echo "$*"; }
echo "BENCH linux_boot_slowdown_vs_qemu $(awk "BEGIN{printf \"%.2f\", $ub/$pb}") x umbra_ms=$ub plain_ms=$pb umbra_runs=$(list "${ubs[@]}") plain_runs=$(list "${pbs[@]}") to=first_init_line kernel=$kernel accel=tcg"
echo "BENCH linux_forkstress_slowdown_vs_qemu $(awk "BEGIN{printf \"%.2f\", $us/$ps}") x umbra_ms=$us plain_ms=$ps umbra_runs=$(list "${uss[@]}") plain_runs=$(list "${pss[@]}") forks=$forks identical_lines=$same accel=tcg"

# Exits per fork: the same boot with half the rounds.
run_umbra $out/initrd.half.gz $out/linux.half $out/linux.half.log
hforks=$(sed -n 's/.*lstress: forks=\([0-9]*\).*/\1/p' $out/linux.half | head -1)
reasons() { sed -n 's/.*exits by reason: \(.*\); events.*/\1/p' "$1"; } # "pf N cr N ..."
if [ -n "$hforks" ] && [ -n "$forks" ] && [ "$forks" -gt "$hforks" ]; then
	per=$(paste -d' ' <(reasons $out/linux.umbra.log | tr ' ' '\n' | paste - -) \
			 <(reasons $out/linux.half.log | tr ' ' '\n' | paste - -) |
		awk -v d=$((forks - hforks)) '{ n = ($2 - $4) / d; total += n; printf "%s=%.0f ", $1, n } END { printf "total=%.0f", total }')
	total=${per##*total=}
	handling=$(sed -n "s/.*umbra's own handling \([0-9]*\) ns an exit.*/\1/p" $out/linux.umbra.log)
	echo "BENCH linux_exits_per_fork $total exits ${per% total=*} forks=$((forks - hforks)) umbra_handling_ns_per_exit=$handling method=difference_of_two_runs accel=tcg"
fi

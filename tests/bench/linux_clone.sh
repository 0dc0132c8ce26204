#!/usr/bin/env bash
# Forking a running Linux VM (issue 15; part of make bench): a booted
# 256 MiB Linux VM clones itself 16 times from its /init (/vmclone 16, back
# to back), then the 17 VMs run the fork stress, on 512 MiB of host memory;
# and the same with clone=deep (2 clones, on 1 GiB). From umbra's log:
# - linux_clone_us: umbra's time for one shared clone (TSC), the best of
#   clones 2-16 (the first also runs umbra's clone code for the first time,
#   which QEMU's TCG translates then: its figure is in the line);
# - linux_clone_speedup_vs_deep: the best deep clone over the best shared;
# - linux_clone_shadow_ratio: shadow tables of the parent plus 16 fresh
#   clones over the parent's alone: /vmclone 16 asks for the 16 at once,
#   so umbra's batch line gives all the tables there were before the first
#   clone and after the 16th, no VM having run in between;
# - linux_clone_private_frames: guest frames each clone holds of its own
#   (copied or allocated) after its fork stress, mean, against 65,536.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=build L=build/linux out=build/bench-out
mkdir -p "$out"
[ -f $L/vmlinuz ] && [ -f $L/initrd.gz ] || { echo "linux clone bench: build/linux not made (make linux)" >&2; exit 0; }
run() { # QEMU_MIB UMBRA_ARGS CLONES OUT
	scripts/qemu --umbra "$L/vmlinuz umbra.mem=256 console=ttyS0 quiet umbra_clones=$3,$L/initrd.gz" --mem "$1" \
		--umbra-args "$2" --tcg --timeout 900 </dev/null 2>&1 | tr -d '\r' >"$4"
}
run 512 "" 16 $out/clone16.out
run 1024 "clone=deep" 2 $out/clonedeep.out
cyc() { sed -n 's/^umbra: vm1 cloned into vm[0-9]* (.* \([0-9]*\) cycles.*/\1/p' "$1"; }
first=$(cyc $out/clone16.out | head -1)
best=$(cyc $out/clone16.out | tail -n +2 | sort -n | head -1)
deep=$(cyc $out/clonedeep.out | sort -n | head -1)
us=$(sed -n 's/^umbra: vm1 cloned into vm[0-9]* (.* in \([0-9]*\) us, '"$best"' cycles.*/\1/p' $out/clone16.out | head -1)
read -r before after < <(sed -n 's/^umbra: vm1 cloned 16 of 16 at once .*shadow tables \([0-9]*\) before, \([0-9]*\) after$/\1 \2/p' $out/clone16.out)
priv=$(sed -n 's/^umbra: vm\([0-9]*\): [0-9]* exits in .* \([0-9]*\) guest frames$/\1 \2/p' $out/clone16.out |
	awk '$1 != 1 { s += $2; n++ } END { if (n) printf "%.0f", s / n }')
stress=$(grep -c 'lstress: forks=[0-9]* checksum=0x[0-9a-f]* OK' $out/clone16.out)
echo "BENCH linux_clone_us ${us:-?} us cycles=$best first_clone_cycles=$first guest=256M clones=16 accel=tcg"
echo "BENCH linux_clone_speedup_vs_deep $(awk "BEGIN{printf \"%.0f\", ${deep:-0}/(${best:-1}+0.001)}") x shared_cycles=$best deep_cycles=$deep guest=256M accel=tcg"
echo "BENCH linux_clone_shadow_ratio $(awk "BEGIN{printf \"%.2f\", ${after:-0}/(${before:-1}+0.001)}") x parent_tables=$before all_tables_after_16_clones=$after accel=tcg"
echo "BENCH linux_clone_private_frames ${priv:-?} frames of=65536 clones=16 stresses_ok=$stress/17 $(grep -o 'no leak' $out/clone16.out | head -1 | tr ' ' _) accel=tcg"

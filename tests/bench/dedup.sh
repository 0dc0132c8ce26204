#!/usr/bin/env bash
# Deduplication (issue 16; part of make bench): 8 VMs booted independently
# from the same Debian kernel and initramfs (64 MiB each) run /init and the
# fork stress, a deduplication pass every 20 s (dedup_every=20). From the
# last pass before they end:
# - dedup_saved_ratio: frames saved (pages a merged frame or the zero frame
#   stands for, less those frames) over the frames the guests then held.
set -uo pipefail
cd "$(dirname "$0")/../.."
L=build/linux out=build/bench-out
mkdir -p "$out"
[ -f $L/vmlinuz ] && [ -f $L/initrd.gz ] || { echo "dedup bench: build/linux not made (make linux)" >&2; exit 0; }
mods=""
for i in 1 2 3 4 5 6 7 8; do mods="$mods${mods:+,}$L/vmlinuz umbra.mem=64 console=ttyS0 quiet,$L/initrd.gz"; done
scripts/qemu --umbra "$mods" --mem 768 --tcg --umbra-args "dedup_every=20" --timeout 900 </dev/null 2>&1 | tr -d '\r' >$out/dedup8.out
read -r frames pages zero held < <(sed -n 's/^umbra: dedup: [0-9]* frames merged in [0-9]* us; \([0-9]*\) merged frames now stand for \([0-9]*\) guest pages, the zero frame for \([0-9]*\); guests hold \([0-9]*\) frames$/\1 \2 \3 \4/p' $out/dedup8.out | tail -1)
passes=$(grep -c '^umbra: dedup: ' $out/dedup8.out)
ok=$(grep -c 'lstress: forks=[0-9]* checksum=0x[0-9a-f]* OK' $out/dedup8.out)
saved=$(( ${pages:-0} - ${frames:-0} + ${zero:-0} ))
echo "BENCH dedup_saved_ratio $(awk "BEGIN{printf \"%.2f\", $saved/(${held:-1}+0.001)}") x saved_frames=$saved held_frames=${held:-?} merged_frames=${frames:-?} pages_merged=${pages:-?} zero_pages=${zero:-?} passes=$passes vms=8 guest=64M stresses_ok=$ok/8 $(grep -o 'no leak' $out/dedup8.out | head -1 | tr ' ' _) accel=tcg"

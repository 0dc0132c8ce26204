#!/usr/bin/env bash
# Print the QEMU accelerator options umbra should run under, and say on
# stderr which one was chosen and why. KVM only when /dev/kvm is usable and
# the host's nested virtualization is on: nested SVM on an AMD host (umbra's
# SVM backend), nested VMX on an Intel host (its VMX backend); umbra picks
# its backend from the CPUID it sees. Else TCG, whose CPU has SVM.
kind="" nested=""
for k in amd intel; do
	f=/sys/module/kvm_$k/parameters/nested
	[ -e /sys/module/kvm_$k ] || continue
	kind=$k
	[ -r "$f" ] && case "$(cat "$f")" in 1|Y|y) nested=$f;; esac
done
what=$([ "$kind" = intel ] && echo VMX || echo SVM)
if [ -n "$nested" ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	echo "umbra: accelerator: KVM with nested $what ($nested)" >&2
	echo "-accel kvm -cpu host"
else
	why="no usable /dev/kvm with nested SVM or VMX"
	[ -e /dev/kvm ] && [ -z "$nested" ] && why="/dev/kvm present but nested ${kind:+$what }virtualization is off or absent"
	echo "umbra: accelerator: TCG ($why)" >&2
	echo "-accel tcg -cpu qemu64"
fi

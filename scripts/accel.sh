#!/usr/bin/env bash
# Print the QEMU accelerator options umbra should run under, and say on
# stderr which one was chosen and why. KVM only when /dev/kvm is usable and
# the host's nested virtualization is on (umbra needs SVM inside the guest).
nested=""
for f in /sys/module/kvm_amd/parameters/nested /sys/module/kvm_intel/parameters/nested; do
	[ -r "$f" ] && case "$(cat "$f")" in 1|Y|y) nested="$f";; esac
done
if [ -n "$nested" ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ -e /sys/module/kvm_amd ]; then
	echo "umbra: accelerator: KVM with nested SVM ($nested)" >&2
	echo "-accel kvm -cpu host"
else
	why="no usable /dev/kvm with nested SVM"
	[ -e /dev/kvm ] && [ -z "$nested" ] && why="/dev/kvm present but nested SVM is off or absent"
	[ -e /sys/module/kvm_intel ] && [ -n "$nested" ] && why="Intel host: the VMX backend is not written yet"
	echo "umbra: accelerator: TCG ($why)" >&2
	echo "-accel tcg -cpu qemu64"
fi

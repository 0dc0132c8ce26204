#!/usr/bin/env bash
# Install what umbra needs from Debian's packages, if it is missing.
# As root (CI): apt-get update once, then apt-get install -y. Otherwise print
# the exact command and fail. Usage: scripts/deps.sh [run|test|bench|bochs]
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have qemu-system-x86_64 || need+=(qemu-system-x86)
have grub-mkrescue || need+=(grub-common)
[ -d /usr/lib/grub/i386-pc ] || need+=(grub-pc-bin)
have xorriso || need+=(xorriso)
have mformat || need+=(mtools)
have gcc || need+=(gcc)
have make || need+=(make)
have python3 || need+=(python3)
have cpio || need+=(cpio)
[ "${1:-}" = test ] && { have gdb || need+=(gdb); }
# Bochs (scripts/bochs: umbra's VMX backend, and SVM on a second emulator).
if [ "${1:-}" = bochs ] || [ "${1:-}" = test ] || [ "${1:-}" = bench ]; then
	have bochs-bin || need+=(bochs)
	[ -f /usr/share/bochs/BIOS-bochs-latest ] || need+=(bochsbios)
	[ -f /usr/share/vgabios/vgabios.bin ] || need+=(vgabios)
fi
[ "${1:-}" = bench ] && { have valgrind || need+=(valgrind); have gnuplot || need+=(gnuplot-nox); }
[ ${#need[@]} -eq 0 ] && exit 0
cmd="apt-get install -y ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	# A mirror caught mid-sync fails one index: what we need may still be had.
	apt-get update -qq >&2 || echo "deps: apt-get update reported errors; installing all the same" >&2
	apt-get install -y -qq "${need[@]}" >&2
else
	echo "deps: missing packages; run: sudo apt-get update && sudo $cmd" >&2
	exit 1
fi

#!/usr/bin/env bash
# umbra's test runner (make test). Prints one PASS/FAIL/SKIP line per test and
# ends with the line "N passed, N failed[, N skipped]".
#   1. host unit and model tests of mm/ and of vmm/'s pure-C parts (ASan +
#      UBSan): every build/tests/host/test_* the Makefile built
#   2. every paging guest on plain QEMU and under umbra: the outputs must be
#      byte-identical, the statuses equal, and the guest's own checks pass
#   3. bad input: malformed modules and misbehaving guests get a clear reason
#      and their documented status, never a crash of umbra
#   3b. several VMs at once; 3c. clones and the clone tree; 3c'. the guest
#      OS's forkstress; 3d. the console; 3f. both backends on Bochs (VMX and
#      SVM): paging guests, clone tree, forkstress (make test-bochs: only these)
#   4. the GRUB ISO: make run's demo ends by itself without a terminal, and
#      keeps its console until 'quit' with one
#
# ONLY=PATTERN (make test ONLY=...): run only the tests whose printed names
# match the extended regex PATTERN (host test binaries filter their groups
# by it too), e.g. ONLY=pg_role, ONLY='host/test_asid', ONLY='console/kill'.
set -uo pipefail
cd "$(dirname "$0")/.."
exec </dev/null # no test reads the terminal; a guest's typed input is fed to it (feed)
ONLY=${ONLY:-}
# Is the test called $1 one to run?
want() { [ -z "$ONLY" ] || grep -Eq -- "$ONLY" <<<"$1"; }

# The guest tests run as jobs, UMBRA_TEST_JOBS (default: the CPU count, at
# most 4) at a time; each job's lines are printed, in the order the jobs
# were started, once all have ended. job_alone waits until no other job
# runs (for tests whose deadlines are wall time).
JOBS=${UMBRA_TEST_JOBS:-$(nproc)}; [ "$JOBS" -gt 4 ] && JOBS=4
job_names=()
job() { # NAME FUNCTION ARGS...
	local name=$1; shift
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
	("$@") >"$out/job-$name.txt" 2>&1 &
	job_names+=("$name")
}
job_alone() { # NAME FUNCTION ARGS...
	local name=$1; shift
	wait
	("$@") >"$out/job-$name.txt" 2>&1
	job_names+=("$name")
}
collect() { # print and count every job's PASS/FAIL/SKIP lines, in order
	wait
	local name line
	for name in "${job_names[@]}"; do
		while IFS= read -r line; do
			case $line in
			"PASS "*) pass=$((pass + 1)); echo "$line";;
			"FAIL "*) fail=$((fail + 1)); echo "$line";;
			"SKIP "*) skip=$((skip + 1)); echo "$line";;
			esac
		done <"$out/job-$name.txt"
	done
}
B=build
out=$B/test-out
rm -rf "$out" && mkdir -p "$out"
soak=0; [ "${1:-}" = --soak ] && soak=1
pass=0 fail=0 skip=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }
skipped() { echo "SKIP $1${2:+: $2}"; skip=$((skip + 1)); }
T=${UMBRA_TEST_TIMEOUT:-60}
[ $soak = 1 ] && T=${UMBRA_TEST_TIMEOUT:-3600}

plain_qemu() { # kernel mem args... -> stdout, status (stdin: the guest's COM1 input)
	local k=$1 mem=$2; shift 2
	scripts/qemu --plain "$k" --mem "$mem" --args "$*" --timeout "$T"
}
# feed FILE TEXT: once the guest has printed a line "READY" to FILE, type
# TEXT (printf %b escapes) on its COM1; nothing if it never does.
feed() {
	local i
	[ -n "$2" ] || return 0
	for i in $(seq $((T * 10))); do grep -q '^READY' "$1" 2>/dev/null && break; sleep 0.1; done
	grep -q '^READY' "$1" 2>/dev/null && printf '%b' "$2"
}
umbra_qemu() { # QEMU_MIB "UMBRA_ARGS" "MODULES" -> stdout, status (TCG, umbra's log on COM1)
	scripts/qemu --umbra "$3" --mem "$1" --umbra-args "$2" --tcg --timeout "$T" </dev/null
}

# ---- 0. the build ------------------------------------------------------------
# make test has just built everything: a second make must rebuild nothing.
if want "build/a second make rebuilds nothing"; then
	touch "$out/.mark"; sleep 1
	make -s all >"$out/remake.txt" 2>&1
	rebuilt=$(find "$B" -newer "$out/.mark" -type f ! -path "$out/*" | head -5 | tr '\n' ' ')
	if [ -z "$rebuilt" ]; then ok "build/a second make rebuilds nothing"; else bad "build/a second make rebuilds nothing" "it rebuilt $rebuilt"; fi
fi

# ---- 1. host tests -------------------------------------------------------
for t in $B/tests/host/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=host/$(basename "$t")
	export UMBRA_ONLY=$ONLY UMBRA_TEST_PREFIX=$name/  # the binary runs the groups that match
	if [ $soak = 1 ]; then UMBRA_SOAK=1 "$t" >"$out/$(basename "$t").txt" 2>&1; else "$t" >"$out/$(basename "$t").txt" 2>&1; fi
	rc=$?
	while read -r verdict rest; do
		case $verdict in
		PASS) ok "$name/$rest";;
		FAIL) bad "$name/${rest%%:*}" "${rest#*: }";;
		esac
	done < <(grep -E '^(PASS|FAIL) ' "$out/$(basename "$t").txt")
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$out/$(basename "$t").txt"; then
		bad "$name" "exited $rc without a FAIL line (crash?): $(tail -3 "$out/$(basename "$t").txt" | tr '\n' ' ')"
	fi
done

# ---- 2. paging guests: plain QEMU is the reference -----------------------
paging_guest() { # GUEST.elf: on plain QEMU, under umbra, under umbra with reclaims
	local g=$1 n gargs input prc urc rrc last nrec
	n=$(basename "$g" .elf)
	want "guest/$n" || return
	gargs=$(sed -n 's/^\/\/ guest-args: //p' "tests/paging/$n.c")  # the same for both
	input=$(sed -n 's/^\/\/ guest-input: //p' "tests/paging/$n.c") # typed once it says READY
	feed "$out/$n.plain" "$input" | plain_qemu "$g" 64 $gargs >"$out/$n.plain" 2>"$out/$n.plain.err"; prc=${PIPESTATUS[1]}
	feed "$out/$n.umbra" "$input" | UMBRA_LOG="$out/$n.umbra.log" UMBRA_TIMEOUT=$T scripts/run-guest "$g" 64 ${gargs:+-- $gargs} \
		>"$out/$n.umbra" 2>"$out/$n.umbra.err"; urc=${PIPESTATUS[1]}
	last=$(tail -n 1 "$out/$n.plain" | tr -d '\r')
	if [ $prc -ne 1 ] || ! [[ $last =~ ^DONE\ [0-9]+\ 0$ ]]; then
		bad "guest/$n on plain QEMU" "status $prc, last line '$last'"
		return
	fi
	ok "guest/$n on plain QEMU ($last)"
	if [ $urc -ne $prc ]; then
		bad "guest/$n under umbra" "status $urc, plain QEMU $prc; $(grep -m1 'ended' "$out/$n.umbra.log")"
	elif ! cmp -s "$out/$n.plain" "$out/$n.umbra"; then
		bad "guest/$n under umbra" "output differs from plain QEMU: $(diff "$out/$n.plain" "$out/$n.umbra" | head -3 | tr '\n' ' ')"
	elif ! grep -q 'audit: OK' "$out/$n.umbra.log"; then
		bad "guest/$n under umbra" "identical, but the audit at its end: $(grep -m3 'audit' "$out/$n.umbra.log" | tr '\n' ' ')"
	else
		ok "guest/$n under umbra: byte-identical, status $urc, audit OK"
	fi
	# A guest whose waits must end on time (umbra wakes at its deadline,
	# not at its own next tick) states the longest life it may have.
	local max_ms ms
	max_ms=$(sed -n 's/^\/\/ umbra-max-ms: //p' "tests/paging/$n.c")
	if [ -n "$max_ms" ]; then
		ms=$(sed -n 's/.*vm1: [0-9]* exits in \([0-9]*\) ms.*/\1/p' "$out/$n.umbra.log")
		if [ -n "$ms" ] && [ "$ms" -le "$max_ms" ]; then
			ok "guest/$n under umbra on time: the VM lived $ms ms (at most $max_ms)"
		else
			bad "guest/$n under umbra on time" "the VM lived ${ms:-?} ms, more than $max_ms"
		fi
	fi
	# Again with a reclaim every 3 exits: the guest must not notice.
	feed "$out/$n.reclaim" "$input" | UMBRA_ARGS="reclaim_every=3" UMBRA_LOG="$out/$n.reclaim.log" UMBRA_TIMEOUT=$T \
		scripts/run-guest "$g" 64 ${gargs:+-- $gargs} >"$out/$n.reclaim" 2>/dev/null; rrc=${PIPESTATUS[1]}
	nrec=$(sed -n 's/.*reclaimed \([0-9]*\) frames.*/\1/p' "$out/$n.reclaim.log")
	if [ $rrc -eq $prc ] && cmp -s "$out/$n.plain" "$out/$n.reclaim" && [ "${nrec:-0}" -gt 0 ] &&
	   grep -q 'audit: OK' "$out/$n.reclaim.log"; then
		ok "guest/$n under umbra with reclaims: byte-identical, $nrec frames reclaimed, audit OK"
	else
		bad "guest/$n under umbra with reclaims" "status $rrc, ${nrec:-0} reclaimed: $(diff "$out/$n.plain" "$out/$n.reclaim" | head -3 | tr '\n' ' ') $(grep -m2 -E 'audit|ended' "$out/$n.reclaim.log" | tr '\n' ' ')"
	fi
	# Again with 128 KiB of host memory for its guest pages (mem_limit=128k):
	# the rest goes to swap and comes back; the guest must not notice.
	feed "$out/$n.swap" "$input" | UMBRA_ARGS="mem_limit=128k" UMBRA_LOG="$out/$n.swap.log" UMBRA_TIMEOUT=$T \
		scripts/run-guest "$g" 64 ${gargs:+-- $gargs} >"$out/$n.swap" 2>/dev/null; rrc=${PIPESTATUS[1]}
	local sw
	sw=$(tr -d '\r' <"$out/$n.swap.log" | sed -n 's/^umbra: swap: \([0-9]*\) frames evicted in .*, \([0-9]*\) read back; 0 read errors, 0 write errors; 0 slots in use at the end$/\1 evicted, \2 read back/p')
	if [ $rrc -eq $prc ] && cmp -s "$out/$n.plain" "$out/$n.swap" && grep -q 'audit: OK' "$out/$n.swap.log" &&
	   grep -q 'no leak' "$out/$n.swap.log" && ! grep -q 'slots in use at the end' "$out/$n.swap.log" || [ -n "$sw" ] &&
	   [ $rrc -eq $prc ] && cmp -s "$out/$n.plain" "$out/$n.swap" && grep -q 'audit: OK' "$out/$n.swap.log" &&
	   grep -q 'no leak' "$out/$n.swap.log"; then
		ok "guest/$n under umbra with mem_limit=128k: byte-identical, ${sw:-nothing swapped out}, audit OK, no leak"
	else
		bad "guest/$n under umbra with mem_limit=128k" "status $rrc: $(diff "$out/$n.plain" "$out/$n.swap" | head -3 | tr '\n' ' ') $(grep -m3 -E 'audit|ended|swap:' "$out/$n.swap.log" | tr '\n' ' ')"
	fi
}
for g in $B/tests/paging/*.elf; do
	[ -f "$g" ] || continue
	want "guest/$(basename "$g" .elf)" || continue
	job "guest-$(basename "$g" .elf)" paging_guest "$g"
done

# ---- 3. bad input --------------------------------------------------------
# expect NAME STATUS LOG-REGEXES -- run-guest args... (one regex a line; all must match)
expect() {
	local name=$1 want=$2 re=$3 r matched=1; shift 4
	want "bad-input/$name" || return 0
	UMBRA_LOG="$out/bad-$name.log" UMBRA_TIMEOUT=$T scripts/run-guest "$@" >"$out/bad-$name.out" 2>&1
	local rc=$?
	while IFS= read -r r; do grep -Eq "$r" "$out/bad-$name.log" || matched=0; done <<<"$re"
	re=${re%%$'\n'*}
	if [ $rc -eq "$want" ] && [ $matched = 1 ]; then
		ok "bad-input/$name (status $rc: $(grep -Eo "$re.*" "$out/bad-$name.log" | head -1 | cut -c1-70))"
	else
		bad "bad-input/$name" "status $rc (want $want), log: $(grep -E 'rejected|ended|PANIC' "$out/bad-$name.log" | head -2 | tr '\n' ' ')"
	fi
}
good=$B/guest/hello.elf
bad_inputs() {
if [ -f "$good" ]; then
	head -c 4096 /dev/urandom >"$out/random.bin"
	expect random-bytes 131 'rejected: not an ELF file' -- "$out/random.bin"
	head -c 100 "$good" >"$out/truncated.elf"
	expect truncated 131 'rejected: .*(outside the file|no multiboot)' -- "$out/truncated.elf"
	objcopy -O elf64-x86-64 "$good" "$out/elf64.elf" 2>/dev/null &&
		expect elf64 131 'rejected: not a little-endian ELF32' -- "$out/elf64.elf"
	# No multiboot header: zero the magic wherever it is.
	python3 - "$good" "$out/nomb.elf" "$out/hugeseg.elf" "$out/badphoff.elf" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.find(struct.pack('<I', 0x1BADB002))
nomb = bytearray(d); nomb[i:i+4] = b'\0\0\0\0'
open(sys.argv[2], 'wb').write(nomb)
phoff, = struct.unpack_from('<I', d, 28)
huge = bytearray(d)
struct.pack_into('<I', huge, phoff + 12, 0xFFFFF000)   # p_paddr of the first segment
open(sys.argv[3], 'wb').write(huge)
bo = bytearray(d); struct.pack_into('<I', bo, 28, 0xFFFFFFF0)  # e_phoff
open(sys.argv[4], 'wb').write(bo)
PY
	expect no-multiboot 131 'rejected: no multiboot1 header' -- "$out/nomb.elf"
	expect segment-outside 131 'rejected: segment 0: .* outside the guest' -- "$out/hugeseg.elf"
	expect phdrs-outside 131 'rejected: program headers lie outside' -- "$out/badphoff.elf"
	expect mem-too-small 131 'rejected: .*outside the guest|rejected: umbra.mem=' -- "$good" 1
	expect mem-garbage 131 'rejected: umbra.mem= takes' -- "$good" 64 umbra.mem=12x
	expect unknown-setting 131 "rejected: unknown setting 'umbra.foo=1'" -- "$good" 64 umbra.foo=1
fi
# Malformed Linux kernels and initrds (made from Debian's bzImage).
lk=$B/linux/vmlinuz
if [ -f "$lk" ] && [ -f $B/linux/initrd.gz ]; then
	python3 - "$lk" "$out" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read()); o = sys.argv[2]
setup = ((d[0x1F1] or 4) + 1) * 512
open(o + '/lx-setup-only', 'wb').write(d[:setup])
old = bytearray(d); struct.pack_into('<H', old, 0x206, 0x0200); open(o + '/lx-proto200', 'wb').write(old)
big = bytearray(d); struct.pack_into('<I', big, 0x260, 0xFFFFF000); open(o + '/lx-init-size', 'wb').write(big)
low = bytearray(d); low[0x211] &= 0xFE; open(o + '/lx-zimage', 'wb').write(low)
junk = bytearray(d[:setup]) + b'\xff' * 65536; open(o + '/lx-junk-code', 'wb').write(junk)
PY
	head -c $((48 << 20)) /dev/zero >"$out/lx-big-initrd"
	expect linux-setup-only 131 'rejected: setup \([0-9]+ sectors\) leaves no protected-mode kernel' -- "$out/lx-setup-only"
	expect linux-old-protocol 131 'rejected: boot protocol 2.00 is too old' -- "$out/lx-proto200"
	expect linux-init-size 131 'rejected: the kernel needs .* to decompress' -- "$out/lx-init-size"
	expect linux-zimage 131 'rejected: a zImage .* is not supported' -- "$out/lx-zimage"
	expect linux-initrd-too-big 131 'rejected: initrd of .* (do not both fit|does not fit)' -- $lk --initrd "$out/lx-big-initrd" 40
	expect linux-junk-code 129 'vm1 ended .*triple fault' -- "$out/lx-junk-code"
fi
if [ -f "$good" ] && want "bad-input/bad-module-beside-good"; then
	# A bad module beside a good one: one rejected, the other runs to the end.
	umbra_qemu 256 "" "$out/random.bin umbra.mem=16,$good umbra.mem=32" >"$out/mixed.out" 2>&1; rc=$?
	if grep -q 'module 0 .*rejected: not an ELF file' "$out/mixed.out" &&
	   grep -q '^\[vm1\] hello: .*all match' "$out/mixed.out" && grep -q 'no leak' "$out/mixed.out"; then
		ok "bad-input/bad-module-beside-good (bad one rejected, good one ran, status $rc)"
	else
		bad "bad-input/bad-module-beside-good" "status $rc: $(grep -E 'rejected|ended' "$out/mixed.out" | tr '\n' ' ')"
	fi
fi
for g in $B/tests/edge/*.elf; do
	[ -f "$g" ] || continue
	n=$(basename "$g" .elf)
	want=$(sed -n 's/^\/\/ expect-status: //p' "tests/edge/$n.c")
	re=$(sed -n 's/^\/\/ expect-log: //p' "tests/edge/$n.c")
	UMBRA_ARGS=$(sed -n 's/^\/\/ umbra-args: //p' "tests/edge/$n.c") expect "$n" "$want" "$re" -- "$g"
done
}
job bad-inputs bad_inputs

# ---- 3b. several VMs at once ---------------------------------------------
# Every paging guest (but those that wait for typed input), the default
# guest, a second FPU guest and a second
# debug-register guest (two VMs with different values in their FPU and debug
# registers) and a spinner in one boot: they run
# round-robin, preempted by the host timer; each VM's lines (prefix [vmN]
# stripped) must equal that guest's own output on plain QEMU, and the
# spinner, which never exits by itself, must not hold the others up.
multi_vm() {
mods=""; names=()
for g in $B/tests/paging/*.elf $good $B/tests/paging/pg_fpu.elf $B/tests/paging/pg_dr.elf $B/tests/edge/spin.elf; do
	[ -f "$g" ] || continue
	grep -q '^// guest-input: ' "tests/paging/$(basename "$g" .elf).c" 2>/dev/null && continue # waits for typing
	gargs=$(sed -n 's/^\/\/ guest-args: //p' "tests/paging/$(basename "$g" .elf).c" 2>/dev/null)
	mods="$mods${mods:+,}$g${gargs:+ $gargs}"; names+=("$(basename "$g" .elf)")
done
umbra_qemu 512 "deadline=8" "$mods" 2>&1 | tr -d '\r' >"$out/multi.out"
multi_ok=1; why=""
for i in "${!names[@]}"; do
	id=$((i + 1)); n=${names[$i]}
	sed -n "s/^\[vm$id\] //p" "$out/multi.out" >"$out/multi.vm$id"
	if [ "$n" = spin ]; then
		grep -q "vm$id ended .*deadline=8 s passed" "$out/multi.out" || { multi_ok=0; why="$why spin not stopped by the deadline;"; }
		continue
	fi
	gargs=$(sed -n 's/^\/\/ guest-args: //p' "tests/paging/$n.c" 2>/dev/null)
	[ -f "$out/$n.plain" ] || plain_qemu "$(ls $B/tests/paging/$n.elf $B/guest/$n.elf 2>/dev/null | head -1)" 64 $gargs >"$out/$n.plain" 2>/dev/null
	cmp -s "$out/$n.plain" "$out/multi.vm$id" || { multi_ok=0; why="$why vm$id ($n) output differs;"; }
	grep -q "vm$id ended after [0-9]* slices: status 0:" "$out/multi.out" || { multi_ok=0; why="$why vm$id ($n) did not end with status 0;"; }
done
switched=$(grep -c '^\[vm' "$out/multi.out")
first_end=$(grep -n 'ended after' "$out/multi.out" | head -1 | cut -d: -f1)
late_lines=$(tail -n +"${first_end:-1}" "$out/multi.out" | grep -c '^\[vm')
grep -q 'no leak' "$out/multi.out" || { multi_ok=0; why="$why leak check missing;"; }
grep -q 'audit: [0-9]* violation' "$out/multi.out" && { multi_ok=0; why="$why audit violations;"; }
if [ $multi_ok = 1 ] && [ "$late_lines" -gt 0 ]; then
	ok "multi-vm/${#names[@]} VMs at once: each VM's output identical to plain QEMU, spinner preempted and stopped, audits OK, no leak"
else
	bad "multi-vm/${#names[@]} VMs at once" "${why:-the VMs did not overlap in time ($switched lines, $late_lines after the first end)}"
fi
}
want "multi-vm" && job_alone multi-vm multi_vm

# ---- 3c. clone ----------------------------------------------------------
clone_run() { # NAME QEMU_MIB MODULE_ARGS [UMBRA_ARGS [TAG]] -> $out/clone-NAME[TAG].out
	umbra_qemu "$2" "${4:-}" "$B/tests/clone/$1.elf${3:+ $3}" 2>&1 | tr -d '\r' >"$out/clone-$1${5:-}.out"
}
# A clone test states, in its own header, how to run it and what its output
# must hold: "// qemu-mem:", "// module-args:", "// umbra-args:", and
# "// expect: REGEX" (some line matches), "// expect-count: N REGEX"
# (exactly N lines match), "// expect-plain: REGEX" and
# "// expect-plain-status: S" (the same guest on plain QEMU).
header() { sed -n "s/^\/\/ $2: //p" "$1"; }
clone_headed() { # tests/clone/NAME.c
	local src=$1 n name o why="" r c
	n=$(basename "$src" .c); name=$(header "$src" test-name)
	clone_run "$n" "$(header "$src" qemu-mem)" "$(header "$src" module-args)" "$(header "$src" umbra-args)"
	o="$out/clone-$n.out"
	while IFS= read -r r; do
		[ -z "$r" ] || grep -Eq -- "$r" "$o" || why="$why no /$r/;"
	done <<<"$(header "$src" expect)"
	while read -r c r; do
		[ -z "$r" ] || [ "$(grep -Ec -- "$r" "$o")" = "$c" ] || why="$why /$r/ $(grep -Ec -- "$r" "$o") times, not $c;"
	done <<<"$(header "$src" expect-count)"
	if [ -n "$(header "$src" expect-plain)$(header "$src" expect-plain-status)" ]; then
		plain_qemu "$B/tests/clone/$n.elf" 64 >"$out/clone-$n.plain" 2>/dev/null; r=$?
		[ -z "$(header "$src" expect-plain-status)" ] || [ "$r" = "$(header "$src" expect-plain-status)" ] ||
			why="$why plain QEMU status $r;"
		while IFS= read -r c; do
			[ -z "$c" ] || grep -Eq -- "$c" "$out/clone-$n.plain" || why="$why plain QEMU: no /$c/;"
		done <<<"$(header "$src" expect-plain)"
	fi
	if [ -z "$why" ]; then ok "$name"; else bad "${name%% (*}" "$why"; fi
}
clone_small() {
	local src
	for src in tests/clone/*.c; do
		[ -n "$(header "$src" test-name)" ] && [ -f "$B/tests/clone/$(basename "$src" .c).elf" ] || continue
		want "$(header "$src" test-name)" && clone_headed "$src"
	done
}
want "clone/basic|clone/out-of-memory|clone/copy-on-write|clone/apic" && job clone-small clone_small

# The clone tree: 65 VMs, clones of clones, sharing memory and shadow tables
# copy-on-write; audited after every clone and every end. Then with reclaims,
# and with deep copies, which must give the same bytes.
clone_tree() {
[ -f $B/tests/clone/clone_tree.elf ] || return 0
	plain_qemu $B/tests/clone/clone_tree.elf 64 >"$out/clone-tree-plain.out" 2>/dev/null; prc=$?
	why=$(python3 tests/clone/check_tree.py "$out/clone-tree-plain.out" plain) && [ $prc -eq 1 ] &&
		ok "clone/tree on plain QEMU (one VM, $why)" || bad "clone/tree on plain QEMU" "status $prc: $why"
	# With reclaims under its feet, the shadow refills entries for frames
	# still shared after a table was made writable: a write must still copy.
	for mode in shared shared+reclaims shared+swap deep; do
		case $mode in
		shared) args="audit=all" ;;
		shared+reclaims) args="audit=all reclaim_every=5" ;;
		shared+swap) args="audit=all mem_limit=2" ;; # 512 frames for 65 VMs: frames clones share go to swap
		deep) args="audit=all clone=deep" ;;
		deep) args="audit=all clone=deep" ;;
		esac
		clone_run clone_tree 512 "" "$args" "-$mode"
		o="$out/clone-clone_tree-$mode.out"
		why=$(python3 tests/clone/check_tree.py "$o")
		audits=$(grep -v 'after swap batch' "$o" | grep -c '^umbra: audit after .*: OK')
		ended=$(grep -c '^umbra: vm[0-9]* ended .*status 0: wrote 0' "$o")
		swapped=""
		if [ $mode = shared+swap ]; then
			swapped=$(sed -n 's/^umbra: swap: \([0-9]*\) frames evicted in .*, \([0-9]*\) read back; 0 read errors, 0 write errors; 0 slots in use at the end$/\1 evicted, \2 read back, no slot left in use; /p' "$o")
			[ -n "$swapped" ] || why="$why; no swap, or swap slots left"
		fi
		if python3 tests/clone/check_tree.py "$o" >/dev/null && [ "$audits" = 129 ] && [ -n "$swapped" -o $mode != shared+swap ] &&
		   [ "$ended" = 65 ] && ! grep -q violation "$o" && grep -q 'no leak' "$o"; then
			ok "clone/tree $mode (65 VMs: $why; ${swapped}129 audits OK after each clone and end; no leak)"
		else
			bad "clone/tree $mode" "$why; $audits audits OK, $ended ended well; $(grep -E 'violation|leak|refused' "$o" | head -3 | tr '\n' ' ')"
		fi
	done
}
want "clone/tree" && job clone-tree clone_tree

# ---- 3c''. swap and dedup (issue 16): tests/run_swap.sh ----------------------
. tests/run_swap.sh

# ---- 3c'. the guest OS: forkstress -------------------------------------------
# The same guest OS and parameters on plain QEMU and under umbra: the bytes
# must be identical (only the root process prints, in a fixed order), then
# again with a reclaim every 3 exits; a malformed parameter gets a clear
# message and a failure status on both.
K=$B/guest/kern/kern.elf
forkstress() {
[ -f $K ] || return 0
	fs_args=${FORKSTRESS_ARGS:-procs=3 depth=2 pages=8 rounds=4}
	[ $soak = 1 ] && fs_args="procs=3 depth=3 pages=16 rounds=2600"  # 101,400 forks
	plain_qemu $K 64 $fs_args >"$out/forkstress.plain" 2>/dev/null; prc=$?
	for mode in plain-umbra reclaims; do
		args=""; [ $mode = reclaims ] && args="reclaim_every=3"
		UMBRA_ARGS="$args" UMBRA_LOG="$out/forkstress.$mode.log" UMBRA_TIMEOUT=$T \
			scripts/run-guest $K 64 -- $fs_args >"$out/forkstress.$mode" 2>/dev/null; urc=$?
		summary=$(grep '^forkstress: forks=' "$out/forkstress.$mode")
		if [ $prc -eq 1 ] && [ $urc -eq 1 ] && cmp -s "$out/forkstress.plain" "$out/forkstress.$mode" &&
		   grep -q ' OK$' <<<"$summary" && grep -q 'audit: OK' "$out/forkstress.$mode.log"; then
			ok "guest-os/forkstress under umbra${args:+ with $args}: byte-identical to plain QEMU ($summary), audit OK"
		else
			bad "guest-os/forkstress${args:+ with $args}" "plain $prc, umbra $urc: $(diff "$out/forkstress.plain" "$out/forkstress.$mode" | head -3 | tr '\n' ' ')"
		fi
	done
	plain_qemu $K 64 procs=zz >"$out/forkstress.bad.plain" 2>/dev/null; prc=$?
	UMBRA_LOG="$out/forkstress.bad.log" scripts/run-guest $K 64 -- procs=zz >"$out/forkstress.bad" 2>/dev/null; urc=$?
	if [ $prc -eq 3 ] && [ $urc -eq 3 ] && cmp -s "$out/forkstress.bad.plain" "$out/forkstress.bad" &&
	   grep -q 'procs= takes a number' "$out/forkstress.bad"; then
		ok "guest-os/forkstress bad parameter (a clear message, status 3, on both)"
	else
		bad "guest-os/forkstress bad parameter" "plain $prc umbra $urc: $(head -c 200 "$out/forkstress.bad")"
	fi
}
want "guest-os/forkstress" && job forkstress forkstress

# ---- 3d. the console ------------------------------------------------------
console_scenario() { # main|kill
	local why
	if why=$(python3 tests/console_test.py $B "$T" $1); then
		ok "console/$1 ($why)"
	else
		bad "console/$1" "$why"
	fi
}
if [ -f $B/tests/clone/clone_soak.elf ]; then
	for scenario in main kill focus; do
		want "console/$scenario" && job "console-$scenario" console_scenario $scenario
	done
fi
[ -f $B/linux/initrd.gz ] && want "console/linux" && job console-linux console_scenario linux
[ -f $B/linux/initrd.gz ] && want "console/shell" && job console-shell console_scenario shell
[ -f $B/guest/kern/kern.elf ] && want "console/swap" && job console-swap console_scenario swap

# ---- 3d'. Debian's i386 Linux (issue 13): plain QEMU is the reference -------
# The kernel and busybox come from Debian's packages (make linux); the
# initramfs runs tests/linux/lstress. The lines starting "init:" and
# "lstress:" must be identical under umbra (also with reclaims under its
# feet), with status 0, the audit OK and no frame leaked. By default the
# kernel runs on the APIC platform (issue 14: the IOAPIC routes IRQ 0, the
# local APIC timer is its clock event device, as on plain QEMU); with
# 'nolapic' on the 8259 and PIT alone, whose clock event line is not
# compared (plain QEMU's is its HPET, which umbra does not have).
LINUX_ARGS="console=ttyS0 quiet"
LT=$((T * 4))
linux_plain() {
	local o="$out/linux.plain" st
	scripts/qemu --plain $B/linux/vmlinuz --initrd $B/linux/initrd.gz --args "$LINUX_ARGS" \
		--mem 128 --timeout "$LT" </dev/null 2>&1 | tr -d '\r' >"$o.raw"; st=${PIPESTATUS[0]}
	grep -E '^(init|lstress):' "$o.raw" >"$o"
	if [ "$st" = 1 ] && grep -q '^lstress: forks=[0-9]* checksum=0x[0-9a-f]* OK$' "$o" &&
	   grep -q '^init: lstress exited 0$' "$o"; then
		ok "linux/plain QEMU boots $(cut -d' ' -f1 $B/linux/version) to /init and runs the fork stress ($(grep -o 'forks=[0-9]*' "$o"), status 0)"
	else
		bad "linux/plain QEMU boots Debian's kernel" "status $st: $(tail -3 "$o.raw" | tr '\n' ' ')"
	fi
	touch "$o.done"
}
linux_umbra_run() { # NAME "UMBRA_ARGS" [KERNEL ARG] -> $o, $o.raw, $o.log; status
	local o="$out/linux.$1" st
	UMBRA_ARGS="$2" UMBRA_LOG="$o.log" UMBRA_TIMEOUT=$LT scripts/run-guest $B/linux/vmlinuz \
		--initrd $B/linux/initrd.gz 128 -- $LINUX_ARGS ${3:-} 2>&1 | tr -d '\r' >"$o.raw"; st=${PIPESTATUS[0]}
	grep -E '^(init|lstress):' "$o.raw" >"$o"
	return "$st"
}
linux_umbra() { # NAME "UMBRA_ARGS" [KERNEL ARG]
	local n=$1 o="$out/linux.$1" st w ref="$out/linux.plain" rerun=""
	linux_umbra_run "$@"; st=$?
	for w in $(seq "$LT"); do [ -f "$out/linux.plain.done" ] && break; sleep 1; done
	# Linux checks its local APIC timer against the PIT's ticks over 100 ms
	# and drops it if they disagree by more than 2 of 25: on a loaded host,
	# where umbra's QEMU loses the CPU for a tick's time, as plain QEMU's
	# guests lose ticks there too, that can fail. Once, it is run again.
	if [ -z "${3:-}" ] && grep -qx 'init: clockevent pit' "$o" && grep -qx 'init: clockevent lapic' "$ref"; then
		rerun=", run twice: Linux's APIC timer check failed once (host load)"
		linux_umbra_run "$@"; st=$?
	fi
	local what="linux/$n: Debian's kernel under umbra${2:+ ($2)}${3:+ with '$3'}"
	if [ "${3:-}" = nolapic ]; then # the 8259 and the PIT only
		ref="$o.ref"
		{ grep -v '^init: irq 0 through' "$out/linux.plain" | grep -v '^init: clockevent'; } >"$ref"
		if ! grep -qx 'init: irq 0 through XT-PIC timer, local timer interrupts no' "$o"; then
			bad "$what" "not on the 8259 alone: $(grep '^init: irq 0' "$o")"
			return
		fi
		{ grep -v '^init: irq 0 through' "$o" | grep -v '^init: clockevent'; } >"$o.cmp" && mv "$o.cmp" "$o"
	fi
	if [ "$st" != 1 ]; then
		bad "$what" "status $st: $(grep -m1 'ended' "$o.log") $(tail -2 "$o.raw" | tr '\n' ' ')"
	elif ! [ -s "$ref" ] || ! cmp -s "$ref" "$o"; then
		bad "$what" "init/lstress lines differ from plain QEMU's: $(diff "$ref" "$o" | head -3 | tr '\n' ' ')"
	elif ! grep -q 'audit: OK' "$o.log" || ! grep -q 'no leak' "$o.log"; then
		bad "$what" "lines identical, but: $(grep -E 'audit|leak' "$o.log" | tr '\n' ' ')"
	elif [ "$n" = swap ] && ! grep -Eq 'swap: [1-9][0-9]* frames evicted .* 0 slots in use at the end' "$o.log"; then
		bad "$what" "lines identical, but it did not swap, or left slots in use: $(grep 'swap:' "$o.log" | tr '\n' ' ')"
	else
		ok "$what: init and lstress lines identical to plain QEMU ($(grep -o 'forks=[0-9]*' "$o")), status 0, audit OK, no leak$(sed -n 's/.*reclaimed \([0-9]*\) frames.*/, \1 frames reclaimed/p' "$o.log")$(tr -d '\r' <"$o.log" | sed -n 's/^umbra: swap: \([0-9]*\) frames evicted in .*, \([0-9]*\) read back; .*; \([0-9]*\) slots in use at the end$/, \1 frames swapped out and \2 read back, \3 slots left/p')$rerun"
	fi
}
# Issue 15: one 256 MiB Linux VM, booted, clones itself 16 times at once from
# its /init (/vmclone, umbra_clones=16); the 17 VMs run the fork stress at once
# on 512 MiB of host memory, with the auditor after every clone and every
# end. Each VM's init/lstress lines from the stress on must be plain QEMU's
# (the boot's, before, are linux/umbra's to check), each end with status 0,
# and no frame leak.
linux_clones() {
	local o="$out/linux.clones" why="" id
	umbra_qemu 512 "audit=all" "$B/linux/vmlinuz umbra.mem=256 $LINUX_ARGS umbra_clones=16,$B/linux/initrd.gz" \
		2>&1 | tr -d '\r' >"$o"
	for w in $(seq "$LT"); do [ -f "$out/linux.plain.done" ] && break; sleep 1; done
	sed -n '/^init: lstress procs/,$p' "$out/linux.plain" >"$o.tail"
	[ "$(grep -c '^umbra: vm1 cloned into' "$o")" = 16 ] || why="$why $(grep -c '^umbra: vm1 cloned into' "$o") clones, not 16;"
	for id in $(seq 17); do
		sed -n "s/^\[vm$id\] //p" "$o" | grep -E '^(init|lstress):' >"$o.vm$id"
		sed -n '/^init: lstress procs/,$p' "$o.vm$id" | cmp -s - "$o.tail" || why="$why vm$id's lines differ;"
		grep -q "vm$id ended after [0-9]* slices: status 0:" "$o" || why="$why vm$id did not end with status 0;"
	done
	[ "$(grep -c 'audit after .*: OK' "$o")" = 33 ] || why="$why $(grep -c 'audit after .*: OK' "$o") audits OK, not 33;"
	grep -q 'no leak' "$o" || why="$why leak check missing;"
	# The 16 are made at once and share the parent's root and tables: no
	# shadow table more after them than before (the parent's sync before
	# the first may free some).
	local tables
	tables=$(sed -n 's/^umbra: vm1 cloned 16 of 16 at once .*shadow tables \([0-9]*\) before, \([0-9]*\) after$/\1 \2/p' "$o")
	[ -n "$tables" ] && [ "${tables#* }" -le "${tables% *}" ] || why="$why shadow tables before and after the 16 clones: '${tables:-no batch line}';"
	if [ -z "$why" ]; then
		ok "linux/clones: a booted 256 MiB Linux VM cloned 16 times at once from its /init, no shadow table more ($tables), 17 fork stresses at once on 512 MiB, lines as plain QEMU's, 33 audits OK, no leak"
	else
		bad "linux/clones" "$why"
	fi
}
# (The plain run is the reference for the others: it runs whenever any does.)
if want "linux/plain" || want "linux/umbra" || want "linux/reclaim" || want "linux/swap" || want "linux/pic-only" || want "linux/clones"; then
	if [ -f $B/linux/initrd.gz ] && [ -f $B/linux/vmlinuz ]; then
		rm -f "$out/linux.plain.done"
		job linux-plain linux_plain
		want "linux/umbra" && job linux-umbra linux_umbra umbra ""
		want "linux/reclaim" && job linux-reclaim linux_umbra reclaim "reclaim_every=7"
		# About 40 MiB of guest memory touched under 20 MiB: half goes to swap.
		want "linux/swap" && job linux-swap linux_umbra swap "mem_limit=20"
		want "linux/pic-only" && job linux-pic-only linux_umbra pic-only "" nolapic
		want "linux/clones" && job linux-clones linux_clones
	else
		skipped "linux/plain QEMU boots Debian's kernel" "build/linux not made: Debian's packages could not be had (make linux says why)"
	fi
fi

# ---- 3e. what kernel developers use --------------------------------------------
dev_tools() {
if want "dev/make debug"; then
	o=$(UMBRA_DEBUG_BATCH=1 scripts/debug)
	if grep -q "^Breakpoint 1, kmain (" <<<"$o" && grep -Eq '^Line [0-9]+ of "[a-z/]+\.[chS]"' <<<"$o"; then
		ok "dev/make debug (gdb stopped at umbra's kmain with source lines)"
	else
		bad "dev/make debug" "$(tail -4 <<<"$o" | tr '\n' ' ')"
	fi
fi
if want "dev/make debug-guest"; then
	o=$(UMBRA_DEBUG_BATCH=1 scripts/debug $B/tests/paging/pg_basic.elf test_main)
	if grep -q "^Breakpoint 2, .*test_main ()" <<<"$o" && grep -q 'of "pg_basic.c"' <<<"$o"; then
		ok "dev/make debug-guest (gdb stopped in the guest's test_main, pg_basic.c, with its symbols)"
	else
		bad "dev/make debug-guest" "$(tail -4 <<<"$o" | tr '\n' ' ')"
	fi
fi
}
job dev dev_tools

# ---- 3f. both backends on Bochs (issue 17): tests/run_bochs.sh ---------------
. tests/run_bochs.sh

# ---- 4. the GRUB ISO: make run's demo, without and with a terminal ----------
demo() {
if ! want "iso/make-run demo"; then
	:
elif [ -f $B/umbra.iso ]; then
	if why=$(python3 tests/demo_test.py "$T"); then ok "iso/make-run demo ($why)"; else bad "iso/make-run demo" "$why"; fi
else
	bad "iso/make-run demo" "build/umbra.iso missing"
fi
}
job demo demo

# make run-linux without a terminal: Debian's Linux through GRUB, cloned 3
# times while its stress runs; each VM's stress right, every VM ended with
# status 0, no leak.
demo_linux() {
	local o="$out/run-linux.out" why="" n
	make -s $B/umbra-linux.iso >/dev/null 2>&1 || { bad "iso/make-run-linux" "the ISO could not be made"; return; }
	UMBRA_ISO=$B/umbra-linux.iso UMBRA_TIMEOUT=$LT scripts/run-demo </dev/null 2>&1 | tr -d '\r' >"$o"
	[ "$(grep -c '^umbra: vm1 cloned into' "$o")" = 3 ] || why="$why $(grep -c '^umbra: vm1 cloned into' "$o") clones, not 3;"
	n=$(grep -Ec '^\[vm[1-4]\] lstress: forks=[0-9]+ checksum=0x[0-9a-f]+ OK$' "$o")
	[ "$n" = 4 ] || why="$why $n stresses right, not 4;"
	grep -q 'demo finished: every VM ended with status 0' "$o" || why="$why not every VM ended with status 0;"
	grep -q 'no leak' "$o" || why="$why leak check missing;"
	if [ -z "$why" ]; then
		ok "iso/make-run-linux (Debian's Linux through GRUB, cloned 3 times mid-stress: 4 stresses right, no leak)"
	else
		bad "iso/make-run-linux" "$why"
	fi
}
[ -f $B/linux/initrd.gz ] && want "iso/make-run-linux" && job demo-linux demo_linux

collect

[ -n "$ONLY" ] && [ $((pass + fail + skip)) -eq 0 ] && echo "no test name matches ONLY='$ONLY'" >&2
echo "$pass passed, $fail failed$([ $skip -gt 0 ] && echo ", $skip skipped")"
[ $fail -eq 0 ]

# ---- 3f. both backends on a second emulator: Bochs (issue 17) ---------------
# Sourced by tests/run.sh (make test; make test-bochs runs only these). umbra
# runs on Bochs with its Intel VMX CPU (core2_penryn_t9600: no EPT, no VPID,
# no unrestricted guest: umbra's VMX backend, pure shadow paging) and its AMD
# SVM CPU (ryzen, with NRIPS: umbra's SVM backend), and on the Skylake model
# for VPID. Every paging guest, the clone tree and the guest OS's forkstress
# must give the bytes plain QEMU gives: for VMX, plain QEMU with an Intel
# vendor string, since umbra shows guests the host's vendor (pg_msr's AMD
# MSRs are AMD's only).
BT=${UMBRA_BOCHS_TEST_TIMEOUT:-400}
# bochs_ref NAME VENDOR INPUT KERNEL ARGS...: plain QEMU's bytes for it, once
# (INPUT typed once it says READY).
bochs_ref() {
	local name=$1 vendor=$2 input=$3 k=$4 f cpu=(); shift 4
	f="$out/bochs-ref-$vendor-$name.plain"
	[ -f "$f" ] && return 0
	local tmp="$f.$BASHPID"
	[ "$vendor" = intel ] && cpu=(-cpu qemu64,vendor=GenuineIntel)
	: >"$tmp"
	feed "$tmp" "$input" | scripts/qemu --plain "$k" --mem 64 --args "$*" --timeout "$T" -- "${cpu[@]}" >"$tmp" 2>/dev/null
	echo "${PIPESTATUS[1]}" >"$tmp.status"
	mv "$tmp.status" "$f.status" && mv "$tmp" "$f"
}
bochs_vendor() { case $1 in bochs-svm) echo amd;; *) echo intel;; esac; }
bochs_backend() { case $1 in bochs-svm) echo svm;; *) echo vmx;; esac; }

# bochs_guest EMULATOR GUEST.elf: the paging guest under umbra on Bochs.
bochs_guest() {
	local emu=$1 g=$2 n gargs vendor ref rc o name input
	n=$(basename "$g" .elf); name="$emu/guest/$n"
	gargs=$(sed -n 's/^\/\/ guest-args: //p' "tests/paging/$n.c")
	input=$(sed -n 's/^\/\/ guest-input: //p' "tests/paging/$n.c") # typed once it says READY
	vendor=$(bochs_vendor "$emu")
	ref="$out/bochs-ref-$vendor-$n.plain"
	bochs_ref "$n" "$vendor" "$input" "$g" $gargs
	o="$out/$emu-$n"
	: >"$o.out"
	feed "$o.out" "$input" | UMBRA_EMULATOR=$emu UMBRA_LOG="$o.log" UMBRA_TIMEOUT=$BT scripts/run-guest "$g" 64 \
		${gargs:+-- $gargs} >"$o.out" 2>"$o.err"; rc=${PIPESTATUS[1]}
	if [ "$rc" != "$(cat "$ref.status")" ]; then
		bad "$name" "status $rc, plain QEMU $(cat "$ref.status"); $(grep -m1 -E 'ended|PANIC' "$o.log") $(head -c 200 "$o.err")"
	elif ! cmp -s "$ref" "$o.out"; then
		bad "$name" "output differs from plain QEMU's: $(diff "$ref" "$o.out" | head -4 | tr '\n' ' ')"
	elif ! grep -q "backend $(bochs_backend "$emu") " "$o.log" || ! grep -q 'audit: OK' "$o.log" || ! grep -q 'no leak' "$o.log" ||
	     ! grep -Eq 'instruction lengths [1-9][0-9]* checked against the CPU.s, 0 differ' "$o.log" ||
	     { [ "$emu" = bochs-vmx-vpid ] && ! grep -q 'vmx: .*VPID: a stale vCPU' "$o.log"; }; then
		bad "$name" "identical, but: $(grep -m4 -E 'backend|audit|leak|lengths' "$o.log" | tr '\n' ' ')"
	else
		ok "$name: byte-identical to plain QEMU ($vendor), status $rc, backend $(bochs_backend "$emu"), audit OK, no leak, $(grep -Eo '[0-9]+ checked against the CPU.s' "$o.log") instruction lengths"
	fi
}

# bochs_forkstress EMULATOR: the guest OS's forkstress (small), as on QEMU.
bochs_forkstress() {
	local emu=$1 vendor rc o k=$B/guest/kern/kern.elf args="procs=3 depth=2 pages=8 rounds=4" summary
	vendor=$(bochs_vendor "$emu")
	bochs_ref forkstress "$vendor" "" "$k" $args
	o="$out/$emu-forkstress"
	UMBRA_EMULATOR=$emu UMBRA_LOG="$o.log" UMBRA_TIMEOUT=$BT UMBRA_ARGS="audit=all" scripts/run-guest "$k" 64 -- $args \
		</dev/null >"$o.out" 2>"$o.err"; rc=$?
	summary=$(grep '^forkstress: forks=' "$o.out")
	if [ "$rc" = 1 ] && cmp -s "$out/bochs-ref-$vendor-forkstress.plain" "$o.out" && grep -q ' OK$' <<<"$summary" &&
	   grep -q 'audit after vm1 ended: OK' "$o.log" && ! grep -q violation "$o.log" && grep -q 'no leak' "$o.log"; then
		ok "$emu/guest-os/forkstress: byte-identical to plain QEMU ($summary), audits OK, no leak"
	else
		bad "$emu/guest-os/forkstress" "status $rc: $(diff "$out/bochs-ref-$vendor-forkstress.plain" "$o.out" | head -3 | tr '\n' ' ') $(grep -m2 -E 'ended|violation|PANIC' "$o.log" | tr '\n' ' ')"
	fi
}

# bochs_tree EMULATOR: the clone tree, 65 VMs, audited after each clone and end.
bochs_tree() {
	local emu=$1 o why audits ended
	o="$out/$emu-clone-tree.out"
	scripts/bochs --cpu "${emu#bochs-}" --umbra "$B/tests/clone/clone_tree.elf" --mem 512 --umbra-args "audit=all" \
		--timeout "$BT" </dev/null 2>&1 | tr -d '\r' >"$o"
	why=$(python3 tests/clone/check_tree.py "$o")
	audits=$(grep -c '^umbra: audit after .*: OK' "$o")
	ended=$(grep -c '^umbra: vm[0-9]* ended .*status 0: wrote 0' "$o")
	if python3 tests/clone/check_tree.py "$o" >/dev/null && [ "$audits" = 129 ] && [ "$ended" = 65 ] &&
	   ! grep -q violation "$o" && grep -q 'no leak' "$o"; then
		ok "$emu/clone/tree (65 VMs: $why; 129 audits OK; no leak)"
	else
		bad "$emu/clone/tree" "$why; $audits audits OK, $ended ended well; $(grep -E 'violation|leak|PANIC|refused' "$o" | head -3 | tr '\n' ' ')"
	fi
}

bochs_linux() {
	local o="$out/bochs-vmx-linux" n e
	scripts/bochs --cpu vmx --umbra "$B/linux/vmlinuz umbra.mem=128 console=ttyS0 quiet umbra_clones_during=2,$B/linux/initrd.gz" \
		--mem 512 --umbra-args "audit=all" --timeout 1800 </dev/null 2>&1 | tr -d '\r' >"$o.out"
	n=$(grep -Ec '^\[vm[123]\] lstress: forks=[0-9]+ checksum=0x[0-9a-f]+ OK$' "$o.out")
	e=$(grep -Ec '^umbra: vm[123] ended after [0-9]+ slices: status 0:' "$o.out")
	if [ "$n" = 3 ] && [ "$e" = 3 ] && [ "$(grep -c '^umbra: vm1 cloned into' "$o.out")" = 2 ] &&
	   ! grep -q violation "$o.out" && grep -q 'no leak' "$o.out"; then
		ok "bochs-vmx/linux: Debian's kernel under VMX, cloned twice during its fork stress: 3 stresses right, audits OK, no leak"
	else
		bad "bochs-vmx/linux" "$n stresses right, $e ended well: $(grep -m2 -E 'PANIC|violation|refused' "$o.out" | tr '\n' ' ')"
	fi
}

# bochs_edge NAME: a misbehaving guest (tests/edge) under VMX: the status and
# the reason its header expects, as under SVM on QEMU (bad-input/NAME).
bochs_edge() {
	local n=$1 src=tests/edge/$1.c o="$out/bochs-vmx-edge-$1" want re r rc matched=1
	want=$(sed -n 's/^\/\/ expect-status: //p' "$src")
	re=$(sed -n 's/^\/\/ expect-log-vmx: //p' "$src") # where VMX differs, all its lines
	[ -n "$re" ] || re=$(sed -n 's/^\/\/ expect-log: //p' "$src")
	UMBRA_ARGS=$(sed -n 's/^\/\/ umbra-args: //p' "$src") UMBRA_EMULATOR=bochs-vmx UMBRA_LOG="$o.log" \
		UMBRA_TIMEOUT=$BT scripts/run-guest "$B/tests/edge/$n.elf" </dev/null >"$o.out" 2>&1; rc=$?
	while IFS= read -r r; do [ -z "$r" ] || grep -Eq -- "$r" "$o.log" || matched=0; done <<<"$re"
	if [ "$rc" = "$want" ] && [ $matched = 1 ] && grep -q 'no leak' "$o.log"; then
		ok "bochs-vmx/bad-input/$n (status $rc: $(grep -m1 -E 'ended' "$o.log" | sed 's/.*: //' | cut -c1-60))"
	else
		bad "bochs-vmx/bad-input/$n" "status $rc (want $want): $(grep -m2 -E 'ended|PANIC|refused' "$o.log" | tr '\n' ' ')"
	fi
}

# Nothing outside vmm/vmx/ knows a VMCS (nor outside vmm/svm/ a VMCB).
bochs_seam() {
	local name="seam/nothing outside vmm/vmx knows a VMCS, nothing outside vmm/svm a VMCB" hits
	want "$name" || return 0
	hits=$( (grep -ril vmcs boot vmm include mm guest Makefile | grep -v '^vmm/vmx/'
		 grep -ril vmcb boot vmm include mm guest Makefile | grep -v '^vmm/svm/') 2>/dev/null | sort -u | tr '\n' ' ')
	if [ -z "$hits" ]; then ok "$name"; else bad "$name" "found in $hits"; fi
}
bochs_seam

if command -v bochs-bin >/dev/null 2>&1; then
	for emu in bochs-vmx bochs-svm; do
		for g in $B/tests/paging/*.elf; do
			[ -f "$g" ] || continue
			n=$(basename "$g" .elf)
			want "$emu/guest/$n" || continue
			if [ "$emu" = bochs-svm ] && { [ $n = pg_msr ] || [ $n = pg_stackpf ]; }; then
				# Bochs's SVM (bochs/cpu/svm.cc) records EXITINTINFO only for
				# events it injected and for hardware exceptions: a #PF exit in
				# the delivery of an INT 0x80 (these two guests' system calls)
				# reports the last event injected before (pg_msr: a #GP; with
				# none yet, pg_stackpf: external interrupt 0), which umbra
				# delivers again. A CPU reports the INT n (umbra restarts it).
				skipped "$emu/guest/$n" "Bochs's SVM reports a stale EXITINTINFO when an INT n's delivery exits"
				continue
			fi
			job "$emu-$n" bochs_guest "$emu" "$g"
		done
		[ -f $B/guest/kern/kern.elf ] && want "$emu/guest-os/forkstress" && job "$emu-forkstress" bochs_forkstress "$emu"
		[ -f $B/tests/clone/clone_tree.elf ] && want "$emu/clone/tree" && job "$emu-tree" bochs_tree "$emu"
	done
	# Misbehaving guests under VMX, but spin: on Bochs a guest that spins
	# with interrupts off is never preempted (README, "Two backends").
	for f in tests/edge/*.c; do
		n=$(basename "$f" .c)
		[ "$n" = spin ] || ! [ -f $B/tests/edge/$n.elf ] || ! want "bochs-vmx/bad-input/$n" || job "bochs-vmx-edge-$n" bochs_edge "$n"
	done
	# VPID (Skylake's model): the guests whose TLB use is sharpest.
	for n in pg_tlb pg_spaces pg_role; do
		want "bochs-vmx-vpid/guest/$n" && job "bochs-vmx-vpid-$n" bochs_guest bochs-vmx-vpid $B/tests/paging/$n.elf
	done
	want "bochs-vmx-vpid/guest-os/forkstress" && job bochs-vmx-vpid-forkstress bochs_forkstress bochs-vmx-vpid
	# make soak: Debian's Linux and its fork stress under VMX on Bochs,
	# cloned twice while the stress runs (about 5 minutes of wall time).
	[ $soak = 1 ] && [ -f $B/linux/initrd.gz ] && want "bochs-vmx/linux" && job bochs-vmx-linux bochs_linux
elif want bochs; then
	bad "bochs" "bochs-bin is missing (scripts/deps.sh test installs bochs bochsbios vgabios)"
fi

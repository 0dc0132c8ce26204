# The swap and dedup tests of tests/run.sh (issue 16), sourced by it: they
# use its helpers (ok, bad, job, want, plain_qemu, umbra_qemu) and its
# variables (B, out, T).
# ---- 3c''. swap (issue 16) ---------------------------------------------------
# forkstress with 256 pages a process holds about 13 MiB at its peak; under
# mem_limit=6 the rest goes to umbra's swap disk and comes back: the bytes
# must be plain QEMU's, the audit clean, no frame and no swap slot left.
# Then the bad cases, each a clean stop of the VM with its reason: a read
# error of the disk, the disk full, no disk at all.
swap_run() { # TAG UMBRA_ARGS [SWAP_MIB]
	local K=$B/guest/kern/kern.elf
	UMBRA_SWAP_MIB=${3:-256} UMBRA_ARGS="$2" UMBRA_LOG="$out/swap.$1.log" UMBRA_TIMEOUT=$T \
		scripts/run-guest $K 64 -- procs=3 depth=2 pages=256 rounds=2 >"$out/swap.$1" 2>/dev/null
}
swap_tests() {
	local K=$B/guest/kern/kern.elf
	[ -f $K ] || return 0
	plain_qemu $K 64 procs=3 depth=2 pages=256 rounds=2 >"$out/swap.plain" 2>/dev/null; prc=$?
	swap_run fork "mem_limit=6 audit=all"; urc=$?
	local l="$out/swap.fork.log" s
	s=$(tr -d '\r' <"$l" | sed -n 's/^umbra: swap: \([0-9]*\) frames evicted in \([0-9]*\) batches, \([0-9]*\) read back; 0 read errors, 0 write errors; 0 slots in use at the end$/\1 frames evicted in \2 batches, \3 read back/p')
	# audit=all: the auditor runs after every batch of evictions too.
	local audits batches
	audits=$(grep -c 'audit after swap batch [0-9]*: OK' "$l")
	batches=$(tr -d '\r' <"$l" | sed -n 's/^umbra: swap: [0-9]* frames evicted in \([0-9]*\) batches.*/\1/p')
	if [ $prc -eq 1 ] && [ $urc -eq 1 ] && cmp -s "$out/swap.plain" "$out/swap.fork" && [ -n "$s" ] &&
	   [ "$audits" = "$batches" ] && ! grep -q violation "$l" &&
	   grep -q 'audit after vm1 ended: OK' "$l" && grep -q 'no leak' "$l"; then
		ok "swap/forkstress under mem_limit=6 (up to 13 processes of 256 pages): byte-identical to plain QEMU; $s; audit OK after each of the $batches batches and at the end; no slot left; no leak"
	else
		bad "swap/forkstress under mem_limit=6" "plain $prc umbra $urc; $audits audits OK after ${batches:-?} batches; $(diff "$out/swap.plain" "$out/swap.fork" | head -3 | tr '\n' ' ') $(grep -E 'swap:|ended|leak' "$l" | tr '\n' ' ')"
	fi
	# Thrashing: 24 MiB written and read back whole, 3 times, under 4 MiB.
	local g=$B/tests/paging/pg_thrash.elf
	plain_qemu "$g" 64 >"$out/swap.thrash.plain" 2>/dev/null
	UMBRA_ARGS="mem_limit=4" UMBRA_LOG="$out/swap.thrash.log" UMBRA_TIMEOUT=$T scripts/run-guest "$g" 64 \
		>"$out/swap.thrash" 2>/dev/null; urc=$?
	s=$(tr -d '\r' <"$out/swap.thrash.log" | sed -n 's/^umbra: swap: \([0-9]*\) frames evicted in .*, \([0-9]*\) read back; 0 read errors, 0 write errors; 0 slots in use at the end$/\1 evicted, \2 read back/p')
	if [ $urc -eq 1 ] && cmp -s "$out/swap.thrash.plain" "$out/swap.thrash" && [ -n "$s" ] &&
	   grep -q 'DONE 3 0' "$out/swap.thrash" && grep -q 'audit: OK' "$out/swap.thrash.log" && grep -q 'no leak' "$out/swap.thrash.log"; then
		ok "swap/thrash: 24 MiB touched whole 3 times under mem_limit=4 ($s): byte-identical to plain QEMU, audit OK, no leak"
	else
		bad "swap/thrash" "status $urc; $(diff "$out/swap.thrash.plain" "$out/swap.thrash" | head -3 | tr '\n' ' ') $(grep -E 'swap:|ended' "$out/swap.thrash.log" | tr '\n' ' ')"
	fi
	# The disk full with two VMs: the one that needs memory (forkstress) is
	# stopped; the other (pg_timer, a few frames, all taken at its start)
	# runs on to its end, its bytes plain QEMU's.
	local tp="$out/swap.two"
	plain_qemu $B/tests/paging/pg_timer.elf 64 >"$tp.plain" 2>/dev/null
	UMBRA_SWAP_MIB=2 umbra_qemu 256 "mem_limit=4" "$K procs=3 depth=2 pages=256 rounds=2,$B/tests/paging/pg_timer.elf" 2>&1 |
		tr -d '\r' >"$tp"
	if grep -q 'vm1 ended .*stopped by umbra.*swap store full' "$tp" && grep -q 'vm2 ended .*status 0' "$tp" &&
	   sed -n 's/^\[vm2\] //p' "$tp" | cmp -s - "$tp.plain" && grep -q 'no leak' "$tp"; then
		ok "swap/full with two VMs: the one that needs memory is stopped (swap store full), the other runs on to its end, bytes as plain QEMU's, no leak"
	else
		bad "swap/full with two VMs" "$(grep -E 'ended|leak' "$tp" | head -3 | tr '\n' ' ')"
	fi
	local tag args mib why
	for tag in read-error full no-disk; do
		case $tag in
		read-error) args="mem_limit=6 swap_fail_reads=40"; mib=256; why="the swap disk failed to read back" ;;
		full) args="mem_limit=4"; mib=2; why="out of memory: guests hold [0-9]* MiB, mem_limit is 4 MiB, and swap store full" ;;
		no-disk) args="mem_limit=4"; mib=0; why="out of memory: guests hold [0-9]* MiB, mem_limit is 4 MiB, and no swap store" ;;
		esac
		swap_run $tag "$args" $mib; urc=$?
		l="$out/swap.$tag.log"
		# (A run that swapped says how many slots were still in use: none.)
		if [ $urc -eq 135 ] && grep -q "vm1 ended .*stopped by umbra.*$why" "$l" && grep -q 'no leak' "$l" &&
		   ! grep 'slots in use at the end' "$l" | grep -qv ' 0 slots in use at the end'; then
			ok "swap/$tag: the VM is stopped with its reason ($(grep -o "$why" "$l" | head -1)), no slot left, no leak"
		else
			bad "swap/$tag" "status $urc; $(grep -E 'ended|swap:|leak|PANIC' "$l" | head -4 | tr '\n' ' ')"
		fi
	done
}
want "swap/" && job swap swap_tests

# Deduplication: two VMs of the same guest OS running the same forkstress,
# a pass every second (dedup_every=1, audited after each): identical pages
# of both are merged, each copied again when written; each VM's bytes must
# be plain QEMU's, every audit clean, no leak.
dedup_two() {
	local K=$B/guest/kern/kern.elf a="procs=3 depth=2 pages=64 rounds=8" o="$out/dedup.two" why=""
	[ -f $K ] || return 0
	plain_qemu $K 64 $a >"$o.plain" 2>/dev/null
	umbra_qemu 256 "dedup_every=1 audit=all" "$K $a,$K $a" 2>&1 | tr -d '\r' >"$o"
	for v in 1 2; do sed -n "s/^\[vm$v\] //p" "$o" | cmp -s - "$o.plain" || why="$why vm$v's bytes differ;"; done
	local merged passes
	merged=$(sed -n 's/^umbra: dedup: \([0-9]*\) frames merged.*/\1/p' "$o" | awk '{ s += $1 } END { print s + 0 }')
	passes=$(grep -c '^umbra: audit after a dedup pass: OK' "$o")
	[ "$merged" -gt 1000 ] || why="$why only $merged frames merged;"
	[ "$passes" -ge 1 ] && [ "$(grep -c '^umbra: dedup: [1-9]' "$o")" = "$passes" ] || why="$why $passes dedup passes audited OK;"
	grep -q violation "$o" && why="$why audit violations;"
	grep -q 'no leak' "$o" || why="$why leak check missing;"
	if [ -z "$why" ]; then
		ok "dedup/two VMs of one guest OS: $merged frames merged in $passes passes, each audited OK; both VMs' bytes as plain QEMU's; no leak"
	else
		bad "dedup/two VMs of one guest OS" "$why $(grep -E 'dedup:|ended' "$o" | head -4 | tr '\n' ' ')"
	fi
}
want "dedup/" && job dedup-two dedup_two

#!/usr/bin/env python3
# Drive umbra's serial console as a user would, through QEMU's serial port,
# while a family of clones runs (tests/clone/clone_soak.c): reclaim a frame
# the clones share and check exactly its mappings went, audit, clone from
# the console, line editing, and garbage answered with errors. The guests
# must still finish correctly, with no frame leaked.
# The "kill" scenario kills a VM in every state (running, halted, cloned a
# moment ago, a parent whose clones run on) and checks each is reported and
# freed, the others finish, and umbra ends normally with no frame leaked.
# The "focus" scenario types lines for two guests that read COM1 with
# interrupts (tests/paging/pg_input.c): Ctrl-A c and `focus N` move the
# input between the console and each VM; each guest must read its line
# whole and nothing typed for the console may reach a guest.
# The "linux" scenario clones Debian's Linux from the console while its
# fork stress runs: both VMs must finish the stress with its right result.
# The "shell" scenario runs Linux with umbra's append=umbra_shell=1, so its
# /init ends in a shell; clones it from the console while the shell waits
# for input, then types a command into each VM's shell (its prompt and echo
# must show as typed) and exits both.
# The "swap" scenario runs the guest OS's forkstress under mem_limit=6 and
# asks `swap`, `mem` and `stats` what was swapped while it runs.
# Usage: console_test.py BUILD_DIR [TIMEOUT_S] [main|kill|focus|linux|shell|swap]; prints one line,
# exits 1 on failure.
import random, re, subprocess, sys, threading, time

B = sys.argv[1] if len(sys.argv) > 1 else "build"
T = int(sys.argv[2]) if len(sys.argv) > 2 else 120
SCENARIO = sys.argv[3] if len(sys.argv) > 3 else "main"
MODULES = {
    "main": f"{B}/tests/clone/clone_soak.elf seconds=25",
    "kill": f"{B}/tests/edge/spin.elf,{B}/tests/edge/idle.elf,{B}/tests/clone/clone_soak.elf seconds=12",
    "focus": f"{B}/tests/paging/pg_input.elf,{B}/tests/paging/pg_input.elf",
    "linux": f"{B}/linux/vmlinuz umbra.mem=128 console=ttyS0 quiet,{B}/linux/initrd.gz",
    "shell": f"{B}/linux/vmlinuz umbra.mem=128 console=ttyS0 quiet,{B}/linux/initrd.gz",
    "swap": f"{B}/guest/kern/kern.elf procs=3 depth=2 pages=256 rounds=4",
}[SCENARIO]
ARGS = {"shell": ["--umbra-args", "append=umbra_shell=1"],
        "swap": ["--umbra-args", "mem_limit=6"]}.get(SCENARIO, [])
qemu = subprocess.Popen(  # the launcher execs QEMU: this is its process
    ["scripts/qemu", "--umbra", MODULES, "--tcg", "--mem", "256", "--timeout", "0"] + ARGS,
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
out, lock = [], threading.Lock()

def reader():
    for chunk in iter(lambda: qemu.stdout.read1(4096), b""):
        with lock:
            out.append(chunk.decode("latin-1").replace("\r", ""))
threading.Thread(target=reader, daemon=True).start()

def text():
    with lock:
        return "".join(out)

def wait_for(pattern, since=0, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        m = re.search(pattern, text()[since:], re.M)
        if m:
            return m
        time.sleep(0.05)
    raise TimeoutError(f"no /{pattern}/ in the output")

def cmd(line, raw=False):
    """Send a line; return what the console printed until the next prompt."""
    mark = len(text())
    qemu.stdin.write(line if raw else (line + "\r").encode())
    qemu.stdin.flush()
    # The answer ends with a fresh prompt.
    end = time.time() + 20
    while time.time() < end:
        t = text()[mark:]
        if "\n" in t and t.endswith("umbra> "):
            break
        time.sleep(0.05)
    time.sleep(0.2)
    return text()[mark:]

fails = []
def check(cond, what):
    if not cond:
        fails.append(what)

def scenario_kill():
    """Kill a VM in each state; return the summary line."""
    wait_for(r"^\[vm1\] edge: spinning", 0, T)
    wait_for(r"^\[vm2\] edge: idling", 0, T)
    wait_clones(3)
    cmd("")
    r = cmd("kill 1")
    check(re.search(r"^vm1 killed", r, re.M), "kill 1 (running): " + r[:200])
    r = cmd("kill 2")
    check(re.search(r"^vm2 killed", r, re.M), "kill 2 (halted): " + r[:200])
    r = cmd("kill 2")
    check(re.search(r"^error: ", r, re.M), "kill 2 again must be an error: " + r[:200])
    # A clone killed before it ever ran: both lines in one write, so the
    # console runs them between the same two slices. Ids are reused: the
    # clone gets the lowest free one.
    r = cmd(b"clone 3\rkill 1\r", raw=True)
    m = re.search(r"vm3 cloned into vm(\d+)", r)
    check(m and m.group(1) == "1", "clone 3 should have made vm1: " + r[:300])
    time.sleep(0.5)
    check(len(re.findall(r"^vm1 killed", text(), re.M)) == 2 and
          len(re.findall(r"^umbra: vm1 ended .*killed from the console", text(), re.M)) == 2,
          "kill of the fresh clone: " + text()[-300:])
    # A parent whose clones share its memory and shadow tables run on.
    r = cmd("kill 3")
    check(re.search(r"^vm3 killed", r, re.M), "kill 3 (clone parent): " + r[:200])
    r = cmd("audit")
    check(re.search(r"audit on request: OK \(3 VMs", r), "audit after the kills: " + r[:300])
    r = cmd("vms")
    running = re.findall(r"^  (\d+) +running", r, re.M)
    check(running == ["4", "5", "6"], "vms after the kills: " + r[:400])
    wait_for(r"all VMs ended.*no leak", 0, T)
    rc = qemu.wait(timeout=10)
    t = text()
    killed = re.findall(r"^umbra: vm(\d+) ended .*killed from the console", t, re.M)
    check(sorted(killed) == ["1", "1", "2", "3"], f"killed VMs reported: {killed}")
    ok = re.findall(r"^umbra: vm([456]) ended .*status 0: wrote 0", t, re.M)
    check(sorted(ok) == ["4", "5", "6"], f"the clones that were not killed ended: {ok}")
    check(not re.search(r"PANIC|violation", t), "a panic or an audit violation: " + t[-300:])
    check(rc == 3, f"umbra's exit status {rc}, want 3 (VMs stopped, no failure of umbra)")
    return "killed a running, a halted, a fresh clone and a clone parent: each reported and freed, " \
           "the other 3 VMs finished, audit OK, no leak"

def scenario_focus():
    line = b"hello, umbra: typed input\r"

    def typed(data, expect):
        """Type data; wait for expect in what follows."""
        mark = len(text())
        qemu.stdin.write(data)
        qemu.stdin.flush()
        wait_for(expect, mark)
        return mark

    wait_for(r"^\[vm1\] READY$")
    wait_for(r"^\[vm2\] READY$")
    r = cmd("vms")
    check(re.search(r"^  1 +halted", r, re.M) and re.search(r"^  2 +halted", r, re.M),
          "vms answers while input is the console's: " + r[:200])
    mark = typed(b"\x01c", r"input goes to vm1 \(Ctrl-A c: back to the console\)")
    typed(line, r"^\[vm1\] read: 'hello, umbra: typed input'$")
    wait_for(r"^\[vm1\] PASS a typed line arrives whole", mark)
    wait_for(r"vm1 has ended; input goes to the console|vm1 ended", mark)
    r = cmd("focus 7")
    check("error: no vm7" in r, "focus on a VM that does not exist is refused")
    r = cmd("focus 2")
    check("input goes to vm2" in r, "focus 2 gives vm2 the input")
    typed(b"\x01c", r"input goes to the console")
    r = cmd("vms")
    check(re.search(r"^  2 +halted", r, re.M), "Ctrl-A c gives the input back to the console: " + r[:200])
    typed(b"\x01c", r"input goes to vm2")
    typed(line, r"^\[vm2\] read: 'hello, umbra: typed input'$")
    wait_for(r"all VMs ended: 2 created, 0 rejected; .*no leak", 0, 60)
    t = text()
    check(t.count("PASS a typed line arrives whole") == 2, "each guest read its line whole, nothing else")
    return "Ctrl-A c and focus N move typed input between the console and two guests; each read its line whole"

def scenario_linux():
    wait_for(r"^\[vm1\] init: lstress procs", 0, T)
    r = cmd("clone 1")
    check(re.search(r"^vm1 cloned into vm2 \(shared copy-on-write", r, re.M), "clone 1: " + r[:200])
    wait_for(r"all VMs ended: 1 created, 0 rejected; .*no leak", 0, T)
    t = text()
    ok = re.compile(r"^\[vm(\d)\] lstress: forks=234 checksum=0x7c129bcc OK$", re.M)
    check(sorted(ok.findall(t)) == ["1", "2"], "both VMs end the stress right: " + str(ok.findall(t)))
    check(re.search(r"^\[vm2\] init: lstress exited 0$", t, re.M), "the clone's /init saw the stress end well")
    check(t.count("audit: OK") == 2 and "violation" not in t, "audits")
    return "Linux cloned from the console in the middle of its fork stress; both VMs ended it right, audits OK, no leak"

def scenario_shell():
    def typed(data, expect):
        mark = len(text())
        qemu.stdin.write(data)
        qemu.stdin.flush()
        return wait_for(expect, mark)

    wait_for(r"^\[vm1\] init: a shell; 'exit' ends this VM$", 0, T)
    time.sleep(1)  # the shell starts and prints its prompt
    r = cmd("clone 1")
    check(re.search(r"^vm1 cloned into vm2 \(shared copy-on-write", r, re.M), "clone 1 while the shell waits: " + r[:200])
    # Input to vm1: its prompt shows at once, and the keys' echo as typed.
    # (After a prompt, busybox asks the terminal where its cursor is: ESC [6n.)
    typed(b"\x01c", r"input goes to vm1 .*\n\[vm1\] linux# (\x1b\[6n)?$")
    typed(b"echo one $((20+22))\r",
          r"^echo one \$\(\(20\+22\)\)\n\[vm1\] one 42\n\[vm1\] linux# (\x1b\[6n)?$")
    typed(b"\x01c", r"input goes to the console")
    r = cmd("focus 2")
    check("input goes to vm2" in r, "focus 2 gives the clone the input: " + r[:200])
    typed(b"echo two $((2*3)); uname -r\r", r"^\[vm2\] two 6\n\[vm2\] 6\.1\.\d+")
    typed(b"exit\r", r"^umbra: vm2 ended after \d+ slices: status 0")
    r = cmd("focus 1")
    typed(b"exit\r", r"all VMs ended: 1 created, 0 rejected; .*no leak")
    t = text()
    check(len(re.findall(r"^umbra: vm[12] ended .*status 0", t, re.M)) == 2, "both VMs ended with status 0")
    check(not re.search(r"^\[vm2\] one 42", t, re.M) and not re.search(r"^\[vm1\] two 6", t, re.M),
          "each VM ran only what was typed for it")
    check(t.count("audit: OK") == 2 and "violation" not in t, "audits")
    return "Linux cloned from the console while its shell waited; a command typed into each VM's shell ran there, prompt and echo shown; both exited, no leak"

def scenario_swap():
    wait_for(r"^\[vm1\] round 1: checksum", 0, T)
    r = cmd("swap")
    m = re.search(r"^swap: an ATA disk .*\((bus-master DMA|PIO)\), (\d+) slots of a page .*, (\d+) in use$", r, re.M)
    check(m and int(m.group(3)) > 0, "swap: the disk and slots in use: " + r[:300])
    check(re.search(r"^  mem_limit 6 MiB: guests hold [0-9] MiB now$", r, re.M), "swap: mem_limit: " + r[:300])
    check(re.search(r"^  disk: \d+ pages written \(\d+ us each\), \d+ read", r, re.M), "swap: disk counts: " + r[:300])
    r = cmd("mem")
    m = re.search(r"guest pages: resident (\d+) \(limit mem_limit\), swapped out (\d+) \(over the VMs' maps; (\d+) slots", r)
    check(m and int(m.group(1)) <= 6 * 256 + 64 and int(m.group(2)) > 0 and int(m.group(3)) > 0,
          "mem: resident under the limit, some swapped out: " + r[:400])
    r = cmd("stats")
    m = re.search(r"swap: (\d+) frames evicted in (\d+) batches, \d+ made the zero frame, (\d+) read back", r)
    check(m and int(m.group(1)) > 0, "stats: swap counts: " + r[-400:])
    wait_for(r"all VMs ended: 1 created, 0 rejected; .*no leak", 0, T)
    t = text()
    check(re.search(r"^\[vm1\] forkstress: forks=\d+ .* OK$", t, re.M), "the stress ended right")
    check(re.search(r"0 slots in use at the end", t), "slots left in use")
    return "swap, mem and stats show the disk, the limit, pages swapped out and read back while forkstress runs under mem_limit=6; it ends right, no leak"

def wait_clones(n):
    """Until n clones were made, in whatever order the scheduler ran them."""
    end = time.time() + T
    while len(re.findall(r"^umbra: vm\d+ cloned into vm\d+", text(), re.M)) < n:
        if time.time() > end:
            raise TimeoutError(f"fewer than {n} clones were made")
        time.sleep(0.1)

def scenario_main():
    wait_clones(3)
    time.sleep(1.5)  # the clones copy their page tables meanwhile
    cmd("")
    r = cmd("walk 1 0x100000")
    m = re.search(r"-> host frame 0x([0-9a-f]+) \(count \d+, shared with clones\)", r)
    check(m, "walk: the code frame is not shown as shared: " + r[:300])
    ms = re.search(r"-> host frame 0x([0-9a-f]+), one of (\d+) mappings \(in its reverse-map set at bucket choice [01], slot [0-3]", r)
    check(ms and m and ms.group(1) == m.group(1) and int(ms.group(2)) >= 2,
          "walk: the shadow side does not show the frame's place in its reverse map: " + r[:400])
    hfn = m.group(1) if m else "0"
    r = cmd(f"frame 0x{hfn}")
    before = set(re.findall(r"^  table 0x([0-9a-f]+) \[(\d+)\]", r, re.M))
    m = re.search(r"(\d+) reverse-map entr", r)
    n_before = int(m.group(1)) if m else -1
    check(n_before == len(before) and n_before >= 2,
          f"frame 0x{hfn}: {n_before} entries, {len(before)} listed (want >= 2, all listed)")
    r = cmd(f"reclaim 0x{hfn}")
    gone = set(re.findall(r"invalidated: table 0x([0-9a-f]+) \[(\d+)\]", r))
    m = re.search(r"reclaim: frame 0x[0-9a-f]+: (\d+) shadow entr", r)
    check(m and int(m.group(1)) == n_before and gone == before,
          f"reclaim invalidated {gone} ({m.group(1) if m else '?'}), the frame had {before}")
    check(re.search(r"(\d+) TLB flush", r) and int(re.search(r"(\d+) TLB flush", r).group(1)) >= 1,
          "reclaim requested no TLB flush")
    # (The running clones map it again at their next instruction there.)
    r = cmd("reclaim 3")
    m = re.search(r"reclaim: (\d+) frames, (\d+) shadow entries invalidated", r)
    check(m and m.group(1) == "3" and int(m.group(2)) >= 3, "reclaim 3: " + r[:200])
    r = cmd("audit")
    check(re.search(r"audit on request: OK \(4 VMs", r), "audit: " + r[:200])
    r = cmd("clone 3")
    m = re.search(r"vm3 cloned into vm(\d+)", r)
    check(m, "clone from the console: " + r[:200])
    r = cmd("vms")
    check(len(re.findall(r"^  \d+ +running", r, re.M)) == 5, "vms does not list 5 running VMs: " + r[:400])
    r = cmd("shadows")
    check(re.search(r"\d+ shadow tables, \d+ of them shared", r), "shadows: " + r[-200:])
    r = cmd("shadows 1")
    check(re.search(r"shadow tables used by vm1", r), "shadows 1: " + r[-200:])
    r = cmd("stats")
    check(all(k in r for k in ("VM exits", "shadow faults", "COW breaks", "reverse-map sets", "TLB flushes")),
          "stats: " + r[:300])
    r = cmd("mem")
    check("frames managed" in r and "frame table" in r, "mem: " + r[:200])
    r = cmd("help")
    check(all(f"  {c} " in r for c in ("vms", "vm", "kill", "clone", "walk", "shadows", "frame", "reclaim",
                                      "audit", "stats", "mem")), "help: " + r[:200])
    r = cmd("vm 1")
    check(re.search(r"guest cr0 [0-9a-f]{8} cr2 [0-9a-f]{8} cr3", r), "vm 1: " + r[:200])
    check(re.search(r"local APIC: enabled, TPR [0-9a-f]+, .* timer .* ID page (shown|hidden)", r) and
          "IOAPIC pins unmasked:" in r, "vm 1 (APICs): " + r[:400])
    # Line editing: a backspace and a Ctrl-U.
    r = cmd(b"vmx\x08s\r", raw=True)
    check(re.search(r"^  id  state", r, re.M), "backspace: " + r[:200])
    r = cmd(b"nonsense\x15audit\r", raw=True)
    check("audit on request: OK" in r, "Ctrl-U: " + r[:200])
    # Garbage: each line answered with exactly one error, and umbra goes on.
    bad = ["foo", "walk 1 zz", "vm 999", "vm 0x", "frame 0xFFFFFFFFFFFFFFFFFFFF", "reclaim 0x1",
           "kill", "shadows 1 from x", "walk", "clone 77", "x" * 300, "reclaim -5", "vm 1 2 3"]
    rnd = random.Random(7)
    for _ in range(20):
        bad.append("".join(chr(rnd.randrange(33, 127)) for _ in range(rnd.randrange(1, 40))))
    for b in bad:
        r = cmd(b)
        check(len(re.findall(r"^error: ", r, re.M)) == 1, f"{b[:40]!r} got: {r[:200]!r}")
    r = cmd(bytes(rnd.randrange(0, 256) for _ in range(500)) + b"\r", raw=True)
    check("umbra> " in r, "random bytes: no prompt after them")
    r = cmd("audit")
    check("audit on request: OK" in r, "audit after the garbage: " + r[:200])
    # Everything still ends well.
    wait_for(r"all VMs ended.*no leak", 0, T)
    t = text()
    ok = len(re.findall(r"^\[vm\d+\] soak: own memory intact every round", t, re.M))
    ended = len(re.findall(r"^umbra: vm\d+ ended .*status 0: wrote 0", t, re.M))
    check(ok == 5 and ended == 5, f"{ok} VMs kept their memory, {ended} ended with status 0 (want 5 and 5)")
    return (f"reclaimed a frame shared by the clones ({n_before} mappings, exactly those invalidated), "
            f"audit OK, clone from the console, {len(bad) + 1} garbage inputs answered with errors, 5 VMs ended well, no leak")

summary = ""
try:
    summary = {"main": scenario_main, "kill": scenario_kill, "focus": scenario_focus,
               "linux": scenario_linux, "shell": scenario_shell, "swap": scenario_swap}[SCENARIO]()
except (TimeoutError, BrokenPipeError) as e:
    fails.append(str(e) or type(e).__name__)
finally:
    try:
        qemu.wait(timeout=10)
    except subprocess.TimeoutExpired:
        qemu.kill()
open(f"{B}/test-out/console-{SCENARIO}.out", "w").write(text())
if fails:
    print("; ".join(fails)[:600])
    sys.exit(1)
print(summary)

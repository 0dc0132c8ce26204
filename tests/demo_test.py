#!/usr/bin/env python3
# make run as a user meets it, both ways: (1) standard input not a terminal
# (CI, a pipe): the demo runs and ends by itself; (2) a terminal (a pty
# here): after every VM has ended, umbra says so in one line and its
# console stays, answers a command, and leaves on 'quit'.
# Usage: demo_test.py [TIMEOUT_S]; prints one line, exits 1 on failure.
import os, pty, re, select, subprocess, sys, time

T = int(sys.argv[1]) if len(sys.argv) > 1 else 120
fails = []

# (1) no terminal
p = subprocess.run(["scripts/run-demo"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=T + 10)
out = (p.stdout + p.stderr).replace("\r", "")
if p.returncode != 0 or "demo finished: every VM ended with status 0" not in out or "console stays" in out:
    fails.append(f"without a terminal: status {p.returncode}, {out[-200:]!r}")

# (2) a terminal
pid, fd = pty.fork()
if pid == 0:
    os.environ["UMBRA_TIMEOUT"] = str(T)
    os.execv("scripts/run-demo", ["scripts/run-demo"])
buf = b""
def read_until(pattern, timeout):
    global buf
    end = time.time() + timeout
    while time.time() < end:
        m = re.search(pattern, buf.decode("latin-1").replace("\r", ""), re.M)
        if m:
            return m
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
    return None
if not read_until(r"every VM has ended; the console stays: type 'quit' to leave", T):
    fails.append("with a terminal: no line saying the console stays: " + buf.decode("latin-1")[-300:])
else:
    time.sleep(1.5)  # nothing more happens by itself: umbra waits
    os.write(fd, b"vms\r")
    if not read_until(r"^  id  state", 20):
        fails.append("with a terminal: 'vms' got no answer")
    os.write(fd, b"quit\r")
    if not read_until(r"demo finished: every VM ended with status 0", 20):
        fails.append("with a terminal: 'quit' did not end the demo: " + buf.decode("latin-1")[-300:])
if fails:
    os.killpg(pid, 15)  # run-demo, timeout and QEMU: the pty session
try:
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        fails.append(f"with a terminal: run-demo exited {os.waitstatus_to_exitcode(status)}")
except ChildProcessError:
    pass
if fails:
    print("; ".join(fails)[:600])
    sys.exit(1)
print("without a terminal the demo ended by itself; with one the console stayed, answered 'vms', and 'quit' ended it")

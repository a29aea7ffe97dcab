#!/usr/bin/env python3
# Runs a command on a new pseudo-terminal, as a terminal emulator runs a shell: the command leads
# its own session, the pty is its controlling terminal and its process group the foreground group.
#   stdin:  one command per line: "intr" types Ctrl+C (the terminal's VINTR, 0x03); "hangup" closes
#           the master side, as a terminal emulator or sshd does when its window or connection goes:
#           the kernel hangs the terminal up and sends SIGHUP to its session leader, the command.
#   stdout: everything the command writes on the terminal, as it comes.
#   stderr: "pid N" once the command runs, "exit N" when it ended (128+S for signal S).
import fcntl, os, pty, select, struct, sys, termios

pid, master = pty.fork()
if pid == 0:
    # A wide terminal: no line of doppel's is wrapped.
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 500, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])

sys.stderr.write(f"pid {pid}\n")
sys.stderr.flush()
status = None
stdin_open = True
master_open = True
while master_open or status is None:
    watched = ([master] if master_open else []) + ([sys.stdin] if stdin_open else [])
    readable, _, _ = select.select(watched, [], [], 0.05)
    if master in readable:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""  # EIO: no process has the terminal open any more
        if data:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            master_open = False
    if stdin_open and sys.stdin in readable:
        line = sys.stdin.readline()
        if not line:
            stdin_open = False
        elif line.strip() == "intr":
            os.write(master, b"\x03")
        elif line.strip() == "hangup" and master_open:
            os.close(master)
            master_open = False
            readable = []
    if status is None:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(raw)
            status = 128 - code if code < 0 else code
    elif master_open and master not in readable:
        break  # the command ended; what it left running may keep the terminal open

sys.stderr.write(f"exit {status}\n")
sys.stderr.flush()

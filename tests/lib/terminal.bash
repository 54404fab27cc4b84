# Driving a command on a pseudo-terminal, for the bats suites: what a user
# at a terminal sees and types.

# on_terminal TRANSCRIPT PROMPT ANSWER [PROMPT ANSWER...] -- COMMAND...: run
# COMMAND on a new pseudo-terminal (its controlling terminal, so /dev/tty is
# it), type each ANSWER as soon as its PROMPT appears, and keep everything the
# terminal showed in TRANSCRIPT.  Prints "echo on" or "echo off" as the
# terminal was left; exits with COMMAND's status.
on_terminal() {
	"${PYTHON3:-python3}" - "$@" <<-'EOF'
		import os, pty, select, sys, termios, time
		transcript, args = sys.argv[1], sys.argv[2:]
		sep = args.index("--")
		script, cmd = args[:sep], args[sep + 1:]
		pid, fd = pty.fork()
		if pid == 0:
		    os.execvp(cmd[0], cmd)
		shown, seen, deadline = b"", 0, time.monotonic() + 60
		while time.monotonic() < deadline:
		    if script:
		        at = shown.find(script[0].encode(), seen)
		        if at >= 0:
		            seen = at + len(script[0])
		            os.write(fd, script[1].encode() + b"\n")
		            script = script[2:]
		    if not select.select([fd], [], [], 1)[0]:
		        continue
		    try:
		        data = os.read(fd, 4096)
		    except OSError:  # EIO: the terminal's last user closed it
		        data = b""
		    if not data:
		        break
		    shown += data
		echo = termios.tcgetattr(fd)[3] & termios.ECHO
		open(transcript, "wb").write(shown)
		print("echo on" if echo else "echo off")
		if time.monotonic() >= deadline:
		    print("still running after 60 s; the terminal showed %r" % shown)
		    os.kill(pid, 9)
		    os.waitpid(pid, 0)
		    sys.exit(99)
		_, status = os.waitpid(pid, 0)
		if script:
		    print("never saw the prompt %r; the terminal showed %r" % (script[0], shown))
		    sys.exit(98)
		sys.exit(os.waitstatus_to_exitcode(status))
	EOF
}

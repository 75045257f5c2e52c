#!/usr/bin/env python3
# What dockling's init does for `run -t`, and no more, so that the monitor's
# --tty mode can be tested without a container: make a pty, send its master
# to the monitor over fd 4 (SCM_RIGHTS, one byte of data), and run COMMAND
# on the slave as its controlling terminal.
#
#   pty-init.py COMMAND [ARG...]
import fcntl
import os
import socket
import sys
import termios

master, slave = os.openpty()
console = socket.socket(fileno=4)
socket.send_fds(console, [b'x'], [master])
console.close()
os.close(master)

os.setsid()
fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
for fd in (0, 1, 2):
    os.dup2(slave, fd)
os.close(slave)
os.execvp(sys.argv[1], sys.argv[1:])

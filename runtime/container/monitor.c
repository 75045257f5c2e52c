/*
 * monitor: what keeps a detached container company.
 *
 *   monitor [--tty] [--stdin] [--restart POLICY] [--restart-count N]
 *           DIR -- PROGRAM [ARG...]
 *
 * `run -d` returns at once, and the container lives on without the CLI that
 * made it. Someone must still hold the other end of its stdout and stderr (a
 * pipe with no reader kills its writer with SIGPIPE; a pty with no master
 * hangs up its processes), write its log, hand its output to whoever
 * attaches later, notice when it exits, record how, and clean up after it.
 * Docker has a daemon and containerd-shim for that; podman has no daemon and
 * starts one small C program per container, conmon. This is dockling's
 * conmon. A Node process could do the same work at some 40 MiB a container;
 * this one stays under 5 MiB (chapter 5 measures it).
 *
 * The CLI starts it detached (its own session, stdio on /dev/null) with fd 3
 * already open: the channel to the container's init, which we hand on to
 * PROGRAM (nsexec) untouched. nsexec dies with its parent (PR_SET_PDEATHSIG)
 * and takes the container with it; its parent is now this program, so the
 * container lives as long as its monitor, however short the CLI's life.
 * Then this program, in the steps main() labels:
 *
 *   1. opens DIR, its own log and the container's, and makes the
 *      container's stdio (pipes, or with --tty a socket over which the init
 *      sends the pty master it made inside the container);
 *   2. listens on DIR/attach.sock, before anything runs, so that a client
 *      can attach as soon as the CLI hears that the container started;
 *   3. forks and execs PROGRAM, which becomes the container;
 *   4. copies its output to DIR/<ID>-json.log (Docker's json-file format,
 *      monitor-log.c) and to every attached client, and clients' input to
 *      the container;
 *   5. once PROGRAM has exited and its output is drained: writes
 *      DIR/exit.json, runs the steps in DIR/release (umount, rmdir, rm),
 *      tells the clients the exit status, and, if the restart policy says
 *      so, becomes (execv) the command in DIR/restart.
 *
 * Our own errors go to DIR/monitor.log: our stderr is /dev/null.
 *
 * The attach protocol, both ways: [type: 1 byte][length: 4 bytes, big
 * endian][payload]. To the client: 1 stdout, 2 stderr, 3 exit (the status in
 * decimal, last). From the client: 0 stdin, 4 resize ("ROWS COLS"),
 * 5 close stdin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define HIGH_WATER (256 * 1024)      /* a client this far behind holds the output up */
static long long stall_ms = 10 * 60 * 1000; /* ...for this long at most (--stall-ms), then it is dropped */
#define STDIN_BUFFER (64 * 1024)

enum { F_STDIN, F_STDOUT, F_STDERR, F_EXIT, F_RESIZE, F_CLOSE_STDIN, F_OWNER };

static int dir_fd = -1;  /* DIR: every file of ours is opened relative to it */
static int log_fd = -1;  /* DIR/monitor.log */
static int opt_tty, opt_stdin;

/* monitor-log.c: DIR/<ID>-json.log, Docker's json-file format */
void timestamp(char out[40]);
int write_all(int fd, const void *buf, size_t n);
int log_open(int dir_fd, const char *id);
int log_output(int stream, const char *data, size_t n); /* stream 1 stdout, 2 stderr */
int log_close(void);
int log_configure(const char *opt, const char *val); /* --log-driver, --log-max-size, --log-max-file */

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void complain(const char *fmt, ...) {
	char line[1024];
	timestamp(line);
	size_t n = strlen(line);
	n += snprintf(line + n, sizeof line - n, " monitor: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	if (log_fd >= 0 && write_all(log_fd, line, n) < 0) { /* nowhere left to say it */ }
}

/* ---- attach clients, and the container's input ---- */

struct client {
	int fd; /* -1: a free slot */
	char *out;
	size_t out_off, out_len, out_cap; /* frames the socket has not taken yet */
	long long progress;               /* when the socket last took some */
	unsigned char head[5];
	size_t head_len; /* of the frame being read */
	size_t left;     /* bytes of its payload still to come */
	char arg[32];
	size_t arg_len; /* a resize frame's payload */
	int owner;      /* a foreground CLI: it cleans up after the container itself */
};

static struct client clients[MAX_CLIENTS];
static int stdin_w = -1;    /* the write end of the container's stdin pipe */
static int console_fd = -1; /* with --tty: our end of the child's fd 4, until the master came */
static int master_fd = -1;  /* with --tty: the pty master, once the init has sent it */
static int stdin_closing;   /* a client asked to close stdin */
static char stdin_buf[STDIN_BUFFER];
static size_t stdin_len;
static unsigned short want_rows, want_cols;

static void drop_client(struct client *c) {
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

static void client_flush(struct client *c) {
	while (c->out_len > 0) {
		ssize_t k = send(c->fd, c->out + c->out_off, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0 && errno == EAGAIN) return;
		if (k < 0) {
			drop_client(c);
			return;
		}
		c->out_off += k;
		c->out_len -= k;
		c->progress = now_ms();
	}
	c->out_off = 0;
	if (c->out_cap > 64 * 1024) { /* a burst is over: give its memory back */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
}

/* Queue a frame for a client and send what its socket takes now, without
 * waiting (the main loop holds the output up while a client is far behind). */
static void client_send(struct client *c, int type, const char *data, size_t n) {
	size_t need = c->out_len + 5 + n;
	if (c->out_len == 0) c->progress = now_ms();
	if (c->out_off + need > c->out_cap) {
		if (c->out_len > 0) memmove(c->out, c->out + c->out_off, c->out_len);
		c->out_off = 0;
		if (need > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 4096;
			while (cap < need) cap *= 2;
			char *p = realloc(c->out, cap);
			if (!p) {
				drop_client(c);
				return;
			}
			c->out = p;
			c->out_cap = cap;
		}
	}
	char *p = c->out + c->out_off + c->out_len;
	p[0] = type;
	p[1] = n >> 24, p[2] = n >> 16, p[3] = n >> 8, p[4] = n;
	memcpy(p + 5, data, n);
	c->out_len += 5 + n;
	client_flush(c);
}

static void broadcast(int type, const char *data, size_t n) {
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0) client_send(&clients[i], type, data, n);
}

/* Where clients' input goes: the stdin pipe, or the pty master. With --tty
 * and --stdin, input that comes before the master waits in the buffer. */
static int stdin_open(void) {
	return opt_stdin && (opt_tty ? master_fd >= 0 || console_fd >= 0 : stdin_w >= 0);
}

static void stdin_flush(void) {
	int fd = opt_tty ? master_fd : stdin_w;
	if (!stdin_open()) stdin_len = 0;
	while (fd >= 0 && stdin_len > 0) {
		ssize_t k = write(fd, stdin_buf, stdin_len);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0 && errno == EAGAIN) return;
		if (k < 0) { /* EPIPE: nobody reads the container's stdin any more */
			stdin_len = 0;
			if (!opt_tty) close(stdin_w), stdin_w = -1;
			return;
		}
		memmove(stdin_buf, stdin_buf + k, stdin_len - k);
		stdin_len -= k;
	}
	/* EOF for the container's stdin is the last writer closing the pipe.
	 * (A pty has no such thing: ^D is the line discipline's business.) */
	if (stdin_closing && stdin_len == 0 && stdin_w >= 0) close(stdin_w), stdin_w = -1;
}

static void apply_window_size(void) {
	struct winsize ws = { .ws_row = want_rows, .ws_col = want_cols };
	/* TIOCSWINSZ on the master also sends SIGWINCH to the pty's foreground
	 * process group inside the container: that is how `vi` learns. */
	if (master_fd >= 0 && want_rows && ioctl(master_fd, TIOCSWINSZ, &ws) < 0)
		complain("resize: %s", strerror(errno));
}

static void frame_done(struct client *c) {
	if (c->head[0] == F_RESIZE && opt_tty) {
		c->arg[c->arg_len] = 0;
		unsigned rows, cols;
		if (sscanf(c->arg, "%u %u", &rows, &cols) == 2 && rows <= USHRT_MAX && cols <= USHRT_MAX) {
			want_rows = rows, want_cols = cols;
			apply_window_size();
		}
	} else if (c->head[0] == F_CLOSE_STDIN && !opt_tty) {
		stdin_closing = 1;
		stdin_flush();
	} else if (c->head[0] == F_OWNER) {
		c->owner = 1;
	}
	c->head_len = 0;
}

// #region attach-input
/* Read what a client sent, frame by frame. We read no more than the stdin
 * buffer has room for, and stop reading clients while it is full: a
 * container that does not read its stdin then slows its clients down (their
 * sockets fill up) instead of making us buffer without end. */
static void client_read(struct client *c) {
	char buf[4096];
	size_t max = sizeof buf;
	if (stdin_open() && STDIN_BUFFER - stdin_len < max) max = STDIN_BUFFER - stdin_len;
	if (max == 0) return; /* another client filled it since poll */
	ssize_t n = recv(c->fd, buf, max, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
	if (n <= 0) {
		drop_client(c);
		return;
	}
	for (size_t i = 0; i < (size_t)n;) {
		if (c->head_len < 5) {
			c->head[c->head_len++] = buf[i++];
			if (c->head_len < 5) continue;
			c->left = (size_t)c->head[1] << 24 | c->head[2] << 16 | c->head[3] << 8 | c->head[4];
			c->arg_len = 0;
			if (c->left == 0) frame_done(c);
			continue;
		}
		size_t k = (size_t)n - i < c->left ? (size_t)n - i : c->left;
		if (c->head[0] == F_STDIN && stdin_open() && !stdin_closing) {
			memcpy(stdin_buf + stdin_len, buf + i, k);
			stdin_len += k;
		} else if (c->head[0] == F_RESIZE) {
			size_t room = sizeof c->arg - 1 - c->arg_len;
			memcpy(c->arg + c->arg_len, buf + i, k < room ? k : room);
			c->arg_len += k < room ? k : room;
		}
		i += k;
		c->left -= k;
		if (c->left == 0) frame_done(c);
	}
	stdin_flush();
}
// #endregion attach-input

/* A client far behind holds the container's output up: we stop reading it,
 * its pipe fills, and the container's next write waits, as Docker's attach
 * does for the slowest client. For a while only: a client whose socket has
 * taken nothing for stall_ms is dropped, so a stuck client cannot stop a
 * container forever. (Long enough for a person: `run … | less` left alone,
 * or a terminal paused with ^S, must not be cut off.) Returns when to look again, or -1: nobody holds anything up. */
static long long held_up_until(long long now) {
	long long wake = -1;
	for (int k = 0; k < MAX_CLIENTS; k++) {
		struct client *c = &clients[k];
		if (c->fd < 0 || c->out_len <= HIGH_WATER) continue;
		if (now - c->progress >= stall_ms) drop_client(c);
		else if (wake < 0 || c->progress + stall_ms < wake) wake = c->progress + stall_ms;
	}
	return wake;
}

static void accept_clients(int listen_fd) {
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) return;
		int i = 0;
		while (i < MAX_CLIENTS && clients[i].fd >= 0) i++;
		if (i == MAX_CLIENTS) {
			close(fd); /* full: the client sees EOF at once instead of hanging */
			continue;
		}
		clients[i].fd = fd;
	}
}

/* The init made the pty inside the container (so that its slave belongs to
 * the container's /dev/pts) and sends us the master over fd 4 as SCM_RIGHTS:
 * the kernel installs a new fd in our table for the same open pty. This is
 * runc's --console-socket. */
static void receive_master(void) {
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	ssize_t n = recvmsg(console_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
	struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
		memcpy(&master_fd, CMSG_DATA(h), sizeof master_fd);
		fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK);
		apply_window_size(); /* a client may have sent its size already */
		stdin_flush();
	} else {
		complain("no pty master came over fd 4 (the container's init never sent it)");
	}
	close(console_fd);
	console_fd = -1;
}

/* Output: to the log, then to every client. Returns whether any came. */
static int relay_output(int *fd, int stream) {
	static char buf[32 * 1024];
	static int log_failed;
	ssize_t n = read(*fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
	if (n <= 0) { /* EOF, or EIO from a master whose last slave closed */
		close(*fd);
		*fd = -1;
		return 0;
	}
	if (log_output(stream, buf, n) < 0 && !log_failed++) complain("writing the log: %s", strerror(errno));
	broadcast(stream, buf, n);
	return 1;
}

/* ---- starting the container ---- */

/* The attach socket: made before the container starts, so there is no
 * moment when the container runs and nobody can attach. bind(2) makes the
 * file, but connections are refused until listen(2): so we bind under
 * another name and rename it once we listen, and whoever sees attach.sock
 * can connect. A unix socket's path must fit in 108 bytes (sun_path) and
 * DIR's may not, so we bind through /proc/self/fd/N/, N our fd of DIR: a
 * short path to the same directory (conmon does the same). Mode 0600, by
 * umask at bind time: only root may attach to, and type into, a container. */
static int listen_attach(void) {
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/.attach.sock.tmp", dir_fd);
	unlinkat(dir_fd, ".attach.sock.tmp", 0);
	unlinkat(dir_fd, "attach.sock", 0); /* a previous run's, after a restart */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);
	int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&addr, sizeof addr);
	umask(old);
	if (r < 0 || listen(fd, MAX_CLIENTS) < 0 || renameat(dir_fd, ".attach.sock.tmp", dir_fd, "attach.sock") < 0) {
		complain("attach socket %s: %s", addr.sun_path, strerror(errno));
		return -1;
	}
	return fd;
}

/* Tell the clients, last: when they hear the exit, the container is fully
 * gone. The socket's name goes first, so that no client arrives after the
 * exit frame went out; those already in the queue are taken in. A client
 * gets a second to take what it still has to read. */
static void say_goodbye(int listen_fd, int code) {
	unlinkat(dir_fd, "attach.sock", 0);
	if (listen_fd >= 0) accept_clients(listen_fd), close(listen_fd);
	char text[16];
	int n = snprintf(text, sizeof text, "%d", code);
	broadcast(F_EXIT, text, n);
	for (long long until = now_ms() + 1000; now_ms() < until;) {
		struct pollfd p[MAX_CLIENTS];
		int waiting = 0;
		for (int k = 0; k < MAX_CLIENTS; k++) {
			p[k] = (struct pollfd){ .fd = clients[k].out_len ? clients[k].fd : -1, .events = POLLOUT };
			waiting |= clients[k].out_len > 0;
		}
		if (!waiting || poll(p, MAX_CLIENTS, 100) < 0) break;
		for (int k = 0; k < MAX_CLIENTS; k++)
			if (p[k].revents && clients[k].fd >= 0) client_flush(&clients[k]);
	}
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (clients[k].fd >= 0) drop_client(&clients[k]);
}

static const int ignored[] = { SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE };

static void default_signals(void) {
	for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) signal(ignored[i], SIG_DFL);
}

/* fork + exec PROGRAM with fds 0, 1, 2 from us, 3 untouched from the CLI,
 * 4 the console socket with --tty, and nothing else. */
static pid_t start_container(char **program, const int stdio[3], int console) {
	pid_t pid = fork();
	if (pid != 0) return pid;

	for (int i = 0; i < 3; i++) dup2(stdio[i], i); /* all our fds are > 3 */
	if (console == 4) fcntl(4, F_SETFD, 0);
	else if (console >= 0) dup2(console, 4);
	/* Anything else the CLI let us inherit must not reach the container:
	 * mark it close-on-exec (not closed yet, so the error below can still
	 * be logged if the exec fails). */
	close_range(console >= 0 ? 5 : 4, ~0U, CLOSE_RANGE_CLOEXEC);
	/* An ignored signal stays ignored across execve(2). Left so, SIGTERM
	 * would be ignored by the container's processes, and `stop` would
	 * always have to wait for its SIGKILL. */
	default_signals();
	execv(program[0], program);
	int e = errno;
	complain("exec %s: %s", program[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126); /* Docker's "not found", "cannot execute" */
}

/* ---- after the exit ---- */

static void sleep_ms(long ms) {
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

// #region exit-record
static void write_exit_record(int code, int sig, const char *finished) {
	char json[160];
	int n = snprintf(json, sizeof json, "{\"ExitCode\":%d,\"FinishedAt\":\"%s\",\"Signal\":%d}\n", code, finished, sig);
	/* Write a new file and rename it over the old: a reader sees the whole
	 * old record or the whole new one, never half of one, even after a
	 * power cut (the fsyncs: the data, then the rename in the directory). */
	int fd = openat(dir_fd, ".exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, json, n) < 0 || fsync(fd) < 0 ||
	    renameat(dir_fd, ".exit.json.tmp", dir_fd, "exit.json") < 0)
		complain("writing exit.json: %s", strerror(errno));
	if (fd >= 0) close(fd);
	fsync(dir_fd);
}
// #endregion exit-record

static void release_umount(const char *path) {
	/* EBUSY: something still uses the mount (a process in the container
	 * still exiting). Try a few times, then detach it: it disappears from
	 * the tree now, and is freed when its last user is gone. */
	for (int tries = 1; umount2(path, UMOUNT_NOFOLLOW) < 0; tries++) {
		if (errno == EINVAL || errno == ENOENT) return; /* not mounted (any more) */
		if (errno == EBUSY && tries < 5) {
			sleep_ms(100);
			continue;
		}
		if (errno == EBUSY && umount2(path, UMOUNT_NOFOLLOW | MNT_DETACH) == 0) return;
		complain("release: umount %s: %s", path, strerror(errno));
		return;
	}
}

static void release_rmdir(const char *path) {
	/* A cgroup can be removed only once it has no process left, and the
	 * kernel takes the container's dead processes out of it a moment after
	 * they died: EBUSY for a while is normal. */
	for (int tries = 1; rmdir(path) < 0; tries++) {
		if (errno == ENOENT) return;
		if (errno == EBUSY && tries < 20) {
			sleep_ms(50);
			continue;
		}
		complain("release: rmdir %s: %s", path, strerror(errno));
		return;
	}
}

static const char *rm_root;

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
	(void)st, (void)ftw;
	int dir = type == FTW_DP || type == FTW_DNR;
	if ((dir ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		complain("release: rm %s: %s %s: %s", rm_root, dir ? "rmdir" : "unlink", path, strerror(errno));
	return 0; /* go on with the rest */
}

/* Is anything mounted at PATH or below it? Then `rm` would delete what is
 * inside that mount: a volume's data, or the host's files through a bind
 * mount. nftw's FTW_MOUNT keeps off other filesystems, but a bind mount
 * from the same filesystem has the same st_dev; /proc/self/mountinfo knows
 * them all. */
static int mounted_inside(const char *path) {
	char real[PATH_MAX];
	if (!realpath(path, real)) return 0;
	size_t len = strlen(real);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, mnt[PATH_MAX];
	size_t cap = 0;
	int found = 0;
	while (f && !found && getline(&line, &cap, f) > 0) {
		/* "36 35 98:0 /root /mount/point opts...": field 5, octal-escaped */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1) continue;
		char *o = mnt;
		for (char *s = mnt; *s; o++)
			if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3') *o = (s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'), s += 4;
			else *o = *s++;
		*o = 0;
		found = strncmp(mnt, real, len) == 0 && (mnt[len] == 0 || mnt[len] == '/' || len == 1);
	}
	free(line);
	if (f) fclose(f);
	if (found) complain("release: rm %s: %s is a mount point: not removing it", path, mnt);
	return found;
}

static void release_rm(const char *path) {
	if (mounted_inside(path)) return;
	/* Like rm -rf: children before their directory (FTW_DEPTH), symlinks
	 * removed, never followed (FTW_PHYS), no step onto another filesystem
	 * (FTW_MOUNT). A missing PATH is already removed. */
	rm_root = path;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		complain("release: rm %s: %s", path, strerror(errno));
}

/* "run FILE": a later chapter's own undoing, done by a program (chapter 6:
 * its leases, NAT rules and DNS server are dockling's to free, through
 * `dockling network release`). FILE holds its argv, NUL-separated, the
 * program by its full path; we wait for it, so the steps after it (rm DIR)
 * come after it. */
static void release_run(const char *file) {
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) complain("release: run %s: %s", file, strerror(errno));
		return;
	}
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) {
		complain("release: run %s: empty", file);
		return;
	}
	buf[n] = 0;
	char *argv[64];
	int argc = 0;
	for (char *a = buf; a < buf + n && argc < 63; a += strlen(a) + 1) argv[argc++] = a;
	argv[argc] = NULL;
	pid_t pid = fork();
	if (pid < 0) {
		complain("release: run %s: fork: %s", argv[0], strerror(errno));
		return;
	}
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) complain("release: run %s: it failed (status %d)", argv[0], status);
}

// #region release
/* DIR/release, written by the CLI before the container started: what to
 * undo once it is over, one step a line, in order. Each step is tried even
 * when one before it failed: leaving less behind beats stopping early. The
 * file is read whole first, as "rm DIR" removes it. */
static void run_release_steps(void) {
	/* A foreground `dockling run` that is still attached cleans up itself
	 * (it reports OOM kills from the cgroup first); the steps are for a
	 * container nobody waits for: detached, or its CLI killed. */
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (clients[k].fd >= 0 && clients[k].owner) return;
	int fd = openat(dir_fd, "release", O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		if (errno != ENOENT) complain("release: %s", strerror(errno));
		return;
	}
	char *text = fstat(fd, &st) == 0 ? malloc(st.st_size + 1) : NULL;
	ssize_t n = text ? read(fd, text, st.st_size) : -1;
	close(fd);
	if (n < 0) {
		complain("release: cannot read it");
		free(text);
		return;
	}
	text[n] = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next) *next++ = 0;
		char *path = strchr(line, ' ');
		if (*line == 0) continue;
		if (!path || path[1] != '/') {
			complain("release: \"%s\": expected \"umount|rmdir|rm|run /absolute/path\"", line);
			continue;
		}
		*path++ = 0;
		if (strcmp(line, "umount") == 0) release_umount(path);
		else if (strcmp(line, "rmdir") == 0) release_rmdir(path);
		else if (strcmp(line, "rm") == 0) release_rm(path);
		else if (strcmp(line, "run") == 0) release_run(path);
		else complain("release: unknown step \"%s %s\"", line, path);
	}
	free(text);
}
// #endregion release

static int restart_wanted(const char *policy, int code, unsigned count) {
	if (strcmp(policy, "always") == 0 || strcmp(policy, "unless-stopped") == 0) return 1;
	if (strncmp(policy, "on-failure", 10) != 0 || code == 0) return 0;
	unsigned long max = policy[10] ? strtoul(policy + 11, NULL, 10) : 0;
	return max == 0 || count < max; /* on-failure, on-failure:0: no limit */
}

// #region restart-delay
/* Docker's restart manager waits before each restart: 100 ms, then twice
 * the last delay, up to a minute, so a container that fails at once does
 * not spin the machine; a container that ran 10 s or more starts the
 * back-off from 100 ms again. Each restart is a new monitor, so the last
 * delay is kept in DIR/restart-delay (a start by hand deletes it).
 * "Restart" means running the CLI's own start path again (DIR/restart, an
 * argv separated by NULs), which sets up cgroups and mounts and starts a
 * new monitor. We become it with execv, so no process of the old run
 * lingers. */
static long next_restart_delay(long long ran_ms) {
	long last = 0;
	char text[32];
	int fd = openat(dir_fd, "restart-delay", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, text, sizeof text - 1);
		close(fd);
		if (n > 0) text[n] = 0, last = strtol(text, NULL, 10);
	}
	if (ran_ms >= 10000) last = 0;
	long ms = last <= 0 ? 100 : last >= 30000 ? 60000 : last * 2;
	fd = openat(dir_fd, "restart-delay", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		int n = snprintf(text, sizeof text, "%ld\n", ms);
		if (write_all(fd, text, (size_t)n) < 0) complain("restart-delay: %s", strerror(errno));
		close(fd);
	}
	return ms;
}

static void restart(long long ran_ms) {
	sleep_ms(next_restart_delay(ran_ms));
// #endregion restart-delay
	/* DIR/stopped: `stop` was meant, and the policy does not undo it. */
	if (faccessat(dir_fd, "stopped", F_OK, 0) == 0) return;
	int fd = openat(dir_fd, "restart", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return;
	static char text[64 * 1024];
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0) return;
	text[n] = 0;
	char *argv[256];
	int argc = 0;
	for (char *p = text; p < text + n && argc < 255; p += strlen(p) + 1) argv[argc++] = p;
	argv[argc] = NULL;
	default_signals();
	execv(argv[0], argv);
	complain("restart: exec %s: %s", argv[0], strerror(errno));
}

static int failed(const char *what) {
	complain("%s: %s", what, strerror(errno));
	return 0;
}

static void usage(void) {
	fprintf(stderr, "usage: monitor [--tty] [--stdin] [--restart no|always|unless-stopped|on-failure[:N]]\n"
			"               [--restart-count N] [--stall-ms MS] [--log-driver json-file|none]\n"
			"               [--log-max-size BYTES] [--log-max-file N] DIR -- PROGRAM [ARG...]\n");
	exit(125);
}

/* ---- the steps of main, as the comment at the top lists them ---- */

struct options {
	const char *policy; /* --restart */
	unsigned count;     /* --restart-count: restarts so far */
	char *dir;          /* DIR */
	char **program;     /* PROGRAM [ARG...] */
};

static struct options parse_options(int argc, char **argv) {
	struct options o = { .policy = "no" };
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--tty") == 0) opt_tty = 1;
		else if (strcmp(argv[i], "--stdin") == 0) opt_stdin = 1;
		else if (strcmp(argv[i], "--restart") == 0 && i + 1 < argc) o.policy = argv[++i];
		else if (strcmp(argv[i], "--restart-count") == 0 && i + 1 < argc) o.count = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--stall-ms") == 0 && i + 1 < argc) stall_ms = strtoll(argv[++i], NULL, 10);
		else if (strncmp(argv[i], "--log-", 6) == 0 && i + 1 < argc && log_configure(argv[i], argv[i + 1]) == 0) i++;
		else usage();
	}
	if (i + 2 >= argc || strcmp(argv[i + 1], "--") != 0) usage();
	if (strcmp(o.policy, "no") && strcmp(o.policy, "always") && strcmp(o.policy, "unless-stopped") &&
	    strcmp(o.policy, "on-failure") && strncmp(o.policy, "on-failure:", 11)) usage();
	o.dir = argv[i], o.program = argv + i + 2;
	return o;
}

static int json_fd = -1; /* DIR/<ID>-json.log, open (monitor-log.c) */

/* Step 1, our own ground: the low fds held, the signals meant for others
 * ignored, DIR opened with our log and the container's. -1 if DIR cannot
 * be opened (said on stderr: without DIR there is no monitor.log). */
static int set_up(char *dir) {
	/* fds 0-3 are the container's to be: if the CLI left one closed, hold
	 * it with /dev/null, or the first fd we open would land there. */
	for (int fd = 0; fd <= 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return -1;
	/* We outlive the CLI's terminal (SIGHUP), ^C in it (SIGINT), a `kill`
	 * meant for the container (SIGTERM), and attach clients that go away
	 * while we write to them (SIGPIPE). */
	for (size_t k = 0; k < sizeof ignored / sizeof *ignored; k++) signal(ignored[k], SIG_IGN);

	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		fprintf(stderr, "monitor: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	log_fd = openat(dir_fd, "monitor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	char *slash = strrchr(dir, '/'), *id = slash ? slash + 1 : dir;
	while (slash && slash[1] == 0 && slash > dir) { /* DIR/ */
		*slash = 0;
		slash = strrchr(dir, '/');
		id = slash ? slash + 1 : dir;
	}
	json_fd = log_open(dir_fd, id);
	unlinkat(dir_fd, "exit.json", 0); /* a previous run's: this one has not exited */
	for (int k = 0; k < MAX_CLIENTS; k++) clients[k].fd = -1;
	return 0;
}

/* The container's stdio: our ends, and the child's (its 0, 1, 2, and with
 * --tty its 4, the socket the init sends the pty master over). */
struct stdio_ends {
	int out[2], err[2], in[2], con[2];
	int null_fd;
	int child[3];
};

/* Step 1, the container's stdio: pipes (we read stdout and stderr apart,
 * so the log can tell them apart), or with --tty /dev/null and a socket
 * for the pty master: a tty has one stream, and the container's own.
 * Nothing is made without the json log: the output would have nowhere to
 * go. Returns 0 if something failed (and says what in monitor.log). */
static int make_stdio(struct stdio_ends *s) {
	*s = (struct stdio_ends){ .out = { -1, -1 }, .err = { -1, -1 }, .in = { -1, -1 }, .con = { -1, -1 } };
	s->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int k = 0; k < 3; k++) s->child[k] = s->null_fd;
	int ok = (json_fd >= 0 || failed("the json log")) && (s->null_fd >= 0 || failed("/dev/null"));
	if (ok && opt_tty) ok = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->con) == 0 || failed("socketpair");
	else if (ok) {
		ok = (pipe2(s->out, O_CLOEXEC) == 0 && pipe2(s->err, O_CLOEXEC) == 0) || failed("pipe");
		if (ok && opt_stdin) ok = pipe2(s->in, O_CLOEXEC) == 0 || failed("pipe");
		s->child[0] = opt_stdin ? s->in[0] : s->null_fd, s->child[1] = s->out[1], s->child[2] = s->err[1];
	}
	return ok;
}

/* Step 3, once the child has its ends: ours of them must go, or we would
 * never see EOF on its output. So must fd 3: while we held the init's end
 * of the CLI's channel, the CLI could not see the init close it. What we
 * keep is where clients' input goes (the stdin pipe, or the socket the pty
 * master will come over). */
static void close_child_ends(const struct stdio_ends *s) {
	int theirs[] = { s->out[1], s->err[1], s->in[0], s->con[1], s->null_fd, 3 };
	for (size_t k = 0; k < sizeof theirs / sizeof *theirs; k++)
		if (theirs[k] >= 0) close(theirs[k]);
	stdin_w = s->in[1];
	if (stdin_w >= 0) fcntl(stdin_w, F_SETFL, O_NONBLOCK);
	console_fd = s->con[0];
}

/* Step 4, the event loop. It runs until the container has exited and its
 * output is drained: pipes to EOF; the pty master until read says EIO (the
 * last slave fd is gone) or, like a pipe kept open by a stray process,
 * until nothing came for a while. Returns the container's wait status
 * (exit 125 if it never started), and when it ended in `finished`. */
static int relay_until_drained(pid_t pid, int listen_fd, int out_fd, int err_fd, char finished[40]) {
	/* A pidfd is the child as a file descriptor: it polls readable when the
	 * child exits. No SIGCHLD handler, no self-pipe, no EINTR (Linux 5.3). */
	int pidfd = pid > 0 ? pidfd_open(pid, 0) : -1;
	if (pid > 0 && pidfd < 0) failed("pidfd_open (checking on the container every 100 ms instead)");
	int status = 125 << 8, exited = pid < 0;
	long long quiet_since = 0;
	if (pid < 0) timestamp(finished);

	while (!exited || out_fd >= 0 || err_fd >= 0 || master_fd >= 0 || console_fd >= 0) {
		struct pollfd p[7 + MAX_CLIENTS] = {
			{ .fd = listen_fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN },
			{ .fd = out_fd, .events = POLLIN }, { .fd = err_fd, .events = POLLIN },
			{ .fd = master_fd, .events = POLLIN | (stdin_len ? POLLOUT : 0) },
			{ .fd = console_fd, .events = POLLIN }, { .fd = stdin_len ? stdin_w : -1, .events = POLLOUT },
		};
		long long now = now_ms(), wake = held_up_until(now);
		if (wake >= 0) { /* held up: none of it is quiet time */
			p[2].fd = p[3].fd = -1;
			p[4].events &= ~POLLIN;
			quiet_since = now;
		}
		int room = !stdin_open() || stdin_len < STDIN_BUFFER;
		for (int k = 0; k < MAX_CLIENTS; k++)
			p[7 + k] = (struct pollfd){ .fd = clients[k].fd, .events = (room ? POLLIN : 0) | (clients[k].out_len ? POLLOUT : 0) };
		long long deadline = wake;
		if (exited && wake < 0) deadline = quiet_since + (master_fd >= 0 || console_fd >= 0 ? 100 : 1000);
		if (pidfd < 0 && !exited) deadline = now + 100;
		int timeout = deadline < 0 ? -1 : deadline > now ? (int)(deadline - now) : 0;
		int ready = poll(p, 7 + MAX_CLIENTS, timeout);
		if (ready < 0 && errno == EINTR) continue;
		if (ready == 0 && exited && wake < 0) { /* drained: what still holds them is not the container */
			int *open_fds[] = { &out_fd, &err_fd, &master_fd, &console_fd };
			for (int k = 0; k < 4; k++)
				if (*open_fds[k] >= 0) close(*open_fds[k]), *open_fds[k] = -1;
			break;
		}
		if ((p[1].revents || (pidfd < 0 && !exited)) && waitpid(pid, &status, WNOHANG) == pid) {
			timestamp(finished);
			exited = 1;
			close(pidfd);
			pidfd = -1;
			quiet_since = now_ms();
		}
		int *fds[] = { &out_fd, &err_fd, &master_fd }, streams[] = { F_STDOUT, F_STDERR, F_STDOUT };
		for (int k = 0; k < 3 && wake < 0; k++)
			if ((p[2 + k].revents & (POLLIN | POLLHUP | POLLERR)) && relay_output(fds[k], streams[k]))
				quiet_since = now_ms();
		if (p[5].revents) receive_master();
		if ((p[4].revents & POLLOUT) || p[6].revents) stdin_flush();
		for (int k = 0; k < MAX_CLIENTS; k++) {
			struct client *c = &clients[k];
			if (c->fd < 0 || c->fd != p[7 + k].fd || !p[7 + k].revents) continue;
			if (p[7 + k].revents & POLLOUT) client_flush(c);
			if (c->fd >= 0 && (p[7 + k].revents & POLLIN)) client_read(c);
			else if (c->fd >= 0 && (p[7 + k].revents & (POLLHUP | POLLERR))) drop_client(c);
		}
		if (p[0].revents) accept_clients(listen_fd);
	}
	return status;
}

// #region monitor-main
/* The five steps of the comment at the top of this file, in order. */
int main(int argc, char **argv) {
	struct options opt = parse_options(argc, argv);

	/* 1. Our ground (DIR, monitor.log, the json log), then the container's stdio. */
	if (set_up(opt.dir) < 0) return 125;
	struct stdio_ends io;
	int ok = make_stdio(&io);

	/* 2. The attach socket, before anything runs. */
	int listen_fd = ok ? listen_attach() : -1;

	/* 3. The container: PROGRAM forked and exec'd, its ends of the stdio
	 *    then closed in here. */
	long long started_ms = now_ms();
	pid_t pid = listen_fd >= 0 ? start_container(opt.program, io.child, io.con[1]) : -1;
	if (listen_fd >= 0 && pid < 0) failed("fork");
	close_child_ends(&io);
	/* A long-lived process keeps its cwd busy: a daemon moves to / so the
	 * filesystem the CLI was started in can still be unmounted. */
	if (chdir("/") < 0) complain("chdir /: %s", strerror(errno));

	/* 4. Its output to the log and the clients, their input to it, until
	 *    it has exited and its output is drained. */
	char finished[40];
	int status = relay_until_drained(pid, listen_fd, io.out[0], io.err[0], finished);

	/* 5. The end, told: the log closed; exit.json (how it ended, as Docker
	 *    reports it: the exit code, or 128+N when signal N killed it)
	 *    before the release steps, since "rm DIR" may be one of them; the
	 *    clients told last; then, if the policy says so, a restart. */
	if (json_fd >= 0 && log_close() < 0) complain("writing the log: %s", strerror(errno));
	int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	write_exit_record(code, sig, finished);
	run_release_steps();
	say_goodbye(listen_fd, code);
	if (pid > 0 && restart_wanted(opt.policy, code, opt.count) && faccessat(dir_fd, "stopped", F_OK, 0) < 0) restart(now_ms() - started_ms);
	return 0;
}
// #endregion monitor-main

/*
 * nsenter: how `docker exec` gets into a container that is already running.
 *
 *   nsenter [--tty] [--cwd DIR] [--user USER[:GROUP]] [--home] [--group-add GROUP]... [--cgroup PROCSFILE]...
 *           [--caps BND:EFF:PRM:INH:AMB] [--no-new-privs]
 *           [--rlimit NAME=SOFT:HARD]... [--seccomp-fd FD]
 *           PID [--] PROGRAM [ARG...]
 *
 * A container is nothing but a process tree in some namespaces and cgroups.
 * So "running a command in it" means: make a process, put it in the same
 * cgroups, move it into the same namespaces as the container's PID 1 (PID,
 * as the host numbers it), and exec. setns(2) moves the calling thread into
 * the namespace that an open /proc/PID/ns/<type> file stands for. Node cannot
 * do this any more than it can unshare (see runtime/process/nsexec.c): a
 * mount namespace can only be entered by a process with a single thread,
 * and a PID namespace only applies to children forked afterwards.
 *
 *   0. re-execute from a sealed in-memory copy of ourselves and become
 *      non-dumpable (sealed-exec.h): our child will be a process the
 *      container can see, and its /proc/PID/exe must not be our host file;
 *   1. open each cgroup.procs file (host paths: before we leave the host's
 *      mount namespace, where those paths mean something);
 *   2. open /proc/PID/ns/{user,ipc,uts,net,pid,cgroup,mnt}, all of them before the
 *      first setns: once we are in the container's mount namespace, /proc is
 *      the container's /proc, where PID means another process or none;
 *   3. setns into each, the mount namespace last;
 *   4. fork: the child is the first of us inside the PID namespace. It
 *      swaps a /dev/null it was given for the container's own, joins the
 *      cgroups, sets up the terminal, working directory and user, takes
 *      away what the container's own processes may not do (chapter 11: its
 *      rlimits, no_new_privs, capability sets and seccomp filter, in runc's
 *      order; see harden below), and execs PROGRAM with the environment we
 *      were given (the container's);
 *   5. the parent tells the caller the child's PID, waits, and exits the way
 *      the child did: same exit code, or killed by the same signal.
 *
 * The caller (the dockling CLI) talks to us on two extra descriptors:
 *
 *   fd 3  if open: we write the child's PID as the host sees it, as one
 *         decimal line, then close it. The CLI signals that PID to forward
 *         ^C and `docker kill`-like signals; `top` shows it.
 *   fd 4  with --tty only: a unix socket on which the child sends the pty
 *         master (SCM_RIGHTS, with one byte of data), like runc's
 *         --console-socket. The CLI relays between it and the user's terminal.
 *   fd 5  with --seccomp-fd 5: a pipe carrying the seccomp program (struct
 *         sock_filter[], 8 bytes each), read to its end before setns.
 *
 * Exit codes follow Docker's: the command's own code, or
 *   125  nsenter itself failed (bad arguments, no such process, setns...);
 *   126  inside the container, the command could not be started (missing
 *        working directory, not executable, terminal or user setup failed);
 *   127  the command was not found.
 * Messages from inside the container read like Docker's ("OCI runtime exec
 * failed: ..."), so that Docker's documentation and forum answers apply.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../process/exit-as.h"
#include "../process/sealed-exec.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

extern char **environ;

#define PID_FD 3
#define CONSOLE_FD 4
#define MAX_CGROUPS 32
#define MAX_RLIMITS 16
#define NGROUPS_MAX_OURS 256
#define MAX_GROUP_ADD 32
/* The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
#define MAX_FILTER 4096

/* The capability sets of the exec'd process, as bit masks (bit N = capability N). */
struct capsets {
	unsigned long long bounding, effective, permitted, inheritable, ambient;
};

struct options {
	int tty;
	const char *cwd;
	int user; /* was --user given? */
	const char *user_spec; /* as given: NAME|UID[:GROUP|GID], resolved inside the container */
	int set_home; /* --home: HOME from the user's passwd entry */
	uid_t uid;
	gid_t gid;
	gid_t groups[NGROUPS_MAX_OURS];
	int ngroups;
	const char *group_add[MAX_GROUP_ADD];
	int ngroup_add;
	const char *cgroups[MAX_CGROUPS];
	int ncgroups;
	const char *pid;
	char **argv; /* PROGRAM [ARG...] */
	int report_pid; /* did the caller give us fd 3? */
	/* chapter 11: what the container's processes are held to */
	int has_caps;
	struct capsets caps;
	int no_new_privs;
	struct { int resource; const char *name; struct rlimit value; } rlimits[MAX_RLIMITS];
	int nrlimits;
	int seccomp_fd; /* -1: no filter */
	struct sock_fprog filter;
};

/* A failure of nsenter itself, before anything runs in the container. */
static void die(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "nsenter: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(125);
}

/*
 * In the child, errors go to a copy of the stderr we were given, made before
 * --tty replaces 0-2 with the pty: the CLI reads that stderr and prints the
 * message where `docker exec` would, even when the command has a terminal.
 */
static int error_fd = 2;

static void fail(int code, const char *fmt, ...) {
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(error_fd, "OCI runtime exec failed: exec failed: unable to start container process: %s: unknown\n", msg);
	_exit(code);
}

/* Go's spelling of an errno ("no such file or directory"), which is what
 * Docker's messages carry: the C library's, first letter lowercase. */
static const char *errtext(int err) {
	static char buf[128];
	snprintf(buf, sizeof buf, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z')) buf[0] += 'a' - 'A';
	return buf;
}

static int parse_id(const char *s, unsigned long *out) {
	char *end;
	if (*s < '0' || *s > '9') return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno || *end || *out >= UINT_MAX) ? -1 : 0;
}

static const struct { const char *name; int resource; } rlimit_names[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_STACK", RLIMIT_STACK }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_LOCKS", RLIMIT_LOCKS }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

/* A limit's value: a number, or -1 (or anything too big) for unlimited. */
static rlim_t parse_limit(const char *s, char stop, const char *arg) {
	char *end;
	if (*s == '-') {
		if (strncmp(s, "-1", 2) != 0 || s[2] != stop) die("--rlimit %s: a limit is a number, or -1 for unlimited", arg);
		return RLIM_INFINITY;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || *end != stop) die("--rlimit %s: a limit is a number, or -1 for unlimited", arg);
	return errno == ERANGE ? RLIM_INFINITY : (rlim_t)v;
}

/* --rlimit RLIMIT_NOFILE=1024:2048 */
static void parse_rlimit(const char *arg, struct options *o) {
	if (o->nrlimits == MAX_RLIMITS) die("more than %d --rlimit", MAX_RLIMITS);
	const char *eq = strchr(arg, '='), *colon = eq ? strchr(eq, ':') : NULL;
	if (!eq || !colon) die("--rlimit wants NAME=SOFT:HARD, not \"%s\"", arg);
	for (size_t k = 0; k < sizeof rlimit_names / sizeof rlimit_names[0]; k++) {
		if (strlen(rlimit_names[k].name) != (size_t)(eq - arg) || strncmp(arg, rlimit_names[k].name, eq - arg) != 0) continue;
		o->rlimits[o->nrlimits].resource = rlimit_names[k].resource;
		o->rlimits[o->nrlimits].name = rlimit_names[k].name;
		o->rlimits[o->nrlimits].value.rlim_cur = parse_limit(eq + 1, ':', arg);
		o->rlimits[o->nrlimits].value.rlim_max = parse_limit(colon + 1, '\0', arg);
		o->nrlimits++;
		return;
	}
	die("--rlimit %s: unknown resource (RLIMIT_NOFILE, RLIMIT_NPROC, ...)", arg);
}

/* --caps BND:EFF:PRM:INH:AMB, each a hexadecimal mask */
static void parse_caps(const char *arg, struct options *o) {
	unsigned long long *sets[] = { &o->caps.bounding, &o->caps.effective, &o->caps.permitted, &o->caps.inheritable, &o->caps.ambient };
	const char *p = arg;
	for (int k = 0; k < 5; k++) {
		char *end;
		errno = 0;
		*sets[k] = strtoull(p, &end, 16);
		if (errno || end == p || *end != (k < 4 ? ':' : '\0')) die("--caps wants five hexadecimal masks BND:EFF:PRM:INH:AMB, not \"%s\"", arg);
		p = end + 1;
	}
	o->has_caps = 1;
}

/*
 * Read the seccomp program from the caller's pipe, whole, now: before setns,
 * while the descriptor can only be the caller's. It is kept in memory until
 * the child installs it.
 */
static void read_filter(struct options *o) {
	size_t max = MAX_FILTER * sizeof(struct sock_filter), len = 0;
	unsigned char *buf = malloc(max + 1);
	if (!buf) die("out of memory");
	for (;;) {
		ssize_t n = read(o->seccomp_fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) die("read the seccomp program from fd %d: %s", o->seccomp_fd, strerror(errno));
		if (n == 0) break;
		len += n;
		if (len > max) die("the seccomp program is longer than %d instructions", MAX_FILTER);
	}
	close(o->seccomp_fd);
	if (len == 0 || len % sizeof(struct sock_filter)) die("the seccomp program on fd %d is not a whole number of instructions (%zu bytes)", o->seccomp_fd, len);
	o->filter.len = len / sizeof(struct sock_filter);
	o->filter.filter = (struct sock_filter *)buf;
}

static void parse_args(int argc, char **argv, struct options *o) {
	int i = 1;
	memset(o, 0, sizeof *o);
	o->cwd = "/";
	o->seccomp_fd = -1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--tty") == 0) {
			o->tty = 1;
		} else if (strcmp(a, "--cwd") == 0 && i + 1 < argc) {
			o->cwd = argv[++i];
		} else if (strcmp(a, "--user") == 0 && i + 1 < argc) {
			/* A name or a number, and maybe ":group": looked up once we are
			 * inside the container (resolve_user), in its own files. */
			o->user = 1;
			o->user_spec = argv[++i];
		} else if (strcmp(a, "--home") == 0) {
			o->set_home = 1;
		} else if (strcmp(a, "--group-add") == 0 && i + 1 < argc) {
			if (o->ngroup_add == MAX_GROUP_ADD) die("more than %d --group-add", MAX_GROUP_ADD);
			o->group_add[o->ngroup_add++] = argv[++i];
		} else if (strcmp(a, "--cgroup") == 0 && i + 1 < argc) {
			if (o->ncgroups == MAX_CGROUPS) die("more than %d --cgroup files", MAX_CGROUPS);
			o->cgroups[o->ncgroups++] = argv[++i];
		} else if (strcmp(a, "--caps") == 0 && i + 1 < argc) {
			parse_caps(argv[++i], o);
		} else if (strcmp(a, "--no-new-privs") == 0) {
			o->no_new_privs = 1;
		} else if (strcmp(a, "--rlimit") == 0 && i + 1 < argc) {
			parse_rlimit(argv[++i], o);
		} else if (strcmp(a, "--seccomp-fd") == 0 && i + 1 < argc) {
			unsigned long fd;
			if (parse_id(argv[++i], &fd) < 0 || fd < 5) die("--seccomp-fd wants a descriptor number above 4, not \"%s\"", argv[i]);
			o->seccomp_fd = fd;
		} else {
			die("unknown option or missing value: %s", a);
		}
	}
	if (i < argc) o->pid = argv[i++];
	if (i < argc && strcmp(argv[i], "--") == 0) i++;
	if (!o->pid || i >= argc) {
		fprintf(stderr, "usage: nsenter [--tty] [--cwd DIR] [--user USER[:GROUP]] [--home] [--group-add GROUP]... [--cgroup PROCSFILE]... PID -- PROGRAM [ARG...]\n");
		exit(125);
	}
	unsigned long pid;
	if (parse_id(o->pid, &pid) < 0 || pid == 0) die("not a process ID: \"%s\"", o->pid);
	o->argv = argv + i;
}

// #region nsenter-open
/* The namespaces we enter, in order. The mount namespace comes last: once
 * we are in it, paths (and /proc) are the container's. */
static const struct {
	const char *name;
	int type;
} namespaces[] = {
	/* First, when the container has one (chapter 11, --userns-remap): the
	 * others are owned by it, and entering them takes capabilities over
	 * it, which setns into it gives. */
	{ "user", CLONE_NEWUSER },
	{ "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },
	{ "net", CLONE_NEWNET },
	{ "pid", CLONE_NEWPID },
	{ "cgroup", CLONE_NEWCGROUP },
	{ "mnt", CLONE_NEWNS },
};
#define NNS (sizeof namespaces / sizeof namespaces[0])

/*
 * Open the target's namespace files, -1 for one we need not enter. They are
 * opened relative to one open /proc/PID directory: if the process died and
 * its PID were reused meanwhile, the directory would still mean the dead
 * process (opening in it fails), never quietly the new one.
 */
static void open_namespaces(const char *pid, int fds[NNS]) {
	// #lab 05-exec TODO 1: open /proc/PID/ns/<name> for each of namespaces[], in order.
	// #todo Open them relative to one open /proc/PID directory (O_DIRECTORY), with openat:
	// #todo a PID reused meanwhile cannot then swap the process. fds[i] = -1 for a kind
	// #todo the kernel lacks (ENOENT) and for one we are in already (same st_ino and st_dev
	// #todo as /proc/self/ns/<name>: the container may share the host's network, say).
	// #starter (void)pid;
	// #starter (void)fds;
	// #starter die("lab 05-exec: TODO 1, open_namespaces(), is not written yet");
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%s", pid);
	int procdir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procdir < 0) die("no process %s: %s", pid, strerror(errno));
	for (size_t i = 0; i < NNS; i++) {
		char rel[32], self[64];
		snprintf(rel, sizeof rel, "ns/%s", namespaces[i].name);
		fds[i] = openat(procdir, rel, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			/* A kernel built without that kind of namespace. */
			if (errno == ENOENT) continue;
			die("open %s/%s: %s", dir, rel, strerror(errno));
		}
		/* Already in it (the container shares the host's network, say):
		 * nothing to enter. Namespaces are told apart by inode number. */
		struct stat theirs, ours;
		snprintf(self, sizeof self, "/proc/self/ns/%s", namespaces[i].name);
		if (fstat(fds[i], &theirs) == 0 && stat(self, &ours) == 0 &&
		    theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	close(procdir);
	// #endlab
}
// #endregion nsenter-open

/* The container's cgroups, opened now, while their host paths mean them.
 * The child writes to them (see join_cgroups). */
static void open_cgroups(const struct options *o, int fds[]) {
	for (int i = 0; i < o->ncgroups; i++) {
		fds[i] = open(o->cgroups[i], O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0) die("open %s: %s", o->cgroups[i], strerror(errno));
	}
}

/*
 * Join the container's cgroups: its memory, CPU and pids limits now count
 * this process, and `top` (which reads cgroup.procs) lists it. The child
 * joins, not nsenter: the waiting parent is no part of the container, must
 * not count against its pids limit, and must not show in `top`. ("0" means
 * "the writer": our PID means nothing to the host's side of cgroup.procs
 * now that we live in the container's PID namespace.)
 */
static void join_cgroups(const struct options *o, const int fds[]) {
	// #lab 05-exec TODO 3: join the container's cgroups.
	// #todo Write "0" (the writer, as the kernel reads it) to each of fds[0..o->ncgroups),
	// #todo the cgroup.procs files open_cgroups opened; fail(126, …) if the kernel refuses.
	// #starter (void)o;
	// #starter (void)fds;
	for (int i = 0; i < o->ncgroups; i++) {
		if (write(fds[i], "0", 1) < 0) fail(126, "join cgroup %s: %s", o->cgroups[i], errtext(errno));
		close(fds[i]);
	}
	// #endlab
}

// #region nsenter-tty
/*
 * --tty: a pseudo-terminal from the container's own devpts. After setns into
 * the mount namespace, /dev/ptmx is the container's (a symlink to
 * pts/ptmx of the devpts instance it mounted), so the terminal is numbered
 * and owned inside the container, as `tty` there will show. The master goes
 * to the CLI over fd 4; the slave is returned, to become 0, 1 and 2.
 */
static int open_terminal(const struct options *o) {
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0) fail(126, "open /dev/ptmx: %s", errtext(errno));
	if (unlockpt(master) < 0) fail(126, "unlockpt: %s", errtext(errno));
	/* Open the slave through the master: no path lookup, so it cannot be
	 * another devpts's terminal of the same number. */
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) fail(126, "open the pty slave (TIOCGPTPEER): %s", errtext(errno));
	/* The exec'd user must own its terminal (runc does the same). */
	if (o->user && fchown(slave, o->uid, o->gid) < 0) fail(126, "chown the pty: %s", errtext(errno));

	/* Send the master: one byte of data, the descriptor as SCM_RIGHTS. */
	char byte = 'T';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	if (sendmsg(CONSOLE_FD, &msg, MSG_NOSIGNAL) < 0) fail(126, "send the pty master on fd %d: %s", CONSOLE_FD, errtext(errno));
	close(master);
	close(CONSOLE_FD);
	return slave;
}
// #endregion nsenter-tty

// #region nsenter-user
/*
 * --user, looked up the way runc's init does (Docker's rules, as in
 * container/user.ts for `run`): in the container's /etc/passwd and
 * /etc/group. We are in its mount namespace by now, and "/" is its root:
 * a symlink there resolves inside the container, never to a host file.
 * Parsed by hand: glibc's getpwnam would load NSS modules named by the
 * container's /etc/nsswitch.conf, that is run the container's code as root.
 */
static int numeric(const char *s, unsigned long *out) {
	return parse_id(s, out) == 0 && *out <= 0x7fffffff;
}

/* The container's file, or NULL when it has none (no entries, as in runc).
 * Opened without blocking and used only if it is a regular file: a FIFO or
 * a device planted there must not hang us. */
static FILE *open_inside(const char *path) {
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) return NULL;
		fail(126, "unable to read %s: %s", path, errtext(errno));
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) fail(126, "unable to read %s: not a regular file", path);
	FILE *f = fdopen(fd, "r");
	if (!f) fail(126, "unable to read %s: %s", path, errtext(errno));
	return f;
}

/* Next line's fields (split at ':'), up to max; the count, or -1 at the end. */
static int next_entry(FILE *f, char *line, size_t size, char **field, int max) {
	if (!f || !fgets(line, size, f)) return -1;
	line[strcspn(line, "\n")] = '\0';
	int n = 0;
	for (char *p = line; n < max;) {
		field[n++] = p;
		p = strchr(p, ':');
		if (!p) break;
		*p++ = '\0';
	}
	return n;
}

/* A group by name or number in /etc/group: 1 found (its gid in *gid), 0 not. */
static int find_group(const char *want, gid_t *gid) {
	unsigned long n;
	int is_num = numeric(want, &n);
	FILE *f = open_inside("/etc/group");
	char line[8192], *fld[4];
	int k, found = 0;
	unsigned long g;
	while ((k = next_entry(f, line, sizeof line, fld, 4)) >= 0) {
		if (k < 3 || !numeric(fld[2], &g)) continue;
		if (is_num ? g == n : strcmp(fld[0], want) == 0) {
			*gid = g;
			found = 1;
			break;
		}
	}
	if (f) fclose(f);
	if (!found && is_num) {
		*gid = n;
		found = 1;
	}
	return found;
}

static void resolve_user(struct options *o) {
	char spec[256];
	snprintf(spec, sizeof spec, "%s", o->user_spec);
	char *group = strchr(spec, ':');
	if (group) *group++ = '\0';
	if (!spec[0]) strcpy(spec, "0"); /* no user (only groups): root, as runc */
	unsigned long n = 0, id;
	int is_num = numeric(spec, &n);
	char name[256] = "", home[PATH_MAX] = "/";
	int found = 0;
	o->uid = 0;
	o->gid = 0;
	FILE *f = open_inside("/etc/passwd");
	char line[8192], *fld[7];
	int k;
	while ((k = next_entry(f, line, sizeof line, fld, 7)) >= 0) {
		unsigned long gid;
		if (k < 4 || !numeric(fld[2], &id) || !numeric(fld[3], &gid)) continue;
		if (is_num ? id == n : strcmp(fld[0], spec) == 0) {
			o->uid = id;
			o->gid = gid;
			snprintf(name, sizeof name, "%s", fld[0]);
			if (k > 5 && fld[5][0]) snprintf(home, sizeof home, "%s", fld[5]);
			found = 1;
			break;
		}
	}
	if (f) fclose(f);
	if (!found && is_num) o->uid = n;
	else if (!found && spec[0]) fail(126, "unable to find user %s: no matching entries in passwd file", spec);
	o->ngroups = 0;
	if (group && group[0]) {
		if (!find_group(group, &o->gid)) fail(126, "unable to find group %s: no matching entries in group file", group);
	} else if (name[0]) {
		/* No group given: the user's supplementary groups, those that list it. */
		FILE *g = open_inside("/etc/group");
		char *gf[4];
		unsigned long gid;
		while ((k = next_entry(g, line, sizeof line, gf, 4)) >= 0) {
			if (k < 4 || !numeric(gf[2], &gid)) continue;
			for (char *m = strtok(gf[3], ","); m; m = strtok(NULL, ","))
				if (strcmp(m, name) == 0 && o->ngroups < NGROUPS_MAX_OURS) o->groups[o->ngroups++] = gid;
		}
		if (g) fclose(g);
	}
	for (int j = 0; j < o->ngroup_add; j++) {
		gid_t gid;
		if (!find_group(o->group_add[j], &gid)) fail(126, "Unable to find group %s: no matching entries in group file", o->group_add[j]);
		if (o->ngroups < NGROUPS_MAX_OURS) o->groups[o->ngroups++] = gid;
	}
	if (o->set_home && setenv("HOME", home, 1) < 0) fail(126, "setenv HOME: %s", errtext(errno));
}

/*
 * Then: supplementary groups first, then the group, then the user: once
 * we are not root, we may change none of them.
 */
static void set_user(const struct options *o) {
	if (setgroups(o->ngroups, o->groups) < 0) fail(126, "setgroups: %s", errtext(errno));
	if (setgid(o->gid) < 0) fail(126, "setgid %u: %s", (unsigned)o->gid, errtext(errno));
	if (setuid(o->uid) < 0) fail(126, "setuid %u: %s", (unsigned)o->uid, errtext(errno));
}
// #endregion nsenter-user

// #region nsenter-harden
/*
 * Chapter 11: the exec'd process is held to what the container's own
 * processes are (runc applies the container's settings to every exec), in
 * the order of runc's setns init (libcontainer/setns_init_linux.go):
 *
 *   1. rlimits, while we may still raise one (CAP_SYS_RESOURCE);
 *   2. with no_new_privs: set it. Without it, the seccomp filter now: to
 *      install one without no_new_privs needs CAP_SYS_ADMIN, which the
 *      next steps take away (the filter then has to allow those steps:
 *      prctl, capset, setuid… Docker's profile does);
 *   3. the bounding set, dropped one capability at a time (needs
 *      CAP_SETPCAP, so before capset);
 *   4. --user (see set_user), keeping the permitted set across setuid;
 *   5. capset: effective, permitted, inheritable; then the ambient set;
 *   6. with no_new_privs, the filter last, just before execve (harden_last).
 *
 * All of this is per thread; we have one, and execve keeps its sets (the
 * permitted and effective ones as capabilities(7)'s execve rules say: for
 * root, the bounding set caps them; for another user they are emptied,
 * which is what Docker asks for a non-root user anyway).
 */
static void install_filter(const struct options *o) {
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &o->filter) < 0)
		fail(126, "unable to init seccomp: error loading seccomp filter into kernel: %s", errtext(errno));
}

static void drop_bounding_set(const struct options *o) {
	/* How many capabilities this kernel has is found by asking, not from
	 * /proc/sys/kernel/cap_last_cap: we are in the container's mount
	 * namespace, where its root may have mounted anything over that. */
	for (int cap = 0; cap < 64; cap++) {
		int held = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (held < 0 && errno == EINVAL) break;
		if (held == 1 && !(o->caps.bounding >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			fail(126, "unable to apply caps: drop capability %d from the bounding set: %s", cap, errtext(errno));
	}
}

static void set_capabilities(const struct options *o) {
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	struct capsets user = o->caps;
	/* A user other than root, named or numbered (resolved in the
	 * container), keeps only the bounding set, as in `run` (the init's
	 * capset, security/init/capabilities.ts). */
	if (getuid() != 0) user.effective = user.permitted = user.ambient = 0;
	const struct capsets *c = &user;
	for (int w = 0; w < 2; w++) {
		data[w].effective = (unsigned)(c->effective >> (32 * w));
		data[w].permitted = (unsigned)(c->permitted >> (32 * w));
		data[w].inheritable = (unsigned)(c->inheritable >> (32 * w));
	}
	if (syscall(SYS_capset, &header, data) < 0) fail(126, "unable to apply caps: capset: %s", errtext(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) fail(126, "unable to apply caps: clear the ambient set: %s", errtext(errno));
	for (int cap = 0; cap < 64; cap++)
		if ((c->ambient >> cap & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			fail(126, "unable to apply caps: raise ambient capability %d: %s", cap, errtext(errno));
}

static void set_user(const struct options *o);

/* Steps 1 to 5. */
static void harden(const struct options *o) {
	for (int k = 0; k < o->nrlimits; k++)
		if (setrlimit(o->rlimits[k].resource, &o->rlimits[k].value) < 0)
			fail(126, "error setting rlimit type %s: %s", o->rlimits[k].name, errtext(errno));
	if (o->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(126, "set no_new_privs: %s", errtext(errno));
	if (o->seccomp_fd >= 0 && !o->no_new_privs) install_filter(o);
	if (o->has_caps) drop_bounding_set(o);
	if (o->user) {
		/* Without KEEPCAPS, setuid to a non-zero UID empties the permitted
		 * set, and capset could give nothing back. */
		if (o->has_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(126, "set keepcaps: %s", errtext(errno));
		set_user(o);
	}
	if (o->has_caps) set_capabilities(o);
}

/* Step 6. */
static void harden_last(const struct options *o) {
	if (o->seccomp_fd >= 0 && o->no_new_privs) install_filter(o);
}
// #endregion nsenter-harden

/*
 * Find PROGRAM as runc does (and as dockling's init does for `run`, with the
 * same messages): a name with a "/" is a path; any other name is looked up
 * in the $PATH of the environment we were given, the container's, among the
 * container's files.
 */
static const char *find_command(const char *name, char *buf, size_t len) {
	struct stat st;
	if (strchr(name, '/')) {
		if (stat(name, &st) < 0) fail(127, "exec: \"%s\": stat %s: %s", name, name, errtext(errno));
		if (S_ISDIR(st.st_mode)) fail(126, "exec: \"%s\": is a directory", name);
		if (!(st.st_mode & 0111)) fail(126, "exec: \"%s\": permission denied", name);
		return name;
	}
	const char *path = getenv("PATH");
	for (const char *p = path ? path : ""; *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0) {
			snprintf(buf, len, "%.*s/%s", (int)n, p, name);
			if (stat(buf, &st) == 0) {
				if (S_ISDIR(st.st_mode)) fail(126, "exec: \"%s\": is a directory", name);
				if (!(st.st_mode & 0111)) fail(126, "exec: \"%s\": permission denied", name);
				return buf;
			}
		}
		p += n;
		if (*p == ':') p++;
	}
	fail(127, "exec: \"%s\": executable file not found in $PATH", name);
	return NULL;
}

// #region nsenter-devnull
/*
 * A descriptor 0-2 that is the null device is the caller's /dev/null (the CLI
 * gives one for a stdin that `exec` without -i does not pass on, and for all
 * three with -d). That is the HOST's /dev/null: through it root in the
 * container could fchmod or fchown the host's device node, and reopen
 * /proc/self/fd/N to reach the host's /dev. So each one is replaced by the
 * container's own /dev/null, opened here, inside its mount namespace, where
 * "/" is the container's root. O_NOFOLLOW and the device check: the
 * container owns that path, and may have put anything there.
 */
static void own_dev_null(void) {
	int null = -1;
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) continue;
		if (null < 0) {
			null = open("/dev/null", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
			if (null < 0) fail(126, "open /dev/null in the container: %s", errtext(errno));
			struct stat ours;
			if (fstat(null, &ours) < 0 || !S_ISCHR(ours.st_mode) || ours.st_rdev != makedev(1, 3))
				fail(126, "/dev/null in the container is not the null device");
		}
		if (dup2(null, fd) < 0) fail(126, "dup2 /dev/null to %d: %s", fd, errtext(errno));
	}
	if (null > 2) close(null);
}
// #endregion nsenter-devnull

// #region nsenter-child
/* Everything the child does inside the container, up to exec. */
static void run_child(struct options *o, const int cgroup_fds[], int parent_alive) {
	error_fd = fcntl(2, F_DUPFD_CLOEXEC, 5);
	if (error_fd < 0) error_fd = 2;
	/* The PID pipe is the parent's to write and close: our copy would keep
	 * the CLI's read of it from ending until we exec. */
	if (o->report_pid) close(PID_FD);
	own_dev_null();

	join_cgroups(o, cgroup_fds);
	if (o->user) resolve_user(o); /* before the pty is given to the user */
	int slave = o->tty ? open_terminal(o) : -1;

	/* Docker's exec fails on a missing working directory (where `run`
	 * makes it). As runc: try as root first (we may be about to become a
	 * user who cannot reach it, which is then that user's business), and
	 * again as the user if root was refused (a root-squashed NFS, say). */
	int cwd_err = chdir(o->cwd) < 0 ? errno : 0;
	if (cwd_err && !(o->user && (cwd_err == EACCES || cwd_err == EPERM)))
		fail(126, "chdir to cwd (\"%s\") set in config.json failed: %s", o->cwd, errtext(cwd_err));
	harden(o); /* and --user */
	if (cwd_err && chdir(o->cwd) < 0)
		fail(126, "chdir to cwd (\"%s\") set in config.json failed: %s", o->cwd, errtext(errno));

	/* If nsenter dies (the CLI killed it with SIGKILL), the command dies
	 * too: nobody would be left to collect its exit code, and the CLI that
	 * forwards signals to it would be gone. (An orphan is adopted by the
	 * init of its dead parent's PID namespace, which for us is the host's:
	 * a container process whose parent the container cannot see.)
	 * This is the nsenter → command link only: nsenter itself does not
	 * die with the CLI, just as Docker's exec'd process outlives a
	 * `docker exec` client that goes away.
	 * It is set after setuid because a change of user clears it; and since
	 * nsenter may have died before we set it, we then check that its end of
	 * our "alive" pipe is still open. (The usual getppid() check does not
	 * work here: our parent is outside our PID namespace, and so is the
	 * host's init, so getppid() reads 0 before and after.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct pollfd pfd = { .fd = parent_alive, .events = POLLIN };
	if (poll(&pfd, 1, 0) > 0) _exit(125); /* EOF: nsenter is gone */
	close(parent_alive);

	char buf[PATH_MAX];
	const char *file = find_command(o->argv[0], buf, sizeof buf);

	/* A session of its own: the command is no part of the host terminal's
	 * session (the CLI forwards signals to it by PID instead), and its
	 * /dev/tty cannot reach the user's terminal on the host. With --tty the
	 * pty becomes the controlling terminal of this session, so ^C typed
	 * into it is SIGINT for the command, and a shell gets job control. */
	if (setsid() < 0) fail(126, "setsid: %s", errtext(errno));
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0) fail(126, "make the pty the controlling terminal: %s", errtext(errno));
		for (int fd = 0; fd < 3; fd++)
			if (dup2(slave, fd) < 0) fail(126, "dup2 the pty to %d: %s", fd, errtext(errno));
		if (slave > 2) close(slave);
	}

	/* The command starts as a fresh process would: default signal actions
	 * (an "ignored" inherited from whoever ran us survives exec), nothing
	 * blocked, and no descriptor beyond 0-2 (fd 3, or anything the caller
	 * left open, would be a way out of the container). */
	for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	harden_last(o);
	execve(file, o->argv, environ);
	int err = errno;
	fail(err == ENOENT ? 127 : 126, "exec: \"%s\": %s", o->argv[0], errtext(err));
}
// #endregion nsenter-child

// #region nsenter-main
int main(int argc, char **argv) {
	/* Before anything else: our child will be a process the container
	 * can see (sealed-exec.h, CVE-2019-5736). */
	seal_helper("nsenter", argv);
	struct options o;
	parse_args(argc, argv, &o);
	/* Look at fds 3 and 4 before we open anything: a file we open could
	 * otherwise take number 3 and be mistaken for the caller's pipe. */
	o.report_pid = fcntl(PID_FD, F_GETFD) >= 0;
	if (o.tty && fcntl(CONSOLE_FD, F_GETFD) < 0)
		die("--tty needs a unix socket on fd %d to send the terminal on", CONSOLE_FD);
	if (o.seccomp_fd >= 0) read_filter(&o);

	int cgroup_fds[MAX_CGROUPS];
	open_cgroups(&o, cgroup_fds);
	int ns_fds[NNS];
	open_namespaces(o.pid, ns_fds);

	// #lab 05-exec TODO 2: enter each namespace whose fd is open, in namespaces[]'s order (setns).
	// #todo Close each fd once entered; a refusal dies saying which namespace. Right after
	// #todo the user namespace, become its root (setresgid, setgroups, setresuid to 0).
	// #starter die("lab 05-exec: TODO 2, setns, is not written yet");
	for (size_t i = 0; i < NNS; i++) {
		if (ns_fds[i] < 0) continue;
		if (setns(ns_fds[i], namespaces[i].type) < 0)
			die("setns %s of process %s: %s", namespaces[i].name, o.pid, strerror(errno));
		close(ns_fds[i]);
		/* In the container's user namespace our host ids (0) are not
		 * mapped: become its root (the remapped uid on the host), as its
		 * init did (nsexec.c), before anything runs as "nobody". */
		if (namespaces[i].type == CLONE_NEWUSER &&
		    (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0))
			die("becoming root of the user namespace of process %s: %s", o.pid, strerror(errno));
	}
	// #endlab

	/* Our end of this pipe stays open as long as we live: the child's
	 * way to tell that we are still there (see run_child). */
	int alive[2];
	if (pipe2(alive, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));

	/* setns(CLONE_NEWPID) did not move us: it chose the PID namespace of our
	 * next child. That child is the process that runs the command. */
	pid_t child = fork();
	if (child < 0) {
		/* The kernel refuses new processes in a PID namespace whose
		 * PID 1 has exited: the container is stopping. */
		if (errno == ENOMEM) die("fork: the container's PID 1 has exited");
		die("fork: %s", strerror(errno));
	}
	if (child == 0) {
		close(alive[1]);
		run_child(&o, cgroup_fds, alive[0]);
	}
	close(alive[0]);
	for (int i = 0; i < o.ncgroups; i++) close(cgroup_fds[i]);

	/* The CLI signals the command directly (by the PID below); a signal
	 * meant for the CLI's process group must not end the waiter early.
	 * SIGPIPE too: a CLI that stopped reading fd 3 must not kill us. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	/* Tell the CLI the command's PID, as the host numbers it. */
	if (o.report_pid) {
		dprintf(PID_FD, "%d\n", (int)child);
		close(PID_FD);
	}
	/* Only the child may hold the console socket: if it dies before
	 * sending the master, the CLI must read end-of-file, not wait forever. */
	if (o.tty) close(CONSOLE_FD);

	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) die("waitpid: %s", strerror(errno));
	}
	/* Exit as the command did, so the CLI can report 128+N (as nsexec.c). */
	return exit_as(status);
}
// #endregion nsenter-main

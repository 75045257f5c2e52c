// The escape suite's probe for chapter 11: one static program, copied into
// a busybox rootfs as /bin/probe, with a subcommand per "door" that root in
// a container could use to reach the host. Each door is only shown open,
// never walked through: a probe proves access by READING something, by
// opening a file for writing and closing it unwritten, or by a system call
// that needs the privilege but changes nothing. What it changes (a remount,
// a mount, an unmount) is in the container's own mount namespace, gone with
// the container.
//
// Each probe prints one line:   NAME ok DETAIL
//                           or  NAME denied ERRNO STEP   (the step that failed)
//
//   probe suite NAME[=ARG]...   run each probe in a child of its own (so that
//                               one probe's setns or unshare does not leak
//                               into the next) and print their lines
//   probe handle PATH           (on the host) PATH's file handle, as TYPE:HEX
//   probe euid                  print the effective uid (the setuid copy)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *probe_name = "?";

static int ok(const char *fmt, const char *detail) {
	printf("%s ok ", probe_name);
	printf(fmt, detail);
	printf("\n");
	return 0;
}

static int denied(const char *step) {
	const char *name = strerrorname_np(errno);
	printf("%s denied %s %s\n", probe_name, name ? name : "E?", step);
	return 1;
}

/* The flags /proc and /sys are mounted with; a remount sets them all anew. */
#define KEEP (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* A directory of our own in the container's /tmp (the test's rootfs copy). */
static char *scratch_dir(void) {
	static char dir[] = "/tmp/door.XXXXXX";
	mkdir("/tmp", 01777);
	return mkdtemp(dir);
}

// #region shocker-probe
// shocker: open_by_handle_at(2) opens a file by its (device-wide) inode
// handle, relative to ANY file on the same filesystem. /etc/hostname is a
// bind mount of a file in the state root, on the host's filesystem; the
// test computed, on the host, the handle of its own temp directory, and we
// open that directory and read the marker in it. Needs CAP_DAC_READ_SEARCH.
static int shocker(const char *arg) {
	unsigned type;
	char hex[260];
	if (sscanf(arg, "%u:%259s", &type, hex) != 2) return errno = EINVAL, denied("argument");
	size_t n = strlen(hex) / 2;
	struct file_handle *h = malloc(sizeof *h + n);
	h->handle_type = type;
	h->handle_bytes = n;
	for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &h->f_handle[i]);
	int mnt = open("/etc/hostname", O_RDONLY);
	if (mnt < 0) return denied("open /etc/hostname");
	int dir = open_by_handle_at(mnt, h, O_RDONLY | O_DIRECTORY);
	if (dir < 0) return denied("open_by_handle_at");
	int fd = openat(dir, "marker", O_RDONLY);
	if (fd < 0) return denied("openat marker");
	char buf[64] = {0};
	if (read(fd, buf, sizeof buf - 1) < 0) return denied("read marker");
	buf[strcspn(buf, "\n")] = 0;
	return ok("read the host's %s through a file handle", buf);
}
// #endregion shocker-probe

/* The PID of the test's host process, a `sleep` in our PID namespace. */
static int host_sleep(void) {
	DIR *d = opendir("/proc");
	struct dirent *e;
	int pid = 0;
	while (d && (e = readdir(d))) {
		char p[300], comm[32] = {0};
		snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
		int fd = open(p, O_RDONLY);
		if (fd < 0) continue;
		if (read(fd, comm, sizeof comm - 1) > 0 && strcmp(comm, "sleep\n") == 0) pid = atoi(e->d_name);
		close(fd);
	}
	if (d) closedir(d);
	return pid;
}

// release_agent: a cgroup v1 hierarchy's ROOT has a release_agent file,
// the program the HOST's kernel runs as root when a cgroup empties.
// Chapter 2's cgroup namespace hides that root from the container, but the
// host process in our PID namespace is in the host's cgroup namespace:
// join it (setns needs CAP_SYS_ADMIN), mount a hierarchy (in our own mount
// namespace) and open its release_agent for writing, without writing.
static int release_agent(const char *pidarg) {
	char p[64];
	snprintf(p, sizeof p, "/proc/%s/ns/cgroup", pidarg);
	int ns = open(p, O_RDONLY);
	if (ns < 0) return denied("open /proc/PID/ns/cgroup");
	if (setns(ns, CLONE_NEWCGROUP) < 0) return denied("setns");
	// Which v1 hierarchies exist: "ID:CONTROLLERS:PATH" lines with an ID > 0.
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[512], ctrl[256] = "";
	while (f && fgets(line, sizeof line, f)) {
		int id;
		char c[256];
		if (sscanf(line, "%d:%255[^:]:", &id, c) == 2 && id > 0) {
			strcpy(ctrl, c);
			break;
		}
	}
	if (!ctrl[0]) return errno = ENOENT, denied("no cgroup v1 hierarchy");
	char *dir = scratch_dir();
	if (mount("cgroup", dir, "cgroup", 0, ctrl) < 0) return denied("mount");
	snprintf(line, sizeof line, "%s/release_agent", dir);
	int fd = open(line, O_WRONLY);
	if (fd < 0) return umount(dir), denied("open release_agent");
	close(fd);
	umount(dir);
	rmdir(dir);
	return ok("the host's %s hierarchy: release_agent open for writing", ctrl);
}

// /sys is mounted read-only; remounting it read-write changes the flags of
// the container's own sysfs (a sysfs belongs to a network namespace).
static int remount_sys(const char *arg) {
	(void)arg;
	if (mount(NULL, "/sys", NULL, MS_REMOUNT | KEEP, NULL) < 0) return denied("mount");
	struct statvfs s;
	statvfs("/sys", &s);
	return ok("%s", s.f_flag & ST_RDONLY ? "remounted, still read-only" : "/sys remounted read-write");
}

// A read-only bind mount over PATH (/proc/sys, /proc/sysrq-trigger) made
// writable again, then FILE opened for writing and closed unwritten: a
// write there would change the HOST's kernel (most sysctls are global).
static int remount_and_open(const char *path, const char *file) {
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | KEEP, NULL) < 0) return denied("mount");
	int fd = open(file, O_WRONLY);
	if (fd < 0) return denied("open for writing");
	close(fd);
	return ok("%s open for writing", file);
}

static int proc_sys(const char *arg) {
	(void)arg;
	return remount_and_open("/proc/sys", "/proc/sys/kernel/core_pattern");
}

static int sysrq(const char *arg) {
	(void)arg;
	return remount_and_open("/proc/sysrq-trigger", "/proc/sysrq-trigger");
}

// Masked paths are mounts over kernel files: unmounting one shows the file.
static int umount_masked(const char *arg) {
	(void)arg;
	static const char *masked[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
		"/proc/latency_stats", "/proc/timer_stats", "/proc/acpi", "/proc/scsi", "/sys/firmware", NULL};
	int first = 0;
	for (const char **p = masked; *p; p++) {
		if (umount2(*p, 0) == 0) return ok("unmounted the mask over %s", *p);
		if (errno != EINVAL && errno != ENOENT && !first) first = errno; /* EINVAL: not a mount point here */
	}
	errno = first ? first : EINVAL;
	return denied("umount2");
}

// The container's own limits: its cgroup's pids.max, mounted read-only.
// Remount the hierarchy's mount read-write (MS_BIND: this mount's flags
// only, not the hierarchy's) and write pids.max its CURRENT value.
static int cgroup_limit(const char *arg) {
	(void)arg;
	const char *dir = access("/sys/fs/cgroup/pids/pids.max", F_OK) == 0 ? "/sys/fs/cgroup/pids" : "/sys/fs/cgroup";
	char file[128], value[64] = {0};
	snprintf(file, sizeof file, "%s/pids.max", dir);
	int fd = open(file, O_RDONLY);
	if (fd < 0 || read(fd, value, sizeof value - 1) <= 0) return denied("read pids.max");
	close(fd);
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | KEEP, NULL) < 0) return denied("mount");
	fd = open(file, O_WRONLY);
	if (fd < 0) return denied("open pids.max for writing");
	if (write(fd, value, strlen(value)) < 0) return denied("write pids.max");
	close(fd);
	value[strcspn(value, "\n")] = 0;
	return ok("pids.max rewritten with its own value %s", value);
}

// #region settime-probe
// settimeofday(NULL, NULL) checks CAP_SYS_TIME (the LSM's settime hook)
// and then has nothing to set: the one call that needs the privilege to set
// the host's clock and changes nothing. (adjtimex with modes 0 is a pure
// read and needs no capability, so it proves nothing.)
static int settime(const char *arg) {
	(void)arg;
	if (syscall(SYS_settimeofday, NULL, NULL) < 0) return denied("settimeofday");
	return ok("%s", "settimeofday(NULL, NULL) allowed: the host's clock could be set");
}
// #endregion settime-probe

static int mount_tmpfs(const char *arg) {
	(void)arg;
	char *dir = scratch_dir();
	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") < 0) return denied("mount");
	umount(dir);
	rmdir(dir);
	return ok("%s", "mounted a tmpfs");
}

// mknod a device node (ARG: "b:MAJOR:MINOR" or "c:…") in the container's
// own /dev, open it read-only and read from it. CAP_MKNOD is one of
// Docker's 14: the devices cgroup is what refuses the open.
static int device(const char *arg, int do_read) {
	char kind;
	unsigned maj, min;
	if (sscanf(arg, "%c:%u:%u", &kind, &maj, &min) != 3) return errno = EINVAL, denied("argument");
	const char *node = "/dev/door-probe";
	unlink(node);
	if (mknod(node, (kind == 'b' ? S_IFBLK : S_IFCHR) | 0600, makedev(maj, min)) < 0) return denied("mknod");
	int fd = open(node, O_RDONLY | O_NONBLOCK);
	int e = errno;
	unlink(node);
	if (fd < 0) return errno = e, denied("open");
	char buf[8192], detail[64]; /* /dev/kmsg returns whole records: EINVAL for a small buffer */
	ssize_t n = do_read ? read(fd, buf, sizeof buf) : 0;
	close(fd);
	snprintf(detail, sizeof detail, "%c %u:%u opened, read %zd bytes", kind, maj, min, n);
	return ok("%s", detail);
}

static int mknod_dev(const char *arg) { return device(arg, 1); }
static int dev_mem(const char *arg) { (void)arg; return device("c:1:1", 0); }

// finit_module checks CAP_SYS_MODULE before it looks at the descriptor: a
// capable caller gets EBADF for fd -1, an incapable one EPERM. Nothing is
// loaded either way.
static int module(const char *arg) {
	(void)arg;
	if (syscall(SYS_finit_module, -1, "", 0) == 0 || errno != EBADF) return denied("finit_module");
	return ok("%s", "finit_module got past the capability check (EBADF for fd -1)");
}

// New namespaces, a user namespace first: the kernel code that root in a
// new user namespace may reach is what Docker's profile keeps out of reach.
static int unshare_ns(const char *arg) {
	(void)arg;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return denied("unshare");
	return ok("%s", "unshare(CLONE_NEWUSER|CLONE_NEWNS) made new namespaces");
}

// The host process in our PID namespace: attach to it with ptrace (a
// tracer could make it run anything, as host root), and read a host file
// through its root, /proc/PID/root. PTRACE_SEIZE does not stop it; it is
// stopped for a moment only to detach.
static int ptrace_host(const char *arg) {
	char pid[16], marker[400];
	if (sscanf(arg, "%15[^:]:%399s", pid, marker) != 2) return errno = EINVAL, denied("argument");
	int p = atoi(pid);
	if (ptrace(PTRACE_SEIZE, p, 0, 0) < 0) return denied("ptrace");
	char path[512], buf[64] = {0};
	snprintf(path, sizeof path, "/proc/%d/root%s", p, marker);
	int fd = open(path, O_RDONLY);
	int e = errno;
	if (fd >= 0) read(fd, buf, sizeof buf - 1), close(fd);
	ptrace(PTRACE_INTERRUPT, p, 0, 0);
	waitpid(p, NULL, __WALL);
	ptrace(PTRACE_DETACH, p, 0, 0);
	if (fd < 0) return errno = e, denied("open /proc/PID/root/…");
	buf[strcspn(buf, "\n")] = 0;
	return ok("attached to the host process, read the host's %s", buf);
}

// The kernel's keyrings are not namespaced: look up our session keyring
// (KEYCTL_GET_KEYRING_ID, without creating one): a read.
static int keyctl_probe(const char *arg) {
	(void)arg;
	long id = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
	if (id < 0) return denied("keyctl");
	char detail[64];
	snprintf(detail, sizeof detail, "session keyring %ld", id);
	return ok("%s", detail);
}

static int raw_socket(const char *arg) {
	(void)arg;
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (s < 0) return denied("socket");
	close(s);
	return ok("%s", "socket(AF_INET, SOCK_RAW) made");
}

// A setuid-root copy of this program (/bin/probe-suid) run by uid 1000:
// with no_new_privs the kernel ignores the setuid bit at execve.
static int setuid_nnp(const char *arg) {
	(void)arg;
	int fds[2];
	if (pipe(fds) < 0) return denied("pipe");
	pid_t c = fork();
	if (c == 0) {
		dup2(fds[1], 1);
		if (setgroups(0, NULL) < 0 || setgid(1000) < 0 || setuid(1000) < 0) printf("euid -%d\n", errno), _exit(1);
		execl("/bin/probe-suid", "probe-suid", "euid", (char *)NULL);
		printf("euid -%d\n", errno);
		_exit(1);
	}
	close(fds[1]);
	char buf[64] = {0};
	read(fds[0], buf, sizeof buf - 1);
	waitpid(c, NULL, 0);
	int euid = -1;
	sscanf(buf, "euid %d", &euid);
	if (euid < 0) return errno = -euid, denied("setuid/execve");
	if (euid != 0) {
		printf("%s denied euid=%d setuid bit ignored\n", probe_name, euid);
		return 1;
	}
	return ok("%s", "uid 1000 ran a setuid-root file as euid 0");
}

static const struct {
	const char *name;
	int (*run)(const char *arg);
} probes[] = {
	{"shocker", shocker}, {"release-agent", release_agent}, {"remount-sys", remount_sys},
	{"proc-sys", proc_sys}, {"sysrq", sysrq}, {"umount-masked", umount_masked},
	{"cgroup-limit", cgroup_limit}, {"settime", settime}, {"mount", mount_tmpfs},
	{"mknod", mknod_dev}, {"dev-mem", dev_mem}, {"module", module}, {"unshare", unshare_ns},
	{"ptrace", ptrace_host}, {"keyctl", keyctl_probe}, {"raw-socket", raw_socket},
	{"setuid-nnp", setuid_nnp},
};

/* Run one probe in a child: what it does to its own process stays there. */
static void run_one(char *spec) {
	char *arg = strchr(spec, '=');
	if (arg) *arg++ = 0;
	for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
		if (strcmp(probes[i].name, spec) != 0) continue;
		fflush(stdout);
		pid_t c = fork();
		if (c == 0) {
			probe_name = spec;
			alarm(10);
			probes[i].run(arg ? arg : "");
			fflush(stdout);
			_exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		if (!WIFEXITED(st)) printf("%s crashed %d\n", spec, WTERMSIG(st));
		return;
	}
	printf("%s unknown\n", spec);
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "euid") == 0) return printf("euid %d\n", geteuid()), 0;
	if (argc == 3 && strcmp(argv[1], "handle") == 0) {
		struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
		int mount_id;
		h->handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, argv[2], h, &mount_id, 0) < 0) return perror("name_to_handle_at"), 1;
		printf("%d:", h->handle_type);
		for (unsigned i = 0; i < h->handle_bytes; i++) printf("%02x", h->f_handle[i]);
		printf("\n");
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "suite") != 0) {
		fprintf(stderr, "usage: probe suite TOKEN NAME[=ARG]... | probe handle PATH | probe euid\n");
		return 2;
	}
	// ptrace and release-agent need the test's host process: ARG "@" stands
	// for its PID, once it has appeared in our PID namespace.
	int pid = 0;
	for (int i = 3; i < argc; i++) {
		char *at = strchr(argv[i], '@');
		if (!at) continue;
		for (int t = 0; !pid && t < 2000; t++) {
			pid = host_sleep();
			if (!pid) usleep(10000);
		}
		if (!pid) {
			printf("no host process appeared\n");
			return 1;
		}
		char *spec = malloc(strlen(argv[i]) + 16);
		*at = 0;
		sprintf(spec, "%s%d%s", argv[i], pid, at + 1);
		argv[i] = spec;
	}
	for (int i = 3; i < argc; i++) run_one(argv[i]);
	return 0;
}

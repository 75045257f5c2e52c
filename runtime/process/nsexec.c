/*
 * nsexec: the one step of dockling that is not TypeScript.
 *
 *   nsexec FLAGS PROGRAM [ARG...]      FLAGS: any of p m u i n (pid, mount,
 *                                      uts, ipc, net), e.g. "pmuin", and
 *                                      D: the parent is a monitor (chapter 5)
 *   nsexec FLAGSU UIDMAP GIDMAP PROGRAM [ARG...]
 *                                      U: a user namespace too (chapter 11),
 *                                      with these maps: "0 100000 65536"
 *                                      lines, joined by ','
 *
 * Node cannot do this step itself. unshare(2) of a PID namespace takes effect
 * only for the caller's *next child*, and Node can only make children with
 * fork+exec in one go (posix_spawn style); a mount namespace made by one
 * thread of a multithreaded process would leave its other threads (libuv's
 * pool) in the old one. So, like runc's nsexec (C code inside a Go program,
 * for the same reasons), this small program:
 *
 *   1. makes the new namespaces (unshare(2));
 *   2. forks: the child is PID 1 of the new PID namespace and execs PROGRAM
 *      (the Node init, which builds the container and execs the command);
 *   3. waits for it and exits the same way it did: with its exit code, or
 *      killed by the same signal, so the CLI can report 128+N.
 *
 * util-linux unshare(1) does 1-3 too, but version 2.38 (Debian 12) cannot
 * pass on death by SIGKILL: it fails to reset SIGKILL's handler and exits 1
 * with "sigprocmask unblock failed", which would turn every OOM kill (137)
 * into a 1. Being ours, this helper also ties the container's life to its
 * parent's (PR_SET_PDEATHSIG): the CLI's, and from chapter 5 on the monitor's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit-as.h"
#include "sealed-exec.h"

static int flag_bits(const char *flags) {
	int bits = 0;
	for (const char *f = flags; *f; f++) {
		switch (*f) {
		case 'p': bits |= CLONE_NEWPID; break;
		case 'm': bits |= CLONE_NEWNS; break;
		case 'u': bits |= CLONE_NEWUTS; break;
		case 'i': bits |= CLONE_NEWIPC; break;
		case 'n': bits |= CLONE_NEWNET; break;
		case 'U': bits |= CLONE_NEWUSER; break;
		case 'D': break; /* not a namespace: see main */
		default:
			fprintf(stderr, "nsexec: unknown namespace flag '%c'\n", *f);
			exit(125);
		}
	}
	return bits;
}

// #region userns-maps
/*
 * Chapter 11: a user namespace. unshare(CLONE_NEWUSER) together with the
 * other flags makes the user namespace first and the others owned by it,
 * which is what lets root inside mount /proc, /sys and the rest. But a new
 * user namespace maps no ids at all until its uid_map and gid_map are
 * written, and only once, by a process with CAP_SETUID in the *parent*
 * user namespace (user_namespaces(7)): we, after unshare, are no longer
 * one. runc's nsexec solves this with stages (its parent writes the maps
 * for the child that unshared); ours, in the same spirit:
 *
 *   stage 0 (nsexec, host): fork a "mapper" that stays on the host side,
 *     blocked on a pipe;
 *   stage 1 (nsexec): unshare(CLONE_NEWUSER | the rest); tell the mapper;
 *   stage 2 (mapper, host): write /proc/<nsexec>/uid_map and gid_map, exit;
 *   stage 3 (nsexec, now inside): once the mapper is done, become uid and
 *     gid 0 of the new namespace (host ids from the map: 100000, say),
 *     with no supplementary groups; then fork the init as before.
 */
static char *join_lines(const char *map) {
	char *text = strdup(map);
	for (char *c = text; *c; c++)
		if (*c == ',') *c = '\n';
	return text;
}

static int write_map(pid_t pid, const char *file, const char *map) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
	char *text = join_lines(map);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	/* One write(2): the kernel takes the whole map at once, or nothing. */
	int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (!ok) fprintf(stderr, "nsexec: write %s: %s\n", path, strerror(errno));
	if (fd >= 0) close(fd);
	free(text);
	return ok;
}

/* Stage 0: the mapper, forked before unshare. Returns its PID; *go is the
 * pipe end that releases it. */
static pid_t start_mapper(const char *uid_map, const char *gid_map, int *go) {
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) return -1;
	pid_t target = getpid();
	pid_t mapper = fork();
	if (mapper < 0) return -1;
	if (mapper == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[1]);
		char c;
		/* End-of-file instead of a byte: nsexec failed to unshare, or died. */
		if (read(p[0], &c, 1) != 1) _exit(1);
		/* Stage 2. uid_map first; gid_map needs no "deny" in setgroups
		 * because the writer (host root) has CAP_SETGID over the parent. */
		_exit(write_map(target, "uid_map", uid_map) && write_map(target, "gid_map", gid_map) ? 0 : 1);
	}
	close(p[0]);
	*go = p[1];
	return mapper;
}

/* Stage 3: the mapper wrote (or failed): become root of the new namespace. */
static int become_root(pid_t mapper) {
	int status;
	while (waitpid(mapper, &status, 0) < 0)
		if (errno != EINTR) return 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "nsexec: the user namespace's id maps could not be written\n");
		return 0;
	}
	/* Our ids are still the host's (0), which the new namespace does not
	 * map: we are "nobody" inside, though with every capability there.
	 * setresgid and setgroups first, while we may still (CAP_SETGID). */
	if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0) {
		fprintf(stderr, "nsexec: becoming root of the user namespace: %s\n", strerror(errno));
		return 0;
	}
	return 1;
}
// #endregion userns-maps

// #region nsexec-main
int main(int argc, char **argv) {
	/* Our child is PID 1 of the new namespaces until it execs the init:
	 * run from a sealed copy, not dumpable (sealed-exec.h, CVE-2019-5736). */
	seal_helper("nsexec", argv);
	int userns = argc > 1 && strchr(argv[1], 'U') != NULL;
	if (argc < (userns ? 5 : 3)) {
		fprintf(stderr, "usage: nsexec FLAGS [UIDMAP GIDMAP] PROGRAM [ARG...]\n");
		return 125;
	}
	const char *uid_map = userns ? argv[2] : NULL, *gid_map = userns ? argv[3] : NULL;
	char **program = argv + (userns ? 4 : 2);
	pid_t parent = getppid();
	/* If our parent dies, so do we (and, below, so does the container).
	 * The parent is the CLI before chapter 5, the container's monitor
	 * from then on ("D"). A container whose monitor is gone would run on
	 * with nobody to hold its output, record its exit or release what it
	 * holds; containerd ends a container whose shim died the same way
	 * (and reports it exited with 137). The next dockling command records
	 * that end (chapter 5: reapAbandoned, core/pipeline.ts). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) return 125; /* it died before prctl took effect */

	// #region userns-stages
	int go = -1;
	pid_t mapper = userns ? start_mapper(uid_map, gid_map, &go) : 0;
	if (mapper < 0) {
		fprintf(stderr, "nsexec: fork: %s\n", strerror(errno));
		return 125;
	}
	if (unshare(flag_bits(argv[1])) < 0) {
		fprintf(stderr, "nsexec: unshare: %s\n", strerror(errno));
		return 125;
	}
	if (userns) {
		/* stage 1 done: release the mapper, wait for it, take root */
		if (write(go, "1", 1) != 1) return 125;
		close(go);
		if (!become_root(mapper)) return 125;
	}
	// #endregion userns-stages
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "nsexec: fork: %s\n", strerror(errno));
		return 125;
	}
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(program[0], program);
		fprintf(stderr, "nsexec: exec %s: %s\n", program[0], strerror(errno));
		_exit(125);
	}

	/* The CLI signals the container's PID 1 directly; a signal meant for
	 * the CLI's process group must not end the waiter early. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);

	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) return 125;
	}
	return exit_as(status);
}
// #endregion nsexec-main

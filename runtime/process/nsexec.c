/*
 * nsexec: the one step of dockling that is not TypeScript.
 *
 *   nsexec FLAGS PROGRAM [ARG...]      FLAGS: any of p m u i n (pid, mount,
 *                                      uts, ipc, net), e.g. "pmuin", and
 *                                      D: the parent is a monitor (chapter 5)
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
		case 'D': break; /* not a namespace: see main */
		default:
			fprintf(stderr, "nsexec: unknown namespace flag '%c'\n", *f);
			exit(125);
		}
	}
	return bits;
}

// #region nsexec-main
int main(int argc, char **argv) {
	/* Our child is PID 1 of the new namespaces until it execs the init:
	 * run from a sealed copy, not dumpable (sealed-exec.h, CVE-2019-5736). */
	seal_helper("nsexec", argv);
	if (argc < 3) {
		fprintf(stderr, "usage: nsexec FLAGS PROGRAM [ARG...]\n");
		return 125;
	}
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

	if (unshare(flag_bits(argv[1])) < 0) {
		fprintf(stderr, "nsexec: unshare: %s\n", strerror(errno));
		return 125;
	}
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "nsexec: fork: %s\n", strerror(errno));
		return 125;
	}
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[2], argv + 2);
		fprintf(stderr, "nsexec: exec %s: %s\n", argv[2], strerror(errno));
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

/*
 * dockling-init: the tiny init of `docker run --init` (Docker ships tini as
 * docker-init; this is the same idea, in a page).
 *
 *   dockling-init [--] PROGRAM [ARG...]
 *
 * Whatever a container runs is its PID 1, and PID 1 has two jobs that an
 * ordinary program does not know it has:
 *
 *   Signals. The kernel gives PID 1 of a PID namespace no default signal
 *   actions: a signal it has no handler for is simply dropped (only SIGKILL
 *   and SIGSTOP from an ancestor namespace get through). So `sleep 1000` as
 *   PID 1 ignores the SIGTERM of `docker stop`, which waits its 10 seconds
 *   and then sends SIGKILL.
 *
 *   Zombies. A process whose parent dies is re-parented to PID 1, which must
 *   wait() for it when it exits, or it stays a zombie (state Z) for the
 *   container's lifetime, holding its PID. A shell or a database server as
 *   PID 1 never waits for children it did not make.
 *
 * So this init runs PROGRAM as its child and does only those two jobs:
 * every signal sent to it is passed on to the child (which, not being PID 1,
 * has the usual default actions), every child that exits is reaped, and when
 * PROGRAM exits, the init exits the same way: with its code, or 128+N when
 * signal N killed it (PID 1 cannot usefully kill itself with the same signal).
 *
 * It is linked statically because it is bind-mounted into containers whose
 * images may have no C library at all (busybox:musl, scratch + a Go binary).
 *
 * Exit codes: PROGRAM's, or 127 (not found) / 126 (not executable) with one
 * line on stderr, or 125 when the init itself cannot start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

// #region init-spawn
/*
 * The child: the process group and terminal as tini sets them up, then the
 * signal mask we were given, then PROGRAM.
 *
 * A process group of its own, which gets the terminal (if stdin is one) as
 * its foreground group: keys like ^C and ^Z make the terminal signal its
 * foreground group, and if we shared it the init would get ^C's SIGINT as
 * well and forward it, so the program would get it twice. As the foreground
 * group, a shell run under the init also gets working job control. Without a
 * terminal, tcsetpgrp fails with ENOTTY, which is fine. (The child can call
 * tcsetpgrp from a background group only because SIGTTOU is still blocked.)
 */
static void run_child(char **argv, const sigset_t *original_mask) {
	setpgid(0, 0);
	if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY && errno != ENXIO)
		fprintf(stderr, "dockling-init: tcsetpgrp: %s\n", strerror(errno));
	sigprocmask(SIG_SETMASK, original_mask, NULL);
	execvp(argv[0], argv);
	int err = errno;
	fprintf(stderr, "dockling-init: exec %s failed: %s\n", argv[0], strerror(err));
	_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}
// #endregion init-spawn

// #region init-loop
int main(int argc, char **argv) {
	int first = 1;
	if (first < argc && strcmp(argv[first], "--") == 0) first++;
	if (first >= argc) {
		fprintf(stderr, "usage: dockling-init [--] PROGRAM [ARG...]\n");
		return 125;
	}

	/*
	 * Block every signal, so that none of them is acted on (or lost) while
	 * we are not looking: they wait, pending, until sigwaitinfo() below
	 * takes them one by one. This is also what gets SIGTERM past the PID 1
	 * rule above: the kernel drops a signal that PID 1 has no handler for,
	 * but never one that is blocked (a handler might be installed before it
	 * is unblocked), so it stays pending for us. Blocking (not handlers)
	 * also means no code runs at an odd moment, between any two lines of
	 * ours. The signals the kernel sends for our own faults (SIGSEGV...)
	 * stay unblocked: a bug of ours should kill us, not be "forwarded".
	 */
	sigset_t all, original_mask;
	sigfillset(&all);
	int faults[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) sigdelset(&all, faults[i]);
	if (sigprocmask(SIG_BLOCK, &all, &original_mask) < 0) {
		fprintf(stderr, "dockling-init: sigprocmask: %s\n", strerror(errno));
		return 125;
	}

	/* Not PID 1 (run by hand, or under another init): orphans would go to
	 * the real PID 1, not to us, unless we ask to be their "subreaper". */
	if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);

	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "dockling-init: fork: %s\n", strerror(errno));
		return 125;
	}
	if (child == 0) run_child(argv + first, &original_mask);

	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&all, &info);
		if (sig < 0) {
			if (errno == EINTR) continue;
			fprintf(stderr, "dockling-init: sigwaitinfo: %s\n", strerror(errno));
			return 125;
		}
		if (sig != SIGCHLD) {
			/* Everything else is for the program: SIGTERM from `docker
			 * stop`, SIGWINCH of a resized terminal, SIGHUP, SIGUSR1...
			 * If it is gone already, there is nobody left to tell. */
			kill(child, sig);
			continue;
		}
		/* SIGCHLD: some child exited. Several exits can make one SIGCHLD
		 * (a pending signal is a bit, not a count), so reap until there
		 * is nothing left to reap: our program, and the orphans that were
		 * handed to us. */
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);
			if (pid <= 0) break; /* 0: none exited yet; -1 ECHILD: none left */
			if (pid != child) continue; /* an orphan: reaping it was the point */
			if (WIFEXITED(status)) return WEXITSTATUS(status);
			/* PID 1 could not die of most signals even if it raised them,
			 * so report the death the way a shell does. */
			if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
		}
	}
}
// #endregion init-loop

/*
 * exit_as: end this process the way a child ended, so that whoever waits
 * for us sees what it would have seen waiting for the child: its exit code,
 * or death by the same signal (and a shell or the CLI reports 128+N).
 * Shared by nsexec.c (chapter 1) and nsenter.c (chapter 5).
 */
#ifndef DOCKLING_EXIT_AS_H
#define DOCKLING_EXIT_AS_H
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

// #region exit-as
static int exit_as(int status) {
	if (WIFEXITED(status)) return WEXITSTATUS(status);
	/* Die of the same signal. SIGKILL and SIGSTOP cannot be caught, so
	 * their disposition needs (and allows) no reset. */
	int sig = WTERMSIG(status);
	if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	prctl(PR_SET_DUMPABLE, 0); /* no core file for a re-raised SIGSEGV */
	kill(getpid(), sig);
	return 128 + sig;
}
// #endregion exit-as
#endif

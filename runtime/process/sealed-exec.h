/*
 * sealed-exec.h: run a C helper from a sealed copy of itself (CVE-2019-5736).
 *
 * A helper that enters a container's namespaces (nsenter, and nsexec's child,
 * which is PID 1 of a new PID namespace until it execs the Node init) is, for
 * a moment, a process the container can see. /proc/PID/exe of that process
 * is a "magic link" to the file it runs: the host's dist/nsenter. Root in the
 * container could open it (O_PATH, then O_WRONLY through /proc/self/fd once
 * the helper has exec'd the command and the file is no longer busy) and
 * overwrite the host's binary; the next `exec` runs the container's code as
 * root on the host. That is CVE-2019-5736, found in runc in 2019.
 *
 * runc's fix (libcontainer/nsenter/cloned_binary.c), done here the same way:
 *
 *   1. before entering any namespace, copy /proc/self/exe into a memfd (a
 *      file in RAM that no path names), seal it against every change
 *      (F_SEAL_SEAL, SHRINK, GROW, WRITE) and fexecve(2) it: from then on
 *      /proc/PID/exe names that sealed copy, "/memfd:dockling-helper
 *      (deleted)", not the host's file; writing to it fails (EPERM), and
 *      would change only the copy anyway;
 *   2. set PR_SET_DUMPABLE to 0 before setns: the kernel then lets only a
 *      process with CAP_SYS_PTRACE over us open our /proc/PID/{exe,fd,mem}
 *      (ptrace access mode checks, proc(5)).
 *
 * The copy knows it is the copy by its seals (F_GET_SEALS on /proc/self/exe
 * answers only for a memfd), as runc's is_self_cloned() does: no
 * environment marker, which nsenter would otherwise have to remove before
 * it hands its environment to the container's command.
 *
 * MFD_CLOEXEC: the memfd's descriptor closes at the fexecve; the kernel keeps
 * the file open as our executable. (A script could not run that way, since
 * the interpreter would find /dev/fd/N closed; a compiled helper can.)
 */
#ifndef DOCKLING_SEALED_EXEC_H
#define DOCKLING_SEALED_EXEC_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>


// #region sealed-exec
#define HELPER_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Are we already running from a sealed copy? */
static int running_sealed(void) {
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	int seals = fcntl(fd, F_GET_SEALS); /* EINVAL for anything but a memfd */
	close(fd);
	return seals >= 0 && (seals & HELPER_SEALS) == HELPER_SEALS;
}

/*
 * Re-execute ourselves from a sealed memfd copy, unless we are that copy.
 * Returns only in the copy (or, on failure, after printing why and exiting
 * 125: running on from the host's file would reopen the hole).
 */
static void sealed_exec(const char *name, char **argv) {
	extern char **environ;
	if (running_sealed()) return;
	int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (exe < 0 || fstat(exe, &st) < 0) goto fail;
	int mem = memfd_create("dockling-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem < 0) goto fail;
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(mem, exe, NULL, left);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) goto fail;
		left -= n;
	}
	close(exe);
	if (fcntl(mem, F_ADD_SEALS, HELPER_SEALS) < 0) goto fail;
	fexecve(mem, argv, environ);
fail:
	fprintf(stderr, "%s: cannot run from a sealed copy of itself: %s\n", name, strerror(errno));
	_exit(125);
}

/* Both steps, for the top of a helper's main(). */
static void seal_helper(const char *name, char **argv) {
	sealed_exec(name, argv);
	/* exec made us dumpable again (our file is readable): undo that. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
// #endregion sealed-exec

#endif

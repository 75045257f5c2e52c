/*
 * monitor-log.c: the container's log, in Docker's json-file format. Part of
 * the monitor (monitor.c), which hands it everything the container writes.
 *
 * DIR/<ID>-json.log holds one JSON object a line:
 *
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-28T07:00:00.123456789Z"}
 *
 * byte for byte as dockerd writes it, so `docker logs` habits, and tools
 * that read Docker's logs (jq, log shippers), work on dockling's.
 *
 * Rotation, as Docker's json-file driver does it with --log-opt max-size and
 * max-file: before an entry would take the file past max-size, the files
 * move up one (<ID>-json.log.1 -> .2, ..., <ID>-json.log -> .1), the oldest
 * past max-file is dropped, and a new <ID>-json.log begins. `logs` reads
 * them oldest first (logs.ts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_LIMIT (16 * 1024) /* dockerd splits longer lines here */

/* RFC 3339 with nanoseconds, always nine digits, as Docker writes its logs:
 * 2026-11-28T07:00:00.123456789Z */
void timestamp(char out[40]) {
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%09dZ", (int)ts.tv_nsec);
}

int write_all(int fd, const void *buf, size_t n) {
	for (const char *p = buf; n > 0;) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) return -1;
		p += k;
		n -= k;
	}
	return 0;
}

// #region json-escape
/* Go's utf8.DecodeRune, as much as we need: the length of the valid UTF-8
 * sequence at s, or 0. Overlong forms, UTF-16 surrogates and code points
 * past U+10FFFF are invalid too. */
static size_t utf8_length(const unsigned char *s, size_t n) {
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) len = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		if (s[0] == 0xE0) lo = 0xA0; /* overlong */
		if (s[0] == 0xED) hi = 0x9F; /* surrogates */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		if (s[0] == 0xF0) lo = 0x90; /* overlong */
		if (s[0] == 0xF4) hi = 0x8F; /* past U+10FFFF */
	} else return 0;
	if (n < len || s[1] < lo || s[1] > hi) return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF) return 0;
	return len;
}

/* A JSON string's body, escaped as dockerd's json-file writer does (jsonlog's
 * ffjsonWriteJSONBytesAsString): \" \\ \n \r; every other control
 * character, a tab too, and the HTML-sensitive < > & as \u00XX; U+2028 and
 * U+2029 (line breaks to JavaScript) as \u2028 \u2029; each byte that is not
 * part of valid UTF-8 as \ufffd. A container's output is bytes and JSON
 * holds text: that last rule is where the two meet, and the byte is lost.
 * At most 6 bytes out for each byte in. */
static size_t json_escape(char *out, const unsigned char *s, size_t n) {
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c == '"' || c == '\\') *o++ = '\\', *o++ = c;
			else if (c == '\n') *o++ = '\\', *o++ = 'n';
			else if (c == '\r') *o++ = '\\', *o++ = 'r';
			else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
				memcpy(o, "\\u00", 4);
				o[4] = hex[c >> 4];
				o[5] = hex[c & 15];
				o += 6;
			} else *o++ = c;
			i++;
			continue;
		}
		size_t len = utf8_length(s + i, n - i);
		if (len == 0) {
			memcpy(o, "\\ufffd", 6);
			o += 6;
			i++;
		} else if (len == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
			memcpy(o, "\\u202", 5);
			o[5] = hex[s[i + 2] & 15];
			o += 6;
			i += 3;
		} else {
			memcpy(o, s + i, len);
			o += len;
			i += len;
		}
	}
	return o - out;
}
// #endregion json-escape

static int json_fd = -1;
static int log_dir = -1;
static char log_name[300]; /* <ID>-json.log */
static int log_none;       /* --log-driver none: nothing is kept */
static long long max_size; /* bytes; 0: no limit */
static int max_file = 1;
static long long log_size; /* of the live file */

/* The line each stream is in the middle of: [1] stdout, [2] stderr (the
 * numbers of their fds, and of their attach frames). */
static struct {
	const char *name;
	size_t len;
	unsigned char line[LINE_LIMIT];
} streams[3] = { [1] = { .name = "stdout" }, [2] = { .name = "stderr" } };

/* The monitor's command line carries the log config that `run` checked
 * (HostConfig.LogConfig): --log-driver json-file|none, --log-max-size
 * BYTES, --log-max-file N. 0 if the option was one of these. */
int log_configure(const char *opt, const char *val) {
	if (strcmp(opt, "--log-driver") == 0) log_none = strcmp(val, "none") == 0;
	else if (strcmp(opt, "--log-max-size") == 0) max_size = strtoll(val, NULL, 10);
	else if (strcmp(opt, "--log-max-file") == 0) max_file = atoi(val);
	else return -1;
	if (max_file < 1) max_file = 1;
	return 0;
}

/* O_APPEND: every write lands at the end of the file, so a restarted
 * container's new monitor appends to the same log, as Docker's does. */
static int open_live(void) {
	json_fd = openat(log_dir, log_name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	struct stat st;
	log_size = json_fd >= 0 && fstat(json_fd, &st) == 0 ? st.st_size : 0;
	return json_fd;
}

int log_open(int dir_fd, const char *id) {
	log_dir = dir_fd;
	snprintf(log_name, sizeof log_name, "%s-json.log", id);
	if (log_none) return json_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return open_live();
}

// #region log-rotate
/* The live file is full: shift the old ones up by one name, the live one
 * becomes .1, and a new live file starts. renameat(2) replaces its target
 * at once, so the oldest (.max_file-1) is dropped by the rename onto it;
 * with max-file=1 there is no .1 to keep and the live file is emptied.
 * A reader that has the old live file open (logs -f) reads it to its end,
 * sees that the name now points at another file, and goes on there. */
static int log_rotate(void) {
	char from[320], to[320];
	fsync(json_fd);
	close(json_fd);
	if (max_file == 1) {
		unlinkat(log_dir, log_name, 0);
	} else {
		for (int k = max_file - 1; k >= 1; k--) {
			if (k == 1) snprintf(from, sizeof from, "%s", log_name);
			else snprintf(from, sizeof from, "%s.%d", log_name, k - 1);
			snprintf(to, sizeof to, "%s.%d", log_name, k);
			if (renameat(log_dir, from, log_dir, to) < 0 && errno != ENOENT) return -1;
		}
	}
	return open_live() < 0 ? -1 : 0;
}
// #endregion log-rotate

/* One entry, written with one write(2) so that no reader sees half of it. */
static int log_entry(int stream) {
	static char entry[LINE_LIMIT * 6 + 128];
	char t[40];
	timestamp(t);
	size_t n = sprintf(entry, "{\"log\":\"");
	n += json_escape(entry + n, streams[stream].line, streams[stream].len);
	n += sprintf(entry + n, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", streams[stream].name, t);
	streams[stream].len = 0;
	/* An entry is never split across files: rotate before the one that
	 * would take the file past max-size (an entry bigger than max-size
	 * alone gets a file of its own). */
	if (max_size > 0 && log_size > 0 && log_size + (long long)n > max_size && log_rotate() < 0) return -1;
	log_size += n;
	return write_all(json_fd, entry, n);
}

// #region log-lines
/* Docker's log is line by line: an entry per line, its "\n" included. A line
 * that grows to 16 KiB without one goes out as an entry of its own (so one
 * endless line cannot grow the monitor), and so does an unfinished last line
 * when the container ends (log_close). -1 if a write failed. */
int log_output(int stream, const char *data, size_t n) {
	int r = 0;
	if (log_none) return 0;
	unsigned char *line = streams[stream].line;
	size_t *len = &streams[stream].len;
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) + 1 : n;
		if (take > LINE_LIMIT - *len) take = LINE_LIMIT - *len;
		memcpy(line + *len, data, take);
		*len += take;
		data += take;
		n -= take;
		if (line[*len - 1] == '\n' || *len == LINE_LIMIT) r |= log_entry(stream);
	}
	return r;
}
// #endregion log-lines

/* The container's output is over: its unfinished lines are lines too, and
 * all of it goes to the disk before anyone is told the container exited. */
int log_close(void) {
	int r = 0;
	for (int s = 1; s <= 2; s++)
		if (streams[s].len > 0) r |= log_entry(s);
	if (json_fd >= 0 && !log_none && fsync(json_fd) < 0) r = -1;
	return r;
}

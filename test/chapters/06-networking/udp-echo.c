/* A UDP echo server for the chapter 6 tests (busybox has no UDP server):
 * each datagram that reaches port argv[1] goes back to its sender.
 * Compiled static by the test and copied into a container with `cp`. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
	for (;;) {
		char buf[2048];
		struct sockaddr_in from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
		if (n >= 0) sendto(s, buf, n, 0, (struct sockaddr *)&from, len);
	}
}

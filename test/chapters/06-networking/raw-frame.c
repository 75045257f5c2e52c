/* The chapter 6 escape probe's tool (compiled static by the test, copied
 * into a container with `cp`): send ONE UDP datagram as a hand-made
 * Ethernet frame out of IFNAME, to DST-MAC, from SRC-IP to DST-IP:PORT.
 * With CAP_NET_RAW (in Docker's default set) a container can put any
 * frame on its veth; the kernel's routing never sees the packet leave, so
 * a destination of 127.0.0.1 is not "martian" on the way out: only the
 * host's checks on the way in can stop it.
 *
 *   raw-frame IFNAME DST-MAC SRC-IP DST-IP PORT TEXT */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned short checksum(const void *data, int len) {
	const unsigned short *p = data;
	unsigned long sum = 0;
	for (; len > 1; len -= 2) sum += *p++;
	if (len) sum += *(const unsigned char *)p;
	while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
	return (unsigned short)~sum;
}

int main(int argc, char **argv) {
	if (argc != 7) {
		fprintf(stderr, "usage: raw-frame IFNAME DST-MAC SRC-IP DST-IP PORT TEXT\n");
		return 2;
	}
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	if (s < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		perror("ioctl");
		return 1;
	}
	unsigned char frame[1500] = {0};
	struct ether_header *eth = (struct ether_header *)frame;
	unsigned int m[6];
	if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) return 2;
	for (int i = 0; i < 6; i++) eth->ether_dhost[i] = m[i];
	struct ifreq hw = {0};
	strncpy(hw.ifr_name, argv[1], IFNAMSIZ - 1);
	ioctl(s, SIOCGIFHWADDR, &hw);
	memcpy(eth->ether_shost, hw.ifr_hwaddr.sa_data, 6);
	eth->ether_type = htons(ETH_P_IP);
	size_t text = strlen(argv[6]);
	struct iphdr *ip = (struct iphdr *)(frame + sizeof *eth);
	struct udphdr *udp = (struct udphdr *)((unsigned char *)ip + sizeof *ip);
	memcpy((unsigned char *)udp + sizeof *udp, argv[6], text);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(sizeof *ip + sizeof *udp + text);
	inet_pton(AF_INET, argv[3], &ip->saddr);
	inet_pton(AF_INET, argv[4], &ip->daddr);
	ip->check = checksum(ip, sizeof *ip);
	udp->source = htons(40000);
	udp->dest = htons(atoi(argv[5]));
	udp->len = htons(sizeof *udp + text);
	udp->check = 0; /* none: allowed for UDP over IPv4 */
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = 0, .sll_halen = 6 };
	struct ifreq idx = {0};
	strncpy(idx.ifr_name, argv[1], IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFINDEX, &idx) < 0) {
		perror("SIOCGIFINDEX");
		return 1;
	}
	to.sll_ifindex = idx.ifr_ifindex;
	memcpy(to.sll_addr, eth->ether_dhost, 6);
	size_t len = sizeof *eth + sizeof *ip + sizeof *udp + text;
	for (int i = 0; i < 3; i++) {
		if (sendto(s, frame, len, 0, (struct sockaddr *)&to, sizeof to) < 0) {
			perror("sendto");
			return 1;
		}
		usleep(100000);
	}
	return 0;
}

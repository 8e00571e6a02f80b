/*
 * berth-agent: The guest's network: loopback, and START's interfaces, addresses and routes.
 */
#define _GNU_SOURCE
#include "agent.h"

/* Split `a/b/c...` in place into at most n parts; returns how many there were. */
static int split_slash(char *value, char **parts, int n) {
  int count = 0;
  parts[count++] = value;
  for (char *p = value; *p && count < n; p++)
    if (*p == '/') { *p = '\0'; parts[count++] = p + 1; }
  return count;
}

static int ifreq_ioctl(int fd, unsigned long request, struct ifreq *ifr, const char *name) {
  snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
  return ioctl(fd, request, ifr);
}

static void set_inet(struct sockaddr *sa, in_addr_t address) {
  struct sockaddr_in *in = (struct sockaddr_in *)sa;
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = address;
}

static in_addr_t prefix_mask(int prefix) {
  return prefix <= 0 ? 0 : htonl(prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1));
}

/* The container's interfaces (PROTOCOL.md `iface`, `addr`, `route`): the virtio-net device with
 * the host interface's MAC takes its name and MTU and comes up; then the addresses (the prefix
 * routes follow from them), then the routes through gateways. Plain ioctls: no netlink needed
 * for one address per label. Returns -1 with errno and *what set. */
int configure_network(struct spec *s, const char **what) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { *what = "socket"; return -1; }
  struct ifreq ifr;
  char *ifnames[8];
  for (int i = 0; i < s->nifaces; i++) {
    char *p[4];
    *what = s->ifaces[i];
    int nparts = split_slash(s->ifaces[i], p, 4);
    if (nparts < 3) { errno = EINVAL; goto fail; }
    *what = ifnames[i] = p[1];
    /* The device is found by the MAC it has now: the container's, or in a clone of a template
     * the template's (the 4th part), which then takes the container's. */
    unsigned char mac[6], current[6];
    if (sscanf(p[0], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) { errno = EINVAL; goto fail; }
    memcpy(current, mac, 6);
    if (nparts == 4 && sscanf(p[3], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &current[0], &current[1], &current[2], &current[3], &current[4], &current[5]) != 6) { errno = EINVAL; goto fail; }
    struct if_nameindex *names = if_nameindex(), *found = NULL;
    for (struct if_nameindex *n = names; n && n->if_index; n++) {
      memset(&ifr, 0, sizeof ifr);
      if (ifreq_ioctl(fd, SIOCGIFHWADDR, &ifr, n->if_name) < 0) continue;
      /* A VM planned as a clone that was booted cold after all has the container's MAC already. */
      if (!memcmp(ifr.ifr_hwaddr.sa_data, current, 6) || !memcmp(ifr.ifr_hwaddr.sa_data, mac, 6)) {
        found = n;
        memcpy(current, ifr.ifr_hwaddr.sa_data, 6);
        break;
      }
    }
    if (!found) { if (names) if_freenameindex(names); errno = ENODEV; goto fail; }
    if (memcmp(current, mac, 6)) {
      memset(&ifr, 0, sizeof ifr);
      ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
      memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
      if (ifreq_ioctl(fd, SIOCSIFHWADDR, &ifr, found->if_name) < 0) { if_freenameindex(names); goto fail; }
    }
    if (strcmp(found->if_name, p[1])) {
      memset(&ifr, 0, sizeof ifr);
      snprintf(ifr.ifr_newname, IFNAMSIZ, "%s", p[1]);
      if (ifreq_ioctl(fd, SIOCSIFNAME, &ifr, found->if_name) < 0) { if_freenameindex(names); goto fail; }
    }
    if_freenameindex(names);
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_mtu = atoi(p[2]);
    if (ifr.ifr_mtu > 0 && ifreq_ioctl(fd, SIOCSIFMTU, &ifr, p[1]) < 0) goto fail;
    memset(&ifr, 0, sizeof ifr);
    if (ifreq_ioctl(fd, SIOCGIFFLAGS, &ifr, p[1]) < 0) goto fail;
    ifr.ifr_flags |= IFF_UP;
    if (ifreq_ioctl(fd, SIOCSIFFLAGS, &ifr, p[1]) < 0) goto fail;
  }
  /* Until the interface has its carrier its qdisc drops every packet: a process
   * that starts at once with a DNS query would lose it. With the carrier there when it comes up,
   * the kernel activates the qdisc at once; IFF_RUNNING (the operational state) follows only
   * when the link watcher runs, up to a second later, and is not needed for traffic. */
  for (int i = 0; i < s->nifaces; i++) {
    /* IFF_LOWER_UP does not fit SIOCGIFFLAGS's 16 bits: sysfs has the carrier. */
    char carrier_path[64];
    snprintf(carrier_path, sizeof carrier_path, "/sys/class/net/%s/carrier", ifnames[i]);
    for (int tries = 0; tries < 600; tries++) {
      char value[4] = "";
      int cfd = open(carrier_path, O_RDONLY | O_CLOEXEC);
      if (cfd < 0) break;
      ssize_t n = read(cfd, value, sizeof value - 1);
      close(cfd);
      if (n <= 0 || value[0] == '1') break;
      usleep(5000);
    }
  }
  for (int i = 0; i < s->naddrs; i++) {
    char *p[3], label[IFNAMSIZ];
    *what = s->addrs[i];
    if (split_slash(s->addrs[i], p, 3) != 3) { errno = EINVAL; goto fail; }
    *what = p[1];
    /* A second address on one interface is an alias label, eth0:1. */
    int earlier = 0;
    for (int j = 0; j < i; j++) if (!strcmp(s->addrs[j], p[0])) earlier++;
    if (earlier) snprintf(label, sizeof label, "%s:%d", p[0], earlier); else snprintf(label, sizeof label, "%s", p[0]);
    struct in_addr address;
    if (inet_pton(AF_INET, p[1], &address) != 1) { errno = EINVAL; goto fail; }
    memset(&ifr, 0, sizeof ifr);
    set_inet(&ifr.ifr_addr, address.s_addr);
    if (ifreq_ioctl(fd, SIOCSIFADDR, &ifr, label) < 0) goto fail;
    memset(&ifr, 0, sizeof ifr);
    set_inet(&ifr.ifr_netmask, prefix_mask(atoi(p[2])));
    if (ifreq_ioctl(fd, SIOCSIFNETMASK, &ifr, label) < 0) goto fail;
  }
  for (int i = 0; i < s->nroutes; i++) {
    char *p[4];
    *what = s->routes[i];
    if (split_slash(s->routes[i], p, 4) != 4) { errno = EINVAL; goto fail; }
    *what = p[0];
    struct in_addr dst, gw;
    if (inet_pton(AF_INET, p[0], &dst) != 1 || inet_pton(AF_INET, p[2], &gw) != 1) { errno = EINVAL; goto fail; }
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    int prefix = atoi(p[1]);
    set_inet(&rt.rt_dst, dst.s_addr & prefix_mask(prefix));
    set_inet(&rt.rt_genmask, prefix_mask(prefix));
    set_inet(&rt.rt_gateway, gw.s_addr);
    rt.rt_flags = RTF_UP | RTF_GATEWAY | (prefix == 32 ? RTF_HOST : 0);
    rt.rt_dev = p[3];
    if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST) goto fail;
  }
  close(fd);
  return 0;
fail:
  { int saved = errno; close(fd); errno = saved; }
  return -1;
}

/* The guest's lo, as a process container's network namespace has it. */
void bring_up_loopback(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
}

/* linux.netDevices (runtime-spec 1.3, "Network Devices"): host interfaces
 * moved into the container's network namespace, renamed, with their
 * permanent global addresses and set up.
 *
 * All of it is rtnetlink, from the parent, once the init's namespaces
 * exist: a move (RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_IFNAME, which the
 * kernel does as one step) from a socket in our namespace, then the
 * addresses and the "up" from a socket opened inside the container's.  A
 * move drops the interface's addresses, so they are read first.  The spec
 * forbids moving the interface back: when the namespace goes, the kernel
 * returns physical interfaces to the initial namespace and destroys
 * virtual ones. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "netdev.h"
#include "util.h"

#define NL_BUFSIZE 16384
#define MAX_ADDRS 64

/* An address to put back after the move. */
struct saved_addr
{
  struct ifaddrmsg ifa;
  unsigned char local[16], address[16], broadcast[4];
  size_t len; /* of local and address: 4 or 16 */
  bool has_local, has_address, has_broadcast;
};

struct nl_request
{
  struct nlmsghdr nh;
  union
  {
    struct ifinfomsg ifi;
    struct ifaddrmsg ifa;
  };
  char attrs[256];
};

/* ---- rtnetlink ---- */

static void
add_attr(struct nl_request *r, unsigned short type, const void *data, size_t len)
{
  struct rtattr *rta = (struct rtattr *)((char *)&r->nh + NLMSG_ALIGN(r->nh.nlmsg_len));

  rta->rta_type = type;
  rta->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(rta), data, len);
  r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static int
nl_open(void)
{
  return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

/* Send a request asking for an acknowledgement; 0 or -errno. */
static int
nl_transact(int fd, struct nl_request *r)
{
  char buf[NL_BUFSIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
  ssize_t n;

  r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
    return -errno;
  for (;;)
    {
      n = recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
        if (h->nlmsg_type == NLMSG_ERROR)
          return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
}

/* The permanent addresses of global scope of interface `index`: what the
 * spec says a move keeps. */
static int
read_addrs(int fd, int index, struct saved_addr *out, size_t *n_out)
{
  struct nl_request r = { .nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
                                  .nlmsg_type = RTM_GETADDR,
                                  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP } };
  char buf[NL_BUFSIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
  size_t count = 0;

  if (send(fd, &r, r.nh.nlmsg_len, 0) < 0)
    return -errno;
  for (;;)
    {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
        {
          struct ifaddrmsg *ifa = NLMSG_DATA(h);
          struct saved_addr a = { .ifa = *ifa };
          unsigned int flags = ifa->ifa_flags;
          int len = (int)IFA_PAYLOAD(h);

          if (h->nlmsg_type == NLMSG_DONE)
            {
              *n_out = count;
              return 0;
            }
          if (h->nlmsg_type == NLMSG_ERROR)
            return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
          if (h->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != index
              || ifa->ifa_scope != RT_SCOPE_UNIVERSE
              || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
            continue;
          a.len = ifa->ifa_family == AF_INET ? 4 : 16;
          for (struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
            {
              size_t plen = RTA_PAYLOAD(rta);
              if (rta->rta_type == IFA_FLAGS && plen >= 4)
                memcpy(&flags, RTA_DATA(rta), 4);
              else if (rta->rta_type == IFA_LOCAL && plen == a.len)
                a.has_local = true, memcpy(a.local, RTA_DATA(rta), plen);
              else if (rta->rta_type == IFA_ADDRESS && plen == a.len)
                a.has_address = true, memcpy(a.address, RTA_DATA(rta), plen);
              else if (rta->rta_type == IFA_BROADCAST && plen == 4)
                a.has_broadcast = true, memcpy(a.broadcast, RTA_DATA(rta), plen);
            }
          if ((flags & IFA_F_PERMANENT) && count < MAX_ADDRS)
            out[count++] = a;
        }
    }
}

static int
add_addr(int fd, int index, const struct saved_addr *a)
{
  struct nl_request r = { .nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
                                  .nlmsg_type = RTM_NEWADDR,
                                  .nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL } };

  r.ifa = a->ifa;
  r.ifa.ifa_index = (unsigned int)index;
  r.ifa.ifa_flags &= IFA_F_NODAD | IFA_F_NOPREFIXROUTE;
  if (a->has_local)
    add_attr(&r, IFA_LOCAL, a->local, a->len);
  if (a->has_address)
    add_attr(&r, IFA_ADDRESS, a->address, a->len);
  if (a->has_broadcast)
    add_attr(&r, IFA_BROADCAST, a->broadcast, 4);
  return nl_transact(fd, &r);
}

/* Move interface `index` into the namespace `nsfd`, named `name`. */
static int
move_link(int fd, int index, int nsfd, const char *name)
{
  struct nl_request r
      = { .nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_NEWLINK },
          .ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index } };
  uint32_t ns = (uint32_t)nsfd;

  add_attr(&r, IFLA_NET_NS_FD, &ns, sizeof ns);
  add_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  return nl_transact(fd, &r);
}

static int
set_up(int fd, int index)
{
  struct nl_request r
      = { .nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_NEWLINK },
          .ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP } };
  return nl_transact(fd, &r);
}

/* The index of `name` in the namespace of `fd`; 0 when there is none. */
static int
link_index(int fd, const char *name)
{
  struct nl_request r = { .nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                                  .nlmsg_type = RTM_GETLINK,
                                  .nlmsg_flags = NLM_F_REQUEST } };
  char buf[NL_BUFSIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
  ssize_t n;

  add_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  if (send(fd, &r, r.nh.nlmsg_len, 0) < 0)
    return 0;
  do
    n = recv(fd, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; n > 0 && NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
    if (h->nlmsg_type == RTM_NEWLINK)
      return ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
  return 0;
}

/* A route netlink socket inside the namespace `nsfd`: sockets belong to the
 * namespace they were made in, so enter it for the socket() call only. */
static int
socket_in_netns(int nsfd, struct oci_error **err)
{
  cleanup_close int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int fd;

  if (self < 0)
    return oci_error_errno(err, "linux.netDevices: opening our network namespace");
  if (setns(nsfd, CLONE_NEWNET) < 0)
    return oci_error_errno(err, "linux.netDevices: entering the container's network namespace");
  fd = nl_open();
  if (setns(self, CLONE_NEWNET) < 0)
    {
      /* Everything after this would act in the container's namespace, and
       * a move of our own namespace back can only fail if the kernel is
       * out of memory: stop here. */
      perror("ocirt: linux.netDevices: returning to our network namespace");
      abort();
    }
  if (fd < 0)
    return oci_error_errno(err, "linux.netDevices: netlink socket in the container's network namespace");
  return fd;
}

/* ---- entry point ---- */

static int
move_one(int host, int inner, int nsfd, const struct oci_net_device *d, struct oci_error **err)
{
  const char *name = d->name && d->name[0] ? d->name : d->host_name;
  struct saved_addr addrs[MAX_ADDRS];
  size_t n_addrs = 0;
  int index, new_index, rc;

  index = (int)if_nametoindex(d->host_name);
  if (index == 0)
    return oci_error_set(err, 0, "linux.netDevices.%s: no such network interface on the host", d->host_name);
  rc = read_addrs(host, index, addrs, &n_addrs);
  if (rc < 0)
    return oci_error_set(err, -rc, "linux.netDevices.%s: reading its addresses", d->host_name);
  /* Checked first: the kernel moves the interface before it renames it,
   * so a name in use would fail only once the interface is gone from the
   * host, to die with the container's namespace. */
  if (!strchr(name, '%') && link_index(inner, name) != 0)
    return oci_error_set(err, 0,
                         "linux.netDevices.%s: `%s` already exists in the container's network namespace",
                         d->host_name, name);
  rc = move_link(host, index, nsfd, name);
  if (rc < 0)
    return oci_error_set(err, -rc,
                         "linux.netDevices.%s: moving it into the container's network namespace as `%s`",
                         d->host_name, name);
  /* A template ("eth%d") is named by the kernel; the interface keeps its
   * index where the new namespace has it free, as a fresh one does. */
  new_index = strchr(name, '%') ? index : link_index(inner, name);
  if (new_index == 0)
    return oci_error_set(err, 0, "linux.netDevices.%s: `%s` not found after the move", d->host_name, name);
  for (size_t i = 0; i < n_addrs; i++)
    {
      rc = add_addr(inner, new_index, &addrs[i]);
      if (rc < 0 && rc != -EEXIST)
        return oci_error_set(err, -rc, "linux.netDevices.%s: restoring an address in the container",
                             d->host_name);
    }
  rc = set_up(inner, new_index);
  if (rc < 0)
    return oci_error_set(err, -rc, "linux.netDevices.%s: setting `%s` up", d->host_name, name);
  return 0;
}

int
rt_netdev_move_all(const struct rt_context *ctx, const struct oci_linux *l, pid_t pid, struct oci_error **err)
{
  cleanup_free char *path = NULL;
  cleanup_close int nsfd = -1, host = -1, inner = -1;
  struct stat ours, theirs;

  if (l == NULL || l->net_devices_len == 0)
    return 0;
  path = xasprintf("/proc/%d/ns/net", (int)pid);
  nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return oci_error_errno(err, "linux.netDevices: opening the container's network namespace");
  if (stat("/proc/self/ns/net", &ours) < 0 || fstat(nsfd, &theirs) < 0)
    return oci_error_errno(err, "linux.netDevices: comparing network namespaces");
  if (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)
    return oci_error_set(err, 0, "linux.netDevices: the container shares the runtime's network namespace");
  host = nl_open();
  if (host < 0)
    return oci_error_errno(err, "linux.netDevices: netlink socket");
  inner = socket_in_netns(nsfd, err);
  if (inner < 0)
    return -1;
  for (size_t i = 0; i < l->net_devices_len; i++)
    {
      const struct oci_net_device *d = &l->net_devices[i];
      rt_debug(ctx, "netDevices: moving %s into the container as %s", d->host_name,
               d->name && d->name[0] ? d->name : d->host_name);
      if (move_one(host, inner, nsfd, d, err) < 0)
        return -1;
    }
  return 0;
}

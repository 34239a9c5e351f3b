// Copyright 2026 The libdiego Authors.

#include "netlink.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "diego/base/status_macros.h"
#include "posix_fd.h"

namespace diego::garden {
namespace {

constexpr size_t kRecvBufferSize = 64 * 1024;

size_t Align(size_t len) { return NLMSG_ALIGN(len); }

absl::Status KernelError(const std::string& what, int err, const std::string& ext_ack) {
  std::string msg = absl::StrCat("netlink: ", what, ": ", ErrnoText(err));
  if (!ext_ack.empty()) {
    absl::StrAppend(&msg, " (", ext_ack, ")");
  }
  switch (err) {
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENODEV:
    case ENOENT:
      return absl::NotFoundError(msg);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// The extended-ack message of an NLMSG_ERROR (NETLINK_CAP_ACK set, so the
// request's payload is not echoed and the TLVs follow the header).
std::string ExtAck(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) {
    return "";
  }
  size_t off = NLMSG_HDRLEN + Align(sizeof(nlmsgerr));
  const char* base = reinterpret_cast<const char*>(h);
  while (off + sizeof(nlattr) <= h->nlmsg_len) {
    const auto* a = reinterpret_cast<const nlattr*>(base + off);
    if (a->nla_len < sizeof(nlattr) || off + a->nla_len > h->nlmsg_len) {
      break;
    }
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* s = base + off + NLA_HDRLEN;
      return std::string(s, strnlen(s, a->nla_len - NLA_HDRLEN));
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

}  // namespace

absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text) {
  in_addr addr{};
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("invalid IPv4 address \"", s, "\""));
  }
  return ntohl(addr.s_addr);
}

std::string FormatIpv4(uint32_t ip) {
  return absl::StrCat(ip >> 24, ".", (ip >> 16) & 0xff, ".", (ip >> 8) & 0xff, ".", ip & 0xff);
}

MacAddress MacForIpv4(uint32_t ip) {
  return {0x02, 0x5a, static_cast<uint8_t>(ip >> 24), static_cast<uint8_t>(ip >> 16),
          static_cast<uint8_t>(ip >> 8), static_cast<uint8_t>(ip)};
}

// --- NetlinkMessage ---------------------------------------------------------

NetlinkMessage::NetlinkMessage(uint16_t type, uint16_t flags, const void* family_header,
                               size_t header_len) {
  buf_.resize(NLMSG_HDRLEN);
  auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
  h->nlmsg_type = type;
  h->nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
  AddRaw(family_header, header_len);
}

void NetlinkMessage::AddRaw(const void* data, size_t len) {
  size_t off = buf_.size();
  buf_.resize(off + Align(len), 0);
  if (len > 0) {
    std::memcpy(buf_.data() + off, data, len);
  }
}

void NetlinkMessage::AddAttr(uint16_t type, const void* data, size_t len) {
  nlattr a{};
  a.nla_type = type;
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  size_t off = buf_.size();
  buf_.resize(off + NLA_HDRLEN + NLA_ALIGN(len), 0);
  std::memcpy(buf_.data() + off, &a, sizeof(a));
  if (len > 0) {
    std::memcpy(buf_.data() + off + NLA_HDRLEN, data, len);
  }
}

void NetlinkMessage::AddString(uint16_t type, absl::string_view value) {
  std::string s(value);
  AddAttr(type, s.c_str(), s.size() + 1);
}

void NetlinkMessage::AddIpv4(uint16_t type, uint32_t ip) {
  uint32_t be = htonl(ip);
  AddAttr(type, &be, sizeof(be));
}

size_t NetlinkMessage::BeginNested(uint16_t type) {
  size_t off = buf_.size();
  AddAttr(static_cast<uint16_t>(type | NLA_F_NESTED), nullptr, 0);
  return off;
}

void NetlinkMessage::EndNested(size_t token) {
  auto* a = reinterpret_cast<nlattr*>(buf_.data() + token);
  a->nla_len = static_cast<uint16_t>(buf_.size() - token);
}

const std::vector<char>& NetlinkMessage::Finish(uint32_t seq) {
  auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
  h->nlmsg_len = static_cast<uint32_t>(buf_.size());
  h->nlmsg_seq = seq;
  return buf_;
}

// --- NetlinkSocket ----------------------------------------------------------

namespace {

absl::StatusOr<int> OpenRouteSocketFd() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("netlink: socket(AF_NETLINK, NETLINK_ROUTE): ", ErrnoText(errno)));
  }
  int one = 1;
  // Best effort: error strings from the kernel, and no echo of requests.
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    int err = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("netlink: bind: ", ErrnoText(err)));
  }
  return fd;
}

}  // namespace

absl::StatusOr<NetlinkSocket> NetlinkSocket::Open() {
  absl::StatusOr<int> fd = OpenRouteSocketFd();
  if (!fd.ok()) {
    return fd.status();
  }
  return NetlinkSocket(*fd);
}

std::thread NetlinkSocket::OpenInNetnsAsync(int netns_fd, absl::StatusOr<NetlinkSocket>* out) {
  *out = absl::InternalError("netlink: netns thread did not run");
  // setns(CLONE_NEWNET) only affects the calling thread: do it on a thread of
  // its own, which then exits. The socket keeps the namespace it was opened in.
  return std::thread([netns_fd, out] {
    if (setns(netns_fd, CLONE_NEWNET) != 0) {
      *out = absl::InternalError(
          absl::StrCat("netlink: setns(CLONE_NEWNET): ", ErrnoText(errno)));
      return;
    }
    absl::StatusOr<int> fd = OpenRouteSocketFd();
    if (!fd.ok()) {
      *out = fd.status();
      return;
    }
    *out = NetlinkSocket(*fd);
  });
}

std::thread RunInNetnsAsync(int netns_fd, std::function<absl::Status()> fn, absl::Status* out) {
  *out = absl::InternalError("netns thread did not run");
  return std::thread([netns_fd, fn = std::move(fn), out] {
    if (setns(netns_fd, CLONE_NEWNET) != 0) {
      *out = absl::InternalError(absl::StrCat("setns(CLONE_NEWNET): ", ErrnoText(errno)));
      return;
    }
    *out = fn();
  });
}

absl::StatusOr<NetlinkSocket> NetlinkSocket::OpenInNetns(int netns_fd) {
  absl::StatusOr<NetlinkSocket> result = absl::InternalError("unset");
  OpenInNetnsAsync(netns_fd, &result).join();
  return result;
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), seq_(other.seq_) {}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    seq_ = other.seq_;
  }
  return *this;
}

NetlinkSocket::~NetlinkSocket() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

absl::Status NetlinkSocket::SendAll(std::vector<NetlinkMessage>& msgs, uint32_t* first_seq) {
  *first_seq = seq_;
  std::vector<iovec> iov;
  iov.reserve(msgs.size());
  for (NetlinkMessage& m : msgs) {
    const std::vector<char>& bytes = m.Finish(seq_++);
    iov.push_back({const_cast<char*>(bytes.data()), bytes.size()});
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr mh{};
  mh.msg_name = &kernel;
  mh.msg_namelen = sizeof(kernel);
  mh.msg_iov = iov.data();
  mh.msg_iovlen = iov.size();
  ssize_t n;
  do {
    n = sendmsg(fd_, &mh, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return absl::InternalError(absl::StrCat("netlink: sendmsg (", msgs.front().what(),
                                            "): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::Status NetlinkSocket::ReadAcks(std::vector<NetlinkMessage>& msgs, uint32_t first_seq,
                                     std::vector<std::vector<char>>* data_replies) {
  std::vector<bool> done(msgs.size(), false);
  size_t remaining = msgs.size();
  absl::Status first_error;
  std::vector<char> buf(kRecvBufferSize);
  while (remaining > 0) {
    ssize_t n;
    do {
      n = recv(fd_, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      return absl::InternalError(
          absl::StrCat("netlink: recv (", msgs.front().what(), "): ", ErrnoText(errno)));
    }
    size_t len = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq < first_seq || h->nlmsg_seq >= first_seq + msgs.size()) {
        continue;  // stale or unrelated
      }
      size_t i = h->nlmsg_seq - first_seq;
      if (done[i]) {
        continue;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error != 0 && first_error.ok()) {
          first_error = KernelError(msgs[i].what(), -e->error, ExtAck(h));
        }
        done[i] = true;
        --remaining;
      } else if (h->nlmsg_type == NLMSG_DONE) {
        // End of a dump: its status is the int after the header.
        int status = 0;
        if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
          std::memcpy(&status, NLMSG_DATA(h), sizeof(int));
        }
        if (status < 0 && first_error.ok()) {
          first_error = KernelError(msgs[i].what(), -status, "");
        }
        done[i] = true;
        --remaining;
      } else if (data_replies != nullptr) {
        data_replies->emplace_back(reinterpret_cast<char*>(h),
                                   reinterpret_cast<char*>(h) + h->nlmsg_len);
      }
    }
  }
  return first_error;
}

absl::Status NetlinkSocket::Request(NetlinkMessage& msg) {
  std::vector<NetlinkMessage> msgs;
  msgs.push_back(std::move(msg));
  absl::Status s = Batch(msgs);
  msg = std::move(msgs.front());
  return s;
}

absl::Status NetlinkSocket::Batch(std::vector<NetlinkMessage>& msgs) {
  if (msgs.empty()) {
    return absl::OkStatus();
  }
  return Exchange(msgs, nullptr);
}

absl::Status NetlinkSocket::Exchange(std::vector<NetlinkMessage>& msgs,
                                     std::vector<std::vector<char>>* data_replies) {
  uint32_t first_seq = 0;
  DIEGO_RETURN_IF_ERROR(SendAll(msgs, &first_seq));
  return ReadAcks(msgs, first_seq, data_replies);
}

absl::StatusOr<int> NetlinkSocket::LinkIndex(absl::string_view name) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  std::vector<NetlinkMessage> msgs;
  msgs.emplace_back(RTM_GETLINK, 0, &ifi, sizeof(ifi));
  msgs.back().AddString(IFLA_IFNAME, name);
  uint32_t ext_mask = RTEXT_FILTER_SKIP_STATS;
  msgs.back().AddU32(IFLA_EXT_MASK, ext_mask);
  msgs.back().set_what(absl::StrCat("get link ", std::string(name)));
  // A successful RTM_GETLINK answers with the link, then (NLM_F_ACK) an ack.
  std::vector<std::vector<char>> replies;
  DIEGO_RETURN_IF_ERROR(Exchange(msgs, &replies));
  for (const std::vector<char>& r : replies) {
    const auto* h = reinterpret_cast<const nlmsghdr*>(r.data());
    if (h->nlmsg_type == RTM_NEWLINK) {
      const auto* info = reinterpret_cast<const ifinfomsg*>(NLMSG_DATA(h));
      return info->ifi_index;
    }
  }
  return absl::NotFoundError(absl::StrCat("netlink: no link named ", std::string(name)));
}

absl::StatusOr<std::vector<LinkInfo>> NetlinkSocket::ListLinks() {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  std::vector<NetlinkMessage> msgs;
  msgs.emplace_back(RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
  msgs.back().AddU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  msgs.back().set_what("list links");
  std::vector<std::vector<char>> replies;
  DIEGO_RETURN_IF_ERROR(Exchange(msgs, &replies));
  std::vector<LinkInfo> links;
  for (const std::vector<char>& r : replies) {
    const auto* h = reinterpret_cast<const nlmsghdr*>(r.data());
    if (h->nlmsg_type != RTM_NEWLINK) {
      continue;
    }
    const auto* info = reinterpret_cast<const ifinfomsg*>(NLMSG_DATA(h));
    LinkInfo link;
    link.index = info->ifi_index;
    link.flags = info->ifi_flags;
    int attr_len = static_cast<int>(h->nlmsg_len) - NLMSG_LENGTH(sizeof(ifinfomsg));
    for (auto* a = IFLA_RTA(info); RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
      switch (a->rta_type & NLA_TYPE_MASK) {
        case IFLA_IFNAME:
          link.name = std::string(static_cast<const char*>(RTA_DATA(a)),
                                  strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
          break;
        case IFLA_MASTER:
          std::memcpy(&link.master, RTA_DATA(a), sizeof(uint32_t));
          break;
        case IFLA_LINKINFO: {
          int nested_len = static_cast<int>(RTA_PAYLOAD(a));
          for (auto* n = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(n, nested_len);
               n = RTA_NEXT(n, nested_len)) {
            if ((n->rta_type & NLA_TYPE_MASK) == IFLA_INFO_KIND) {
              link.kind = std::string(
                  static_cast<const char*>(RTA_DATA(n)),
                  strnlen(static_cast<const char*>(RTA_DATA(n)), RTA_PAYLOAD(n)));
            }
          }
          break;
        }
        default:
          break;
      }
    }
    links.push_back(std::move(link));
  }
  return links;
}

// --- Request builders -------------------------------------------------------

NetlinkMessage NewBridgeMessage(absl::string_view name, int mtu, const MacAddress& mac) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  NetlinkMessage m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
  m.AddString(IFLA_IFNAME, name);
  m.AddU32(IFLA_MTU, static_cast<uint32_t>(mtu));
  m.AddAttr(IFLA_ADDRESS, mac.data(), mac.size());
  size_t info = m.BeginNested(IFLA_LINKINFO);
  m.AddString(IFLA_INFO_KIND, "bridge");
  size_t data = m.BeginNested(IFLA_INFO_DATA);
  m.AddU32(IFLA_BR_FORWARD_DELAY, 0);
  m.EndNested(data);
  m.EndNested(info);
  m.set_what(absl::StrCat("create bridge ", std::string(name)));
  return m;
}

NetlinkMessage NewVethMessage(absl::string_view host_name, absl::string_view peer_name, int mtu,
                              int master_index, int peer_netns_fd, const MacAddress& peer_mac) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  NetlinkMessage m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
  m.AddString(IFLA_IFNAME, host_name);
  m.AddU32(IFLA_MTU, static_cast<uint32_t>(mtu));
  if (master_index > 0) {
    m.AddU32(IFLA_MASTER, static_cast<uint32_t>(master_index));
  }
  size_t info = m.BeginNested(IFLA_LINKINFO);
  m.AddString(IFLA_INFO_KIND, "veth");
  size_t data = m.BeginNested(IFLA_INFO_DATA);
  size_t peer = m.BeginNested(VETH_INFO_PEER);
  // The peer cannot be brought up here: veth_open() fails with ENOTCONN
  // until both ends are linked, so the caller sets it up inside the netns.
  ifinfomsg peer_ifi{};
  peer_ifi.ifi_family = AF_UNSPEC;
  m.AddRaw(&peer_ifi, sizeof(peer_ifi));
  m.AddString(IFLA_IFNAME, peer_name);
  m.AddU32(IFLA_MTU, static_cast<uint32_t>(mtu));
  m.AddAttr(IFLA_ADDRESS, peer_mac.data(), peer_mac.size());
  if (peer_netns_fd >= 0) m.AddU32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  m.EndNested(peer);
  m.EndNested(data);
  m.EndNested(info);
  m.set_what(absl::StrCat("create veth ", std::string(host_name), " with peer ",
                          std::string(peer_name), " in netns"));
  return m;
}

NetlinkMessage BridgeFdbMessage(int port_index, const MacAddress& mac) {
  ndmsg nd{};
  nd.ndm_family = AF_BRIDGE;
  nd.ndm_ifindex = port_index;
  nd.ndm_state = NUD_REACHABLE;
  nd.ndm_flags = NTF_MASTER;
  NetlinkMessage m(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &nd, sizeof(nd));
  m.AddAttr(NDA_LLADDR, mac.data(), mac.size());
  m.set_what(absl::StrCat("set bridge fdb entry on port ", port_index));
  return m;
}

NetlinkMessage LinkUpMessage(int index) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  NetlinkMessage m(RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  m.set_what(absl::StrCat("set link ", index, " up"));
  return m;
}

NetlinkMessage DeleteLinkMessage(absl::string_view name) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  NetlinkMessage m(RTM_DELLINK, 0, &ifi, sizeof(ifi));
  m.AddString(IFLA_IFNAME, name);
  m.set_what(absl::StrCat("delete link ", std::string(name)));
  return m;
}

NetlinkMessage NewAddressMessage(int index, uint32_t ip, int prefix_length, bool replace) {
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<uint8_t>(prefix_length);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(index);
  NetlinkMessage m(RTM_NEWADDR, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), &ifa,
                   sizeof(ifa));
  m.AddIpv4(IFA_LOCAL, ip);
  m.AddIpv4(IFA_ADDRESS, ip);
  if (prefix_length < 31) {
    uint32_t mask = prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
    m.AddIpv4(IFA_BROADCAST, ip | ~mask);
  }
  m.set_what(absl::StrCat("add address ", FormatIpv4(ip), "/", prefix_length, " to link ", index));
  return m;
}

NetlinkMessage NewRouteMessage(uint32_t dst, int dst_len, uint32_t gateway, int oif) {
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_dst_len = static_cast<uint8_t>(dst_len);
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = gateway != 0 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rt.rtm_type = RTN_UNICAST;
  NetlinkMessage m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
  if (dst_len > 0) {
    m.AddIpv4(RTA_DST, dst);
  }
  if (gateway != 0) {
    m.AddIpv4(RTA_GATEWAY, gateway);
  }
  m.AddU32(RTA_OIF, static_cast<uint32_t>(oif));
  m.set_what(absl::StrCat("add route ", FormatIpv4(dst), "/", dst_len, " via ",
                          FormatIpv4(gateway), " dev ", oif));
  return m;
}

}  // namespace diego::garden

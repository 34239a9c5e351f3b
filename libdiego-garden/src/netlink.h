// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: netlink.h
// -----------------------------------------------------------------------------
//
// Private (LinuxBackend networking): a minimal rtnetlink client over a raw
// NETLINK_ROUTE socket, just what container networking needs: links
// (bridge, veth with its peer created directly inside another network
// namespace, up, delete, list), IPv4 addresses and IPv4 routes. No shelling
// out to `ip`.
//
// A `NetlinkSocket` talks to the network namespace it was opened in: `Open()`
// uses the calling thread's namespace, `OpenInNetns(fd)` the namespace of an
// nsfs file descriptor (/proc/<pid>/ns/net); the socket stays bound to that
// namespace for its whole life, whatever thread uses it later.
//
// Requests are acknowledged one by one (`Request`) or pipelined (`Batch`: all
// messages in one sendmsg, then all acks read, which saves round trips on the
// container-create path). Errors carry the operation, the kernel's errno text
// and, when the kernel sent one, its extended-ack message.
//
// IPv4 addresses are `uint32_t` in host byte order throughout.
//
// Thread-compatible: one thread uses a socket at a time.

#ifndef DIEGO_GARDEN_NETLINK_H_
#define DIEGO_GARDEN_NETLINK_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace diego::garden {

// Parses a dotted quad. InvalidArgument naming `text` otherwise.
absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text);
// Formats a host-order IPv4 address as a dotted quad.
std::string FormatIpv4(uint32_t ip);

// One rtnetlink request under construction: a header, a fixed-size family
// struct and attributes (nested ones through BeginNested/EndNested).
class NetlinkMessage {
 public:
  // `type` is RTM_*, `flags` NLM_F_* (NLM_F_REQUEST and NLM_F_ACK are added).
  NetlinkMessage(uint16_t type, uint16_t flags, const void* family_header, size_t header_len);

  void AddAttr(uint16_t type, const void* data, size_t len);
  void AddU32(uint16_t type, uint32_t value) { AddAttr(type, &value, sizeof(value)); }
  // A NUL-terminated string attribute.
  void AddString(uint16_t type, absl::string_view value);
  // IPv4 address in network byte order.
  void AddIpv4(uint16_t type, uint32_t ip);
  // Raw bytes with no attribute header (e.g. the ifinfomsg of a veth peer).
  void AddRaw(const void* data, size_t len);
  // Returns a token for EndNested.
  size_t BeginNested(uint16_t type);
  void EndNested(size_t token);

  // Sets the sequence number and returns the finished bytes.
  const std::vector<char>& Finish(uint32_t seq);
  // What the request does, for error messages ("create veth dgn1-0").
  void set_what(std::string what) { what_ = std::move(what); }
  const std::string& what() const { return what_; }

 private:
  std::vector<char> buf_;
  std::string what_;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // "veth", "bridge", ... ("" for plain devices)
  int master = 0;    // index of the bridge it is a port of, 0 if none
  unsigned flags = 0;
};

class NetlinkSocket {
 public:
  // A socket in the calling thread's network namespace.
  static absl::StatusOr<NetlinkSocket> Open();
  // A socket in the namespace of `netns_fd` (an open /proc/<pid>/ns/net):
  // a short-lived thread setns()es into it and opens the socket, so the
  // calling thread's namespace never changes.
  static absl::StatusOr<NetlinkSocket> OpenInNetns(int netns_fd);
  // As OpenInNetns, without waiting: starts the thread and returns it; `*out`
  // holds the result once the caller has joined it (so the caller can do
  // other work, e.g. create the veth, meanwhile). `netns_fd` must stay open
  // until then.
  static std::thread OpenInNetnsAsync(int netns_fd, absl::StatusOr<NetlinkSocket>* out);
  // The file descriptor (for use with sockets opened next to it).
  int fd() const { return fd_; }

  NetlinkSocket(NetlinkSocket&& other) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&& other) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  ~NetlinkSocket();

  // Sends `msg` and waits for its ack. The kernel's error (errno) is mapped
  // to a Status: EEXIST -> AlreadyExists, ENODEV/ENOENT -> NotFound, others
  // -> Internal; the message names msg.what(), the errno text and the
  // kernel's extended ack.
  absl::Status Request(NetlinkMessage& msg);
  // Sends all messages in one sendmsg and reads every ack; returns the first
  // error (all requests are still processed by the kernel in order).
  absl::Status Batch(std::vector<NetlinkMessage>& msgs);

  // Interface index of `name`; NotFound when there is none.
  absl::StatusOr<int> LinkIndex(absl::string_view name);
  // All links (RTM_GETLINK dump).
  absl::StatusOr<std::vector<LinkInfo>> ListLinks();

 private:
  explicit NetlinkSocket(int fd) : fd_(fd) {}
  absl::Status SendAll(std::vector<NetlinkMessage>& msgs, uint32_t* first_seq);
  // Reads acks for seqs [first, first+count); calls on_data for data replies.
  absl::Status ReadAcks(std::vector<NetlinkMessage>& msgs, uint32_t first_seq,
                        std::vector<std::vector<char>>* data_replies);
  // SendAll, then ReadAcks: data replies (may be null) get the answers.
  absl::Status Exchange(std::vector<NetlinkMessage>& msgs,
                        std::vector<std::vector<char>>* data_replies);

  int fd_ = -1;
  uint32_t seq_ = 1;
};

// Runs `fn` on a new thread that has setns()ed into `netns_fd` (the calling
// thread's namespace never changes); `*out` holds fn's status, or the setns
// error, once the caller has joined the returned thread. Sockets `fn` opens
// stay bound to that namespace.
std::thread RunInNetnsAsync(int netns_fd, std::function<absl::Status()> fn, absl::Status* out);

// --- Request builders -------------------------------------------------------

using MacAddress = std::array<uint8_t, 6>;

// A locally administered unicast MAC derived from an IPv4 address
// (02:5a:a:b:c:d), so a reused container IP keeps its MAC and neighbour
// caches stay valid.
MacAddress MacForIpv4(uint32_t ip);

// RTM_NEWLINK bridge `name`, up, with a fixed MAC (a bridge whose MAC is not
// set follows its ports' MACs, which would invalidate containers' ARP
// caches), NLM_F_EXCL (AlreadyExists when it is there).
NetlinkMessage NewBridgeMessage(absl::string_view name, int mtu, const MacAddress& mac);

// RTM_NEWLINK veth `host_name` (up, port of `master_index` if not 0) whose
// peer `peer_name` is created directly inside the namespace `peer_netns_fd`
// (MAC `peer_mac`; down: bring it up from inside the netns), so nothing is
// ever moved between namespaces.
NetlinkMessage NewVethMessage(absl::string_view host_name, absl::string_view peer_name, int mtu,
                              int master_index, int peer_netns_fd, const MacAddress& peer_mac);

// RTM_NEWNEIGH (AF_BRIDGE, NTF_MASTER, replace): the bridge forwards frames
// for `mac` to its port `port_index` (a dynamic entry: it ages and goes away
// with the port).
NetlinkMessage BridgeFdbMessage(int port_index, const MacAddress& mac);

// RTM_NEWLINK on an existing link: up.
NetlinkMessage LinkUpMessage(int index);
// RTM_DELLINK by name.
NetlinkMessage DeleteLinkMessage(absl::string_view name);
// RTM_NEWADDR ip/prefix (with broadcast) on `index`. `replace` makes it
// idempotent (NLM_F_REPLACE) instead of NLM_F_EXCL.
NetlinkMessage NewAddressMessage(int index, uint32_t ip, int prefix_length, bool replace);
// RTM_NEWROUTE dst/dst_len via `gateway` (0 = directly connected) out of
// `oif`, main table. dst_len 0 is the default route.
NetlinkMessage NewRouteMessage(uint32_t dst, int dst_len, uint32_t gateway, int oif);

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_NETLINK_H_

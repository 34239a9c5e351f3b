// Copyright 2026 The libdiego Authors.

#include "init_protocol.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace diego::garden::init_protocol {
namespace {

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void U16(uint16_t v) { Fixed(v, 2); }
  void U32(uint32_t v) { Fixed(v, 4); }
  void I32(int32_t v) { Fixed(static_cast<uint32_t>(v), 4); }
  void U64(uint64_t v) { Fixed(v, 8); }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void StrList(const std::vector<std::string>& list) {
    U32(static_cast<uint32_t>(list.size()));
    for (const auto& s : list) Str(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Fixed(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  bool U8(uint8_t* v) { return Unsigned(v); }
  bool Bool(bool* v) {
    uint8_t x;
    if (!U8(&x) || x > 1) return false;
    *v = x == 1;
    return true;
  }
  bool U16(uint16_t* v) { return Unsigned(v); }
  bool U32(uint32_t* v) { return Unsigned(v); }
  bool I32(int32_t* v) {
    uint32_t x;
    if (!U32(&x)) return false;
    *v = static_cast<int32_t>(x);
    return true;
  }
  bool U64(uint64_t* v) { return Fixed(v, 8); }
  bool Str(std::string* s) {
    uint32_t n;
    if (!U32(&n) || n > in_.size() - pos_) return false;
    s->assign(in_, pos_, n);
    pos_ += n;
    return true;
  }
  bool Count(uint32_t* n) {
    // Every item takes at least one byte, which bounds a hostile count.
    return U32(n) && *n <= in_.size() - pos_;
  }
  bool StrList(std::vector<std::string>* list) {
    uint32_t n;
    if (!Count(&n)) return false;
    list->resize(n);
    for (auto& s : *list) {
      if (!Str(&s)) return false;
    }
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  // A little-endian unsigned integer of T's size.
  template <typename T>
  bool Unsigned(T* v) {
    uint64_t x;
    if (!Fixed(&x, sizeof(T))) return false;
    *v = static_cast<T>(x);
    return true;
  }
  bool Fixed(uint64_t* v, int bytes) {
    if (in_.size() - pos_ < static_cast<size_t>(bytes)) return false;
    uint64_t x = 0;
    for (int i = 0; i < bytes; ++i) {
      x |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += bytes;
    *v = x;
    return true;
  }
  const std::string& in_;
  size_t pos_ = 0;
};

void EncodeConfig(const Config& c, Writer& w) {
  w.Str(c.hostname);
  w.Str(c.rootfs);
  w.Str(c.socket_path);
  w.Bool(c.privileged);
  w.U32(c.uid_map_start);
  w.U32(c.uid_map_length);
  w.U32(static_cast<uint32_t>(c.bind_mounts.size()));
  for (const auto& b : c.bind_mounts) {
    w.Str(b.src);
    w.Str(b.dst);
    w.Bool(b.read_only);
    w.Bool(b.from_container);
  }
  w.StrList(c.cgroup_procs_files);
  w.Bool(c.write_hosts);
  w.Str(c.hosts);
  w.Bool(c.write_resolv_conf);
  w.Str(c.resolv_conf);
}

bool DecodeConfig(Reader& r, Config* c) {
  uint32_t n;
  if (!r.Str(&c->hostname) || !r.Str(&c->rootfs) || !r.Str(&c->socket_path) ||
      !r.Bool(&c->privileged) || !r.U32(&c->uid_map_start) || !r.U32(&c->uid_map_length) ||
      !r.Count(&n)) {
    return false;
  }
  c->bind_mounts.resize(n);
  for (auto& b : c->bind_mounts) {
    if (!r.Str(&b.src) || !r.Str(&b.dst) || !r.Bool(&b.read_only) || !r.Bool(&b.from_container)) {
      return false;
    }
  }
  return r.StrList(&c->cgroup_procs_files) && r.Bool(&c->write_hosts) && r.Str(&c->hosts) &&
         r.Bool(&c->write_resolv_conf) && r.Str(&c->resolv_conf);
}

void EncodeRun(const RunRequest& run, Writer& w) {
  w.Str(run.id);
  w.Str(run.path);
  w.StrList(run.args);
  w.StrList(run.env);
  w.Str(run.dir);
  w.Str(run.user);
  w.U32(static_cast<uint32_t>(run.rlimits.size()));
  for (const auto& l : run.rlimits) {
    w.I32(l.resource);
    w.U64(l.value);
  }
  w.Bool(run.tty);
  w.U16(run.columns);
  w.U16(run.rows);
}

bool DecodeRun(Reader& r, RunRequest* run) {
  uint32_t n;
  if (!r.Str(&run->id) || !r.Str(&run->path) || !r.StrList(&run->args) || !r.StrList(&run->env) ||
      !r.Str(&run->dir) || !r.Str(&run->user) || !r.Count(&n)) {
    return false;
  }
  run->rlimits.resize(n);
  for (auto& l : run->rlimits) {
    if (!r.I32(&l.resource) || !r.U64(&l.value)) return false;
  }
  return r.Bool(&run->tty) && r.U16(&run->columns) && r.U16(&run->rows);
}

}  // namespace

std::string Encode(const Message& m) {
  Writer w;
  w.U32(kMagic);
  w.U8(static_cast<uint8_t>(m.type));
  w.U64(m.request_id);
  switch (m.type) {
    case MessageType::kConfig:
      EncodeConfig(m.config, w);
      break;
    case MessageType::kStarted:
      w.I32(m.pid);
      break;
    case MessageType::kReady:
    case MessageType::kList:
      break;
    case MessageType::kFailed:
      w.Str(m.message);
      break;
    case MessageType::kRun:
      EncodeRun(m.run, w);
      break;
    case MessageType::kSignal:
      w.Str(m.process_id);
      w.I32(m.signal);
      break;
    case MessageType::kSignalAll:
      w.I32(m.signal);
      break;
    case MessageType::kGetFds:
      w.Str(m.process_id);
      break;
    case MessageType::kReply:
      w.U8(static_cast<uint8_t>(m.code));
      w.Str(m.message);
      w.I32(m.pid);
      w.U32(static_cast<uint32_t>(m.processes.size()));
      for (const auto& p : m.processes) {
        w.Str(p.id);
        w.I32(p.pid);
        w.Bool(p.running);
        w.I32(p.exit_status);
        w.Bool(p.tty);
      }
      break;
    case MessageType::kExited:
      w.Str(m.process_id);
      w.I32(m.exit_status);
      break;
  }
  return w.Take();
}

bool Decode(const std::string& bytes, Message* m) {
  Reader r(bytes);
  uint32_t magic;
  uint8_t type;
  if (!r.U32(&magic) || magic != kMagic || !r.U8(&type) || !r.U64(&m->request_id)) return false;
  m->type = static_cast<MessageType>(type);
  bool ok = false;
  switch (m->type) {
    case MessageType::kConfig:
      ok = DecodeConfig(r, &m->config);
      break;
    case MessageType::kStarted:
      ok = r.I32(&m->pid);
      break;
    case MessageType::kReady:
    case MessageType::kList:
      ok = true;
      break;
    case MessageType::kFailed:
      ok = r.Str(&m->message);
      break;
    case MessageType::kRun:
      ok = DecodeRun(r, &m->run);
      break;
    case MessageType::kSignal:
      ok = r.Str(&m->process_id) && r.I32(&m->signal);
      break;
    case MessageType::kSignalAll:
      ok = r.I32(&m->signal);
      break;
    case MessageType::kGetFds:
      ok = r.Str(&m->process_id);
      break;
    case MessageType::kReply: {
      uint8_t code;
      uint32_t n;
      ok = r.U8(&code) && code <= static_cast<uint8_t>(ReplyCode::kError) && r.Str(&m->message) &&
           r.I32(&m->pid) && r.Count(&n);
      if (!ok) break;
      m->code = static_cast<ReplyCode>(code);
      m->processes.resize(n);
      for (auto& p : m->processes) {
        if (!r.Str(&p.id) || !r.I32(&p.pid) || !r.Bool(&p.running) || !r.I32(&p.exit_status) ||
            !r.Bool(&p.tty)) {
          ok = false;
          break;
        }
      }
      break;
    }
    case MessageType::kExited:
      ok = r.Str(&m->process_id) && r.I32(&m->exit_status);
      break;
    default:
      return false;
  }
  return ok && r.AtEnd();
}

int SendPacket(int sock, const std::string& bytes, const int* fds, size_t nfds) {
  if (bytes.size() > kMaxMessageSize || nfds > kMaxFds) return -EMSGSIZE;
  struct iovec iov;
  iov.iov_base = const_cast<char*>(bytes.data());
  iov.iov_len = bytes.size();
  struct msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  if (nfds > 0) {
    std::memset(control, 0, sizeof(control));
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }
  for (;;) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

long RecvPacket(int sock, std::string* bytes, std::vector<int>* fds, bool dont_wait) {
  const int wait_flag = dont_wait ? MSG_DONTWAIT : 0;
  ssize_t size;
  for (;;) {
    // The real length of the next packet, without consuming it.
    size = recv(sock, nullptr, 0, MSG_PEEK | MSG_TRUNC | wait_flag);
    if (size >= 0 || errno != EINTR) break;
  }
  if (size < 0) return -errno;
  const bool too_big = static_cast<size_t>(size) > kMaxMessageSize;
  bytes->resize(too_big ? 1 : (size == 0 ? 1 : static_cast<size_t>(size)));
  struct iovec iov;
  iov.iov_base = bytes->data();
  iov.iov_len = bytes->size();
  struct msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  for (;;) {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | wait_flag);
    if (n >= 0 || errno != EINTR) break;
  }
  if (n < 0) return -errno;
  std::vector<int> received;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        received.push_back(fd);
      }
    }
  }
  if (n == 0) {
    // A zero-length read on a SEQPACKET socket is the end of the stream (we
    // never send empty packets).
    for (int fd : received) close(fd);
    bytes->clear();
    return 0;
  }
  if (too_big || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    for (int fd : received) close(fd);
    return -EMSGSIZE;
  }
  bytes->resize(static_cast<size_t>(n));
  fds->insert(fds->end(), received.begin(), received.end());
  return n;
}

int SendMessage(int sock, const Message& message, const int* fds, size_t nfds) {
  return SendPacket(sock, Encode(message), fds, nfds);
}

long RecvMessage(int sock, Message* message, std::vector<int>* fds, bool dont_wait) {
  std::string bytes;
  std::vector<int> got;
  long n = RecvPacket(sock, &bytes, &got, dont_wait);
  if (n <= 0) return n;
  if (!Decode(bytes, message)) {
    for (int fd : got) close(fd);
    return -EBADMSG;
  }
  fds->insert(fds->end(), got.begin(), got.end());
  return n;
}

}  // namespace diego::garden::init_protocol

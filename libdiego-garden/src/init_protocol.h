// Copyright 2026 The libdiego Authors.
//
// Private (LinuxBackend): the wire protocol between the backend
// (container_init.cc) and a container's init (helpers/init, the
// `diego-garden-init` binary). Compiled into both, so it uses only the C++
// standard library and libc: no Abseil (the init binary is kept small and
// statically linked so that its exec is cheap).
//
// Transport: AF_UNIX SOCK_SEQPACKET sockets, one message per packet, file
// descriptors attached with SCM_RIGHTS. Two kinds of connection carry it:
//
//   - the start socketpair: the backend keeps one end and hands the other to
//     the init as fd 3 (`kConfigFd`). The backend's first message is
//     `kConfig`; the outer init process answers `kStarted` (with the host pid
//     of the container's pid 1 and a pidfd for it) or `kFailed`; pid 1 then
//     answers `kReady` or `kFailed` once the container's root is set up, and
//     from then on serves the same socket as a control connection.
//   - `<container_dir>/init.sock`: pid 1 listens there (bound by the outer
//     process on the host filesystem before any namespace is entered), so a
//     restarted backend can reconnect and find out what happened while it
//     was away.
//
// Control connection requests (backend -> pid 1) each carry a non-zero
// request id that their `kReply` repeats; pid 1 answers requests of one
// connection in order. Events (`kExited`) carry request id 0 and go to every
// connected client. Pid 1 sends a request's reply before any event the
// request caused (a process's `kExited` always follows its `kRun` reply).
//
//   request      fds sent with it                      reply
//   kRun         no tty: stdin (read end), stdout and  kReply{code, message,
//                stderr (write ends), then the read    pid}; with a tty the
//                ends of stdout and stderr, which      pty master as its
//                pid 1 keeps open while the process    only fd
//                runs (so the process neither gets
//                SIGPIPE nor loses output when no
//                backend is attached); tty: none
//   kSignal      -                                     kReply{code}
//   kSignalAll   -                                     kReply{code}
//   kList        -                                     kReply{processes}
//   kGetFds      -                                     kReply{code}; fds:
//                                                      stdout and stderr read
//                                                      ends, or the pty master
//
// Encoding: every message starts with a u32 magic (`kMagic`, which also
// versions the protocol), a u8 type and a u64 request id; integers are
// little-endian fixed width, strings a u32 length plus bytes, lists a u32
// count plus items. Decoding is bounds-checked and rejects trailing bytes.

#ifndef DIEGO_GARDEN_INIT_PROTOCOL_H_
#define DIEGO_GARDEN_INIT_PROTOCOL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace diego::garden::init_protocol {

// "DGI" + protocol version 1.
inline constexpr uint32_t kMagic = 0x44474901;

// The fd on which the init binary finds its end of the start socketpair.
inline constexpr int kConfigFd = 3;

// Largest message either side sends or accepts (a Run with a large
// environment). The backend raises its socket send buffer to fit it.
inline constexpr size_t kMaxMessageSize = 8u << 20;

// Most fds attached to one message.
inline constexpr size_t kMaxFds = 8;

// Exited processes pid 1 remembers (for kList after a backend restart); the
// oldest are forgotten first.
inline constexpr size_t kMaxExitedProcesses = 1024;

enum class MessageType : uint8_t {
  kConfig = 1,     // backend -> outer init: `config`
  kStarted = 2,    // outer init -> backend: `pid` (host pid of pid 1); fd: pidfd
  kReady = 3,      // pid 1 -> backend: the root is set up, requests are served
  kFailed = 4,     // outer init or pid 1 -> backend during start: `message`
  kRun = 5,        // `run`
  kSignal = 6,     // `process_id`, `signal`
  kSignalAll = 7,  // `signal`: every running process started by kRun
  kList = 8,       // -
  kGetFds = 9,     // `process_id`
  kReply = 10,     // `code`, `message`, `pid`, `processes`
  kExited = 11,    // event: `process_id`, `exit_status`
};

// Outcome of a request.
enum class ReplyCode : uint8_t {
  kOk = 0,
  kAlreadyExists = 1,       // kRun: the process id is in use by a running process
  kNotFound = 2,            // unknown process id
  kExecutableNotFound = 3,  // kRun: `message` is Garden's text
  kInvalid = 4,             // malformed request
  kError = 5,               // anything else; `message` says what
};

struct BindMountEntry {
  std::string src;  // host path, or a path in the rootfs (from_container)
  std::string dst;  // path inside the container
  bool read_only = true;
  bool from_container = false;
};

// What the init needs to build the container. Text files are written only
// when the corresponding `write_*` is set.
struct Config {
  std::string hostname;
  std::string rootfs;       // host path of the container's root
  std::string socket_path;  // host path of init.sock
  bool privileged = false;
  uint32_t uid_map_start = 0;  // unprivileged: container id 0 = host id start
  uint32_t uid_map_length = 0;
  std::vector<BindMountEntry> bind_mounts;
  std::vector<std::string> cgroup_procs_files;
  bool write_hosts = false;
  std::string hosts;  // /etc/hosts content
  bool write_resolv_conf = false;
  std::string resolv_conf;  // /etc/resolv.conf content
};

struct Rlimit {
  int32_t resource = 0;  // RLIMIT_*
  uint64_t value = 0;    // soft = hard = value
};

struct RunRequest {
  std::string id;
  std::string path;
  std::vector<std::string> args;  // argv[1..]; argv[0] is `path`
  std::vector<std::string> env;   // container env followed by the spec's env
  std::string dir;                // "" = the user's home
  std::string user;               // "" = root
  std::vector<Rlimit> rlimits;
  bool tty = false;
  uint16_t columns = 0;  // tty window size; 0 = Garden's default 80x24
  uint16_t rows = 0;
};

struct ProcessEntry {
  std::string id;
  int32_t pid = 0;  // in the container's pid namespace
  bool running = false;
  int32_t exit_status = -1;  // when !running: exit code, or 128+signal
  bool tty = false;
};

// One message. Only the fields of `type` (see MessageType) are encoded.
struct Message {
  MessageType type = MessageType::kReply;
  uint64_t request_id = 0;

  Config config;
  RunRequest run;
  std::string process_id;
  int32_t signal = 0;
  int32_t exit_status = 0;
  ReplyCode code = ReplyCode::kOk;
  std::string message;
  int32_t pid = 0;
  std::vector<ProcessEntry> processes;
};

// Serializes `message` (never fails).
std::string Encode(const Message& message);

// Parses `bytes`; false when malformed (bad magic, unknown type, truncated,
// trailing bytes).
bool Decode(const std::string& bytes, Message* message);

// Sends `bytes` as one packet with `fds` attached (nfds <= kMaxFds).
// Retries EINTR. Returns 0 or -errno (EMSGSIZE when too large).
int SendPacket(int sock, const std::string& bytes, const int* fds, size_t nfds);

// Receives one packet into `bytes` and its fds (received close-on-exec)
// into `fds` (appended). `dont_wait` uses MSG_DONTWAIT. Returns the packet
// length (> 0), 0 at end of stream, or -errno (-EAGAIN when nothing is
// queued and `dont_wait`; -EMSGSIZE for a packet over kMaxMessageSize, which
// is consumed and dropped). Retries EINTR.
long RecvPacket(int sock, std::string* bytes, std::vector<int>* fds, bool dont_wait);

// Encode + SendPacket / RecvPacket + Decode (-EBADMSG for a malformed
// message; its fds are closed).
int SendMessage(int sock, const Message& message, const int* fds = nullptr, size_t nfds = 0);
long RecvMessage(int sock, Message* message, std::vector<int>* fds, bool dont_wait);

}  // namespace diego::garden::init_protocol

#endif  // DIEGO_GARDEN_INIT_PROTOCOL_H_

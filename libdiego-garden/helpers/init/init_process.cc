// Copyright 2026 The libdiego Authors.
//
// What pid 1 works out for a process before forking it: the user (from the
// container's /etc/passwd), the environment, and the capabilities of
// unprivileged containers.

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "init.h"

namespace diego::garden::init {
namespace {

// Guardian's rundmc defaults (processes/env.go).
constexpr char kDefaultRootPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr char kDefaultPath[] = "PATH=/usr/local/bin:/usr/bin:/bin";

// Pid 1 reads /etc/passwd in its single-threaded loop: the container's root
// controls the file, so it must not be able to stall or exhaust pid 1.
constexpr size_t kMaxPasswdBytes = 16 << 20;

bool ParseId(const std::string& s, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xffffffffull) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

// Parses the container's /etc/passwd ("name:x:uid:gid:gecos:home:shell");
// malformed lines are skipped. Sets *exists to false (and returns "") when
// there is no such file. Never blocks: the file is opened non-blocking and
// must be a regular file (a FIFO or a device is an error), of at most
// kMaxPasswdBytes. A symlink is followed, within the container's root (pid 1
// runs pivoted into it).
Error ReadPasswd(std::vector<PasswdEntry>* entries, bool* exists) {
  *exists = false;
  const int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return "";
    return std::string("user lookup: open /etc/passwd: ") + std::strerror(errno);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return std::string("user lookup: stat /etc/passwd: ") + std::strerror(err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return "user lookup: /etc/passwd is not a regular file";
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxPasswdBytes) {
    close(fd);
    return "user lookup: /etc/passwd is too large";
  }
  std::string content;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return std::string("user lookup: read /etc/passwd: ") + std::strerror(err);
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > kMaxPasswdBytes) {  // grew while being read
      close(fd);
      return "user lookup: /etc/passwd is too large";
    }
  }
  close(fd);
  *exists = true;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    std::string line = content.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    size_t i = 0;
    for (;;) {
      size_t j = line.find(':', i);
      fields.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
      if (j == std::string::npos) break;
      i = j + 1;
    }
    if (fields.size() < 6) continue;
    PasswdEntry e;
    e.name = fields[0];
    if (!ParseId(fields[2], &e.uid) || !ParseId(fields[3], &e.gid)) continue;
    e.home = fields[5];
    entries->push_back(e);
  }
  return "";
}

bool HasVar(const std::vector<std::string>& env, const char* prefix) {
  const size_t n = std::strlen(prefix);
  for (const auto& e : env) {
    if (e.compare(0, n, prefix) == 0) return true;
  }
  return false;
}

}  // namespace

Error LookupUser(const std::string& user, ExecUser* out) {
  *out = ExecUser();
  std::vector<PasswdEntry> entries;
  bool have_passwd = false;
  if (Error error = ReadPasswd(&entries, &have_passwd); !error.empty()) return error;
  uint32_t uid = 0;
  const bool numeric = ParseId(user, &uid);
  for (const auto& e : entries) {
    const bool match = user.empty() ? e.uid == 0 : (numeric ? e.uid == uid : e.name == user);
    if (match) {
      out->uid = e.uid;
      out->gid = e.gid;
      out->home = e.home;
      return "";
    }
  }
  if (user.empty() || (!have_passwd && user == "root")) return "";
  if (numeric) {
    out->uid = uid;
    return "";
  }
  return "unable to find user " + user + ": no matching entries in passwd file";
}

std::vector<std::string> BuildEnv(const std::vector<std::string>& env, const ExecUser& user,
                                  const std::string& user_name) {
  std::vector<std::string> result = env;
  if (!HasVar(result, "PATH=")) result.push_back(user.uid == 0 ? kDefaultRootPath : kDefaultPath);
  if (!HasVar(result, "USER="))
    result.push_back("USER=" + (user_name.empty() ? "root" : user_name));
  if (!HasVar(result, "HOME=")) result.push_back("HOME=" + user.home);
  return result;
}

uint64_t GardenCapabilities() {
  uint64_t caps = 0;
  for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
                  CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
                  CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE}) {
    caps |= uint64_t{1} << cap;
  }
  return caps;
}

}  // namespace diego::garden::init

// Copyright 2026 The libdiego Authors.
//
// Private (LinuxBackend): the small POSIX helpers every kernel-facing part
// of the backend needs: an owning file descriptor and errno text.

#ifndef DIEGO_GARDEN_POSIX_FD_H_
#define DIEGO_GARDEN_POSIX_FD_H_

#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

namespace diego::garden {

// Owns one file descriptor (-1 = none); closes it on destruction. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  // For calls that fill in a descriptor (pipe2 and friends, one at a time).
  int* out() { return &fd_; }
  // Closes the descriptor now (if any).
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// strerror(err) as a std::string.
inline std::string ErrnoText(int err) { return std::strerror(err); }

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_POSIX_FD_H_

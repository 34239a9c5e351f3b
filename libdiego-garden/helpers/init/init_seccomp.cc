// Copyright 2026 The libdiego Authors.
//
// The default seccomp filter of unprivileged containers, compiled with
// libseccomp. Only the build-time generator (seccomp_gen.cc) runs this: the
// init binary embeds the resulting BPF program, so no container start pays
// for compiling it (~0.4 ms of CPU) and the init does not link libseccomp.

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "init.h"

namespace diego::garden::init {

Error BuildSeccompFilter(std::vector<struct sock_filter>* program) {
  // Docker's default profile denies these to containers without the
  // matching capabilities; Garden's unprivileged containers never have them.
  static const char* const kDenied[] = {
      "acct",
      "add_key",
      "bpf",
      "clock_adjtime",
      "clock_settime",
      "clock_settime64",
      "create_module",
      "delete_module",
      "finit_module",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "get_kernel_syms",
      "init_module",
      "ioperm",
      "iopl",
      "kcmp",
      "kexec_file_load",
      "kexec_load",
      "keyctl",
      "lookup_dcookie",
      "mount",
      "mount_setattr",
      "move_mount",
      "name_to_handle_at",
      "nfsservctl",
      "open_by_handle_at",
      "open_tree",
      "perf_event_open",
      "pivot_root",
      "quotactl",
      "quotactl_fd",
      "reboot",
      "request_key",
      "settimeofday",
      "stime",
      "swapoff",
      "swapon",
      "_sysctl",
      "syslog",
      "umount",
      "umount2",
      "uselib",
      "userfaultfd",
      "ustat",
      "vhangup",
      "vm86",
      "vm86old",
  };
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return "seccomp_init failed";
  auto fail = [&](const std::string& what, int rc) {
    seccomp_release(ctx);
    return ErrnoError("seccomp: " + what, -rc);
  };
  int rc;
#if defined(__x86_64__)
  // 32-bit syscalls (int 0x80) and x32 ones must be filtered too.
  for (uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
    rc = seccomp_arch_add(ctx, arch);
    if (rc != 0 && rc != -EEXIST) return fail("adding an architecture", rc);
  }
#endif
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);  // we set no_new_privs ourselves
  if (rc != 0) return fail("attributes", rc);
  for (const char* name : kDenied) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    if (rc != 0) return fail(std::string("denying ") + name, rc);
  }
  // clone3 passes its flags in memory, out of the filter's reach: make libc
  // fall back to clone(2), whose flags are checked below.
  int nr = seccomp_syscall_resolve_name("clone3");
  if (nr != __NR_SCMP_ERROR) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    if (rc != 0) return fail("clone3", rc);
  }
  // No new user namespaces: unshare(2)/clone(2) flags, setns(2) nstype.
  const scmp_datum_t newuser = CLONE_NEWUSER;
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, newuser, newuser));
  if (rc != 0) return fail("unshare", rc);
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, newuser, newuser));
  if (rc != 0) return fail("clone", rc);
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 1,
                        SCMP_A1(SCMP_CMP_MASKED_EQ, newuser, newuser));
  if (rc != 0) return fail("setns", rc);

  int fd = memfd_create("diego-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    seccomp_release(ctx);
    return ErrnoError("memfd_create", errno);
  }
  rc = seccomp_export_bpf(ctx, fd);
  seccomp_release(ctx);
  if (rc != 0) {
    close(fd);
    return ErrnoError("seccomp: exporting the filter", -rc);
  }
  std::string bytes;
  char buf[4096];
  ssize_t n;
  lseek(fd, 0, SEEK_SET);
  while ((n = read(fd, buf, sizeof(buf))) > 0) bytes.append(buf, static_cast<size_t>(n));
  close(fd);
  if (bytes.empty() || bytes.size() % sizeof(struct sock_filter) != 0) {
    return "seccomp: exported filter is malformed";
  }
  program->resize(bytes.size() / sizeof(struct sock_filter));
  std::memcpy(program->data(), bytes.data(), bytes.size());
  return "";
}

}  // namespace diego::garden::init

// kernel_model/fdtable.hpp — the fd table of the (single) simulated process (Linux struct fdtable, fs/file.c).
// Lowest free fd first; EMFILE past RLIMIT_NOFILE; max_fds grows as Linux's expand_fdtable does.
#pragma once

#include <vector>

#include "kernel_model/file.hpp"

namespace iosim::kernel {

class fdtable {
 public:
  explicit fdtable(int fd_count_max) : fd_count_max_(fd_count_max) {}

  // Linux alloc_fd(0, nofile, flags): the lowest free fd, or -EMFILE at RLIMIT_NOFILE.
  int alloc_fd(file_ref f, bool cloexec) { return alloc_fd_from(std::move(f), 0, cloexec); }
  // The lowest free fd >= start (fcntl F_DUPFD).
  int alloc_fd_from(file_ref f, int start, bool cloexec = false);
  // Linux fget: the open file description behind fd, or null (the caller reports EBADF).
  file_ref fget(int fd) const;
  // Linux __fget_light: the file without taking a reference, for callers that cannot drop the fd table's
  // reference while they use it (a single-threaded kernel walking the table: select, poll, epoll_ctl).
  file* fget_light(int fd) const {
    return fd >= 0 && fd < static_cast<int>(files_.size()) ? files_[static_cast<std::size_t>(fd)].get() : nullptr;
  }
  // Linux replace_fd / do_dup2: `fd` (open) now refers to `f`; the old file loses the table's reference.
  void replace_fd(int fd, file_ref f) { files_[static_cast<std::size_t>(fd)] = std::move(f); }
  // Linux close_fd: drops the table's reference; -EBADF if fd is not open.
  int close_fd(int fd);
  bool cloexec(int fd) const { return cloexec_[fd]; }
  void set_cloexec(int fd, bool on) { cloexec_[fd] = on; }
  // Linux fdt->max_fds: the allocated table size select() clamps nfds to (64, then 128, 256, ...).
  int max_fds() const { return max_fds_; }
  int fd_count_max() const { return fd_count_max_; }
  int open_count() const { return open_count_; }

 private:
  std::vector<file_ref> files_;
  std::vector<bool> cloexec_;
  int fd_count_max_;
  int max_fds_ = 64;  // Linux NR_OPEN_DEFAULT (BITS_PER_LONG)
  int next_fd_ = 0;   // Linux files->next_fd: no free fd below it
  int open_count_ = 0;
};

}  // namespace iosim::kernel

// kernel_model/fdtable.cpp — fd allocation and release, mirroring Linux fs/file.c (alloc_fd, close_fd).
// The allocation order is Linux's (lowest free), which applications and tests can observe.
#include "kernel_model/fdtable.hpp"

#include <bit>

#include "iosim/assert.hpp"

namespace iosim::kernel {

int fdtable::alloc_fd_from(file_ref f, int start, bool cloexec) {
  IOSIM_ASSERT(f != nullptr);
  int fd = std::max(start, next_fd_);
  while (fd < static_cast<int>(files_.size()) && files_[fd]) ++fd;
  if (fd >= fd_count_max_) return -E::MFILE;
  if (fd >= static_cast<int>(files_.size())) {
    files_.resize(fd + 1);
    cloexec_.resize(fd + 1);
  }
  if (fd >= max_fds_) {
    // Linux alloc_fdtable: round (nr / 128 + 1) up to a power of two, times 128 (1 KiB of pointers).
    const unsigned chunks = std::bit_ceil(static_cast<unsigned>(fd) / 128 + 1);
    max_fds_ = std::min<int>(static_cast<int>(chunks * 128), fd_count_max_);
  }
  files_[fd] = std::move(f);
  cloexec_[fd] = cloexec;
  if (start <= next_fd_) next_fd_ = fd + 1;
  ++open_count_;
  return fd;
}

file_ref fdtable::fget(int fd) const {
  if (fd < 0 || fd >= static_cast<int>(files_.size())) return nullptr;
  return files_[fd];
}

int fdtable::close_fd(int fd) {
  if (fd < 0 || fd >= static_cast<int>(files_.size()) || !files_[fd]) return -E::BADF;
  file_ref dropped = std::move(files_[fd]);
  files_[fd] = nullptr;
  cloexec_[fd] = false;
  if (fd < next_fd_) next_fd_ = fd;
  --open_count_;
  dropped.reset();  // the last reference runs release() (Linux filp_close → fput)
  return 0;
}

}  // namespace iosim::kernel

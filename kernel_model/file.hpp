// kernel_model/file.hpp — an open file description (Linux struct file) and its operations.
// Shared by every fd that dup() made from it; release() runs when the last reference goes (Linux __fput).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iosim/abi.hpp"
#include "kernel_model/wait.hpp"

namespace iosim::kernel {

class kernel;
struct poll_table;
class socket;
struct epitem;
struct eventpoll;

// Linux's DEFAULT_POLLMASK: what vfs_poll reports for a file without a poll method.
inline constexpr __poll_t DEFAULT_POLLMASK = POLL::IN | POLL::OUT | POLL::RDNORM | POLL::WRNORM;

class file : public std::enable_shared_from_this<file> {
 public:
  file(kernel& k, std::uint32_t name, int flags);
  virtual ~file() = default;
  file(const file&) = delete;
  file& operator=(const file&) = delete;

  // f_op->poll: the current readiness mask; calls poll_wait(this, queue, pt) for every wait queue a
  // change of that mask is announced on.
  virtual __poll_t poll(poll_table* pt) = 0;
  // f_op->read_iter / write_iter: bytes moved, or a negative errno. May block unless nonblocking().
  virtual long read(void* buf, std::size_t len) = 0;
  virtual long write(const void* buf, std::size_t len) = 0;
  // f_op->release: the last reference to this open file description is gone.
  virtual void release() {}
  virtual socket* as_socket() { return nullptr; }
  // Linux is_file_epoll: the eventpoll behind an epoll file, or null.
  virtual eventpoll* as_eventpoll() { return nullptr; }
  // Linux file_can_poll: files without a poll method cannot be added to an epoll set (EPERM).
  virtual bool can_poll() const { return true; }

  bool nonblocking() const { return (f_flags & O::NONBLOCK) != 0; }
  // Creation order, for ordering epoll's items by (file, fd) deterministically (Linux compares pointers).
  std::uint64_t id() const { return id_; }
  std::uint32_t name() const { return trace_name_; }
  kernel& k() const { return kernel_; }
  // Os::name_fd: this open file is "<name>(<label>)" from now on, and was all along, in traces, deadlock
  // listings and graphs (sim::Trace::rename), and so are the wait queues named after it; an empty label
  // restores the plain name. Not a Linux concept: the kernel has no names for open files.
  void set_label(std::string_view label);

 protected:
  // Renames what is named after this file (its wait queues, epoll's items) now that it is called `name`.
  virtual void rename_derived(std::string_view name) { (void)name; }

 private:
  kernel& kernel_;
  std::uint32_t trace_name_;
  std::string plain_name_;  // the name before any label; empty until the first set_label
  std::uint64_t id_;

 public:
  int f_flags;  // O_NONBLOCK and the access mode, as in Linux (changed by fcntl(F_SETFL))
  std::vector<epitem*> f_ep;  // Linux file->f_ep: the epoll items watching this file, in insertion order
};

// Linux eventpoll_release (called from __fput): drops every epoll item that watches `f`.
void eventpoll_release(file& f);

using file_ref = std::shared_ptr<file>;

// Wraps a new file so that release() runs when the last file_ref is dropped (Linux fput → __fput).
template <class File, class... Args>
std::shared_ptr<File> make_file(Args&&... args) {
  return std::shared_ptr<File>(new File(std::forward<Args>(args)...), [](File* f) {
    if (!f->f_ep.empty()) eventpoll_release(*f);
    f->release();
    delete f;
  });
}

}  // namespace iosim::kernel

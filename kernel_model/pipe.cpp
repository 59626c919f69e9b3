// kernel_model/pipe.cpp — pipe_read, pipe_write, pipe_poll, pipe_release and pipe creation (Linux fs/pipe.c).
// Wake-up discipline as in Linux: exclusive sleepers, and each side passes the wake-up on to the next one.
#include "kernel_model/pipe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "iosim/assert.hpp"
#include "kernel_model/kernel.hpp"
#include "kernel_model/poll.hpp"

namespace iosim::kernel {
namespace {

// Linux wake_up_interruptible_sync_poll(&pipe->rd_wait, EPOLLIN | EPOLLRDNORM): one exclusive reader and
// every poller.
void wake_readers(pipe_inode_info& pipe) {
  wake_up_poll(pipe.k.runtime(), pipe.rd_wait, POLL::IN | POLL::RDNORM);
}
void wake_writers(pipe_inode_info& pipe) {
  wake_up_poll(pipe.k.runtime(), pipe.wr_wait, POLL::OUT | POLL::WRNORM);
}

std::string rd_wait_name(std::string_view pipe_name) { return fmt::format("rd_wait({})", pipe_name); }
std::string wr_wait_name(std::string_view pipe_name) { return fmt::format("wr_wait({})", pipe_name); }

}  // namespace

pipe_inode_info::pipe_inode_info(kernel& k_, std::uint32_t name_) : k(k_), name(name_) {
  const std::string_view pipe_name = k.trace().name(name);
  rd_wait.name = k.intern(rd_wait_name(pipe_name));
  wr_wait.name = k.intern(wr_wait_name(pipe_name));
  names.write = k.intern("pipe.write");
  names.read = k.intern("pipe.read");
  names.release = k.intern("pipe.release");
}

std::size_t pipe_inode_info::bytes_queued() const {
  std::size_t count = 0;
  for (unsigned index = tail; index != head; ++index) count += bufs[index % ring_size].len;
  return count;
}

pipe_file::pipe_file(kernel& kern, std::uint32_t file_name, int flags, unsigned mode,
                     std::shared_ptr<pipe_inode_info> shared_pipe)
    : file(kern, file_name, flags), f_mode(mode), pipe(std::move(shared_pipe)) {}

void pipe_file::rename_derived(std::string_view name) {
  if (f_mode & FMODE_READ) k().trace().rename(pipe->rd_wait.name, rd_wait_name(name));
  if (f_mode & FMODE_WRITE) k().trace().rename(pipe->wr_wait.name, wr_wait_name(name));
}

__poll_t pipe_file::poll(poll_table* pt) {
  // Linux pipe_poll: hook on the queues first, then test, so a change in between still wakes the poller.
  pipe_inode_info& p = *pipe;
  p.poll_usage = true;
  if (f_mode & FMODE_READ) poll_wait(this, &p.rd_wait, pt);
  if (f_mode & FMODE_WRITE) poll_wait(this, &p.wr_wait, pt);
  __poll_t mask = 0;
  if (f_mode & FMODE_READ) {
    if (!p.pipe_empty()) mask |= POLL::IN | POLL::RDNORM;
    // Linux also needs f_pipe != w_counter, which only a FIFO opened before any writer can fail.
    if (p.writers == 0) mask |= POLL::HUP;
  }
  if (f_mode & FMODE_WRITE) {
    if (!p.pipe_full()) mask |= POLL::OUT | POLL::WRNORM;
    if (p.readers == 0) mask |= POLL::ERR;
  }
  return mask;
}

std::size_t pipe_file::pipe_read_buffer(char* out, std::size_t len, bool* wake_writer) {
  // One step of pipe_read: copy from the tail buffer; a buffer read empty frees its slot, and freeing a
  // slot of a full pipe is what writers wait for.
  pipe_inode_info& p = *pipe;
  pipe_buffer& buf = p.buf(p.tail);
  const auto chars = static_cast<unsigned>(std::min<std::size_t>(buf.len, len));
  std::memcpy(out, buf.page->data() + buf.offset, chars);
  buf.offset += chars;
  buf.len -= chars;
  if (buf.len == 0) {
    *wake_writer |= p.pipe_full();
    ++p.tail;  // pipe_update_tail; the page stays with the slot for reuse
  }
  return chars;
}

long pipe_file::read(void* buf, std::size_t total_len) {
  // Linux vfs_read: EBADF for a file not opened for reading. Then pipe_read.
  if (!(f_mode & FMODE_READ)) return -E::BADF;
  if (total_len == 0) return 0;  // "Null read succeeds."
  pipe_inode_info& p = *pipe;
  auto* out = static_cast<char*>(buf);
  std::size_t copied = 0;
  int error = 0;
  bool wake_writer = false;
  bool wake_next_reader = false;
  for (;;) {
    if (!p.pipe_empty()) {
      copied += pipe_read_buffer(out + copied, total_len - copied, &wake_writer);
      if (copied == total_len) break;
      if (!p.pipe_empty()) continue;
    }
    if (p.writers == 0) break;  // end of file
    if (copied > 0) break;
    if (nonblocking()) {
      error = -E::AGAIN;
      break;
    }
    // Nothing read: let a writer refill first (the unlikely zero-length-buffer case), then sleep
    // exclusively, so one write wakes one reader; that reader wakes the next if data is left.
    if (wake_writer) wake_writers(p);
    if (k().wait_event(p.rd_wait, -1, true, [&] { return p.pipe_readable(); }) < 0) return -E::INTR;
    wake_writer = false;
    wake_next_reader = true;
  }
  if (p.pipe_empty()) wake_next_reader = false;
  if (wake_writer) wake_writers(p);
  if (wake_next_reader) wake_readers(p);
  if (copied > 0)
    k().trace_event(p.names.read, name(), static_cast<std::int64_t>(copied),
                    static_cast<std::int64_t>(p.bytes_queued()));
  return copied ? static_cast<long>(copied) : error;
}

std::size_t pipe_file::pipe_write_merge(const char* bytes, std::size_t chars) {
  // pipe_write's first step: the sub-page remainder of the write joins the last buffer if it fits there
  // whole. Small writes thus share a page, and a write of at most PIPE_BUF bytes is never split.
  pipe_inode_info& p = *pipe;
  pipe_buffer& last = p.buf(p.head - 1);
  const std::size_t offset = last.offset + last.len;
  if (!(last.flags & PIPE_BUF_FLAG_CAN_MERGE) || offset + chars > PAGE_SIZE_) return 0;
  std::memcpy(last.page->data() + offset, bytes, chars);
  last.len += static_cast<unsigned>(chars);
  return chars;
}

std::size_t pipe_file::pipe_write_new_buffer(const char* bytes, std::size_t len) {
  // pipe_write's main step: take the next slot and fill up to a whole page.
  pipe_inode_info& p = *pipe;
  IOSIM_ASSERT(!p.pipe_full(), "pipe_write into a full ring");
  pipe_buffer& buf = p.buf(p.head);
  if (!buf.page) buf.page = std::make_unique<std::array<char, PAGE_SIZE_>>();
  ++p.head;
  const std::size_t copied = std::min(len, PAGE_SIZE_);
  std::memcpy(buf.page->data(), bytes, copied);
  buf.offset = 0;
  buf.len = static_cast<unsigned>(copied);
  buf.flags = PIPE_BUF_FLAG_CAN_MERGE;
  return copied;
}

long pipe_file::write(const void* buf, std::size_t total_len) {
  // Linux vfs_write: EBADF for a file not opened for writing. Then pipe_write.
  if (!(f_mode & FMODE_WRITE)) return -E::BADF;
  if (total_len == 0) return 0;  // "Null write succeeds", even with no reader left
  pipe_inode_info& p = *pipe;
  const auto* bytes = static_cast<const char*>(buf);
  std::size_t written = 0;
  int error = 0;
  bool was_empty = false;
  bool wake_next_writer = false;
  if (p.readers == 0) {
    k().send_sigpipe();
    error = -E::PIPE;
  } else {
    was_empty = p.pipe_empty();
    const std::size_t chars = total_len & (PAGE_SIZE_ - 1);
    if (chars && !was_empty) written = pipe_write_merge(bytes, chars);
  }
  while (error == 0 && written < total_len) {
    if (p.readers == 0) {
      k().send_sigpipe();  // even after a partial write, as Linux does
      error = -E::PIPE;
      break;
    }
    if (!p.pipe_full()) {
      written += pipe_write_new_buffer(bytes + written, total_len - written);
      continue;
    }
    if (nonblocking()) {
      error = -E::AGAIN;
      break;
    }
    if (k().runtime().killed()) {
      error = -E::INTR;  // signal_pending → -ERESTARTSYS
      break;
    }
    // Full: wake the readers this write has fed before sleeping (exclusively) for a free slot.
    if (was_empty) wake_readers(p);
    k().wait_event(p.wr_wait, -1, true, [&] { return p.pipe_writable(); });
    was_empty = p.pipe_empty();
    wake_next_writer = true;
  }
  // Linux wakes readers when the pipe was empty, and always once anyone has polled it ("epoll nonsensically
  // wants a wakeup whether the pipe was already empty or not").
  if (p.pipe_full()) wake_next_writer = false;
  if (was_empty || p.poll_usage) wake_readers(p);
  if (wake_next_writer) wake_writers(p);
  if (written > 0)
    k().trace_event(p.names.write, name(), static_cast<std::int64_t>(written),
                    static_cast<std::int64_t>(p.bytes_queued()));
  return written ? static_cast<long>(written) : error;
}

void pipe_file::release() {
  // Linux pipe_release: when the last reader or the last writer goes (but not both), wake everyone on both
  // queues with no key, so readers see EOF, writers see EPIPE and pollers re-poll (HUP / ERR).
  pipe_inode_info& p = *pipe;
  if (f_mode & FMODE_READ) --p.readers;
  if (f_mode & FMODE_WRITE) --p.writers;
  if (k().tearing_down()) return;  // the kernel is going away: nobody is left to wake or trace
  k().trace_event(p.names.release, name(), p.readers, p.writers);
  if ((p.readers == 0) != (p.writers == 0)) {
    __wake_up(k().runtime(), p.rd_wait, 1, 0, nullptr);
    __wake_up(k().runtime(), p.wr_wait, 1, 0, nullptr);
  }
}

int create_pipe(kernel& k, int flags, file_ref* read_end, file_ref* write_end) {
  // Linux create_pipe_files: one pipe_inode_info with a reader and a writer, two files on it.
  const std::string name = fmt::format("pipe#{}", k.next_object_number());
  auto pipe = std::make_shared<pipe_inode_info>(k, k.intern(name));
  pipe->readers = 1;
  pipe->writers = 1;
  const int nonblock = flags & O::NONBLOCK;
  *write_end = make_file<pipe_file>(k, k.intern(name + "w"), O::WRONLY | nonblock, FMODE_WRITE, pipe);
  *read_end =
      make_file<pipe_file>(k, k.intern(name + "r"), O::RDONLY | nonblock, FMODE_READ, std::move(pipe));
  return 0;
}

}  // namespace iosim::kernel

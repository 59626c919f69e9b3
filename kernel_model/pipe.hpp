// kernel_model/pipe.hpp — anonymous pipes (Linux fs/pipe.c): a ring of page-sized pipe_buffers shared by a
// read end and a write end. Readers sleep exclusively on rd_wait, writers on wr_wait, as pipe_read/write do.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernel_model/file.hpp"
#include "kernel_model/wait.hpp"

namespace iosim::kernel {

// Linux PAGE_SIZE (x86-64) and PIPE_BUF: writes of at most PIPE_BUF bytes are atomic. Trailing underscore:
// libc headers define PAGE_SIZE and PIPE_BUF as macros.
inline constexpr std::size_t PAGE_SIZE_ = 4096;
inline constexpr std::size_t PIPE_BUF_ = PAGE_SIZE_;
// Linux PIPE_DEF_BUFFERS: the ring of a new pipe (64 KiB; F_SETPIPE_SZ is not modelled).
inline constexpr unsigned PIPE_DEF_BUFFERS = 16;
// pipe_buffer flags (include/linux/pipe_fs_i.h).
inline constexpr unsigned PIPE_BUF_FLAG_CAN_MERGE = 0x10;

// Linux f_mode bits of a pipe end (FMODE_READ / FMODE_WRITE).
inline constexpr unsigned FMODE_READ = 0x1;
inline constexpr unsigned FMODE_WRITE = 0x2;

// Linux struct pipe_buffer: `len` bytes at `offset` in one page.
struct pipe_buffer {
  std::unique_ptr<std::array<char, PAGE_SIZE_>> page;  // kept once allocated (Linux's tmp_page reuse)
  unsigned offset = 0;
  unsigned len = 0;
  unsigned flags = 0;
};

// Trace event names, interned once per pipe.
struct pipe_trace_names {
  std::uint32_t write = 0, read = 0, release = 0;
};

// Linux struct pipe_inode_info. head and tail are free-running counters; a slot is bufs[index % ring_size].
struct pipe_inode_info {
  pipe_inode_info(kernel& k, std::uint32_t name);

  bool pipe_empty() const { return head == tail; }
  bool pipe_full() const { return head - tail >= max_usage; }
  unsigned pipe_occupancy() const { return head - tail; }
  pipe_buffer& buf(unsigned index) { return bufs[index % ring_size]; }
  std::size_t bytes_queued() const;  // Linux FIONREAD
  // Linux pipe_readable / pipe_writable: the wake-up conditions of the exclusive waits.
  bool pipe_readable() const { return !pipe_empty() || writers == 0; }
  bool pipe_writable() const { return !pipe_full() || readers == 0; }

  kernel& k;
  std::uint32_t name;  // "pipe#3"
  std::array<pipe_buffer, PIPE_DEF_BUFFERS> bufs;
  unsigned head = 0;
  unsigned tail = 0;
  unsigned max_usage = PIPE_DEF_BUFFERS;
  unsigned ring_size = PIPE_DEF_BUFFERS;
  unsigned readers = 0;
  unsigned writers = 0;
  bool poll_usage = false;  // set by the first poll: writers then always wake readers ("epoll semantics")
  wait_queue_head rd_wait;
  wait_queue_head wr_wait;
  pipe_trace_names names;
};

// One end of a pipe (Linux struct file with pipefifo_fops; f_mode says which end).
class pipe_file final : public file {
 public:
  pipe_file(kernel& k, std::uint32_t name, int f_flags, unsigned f_mode,
            std::shared_ptr<pipe_inode_info> pipe);

  __poll_t poll(poll_table* pt) override;
  long read(void* buf, std::size_t len) override;
  long write(const void* buf, std::size_t len) override;
  void release() override;

  const unsigned f_mode;  // FMODE_READ or FMODE_WRITE; unlike f_flags, fcntl cannot change it
  const std::shared_ptr<pipe_inode_info> pipe;

 protected:
  // Readers sleep on rd_wait, writers on wr_wait: the end named renames the queue its users sleep on.
  void rename_derived(std::string_view name) override;

 private:
  std::size_t pipe_write_merge(const char* bytes, std::size_t chars);
  std::size_t pipe_write_new_buffer(const char* bytes, std::size_t len);
  std::size_t pipe_read_buffer(char* out, std::size_t len, bool* wake_writer);
};

// pipe2(fds, flags) after validation (Linux __do_pipe_flags → create_pipe_files): the read end is
// O_RDONLY, the write end O_WRONLY, both with flags' O_NONBLOCK. The caller installs the fds (O_CLOEXEC).
int create_pipe(kernel& k, int flags, file_ref* read_end, file_ref* write_end);

}  // namespace iosim::kernel

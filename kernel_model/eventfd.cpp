// kernel_model/eventfd.cpp — eventfd(2) after Linux fs/eventfd.c: a 64-bit counter that reads drain (or
// decrement, with EFD_SEMAPHORE) and writes add to, pollable, and so a wake-up source for epoll loops.
#include <cstring>
#include <fmt/format.h>
#include <limits>

#include "kernel_model/kernel.hpp"
#include "kernel_model/poll.hpp"

namespace iosim::kernel {
namespace {

constexpr std::uint64_t ullong_max = std::numeric_limits<std::uint64_t>::max();

std::string wqh_name(std::string_view eventfd_name) { return fmt::format("wqh({})", eventfd_name); }

class eventfd_file final : public file {
 public:
  eventfd_file(kernel& k, std::uint32_t name, int flags, std::uint64_t count, bool semaphore)
      : file(k, name, flags), count_(count), semaphore_(semaphore) {
    wqh_.name = k.intern(wqh_name(k.trace().name(name)));
  }

  // Linux eventfd_poll.
  __poll_t poll(poll_table* pt) override {
    poll_wait(this, &wqh_, pt);
    __poll_t events = 0;
    if (count_ > 0) events |= POLL::IN;
    if (count_ == ullong_max) events |= POLL::ERR;
    if (ullong_max - 1 > count_) events |= POLL::OUT;
    return events;
  }

  // Linux eventfd_read: 8 bytes or EINVAL; blocks (or EAGAIN) while the counter is 0.
  long read(void* buf, std::size_t len) override {
    if (len < sizeof(std::uint64_t)) return -E::INVAL;
    if (count_ == 0) {
      if (nonblocking()) return -E::AGAIN;
      const int waited = k().wait_event(wqh_, -1, false, [&] { return count_ != 0; });
      if (waited < 0) return waited;
    }
    const std::uint64_t value = semaphore_ ? 1 : count_;
    count_ -= value;
    std::memcpy(buf, &value, sizeof value);
    if (wqh_.active()) wake_up_poll(k().runtime(), wqh_, POLL::OUT);
    return sizeof value;
  }

  void rename_derived(std::string_view name) override { k().trace().rename(wqh_.name, wqh_name(name)); }

  // Linux eventfd_write: adds the value; ULLONG_MAX itself is EINVAL; blocks (or EAGAIN) on overflow.
  long write(const void* buf, std::size_t len) override {
    if (len < sizeof(std::uint64_t)) return -E::INVAL;
    std::uint64_t value = 0;
    std::memcpy(&value, buf, sizeof value);
    if (value == ullong_max) return -E::INVAL;
    if (!(ullong_max - count_ > value)) {
      if (nonblocking()) return -E::AGAIN;
      const int waited = k().wait_event(wqh_, -1, false, [&] { return ullong_max - count_ > value; });
      if (waited < 0) return waited;
    }
    count_ += value;
    if (wqh_.active()) wake_up_poll(k().runtime(), wqh_, POLL::IN);
    return sizeof value;
  }

 private:
  wait_queue_head wqh_;
  std::uint64_t count_;
  bool semaphore_;
};

}  // namespace

int kernel::sys_eventfd2(unsigned int count, int flags) {
  if (flags & ~(EFD::CLOEXEC | EFD::NONBLOCK | EFD::SEMAPHORE)) return -E::INVAL;
  const std::uint32_t name = intern(fmt::format("eventfd#{}", next_object_number()));
  const int f_flags = O::RDWR | (flags & EFD::NONBLOCK);
  return install_fd(make_file<eventfd_file>(*this, name, f_flags, count, (flags & EFD::SEMAPHORE) != 0),
                    flags & EFD::CLOEXEC);
}

}  // namespace iosim::kernel

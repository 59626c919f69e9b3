// scenarios/selectors/selectors.cpp — the three selectors (after CPython's Lib/selectors.py) and
// DefaultSelector. The base class keeps the fd-to-key map; epoll also mirrors it into the kernel.
#include "scenarios/selectors/selectors.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "iosim/assert.hpp"

namespace iosim::selectors {
namespace {

constexpr std::uint32_t all_events = EVENT_READ | EVENT_WRITE;

// epoll and poll report conditions nobody asks for (ERR, HUP, NVAL). Python's rule: any bit besides IN makes
// the fd "writable", any bit besides OUT makes it "readable" — so an error wakes whichever handler is
// registered, and its recv or send then returns the error.
std::uint32_t events_from_poll_bits(std::uint32_t bits, std::uint32_t in_bit, std::uint32_t out_bit) {
  std::uint32_t events = 0;
  if (bits & ~in_bit) events |= EVENT_WRITE;
  if (bits & ~out_bit) events |= EVENT_READ;
  return events;
}

// --- epoll: the registrations live in the kernel; select() costs O(ready fds) ---

class EpollSelector final : public Selector {
 public:
  EpollSelector(Os& os, int epoll_fd) : Selector(os), epoll_fd_(epoll_fd) {}
  ~EpollSelector() override { os_.close(epoll_fd_); }
  std::string_view name() const override { return "epoll"; }

 protected:
  static std::uint32_t epoll_bits(std::uint32_t events) {
    return ((events & EVENT_READ) ? EPOLL::IN : 0) | ((events & EVENT_WRITE) ? EPOLL::OUT : 0);
  }

  bool kernel_register(const SelectorKey& key) override {
    epoll_event event{epoll_bits(key.events), static_cast<std::uint64_t>(key.fd)};
    return os_.epoll_ctl(epoll_fd_, EPOLL::CTL_ADD, key.fd, &event) == 0 || fail("epoll_ctl(EPOLL_CTL_ADD)");
  }

  bool kernel_modify(const SelectorKey& key) override {
    epoll_event event{epoll_bits(key.events), static_cast<std::uint64_t>(key.fd)};
    return os_.epoll_ctl(epoll_fd_, EPOLL::CTL_MOD, key.fd, &event) == 0 || fail("epoll_ctl(EPOLL_CTL_MOD)");
  }

  // As Python: an fd closed before it was unregistered (EBADF), or whose file is gone from the epoll set
  // already (ENOENT), is simply forgotten.
  bool kernel_unregister(int fd) override {
    if (os_.epoll_ctl(epoll_fd_, EPOLL::CTL_DEL, fd, nullptr) == 0) return true;
    const int error = os_.last_errno();
    return error == E::BADF || error == E::NOENT || fail("epoll_ctl(EPOLL_CTL_DEL)");
  }

  std::string_view wait_call() const override { return "epoll_wait"; }

  bool wait_once(int timeout_ms, std::vector<std::pair<int, std::uint32_t>>& ready_fds) override {
    // Room for every registered fd, so one call returns all that are ready (Python sizes it the same way).
    events_.resize(std::max<std::size_t>(keys_.size(), 1));
    const int count = os_.epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
    if (count < 0) return false;
    for (int index = 0; index < count; ++index) {
      const epoll_event& event = events_[static_cast<std::size_t>(index)];
      ready_fds.emplace_back(static_cast<int>(event.data),
                             events_from_poll_bits(event.events, EPOLL::IN, EPOLL::OUT));
    }
    return true;
  }

 private:
  int epoll_fd_;
  std::vector<epoll_event> events_;
};

// --- poll: nothing in the kernel between calls; each select() passes and scans every registered fd ---

class PollSelector final : public Selector {
 public:
  using Selector::Selector;
  std::string_view name() const override { return "poll"; }

 protected:
  std::string_view wait_call() const override { return "poll"; }

  bool wait_once(int timeout_ms, std::vector<std::pair<int, std::uint32_t>>& ready_fds) override {
    pollfds_.clear();
    for (const auto& [fd, key] : keys_) {
      const short events = static_cast<short>(((key.events & EVENT_READ) ? POLL::IN : 0) |
                                              ((key.events & EVENT_WRITE) ? POLL::OUT : 0));
      pollfds_.push_back(pollfd{fd, events, 0});
    }
    if (os_.poll(pollfds_.data(), pollfds_.size(), timeout_ms) < 0) return false;
    for (const pollfd& entry : pollfds_) {
      if (entry.revents == 0) continue;
      const auto bits = static_cast<std::uint32_t>(static_cast<unsigned short>(entry.revents));
      ready_fds.emplace_back(entry.fd, events_from_poll_bits(bits, POLL::IN, POLL::OUT));
    }
    return true;
  }

 private:
  std::vector<pollfd> pollfds_;
};

// --- select: two bitmaps rebuilt for every call, scanned up to the highest fd, capped at FD_SETSIZE ---

class SelectSelector final : public Selector {
 public:
  using Selector::Selector;
  std::string_view name() const override { return "select"; }

 protected:
  // An fd_set has no bit for an fd at or above FD_SETSIZE (Python: "filedescriptor out of range in
  // select()").
  bool kernel_register(const SelectorKey& key) override {
    if (key.fd < FD_SETSIZE_) return true;
    return fail_with(
        fmt::format("select: fd {} is beyond FD_SETSIZE ({}), select cannot watch it", key.fd, FD_SETSIZE_));
  }

  std::string_view wait_call() const override { return "select"; }

  bool wait_once(int timeout_ms, std::vector<std::pair<int, std::uint32_t>>& ready_fds) override {
    fd_set readable, writable;
    readable.zero();
    writable.zero();
    int highest_fd = -1;
    for (const auto& [fd, key] : keys_) {
      if (key.events & EVENT_READ) readable.set(fd);
      if (key.events & EVENT_WRITE) writable.set(fd);
      highest_fd = std::max(highest_fd, fd);
    }
    timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (os_.select(highest_fd + 1, &readable, &writable, nullptr, timeout_ms < 0 ? nullptr : &timeout) < 0) {
      return false;
    }
    for (const auto& [fd, key] : keys_) {
      const std::uint32_t events =
          (readable.is_set(fd) ? EVENT_READ : 0) | (writable.is_set(fd) ? EVENT_WRITE : 0);
      if (events != 0) ready_fds.emplace_back(fd, events);
    }
    return true;
  }
};

}  // namespace

bool Selector::fail(std::string_view call) {
  return fail_with(fmt::format("{}: {}", call, errno_name(os_.last_errno())));
}

bool Selector::fail_with(std::string message) {
  if (error_.empty()) error_ = std::move(message);
  return false;
}

bool Selector::register_fd(int fd, std::uint32_t events, Callback data) {
  IOSIM_ASSERT(fd >= 0, "Selector::register_fd: negative fd");
  IOSIM_ASSERT(events != 0 && (events & ~all_events) == 0, "Selector::register_fd: invalid events");
  IOSIM_ASSERT(!keys_.contains(fd), "Selector::register_fd: fd is already registered");
  const SelectorKey& key = keys_.emplace(fd, SelectorKey{fd, events, std::move(data)}).first->second;
  if (kernel_register(key)) return true;
  keys_.erase(fd);
  return false;
}

bool Selector::modify(int fd, std::uint32_t events, Callback data) {
  IOSIM_ASSERT(events != 0 && (events & ~all_events) == 0, "Selector::modify: invalid events");
  const auto found = keys_.find(fd);
  IOSIM_ASSERT(found != keys_.end(), "Selector::modify: fd is not registered");
  SelectorKey& key = found->second;
  const std::uint32_t old_events = key.events;
  key.events = events;
  key.data = std::move(data);
  // Python's rule too: only a change of events reaches the kernel; new data alone is just stored.
  if (events == old_events || kernel_modify(key)) return true;
  key.events = old_events;
  return false;
}

bool Selector::unregister(int fd) {
  const auto found = keys_.find(fd);
  IOSIM_ASSERT(found != keys_.end(), "Selector::unregister: fd is not registered");
  const bool ok = kernel_unregister(fd);
  keys_.erase(found);  // forgotten either way: the caller is about to close it
  return ok;
}

const SelectorKey* Selector::get_key(int fd) const {
  const auto found = keys_.find(fd);
  return found == keys_.end() ? nullptr : &found->second;
}

bool Selector::select(int timeout_ms, std::vector<ReadyKey>& ready) {
  ready.clear();
  const std::int64_t deadline_ns =
      timeout_ms > 0 ? os_.monotonic_ns() + std::int64_t{timeout_ms} * 1'000'000 : 0;
  for (;;) {
    ready_fds_.clear();
    if (wait_once(timeout_ms, ready_fds_)) break;
    if (os_.last_errno() != E::INTR) return fail(wait_call());
    // PEP 475: a signal does not end the wait; wait again for what is left of the timeout.
    if (timeout_ms > 0) {
      const std::int64_t left_ns = deadline_ns - os_.monotonic_ns();
      timeout_ms = left_ns <= 0 ? 0 : static_cast<int>((left_ns + 999'999) / 1'000'000);
    }
  }
  for (const auto& [fd, events] : ready_fds_) {
    const SelectorKey& key = keys_.at(fd);
    // Only what the key asked for: an error reported as EPOLLERR wakes only the registered side.
    if (const std::uint32_t wanted = events & key.events; wanted != 0) ready.push_back(ReadyKey{key, wanted});
  }
  return true;
}

std::unique_ptr<Selector> make_epoll_selector(Os& os, std::string& error) {
  const int epoll_fd = os.epoll_create1(EPOLL::CLOEXEC);
  if (epoll_fd < 0) {
    error = fmt::format("epoll_create1: {}", errno_name(os.last_errno()));
    return nullptr;
  }
  return std::make_unique<EpollSelector>(os, epoll_fd);
}

std::unique_ptr<Selector> make_poll_selector(Os& os) {
  return std::make_unique<PollSelector>(os);
}

std::unique_ptr<Selector> make_select_selector(Os& os) {
  return std::make_unique<SelectSelector>(os);
}

// Python's selectors module decides at import with _can_use(method): create an epoll object (and close it),
// or call poll(0) on an empty poll object; the first that does not raise wins. We probe the same way and keep
// the epoll fd the probe created instead of closing it.
std::unique_ptr<Selector> default_selector(Os& os) {
  std::string unavailable;
  if (std::unique_ptr<Selector> epoll = make_epoll_selector(os, unavailable)) return epoll;
  if (os.poll(nullptr, 0, 0) >= 0) return make_poll_selector(os);
  return make_select_selector(os);
}

std::unique_ptr<Selector> make_selector(Os& os, SelectorKind kind, std::string& error) {
  switch (kind) {
    case SelectorKind::epoll:
      return make_epoll_selector(os, error);
    case SelectorKind::poll:
      return make_poll_selector(os);
    case SelectorKind::select:
      return make_select_selector(os);
    case SelectorKind::automatic:
      break;
  }
  return default_selector(os);
}

}  // namespace iosim::selectors

// scenarios/selectors/selectors.hpp — Python's selectors module in C++ over iosim::Os: one Selector interface
// (register/modify/unregister an fd with events and data, select → ready keys) over epoll, poll and select.
//
// Why it exists (the seed article's closing section): select, poll and epoll answer the same question —
// "which of these fds can I read or write without blocking?" — with different costs and availability. The
// application should say what it watches once and not care which mechanism answers. DefaultSelector picks
// the best one the running system offers, as Python's selectors.DefaultSelector does: epoll, else poll,
// else select (kqueue and /dev/poll come before epoll in Python; iosim::Os has neither).
//
// Every selector here is level-triggered, as in Python: an fd is reported at every select() while it is
// ready.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iosim/os.hpp"

namespace iosim::selectors {

// Python's selectors.EVENT_READ and EVENT_WRITE.
inline constexpr std::uint32_t EVENT_READ = 1 << 0;
inline constexpr std::uint32_t EVENT_WRITE = 1 << 1;

struct SelectorKey;
// The data of a key. Python allows any object; the idiom (and the seed article's server) stores the function
// to call when the fd is ready — sel.register(conn, EVENT_READ, read) — so that is the type here.
using Callback = std::function<void(const SelectorKey& key, std::uint32_t events)>;

// Python's SelectorKey(fileobj, fd, events, data); an fd is iosim's only file object.
struct SelectorKey {
  int fd = -1;
  std::uint32_t events = 0;  // EVENT_READ | EVENT_WRITE
  Callback data;
};

// One result of select(): the key as it was registered, and which of its events are ready.
struct ReadyKey {
  SelectorKey key;
  std::uint32_t events = 0;
};

// The mechanism behind a selector (also the echo_selectors app's "selector" param: 0 auto, 1 epoll, ...).
enum class SelectorKind { automatic = 0, epoll = 1, poll = 2, select = 3 };

class Selector {
 public:
  explicit Selector(Os& os) : os_(os) {}
  virtual ~Selector() = default;
  Selector(const Selector&) = delete;
  Selector& operator=(const Selector&) = delete;

  // "epoll", "poll" or "select".
  virtual std::string_view name() const = 0;

  // Watches `fd` for `events` (a non-empty subset of EVENT_READ | EVENT_WRITE). Registering an fd twice is a
  // programmer error (Python: KeyError). Returns false on failure; error() says why.
  bool register_fd(int fd, std::uint32_t events, Callback data);  // `register` is a C++ keyword
  // Changes the events and data of a registered fd.
  bool modify(int fd, std::uint32_t events, Callback data);
  // Stops watching `fd`. Call it before close(fd), as Python's documentation asks.
  bool unregister(int fd);
  // Waits up to `timeout_ms` (-1: no limit, 0: just look) for registered fds to become ready and returns
  // them, each with its ready events, in `ready` (cleared first). EINTR is retried with the time left, as
  // Python does since PEP 475. Returns false on failure; error() says why.
  bool select(int timeout_ms, std::vector<ReadyKey>& ready);

  // The key of `fd`, or nullptr when it is not registered.
  const SelectorKey* get_key(int fd) const;
  std::size_t size() const { return keys_.size(); }
  // The first failure, "<call>: <errno name>" (e.g. "epoll_wait: EBADF"); empty while none.
  const std::string& error() const { return error_; }

 protected:
  // The mechanism's part: register/modify/unregister in the kernel (poll and select keep nothing there) and
  // one wait. keys_ is already updated when register/modify are called, and still holds the key on
  // unregister.
  virtual bool kernel_register(const SelectorKey&) { return true; }
  virtual bool kernel_modify(const SelectorKey&) { return true; }
  virtual bool kernel_unregister(int) { return true; }
  // One wait: appends (fd, ready events) to `ready_fds`. False when the call failed (the Os errno says why).
  virtual bool wait_once(int timeout_ms, std::vector<std::pair<int, std::uint32_t>>& ready_fds) = 0;
  // The syscall wait_once makes, for error messages.
  virtual std::string_view wait_call() const = 0;

  // Record the first failure: "<call>: <errno name>" from the Os errno, or a message of our own. Return
  // false.
  bool fail(std::string_view call);
  bool fail_with(std::string message);

  Os& os_;
  std::map<int, SelectorKey> keys_;  // by fd: the fd-to-key map of Python's BaseSelector

 private:
  std::string error_;
  std::vector<std::pair<int, std::uint32_t>> ready_fds_;
};

// Each returns a selector ready for use, or nullptr with `error` set when the mechanism is unavailable
// (epoll_create1 failed).
std::unique_ptr<Selector> make_epoll_selector(Os& os, std::string& error);
std::unique_ptr<Selector> make_poll_selector(Os& os);
std::unique_ptr<Selector> make_select_selector(Os& os);

// Python's DefaultSelector: the first mechanism that works on this system — epoll (probed by creating an
// epoll fd), else poll (probed by poll() on no fds with timeout 0), else select.
std::unique_ptr<Selector> default_selector(Os& os);

// The selector of `kind`; automatic means default_selector. nullptr with `error` set when unavailable.
std::unique_ptr<Selector> make_selector(Os& os, SelectorKind kind, std::string& error);

}  // namespace iosim::selectors

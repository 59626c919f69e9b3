// tests/differential.hpp — the sim-vs-Linux oracle: run one operation sequence on SimOs and on LinuxOs,
// record per step what the Os answered (value, errno, revents, select sets), and compare the two records step
// by step.
#pragma once

#include <fmt/format.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <rapidcheck.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "backends/linux/linux_os.hpp"
#include "backends/sim/sim_os.hpp"

namespace iosim::diff {

// One step: what was done and what the Os answered, both as text so two records compare with ==.
struct Observation {
  std::string step;
  std::string result;
  friend bool operator==(const Observation&, const Observation&) = default;
};
using Record = std::vector<Observation>;

// "IN|OUT|HUP" for a poll mask; "0" for none.
inline std::string poll_mask_name(int mask) {
  static constexpr std::pair<int, const char*> bits[] = {
      {POLL::IN, "IN"},         {POLL::PRI, "PRI"},       {POLL::OUT, "OUT"},       {POLL::ERR, "ERR"},
      {POLL::HUP, "HUP"},       {POLL::NVAL, "NVAL"},     {POLL::RDNORM, "RDNORM"}, {POLL::RDBAND, "RDBAND"},
      {POLL::WRNORM, "WRNORM"}, {POLL::WRBAND, "WRBAND"}, {POLL::MSG, "MSG"},       {POLL::RDHUP, "RDHUP"}};
  std::string text;
  for (const auto& [bit, name] : bits) {
    if (!(mask & bit)) continue;
    if (!text.empty()) text += '|';
    text += name;
  }
  return text.empty() ? "0" : text;
}

// "IN|OUT|ET|ONESHOT" for an epoll event mask: the poll bits plus epoll's private flags; "0" for none.
inline std::string epoll_mask_name(std::uint32_t mask) {
  static constexpr std::pair<std::uint32_t, const char*> flags[] = {{EPOLL::EXCLUSIVE, "EXCLUSIVE"},
                                                                    {EPOLL::WAKEUP, "WAKEUP"},
                                                                    {EPOLL::ONESHOT, "ONESHOT"},
                                                                    {EPOLL::ET, "ET"}};
  std::string text = (mask & 0xffff) ? poll_mask_name(static_cast<int>(mask & 0xffff)) : "";
  for (const auto& [bit, name] : flags) {
    if (!(mask & bit)) continue;
    if (!text.empty()) text += '|';
    text += name;
  }
  const std::uint32_t unnamed =
      mask & ~0xffffu & ~(EPOLL::EXCLUSIVE | EPOLL::WAKEUP | EPOLL::ONESHOT | EPOLL::ET);
  if (unnamed) text += fmt::format("{}{:#x}", text.empty() ? "" : "|", unnamed);
  return text.empty() ? "0" : text;
}

inline std::string epoll_op_name(int op) {
  switch (op) {
    case EPOLL::CTL_ADD:
      return "ADD";
    case EPOLL::CTL_DEL:
      return "DEL";
    case EPOLL::CTL_MOD:
      return "MOD";
    default:
      return fmt::format("op{}", op);
  }
}

// FNV-1a over received bytes: reads are compared by count and content without printing kilobytes.
inline std::uint32_t fnv1a(const char* data, std::size_t size) {
  std::uint32_t hash = 2166136261u;
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ static_cast<unsigned char>(data[i])) * 16777619u;
  return hash;
}

// A poll entry by name: `fd` is the number to pass (a closed or negative fd on purpose is allowed).
struct PollEntry {
  std::string name;
  int fd;
  short events;
};

// Drives one Os and keeps the record. Fds are known by name, because their numbers differ between backends.
class Recorder {
 public:
  explicit Recorder(Os& os) : os_(os) {}
  Os& os() { return os_; }
  bool on_linux() const { return os_.backend_name() == "linux"; }
  const Record& record() const { return record_; }

  // "n", or "-1 ENAME" when the call failed.
  std::string outcome(long result) const {
    return result < 0 ? fmt::format("{} {}", result, errno_name(os_.last_errno())) : std::to_string(result);
  }
  void note(std::string step, std::string result) { record_.push_back({std::move(step), std::move(result)}); }
  long call(std::string step, long result) {
    note(std::move(step), outcome(result));
    return result;
  }
  // An fd-creating call: records "fd" (not the number) and names the fd.
  int open(std::string step, const std::string& name, int result) {
    note(std::move(step), result >= 0 ? "fd" : outcome(result));
    if (result >= 0) fds_[name] = result;
    return result;
  }
  int fd(const std::string& name) const { return fds_.at(name); }
  bool has(const std::string& name) const { return fds_.contains(name); }
  std::string name_of(int fd) const {
    for (const auto& [name, number] : fds_)
      if (number == fd) return name;
    if (const auto it = closed_.find(fd); it != closed_.end()) return it->second + "(closed)";
    return fmt::format("#{}", fd);
  }
  long close(const std::string& name) {
    const long result = call(fmt::format("close({})", name), os_.close(fds_.at(name)));
    closed_[fds_.at(name)] = name;
    fds_.erase(name);
    return result;
  }
  // Fds still open at the end of a Linux run (the sim's kernel closes its own).
  void close_all() {
    for (const auto& [name, fd] : fds_) os_.close(fd);
    fds_.clear();
  }

  // --- composite steps ---
  int socketpair(const std::string& a, const std::string& b, int flags = 0) {
    int sv[2] = {-1, -1};
    const long result =
        call(fmt::format("socketpair({},{})", a, b), os_.socketpair(AF::UNIX, SOCK::STREAM | flags, 0, sv));
    if (result == 0) fds_[a] = sv[0], fds_[b] = sv[1];
    return static_cast<int>(result);
  }
  int pipe(const std::string& r, const std::string& w, int flags = 0) {
    int fds[2] = {-1, -1};
    const long result = call(fmt::format("pipe2({},{})", r, w), os_.pipe2(fds, flags));
    if (result == 0) fds_[r] = fds[0], fds_[w] = fds[1];
    return static_cast<int>(result);
  }
  // A bound listener on 127.0.0.1 with an ephemeral port; returns the port (not recorded: it differs).
  std::uint16_t listener(const std::string& name, int backlog = 16, int type_flags = 0) {
    open("socket(" + name + ")", name, os_.socket(AF::INET, SOCK::STREAM | type_flags, 0));
    call("bind(" + name + ", 127.0.0.1:0)", os_.bind(fd(name), SockAddr{loopback_ip, 0}));
    call("listen(" + name + ")", os_.listen(fd(name), backlog));
    return port_of(name);
  }
  std::uint16_t port_of(const std::string& name) {
    SockAddr addr{};
    call("getsockname(" + name + ")", os_.getsockname(fd(name), &addr));
    return addr.port;
  }
  // A connected loopback TCP pair: `client` connected (blocking) to a fresh listener, `server` accepted.
  void tcp_pair(const std::string& client, const std::string& server) {
    const std::string lsn = "listener(" + client + ")";
    const std::uint16_t port = listener(lsn);
    open("socket(" + client + ")", client, os_.socket(AF::INET, SOCK::STREAM, 0));
    call("connect(" + client + ")", os_.connect(fd(client), SockAddr{loopback_ip, port}));
    open("accept(" + lsn + ")", server, os_.accept4(fd(lsn), nullptr, 0));
    close(lsn);
  }
  // Writes `size` bytes of a pattern (byte i = seed + i) through write() or send(flags).
  long write(const std::string& name, std::size_t size, int flags = -1, int seed = 0) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(seed + static_cast<int>(i));
    if (flags < 0)
      return call(fmt::format("write({}, {})", name, size), os_.write(fd(name), bytes.data(), size));
    return call(fmt::format("send({}, {}, {:#x})", name, size, flags),
                os_.send(fd(name), bytes.data(), size, flags));
  }
  // Reads up to `size` bytes through read() or recv(flags); records the count and a hash of the bytes.
  long read(const std::string& name, std::size_t size, int flags = -1) {
    std::string bytes(size, '\0');
    const long result =
        flags < 0 ? os_.read(fd(name), bytes.data(), size) : os_.recv(fd(name), bytes.data(), size, flags);
    const std::string step = flags < 0 ? fmt::format("read({}, {})", name, size)
                                       : fmt::format("recv({}, {}, {:#x})", name, size, flags);
    if (result <= 0) return call(step, result);
    note(step, fmt::format("{} fnv={:08x}", result, fnv1a(bytes.data(), static_cast<std::size_t>(result))));
    return result;
  }
  // poll(2) over named entries: records the count and every entry's revents.
  int poll(std::vector<PollEntry> entries, int timeout_ms, const std::string& why = "") {
    std::vector<pollfd> fds;
    std::string step = "poll(";
    for (const PollEntry& entry : entries) {
      fds.push_back({entry.fd, entry.events, 0});
      step += fmt::format("{}:{} ", entry.name, poll_mask_name(entry.events));
    }
    step += fmt::format("t={}){}", timeout_ms, why.empty() ? "" : " " + why);
    const int result = os_.poll(fds.data(), fds.size(), timeout_ms);
    std::string text = outcome(result);
    if (result >= 0) {
      for (std::size_t i = 0; i < fds.size(); ++i)
        text += fmt::format(" {}={}", entries[i].name, poll_mask_name(fds[i].revents));
    }
    note(std::move(step), std::move(text));
    return result;
  }
  // Waits (up to 100 ms of real or virtual time) until `name` reports one of `events`: on Linux, loopback
  // delivery may finish in softirq context after the sending call returned. Recorded, so both backends agree.
  void settle(const std::string& name, short events) {
    std::vector<pollfd> fds{{fd(name), events, 0}};
    const int result = os_.poll(fds.data(), 1, 100);
    note(fmt::format("settle({}, {})", name, poll_mask_name(events)), result > 0 ? "ready" : outcome(result));
  }
  // On Linux, waits (up to 100 ms) until `sender` has transmitted everything it holds and `receiver` has
  // received all of it. After send returns, bytes can still be unsent (TCP Small Queues defers the
  // transmit to a tasklet) or between the two sockets (ksoftirqd delivers later under load), and
  // settle(peer, IN) alone passes when earlier unread bytes already make the peer readable. Unsent bytes:
  // SIOCOUTQNSD; transmitted and received: TCP_INFO's tcpi_bytes_sent and tcpi_bytes_received. Bytes a full
  // receive window holds back end the wait only at the deadline. Not recorded: the simulator delivers in
  // its own virtual time and needs no wait.
  void settle_in_flight(const std::string& sender, const std::string& receiver) {
    if (!on_linux()) return;
    for (int round = 0; round < 5000; ++round) {
      int unsent = 0;
      const std::optional<::tcp_info> sent = tcp_info_of(sender), received = tcp_info_of(receiver);
      if (::ioctl(fd(sender), SIOCOUTQNSD, &unsent) != 0 || !sent || !received) return;
      if (unsent == 0 && received->tcpi_bytes_received >= sent->tcpi_bytes_sent) return;
      os_.sleep_for(20'000);
    }
  }
  std::optional<::tcp_info> tcp_info_of(const std::string& name) const {
    ::tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(fd(name), IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return std::nullopt;
    return info;
  }
  // --- epoll and eventfd ---
  // epoll_ctl with fds given by number (a wrong one on purpose is allowed) and named by `epfd_name` and
  // `fd_name`; `event` may be null. Records the result.
  int epoll_ctl(const std::string& epfd_name, int epfd, int op, const std::string& fd_name, int fd,
                const epoll_event* event) {
    std::string step = fmt::format("epoll_ctl({}, {}, {}, ", epfd_name, epoll_op_name(op), fd_name);
    step += event ? fmt::format("{} data={})", epoll_mask_name(event->events), event->data) : "null)";
    epoll_event copy = event ? *event : epoll_event{};
    return static_cast<int>(call(std::move(step), os_.epoll_ctl(epfd, op, fd, event ? &copy : nullptr)));
  }
  // epoll_wait into `buffer` (which must hold every event the call can return); records the count and each
  // returned event as [data:MASK], in the order the kernel returned them.
  int epoll_wait(const std::string& epfd_name, int epfd, epoll_event* buffer, int maxevents, int timeout_ms) {
    const int result = os_.epoll_wait(epfd, buffer, maxevents, timeout_ms);
    std::string text = outcome(result);
    for (int i = 0; i < result; ++i)
      text += fmt::format(" [{}:{}]", buffer[i].data, epoll_mask_name(buffer[i].events));
    note(fmt::format("epoll_wait({}, max={}, t={})", epfd_name, maxevents, timeout_ms), std::move(text));
    return result;
  }
  // eventfd's 8-byte value; `size` other than 8 exercises the short-buffer rules.
  long eventfd_write(const std::string& name, std::uint64_t value, std::size_t size = 8) {
    char bytes[16] = {};
    std::memcpy(bytes, &value, sizeof value);
    return call(fmt::format("write({}, value={:#x}, {})", name, value, size),
                os_.write(fd(name), bytes, size));
  }
  long eventfd_read(const std::string& name, std::size_t size = 8) {
    char bytes[16] = {};
    const long result = os_.read(fd(name), bytes, std::min<std::size_t>(size, sizeof bytes));
    std::uint64_t value = 0;
    std::memcpy(&value, bytes, sizeof value);
    note(fmt::format("read({}, {})", name, size),
         result == 8 ? fmt::format("8 value={:#x}", value) : outcome(result));
    return result;
  }

  // Linux delays the ACK of a FIN (the receiver enters pingpong mode, to piggyback it on its own FIN); the
  // model ACKs at once. On Linux, TCP_QUICKACK on the receiver sends the pending ACK now, so the FIN's sender
  // is in FIN_WAIT2 (a state change, a wake-up) before the next step, as in the model. Not recorded: the
  // simulator has nothing to do.
  void ack_now(const std::string& receiver) {
    constexpr int tcp_quickack = 12;
    if (on_linux()) os_.setsockopt(fd(receiver), IPPROTO::TCP, tcp_quickack, 1);
  }

  // Linux only, not recorded: waits (up to 100 ms) until the FIN `sender` sent is acknowledged, i.e.
  // tcp_info's state has left FIN_WAIT1, CLOSING and LAST_ACK. Under load the softirq work may run late
  // (ksoftirqd), and that state change is an epoll edge the model has at once. (The first byte of struct
  // tcp_info is the state.)
  void settle_fin_acked(const std::string& sender) {
    constexpr int tcp_info = 11, fin_wait1 = 4, last_ack = 9, closing = 11;
    if (!on_linux()) return;
    for (int tries = 0; tries < 100; ++tries) {
      int info = 0;
      if (os_.getsockopt(fd(sender), IPPROTO::TCP, tcp_info, &info) != 0) return;
      const int state = info & 0xff;
      if (state != fin_wait1 && state != last_ack && state != closing) return;
      os_.sleep_for(1'000'000);
    }
  }

  // select(2) over named fds with a timeout in microseconds (-1: none); records count, sets and timeval.
  int select(const std::vector<std::string>& in, const std::vector<std::string>& out,
             const std::vector<std::string>& ex, std::int64_t timeout_us, const std::string& why = "") {
    return select_raw(numbers(in), numbers(out), numbers(ex), timeout_us, why);
  }
  int select_raw(const std::vector<int>& in, const std::vector<int>& out, const std::vector<int>& ex,
                 std::int64_t timeout_us, const std::string& why = "", int nfds = -1) {
    fd_set sets[3];
    int max_fd = -1;
    const std::vector<int>* lists[3] = {&in, &out, &ex};
    for (int i = 0; i < 3; ++i) {
      sets[i].zero();
      for (int fd : *lists[i]) sets[i].set(fd), max_fd = std::max(max_fd, fd);
    }
    timeval tv{timeout_us / 1'000'000, timeout_us % 1'000'000};
    if (nfds == -1) nfds = max_fd + 1;
    const int result = os_.select(nfds, &sets[0], &sets[1], &sets[2], timeout_us >= 0 ? &tv : nullptr);
    std::string step = fmt::format("select(r={} w={} e={} t={}us){}", names(in), names(out), names(ex),
                                   timeout_us, why.empty() ? "" : " " + why);
    std::string text = outcome(result);
    if (result >= 0) {
      text += fmt::format(" r={} w={} e={}", set_names(sets[0], in), set_names(sets[1], out),
                          set_names(sets[2], ex));
    }
    if (timeout_us >= 0) text += fmt::format(" tv={}.{:06}", tv.tv_sec, tv.tv_usec);
    note(std::move(step), std::move(text));
    return result;
  }

 private:
  std::vector<int> numbers(const std::vector<std::string>& names) const {
    std::vector<int> result;
    for (const std::string& name : names) result.push_back(fd(name));
    return result;
  }
  std::string names(const std::vector<int>& fds) const {
    std::string text = "{";
    for (int fd : fds) text += (text.size() > 1 ? "," : "") + name_of(fd);
    return text + "}";
  }
  std::string set_names(const fd_set& set, const std::vector<int>& asked) const {
    std::vector<int> ready;
    for (int fd : std::set<int>(asked.begin(), asked.end()))
      if (set.is_set(fd)) ready.push_back(fd);
    return names(ready);
  }

  Os& os_;
  Record record_;
  std::map<std::string, int> fds_;
  std::map<int, std::string> closed_;  // numbers closed through close(), for readable steps
};

using Sequence = std::function<void(Recorder&)>;

inline Record run_on_sim(const Sequence& sequence, SimConfig config = {}) {
  SimOs os(std::move(config));
  Recorder recorder(os);
  const SimOutcome outcome = os.run([&] { sequence(recorder); });
  Record record = recorder.record();
  if (outcome.run.outcome != sim::RunResult::Outcome::completed) {
    record.push_back(
        {"sim run", fmt::format("{} {}", sim::outcome_name(outcome.run.outcome), outcome.run.failure)});
  }
  return record;
}

inline Record run_on_linux(const Sequence& sequence) {
  LinuxOs os;
  Recorder recorder(os);
  sequence(recorder);
  recorder.close_all();
  return recorder.record();
}

// "" when the records agree; otherwise every step side by side, the differing ones marked with '!'.
inline std::string compare(const Record& sim, const Record& linux, std::string_view sim_label = "sim",
                           std::string_view linux_label = "lnx") {
  if (sim == linux) return "";
  std::string text = fmt::format("{} and {} differ (! marks a differing step):\n", sim_label, linux_label);
  const std::size_t steps = std::max(sim.size(), linux.size());
  for (std::size_t i = 0; i < steps; ++i) {
    const Observation none{"<missing>", ""};
    const Observation& s = i < sim.size() ? sim[i] : none;
    const Observation& l = i < linux.size() ? linux[i] : none;
    const bool same = s == l;
    text += fmt::format("{} {:3} {:<55} {}: {}\n", same ? ' ' : '!', i, s.step, sim_label, s.result);
    if (!same) text += fmt::format("  {:3} {:<55} {}: {}\n", "", l.step, linux_label, l.result);
  }
  return text;
}

// Runs on both backends; "" when they agree, else the readable diff.
inline std::string differential(const Sequence& sequence, SimConfig config = {}) {
  return compare(run_on_sim(sequence, std::move(config)), run_on_linux(sequence));
}

// As differential(), and when the backends differ, runs the sequence on Linux `reruns` more times: a Linux
// run that disagrees with the first means the real kernel is not deterministic for this sequence (a timing
// race the sequence must settle), which the report then says, with the two Linux records side by side.
inline std::string differential_rechecked(const Sequence& sequence, Record* sim_record = nullptr,
                                          int reruns = 2) {
  const Record sim = run_on_sim(sequence);
  if (sim_record) *sim_record = sim;
  const Record linux = run_on_linux(sequence);
  std::string diff = compare(sim, linux);
  if (diff.empty()) return diff;
  for (int i = 0; i < reruns; ++i) {
    const Record again = run_on_linux(sequence);
    if (again == linux) continue;
    diff += "\nLINUX IS NOT DETERMINISTIC for this sequence: a second run answered differently.\n";
    return diff + compare(linux, again, "lnx", "ln2");
  }
  return diff;
}

// How many random sequences a property runs: the environment variable `variable` when set (the `long` ctest
// entries set it to 10 000), else `default_count`.
inline int sequence_count(const char* variable, int default_count) {
  const char* text = std::getenv(variable);
  return text ? std::atoi(text) : default_count;
}

// Runs the rapidcheck property `body` (which draws its inputs with *gen and fails with RC_FAIL) exactly
// `count` times; "" when every run passed, else rapidcheck's report: the shrunk counterexample and its
// message.
template <class Body>
std::string check_sequences(const std::string& name, int count, Body body) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = count;
  const rc::detail::TestMetadata metadata{name, "sim == linux"};
  const auto result = rc::detail::checkTestable(body, metadata, params);
  if (result.template is<rc::detail::SuccessResult>()) {
    const int ran = result.template get<rc::detail::SuccessResult>().numSuccess;
    return ran == count ? "" : fmt::format("only {} of {} sequences ran", ran, count);
  }
  std::ostringstream message;
  rc::detail::printResultMessage(result, message);
  return message.str();
}

}  // namespace iosim::diff

// tests/differential_property_test.cpp — random operation sequences over a socketpair, a pipe and a loopback
// TCP pair, run on SimOs and on LinuxOs; every step must agree. rapidcheck shrinks a failing sequence and
// prints it.
//
// Sequences stay far below every buffer (at most 24 writes and 16 KiB per endpoint): Linux charges sk_buff
// overhead against the buffers and autotunes TCP, so where a write would block is not comparable. Blocking
// reads are guarded by a poll (recorded on both backends) so no sequence can hang the real kernel.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <ostream>

#include "differential.hpp"

namespace iosim::diff {
namespace {

enum class Kind : std::uint8_t {
  write,
  send,
  read,
  recv,
  shutdown,
  close,
  dup,
  nonblock,
  poll,
  select,
  count
};
constexpr const char* kind_names[] = {"write", "send", "read",     "recv", "shutdown",
                                      "close", "dup",  "nonblock", "poll", "select"};

constexpr int endpoint_count = 6;
constexpr const char* endpoint_names[endpoint_count] = {"a", "b", "r", "w", "c", "s"};
constexpr int writes_per_endpoint_max = 24;
constexpr int bytes_per_endpoint_max = 16 * 1024;
constexpr int dups_per_endpoint_max = 3;

// One generated operation. `slot` picks among the endpoint's open fds (it may have dups); `bits` are the
// op's flags (send/recv flags, shutdown how, poll events, write set of select); `subset` picks endpoints.
struct Op {
  Kind kind;
  int endpoint;
  int slot;
  int size;
  int bits;
  int subset;
};

void showValue(const Op& op, std::ostream& os) {
  os << kind_names[static_cast<int>(op.kind)] << "(" << endpoint_names[op.endpoint] << " slot=" << op.slot
     << " size=" << op.size << " bits=" << op.bits << " subset=" << op.subset << ")";
}

rc::Gen<Op> gen_op() {
  return rc::gen::apply(
      [](int kind, int endpoint, int slot, int size, int bits, int subset) {
        return Op{static_cast<Kind>(kind), endpoint, slot, size, bits, subset};
      },
      rc::gen::inRange(0, static_cast<int>(Kind::count)), rc::gen::inRange(0, endpoint_count),
      rc::gen::inRange(0, dups_per_endpoint_max), rc::gen::inRange(0, 2049), rc::gen::inRange(0, 64),
      rc::gen::inRange(0, 64));
}

rc::Gen<std::vector<Op>> gen_sequence() {
  return rc::gen::mapcat(rc::gen::inRange(1, 31),
                         [](int length) { return rc::gen::container<std::vector<Op>>(length, gen_op()); });
}

// What the executor knows about an endpoint (an open file description), identically on both backends: it
// depends only on the ops, never on results, so the two runs issue the same calls.
struct Endpoint {
  std::vector<std::string> fds;  // open fd names: the original and its dups
  bool nonblocking = false;
  int writes = 0;
  int bytes = 0;
  int dups_made = 0;
};

class Executor {
 public:
  explicit Executor(Recorder& r) : r_(r) {
    r.socketpair("a", "b");
    r.pipe("r", "w");
    r.tcp_pair("c", "s");
    for (int e = 0; e < endpoint_count; ++e) endpoints_[e].fds = {endpoint_names[e]};
  }

  void run(const Op& op) {
    Endpoint& e = endpoints_[op.endpoint];
    if (op.kind == Kind::poll) return poll(op);
    if (op.kind == Kind::select) return select(op);
    if (e.fds.empty()) return;  // every fd of this endpoint is closed
    const std::string name = e.fds[static_cast<std::size_t>(op.slot) % e.fds.size()];
    switch (op.kind) {
      case Kind::write:
      case Kind::send:
        return write(op, e, name);
      case Kind::read:
      case Kind::recv:
        return read(op, e, name);
      case Kind::shutdown:
        return shutdown(op, name);
      case Kind::close:
        return close(op, e, name);
      case Kind::dup:
        return dup(e, name);
      case Kind::nonblock:
        return nonblock(op, e, name);
      default:
        return;
    }
  }

 private:
  static bool is_tcp(int endpoint) { return endpoint >= 4; }
  static int peer_of(int endpoint) { return endpoint ^ 1; }
  // The peer's first open fd, or "" when the peer endpoint is closed.
  std::string open_peer(int endpoint) const {
    const Endpoint& peer = endpoints_[peer_of(endpoint)];
    return peer.fds.empty() ? "" : peer.fds.front();
  }

  void write(const Op& op, Endpoint& e, const std::string& name) {
    if (e.writes >= writes_per_endpoint_max || e.bytes + op.size > bytes_per_endpoint_max) return;
    ++e.writes;
    e.bytes += op.size;
    const int flags = op.kind == Kind::write
                          ? -1
                          : ((op.bits & 1) ? MSG::DONTWAIT : 0) | ((op.bits & 2) ? MSG::NOSIGNAL : 0);
    const long written = r_.write(name, static_cast<std::size_t>(op.size), flags, e.writes * 7);
    if (!is_tcp(op.endpoint) || written <= 0) return;
    // Loopback delivery may complete after the call on Linux: wait for the data at the peer, or for the
    // RST a closed peer answers with.
    const std::string peer = open_peer(op.endpoint);
    if (!peer.empty()) r_.settle_in_flight(name, peer);
    peer.empty() ? r_.settle(name, POLL::ERR) : r_.settle(peer, POLL::IN);
  }

  void read(const Op& op, Endpoint& e, const std::string& name) {
    const int flags =
        op.kind == Kind::read ? -1 : ((op.bits & 1) ? MSG::PEEK : 0) | ((op.bits & 2) ? MSG::DONTWAIT : 0);
    const bool may_block = !e.nonblocking && (flags < 0 || !(flags & MSG::DONTWAIT));
    if (may_block && r_.poll({{name, r_.fd(name), POLL::IN}}, 0, "(guard: would the read block?)") <= 0)
      return;
    r_.read(name, static_cast<std::size_t>(op.size), flags);
  }

  void shutdown(const Op& op, const std::string& name) {
    const int how = op.bits % 4;  // 3 is invalid: EINVAL
    r_.call(fmt::format("shutdown({}, {})", name, how), r_.os().shutdown(r_.fd(name), how));
    const std::string peer = open_peer(op.endpoint);
    if (is_tcp(op.endpoint) && (how == SHUT::WR || how == SHUT::RDWR) && !peer.empty())
      r_.settle(peer, POLL::RDHUP);
  }

  void close(const Op& op, Endpoint& e, const std::string& name) {
    r_.close(name);
    std::erase(e.fds, name);
    const std::string peer = open_peer(op.endpoint);
    if (is_tcp(op.endpoint) && e.fds.empty() && !peer.empty()) r_.settle(peer, POLL::RDHUP);  // FIN or RST
  }

  void dup(Endpoint& e, const std::string& name) {
    if (e.dups_made >= dups_per_endpoint_max) return;
    const std::string copy = fmt::format("{}+{}", e.fds.front().substr(0, 1), ++e.dups_made);
    if (r_.open(fmt::format("dup({})", name), copy, r_.os().dup(r_.fd(name))) >= 0) e.fds.push_back(copy);
  }

  void nonblock(const Op& op, Endpoint& e, const std::string& name) {
    e.nonblocking = (op.bits & 1) != 0;
    r_.call(fmt::format("fcntl({}, F_SETFL, {})", name, e.nonblocking ? "O_NONBLOCK" : "0"),
            r_.os().fcntl(r_.fd(name), F::SETFL, e.nonblocking ? O::NONBLOCK : 0));
  }

  std::vector<std::string> pick(int mask) const {
    std::vector<std::string> names;
    for (int e = 0; e < endpoint_count; ++e) {
      if ((mask & (1 << e)) && !endpoints_[e].fds.empty()) names.push_back(endpoints_[e].fds.front());
    }
    return names;
  }

  void poll(const Op& op) {
    const short events =
        static_cast<short>(((op.bits & 1) ? POLL::IN : 0) | ((op.bits & 2) ? POLL::OUT : 0) |
                           ((op.bits & 4) ? POLL::RDHUP : 0) | ((op.bits & 8) ? POLL::PRI : 0));
    std::vector<PollEntry> entries;
    for (const std::string& name : pick(op.subset)) entries.push_back({name, r_.fd(name), events});
    r_.poll(entries, 0);
  }

  void select(const Op& op) { r_.select(pick(op.subset), pick(op.bits), pick(op.subset & op.bits), 0); }

  Recorder& r_;
  Endpoint endpoints_[endpoint_count];
};

TEST(DifferentialProperty, RandomSequencesAgreeWithLinux) {
  const std::string failure = check_sequences("DifferentialProperty/RandomSequencesAgreeWithLinux",
                                              sequence_count("IOSIM_DIFF_SEQUENCES", 500), [] {
                                                const std::vector<Op> ops = *gen_sequence();
                                                const Sequence sequence = [&ops](Recorder& r) {
                                                  Executor executor(r);
                                                  for (const Op& op : ops) executor.run(op);
                                                };
                                                const std::string diff = differential(sequence);
                                                if (!diff.empty()) RC_FAIL(diff);
                                              });
  EXPECT_TRUE(failure.empty()) << failure;
}

}  // namespace
}  // namespace iosim::diff

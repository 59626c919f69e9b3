// tests/epoll_conformance_test.cpp — the epoll conformance suite: random sequences of epoll_create1,
// epoll_ctl, epoll_wait (timeout 0) and the I/O that drives readiness, over socketpairs, pipes, eventfds,
// loopback TCP connections, listening sockets and nested epoll sets, run on SimOs and on LinuxOs. Every
// result, errno and returned event list (data and mask, in the kernel's order) must agree; rapidcheck shrinks
// a failing sequence and prints the step-by-step diff (and the first failure as found, before shrinking).
//
// Event lists are compared in order, not as multisets: with one thread, Linux's ready-list order follows from
// the order of the wake-ups (wait queues walked head first, exclusive entries at the tail),
// ep_poll_callback's list_add_tail and ep_send_events (level-triggered items requeued at the tail, items
// beyond maxevents put back at the head), all of which the model mirrors, so no order here depends on what
// iosim cannot observe.
//
// Every fd is non-blocking. AF_UNIX and pipe writes may fill their buffers (the model charges what Linux
// does: skb truesize, pipe pages). TCP stays, as in differential_property_test.cpp, within 24 writes and 16
// KiB per endpoint, far below every buffer (Linux autotunes TCP buffers, so where a write would block is not
// comparable), and loopback TCP delivery is settled with a recorded poll.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <ostream>

#include "differential.hpp"

namespace iosim::diff {
namespace {

enum class Kind : std::uint8_t {
  create,
  write,
  read,
  shutdown,
  close,
  dup,
  epoll_create,
  ctl,
  wait,
  poll,
  connect,
  accept,
  count
};
constexpr const char* kind_names[] = {"create",       "write", "read", "shutdown", "close",   "dup",
                                      "epoll_create", "ctl",   "wait", "poll",     "connect", "accept"};

// One generated operation. `pick` chooses the fd (or the kind of object to create), `target` the fd an
// epoll_ctl watches, `bits` the flags (event mask, op, maxevents, how), `size` a byte count. The executor
// maps each onto what is open, so every op is meaningful after shrinking.
struct Op {
  Kind kind;
  int pick;
  int target;
  std::uint64_t bits;
  int size;
};

void showValue(const Op& op, std::ostream& os) {
  os << kind_names[static_cast<int>(op.kind)] << "(pick=" << op.pick << " target=" << op.target
     << " bits=" << op.bits << " size=" << op.size << ")";
}

rc::Gen<Op> gen_op() {
  const auto kind = rc::gen::weightedElement<Kind>({{3, Kind::create},
                                                    {10, Kind::write},
                                                    {8, Kind::read},
                                                    {2, Kind::shutdown},
                                                    {3, Kind::close},
                                                    {3, Kind::dup},
                                                    {2, Kind::epoll_create},
                                                    {24, Kind::ctl},
                                                    {20, Kind::wait},
                                                    {3, Kind::poll},
                                                    {2, Kind::connect},
                                                    {2, Kind::accept}});
  return rc::gen::apply(
      [](Kind k, int pick, int target, std::uint64_t bits, int size) {
        return Op{k, pick, target, bits, size};
      },
      kind, rc::gen::inRange(0, 64), rc::gen::inRange(0, 64), rc::gen::arbitrary<std::uint64_t>(),
      rc::gen::inRange(0, 2049));
}

constexpr int ops_max = 80;

// Sequences of 0 to ops_max ops, each drawn at full size from the first sequence on (rapidcheck would
// otherwise start with tiny picks and masks). A plain container shrinks by removing any op, not only the
// last.
rc::Gen<std::vector<Op>> gen_sequence() {
  return rc::gen::resize(ops_max,
                         rc::gen::container<std::vector<Op>>(rc::gen::resize(rc::kNominalSize, gen_op())));
}

enum class FileKind : std::uint8_t { unix_stream, pipe_read, pipe_write, tcp, listener, eventfd, epoll };

constexpr int peer_none = -1;     // no peer, or the peer's connection was reset before accept()
constexpr int peer_pending = -2;  // a connection still in the listener's accept queue

// An open file description, known identically on both backends: it depends only on the ops, never on results,
// so the two runs issue the same calls.
struct Description {
  FileKind kind;
  std::vector<std::string> fds;  // open fd names: the original and its dups
  int peer = peer_none;          // the other end of a socketpair, pipe or TCP connection
  std::uint16_t port = 0;        // a listener's
  std::vector<int> pending;      // a listener's: connecting clients not accepted yet, oldest first
  int connects = 0;              // a listener's
  bool shut_read = false;        // a TCP socket's shutdown() so far
  bool shut_write = false;
  long unread_at_peer = 0;  // a TCP socket's: bytes it wrote that its peer has not read
  int writes = 0;
  int bytes = 0;
  int dups_made = 0;
};

constexpr int descriptions_max = 20;
constexpr int epolls_max = 6;
constexpr int tcp_pairs_max = 3;
constexpr int listeners_max = 2;
constexpr int connects_per_listener_max = 4;  // below the backlog (8): no SYN is dropped and retransmitted
constexpr int writes_per_endpoint_max = 24;
constexpr int bytes_per_endpoint_max = 16 * 1024;
constexpr int dups_per_description_max = 2;
// Every epoll_wait's buffer: more than the items one epoll set can hold (at most one per ctl op).
constexpr int wait_buffer_events = ops_max + 4;
constexpr int ep_max_events = INT_MAX / 12;  // Linux EP_MAX_EVENTS (x86-64 packs struct epoll_event)
constexpr int fd_never_open = 1'000'000;     // beyond every fd table: EBADF on both backends

// The bits of an op, consumed a few at a time. All-zero bits (where shrinking goes) mean the common choices.
class Bits {
 public:
  explicit Bits(std::uint64_t bits) : bits_(bits) {}
  unsigned take(int count) {
    const auto value = static_cast<unsigned>(bits_ & ((std::uint64_t{1} << count) - 1));
    bits_ >>= count;
    return value;
  }
  // True once in 2^log: when the bits taken are all ones, so that bits shrunk to 0 take the common path.
  bool one_in(int log) { return take(log) == (1u << log) - 1; }

 private:
  std::uint64_t bits_;
};

// What a sequence dwells on: everything evenly, nested epoll sets (deep chains, cycles, ELOOP), or TCP
// (connections and listeners from the start, created more often).
enum class Profile : std::uint8_t { mixed, nesting, tcp };

void showValue(Profile profile, std::ostream& os) {
  os << (profile == Profile::mixed ? "mixed" : profile == Profile::nesting ? "nesting" : "tcp");
}

class Executor {
 public:
  Executor(Recorder& r, Profile profile) : r_(r), profile_(profile) {
    create_socketpair();
    create_pipe();
    create_eventfd(0, 0);
    create_epoll(0);
    create_epoll(0);
    if (profile_ == Profile::tcp) create_tcp(), create_listener();
  }

  void run(const Op& op) {
    switch (op.kind) {
      case Kind::create:
        return create(op);
      case Kind::write:
        return write(op);
      case Kind::read:
        return read(op);
      case Kind::shutdown:
        return shutdown(op);
      case Kind::close:
        return close(op);
      case Kind::dup:
        return dup(op);
      case Kind::epoll_create:
        return create_epoll(op.bits);
      case Kind::ctl:
        return ctl(op);
      case Kind::wait:
        return wait(op);
      case Kind::poll:
        return poll(op);
      case Kind::connect:
        return connect(op);
      case Kind::accept:
        return accept(op);
      default:
        return;
    }
  }

 private:
  // --- creating ---
  int add(FileKind kind, const std::string& name) {
    descriptions_.push_back(Description{kind, {name}});
    return static_cast<int>(descriptions_.size()) - 1;
  }
  void pair_up(int a, int b) { descriptions_[a].peer = b, descriptions_[b].peer = a; }

  void create(const Op& op) {
    if (descriptions_.size() + 2 > descriptions_max) return;
    // A TCP sequence creates connections and listeners three times in four.
    const int kind = profile_ == Profile::tcp && op.pick % 4 != 0 ? 3 + op.pick % 2 : op.pick % 5;
    switch (kind) {
      case 0:
        return create_socketpair();
      case 1:
        return create_pipe();
      case 2:
        return create_eventfd(op.size % 3, op.bits);
      case 3:
        return create_tcp();
      default:
        return create_listener();
    }
  }
  void create_socketpair() {
    const std::string a = fmt::format("u{}a", counts_[0]), b = fmt::format("u{}b", counts_[0]);
    ++counts_[0];
    if (r_.socketpair(a, b, SOCK::NONBLOCK) == 0)
      pair_up(add(FileKind::unix_stream, a), add(FileKind::unix_stream, b));
  }
  void create_pipe() {
    const std::string rd = fmt::format("p{}r", counts_[1]), wr = fmt::format("p{}w", counts_[1]);
    ++counts_[1];
    if (r_.pipe(rd, wr, O::NONBLOCK) == 0)
      pair_up(add(FileKind::pipe_read, rd), add(FileKind::pipe_write, wr));
  }
  void create_eventfd(unsigned initval, std::uint64_t bits) {
    const std::string name = fmt::format("e{}", counts_[2]++);
    const int flags = EFD::NONBLOCK | ((bits & 1) ? EFD::SEMAPHORE : 0);
    const int fd = r_.open(fmt::format("eventfd({}, NONBLOCK{})", initval, (bits & 1) ? "|SEMAPHORE" : ""),
                           name, r_.os().eventfd(initval, flags));
    if (fd >= 0) add(FileKind::eventfd, name);
  }
  void create_tcp() {
    if (counts_[3] >= tcp_pairs_max) return;
    const std::string c = fmt::format("t{}c", counts_[3]), s = fmt::format("t{}s", counts_[3]);
    ++counts_[3];
    r_.tcp_pair(c, s);
    // TCP_NODELAY: the model sends every write at once (no Nagle, kernel_model/tcp.hpp). Linux would hold a
    // small write back while an earlier one is unacknowledged, and it could arrive after a later shutdown.
    for (const std::string& name : {c, s}) {
      r_.call(fmt::format("fcntl({}, F_SETFL, O_NONBLOCK)", name),
              r_.os().fcntl(r_.fd(name), F::SETFL, O::NONBLOCK));
      r_.call(fmt::format("setsockopt({}, TCP_NODELAY)", name),
              r_.os().setsockopt(r_.fd(name), IPPROTO::TCP, TCP::NODELAY, 1));
    }
    pair_up(add(FileKind::tcp, c), add(FileKind::tcp, s));
  }
  void tcp_options(const std::string& name) {
    r_.call(fmt::format("setsockopt({}, TCP_NODELAY)", name),
            r_.os().setsockopt(r_.fd(name), IPPROTO::TCP, TCP::NODELAY, 1));
  }
  void create_listener() {
    if (counts_[5] >= listeners_max) return;
    const std::string name = fmt::format("l{}", counts_[5]++);
    const std::uint16_t port = r_.listener(name, 8, SOCK::NONBLOCK);
    if (!r_.has(name)) return;
    tcp_options(name);
    descriptions_[add(FileKind::listener, name)].port = port;
  }
  void create_epoll(std::uint64_t bits) {
    if (epolls_ >= epolls_max) return;
    Bits b(bits);
    const int flags = b.one_in(3) ? EPOLL::CLOEXEC : (b.one_in(4) ? 1 : 0);  // 1: invalid, EINVAL
    const std::string name = fmt::format("ep{}", counts_[4]++);
    if (r_.open(fmt::format("epoll_create1({:#x})", flags), name, r_.os().epoll_create1(flags)) >= 0) {
      ++epolls_;
      add(FileKind::epoll, name);
    }
  }

  // --- choosing fds ---
  struct Choice {
    int description = -1;  // -1: not an open fd
    std::string name;
    int fd = -1;
  };
  // The `pick`-th open fd among those `accept` allows (in creation order), or none.
  template <class Accept>
  Choice choose(int pick, Accept accept) const {
    std::vector<Choice> open;
    for (int d = 0; d < static_cast<int>(descriptions_.size()); ++d) {
      if (!accept(descriptions_[d])) continue;
      for (const std::string& name : descriptions_[d].fds) open.push_back({d, name, r_.fd(name)});
    }
    if (open.empty()) return {};
    return open[static_cast<std::size_t>(pick) % open.size()];
  }
  Choice any_fd(int pick) const {
    return choose(pick, [](const Description&) { return true; });
  }
  Choice io_fd(int pick) const {
    return choose(pick, [](const Description& d) { return d.kind != FileKind::epoll; });
  }
  // An fd to write (read): not the read (write) end of a pipe, unless `any` (then EBADF is possible).
  Choice io_fd_for(int pick, bool writing, bool any) const {
    const FileKind wrong_end = writing ? FileKind::pipe_read : FileKind::pipe_write;
    return choose(pick, [&](const Description& d) {
      return d.kind != FileKind::epoll && (any || d.kind != wrong_end);
    });
  }
  Choice epoll_fd(int pick) const {
    const Choice choice = choose(pick, [](const Description& d) { return d.kind == FileKind::epoll; });
    return choice.description >= 0 ? choice : any_fd(pick);
  }
  // Mostly a real fd; one time in sixteen an fd that is not open (EBADF).
  Choice any_fd_or_bad(int pick, Bits& bits) const {
    if (!bits.one_in(4)) return any_fd(pick);
    const bool negative = bits.take(1) != 0;
    return Choice{-1, negative ? "fd(-1)" : "fd(never)", negative ? -1 : fd_never_open};
  }
  // What epoll_ctl watches: mostly an I/O fd; one time in eight an epoll set (nesting, loops, the set itself;
  // one time in two in a nesting sequence), else any fd or one that is not open.
  Choice watch_target(int pick, Bits& b) const {
    const unsigned choice = b.take(4);
    if (choice < (profile_ == Profile::nesting ? 6u : 12u)) return io_fd(pick);
    if (choice < 14) return epoll_fd(pick);
    if (choice == 14) return any_fd(pick);
    const bool negative = b.take(1) != 0;
    return Choice{-1, negative ? "fd(-1)" : "fd(never)", negative ? -1 : fd_never_open};
  }
  std::string peer_open_fd(int description) const {
    const int peer = descriptions_[description].peer;
    return peer < 0 || descriptions_[peer].fds.empty() ? "" : descriptions_[peer].fds.front();
  }

  // --- I/O ---
  void write(const Op& op) {
    const Choice c = io_fd_for(op.pick, true, op.size % 16 == 15);
    if (c.description < 0) return;
    Description& d = descriptions_[c.description];
    if (d.kind == FileKind::eventfd) return eventfd_write(c, op);
    if (d.kind == FileKind::listener) {
      r_.write(c.name, static_cast<std::size_t>(op.size), MSG::NOSIGNAL);  // EPIPE: not connected
      return;
    }
    if (d.kind != FileKind::tcp) return write_local(c, op);
    if (d.writes >= writes_per_endpoint_max || d.bytes + op.size > bytes_per_endpoint_max) return;
    if (known_difference_abort(d)) return;
    ++d.writes;
    d.bytes += op.size;
    const long written =
        r_.write(c.name, static_cast<std::size_t>(op.size), (op.bits & 1) ? MSG::NOSIGNAL : -1, d.writes);
    if (written > 0) d.unread_at_peer += written;
    if (written <= 0 || d.peer == peer_pending) return;  // not accepted yet: nothing to settle on
    // Loopback delivery may complete after the call on Linux: wait for the data at the peer, or for the RST
    // a closed peer answers with.
    const std::string peer = peer_open_fd(c.description);
    peer.empty() ? r_.settle(c.name, POLL::ERR) : r_.settle(peer, POLL::IN);
  }
  // AF_UNIX and pipe writes may fill the buffer: the model charges what Linux charges (skb truesize, pipe
  // pages), so partial writes, EAGAIN and the EPOLLOUT edges when space comes back are all compared.
  void write_local(const Choice& c, const Op& op) {
    static constexpr int big_sizes[] = {4096, 16384, 65536, 212992};
    Bits b(op.bits);
    const bool pipe = descriptions_[c.description].kind != FileKind::unix_stream;
    // send() on a pipe is ENOTSOCK: pipes mostly write().
    const int flags = (pipe ? b.one_in(3) : b.take(1) != 0) ? MSG::NOSIGNAL : -1;
    const int size = b.one_in(2) ? big_sizes[b.take(2)] : op.size;
    r_.write(c.name, static_cast<std::size_t>(size), flags, ++descriptions_[c.description].writes);
  }
  void eventfd_write(const Choice& c, const Op& op) {
    static constexpr std::uint64_t values[] = {1, 1, 2, 3, 0, 0xfffffffffffffffeull, 0xffffffffffffffffull,
                                               1};
    Bits b(op.bits);
    const std::uint64_t value = values[b.take(3)];
    r_.eventfd_write(c.name, value, b.one_in(4) ? 4 : 8);
  }

  void read(const Op& op) {
    const Choice c = io_fd_for(op.pick, false, op.size % 16 == 15);
    if (c.description < 0) return;
    if (descriptions_[c.description].kind == FileKind::eventfd) {
      r_.eventfd_read(c.name, Bits(op.bits).one_in(4) ? 4 : 8);
      return;
    }
    const FileKind kind = descriptions_[c.description].kind;
    const bool big = kind != FileKind::tcp && kind != FileKind::listener && Bits(op.bits).one_in(2);
    const long got = r_.read(c.name, big ? 70000 : static_cast<std::size_t>(op.size));
    const int peer = descriptions_[c.description].peer;
    if (kind == FileKind::tcp && got > 0 && peer >= 0) descriptions_[peer].unread_at_peer -= got;
  }

  void shutdown(const Op& op) {
    const Choice c = io_fd(op.pick);
    if (c.description < 0) return;
    const int how = static_cast<int>(op.bits % 4);  // 3 is invalid: EINVAL
    Description& d = descriptions_[c.description];
    // Not a connection still in the accept queue: its FIN's ACK could not be hurried (ack_now below).
    if (d.peer == peer_pending) return;
    if (d.kind == FileKind::tcp && (how == SHUT::WR || how == SHUT::RDWR) && known_difference_delayed_ack(d))
      return;
    r_.call(fmt::format("shutdown({}, {})", c.name, how), r_.os().shutdown(c.fd, how));
    if (d.kind == FileKind::listener && (how == SHUT::RD || how == SHUT::RDWR)) listen_stopped(d);
    if (d.kind != FileKind::tcp) return;
    d.shut_read |= how == SHUT::RD || how == SHUT::RDWR;
    d.shut_write |= how == SHUT::WR || how == SHUT::RDWR;
    const std::string peer = peer_open_fd(c.description);
    if ((how == SHUT::WR || how == SHUT::RDWR) && !peer.empty()) {
      r_.settle(peer, POLL::RDHUP);  // the FIN arrived
      r_.ack_now(peer);              // and its ACK (FIN_WAIT2), as at once in the model
      r_.settle_fin_acked(c.name);
    }
  }

  void close(const Op& op) {
    const Choice c = any_fd(op.pick);
    if (c.description < 0) return;
    Description& d = descriptions_[c.description];
    r_.close(c.name);
    std::erase(d.fds, c.name);
    if (d.kind == FileKind::epoll && d.fds.empty()) --epolls_;
    if (d.kind == FileKind::listener && d.fds.empty()) listen_stopped(d);
    const std::string peer = peer_open_fd(c.description);
    if (d.kind == FileKind::tcp && d.fds.empty() && !peer.empty())
      r_.settle(peer, POLL::RDHUP);  // FIN or RST
  }

  void dup(const Op& op) {
    const Choice c = any_fd(op.pick);
    if (c.description < 0) return;
    Description& d = descriptions_[c.description];
    if (d.dups_made >= dups_per_description_max) return;
    const std::string copy =
        fmt::format("{}+{}", d.fds.front().substr(0, d.fds.front().find('+')), ++d.dups_made);
    if (r_.open(fmt::format("dup({})", c.name), copy, r_.os().dup(c.fd)) >= 0) d.fds.push_back(copy);
  }

  // --- listening sockets ---
  Choice listener_fd(int pick) const {
    return choose(pick, [](const Description& d) { return d.kind == FileKind::listener; });
  }
  // A non-blocking connect to a listener: EINPROGRESS, then settled until the handshake is done (the
  // connection waits in the accept queue, readable at the listener).
  void connect(const Op& op) {
    const Choice l = listener_fd(op.pick);
    if (l.description < 0 || descriptions_.size() + 1 > descriptions_max) return;
    Description& listener = descriptions_[l.description];
    if (listener.connects >= connects_per_listener_max) return;
    const std::string name = fmt::format("{}c{}", listener.fds.front().substr(0, 2), listener.connects++);
    if (r_.open(fmt::format("socket({})", name), name,
                r_.os().socket(AF::INET, SOCK::STREAM | SOCK::NONBLOCK, 0)) < 0)
      return;
    tcp_options(name);
    r_.call(fmt::format("connect({}, {})", name, l.name),
            r_.os().connect(r_.fd(name), SockAddr{loopback_ip, listener.port}));
    r_.settle(name, POLL::OUT);
    const int client = add(FileKind::tcp, name);
    descriptions_[client].peer = peer_pending;
    descriptions_[l.description].pending.push_back(client);
  }
  void accept(const Op& op) {
    const Choice l = listener_fd(op.pick);
    if (l.description < 0 || descriptions_.size() + 1 > descriptions_max) return;
    const std::string name = fmt::format("{}a{}", l.name.substr(0, 2), counts_[6]++);
    if (r_.open(fmt::format("accept4({}, SOCK_NONBLOCK)", l.name), name,
                r_.os().accept4(l.fd, nullptr, SOCK::NONBLOCK)) < 0) {
      return;
    }
    tcp_options(name);
    const int server = add(FileKind::tcp, name);
    std::vector<int>& pending = descriptions_[l.description].pending;
    if (pending.empty()) return;  // the backends agreed on an accept nobody connected for: no peer known
    pair_up(server, pending.front());
    pending.erase(pending.begin());
  }
  // The listener stopped listening (closed, or shut down for reading): Linux resets every connection in its
  // accept queue (inet_csk_listen_stop); settle until each waiting client has its RST.
  void listen_stopped(Description& listener) {
    for (const int client : listener.pending) {
      descriptions_[client].peer = peer_none;
      if (!descriptions_[client].fds.empty()) r_.settle(descriptions_[client].fds.front(), POLL::ERR);
    }
    listener.pending.clear();
  }

  // --- epoll ---
  // An event mask: mostly IN and OUT, often ET, sometimes the rarer bits, now and then nothing at all.
  static std::uint32_t event_mask(Bits& b) {
    std::uint32_t events = 0;
    if (b.take(2) != 3) events |= EPOLL::IN;
    if (b.take(1)) events |= EPOLL::OUT;
    if (b.one_in(2)) events |= EPOLL::RDHUP;
    if (b.one_in(3)) events |= EPOLL::PRI;
    if (b.one_in(3)) events |= EPOLL::ERR | EPOLL::HUP;
    if (b.one_in(4)) events |= EPOLL::RDNORM | EPOLL::WRNORM;
    if (b.take(1)) events |= EPOLL::ET;
    if (b.one_in(2)) events |= EPOLL::ONESHOT;
    if (b.one_in(3)) events |= EPOLL::EXCLUSIVE;
    if (b.one_in(4)) events |= EPOLL::WAKEUP;
    if (b.one_in(4)) events = b.take(1) ? 0 : EPOLL::ET;
    return events;
  }
  // Differences the suite found outside the epoll model. Two were fixed in tcp_net.cpp and are checked again
  // (pinned by kernel_epoll_test.cpp's TcpAckWakesTheWriterOnlyAfterItRanOutOfSpace and
  // TcpAbortWakesTheAbortingSocketBeforeTheSender): an ACK wakes a TCP writer only while SOCK_NOSPACE is set,
  // and an abort wakes the aborting receiver before its RST reaches the sender. The one left out of the
  // default run (IOSIM_EPOLL_KNOWN_DIFFERENCES=1 puts it back) is the delayed ACK of a FIN, below.
  static bool keep_known_differences() {
    static const bool keep = std::getenv("IOSIM_EPOLL_KNOWN_DIFFERENCES") != nullptr;
    return keep;
  }
  std::uint32_t without_known_differences(const Choice&, std::uint32_t events) const { return events; }
  //  - Delayed ACK of a FIN: Linux's receiver of a FIN enters pingpong mode and, while it has unread data,
  //    sends the ACK only when the application empties its queue or the delayed-ACK timer fires (TCP_QUICKACK
  //    cannot hurry it then). The model ACKs at once, so the FIN sender's FIN_WAIT1 -> FIN_WAIT2 state change
  //    (an epoll edge) comes at once. shutdown(SHUT_WR) while the peer has unread data is left out.
  bool known_difference_delayed_ack(const Description& sender) const {
    return !keep_known_differences() && sender.unread_at_peer > 0;
  }
  bool known_difference_abort(const Description&) const { return false; }  // fixed: see above
  static int ctl_op(Bits& b) {
    static constexpr int invalid_ops[] = {0, 4, -1, 77};
    const unsigned choice = b.take(4);
    if (choice < 9) return EPOLL::CTL_ADD;
    if (choice < 12) return EPOLL::CTL_MOD;
    if (choice < 15) return EPOLL::CTL_DEL;
    return invalid_ops[b.take(2)];
  }

  // A registration an earlier ADD asked for whose fds are both still open (MOD and DEL mostly aim at one).
  struct Registration {
    std::string ep, target;
  };
  std::vector<Registration> open_registrations() const {
    std::vector<Registration> open;
    for (const Registration& reg : registrations_) {
      if (is_open(reg.ep) && is_open(reg.target)) open.push_back(reg);
    }
    return open;
  }
  bool is_open(const std::string& name) const {
    for (const Description& d : descriptions_) {
      if (std::find(d.fds.begin(), d.fds.end(), name) != d.fds.end()) return true;
    }
    return false;
  }
  Choice by_name(const std::string& name) const {
    for (int d = 0; d < static_cast<int>(descriptions_.size()); ++d) {
      const auto& fds = descriptions_[d].fds;
      if (std::find(fds.begin(), fds.end(), name) != fds.end()) return {d, name, r_.fd(name)};
    }
    return {};
  }

  void ctl(const Op& op) {
    Bits b(op.bits);
    const int ctl_op_code = ctl_op(b);
    const std::uint32_t events = event_mask(b);
    // The epoll fd: mostly an epoll set, sometimes any fd (EINVAL) or none (EBADF).
    Choice ep = epoll_fd(op.pick);
    Choice target = watch_target(op.target, b);
    const std::vector<Registration> registered = open_registrations();
    if (ctl_op_code != EPOLL::CTL_ADD && !registered.empty() && !b.one_in(2)) {
      const Registration& reg = registered[static_cast<std::size_t>(op.target) % registered.size()];
      ep = by_name(reg.ep);
      target = by_name(reg.target);
    }
    if (b.one_in(4)) ep = b.take(1) ? any_fd(op.pick) : any_fd_or_bad(op.pick, b);
    if (ctl_op_code == EPOLL::CTL_ADD && ep.description >= 0 && target.description >= 0) {
      registrations_.push_back({ep.name, target.name});
    }
    const bool null_event = ctl_op_code == EPOLL::CTL_DEL ? b.take(1) != 0 : b.one_in(5);
    // The data is the ctl's number in the sequence, so every returned event says which ctl registered it.
    const epoll_event event{without_known_differences(target, events),
                            static_cast<std::uint64_t>(++ctl_count_)};
    r_.epoll_ctl(ep.name.empty() ? "none" : ep.name, ep.fd, ctl_op_code,
                 target.name.empty() ? "none" : target.name, target.fd, null_event ? nullptr : &event);
  }

  void wait(const Op& op) {
    static constexpr int maxevents_choices[] = {64, 64, 64, 64, 64, 64, 1, 1, 2, 2, 3, 4, 64, 64, 64, 64};
    static constexpr int invalid_maxevents[] = {0, -1, INT_MIN, ep_max_events + 1};
    Bits b(op.bits);
    int maxevents = maxevents_choices[b.take(4)];
    if (b.one_in(3)) maxevents = b.one_in(2) ? ep_max_events : invalid_maxevents[b.take(2)];
    Choice ep = epoll_fd(op.pick);
    if (b.one_in(4)) ep = any_fd_or_bad(op.pick, b);
    // Linux checks access_ok(events, maxevents * 12) and the simulator has no address space: a static buffer
    // (low in the address space) passes that check even for EP_MAX_EVENTS, where a stack buffer would be
    // EFAULT.
    static epoll_event buffer[wait_buffer_events];
    r_.epoll_wait(ep.name.empty() ? "none" : ep.name, ep.fd, buffer, maxevents, 0);
  }

  // poll(2) over a few fds, epoll sets included (ep_eventpoll_poll re-polls an epoll set's ready list).
  void poll(const Op& op) {
    Bits b(op.bits);
    const short events = static_cast<short>((b.take(1) ? POLL::IN : 0) | (b.take(1) ? POLL::OUT : 0) |
                                            (b.take(1) ? POLL::RDHUP : 0) | (b.one_in(2) ? POLL::PRI : 0));
    std::vector<PollEntry> entries;
    for (int i = 0; i < 1 + op.size % 3; ++i) {
      const Choice c = i == 0 ? epoll_fd(op.pick + i) : any_fd(op.target + i);
      if (c.description >= 0) entries.push_back({c.name, c.fd, events});
    }
    r_.poll(entries, 0);
  }

  Recorder& r_;
  const Profile profile_;
  std::vector<Description> descriptions_;
  int counts_[7] =
      {};  // objects created so far: socketpairs, pipes, eventfds, tcp pairs, epolls, listeners, accepts
  int epolls_ = 0;                           // epoll sets with an open fd
  std::vector<Registration> registrations_;  // every ADD asked for, by fd names
  int ctl_count_ = 0;
};

// One generated sequence: its profile and its ops.
using Ops = std::pair<Profile, std::vector<Op>>;

Sequence sequence_of(const Ops& ops) {
  return [&ops](Recorder& r) {
    Executor executor(r, ops.first);
    for (const Op& op : ops.second) executor.run(op);
  };
}

// IOSIM_EPOLL_SEQUENCES sets the count (the `long` ctest entry runs 10 000); IOSIM_EPOLL_PRINT=1 prints every
// sequence's record; IOSIM_EPOLL_KNOWN_DIFFERENCES=1 puts back the known differences (see the Executor).
TEST(EpollConformance, RandomSequencesAgreeWithLinux) {
  const bool print = std::getenv("IOSIM_EPOLL_PRINT") != nullptr;
  std::size_t steps = 0, waits = 0, events = 0, failed = 0;
  const int count = sequence_count("IOSIM_EPOLL_SEQUENCES", 5000);
  const std::string failure = check_sequences("EpollConformance/RandomSequencesAgreeWithLinux", count, [&] {
    const auto profile = rc::gen::element(Profile::mixed, Profile::mixed, Profile::nesting, Profile::tcp);
    const Ops ops = *rc::gen::pair(profile, gen_sequence());
    Record sim;
    const std::string diff = differential_rechecked(sequence_of(ops), &sim);
    if (!diff.empty()) {
      // The first failure as found, before shrinking: if it was a timing race, the shrunk case may pass.
      if (!failed++) std::printf("first failing sequence, before shrinking:\n%s\n", diff.c_str());
      RC_FAIL(diff);
    }
    steps += sim.size();
    for (const Observation& o : sim) {
      if (print) std::printf("%s -> %s\n", o.step.c_str(), o.result.c_str());
      if (!o.step.starts_with("epoll_wait")) continue;
      ++waits;
      events += static_cast<std::size_t>(std::count(o.result.begin(), o.result.end(), '['));
    }
    if (print) std::printf("--\n");
  });
  EXPECT_TRUE(failure.empty()) << failure;
  std::printf("%d sequences: %zu steps compared, %zu epoll_waits returned %zu events\n", count, steps, waits,
              events);
}

}  // namespace
}  // namespace iosim::diff

// tests/iocp_ops.cpp — the IOCP op interpreter: one world (ports, overlapped slots, a loopback TCP pair) per
// sequence, one canonical line per op; after an op that hands work to the network or another thread it
// polls (sleep_for, virtual on SimOs) until the effect is observable, so the same code runs on real Win32.
#include "tests/iocp_ops.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <memory>

namespace iosim::iocp_ops {
namespace {

using namespace win32;

constexpr std::int64_t millisecond_ns = 1'000'000;
constexpr int settle_polls_max = 2000;  // 1 ms each: the longest a network or cross-thread effect may take
constexpr int settle_polls_soft = 20;   // ... for a pending receive that Wine may complete late (see below)
constexpr DWORD threaded_wait_ms = 5000;
constexpr const char* socket_names[socket_count] = {"s", "c"};

struct IoSlot {
  OVERLAPPED overlapped{};
  std::array<char, slot_bytes> data{};
  std::array<WSABUF, buffers_max> wsabufs{};
  int socket = -1;       // the socket of the last I/O issued with this slot
  bool is_recv = false;  // that I/O's direction
  int outstanding = 0;   // packets this slot's I/O will put on a port, not yet dequeued
  bool pending = false;  // the last I/O returned ERROR_IO_PENDING
  bool aborted_by_close = false;
  long issue_order = 0;
};

struct Waiter {
  std::unique_ptr<Thread> thread;
  BOOL ok = FALSE_;
  DWORD error = 0, bytes = 0;
  ULONG_PTR key = 0;
  OVERLAPPED* overlapped = nullptr;
  int port = 0;
};

void replace_first(std::string& text, const std::string& from, const std::string& to) {
  if (const auto at = text.find(from); at != std::string::npos) text.replace(at, from.size(), to);
}

std::string join_ints(const std::vector<int>& values) {
  std::string text;
  for (int value : values) text += (text.empty() ? "" : ",") + std::to_string(value);
  return "[" + text + "]";
}

class Interpreter {
 public:
  explicit Interpreter(Os& os) : os_(os) {}
  std::vector<std::string> run(const std::vector<Op>& ops);

 private:
  bool set_up();
  void tear_down();
  void step(const Op& op);
  void line(const std::string& text) { lines_.push_back(text); }
  std::string err() { return error_text(os_.GetLastError()); }
  std::string slot_name(const OVERLAPPED* overlapped) const;
  std::string describe_packet(BOOL ok, DWORD error, DWORD bytes, ULONG_PTR key, OVERLAPPED* overlapped);
  bool port_open(int port) const {
    return port >= 0 && port < static_cast<int>(ports_.size()) && port_open_[port];
  }
  bool socket_open(int socket) const { return socket >= 0 && socket < socket_count && socket_open_[socket]; }
  bool slot_busy(const IoSlot& slot) const {
    return slot.outstanding > 0 || (slot.pending && !has_overlapped_io_completed(slot.overlapped));
  }
  std::vector<int> pending_slots(int socket, bool receives_only = false) const;
  void settle(const std::function<bool()>& done);
  void pause();
  void settle_peer_of(int socket, const std::vector<int>& receives_before);
  void sent_data(int socket, const std::vector<int>& peer_receives_before);
  std::string completion_snapshot() const;

  void create_port(const Op& op);
  void close_port(const Op& op);
  void associate(const Op& op);
  void post(const Op& op);
  void get(const Op& op);
  void get_ex(const Op& op);
  void overlapped_io(const Op& op);
  void send(const Op& op);
  void skip_on_success(const Op& op);
  void cancel(const Op& op);
  void overlapped_result(const Op& op);
  void close_socket(const Op& op);
  void threaded_get(const Op& op);
  void spawn_get(const Op& op);
  void join();
  void busy(const Op& op);

  Os& os_;
  std::vector<std::string> lines_;
  std::vector<HANDLE> ports_;
  std::vector<bool> port_open_;
  SOCKET sockets_[socket_count] = {INVALID_SOCKET_, INVALID_SOCKET_};
  bool socket_open_[socket_count] = {false, false};
  int socket_port_[socket_count] = {-1, -1};  // the port a socket's completions go to
  bool socket_skips_[socket_count] = {false, false};
  int bytes_sent_[socket_count] = {0, 0};
  bool peer_reset_[socket_count] = {false, false};  // the other end closed abortively (RST)
  std::array<IoSlot, io_slot_count> slots_{};
  std::array<OVERLAPPED, post_slot_count> post_slots_{};
  std::vector<std::unique_ptr<Waiter>> waiters_;
  long issued_ = 0;
};

std::vector<std::string> Interpreter::run(const std::vector<Op>& ops) {
  if (set_up()) {
    for (const Op& op : ops) step(op);
  }
  tear_down();
  return lines_;
}

bool Interpreter::set_up() {
  ports_.push_back(os_.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, 0));
  port_open_.push_back(ports_[0] != nullptr);
  const SOCKET listener = os_.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
  SockAddr addr{loopback_ip, 0};
  const SOCKET client = os_.WSASocketW(AF::INET, SOCK::STREAM, IPPROTO::TCP, WSA_FLAG_OVERLAPPED_);
  if (!ports_[0] || listener == INVALID_SOCKET_ || client == INVALID_SOCKET_ ||
      os_.bind(static_cast<int>(listener), addr) != 0 || os_.listen(static_cast<int>(listener), 4) != 0 ||
      os_.getsockname(static_cast<int>(listener), &addr) != 0 ||
      os_.connect(static_cast<int>(client), addr) != 0) {
    line("setup: failed to connect, " + err());
    return false;
  }
  const int server = os_.accept4(static_cast<int>(listener), nullptr, 0);
  os_.closesocket(listener);
  if (server < 0) {
    line("setup: accept failed");
    return false;
  }
  sockets_[0] = static_cast<SOCKET>(server);
  sockets_[1] = client;
  socket_open_[0] = socket_open_[1] = true;
  if (os_.CreateIoCompletionPort(reinterpret_cast<HANDLE>(sockets_[0]), ports_[0], server_key, 0) !=
      ports_[0]) {
    line("setup: associate failed, " + err());
    return false;
  }
  socket_port_[0] = 0;
  line("setup: ok");
  return true;
}

// Closes what is open and waits for aborted I/O to land in its slot: on Win32 the kernel writes the
// OVERLAPPED after closesocket returns, so the slots must outlive it.
void Interpreter::tear_down() {
  join();
  for (int socket = 0; socket < socket_count; ++socket) {
    if (socket_open_[socket]) os_.closesocket(sockets_[socket]);
    socket_open_[socket] = false;
  }
  settle([this] {
    return std::none_of(slots_.begin(), slots_.end(), [](const IoSlot& slot) {
      return slot.pending && !has_overlapped_io_completed(slot.overlapped);
    });
  });
  for (std::size_t port = 0; port < ports_.size(); ++port) {
    if (port_open_[port]) os_.CloseHandle(ports_[port]);
  }
}

void Interpreter::step(const Op& op) {
  switch (op.kind) {
    case Kind::create_port:
      return create_port(op);
    case Kind::close_port:
      return close_port(op);
    case Kind::associate:
      return associate(op);
    case Kind::post:
      return post(op);
    case Kind::get:
      return get(op);
    case Kind::get_ex:
      return get_ex(op);
    case Kind::wsarecv:
    case Kind::wsasend:
      return overlapped_io(op);
    case Kind::send:
      return send(op);
    case Kind::skip_on_success:
      return skip_on_success(op);
    case Kind::cancel:
      return cancel(op);
    case Kind::overlapped_result:
      return overlapped_result(op);
    case Kind::close_socket:
      return close_socket(op);
    case Kind::threaded_get:
      return threaded_get(op);
    case Kind::spawn_get:
      return spawn_get(op);
    case Kind::join:
      return join();
    case Kind::sleep:
      return os_.sleep_for(op.timeout_ms * millisecond_ns);
    case Kind::busy:
      return busy(op);
  }
}

std::string Interpreter::slot_name(const OVERLAPPED* overlapped) const {
  if (!overlapped) return "null";
  for (int i = 0; i < io_slot_count; ++i) {
    if (overlapped == &slots_[i].overlapped) return "ov" + std::to_string(i);
  }
  for (int i = 0; i < post_slot_count; ++i) {
    if (overlapped == &post_slots_[i]) return "p" + std::to_string(i);
  }
  return "unknown";
}

// One dequeued packet (or a failed wait) as text; a packet of an I/O slot also settles its bookkeeping.
// Received data is shown: the slot's buffers are not reused while its packet is outstanding.
std::string Interpreter::describe_packet(BOOL ok, DWORD error, DWORD bytes, ULONG_PTR key,
                                         OVERLAPPED* overlapped) {
  std::string text = ok ? "TRUE" : "FALSE " + error_text(error);
  if (!overlapped && !ok) return text + " ov=null";
  text += " bytes=" + std::to_string(bytes) + " key=" + std::to_string(key) + " ov=" + slot_name(overlapped);
  for (IoSlot& slot : slots_) {
    if (&slot.overlapped != overlapped) continue;
    if (slot.is_recv && ok)
      text += " data=" + std::string(slot.data.data(), std::min<DWORD>(bytes, slot_bytes));
    if (slot.aborted_by_close) text += " [closed]";
    slot.outstanding = std::max(0, slot.outstanding - 1);
    slot.pending = false;
  }
  return text;
}

std::vector<int> Interpreter::pending_slots(int socket, bool receives_only) const {
  std::vector<int> pending;
  for (int i = 0; i < io_slot_count; ++i) {
    const IoSlot& slot = slots_[i];
    if (slot.socket == socket && slot.pending && !has_overlapped_io_completed(slot.overlapped) &&
        (slot.is_recv || !receives_only))
      pending.push_back(i);
  }
  std::sort(pending.begin(), pending.end(),
            [this](int a, int b) { return slots_[a].issue_order < slots_[b].issue_order; });
  return pending;
}

std::string Interpreter::completion_snapshot() const {
  std::string snapshot;
  for (const IoSlot& slot : slots_)
    snapshot +=
        std::to_string(slot.overlapped.Internal) + "/" + std::to_string(slot.overlapped.InternalHigh) + " ";
  return snapshot;
}

// Polls until `done` holds (bounded), then until no slot's completion changes over two polls: a completion
// that follows the awaited one (a second pending receive after a zero-byte one) lands too.
void Interpreter::settle(const std::function<bool()>& done) {
  int waited = 0;
  for (; waited < settle_polls_max && !done(); ++waited) pause();
  if (waited == settle_polls_max) line("settle: timed out");  // so the comparison shows it, on either side
  std::string before = completion_snapshot();
  for (int poll = 0; poll < settle_polls_max; ++poll) {
    pause();
    const std::string now = completion_snapshot();
    if (now == before) return;
    before = now;
  }
}

// One settling step: a zero-timeout poll of the open sockets, then 1 ms of sleep. On Wine a completed
// receive reaches its OVERLAPPED only when the issuing thread next enters the wineserver (it runs the
// async's system APC then); a sleep does not, a poll (IOCTL_AFD_POLL) does. Windows and SimOs need neither.
void Interpreter::pause() {
  std::array<pollfd, socket_count> entries{};
  std::size_t count = 0;
  for (int socket = 0; socket < socket_count; ++socket) {
    if (socket_open_[socket]) entries[count++] = pollfd{static_cast<int>(sockets_[socket]), POLL::IN, 0};
  }
  if (count > 0) os_.poll(entries.data(), count, 0);
  os_.sleep_for(millisecond_ns);
}

// After data, a FIN or a RST went towards the peer of `socket`: the peer's first pending receive completes,
// or, with none pending, the peer polls readable (data, end of stream or error). `receives_before` are the
// peer's pending receives from before the call: one may complete before this looks.
void Interpreter::settle_peer_of(int socket, const std::vector<int>& receives_before) {
  const int peer = 1 - socket;
  if (!socket_open_[peer]) return;
  const std::vector<int>& pending = receives_before;
  if (!pending.empty()) {
    // Bounded softly: with two receives pending Wine 8.0 may keep both OVERLAPPEDs pending until the thread's
    // next GetQueuedCompletionStatus, which then finds both packets; so give up quietly after a while.
    const OVERLAPPED& first = slots_[pending.front()].overlapped;
    for (int poll = 0; poll < settle_polls_soft && !has_overlapped_io_completed(first); ++poll) pause();
    return settle([] { return true; });
  }
  settle([this, peer] {
    pollfd entry{static_cast<int>(sockets_[peer]), POLL::IN, 0};
    return os_.poll(&entry, 1, 0) > 0;
  });
}

// Data left `socket`: to a closed peer it draws a RST (the known Wine difference of receives after a reset),
// else it settles at the peer.
void Interpreter::sent_data(int socket, const std::vector<int>& peer_receives_before) {
  if (!socket_open_[1 - socket]) {
    peer_reset_[socket] = true;
    return;
  }
  settle_peer_of(socket, peer_receives_before);
}

void Interpreter::create_port(const Op& op) {
  if (static_cast<int>(ports_.size()) >= ports_max) return;
  HANDLE port = os_.CreateIoCompletionPort(INVALID_HANDLE_VALUE_, nullptr, 0, static_cast<DWORD>(op.count));
  line("create_port(concurrency=" + std::to_string(op.count) + "): " + (port ? "port" : "NULL " + err()));
  if (!port) return;
  ports_.push_back(port);
  port_open_.push_back(true);
}

void Interpreter::close_port(const Op& op) {
  if (!port_open(op.port)) return;
  const BOOL ok = os_.CloseHandle(ports_[op.port]);
  line("close_port(p" + std::to_string(op.port) + "): " + (ok ? "TRUE" : "FALSE " + err()));
  port_open_[op.port] = false;
}

void Interpreter::associate(const Op& op) {
  if (!socket_open(op.socket) || !port_open(op.port)) return;
  HANDLE got = os_.CreateIoCompletionPort(reinterpret_cast<HANDLE>(sockets_[op.socket]), ports_[op.port],
                                          static_cast<ULONG_PTR>(op.key), 0);
  line(std::string("associate(") + socket_names[op.socket] + ", p" + std::to_string(op.port) +
       ", key=" + std::to_string(op.key) + "): " +
       (got == ports_[op.port] ? "port"
        : got                  ? "other"
                               : "NULL " + err()));
  if (got == ports_[op.port]) socket_port_[op.socket] = op.port;
}

void Interpreter::post(const Op& op) {
  if (!port_open(op.port)) return;
  OVERLAPPED* overlapped = op.slot >= 0 && op.slot < post_slot_count ? &post_slots_[op.slot] : nullptr;
  const BOOL ok = os_.PostQueuedCompletionStatus(ports_[op.port], static_cast<DWORD>(op.bytes),
                                                 static_cast<ULONG_PTR>(op.key), overlapped);
  line("post(p" + std::to_string(op.port) + ", bytes=" + std::to_string(op.bytes) + ", key=" +
       std::to_string(op.key) + ", " + slot_name(overlapped) + "): " + (ok ? "TRUE" : "FALSE " + err()));
}

void Interpreter::get(const Op& op) {
  if (!port_open(op.port)) return;
  DWORD bytes = 0;
  ULONG_PTR key = 0;
  OVERLAPPED* overlapped = nullptr;
  const BOOL ok = os_.GetQueuedCompletionStatus(ports_[op.port], &bytes, &key, &overlapped,
                                                static_cast<DWORD>(op.timeout_ms));
  const DWORD error = ok ? 0 : os_.GetLastError();
  line("get(p" + std::to_string(op.port) + ", " + std::to_string(op.timeout_ms) +
       "ms): " + describe_packet(ok, error, bytes, key, overlapped));
}

void Interpreter::get_ex(const Op& op) {
  if (!port_open(op.port)) return;
  std::array<OVERLAPPED_ENTRY, 8> entries{};
  const ULONG count = static_cast<ULONG>(std::clamp(op.count, 1, static_cast<int>(entries.size())));
  ULONG removed = 0;
  const BOOL ok = os_.GetQueuedCompletionStatusEx(ports_[op.port], entries.data(), count, &removed,
                                                  static_cast<DWORD>(op.timeout_ms), FALSE_);
  std::string text = "get_ex(p" + std::to_string(op.port) + ", " + std::to_string(count) + ", " +
                     std::to_string(op.timeout_ms) + "ms): " + (ok ? "TRUE" : "FALSE " + err()) +
                     " removed=" + std::to_string(removed);
  for (ULONG i = 0; ok && i < std::min(removed, count); ++i) {
    const OVERLAPPED_ENTRY& entry = entries[i];
    const NTSTATUS status = static_cast<NTSTATUS>(entry.Internal);
    const DWORD error = nt_status_to_dos_error(status);
    std::string packet = describe_packet(error == 0, error, entry.dwNumberOfBytesTransferred,
                                         entry.lpCompletionKey, entry.lpOverlapped);
    if (error == Error::INVALID_FUNCTION) {  // a status iosim does not map: show it rather than a guess
      char hex[16];
      std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(status));
      replace_first(packet, "ERROR_INVALID_FUNCTION", std::string("status0x") + hex);
    }
    text += " | " + packet;
  }
  line(text);
}

// WSARecv or WSASend on an I/O slot: immediate success (still a packet unless skip-on-success), immediate
// failure (no packet), or ERROR_IO_PENDING (a packet later).
void Interpreter::overlapped_io(const Op& op) {
  if (!socket_open(op.socket) || op.slot < 0 || op.slot >= io_slot_count || slot_busy(slots_[op.slot]))
    return;
  const bool is_recv = op.kind == Kind::wsarecv;
  // A known Wine difference (docs/semantics.md): a receive issued after the peer's RST arrived succeeds with
  // 0 bytes on Wine, as for a FIN, where Windows fails it with WSAECONNRESET. Skipped unless asked for.
  if (is_recv && peer_reset_[op.socket] && !op.even_if_wine_differs) return;
  IoSlot& slot = slots_[op.slot];
  int offset = 0;
  DWORD count = 0;
  for (int length : op.buffers) {
    if (count == buffers_max || length < 0 || offset + length > slot_bytes) break;
    slot.wsabufs[count++] = WSABUF{static_cast<ULONG>(length), slot.data.data() + offset};
    offset += length;
  }
  if (count == 0) slot.wsabufs[count++] = WSABUF{0, slot.data.data()};
  if (!is_recv && bytes_sent_[op.socket] + offset > bytes_per_socket_max) return;
  if (!is_recv) {
    for (int i = 0; i < offset; ++i)
      slot.data[i] = static_cast<char>('a' + (bytes_sent_[op.socket] + i) % 26);
    bytes_sent_[op.socket] += offset;
  }
  slot.overlapped = OVERLAPPED{};
  slot.socket = op.socket;
  slot.is_recv = is_recv;
  slot.outstanding = 0;
  slot.pending = slot.aborted_by_close = false;
  slot.issue_order = ++issued_;
  const std::vector<int> peer_receives = pending_slots(1 - op.socket, true);
  DWORD bytes = 0, flags = 0;
  const int result =
      is_recv ? os_.WSARecv(sockets_[op.socket], slot.wsabufs.data(), count, &bytes, &flags, &slot.overlapped)
              : os_.WSASend(sockets_[op.socket], slot.wsabufs.data(), count, &bytes, 0, &slot.overlapped);
  const DWORD error = result == 0 ? 0 : static_cast<DWORD>(os_.WSAGetLastError());
  const bool to_port = socket_port_[op.socket] >= 0 && port_open_[socket_port_[op.socket]];
  std::string text = std::string(is_recv ? "wsarecv(" : "wsasend(") + socket_names[op.socket] + ", ov" +
                     std::to_string(op.slot) + ", " + join_ints(op.buffers) + "): ";
  if (result == 0) {
    text += "0 bytes=" + std::to_string(bytes);
    if (is_recv) text += " data=" + std::string(slot.data.data(), std::min<DWORD>(bytes, slot_bytes));
    slot.outstanding = to_port && !socket_skips_[op.socket] ? 1 : 0;
  } else {
    text += "SOCKET_ERROR " + error_text(error);
    slot.pending = error == Error::IO_PENDING;
    slot.outstanding = slot.pending && to_port ? 1 : 0;
  }
  line(text);
  if (!is_recv && result == 0 && bytes > 0) sent_data(op.socket, peer_receives);
}

void Interpreter::send(const Op& op) {
  if (!socket_open(op.socket) || op.bytes < 0 || bytes_sent_[op.socket] + op.bytes > bytes_per_socket_max)
    return;
  std::string data(static_cast<std::size_t>(op.bytes), '\0');
  for (int i = 0; i < op.bytes; ++i) data[i] = static_cast<char>('a' + (bytes_sent_[op.socket] + i) % 26);
  bytes_sent_[op.socket] += op.bytes;
  const std::vector<int> peer_receives = pending_slots(1 - op.socket, true);
  const long sent = os_.send(static_cast<int>(sockets_[op.socket]), data.data(), data.size(), 0);
  line(std::string("send(") + socket_names[op.socket] + ", " + std::to_string(op.bytes) +
       "): " + std::to_string(sent));
  if (sent > 0) sent_data(op.socket, peer_receives);
}

void Interpreter::skip_on_success(const Op& op) {
  if (!socket_open(op.socket)) return;
  const BOOL ok = os_.SetFileCompletionNotificationModes(reinterpret_cast<HANDLE>(sockets_[op.socket]),
                                                         FILE_SKIP_COMPLETION_PORT_ON_SUCCESS_);
  line(std::string("skip_on_success(") + socket_names[op.socket] + "): " + (ok ? "TRUE" : "FALSE " + err()));
  if (ok) socket_skips_[op.socket] = true;
}

// The last error is cleared first: with nothing to cancel Wine leaves it alone (or, for "all", returns
// TRUE) where Windows fails with ERROR_NOT_FOUND — known differences the comparison allows.
void Interpreter::cancel(const Op& op) {
  if (!socket_open(op.socket)) return;
  const bool one = op.slot >= 0 && op.slot < io_slot_count;
  const std::vector<int> pending = pending_slots(op.socket);
  os_.SetLastError(0);
  const BOOL ok = os_.CancelIoEx(reinterpret_cast<HANDLE>(sockets_[op.socket]),
                                 one ? &slots_[op.slot].overlapped : nullptr);
  // How many of the targeted requests the interpreter saw pending: the known Wine differences apply at 0
  // only.
  const auto targeted = one ? std::count(pending.begin(), pending.end(), op.slot) : std::ssize(pending);
  line(std::string("cancel(") + socket_names[op.socket] + ", " +
       (one ? "ov" + std::to_string(op.slot) : "all") + ") pending=" + std::to_string(targeted) + ": " +
       (ok ? "TRUE" : "FALSE " + err()));
  if (!ok) return;
  settle([&] {
    return std::all_of(pending.begin(), pending.end(), [&](int i) {
      return (one && i != op.slot) || has_overlapped_io_completed(slots_[i].overlapped);
    });
  });
}

void Interpreter::overlapped_result(const Op& op) {
  if (op.slot < 0 || op.slot >= io_slot_count) return;
  IoSlot& slot = slots_[op.slot];
  if (slot.socket < 0 || !socket_open_[slot.socket]) return;
  DWORD bytes = 0, flags = 0;
  const BOOL ok = os_.WSAGetOverlappedResult(sockets_[slot.socket], &slot.overlapped, &bytes, FALSE_, &flags);
  const std::string error = ok ? "" : " " + error_text(static_cast<DWORD>(os_.WSAGetLastError()));
  line("overlapped_result(ov" + std::to_string(op.slot) + "): " + (ok ? "TRUE" : "FALSE") + error +
       (ok ? " bytes=" + std::to_string(bytes) : ""));
}

void Interpreter::close_socket(const Op& op) {
  if (!socket_open(op.socket)) return;
  const std::vector<int> pending = pending_slots(op.socket);
  const std::vector<int> peer_receives = pending_slots(1 - op.socket, true);
  for (int i : pending) slots_[i].aborted_by_close = true;
  if (op.reset) os_.set_linger(static_cast<int>(sockets_[op.socket]), true, 0);
  const int result = os_.closesocket(sockets_[op.socket]);
  line(std::string("close_socket(") + socket_names[op.socket] + (op.reset ? ", reset" : "") +
       "): " + (result == 0 ? "0" : "SOCKET_ERROR " + err()));
  socket_open_[op.socket] = false;
  // An abortive close sends a RST; so does a graceful one with received data still unread (as on Linux and
  // Windows) — the interpreter does not count what was read, so any data sent to the closing socket counts.
  if (op.reset || bytes_sent_[1 - op.socket] > 0) peer_reset_[1 - op.socket] = true;
  settle([&] {
    return std::all_of(pending.begin(), pending.end(),
                       [&](int i) { return has_overlapped_io_completed(slots_[i].overlapped); });
  });
  settle_peer_of(op.socket, peer_receives);
}

// `count` threads wait on the port, count + extra packets are posted, all threads are joined. Which thread
// got which packet is left out (sorted): the wake order is a known Wine difference (LIFO on Windows).
void Interpreter::threaded_get(const Op& op) {
  if (!port_open(op.port) || !waiters_.empty()) return;
  const int count = std::clamp(op.count, 1, threads_max);
  const int extra = std::clamp(op.extra, 0, 2);
  for (int i = 0; i < count; ++i)
    spawn_get(Op{.kind = Kind::spawn_get, .port = op.port, .timeout_ms = threaded_wait_ms});
  for (int i = 0; i < count + extra; ++i)
    os_.PostQueuedCompletionStatus(ports_[op.port], static_cast<DWORD>(i), static_cast<ULONG_PTR>(op.key + i),
                                   nullptr);
  std::vector<std::string> got;
  for (auto& waiter : waiters_) {
    waiter->thread->join();
    got.push_back(describe_packet(waiter->ok, waiter->error, waiter->bytes, waiter->key, waiter->overlapped));
  }
  waiters_.clear();
  std::sort(got.begin(), got.end());
  std::string text = "threaded_get(p" + std::to_string(op.port) + ", " + std::to_string(count) +
                     " waiters, " + std::to_string(count + extra) + " posts from key " +
                     std::to_string(op.key) + "):";
  for (const std::string& packet : got) text += " | " + packet;
  line(text);
}

void Interpreter::spawn_get(const Op& op) {
  if (!port_open(op.port) || static_cast<int>(waiters_.size()) >= threads_max) return;
  auto waiter = std::make_unique<Waiter>();
  Waiter* state = waiter.get();
  state->port = op.port;
  HANDLE port = ports_[op.port];
  const DWORD timeout_ms = static_cast<DWORD>(op.timeout_ms);
  state->thread = os_.thread_create("waiter", [this, state, port, timeout_ms] {
    state->ok =
        os_.GetQueuedCompletionStatus(port, &state->bytes, &state->key, &state->overlapped, timeout_ms);
    state->error = state->ok ? 0 : os_.GetLastError();
  });
  waiters_.push_back(std::move(waiter));
}

void Interpreter::join() {
  if (waiters_.empty()) return;
  std::string text = "join:";
  for (std::size_t i = 0; i < waiters_.size(); ++i) {
    Waiter& waiter = *waiters_[i];
    waiter.thread->join();
    text += " | waiter" + std::to_string(i) + " " +
            describe_packet(waiter.ok, waiter.error, waiter.bytes, waiter.key, waiter.overlapped);
  }
  waiters_.clear();
  line(text);
}

void Interpreter::busy(const Op& op) {
  const std::int64_t end_ns = os_.monotonic_ns() + op.timeout_ms * millisecond_ns;
  while (os_.monotonic_ns() < end_ns) {
  }
}

}  // namespace

std::string error_text(DWORD error) {
  const std::string_view name = win32::win32_error_name(error);
  return name == "?" ? "error" + std::to_string(error) : std::string(name);
}

std::vector<std::string> run_sequence(Os& os, const std::vector<Op>& ops) {
  // Heap-allocated and released only when no I/O is pending: the kernel may still write a slot's OVERLAPPED.
  auto interpreter = std::make_unique<Interpreter>(os);
  return interpreter->run(ops);
}

}  // namespace iosim::iocp_ops

// kernel_model/select.cpp — select(2) and poll(2) as Linux fs/select.c does them: every call re-polls every
// fd (O(n)), hooks a pollwake entry on each file's wait queue on the first pass only, sleeps, re-polls.
#include <algorithm>
#include <climits>

#include "iosim/assert.hpp"
#include "kernel_model/kernel.hpp"
#include "kernel_model/poll.hpp"

namespace iosim::kernel {
namespace {

constexpr std::int64_t nsec_per_sec = 1'000'000'000;
constexpr std::int64_t max_slack_ns = 100'000'000;  // Linux MAX_SLACK (100 ms)

// Linux select_estimate_accuracy: how late the timer may fire (0.1% of the timeout, at least timer_slack_ns,
// at most 100 ms). iosim fires at the exact deadline, which is inside that window; the slack is traced.
std::int64_t select_estimate_accuracy(std::int64_t remaining_ns, std::int64_t timer_slack_ns) {
  if (remaining_ns < 0) return 0;
  const std::int64_t slack = std::min(remaining_ns / 1000, max_slack_ns);
  return std::max(slack, timer_slack_ns);
}

// Linux vfs_poll: files without a poll method are always ready.
__poll_t vfs_poll(file& f, poll_table* pt) { return f.poll(pt); }

struct fd_set_bits {
  const std::uint64_t *in, *out, *ex;
  std::uint64_t *res_in, *res_out, *res_ex;
};

}  // namespace

// Linux max_select_fd: every fd set in any of the three sets (below n) must be open, else EBADF.
static int max_select_fd(const fdtable& files, int n, const fd_set_bits& fds) {
  for (int fd = 0; fd < n; ++fd) {
    const int word = fd / fd_set::word_bits;
    const std::uint64_t bit = std::uint64_t{1} << (fd % fd_set::word_bits);
    const bool wanted = ((fds.in[word] | fds.out[word] | fds.ex[word]) & bit) != 0;
    if (wanted && !files.fget_light(fd)) return -E::BADF;
  }
  return 0;
}

// Linux do_select. end_time_ns: -1 waits forever, otherwise an absolute virtual time.
static int do_select(kernel& k, int n, const fd_set_bits& fds, std::int64_t end_time_ns) {
  const int bad = max_select_fd(k.files(), n, fds);
  if (bad < 0) return bad;
  poll_wqueues table;
  poll_initwait(table, k.runtime());
  poll_table* wait = &table;
  bool timed_out = end_time_ns >= 0 && end_time_ns <= k.runtime().now_ns();
  if (timed_out) wait->_qproc = nullptr;
  int retval = 0;
  for (;;) {
    for (int fd = 0; fd < n; ++fd) {
      const int word = fd / fd_set::word_bits;
      const std::uint64_t bit = std::uint64_t{1} << (fd % fd_set::word_bits);
      const bool in = fds.in[word] & bit, out = fds.out[word] & bit, ex = fds.ex[word] & bit;
      if (!(in || out || ex)) continue;
      file* const f = k.files().fget_light(fd);
      if (!f) continue;  // closed by another thread since max_select_fd: silently skipped, as in Linux
      // wait_key_set: tell the file which events this fd waits for.
      wait->_key = POLLEX_SET | (in ? POLLIN_SET : 0) | (out ? POLLOUT_SET : 0);
      const __poll_t mask = vfs_poll(*f, wait);
      if ((mask & POLLIN_SET) && in) { fds.res_in[word] |= bit; ++retval; wait->_qproc = nullptr; }
      if ((mask & POLLOUT_SET) && out) { fds.res_out[word] |= bit; ++retval; wait->_qproc = nullptr; }
      if ((mask & POLLEX_SET) && ex) { fds.res_ex[word] |= bit; ++retval; wait->_qproc = nullptr; }
    }
    wait->_qproc = nullptr;  // only the first pass registers on wait queues
    if (retval || timed_out) break;
    if (k.runtime().killed()) { retval = -E::INTR; break; }
    if (table.error) { retval = table.error; break; }
    // poll_schedule_timeout: sleep unless a wake-up already arrived during the scan.
    if (!table.triggered) k.schedule_timeout(k.name_select(), end_time_ns);
    table.triggered = false;
    if (end_time_ns >= 0 && k.runtime().now_ns() >= end_time_ns) timed_out = true;
  }
  poll_freewait(table);
  return retval;
}

int kernel::sys_select(int n, fd_set* inp, fd_set* outp, fd_set* exp, timeval* tvp) {
  // Linux kern_select + core_sys_select + poll_select_finish.
  if (n < 0) return -E::INVAL;
  if (n > FD_SETSIZE_) return -E::INVAL;  // iosim contract: the fixed-size fd_set (docs/semantics.md)
  std::int64_t end_time_ns = -1;
  if (tvp) {
    if (tvp->tv_sec < 0 || tvp->tv_usec < 0) return -E::INVAL;
    // poll_select_set_timeout normalises tv_usec >= 1e6 instead of rejecting it.
    const std::int64_t sec = tvp->tv_sec + tvp->tv_usec / 1'000'000;
    const std::int64_t nsec = (tvp->tv_usec % 1'000'000) * 1000;
    const std::int64_t timeout_ns = sec > (INT64_MAX / 2) / nsec_per_sec ? INT64_MAX / 2 : sec * nsec_per_sec + nsec;
    end_time_ns = runtime_.now_ns() + timeout_ns;
    trace_event(name_select_slack_, 0, select_estimate_accuracy(timeout_ns, config_.timer_slack_ns));
  }
  n = std::min(n, files_.max_fds());  // core_sys_select: bits past the fd table's size are ignored
  fd_set zero, res_in, res_out, res_ex;
  const fd_set_bits bits{inp ? inp->words() : zero.words(), outp ? outp->words() : zero.words(),
                         exp ? exp->words() : zero.words(), res_in.words(), res_out.words(), res_ex.words()};
  const int ret = do_select(*this, n, bits, end_time_ns);
  if (tvp) {  // poll_select_finish: write back the time not slept (Linux does, unlike most other systems)
    const std::int64_t remaining = std::max<std::int64_t>(0, end_time_ns - runtime_.now_ns());
    tvp->tv_sec = remaining / nsec_per_sec;
    tvp->tv_usec = (remaining % nsec_per_sec) / 1000;
  }
  if (ret < 0) return ret;
  // set_fd_set copies back only the n bits the kernel looked at.
  for (fd_set* set : {inp, outp, exp}) {
    if (!set) continue;
    const fd_set& result = set == inp ? res_in : (set == outp ? res_out : res_ex);
    for (int fd = 0; fd < n; ++fd) result.is_set(fd) ? set->set(fd) : set->clear(fd);
  }
  return ret;
}

// Linux do_pollfd: revents for one entry (POLLNVAL for a closed fd, 0 for a negative one).
static __poll_t do_pollfd(kernel& k, pollfd& entry, poll_table* pwait) {
  __poll_t mask = 0;
  if (entry.fd >= 0) {
    mask = POLL::NVAL;
    if (file* const f = k.files().fget_light(entry.fd)) {
      const __poll_t filter = static_cast<std::uint16_t>(entry.events) | POLL::ERR | POLL::HUP;
      pwait->_key = filter;
      mask = vfs_poll(*f, pwait) & filter;
    }
  }
  entry.revents = static_cast<short>(mask);
  return mask;
}

// Linux do_poll.
static int do_poll(kernel& k, pollfd* fds, std::size_t nfds, poll_wqueues& wait, std::int64_t end_time_ns) {
  poll_table* pt = &wait;
  bool timed_out = end_time_ns >= 0 && end_time_ns <= k.runtime().now_ns();
  if (timed_out) pt->_qproc = nullptr;
  int count = 0;
  for (;;) {
    for (std::size_t i = 0; i < nfds; ++i) {
      if (do_pollfd(k, fds[i], pt)) {
        ++count;
        pt->_qproc = nullptr;
      }
    }
    pt->_qproc = nullptr;
    if (count || timed_out) break;
    if (k.runtime().killed()) return -E::INTR;
    if (wait.error) return wait.error;
    if (!wait.triggered) k.schedule_timeout(k.name_poll(), end_time_ns);
    wait.triggered = false;
    if (end_time_ns >= 0 && k.runtime().now_ns() >= end_time_ns) timed_out = true;
  }
  return count;
}

int kernel::sys_poll(pollfd* ufds, std::size_t nfds, int timeout_ms) {
  // Linux do_sys_poll: more entries than RLIMIT_NOFILE is EINVAL; a negative timeout waits forever.
  if (nfds > static_cast<std::size_t>(files_.fd_count_max())) return -E::INVAL;
  std::int64_t end_time_ns = -1;
  if (timeout_ms >= 0) {
    const std::int64_t timeout_ns = std::int64_t{timeout_ms} * 1'000'000;
    end_time_ns = runtime_.now_ns() + timeout_ns;
    trace_event(name_poll_slack_, 0, select_estimate_accuracy(timeout_ns, config_.timer_slack_ns));
  }
  poll_wqueues table;
  poll_initwait(table, runtime_);
  const int ret = do_poll(*this, ufds, nfds, table, end_time_ns);
  poll_freewait(table);
  return ret;
}

}  // namespace iosim::kernel

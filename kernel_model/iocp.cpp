// kernel_model/iocp.cpp — the completion port (ReactOS ntoskrnl/ke/queue.c KiInsertQueue, KeRemoveQueue,
// KiActivateWaiterQueue, KeRundownQueue; ntoskrnl/io/iomgr/iocomp.c) and the Nt* calls behind the Win32 API.
#include "kernel_model/iocp.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "iosim/assert.hpp"
#include "kernel_model/afd.hpp"
#include "kernel_model/kernel.hpp"
#include "kernel_model/tcp.hpp"

namespace iosim::kernel {

// --- the dispatcher's view of threads ---

iocp_dispatcher::iocp_dispatcher(kernel& k) : k_(k) {
  name_enqueue = k.intern("iocp.enqueue");
  name_dequeue = k.intern("iocp.dequeue");
  name_wake = k.intern("iocp.wake");
  name_release_slot = k.intern("iocp.release_slot");
  name_rundown = k.intern("iocp.rundown");
  name_afd_complete = k.intern("afd.complete");
  name_afd_dpc = k.intern("afd.dpc");
  name_fault_delayed_completion = k.intern("delayed_completion");
  name_delayed_packet = k.intern("iocp.delayed_packet");
  overlapped_wq.name = k.intern("overlapped_result");
  k.runtime().set_block_hook(this);
}

iocp_dispatcher::~iocp_dispatcher() {
  k_.runtime().set_block_hook(nullptr);
}

void iocp_dispatcher::forget_queue(const completion_port& queue) {
  for (auto& [task, state] : threads_) {
    if (state.queue == &queue) state = kthread_queue{};
  }
}

void iocp_dispatcher::before_block(sim::task_id task) {
  // KeWaitForSingleObject: "if (Thread->Queue) KiActivateWaiterQueue(Thread->Queue)" — but not for the wait
  // inside KeRemoveQueue itself, which did its own accounting.
  const auto it = threads_.find(task);
  if (it == threads_.end() || !it->second.queue || it->second.waiting_on_queue) return;
  it->second.released_slot = true;
  it->second.queue->activate_waiter_queue();
}

void iocp_dispatcher::take_slot_back(sim::task_id task) {
  // KiUnlinkThread: "if (Thread->Queue) Thread->Queue->CurrentCount++", at the moment of the unwait.
  const auto it = threads_.find(task);
  if (it == threads_.end() || !it->second.released_slot) return;
  it->second.released_slot = false;
  if (it->second.queue) it->second.queue->activate_count_back();
}

void iocp_dispatcher::on_wake(sim::task_id task) {
  take_slot_back(task);
}

void iocp_dispatcher::on_exit(sim::task_id task) {
  const auto it = threads_.find(task);
  if (it == threads_.end()) return;
  const kthread_queue state = it->second;
  threads_.erase(it);
  if (state.queue && !state.released_slot) state.queue->activate_waiter_queue();
}
void iocp_dispatcher::after_block(sim::task_id task) {
  take_slot_back(task);
}

// --- the port ---

completion_port::completion_port(kernel& k, std::uint32_t name, int maximum_count)
    : file(k, name, O::RDWR), dispatcher_(k.iocp()), maximum_count_(maximum_count) {}

completion_port::~completion_port() {
  IOSIM_ASSERT(wait_list_.empty(), "a port freed with waiting threads");
}

void completion_port::hand_to_last_waiter(const completion_packet& packet) {
  queue_waiter* waiter = wait_list_.back();  // Header.WaitListHead.Blink: the thread that waited last
  wait_list_.pop_back();
  waiter->packet = packet;
  ++current_count_;
  k().trace_event(dispatcher_.name_wake, name(), waiter->task, static_cast<std::int64_t>(packet.key));
  k().runtime().wake(waiter->task, name());
}

int completion_port::insert_queue(const completion_packet& packet, bool limited) {
  if (closed_) return 0;  // a port whose handle is gone drops what still completes to it
  if (current_count_ < maximum_count_ && !wait_list_.empty()) {
    hand_to_last_waiter(packet);
    return 0;
  }
  if (limited && entry_list_.size() >= static_cast<std::size_t>(k().config().completion_packets_max)) {
    return -E::NOBUFS;
  }
  entry_list_.push_back(packet);
  k().trace_event(dispatcher_.name_enqueue, name(), static_cast<std::int64_t>(packet.key),
                  static_cast<std::int64_t>(entry_list_.size()));
  return 0;
}

void completion_port::trace_dequeue(const completion_packet& packet) {
  k().trace_event(dispatcher_.name_dequeue, name(), static_cast<std::int64_t>(packet.key),
                  static_cast<std::int64_t>(entry_list_.size()));
}

bool completion_port::remove_queue_nowait(completion_packet* packet) {
  if (entry_list_.empty()) return false;
  *packet = entry_list_.front();
  entry_list_.pop_front();
  trace_dequeue(*packet);
  return true;
}

int completion_port::remove_queue(std::int64_t deadline_ns, completion_packet* packet) {
  sim::Runtime& runtime = k().runtime();
  kthread_queue& self = dispatcher_.thread(runtime.current());
  // A thread belongs to the last port it waited on; moving to another port frees its slot there.
  if (self.queue != this) {
    completion_port* previous = self.queue;
    self.queue = this;
    if (previous) previous->activate_waiter_queue();
  } else {
    --current_count_;  // it was counted as running since its last return from this port
  }
  for (;;) {
    if (current_count_ < maximum_count_ && remove_queue_nowait(packet)) {
      ++current_count_;
      return 0;
    }
    if (runtime.killed()) {
      ++current_count_;
      return -E::INTR;
    }
    if (deadline_ns >= 0 && runtime.now_ns() >= deadline_ns) {
      ++current_count_;  // STATUS_TIMEOUT: KiUnlinkThread counts the thread as running again
      return wait_timed_out;
    }
    queue_waiter waiter{runtime.current(), std::nullopt, false};
    wait_list_.push_back(&waiter);
    self.waiting_on_queue = true;
    k().schedule_timeout(name(), deadline_ns);
    dispatcher_.thread(waiter.task).waiting_on_queue = false;
    std::erase(wait_list_, &waiter);
    if (waiter.packet) {
      *packet = *waiter.packet;  // handed over: the waker already counted this thread as running
      trace_dequeue(*packet);
      return 0;
    }
    if (waiter.abandoned) return wait_abandoned;
  }
}

void completion_port::activate_waiter_queue() {
  IOSIM_ASSERT(current_count_ > 0, "a port's running count went negative");
  --current_count_;
  k().trace_event(dispatcher_.name_release_slot, name(), current_count_);
  if (current_count_ < maximum_count_ && !entry_list_.empty() && !wait_list_.empty()) {
    const completion_packet packet = entry_list_.front();
    entry_list_.pop_front();
    hand_to_last_waiter(packet);
  }
}

void completion_port::activate_count_back() {
  ++current_count_;
}

void completion_port::rundown() {
  if (closed_) return;
  closed_ = true;
  k().trace_event(dispatcher_.name_rundown, name(), static_cast<std::int64_t>(entry_list_.size()));
  entry_list_.clear();
  dispatcher_.forget_queue(*this);
  // Windows: a GetQueuedCompletionStatus outstanding on the closed handle fails with ERROR_ABANDONED_WAIT_0.
  std::vector<queue_waiter*> waiters = std::move(wait_list_);
  wait_list_.clear();
  for (queue_waiter* waiter : waiters) {
    waiter->abandoned = true;
    if (!k().tearing_down()) k().runtime().wake(waiter->task, name());
  }
}

// --- the Nt* calls (ntoskrnl/io/iomgr/iocomp.c) ---

iocp_dispatcher& kernel::iocp() {
  if (!iocp_) iocp_ = std::make_unique<iocp_dispatcher>(*this);
  return *iocp_;
}

completion_port* kernel::port_lookup(int handle, file_ref* keep) {
  *keep = files_.fget(handle);
  return *keep ? dynamic_cast<completion_port*>(keep->get()) : nullptr;
}

win32::DWORD kernel::nt_create_io_completion(int concurrency, int* handle) {
  const int maximum = concurrency > 0 ? concurrency : config_.processor_count;
  const std::uint32_t name = intern(fmt::format("iocp#{}", next_object_number()));
  // Windows never hands out handle 0 (NULL means failure), so a port's fd starts at 1.
  const int fd =
      traced_install(files_.alloc_fd_from(make_file<completion_port>(*this, name, maximum), 1), name);
  if (fd < 0) return win32::Error::NO_SYSTEM_RESOURCES;
  *handle = fd;
  return win32::Error::SUCCESS;
}

win32::DWORD kernel::nt_set_completion_port(int file_handle, int port_handle, win32::ULONG_PTR key) {
  file_ref keep_port;
  completion_port* port = port_lookup(port_handle, &keep_port);
  if (!port) return win32::Error::INVALID_PARAMETER;
  const file_ref target = files_.fget(file_handle);
  if (!target) return win32::Error::INVALID_HANDLE;
  auto* sock = dynamic_cast<tcp_socket*>(target.get());
  if (!sock) return win32::Error::NOT_SUPPORTED;  // iosim models overlapped I/O on TCP sockets only
  afd_endpoint& endpoint = sock->afd_state();
  // A handle belongs to one port for its lifetime (FileCompletionInformation can be set once).
  if (endpoint.port) return win32::Error::INVALID_PARAMETER;
  endpoint.port = std::static_pointer_cast<completion_port>(keep_port);
  endpoint.key = key;
  return win32::Error::SUCCESS;
}

win32::DWORD kernel::nt_remove_io_completion(int port_handle, std::int64_t timeout_ms,
                                             completion_packet* packets, unsigned count, unsigned* removed) {
  *removed = 0;
  file_ref keep;
  completion_port* port = port_lookup(port_handle, &keep);
  if (!port || port->closed()) return win32::Error::INVALID_HANDLE;
  const std::int64_t deadline = timeout_ms < 0 ? -1 : runtime_.now_ns() + timeout_ms * 1'000'000;
  const int waited = port->remove_queue(deadline, &packets[0]);
  if (waited == wait_timed_out) return win32::Error::WAIT_TIMEOUT_;
  if (waited == wait_abandoned) return win32::Error::ABANDONED_WAIT_0;
  if (waited < 0) return win32::Error::OPERATION_ABORTED;  // the task is being torn down
  *removed = 1;
  while (*removed < count && port->remove_queue_nowait(&packets[*removed])) ++*removed;
  return win32::Error::SUCCESS;
}

win32::DWORD kernel::nt_set_io_completion(int port_handle, const completion_packet& packet) {
  file_ref keep;
  completion_port* port = port_lookup(port_handle, &keep);
  if (!port || port->closed()) return win32::Error::INVALID_HANDLE;
  return port->insert_queue(packet, true) < 0 ? win32::Error::NO_SYSTEM_RESOURCES : win32::Error::SUCCESS;
}

win32::DWORD kernel::nt_close(int handle) {
  // NtClose: the handle goes now; the object's close procedure runs when its last handle goes (a waiter's
  // reference keeps the memory, not the handle).
  file_ref object = files_.fget(handle);
  if (!object) return win32::Error::INVALID_HANDLE;
  sys_close(handle);
  if (auto* port = dynamic_cast<completion_port*>(object.get())) {
    bool other_handle = false;
    for (int fd = 0; fd < files_.max_fds() && !other_handle; ++fd)
      other_handle = files_.fget_light(fd) == port;
    if (!other_handle) port->rundown();
  }
  return win32::Error::SUCCESS;
}

}  // namespace iosim::kernel

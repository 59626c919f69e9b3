// backends/native/std_threads.hpp — iosim's Thread, Mutex and CondVar over the C++ standard library, shared
// by the native backends (LinuxOs, WindowsOs: mingw-w64's posix threads model). Header-only, since the
// Windows build compiles WindowsOs alone.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "iosim/assert.hpp"
#include "iosim/os.hpp"

namespace iosim::native {

// std::thread joined through iosim::Thread. Destroying it unjoined is a programmer error (os.hpp); we assert
// rather than let std::thread call std::terminate, so the message says what happened.
class StdThread final : public Thread {
 public:
  explicit StdThread(std::function<void()> body) : thread_(std::move(body)) {}
  ~StdThread() override { IOSIM_ASSERT(!thread_.joinable(), "iosim::Thread destroyed without join()"); }
  void join() override {
    IOSIM_ASSERT(thread_.joinable(), "iosim::Thread joined twice");
    thread_.join();
  }
  std::thread& native() { return thread_; }

 private:
  std::thread thread_;
};

class StdMutex final : public Mutex {
 public:
  void lock() override { mutex_.lock(); }
  void unlock() override { mutex_.unlock(); }
  std::mutex& native() { return mutex_; }

 private:
  std::mutex mutex_;
};

// std::condition_variable (cheaper than _any) over the std::mutex inside StdMutex. The caller already holds
// the mutex: adopt it for the wait and release ownership afterwards so the caller still holds it.
class StdCondVar final : public CondVar {
 public:
  void wait(Mutex& mutex) override {
    auto* std_mutex = dynamic_cast<StdMutex*>(&mutex);
    IOSIM_ASSERT(std_mutex != nullptr, "CondVar::wait needs a Mutex from the same backend");
    std::unique_lock<std::mutex> lock(std_mutex->native(), std::adopt_lock);
    condition_.wait(lock);
    lock.release();
  }
  void notify_one() override { condition_.notify_one(); }
  void notify_all() override { condition_.notify_all(); }

 private:
  std::condition_variable condition_;
};

}  // namespace iosim::native

// kernel_model/byte_queue.hpp — a FIFO of bytes (a socket's receive or write queue) as a growable ring.
// Stands in for Linux's list of sk_buffs where only the byte stream, not segment boundaries, is observable.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

namespace iosim::kernel {

class byte_queue {
 public:
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void push(const void* data, std::size_t len) {
    reserve(size_ + len);
    const auto* bytes = static_cast<const char*>(data);
    std::size_t tail = (head_ + size_) % ring_.size();
    for (std::size_t copied = 0; copied < len;) {
      const std::size_t run = std::min(len - copied, ring_.size() - tail);
      std::memcpy(ring_.data() + tail, bytes + copied, run);
      copied += run;
      tail = (tail + run) % ring_.size();
    }
    size_ += len;
  }

  // Copies up to len bytes starting `offset` bytes into the queue, without consuming them.
  std::size_t peek(void* out, std::size_t len, std::size_t offset = 0) const {
    if (offset >= size_) return 0;
    len = std::min(len, size_ - offset);
    auto* bytes = static_cast<char*>(out);
    std::size_t position = (head_ + offset) % std::max<std::size_t>(ring_.size(), 1);
    for (std::size_t copied = 0; copied < len;) {
      const std::size_t run = std::min(len - copied, ring_.size() - position);
      std::memcpy(bytes + copied, ring_.data() + position, run);
      copied += run;
      position = (position + run) % ring_.size();
    }
    return len;
  }

  void pop(std::size_t len) {
    len = std::min(len, size_);
    if (len == 0) return;
    head_ = (head_ + len) % ring_.size();
    size_ -= len;
    if (size_ == 0) head_ = 0;
  }

  void clear() {
    head_ = 0;
    size_ = 0;
  }

 private:
  void reserve(std::size_t capacity) {
    if (capacity <= ring_.size()) return;
    std::vector<char> bigger(std::max<std::size_t>(capacity, ring_.size() * 2 + 64));
    peek(bigger.data(), size_);
    ring_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<char> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace iosim::kernel

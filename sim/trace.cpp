// sim/trace.cpp — interning, hashing and capture of trace events.
// The hash mixes our own encoding of each field (never a pointer), so it is the same on every machine.
#include "sim/trace.hpp"

#include "iosim/assert.hpp"
#include "sim/prng.hpp"

namespace iosim::sim {
namespace {

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

std::uint64_t mix(std::uint64_t hash, std::uint64_t value) {
  std::uint64_t state = hash ^ value;
  return splitmix64(state);
}

// wyhash's multiply-fold: one 64x64->128 multiply, high and low halves folded together.
std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
  const __uint128_t product = static_cast<__uint128_t>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

std::uint64_t hash_bytes(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t hash = fnv_offset ^ seed;
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * fnv_prime;
  return mix(hash, bytes.size());
}

std::string_view event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::task_spawn: return "task_spawn";
    case EventKind::task_exit: return "task_exit";
    case EventKind::sys_enter: return "sys_enter";
    case EventKind::sys_exit: return "sys_exit";
    case EventKind::block: return "block";
    case EventKind::wake: return "wake";
    case EventKind::timer_fire: return "timer_fire";
    case EventKind::kernel: return "kernel";
    case EventKind::fault: return "fault";
    case EventKind::note: return "note";
  }
  return "?";
}

Trace::Trace() : names_{""}, name_hashes_{0}, name_slots_(1024, 0), hash_(fnv_offset) {}

std::uint32_t Trace::find(std::string_view name) const {
  const std::size_t mask = name_slots_.size() - 1;
  for (std::size_t slot = hash_bytes(name) & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t id = name_slots_[slot];
    if (id == 0 || names_[id] == name) return static_cast<std::uint32_t>(slot);
  }
}

std::uint32_t Trace::intern(std::string_view name) {
  if (name.empty()) return 0;
  std::uint32_t slot = find(name);
  if (name_slots_[slot] != 0) return name_slots_[slot];
  if ((names_.size() + 1) * 2 > name_slots_.size()) {  // keep the index at most half full
    index_names(name_slots_.size() * 2);
    slot = find(name);
  }
  const auto id = static_cast<std::uint32_t>(names_.size());
  names_.emplace_back(name);
  name_hashes_.push_back(hash_bytes(name));
  name_slots_[slot] = id;
  return id;
}

// Rebuilds the content index over every name, lowest id first, so a content held by two ids finds the lower.
void Trace::index_names(std::size_t slot_count) {
  name_slots_.assign(slot_count, 0);
  for (std::uint32_t id = 1; id < names_.size(); ++id) {
    const std::uint32_t slot = find(names_[id]);
    if (name_slots_[slot] == 0) name_slots_[slot] = id;
  }
}

void Trace::rename(std::uint32_t id, std::string_view name) {
  IOSIM_ASSERT(id != 0 && id < names_.size() && !name.empty(), "rename of the empty name or an unknown id");
  if (names_[id] == name) return;
  names_[id] = std::string(name);
  name_hashes_[id] = hash_bytes(name);
  index_names(name_slots_.size());  // rare (a program naming its objects): a full rebuild keeps find() simple
}

void Trace::record(const TraceEvent& event) {
  IOSIM_ASSERT(event.subject < names_.size() && event.object < names_.size());
  // Three independent multiplies over the event's fields (wyhash's constants), one on the running chain, so
  // the hash depends on every field and on the order of events. Our own encoding: no pointer, no address.
  const std::uint64_t time_and_who =
      mum(static_cast<std::uint64_t>(event.time_ns) ^ 0xa0761d6478bd642fULL,
          ((std::uint64_t{event.task} << 8) | static_cast<std::uint64_t>(event.kind)) ^ 0xe7037ed1a0b428dbULL);
  const std::uint64_t names =
      mum(name_hashes_[event.subject] ^ 0x8ebc6af09c88c6e3ULL, name_hashes_[event.object] ^ 0x589965cc75374cc3ULL);
  const std::uint64_t arguments = mum(static_cast<std::uint64_t>(event.arg0) ^ 0x1d8e4e27c47d124fULL,
                                      static_cast<std::uint64_t>(event.arg1) ^ 0x9e3779b97f4a7c15ULL);
  hash_ = mum(hash_ ^ time_and_who ^ rotl(names, 21) ^ rotl(arguments, 42), 0xbf58476d1ce4e5b9ULL);
  ++event_count_;
  if (capture_) events_.push_back(event);
}

}  // namespace iosim::sim

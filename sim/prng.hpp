// sim/prng.hpp — the one source of randomness in a run: xoshiro256** seeded through SplitMix64.
// Own range and bernoulli helpers (std distributions differ between standard libraries).
#pragma once

#include <cstdint>

namespace iosim::sim {

// SplitMix64 step: used to expand one 64-bit seed into xoshiro state, and as a cheap 64-bit mixer.
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** 1.0 (Blackman & Vigna): fast, 256-bit state, identical output on every platform.
class Prng {
 public:
  explicit constexpr Prng(std::uint64_t seed) {
    for (auto& word : state_) word = splitmix64(seed);
  }

  constexpr std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound), bound > 0. Lemire's multiply-shift with rejection: unbiased and portable.
  constexpr std::uint64_t below(std::uint64_t bound) {
    std::uint64_t x = next();
    __uint128_t m = static_cast<__uint128_t>(x) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        x = next();
        m = static_cast<__uint128_t>(x) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Uniform in [low, high], low <= high.
  constexpr std::int64_t between(std::int64_t low, std::int64_t high) {
    return low + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(high - low) + 1));
  }

  // True with probability numerator / denominator (exact integer arithmetic, no floating point).
  constexpr bool chance(std::uint64_t numerator, std::uint64_t denominator) {
    return below(denominator) < numerator;
  }

  // True with probability `probability` in [0, 1], resolved to 1/2^32 steps so the result is portable.
  bool bernoulli(double probability) {
    if (probability <= 0) return false;
    if (probability >= 1) return true;
    const auto threshold = static_cast<std::uint64_t>(probability * 4294967296.0);
    return (next() >> 32) < threshold;
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4]{};
};

}  // namespace iosim::sim

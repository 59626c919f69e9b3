// backends/fault/fault_plan.cpp — the one table of fault names behind FaultPlan (scenario files, the CLI, the
// testing API) and the seeds of the fault PRNG streams.
#include "backends/fault/fault_plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "sim/prng.hpp"

namespace iosim {
namespace {

struct FaultField {
  std::string_view name;
  double* (*field)(FaultPlan&);
  std::string_view meaning;
};

const FaultField fault_fields[] = {
    {"eintr", [](FaultPlan& p) { return &p.syscalls.eintr; }, "blocking calls return EINTR"},
    {"spurious_eagain", [](FaultPlan& p) { return &p.syscalls.spurious_eagain; },
     "non-blocking reads return EAGAIN"},
    {"short_read", [](FaultPlan& p) { return &p.syscalls.short_read; }, "reads ask for 1..len bytes"},
    {"short_write", [](FaultPlan& p) { return &p.syscalls.short_write; },
     "non-blocking sends and overlapped WSASends offer 1..len bytes"},
    {"enobufs", [](FaultPlan& p) { return &p.syscalls.enobufs; }, "send fails with ENOBUFS"},
    {"enomem", [](FaultPlan& p) { return &p.syscalls.enomem; },
     "socket, accept4, select, poll, epoll_create1 fail with ENOMEM"},
    {"accept_aborted", [](FaultPlan& p) { return &p.syscalls.accept_aborted; },
     "accept4 returns ECONNABORTED"},
    {"segment_split", [](FaultPlan& p) { return &p.network.segment_split; },
     "TCP segments are cut short (sim)"},
    {"reset", [](FaultPlan& p) { return &p.network.reset; }, "a TCP segment resets the connection (sim)"},
    {"delayed_completion", [](FaultPlan& p) { return &p.network.delayed_completion; },
     "an overlapped I/O's completion packet reaches its port 1..1000 us late (sim, IOCP)"},
};

constexpr std::string_view jitter_name = "jitter_us";

}  // namespace

std::vector<std::string_view> fault_names() {
  std::vector<std::string_view> names;
  for (const FaultField& field : fault_fields) names.push_back(field.name);
  names.push_back(jitter_name);
  return names;
}

std::string_view fault_meaning(std::string_view name) {
  if (name == jitter_name) return "each TCP segment waits latency + a random 0..jitter_us (sim)";
  for (const FaultField& field : fault_fields) {
    if (field.name == name) return field.meaning;
  }
  return {};
}

Status set_fault(FaultPlan& plan, std::string_view name, double value) {
  if (name == jitter_name) {
    if (!(value >= 0 && value <= fault_jitter_us_max)) {
      return Status::error(fmt::format("{} takes microseconds in 0..60000000, got {}", name, value));
    }
    plan.network.latency_jitter_ns = static_cast<std::int64_t>(value * 1000);
    return Status::ok();
  }
  for (const FaultField& field : fault_fields) {
    if (field.name != name) continue;
    if (!(value >= 0 && value <= 1))
      return Status::error(fmt::format("{} takes a probability in 0..1, got {}", name, value));
    *field.field(plan) = value;
    return Status::ok();
  }
  return Status::error(fmt::format("unknown fault '{}' (known: {})", name, fmt::join(fault_names(), ", ")));
}

namespace {

// "name=value" onto `plan`; the error names neither the flag nor the variable the assignment came from.
Status apply_assignment(FaultPlan& plan, std::string_view assignment) {
  const std::size_t equals = assignment.find('=');
  const std::string name(assignment.substr(0, equals));
  if (fault_meaning(name).empty() || equals == std::string_view::npos) {
    Status status = set_fault(plan, name, 0);  // names the known faults when `name` is not one
    if (!status) return status;
    return Status::error(fmt::format("expected {}=VALUE", name));
  }
  const std::string value(assignment.substr(equals + 1));
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (value.empty() || end == nullptr || *end != '\0') {
    return Status::error(fmt::format("'{}' is not a number", value));
  }
  return set_fault(plan, name, number);
}

}  // namespace

Status apply_fault(FaultPlan& plan, const std::string& assignment) {
  if (Status status = apply_assignment(plan, assignment); !status) {
    return Status::error(fmt::format("--fault {}: {}", assignment, status.message()));
  }
  return Status::ok();
}

Status apply_fault_list(FaultPlan& plan, std::string_view assignments) {
  while (!assignments.empty()) {
    const std::size_t comma = std::min(assignments.find(','), assignments.size());
    const std::string_view assignment = assignments.substr(0, comma);
    if (Status status = apply_assignment(plan, assignment); !status) {
      return Status::error(fmt::format("'{}': {}", assignment, status.message()));
    }
    assignments.remove_prefix(std::min(comma + 1, assignments.size()));
  }
  return Status::ok();
}

std::uint64_t syscall_fault_seed(std::uint64_t run_seed) {
  std::uint64_t stream =
      run_seed ^ 0x73797363616c6cULL;  // the syscall-fault stream, apart from the schedule's
  return sim::splitmix64(stream);
}

std::uint64_t network_fault_seed(std::uint64_t run_seed) {
  std::uint64_t stream = run_seed ^ 0x6661756c74ULL;  // the network-fault stream, apart from the schedule's
  return sim::splitmix64(stream);
}

}  // namespace iosim

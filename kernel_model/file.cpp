// kernel_model/file.cpp — the open file description's construction (every file gets a creation number, which
// epoll uses where Linux compares struct file pointers: ordering must not depend on addresses) and its label.
#include "kernel_model/file.hpp"

#include <fmt/format.h>

#include "kernel_model/kernel.hpp"

namespace iosim::kernel {

file::file(kernel& k, std::uint32_t name, int flags)
    : kernel_(k), trace_name_(name), id_(k.next_file_id()), f_flags(flags) {}

void file::set_label(std::string_view label) {
  sim::Trace& trace = kernel_.trace();
  if (plain_name_.empty()) plain_name_ = std::string(trace.name(trace_name_));
  const std::string name = label.empty() ? plain_name_ : fmt::format("{}({})", plain_name_, label);
  trace.rename(trace_name_, name);
  rename_derived(name);
}

}  // namespace iosim::kernel

// kernel_model/file.cpp — the open file description's construction: every file gets a creation number, which
// epoll uses where Linux compares struct file pointers (ordering must not depend on addresses).
#include "kernel_model/file.hpp"

#include "kernel_model/kernel.hpp"

namespace iosim::kernel {

file::file(kernel& k, std::uint32_t name, int flags)
    : kernel_(k), trace_name_(name), id_(k.next_file_id()), f_flags(flags) {}

}  // namespace iosim::kernel

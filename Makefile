# Makefile — the two commands of the README: `make demo` and `make test`. Both install what is missing
# (tools/install-deps), configure CMake into build/ and build; the CLI ends up at build/iosim.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
BENCH_ARGS ?= --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DIOSIM_WERROR=ON
endif

.PHONY: all deps configure build demo test test-long bench format clean

all: build

deps:
	@tools/install-deps

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) > /dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@$(BUILD_DIR)/iosim run scenarios/echo_select.json --seed 1 --explain

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -LE long

test-long: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L long

# Benchmarks want an optimised build of their own (build-release/), apart from the test build.
bench: deps
	@cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build build-release -j $(JOBS) --target iosim_bench
	@build-release/bench/iosim_bench $(BENCH_ARGS)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	@rm -rf $(BUILD_DIR)

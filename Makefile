# The two commands a user needs: `make run` and `make test`. Both install what
# is missing first, so they work on a fresh Debian machine.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build run test bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@scripts/run-demo.sh $(BUILD_DIR)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# xdp_bench needs root (it loads BPF programs); without it, it says so.
bench: build
	$(BUILD_DIR)/bench/limiter_bench --benchmark_counters_tabular=true
	$(BUILD_DIR)/bench/xdp_bench

clean:
	rm -rf $(BUILD_DIR)

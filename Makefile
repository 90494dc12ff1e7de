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

# Not part of `make test`: about 13 minutes on 2 cores, best on an idle machine.
# Parts that need root (XDP, flood) say so and are reported as skipped.
bench: build
	@scripts/install-deps.sh --bench
	bench/run.sh --build $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)

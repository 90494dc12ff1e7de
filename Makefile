# The two commands a user needs: `make run` and `make test`. Both install what
# is missing first, so they work on a fresh Debian machine. Beyond them:
# `make test-asan`, `make test-tsan`, `make bench`, `make vm-test` and
# `make fuzz [FUZZ_SECONDS=n]`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
# Extra options for the build's cmake configure, used when a build folder is
# first configured (build/, build-asan/, build-tsan/): CI passes
# CMAKE_FLAGS=-DSLUICE_WERROR=ON so a warning fails its build.
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-asan test-tsan package vm-test bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@scripts/run-demo.sh $(BUILD_DIR)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The tests again, built with sanitizers (scripts/sanitized-test.sh), each in
# its own build folder: ASan + UBSan over the unit, integration and BPF tests
# (build-asan/), TSan over the unit and integration tests (build-tsan/).
# Any report, from a test or from a sluiced it started, fails the run.
test-asan: deps
	JOBS=$(JOBS) CMAKE_FLAGS='$(CMAKE_FLAGS)' scripts/sanitized-test.sh asan

test-tsan: deps
	JOBS=$(JOBS) CMAKE_FLAGS='$(CMAKE_FLAGS)' scripts/sanitized-test.sh tsan

# The Debian package (CPack): build/sluice_<version>_amd64.deb.
package: build
	cmake --build $(BUILD_DIR) --target package

# Boots a Debian VM (qemu) with the package installed and runs the systemd
# scenarios in it (vm-tests/README.md). Needs root.
vm-test: package
	@scripts/install-deps.sh --vm
	vm-tests/run.sh --build $(BUILD_DIR) --deb $$(ls -t $(BUILD_DIR)/sluice_*.deb | head -1)

# Not part of `make test`: about 13 minutes on 2 cores, best on an idle machine.
# Parts that need root (XDP, flood) say so and are reported as skipped.
bench: build
	@scripts/install-deps.sh --bench
	bench/run.sh --build $(BUILD_DIR)

# Not part of `make test`: builds the libFuzzer targets with clang 14 in
# build-fuzz/ and runs each for FUZZ_SECONDS (default 20); crashes go to
# build-fuzz/fuzz-artifacts/ (fuzz/README.md). `make test` replays the seeds
# and past crashes in every build.
FUZZ_SECONDS ?= 20
fuzz:
	@scripts/install-deps.sh --fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-fuzz

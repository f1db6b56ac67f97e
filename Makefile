# Thin wrapper: the build is CMake's. `make run` and `make test` work on a
# fresh Debian 12 machine; both install what is missing first: `make run`
# (and build) only what building and running need, `make test` and
# `make bench` the test peers too (Prometheus, node exporter, wrk, Python),
# whose services are neither started nor enabled by that install.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 10
# Seconds per fuzz target within `make test` (`make fuzz` alone: FUZZ_SECONDS).
TEST_FUZZ_SECONDS ?= 5
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
PREFIX     ?= /usr/local
DESTDIR    ?=

# Building and running (the -dev packages bring the runtime libraries).
DEPS_BUILD = build-essential cmake pkg-config clang libclang-rt-14-dev libmicrohttpd-dev librdkafka-dev libpcre2-dev \
             libcurl4-openssl-dev libcmocka-dev zlib1g-dev libyaml-dev clang-format
# The peers of the tests and benchmarks only.
DEPS_TEST  = prometheus prometheus-node-exporter python3 python3-kafka curl wrk \
             openssl prometheus-alertmanager python3-aiosmtpd groff-base \
             dpkg-dev systemd python3-yaml

.PHONY: all deps deps-test build run install package reference test test-asan fuzz lint format-check \
        format bench clean

all: build

deps:
	@sh packaging/install-deps.sh $(DEPS_BUILD)

deps-test:
	@sh packaging/install-deps.sh --no-start $(DEPS_TEST)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DVIGIL_WERROR=ON $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/vigil $(ARGS)

# The binary under PREFIX, /etc/vigil/vigil.yaml, the systemd unit, the man
# page and the docs, all below DESTDIR when it is set.
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian package $(BUILD)/vigil_<version>_<arch>.deb (dpkg-shlibdeps
# computes its dependencies: dpkg-dev).
package: build
	@sh packaging/install-deps.sh dpkg-dev
	cd $(BUILD) && cpack -G DEB

# config/REFERENCE.md, regenerated from the binary's option tables.
reference: build
	/usr/bin/python3 packaging/reference.py --vigil $(BUILD)/vigil --write config/REFERENCE.md

# House style, checked by tools: no function longer than one screen; no
# strcpy/strcat/sprintf/atoi/strerror and no assignment inside a condition
# (known findings that cannot be edited yet are in tests/lint/banned_allow.txt).
lint:
	@/usr/bin/python3 tests/lint/function_size.py --max 60 agent config collectors outputs
	@/usr/bin/python3 tests/lint/banned.py --allow tests/lint/banned_allow.txt agent config collectors outputs

format-check: lint
	@files=$$(git ls-files -co --exclude-standard '*.c' '*.h'); \
	clang-format --dry-run -Werror $$files && echo "format: $$(echo $$files | wc -w) files clean"

format:
	clang-format -i $$(git ls-files -co --exclude-standard '*.c' '*.h')

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DVIGIL_WERROR=ON -DVIGIL_SANITIZE=address,undefined $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ctest --test-dir $(ASAN_BUILD) -L unit --output-on-failure -j$(JOBS)

# libFuzzer on every tests/fuzz/fuzz_*.c (parsers that meet hostile input).
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DVIGIL_FUZZ=ON -DVIGIL_WERROR=ON \
		-DVIGIL_SANITIZE=address,undefined -DVIGIL_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_all
	ctest --test-dir $(FUZZ_BUILD) -L fuzz --output-on-failure -j$(JOBS)

test: build deps-test format-check
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L unit
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L integration
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	$(MAKE) --no-print-directory test-asan

bench: build deps-test
	ctest --test-dir $(BUILD) -L bench --verbose

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

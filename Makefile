# pyflame: a thin wrapper over cargo. `make` builds the static release binary; `make demo`
# builds it and profiles a bundled demo program (ending with an SVG flame graph of it);
# `make test` runs every test; `make fuzz` fuzzes the decoders of untrusted bytes.

MUSL      := x86_64-unknown-linux-musl
GNU       := x86_64-unknown-linux-gnu
AARCH64   := aarch64-unknown-linux-musl
PREFIX    ?= /usr/local
PYTHON    ?= python3
# Where `make` leaves the binary, whichever target built it.
BIN       := target/pyflame

.PHONY: all build aarch64 install-aarch64 test test-aarch64 pythons servers prerequisites check fuzz install demo bench soak clean

all: build

# The musl target is installed on demand. If it cannot be, fall back to a static glibc build
# and say so rather than fail.
build:
	@if rustup target list --installed 2>/dev/null | grep -qx $(MUSL) || rustup target add $(MUSL) >/dev/null 2>&1; then \
		cargo build --release --target $(MUSL) && cp target/$(MUSL)/release/pyflame $(BIN); \
	else \
		echo "make: the $(MUSL) target is unavailable; building a static glibc binary instead (-C target-feature=+crt-static)"; \
		RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --target $(GNU) && cp target/$(GNU)/release/pyflame $(BIN); \
	fi
	@echo "built $(BIN): $$(file -b $(BIN) | cut -d, -f1-2,4 ), $$(stat -c %s $(BIN)) bytes"

# The static binary for arm64 servers, cross-built here with the toolchain's own linker
# (rust-lld); the target is installed on demand.
aarch64:
	@rustup target list --installed 2>/dev/null | grep -qx $(AARCH64) || rustup target add $(AARCH64)
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld cargo build --release --target $(AARCH64)
	@echo "built target/$(AARCH64)/release/pyflame: $$(file -b target/$(AARCH64)/release/pyflame | cut -d, -f1-2,4 ), $$(stat -c %s target/$(AARCH64)/release/pyflame) bytes"

# The aarch64 binary's end-to-end checks inside an emulated arm64 Debian (tests/aarch64/test:
# qemu-system-aarch64, provisioned once into target/aarch64).
test-aarch64: aarch64
	tests/aarch64/test target/$(AARCH64)/release/pyflame

# Unit tests and end-to-end tests against every Python interpreter found on the machine, and
# those `pythons` provides; `prerequisites` installs the other tools the tests use, `servers`
# the servers PyPI has (gunicorn, in a virtualenv under target/venvs).
test: prerequisites pythons servers
	cargo test

prerequisites:
	@tests/prerequisites || echo "make: some test prerequisites are missing (see above)"

# Interpreters this machine lacks, from Debian's archive, cached under target/pythons: 3.14 and
# 3.15 (Debian's binaries, run through their own loader), free-threaded 3.13t and 3.14t and a
# tail-calling 3.14 built by clang (from Debian's sources, a few minutes the first time). What cannot be provided is
# reported; the tests then skip it, or fail under CI.
pythons:
	@tests/pythons/provision target/pythons || echo "make: some test interpreters could not be provided (see above)"

servers:
	@tests/servers/provision target/venvs || echo "make: some test servers could not be provided (see above)"

check:
	cargo fmt --check
	cargo fmt --check --manifest-path tests/fuzz/Cargo.toml
	cargo clippy --all-targets -- -D warnings

# Every fuzz target of tests/fuzz (one per decoder of untrusted bytes) for FUZZ_SECONDS seconds
# each, with the nightly toolchain; cargo-fuzz is installed once under target/tools. The limits
# (time per input, size of one allocation, RSS) are explained in tests/fuzz/run.
FUZZ_SECONDS ?= 300
CARGO_FUZZ_VERSION := 0.13.2

fuzz:
	@[ -x target/tools/bin/cargo-fuzz ] || \
		cargo install --locked --root target/tools --version $(CARGO_FUZZ_VERSION) cargo-fuzz
	PATH="$(CURDIR)/target/tools/bin:$$PATH" tests/fuzz/run $(FUZZ_SECONDS)

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pyflame

install-aarch64: aarch64
	install -D -m 0755 target/$(AARCH64)/release/pyflame $(DESTDIR)$(PREFIX)/bin/pyflame

demo: build
	@tests/demo/run.sh $(BIN) $(PYTHON)

bench: build
	@$(PYTHON) tests/bench/bench.py $(BIN)
	@cargo test --release --quiet --lib render_100k_stacks -- --ignored --nocapture
	@cargo test --release --quiet --test integration usr1_every_2ms -- --ignored --nocapture --test-threads=1
	@cargo test --release --quiet --test integration idle_share_at_10khz_py27 -- --ignored --nocapture --test-threads=1

# SOAK_SECONDS (default 600) at 1 kHz on a target starting 100 threads and taking 100 signals/s.
soak: build
	@$(PYTHON) tests/bench/soak.py $(BIN)

clean:
	cargo clean

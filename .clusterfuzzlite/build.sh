#!/bin/bash -eu
# Builds every fuzz target of fuzz/ for ClusterFuzzLite or OSS-Fuzz, into $OUT, each with
# its seed corpus and libFuzzer options. Runs in the builder image (nightly Rust,
# cargo-fuzz, AddressSanitizer), or locally:
#
#   SRC=/path/holding/badgateway OUT=/tmp/cflite-out bash .clusterfuzzlite/build.sh
#
# SANITIZER (address unless set) chooses cargo fuzz's sanitizer; `none` builds on stable.

cd "$SRC/badgateway/fuzz"
SANITIZER="${SANITIZER:-address}"
# Release, with debug assertions: an overflow in the code under test is a crash too.
cargo fuzz build --release --debug-assertions --sanitizer "$SANITIZER"

build_dir=target/x86_64-unknown-linux-gnu/release
mkdir -p "$OUT"
for target in $(cargo fuzz list); do
  cp "$build_dir/$target" "$OUT/"
  # The checked-in seeds start every target of the example integration; the others
  # start empty.
  case "$target" in
    naive_* | hardened_*)
      (cd seeds && zip -q -j "$OUT/${target}_seed_corpus.zip" ./*) ;;
  esac
  # badgateway's own liveness check reports hangs (a few hundred milliseconds of
  # nothing moving); libFuzzer's timeout is only the backstop for the harness itself.
  printf '[libfuzzer]\nmax_len = 512\ntimeout = 60\n' > "$OUT/$target.options"
done

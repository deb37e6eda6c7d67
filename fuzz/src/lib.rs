//! What the fuzz targets share: the example integration's campaigns and calls
//! ([`paygate`]). No libFuzzer here: the targets in `fuzz_targets/` link it.

pub mod paygate;

// Runs one Rust test binary built for wasm32-wasip1 under Node's V8 — the engine Envoy runs the
// filters in — through Node's WASI. Cargo calls it as the target's runner
// (CARGO_TARGET_WASM32_WASIP1_RUNNER, see `make test-core`), so `cargo test --target
// wasm32-wasip1` runs core's own test suite on the filters' real target: the same libtest
// binary, the same std, the same 32-bit wasm, without Envoy.
//
// The host filesystem is visible read-only-by-convention under `/` (golden fixtures are read
// by absolute path). Exit status: the test binary's.
import { readFile } from "node:fs/promises";
import { argv, env, exit } from "node:process";
import { WASI } from "node:wasi";

const [, , wasmPath, ...args] = argv;
const wasi = new WASI({
  version: "preview1",
  args: [wasmPath, ...args],
  env,
  preopens: { "/": "/" },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance));

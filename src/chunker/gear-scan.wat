;; The gear-hash cut-point scan of FastCDC (src/chunker/fastcdc.ts), as WebAssembly: the one
;; per-byte loop of the scanner, ~1.8x the speed of the same loop in JavaScript (V8 keeps
;; bounds checks on both table lookups there). Compiled by `npm run build:wasm` into
;; gear-scan-wasm.ts; a test checks the two match.
;;
;; Memory: bytes [0, 1024) hold the 256 int32 gear values (little-endian, set by the caller),
;; the bytes to scan start at DATA = 1024 (at most 1 MiB, copied in by the caller).
(module
  (memory (export "memory") 17)
  ;; the hash after the last byte scanned
  (global $hash (export "hash") (mut i32) (i32.const 0))
  ;; Hashes data[i .. stop2) on top of hash h: h = (h << 1) + GEAR[byte]. Before index stop1
  ;; a cut is where (h & maskS) == 0, from stop1 on where (h & maskL) == 0. Returns the index
  ;; just after the byte that cuts, or -1 when none does before stop2; the hash is left in
  ;; $hash either way.
  (func (export "scan") (param $i i32) (param $stop1 i32) (param $stop2 i32) (param $h i32)
    (param $maskS i32) (param $maskL i32) (result i32)
    (block $easier
      (loop $harder
        (br_if $easier (i32.ge_s (local.get $i) (local.get $stop1)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=1024 (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskS)))
          (then (global.set $hash (local.get $h)) (return (local.get $i))))
        (br $harder)))
    (block $end
      (loop $easy
        (br_if $end (i32.ge_s (local.get $i) (local.get $stop2)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=1024 (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskL)))
          (then (global.set $hash (local.get $h)) (return (local.get $i))))
        (br $easy)))
    (global.set $hash (local.get $h))
    (i32.const -1)))

#!/usr/bin/env node
// Writes N bytes to stdout: one random 1 MiB block repeated (cheap to produce, incompressible
// within a block), so the benchmark measures the uploaders, not the data source.
'use strict';
const { randomBytes } = require('crypto');
const total = Number(process.argv[2]);
if (!Number.isFinite(total) || total < 0) {
  process.stderr.write('usage: gen.js <bytes>\n');
  process.exit(2);
}
const block = randomBytes(1024 * 1024);
let left = total;
function pump() {
  while (left > 0) {
    const n = Math.min(left, block.length);
    left -= n;
    if (!process.stdout.write(n === block.length ? block : block.subarray(0, n))) {
      process.stdout.once('drain', pump);
      return;
    }
  }
}
pump();

#!/usr/bin/env node
// Runs a TypeScript entry point with tsx's CommonJS loader: `node bin/run-ts.js file.ts [args...]`.
'use strict';
require('tsx/cjs');
const path = require('path');
const entry = process.argv[2];
if (!entry) {
  console.error('usage: run-ts <file.ts> [args...]');
  process.exit(2);
}
process.argv.splice(1, 2, path.resolve(entry));
require(path.resolve(entry));

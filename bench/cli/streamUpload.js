#!/usr/bin/env node
// Runs bench/cli/streamUpload.ts from a bundle, as bin/infrafabric-backup.js runs the CLI
// (tools/lib/bundle.js): the benchmark measures the uploader as users start it, not tsx.
'use strict';
require('../../tools/lib/bundle')('bench-stream-upload', 'bench/cli/streamUpload.ts', () =>
  require('tsx/cjs'),
);

#!/usr/bin/env node
// The local B2 emulator (docs/architecture.md §4). Source: emulator/cli.ts, run from its prebuilt
// bundle when current (tools/lib/bundle.js), else through tsx.
'use strict';
require('../tools/lib/bundle')('b2-local', 'emulator/cli.ts', () => require('tsx/cjs'));

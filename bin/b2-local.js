#!/usr/bin/env node
// The local B2 emulator (docs/architecture.md §4). Source: emulator/cli.ts.
'use strict';
require('tsx/cjs');
require('../emulator/cli.ts');

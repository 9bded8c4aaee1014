#!/usr/bin/env node
// The backup jobs CLI (docs/architecture.md §5). Source: scripts/cli.ts, run from its prebuilt
// bundle when current (tools/lib/bundle.js), else through tsx (bin/load-ts.js).
'use strict';
require('../tools/lib/bundle')('infrafabric-backup', 'scripts/cli.ts', require('./load-ts'));

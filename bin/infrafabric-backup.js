#!/usr/bin/env node
// The backup jobs CLI (docs/architecture.md §5). Source: scripts/cli.ts.
'use strict';
require('./load-ts')();
require('../scripts/cli.ts');

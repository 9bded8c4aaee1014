#!/usr/bin/env node
// The backup jobs CLI (docs/architecture.md §5). Source: scripts/cli.ts.
'use strict';
require('tsx/cjs');
require('../scripts/cli.ts');

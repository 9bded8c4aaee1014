#!/usr/bin/env node
// `npm start`: the README's main job (provision the local estate, sample backup, summary).
// Source: scripts/start/main.ts, loaded through tsx like the other bin scripts.
'use strict';
require('tsx/cjs');
require('../scripts/start/main.ts');

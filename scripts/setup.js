#!/usr/bin/env node
// Placeholder: replaced by the idempotent setup script (system packages, Python clients, Pulumi CLI).
'use strict';

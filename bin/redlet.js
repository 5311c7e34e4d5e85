#!/usr/bin/env -S node --no-node-snapshot
// The installed `redlet` command: runs the compiled entry point (npm run build makes dist/).
import '../dist/ui/entry.js';

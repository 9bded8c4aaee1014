/** `tsx/cjs` (the loader the bin/ shims require first) is reachable only through package exports, which this project's `moduleResolution: node` does not read. */
declare module 'tsx/cjs';

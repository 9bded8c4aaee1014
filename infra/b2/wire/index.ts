/** Wire-level B2 types and codecs, shared with the emulator (docs/conventions.md §1). */
export * from './types';
export * from './errors';
export * from './headers';
export * from './capabilities';
export { CORS_OPERATIONS } from './cors';
export * from './emulator';

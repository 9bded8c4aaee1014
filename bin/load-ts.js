// Registers tsx's CommonJS loader for the repository's TypeScript, and leaves the CommonJS files of
// dependencies to Node's own loader. tsx runs every `.js` file it loads through an ES-module lexer
// (asm.js until its WebAssembly build has loaded, i.e. for everything required at start-up) to
// decide whether to transform it; the AWS SDK's CommonJS files need no transform, and skipping the
// lexer saves ~0.1 s CPU per CLI invocation (bench/cli/restoreAB.ts, bench/README.md). A
// dependency that turns out to be an ES module (`"type": "module"`, or import/export syntax) is
// handed to tsx as before. test/unit/cli/loadTs.test.ts covers both kinds.
'use strict';
const Module = require('module');
const { sep } = require('path');

/** @typedef {(this: unknown, module: NodeJS.Module, filename: string) => void} Loader */
/** Node's table of loaders by file extension (internal, stable since Node 0.x). */
const extensions = /** @type {Record<string, Loader>} */ (
  /** @type {{ _extensions: unknown }} */ (/** @type {unknown} */ (Module))._extensions
);

module.exports = function registerTs() {
  const plainJs = extensions['.js'];
  require('tsx/cjs');
  const tsxJs = extensions['.js'];
  if (tsxJs === plainJs) return;
  const inDeps = `${sep}node_modules${sep}`;
  /** @type {Loader} */
  extensions['.js'] = function loadJs(module, filename) {
    if (!filename.includes(inDeps)) return tsxJs.call(this, module, filename);
    try {
      return plainJs.call(this, module, filename);
    } catch (err) {
      // Both are thrown while compiling, before any of the file's code ran: retrying is safe.
      const code = /** @type {NodeJS.ErrnoException | undefined} */ (err)?.code;
      const esm =
        code === 'ERR_REQUIRE_ESM' ||
        (err instanceof SyntaxError &&
          /import statement|Unexpected token 'export'|import\.meta/.test(err.message));
      if (!esm) throw err;
      return tsxJs.call(this, module, filename);
    }
  };
};

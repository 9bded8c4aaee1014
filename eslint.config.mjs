import js from '@eslint/js';
import * as path from 'node:path';
import tseslint from 'typescript-eslint';

/**
 * The dependency rule (README "What is where", docs/architecture.md): each source folder may
 * import only the folders listed for it (its own included); relative imports are resolved, so the
 * rule holds however deep the importing file sits. Test, bench and bin code may import anything.
 * First matching unit wins, so the more specific prefix comes first.
 */
const LAYERS = [
  { unit: 'infra/b2/wire', may: [] },
  { unit: 'infra/b2', may: ['infra/b2/wire', 'package.json'], noPackages: ['@pulumi/', '@aws-sdk/'] },
  { unit: 'infra/providers', may: ['infra/b2'] },
  { unit: 'infra/components', may: ['infra/providers', 'infra/b2'] },
  { unit: 'infra/config', may: ['infra/components', 'infra/providers', 'infra/b2'] },
  { unit: 'stacks', may: ['infra/config', 'infra/components'] },
  // `npm start` drives the Pulumi CLI and the emulator: the one place scripts may use tools/.
  { unit: 'scripts/start', may: ['scripts/estate', 'scripts', 'infra/b2', 'tools', 'package.json'] },
  // The estate pipeline and bootstrap (README "GitOps"): the Automation API over the pinned CLI,
  // the state-backend bootstrap and working copies of scripts/start.
  { unit: 'scripts/estate', may: ['scripts/start', 'scripts', 'infra/b2', 'tools', 'package.json'] },
  { unit: 'scripts', may: ['infra/b2', 'package.json'], noPackages: ['@pulumi/'] },
  // The emulator stands alone; it shares only the B2 wire constants and shapes.
  { unit: 'emulator', may: ['infra/b2/wire', 'package.json'], noPackages: ['@pulumi/', '@aws-sdk/'] },
  { unit: 'tools', may: ['package.json'], noPackages: ['@aws-sdk/'] },
  { unit: 'policy', may: ['infra/components', 'infra/providers', 'infra/b2'] },
];
const ROOT = import.meta.dirname;
const under = (rel, unit) => rel === unit || rel.startsWith(unit + '/');
const unitOf = (rel) => LAYERS.find((l) => under(rel, l.unit));
/** Repository-relative, `/`-separated, without a code extension (`infra/config.ts` → `infra/config`). */
const repoPath = (abs) =>
  path
    .relative(ROOT, abs)
    .split(path.sep)
    .join('/')
    .replace(/(\.d)?\.(ts|js|mjs|cjs)$/, '');

const layersPlugin = {
  rules: {
    'allowed-imports': {
      meta: { type: 'problem', schema: [] },
      create(context) {
        const from = repoPath(context.filename);
        const layer = unitOf(from);
        if (!layer) return {};
        const check = (node, spec) => {
          if (typeof spec !== 'string') return;
          if (spec.startsWith('.')) {
            const to = repoPath(path.resolve(path.dirname(context.filename), spec));
            // The target's own unit decides: \`scripts\` may not reach into \`scripts/start\`, while
            // \`infra/b2\` in a list also admits \`infra/b2/wire\`.
            const target = unitOf(to)?.unit ?? to;
            if (target === layer.unit || layer.may.some((u) => under(target, u))) return;
            context.report({
              node,
              message: `${layer.unit} must not import ${to} (allowed: ${[layer.unit, ...layer.may].join(', ')}; see docs/architecture.md)`,
            });
          } else if (layer.noPackages?.some((p) => spec.startsWith(p))) {
            context.report({
              node,
              message: `${layer.unit} must not import the package ${spec} (docs/architecture.md)`,
            });
          }
        };
        const source = (node) => node.source && check(node.source, node.source.value);
        return {
          ImportDeclaration: source,
          ExportNamedDeclaration: source,
          ExportAllDeclaration: source,
          ImportExpression: (node) => check(node, node.source.value),
          TSImportEqualsDeclaration: (node) => check(node, node.moduleReference.expression?.value),
          CallExpression(node) {
            if (
              node.callee.type === 'Identifier' &&
              node.callee.name === 'require' &&
              node.arguments[0]?.type === 'Literal'
            )
              check(node, node.arguments[0].value);
          },
        };
      },
    },
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.cache/**', '.b2-local/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        __filename: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
      },
    },
    plugins: { layers: layersPlugin },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'layers/allowed-imports': 'error',
    },
  },
  {
    // Type-aware rules: promises in async providers, streams and servers must be awaited or handled.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: ROOT } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
);

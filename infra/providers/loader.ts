/**
 * The thin loader that Pulumi serialises into the state as a dynamic resource's `__provider`.
 *
 * The engine runs refresh and delete with the provider code stored in the state, not the code in
 * the repository (docs/architecture.md §3). So what gets serialised is only this: a handful of arrow
 * functions that `require()` the real provider module at run time and forward each call. That
 * means
 * - a fix to a provider reaches resources created before the fix;
 * - no credential, client or SDK object is ever captured (the closure holds three short strings),
 *   which also sidesteps the serialiser's known failures on the AWS SDK v3 and ESM modules;
 * - the provider module is TypeScript loaded through `tsx/cjs`, like the repo's bin scripts.
 *
 * Module resolution at run time, first hit wins:
 * 1. `$INFRAFABRIC_BACKUP_ROOT/infra/providers/<module>.{ts,js}` (explicit override);
 * 2. `infra/providers/<module>` under the working directory or up to 5 of its parents (the engine
 *    starts the provider host in the Pulumi project directory);
 * 3. the directory this loader was serialised from (a fallback for a checkout that has not moved).
 */
import type * as pulumi from '@pulumi/pulumi';

/** Names of the provider modules in this directory, and the export holding the implementation. */
export type ProviderModule = 'bucket' | 'applicationKey' | 'replication';

/**
 * Modules a dynamic resource may be served from, as `<dir under infra/>/<module>`: the providers
 * here, and components that carry a provider of their own (the key smoke test).
 */
export type LoadableModule = `providers/${ProviderModule}` | 'components/smokeTest';

/** The serialisable forwarding provider for `moduleName`'s export `exportName` (memoised). */
export function thinLoader(moduleName: ProviderModule, exportName: string): pulumi.dynamic.ResourceProvider {
  return loaderFor(`providers/${moduleName}`, exportName);
}

/** The same for any loadable module, e.g. `loaderFor('components/smokeTest', 'keySmokeTestProvider')`. */
export function loaderFor(modulePath: LoadableModule, exportName: string): pulumi.dynamic.ResourceProvider {
  // One object per module, so the SDK's per-object serialisation cache is hit.
  const cacheKey = `${modulePath}#${exportName}`;
  let loader = loaders.get(cacheKey);
  if (!loader) {
    const [dirName, moduleName] = modulePath.split('/');
    loader = buildLoader(dirName, moduleName, exportName);
    loaders.set(cacheKey, loader);
  }
  return loader;
}

const loaders = new Map<string, pulumi.dynamic.ResourceProvider>();

/**
 * The serialised part. Everything the returned functions touch is declared inside this function,
 * so the closure holds only the three strings and `load`.
 */
function buildLoader(
  dirName: string,
  moduleName: string,
  exportName: string,
): pulumi.dynamic.ResourceProvider {
  const fallbackDir: string = require('path').join(__dirname, '..', dirName);
  const load = (): pulumi.dynamic.ResourceProvider => {
    const nodePath = require('path');
    const fs = require('fs');
    const roots: string[] = [];
    if (process.env.INFRAFABRIC_BACKUP_ROOT)
      roots.push(nodePath.join(process.env.INFRAFABRIC_BACKUP_ROOT, 'infra', dirName));
    let dir: string = process.cwd();
    for (let i = 0; i < 6; i++) {
      roots.push(nodePath.join(dir, 'infra', dirName));
      const parent = nodePath.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    roots.push(fallbackDir);
    for (const root of roots) {
      for (const ext of ['.ts', '.js']) {
        const file = nodePath.join(root, moduleName + ext);
        if (!fs.existsSync(file)) continue;
        if (ext === '.ts' && !require.extensions['.ts']) {
          // Register tsx's CommonJS hook from the project's own node_modules.
          require(require.resolve('tsx/cjs', { paths: [root] }));
        }
        const impl = require(file)[exportName];
        if (!impl) throw new Error(`B2 dynamic resource: ${file} has no export "${exportName}"`);
        return impl;
      }
    }
    throw new Error(
      `B2 dynamic resource: cannot find infra/${dirName}/${moduleName}.ts (looked in ${roots.join(', ')}). ` +
        'Run Pulumi from the infrafabric-backup checkout or set INFRAFABRIC_BACKUP_ROOT to it.',
    );
  };
  return {
    configure: async (req) => {
      const impl = load();
      if (impl.configure) await impl.configure(req);
    },
    check: (olds, news) => load().check!(olds, news),
    diff: (id, olds, news) => load().diff!(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read!(id, props),
    update: (id, olds, news) => load().update!(id, olds, news),
    delete: (id, props) => load().delete!(id, props),
  };
}

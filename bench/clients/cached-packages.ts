/**
 * The two compared clients live outside the repo, in the folder install.sh fills
 * ($CRM_LAB_CACHE/bench-clients), so that neither `up`, the tests nor CI install them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheDir } from '../../infra/paths.js';

export const benchClientsDir = join(cacheDir, 'bench-clients');

function requireFromCache(): NodeJS.Require {
  if (!existsSync(join(benchClientsDir, '.complete'))) {
    throw new Error(`the compared Kafka clients are not installed in ${benchClientsDir}: run bash bench/clients/install.sh`);
  }
  return createRequire(join(benchClientsDir, 'package.json'));
}

/** The installed version of a package of the cache folder. */
export function cachedVersion(name: string): string {
  return JSON.parse(readFileSync(join(benchClientsDir, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** A CommonJS package (its native addon loads like any require). */
export function requireCached<T>(name: string): T {
  return requireFromCache()(name) as T;
}

/** An ES module package, resolved in the cache folder and imported from there. */
export async function importCached<T>(name: string): Promise<T> {
  return (await import(pathToFileURL(requireFromCache().resolve(name)).href)) as T;
}

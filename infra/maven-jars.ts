/**
 * Jars from Maven Central, the way infra/install.sh's `fetch_jars` fetches them: a pom's runtime
 * dependencies copied into a cache folder whose `.complete` holds the pom they came from, so a
 * changed pom fetches again. For a test that runs before install.sh has fetched them.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, versions } from './paths.js';

const exec = promisify(execFile);

/** infra/<pomFile> with the broker's Kafka version filled in, trimmed as install.sh's `$(sed …)` writes it. */
export function kafkaPom(pomFile: string): string {
  return readFileSync(join(repoRoot, 'infra', pomFile), 'utf8').replaceAll('@KAFKA_VERSION@', versions.KAFKA_VERSION!).trim();
}

/** True when `libs` holds the jars of exactly this pom. */
export function jarsReady(libs: string, pom: string): boolean {
  const marker = join(libs, '.complete');
  return existsSync(marker) && readFileSync(marker, 'utf8').trim() === pom;
}

/** Copies the pom's runtime dependencies into `libs`, unless already there; `mvnArgs` are added (e.g. -DexcludeTransitive=true). */
export async function ensureJars(libs: string, pom: string, mvnArgs: string[] = []): Promise<string> {
  if (jarsReady(libs, pom)) return libs;
  const work = mkdtempSync(join(tmpdir(), 'crm-lab-pom-'));
  writeFileSync(join(work, 'pom.xml'), pom);
  rmSync(libs, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  await exec('mvn', ['-q', '-B', '-f', join(work, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', ...mvnArgs,
    `-DoutputDirectory=${libs}`], { maxBuffer: 16 * 1024 * 1024 });
  rmSync(work, { recursive: true, force: true });
  writeFileSync(join(libs, '.complete'), pom);
  return libs;
}

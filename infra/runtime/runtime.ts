/**
 * Which runtime starts the lab's components: `native` (local processes, the default) or
 * `containers` (the images of infra/images/, through testcontainers). Chosen by LAB_RUNTIME.
 */
export const labRuntimes = ['native', 'containers'] as const;
export type LabRuntime = (typeof labRuntimes)[number];

export function labRuntime(env: NodeJS.ProcessEnv = process.env): LabRuntime {
  const value = env.LAB_RUNTIME ?? 'native';
  if (!(labRuntimes as readonly string[]).includes(value)) {
    throw new Error(`LAB_RUNTIME=${value} is not a runtime: use ${labRuntimes.join(' or ')}`);
  }
  return value as LabRuntime;
}

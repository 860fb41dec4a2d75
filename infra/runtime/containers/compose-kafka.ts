/**
 * Kafka's own command-line tools, run inside a compose project's broker container (`docker exec`):
 * the compose test reads the topic and the consumer group between compose's own containers, never
 * through a port published on the host. Each call starts a JVM in the container (1-2 s).
 */
import { waitFor } from '../../processes.js';
import type { ComposeProject } from './compose.js';

const tools = {
  offsets: 'org.apache.kafka.tools.GetOffsetShell',
  consoleConsumer: 'org.apache.kafka.tools.consumer.ConsoleConsumer',
  groups: 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
};

/** The broker as the containers reach it (docker-compose.yml's INTERNAL listener). */
const bootstrap = 'kafka:9092';

function kafkaTool(project: ComposeProject, tool: string, args: string[]): Promise<string> {
  // No log4j config: the tools' log lines go to stderr as warnings, and stdout keeps only their output.
  return project.exec('kafka', ['java', '-Xmx128m', '-Dlog4j.configuration=file:/dev/null', '-cp', '/opt/kafka/libs/*',
    tool, '--bootstrap-server', bootstrap, ...args]);
}

/** `crm-events:0:123` lines (GetOffsetShell) → end offset per partition. */
export function parseOffsets(output: string, topic: string): Map<number, number> {
  const offsets = new Map<number, number>();
  for (const line of output.split('\n')) {
    const match = new RegExp(`^${topic}:(\\d+):(\\d+)$`).exec(line.trim());
    if (match) offsets.set(Number(match[1]), Number(match[2]));
  }
  return offsets;
}

export interface PartitionLag { partition: number; committed: number | null; end: number; lag: number | null }

/** ConsumerGroupCommand `--describe`: one row per partition of `topic` (`-` when nothing is committed yet). */
export function parseGroupOffsets(output: string, group: string, topic: string): PartitionLag[] {
  const num = (s: string | undefined) => (s === undefined || s === '-' ? null : Number(s));
  return output.split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[0] === group && cols[1] === topic)
    .map((cols) => ({ partition: Number(cols[2]), committed: num(cols[3]), end: Number(cols[4]), lag: num(cols[5]) }))
    .sort((a, b) => a.partition - b.partition);
}

/** ConsumerGroupCommand `--describe --state`: its state and member count (the row's last two columns). */
export function parseGroupState(output: string, group: string): { state: string; members: number } | undefined {
  const cols = output.split('\n').map((line) => line.trim().split(/\s+/)).find((c) => c[0] === group);
  if (!cols || cols.length < 3) return undefined;
  return { state: cols[cols.length - 2]!, members: Number(cols[cols.length - 1]) };
}

/** Every record's value in `topic`, parsed as JSON: exactly as many as the partitions' end offsets say. */
export async function readTopicInCompose(project: ComposeProject, topic: string): Promise<any[]> {
  const ends = parseOffsets(await kafkaTool(project, tools.offsets, ['--topic', topic, '--time', '-1']), topic);
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  const out = await kafkaTool(project, tools.consoleConsumer,
    ['--topic', topic, '--from-beginning', '--max-messages', String(total), '--timeout-ms', '60000']);
  const values = out.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
  if (values.length !== total) throw new Error(`read ${values.length} records of ${topic}, its end offsets sum to ${total}`);
  return values;
}

export async function groupOffsetsInCompose(project: ComposeProject, group: string, topic: string): Promise<PartitionLag[]> {
  return parseGroupOffsets(await kafkaTool(project, tools.groups, ['--describe', '--group', group]), group, topic);
}

/** Waits until every partition of `topic` has a committed offset at its end (the group's lag is 0). */
export function waitForZeroLagInCompose(project: ComposeProject, group: string, topic: string, timeoutMs = 60_000) {
  return waitFor(`group ${group} committed to the end of ${topic}`, async () => {
    const rows = await groupOffsetsInCompose(project, group, topic);
    return rows.length > 0 && rows.every((r) => r.committed !== null && r.committed === r.end) ? rows : undefined;
  }, { timeoutMs, intervalMs: 1_000 });
}

/** Waits until the group is Stable with exactly `members` members. */
export function waitForStableGroupInCompose(project: ComposeProject, group: string, members: number, timeoutMs = 120_000) {
  return waitFor(`group ${group} stable with ${members} members`, async () => {
    const state = parseGroupState(await kafkaTool(project, tools.groups, ['--describe', '--group', group, '--state']), group);
    return state?.state === 'Stable' && state.members === members ? state : undefined;
  }, { timeoutMs, intervalMs: 1_000 });
}

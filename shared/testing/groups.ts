import { AssignerProtocol, type Admin } from 'kafkajs';
import { waitFor } from '../../infra/processes.js';
import { createKafka } from '../kafka.js';
import { consumerLag, totalLag } from '../lag.js';

export interface GroupMember {
  clientId: string;
  partitions: number[];
}

/** The group's state and who owns which partitions of `topic`, as the broker reports it. */
export async function describeGroup(admin: Admin, groupId: string, topic: string): Promise<{ state: string; members: GroupMember[] }> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0]!;
  const members = group.members.map((m) => {
    const decoded = m.memberAssignment.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
    return { clientId: m.clientId, partitions: [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b) };
  });
  return { state: group.state, members: members.sort((a, b) => a.clientId.localeCompare(b.clientId)) };
}

/** Waits until the group is Stable with exactly `memberCount` members, and returns its assignment. */
export function waitForStableGroup(admin: Admin, groupId: string, topic: string, memberCount: number, timeoutMs = 60_000) {
  return waitFor(`group ${groupId} stable with ${memberCount} members`, async () => {
    const group = await describeGroup(admin, groupId, topic);
    return group.state === 'Stable' && group.members.length === memberCount ? group : undefined;
  }, { timeoutMs, intervalMs: 250 });
}

/** Waits until `groupId` has committed every record of `topic` (its lag is 0), with its own admin client. */
export async function waitForGroupDrained(brokers: string[], groupId: string, topic: string, timeoutMs = 90_000): Promise<void> {
  const admin = createKafka(brokers, 'crm-lab-test-drain').admin();
  await admin.connect();
  try {
    await waitFor(`group ${groupId} to drain ${topic}`, async () => totalLag(await consumerLag(admin, groupId, topic)) === 0, { timeoutMs, intervalMs: 250 });
  } finally {
    await admin.disconnect();
  }
}

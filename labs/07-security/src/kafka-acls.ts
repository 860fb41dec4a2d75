/**
 * Who may do what on the lab's Kafka (lab 07), as data: the principals the API and the workers
 * log in as, and the ACLs each one gets. Everything not listed is refused: the secure broker runs
 * with `allow.everyone.if.no.acl.found=false` (infra/kafka-secure.ts). `applyAcls` writes them as
 * the super user.
 */
import kafkajs, { type Admin, type AclEntry } from 'kafkajs';
import { dlqReplayGroupOf, retryGroupOf, type Config } from '../../../shared/config.js';

// kafkajs is CommonJS, and Node's ESM loader does not see these enums as named exports (tsx, unlike vitest).
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/** The lab's service principals (SCRAM users); the super user `admin` is the broker's and setup's. */
export const labPrincipals = ['api', 'worker'] as const;
export type LabPrincipal = (typeof labPrincipals)[number];

export type AclOperation = 'READ' | 'WRITE' | 'DESCRIBE' | 'DESCRIBE_CONFIGS' | 'IDEMPOTENT_WRITE';

/** One grant: `principal` may do `operations` on one named topic, group, or the cluster. */
export interface LabAcl {
  principal: LabPrincipal;
  resource: 'topic' | 'group' | 'cluster';
  name: string;
  operations: AclOperation[];
  /** Why the principal needs it (shown by the notes and the tests' messages). */
  why: string;
}

/**
 * The least each process needs. DESCRIBE_CONFIGS: `ensureTopic` (shared/topics.ts) reads a
 * topic's min.insync.replicas at start. READ and WRITE imply DESCRIBE (metadata, offsets).
 * Nobody but the super user may CREATE topics: the setup creates them before the services start.
 * No IDEMPOTENT_WRITE on the cluster for the API's idempotent producer: since Kafka 3.0 (KIP-679)
 * WRITE on any topic authorizes its InitProducerId (tried: an idempotent send as `api` is acked without it).
 */
export function labAcls(config: Pick<Config, 'KAFKA_TOPIC' | 'KAFKA_RETRY_TOPIC' | 'KAFKA_DLQ_TOPIC' | 'CONSUMER_GROUP'>): LabAcl[] {
  // #region solution 07:least-privilege — The ACL table: what `api` and `worker` each need to do their job, and nothing more
  // hint: Walk each process's calls: the API publishes to one topic and checks it at start; the worker consumes two lanes in two groups, re-publishes failures to the retry lane, dead-letters, and reads one gauge. Each call is an operation on a topic or a group.
  // hint: Reading a topic as a consumer needs READ on the topic and READ on the group (join, fetch, commit). WRITE and READ imply DESCRIBE; `ensureTopic` also needs DESCRIBE_CONFIGS. Nobody here creates topics.
  // hint: The worker writes the DLQ and never reads it (replay is an operator's job), and only reads the replay group's offsets: DESCRIBE on `dlqReplayGroupOf(...)`, not READ. Group names: `config.CONSUMER_GROUP`, `retryGroupOf(...)`.
  // stub: return [];
  return [
    { principal: 'api', resource: 'topic', name: config.KAFKA_TOPIC, operations: ['WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS'],
      why: 'POST /track publishes here; ensureTopic checks its replication at start' },
    { principal: 'worker', resource: 'topic', name: config.KAFKA_TOPIC, operations: ['READ', 'DESCRIBE_CONFIGS'],
      why: 'the main lane consumes it' },
    { principal: 'worker', resource: 'group', name: config.CONSUMER_GROUP, operations: ['READ'],
      why: "the main lane's group: join, fetch and commit offsets" },
    { principal: 'worker', resource: 'topic', name: config.KAFKA_RETRY_TOPIC, operations: ['READ', 'WRITE', 'DESCRIBE_CONFIGS'],
      why: 'lab 04: failed events are re-published to the retry lane, which consumes them' },
    { principal: 'worker', resource: 'group', name: retryGroupOf(config.CONSUMER_GROUP), operations: ['READ'],
      why: "the retry lane's group" },
    { principal: 'worker', resource: 'topic', name: config.KAFKA_DLQ_TOPIC, operations: ['WRITE', 'DESCRIBE_CONFIGS'],
      why: 'events out of attempts are dead-lettered; the worker never reads the DLQ (replay is an operator job)' },
    { principal: 'worker', resource: 'group', name: dlqReplayGroupOf(config.CONSUMER_GROUP), operations: ['DESCRIBE'],
      why: "its dlq_depth gauge reads the replay group's committed offset (DESCRIBE: read offsets, not join or commit)" },
  ];
  // #endregion solution
}

const resourceTypes = { topic: AclResourceTypes.TOPIC, group: AclResourceTypes.GROUP, cluster: AclResourceTypes.CLUSTER };

/** The kafkajs entries of a table: one ALLOW per operation, literal names, any host. */
export function aclEntries(acls: LabAcl[]): AclEntry[] {
  return acls.flatMap((acl) => acl.operations.map((operation) => ({
    resourceType: resourceTypes[acl.resource],
    resourceName: acl.name,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: `User:${acl.principal}`,
    host: '*',
    operation: AclOperationTypes[operation],
    permissionType: AclPermissionTypes.ALLOW,
  })));
}

/** Writes the table's ACLs (an admin connected as a super user); an ACL already there is kept once. */
export async function applyAcls(admin: Admin, acls: LabAcl[]): Promise<number> {
  const entries = aclEntries(acls);
  // An empty table grants nothing, so there is nothing to write (kafkajs refuses an empty array; learner mode's stub is one).
  if (entries.length > 0) await admin.createAcls({ acl: entries });
  return entries.length;
}

/** Every ALLOW ACL the broker holds for a principal, as `resource:name:OPERATION` strings, sorted. */
export async function describePrincipalAcls(admin: Admin, principal: string): Promise<string[]> {
  const { resources } = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal: `User:${principal}`,
    operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ALLOW,
  });
  // kafkajs' enums are plain objects (no reverse mapping): look the names up.
  const nameOf = (values: object, value: number) => Object.entries(values).find(([, v]) => v === value)?.[0] ?? String(value);
  const typeName = (t: number) => nameOf(resourceTypes, t);
  const opName = (o: number) => nameOf(AclOperationTypes, o);
  return resources.flatMap((r) => r.acls.map((a) => `${typeName(r.resourceType)}:${r.resourceName}:${opName(a.operation)}`)).sort();
}

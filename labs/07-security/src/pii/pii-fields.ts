/**
 * Which fields of an event are personal data. A list, not code: adding a field here is the whole
 * change (the codec encrypts it, the worker decrypts it, erase shreds it). Paths are dotted:
 * `client_ip` is top level, `properties.email` is inside `properties`.
 */
export const DEFAULT_PII_FIELDS = [
  'client_ip', 'properties.email', 'properties.phone', 'properties.name',
  // Lab 01's Segment endpoints keep the message as sent: its `context` carries the device's IP, user
  // agent and the user's traits.
  'segment.message.context',
] as const;

/** PII_FIELDS=client_ip,properties.email overrides the default list. */
export function piiFieldsFrom(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = env.PII_FIELDS?.split(',').map((f) => f.trim()).filter(Boolean);
  return listed && listed.length > 0 ? listed : [...DEFAULT_PII_FIELDS];
}

type Bag = Record<string, unknown>;

/** The object holding the field's last segment, and that segment; undefined when a parent is missing or not an object. */
function parentOf(root: Bag, path: string): { parent: Bag; leaf: string } | undefined {
  const segments = path.split('.');
  const leaf = segments.pop()!;
  let parent: unknown = root;
  for (const s of segments) {
    parent = (parent as Bag)[s];
    if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return undefined;
  }
  return { parent: parent as Bag, leaf };
}

export function getField(root: Bag, path: string): unknown {
  const at = parentOf(root, path);
  return at && Object.hasOwn(at.parent, at.leaf) ? at.parent[at.leaf] : undefined;
}

export function setField(root: Bag, path: string, value: unknown): void {
  const at = parentOf(root, path);
  if (at) at.parent[at.leaf] = value;
}

export function deleteField(root: Bag, path: string): void {
  const at = parentOf(root, path);
  if (at) delete at.parent[at.leaf];
}

/**
 * Confluent's wire format: byte 0 is the magic byte 0, bytes 1-4 the schema id (big-endian),
 * then the Avro binary body. Records written before the switch are JSON objects, whose first
 * byte is `{`, so the first byte alone tells the two apart on a topic that holds both.
 */
export const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
const JSON_OBJECT_START = 0x7b; // '{'

export type WireRecord =
  | { format: 'avro'; schemaId: number; body: Buffer }
  | { format: 'json' }
  | { format: 'unknown'; reason: string };

export function toWire(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

export function readWire(value: Buffer | null): WireRecord {
  if (!value || value.length === 0) return { format: 'unknown', reason: 'empty record value' };
  if (value[0] === JSON_OBJECT_START) return { format: 'json' };
  if (value[0] !== MAGIC_BYTE) return { format: 'unknown', reason: `first byte 0x${value[0]!.toString(16).padStart(2, '0')} is neither the Avro magic byte 0x00 nor '{'` };
  if (value.length < HEADER_BYTES) return { format: 'unknown', reason: `${value.length} bytes: too short for the 5-byte Avro header` };
  return { format: 'avro', schemaId: value.readInt32BE(1), body: value.subarray(HEADER_BYTES) };
}

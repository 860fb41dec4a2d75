import type { Statement } from 'better-sqlite3';
import { ProfileStore, type ApplyResult, type PositionedEvent } from '../../02-consumer-groups/src/profile-store.js';
import type { EnrichedEventV2 } from './schemas.js';

export interface DeviceSighting {
  event_id: string;
  user_id: string;
  device_type: string;
  os: string;
}

/**
 * What a v2 worker does with `device`: one sighting per event (which device, which OS), written
 * in the same savepoint as lab 02's profile update and dedupe record, so a redelivered event
 * adds nothing twice.
 */
export class DeviceProfileStore extends ProfileStore {
  private readonly insertSighting: Statement;

  constructor(file: string, opts: { busyTimeoutMs?: number } = {}) {
    super(file, opts);
    this.db.exec(`CREATE TABLE IF NOT EXISTS device_sightings (
      event_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_type TEXT NOT NULL, os TEXT NOT NULL)`);
    this.insertSighting = this.db.prepare(`INSERT INTO device_sightings (event_id, user_id, device_type, os)
      VALUES (@event_id, @user_id, @device_type, @os)`);
  }

  protected override write(item: PositionedEvent, workerId: string): ApplyResult {
    const result = super.write(item, workerId);
    const { event } = item;
    const device = (event as EnrichedEventV2).device;
    if (result === 'applied' && device) {
      this.insertSighting.run({ user_id: event.user_id, device_type: device.type, os: device.os, event_id: event.event_id });
    }
    return result;
  }

  deviceSightings(): DeviceSighting[] {
    return this.db.prepare('SELECT * FROM device_sightings ORDER BY event_id').all() as DeviceSighting[];
  }
}

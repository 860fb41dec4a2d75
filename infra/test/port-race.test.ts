/**
 * A free port is only free when it is picked: another process can take it before the component
 * binds it (a JVM binds seconds later). Here the race is forced: the first pick returns a port the
 * test holds, and the component must pick again and start, rather than fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../shared/kafka.js';
import { startApiReplica, type ApiReplica } from '../api.js';
import { startKafka, waitForKafkaReady, type KafkaBroker } from '../kafka.js';
import { freePorts, launch, PortTakenError } from '../processes.js';
import { startToxiproxy, type ToxiproxyServer } from '../toxiproxy.js';
import { startNginx, type NginxServer } from '../nginx.js';

const servers: Server[] = [];
let kafka: KafkaBroker | undefined;
let toxiproxy: ToxiproxyServer | undefined;
let api: ApiReplica | undefined;
let nginx: NginxServer | undefined;
afterEach(async () => {
  await nginx?.process.stop();
  nginx = undefined;
  await api?.process.stop();
  api = undefined;
  await kafka?.process.stop();
  await toxiproxy?.process.stop();
  kafka = toxiproxy = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A port another process took between the pick and the bind. */
async function takenPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** Picks that hand out `taken` first, then really free ports. */
function racingPicker(taken: number) {
  const picks: number[][] = [];
  const pick = async (count: number) => {
    const ports = picks.length === 0 ? [taken, ...(await freePorts(count - 1))] : await freePorts(count);
    picks.push(ports);
    return ports;
  };
  return { pick, picks };
}

describe('ports picked free, then taken before the bind', () => {
  it('Kafka: a broker whose picked port was taken starts again on other ports, and serves', async () => {
    const taken = await takenPort();
    const { pick, picks } = racingPicker(taken);
    kafka = await startKafka({ pickPorts: pick });
    console.log(`kafka: attempt 1 on ports ${picks[0]!.join(',')}, attempt 2 on ${picks[1]?.join(',')}`);
    expect(picks.length).toBe(2);
    expect(picks[0]).toContain(taken);
    expect(Object.values(kafka.ports)).not.toContain(taken);
    const admin = createKafka(kafka.brokers, 'port-race-test').admin();
    await admin.connect();
    try {
      expect((await admin.describeCluster()).brokers).toHaveLength(1);
    } finally {
      await admin.disconnect();
    }
  }, 240_000); // two JVM starts, the first one failing: slow on a busy machine

  it('Kafka readiness: a broker that died of a taken port ends the wait with PortTakenError, so it is picked again (its other listeners bind after the broker port)', async () => {
    // The broker port can already accept when the next listener fails to bind (seen in CI: the
    // PROXIED listener's port was taken); the JVM then shuts down while the readiness wait polls.
    // A stand-in process dies with Kafka's own message, and no broker ever answers.
    const dir = mkdtempSync(join(tmpdir(), 'port-race-'));
    const standIn = launch('kafka', 'sh', ['-c', 'echo "Socket server failed to bind to 127.0.0.1:1: Address already in use."; exit 1'],
      { logFile: join(dir, 'kafka.log') });
    await expect(waitForKafkaReady([`127.0.0.1:${(await freePorts(1))[0]}`], { process: standIn })).rejects.toBeInstanceOf(PortTakenError);
    rmSync(dir, { recursive: true, force: true });
  });

  it('Toxiproxy: picks again when its picked port was taken', async () => {
    const taken = await takenPort();
    const { pick, picks } = racingPicker(taken);
    toxiproxy = await startToxiproxy({ pickPorts: pick });
    expect(picks.length).toBe(2);
    expect(toxiproxy.apiUrl).not.toContain(`:${taken}`);
    expect(await toxiproxy.client.getAll()).toEqual({});
  });

  it('API replica: picks again when its picked port was taken, and its /ready is its own', async () => {
    const taken = await takenPort();
    const { pick, picks } = racingPicker(taken);
    api = await startApiReplica({ id: 'port-race-api', brokers: inject('kafka').brokers, pickPorts: pick });
    expect(picks.length).toBe(2);
    expect(api.port).not.toBe(taken);
    const ready = await fetch(`${api.url}/ready`);
    expect(ready.status).toBe(200);
  });

  it('nginx: picks again when its picked port was taken, and answers on the new one', async () => {
    const taken = await takenPort();
    const { pick, picks } = racingPicker(taken);
    nginx = await startNginx({ upstreams: ['127.0.0.1:9'], pickPorts: pick });
    expect(picks.length).toBe(2);
    expect(nginx.port).not.toBe(taken);
    expect((await fetch(`${nginx.url}/nginx-health`)).status).toBe(200);
  });

  it('a port given explicitly is not replaced: taken, the start fails and names the bind failure', async () => {
    const taken = await takenPort();
    await expect(startToxiproxy({ port: taken })).rejects.toThrow(/address already in use/i);
  });
});

import 'vitest';
import type { TestProject } from 'vitest/node';
import { startKafka } from '../../infra/kafka.js';
import { startToxiproxy } from '../../infra/toxiproxy.js';

export interface SharedKafka {
  /** Direct listener: the tests' own reads and writes. */
  brokers: string[];
  /** Through Toxiproxy: clients bootstrapped here stay behind the proxy (advertised address). */
  proxiedBrokers: string[];
  toxiproxyUrl: string;
  /** Name of the Toxiproxy proxy in front of the broker's PROXIED listener. */
  kafkaProxyName: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafka: SharedKafka;
  }
}

/** Starts one real broker and Toxiproxy for the whole test run, and stops them afterwards. */
export default async function setup(project: TestProject) {
  const [kafka, toxiproxy] = await Promise.all([startKafka(), startToxiproxy()]);
  const kafkaProxyName = 'kafka';
  await toxiproxy.client.createProxy({
    name: kafkaProxyName,
    listen: `127.0.0.1:${kafka.ports.proxiedAdvertised}`,
    upstream: `127.0.0.1:${kafka.ports.proxiedListener}`,
  });
  project.provide('kafka', {
    brokers: kafka.brokers,
    proxiedBrokers: kafka.proxiedBrokers,
    toxiproxyUrl: toxiproxy.apiUrl,
    kafkaProxyName,
  });
  return async () => {
    await Promise.all([kafka.process.stop(), toxiproxy.process.stop()]);
  };
}

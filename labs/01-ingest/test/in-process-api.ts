import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { buildApp } from '../src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../src/publisher.js';

export interface InProcessApi {
  url: string;
  app: FastifyInstance;
  publisher: EventPublisher;
  config: Config;
  close(): Promise<void>;
}

/** The lab 01 API in this process, on a free port, publishing to a real broker. */
export async function startInProcessApi(brokers: string[], env: Record<string, string>): Promise<InProcessApi> {
  const config = loadConfig({ LOG_LEVEL: 'warn', ...env, KAFKA_BROKERS: brokers.join(',') });
  const publisher = new EventPublisher(createKafka(config.kafkaBrokers, 'crm-lab-test-api'), publisherOptionsFrom(config));
  await publisher.start();
  const app = await buildApp(config, publisher);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    app,
    publisher,
    config,
    async close() {
      await app.close();
      await publisher.stop();
    },
  };
}

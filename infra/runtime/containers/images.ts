import { versions } from '../../paths.js';

/** The images infra/images/build.sh builds (or tags from an official image). */
export const images = {
  kafka: `crm-lab/kafka:${versions.KAFKA_VERSION}`,
  toxiproxy: `crm-lab/toxiproxy:${versions.TOXIPROXY_VERSION}`,
  nginx: `crm-lab/nginx:${versions.DEBIAN_SUITE}`,
  /** Debian's redis-server (lab 07); the JVM apps run in the Kafka image, which has Java 17. */
  redis: `crm-lab/redis:${versions.DEBIAN_SUITE}`,
  /** The lab's code and node_modules: API replicas and workers. */
  app: 'crm-lab/app:local',
};

/** Label on every container the container runtime starts, so a leftover one can be found and removed. */
export const ownerLabel = 'crm-event-lab.runtime';
/**
 * Label naming the test run that started the container (CRM_LAB_RUN_ID, set by infra/test.sh), so a
 * run's leftover check sees only its own containers, not those of another run on the same engine.
 */
export const runLabel = 'crm-event-lab.run';

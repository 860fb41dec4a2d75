/** `npm run lag`: consumer lag per partition of the group, read from the broker's admin API. */
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';

const config = loadConfig();
const admin = createKafka(config.kafkaBrokers, 'crm-lab-lag').admin();
await admin.connect();
try {
  const lags = await consumerLag(admin, config.CONSUMER_GROUP, config.KAFKA_TOPIC);
  console.log(`group ${config.CONSUMER_GROUP} on topic ${config.KAFKA_TOPIC}`);
  console.log('partition  committed  end  lag');
  for (const p of lags) console.log(`${String(p.partition).padStart(9)}  ${String(p.committed).padStart(9)}  ${String(p.end).padStart(3)}  ${p.lag}`);
  console.log(`total lag: ${totalLag(lags)}`);
} finally {
  await admin.disconnect();
}

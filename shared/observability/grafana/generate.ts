/** `npm run dashboard:grafana`: writes the board (board.ts) to crm-event-lab.json beside this file. */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boardJson } from './board.js';

export const boardFile = join(dirname(fileURLToPath(import.meta.url)), 'crm-event-lab.json');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(boardFile, boardJson());
  console.log(`wrote ${boardFile}`);
}

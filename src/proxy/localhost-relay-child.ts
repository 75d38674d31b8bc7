// The ::1 relay run inside another network namespace (`ip netns exec`): a process cannot bind
// sockets in a namespace it does not live in, so a plane that programs a namespace other than
// its own (tests, the lab) drives this child over stdin. One JSON line in (RelaySpec[]), one
// JSON line out (RelayStatus). It exits when its stdin closes, so it never outlives the plane.
import { createInterface } from 'node:readline';
import { InProcessRelay, type RelaySpec } from './localhost-relay.ts';

const relay = new InProcessRelay();
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  queue = queue.then(async () => {
    const status = await relay.set(JSON.parse(line) as RelaySpec[]);
    process.stdout.write(`${JSON.stringify(status)}\n`);
  });
});
lines.on('close', () => {
  void queue.then(() => relay.close()).then(() => process.exit(0));
});
process.stdout.write('ready\n');

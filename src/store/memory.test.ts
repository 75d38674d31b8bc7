import { runStoreConformance } from './conformance.ts';
import { MemoryStore } from './memory.ts';

runStoreConformance('memory', (opts) => new MemoryStore(opts));

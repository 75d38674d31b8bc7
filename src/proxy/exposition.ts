// The exposition formats moved to api/ so every component's /metrics shares them.
export * from '../api/exposition.ts';

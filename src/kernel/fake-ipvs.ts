// IPVS in memory with the kernel's semantics as ipvsadm reports them: adding a service or real
// server that exists, editing or deleting one that does not, or naming an unknown scheduler
// fails; a restore runs in order and stops at the first failure, keeping what came before
// (ipvsadm -R is no transaction). dump()/load() make "state left by a crash" a unit test.

import {
  canonicalHostPort,
  destLine,
  flagValue,
  type Ipvs,
  type IpvsConnections,
  type IpvsDest,
  type IpvsService,
  type IpvsState,
  ipvsSchedulers,
  parseSave,
  parseServiceWords,
  serviceId,
  serviceLine,
} from './ipvs.ts';
import { RestoreError } from './restore-error.ts';

export class FakeIpvs implements Ipvs {
  private state: IpvsState = new Map();
  /** Connection counters the test sets: `serviceId dest` → counters. */
  readonly conns = new Map<string, IpvsConnections>();
  restores = 0;

  async restore(text: string): Promise<void> {
    this.restores++;
    const lines = text.split('\n');
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === '') continue;
      const why = this.applyLine(line);
      if (why) throw new RestoreError('ipvsadm', `${why}: ${line}`, i + 1);
    }
  }

  private applyLine(line: string): string | undefined {
    const w = line.split(/\s+/);
    const op = w[0];
    const words = parseServiceWords(w);
    if (!words && op !== '-C') return 'Invalid command';
    const id = words ? serviceId(words) : '';
    const cur = this.state.get(id);
    const svc: IpvsService | undefined = words && {
      ...words,
      scheduler: flagValue(w, '-s') ?? 'wlc',
      persistence: Number(flagValue(w, '-p') ?? 0),
    };
    switch (op) {
      case '-A':
      case '-E': {
        if (!svc) return 'Invalid command';
        if (!(ipvsSchedulers as readonly string[]).includes(svc.scheduler)) return 'Scheduler not found';
        if (op === '-A' && cur) return 'Service already exists';
        if (op === '-E' && !cur) return 'No such service';
        this.state.set(id, { service: svc, dests: cur?.dests ?? new Map() });
        return undefined;
      }
      case '-D':
        if (!cur) return 'No such service';
        this.state.delete(id);
        return undefined;
      case '-a':
      case '-e':
      case '-d': {
        if (!cur) return 'Service not defined';
        const r = flagValue(w, '-r');
        if (!r) return 'Invalid command';
        const key = canonicalHostPort(r);
        const dests = cur.dests as Map<string, IpvsDest>;
        if (op === '-d') {
          if (!dests.has(key)) return 'No such destination';
          dests.delete(key);
          return undefined;
        }
        if (op === '-a' && dests.has(key)) return 'Destination already exists';
        if (op === '-e' && !dests.has(key)) return 'No such destination';
        const wi = w.indexOf('-w');
        dests.set(key, { key, weight: wi >= 0 ? Number(w[wi + 1]) : 1 });
        return undefined;
      }
      case '-C':
        this.state.clear();
        return undefined;
      default:
        return 'Invalid command';
    }
  }

  async save(): Promise<string> {
    return this.dump();
  }

  async connections(): Promise<Map<string, IpvsConnections>> {
    const out = new Map<string, IpvsConnections>();
    for (const [id, t] of this.state) {
      for (const d of t.dests.keys()) out.set(`${id} ${d}`, this.conns.get(`${id} ${d}`) ?? { active: 0, inactive: 0 });
    }
    return out;
  }

  /** `ipvsadm -S -n` text of the table, services and real servers sorted. */
  dump(): string {
    const out: string[] = [];
    for (const id of [...this.state.keys()].sort()) {
      const t = this.state.get(id);
      if (!t) continue;
      out.push(serviceLine('-A', t.service));
      for (const k of [...t.dests.keys()].sort()) {
        const d = t.dests.get(k);
        if (d) out.push(destLine('-a', t.service, d));
      }
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }

  load(dump: string): void {
    this.state = parseSave(dump);
  }

  services(): IpvsService[] {
    return [...this.state.values()].map((t) => t.service);
  }

  table(): IpvsState {
    return this.state;
  }
}

// ipset in memory, behaving like the kernel and the tool for what svcnet uses: the hash types
// below with their element syntax, `family`, `skbinfo` (skbmark extensions), `-exist`, swap of
// sets of the same type only, destroy refused while a rule references the set, a restore that
// stops at the first failing command and keeps the ones before it, and `save()` sorted.
import { canonicalCIDR, canonicalIP, cidrContains, cidrFamilyOf, type IPFamily, ipFamilyOf } from '../api/ip.ts';
import type { Ipset } from './ipset.ts';
import { RestoreError } from './restore-error.ts';

export const ipsetTypes = ['hash:ip', 'hash:net', 'hash:ip,port', 'hash:ip,port,ip', 'hash:ip,port,net'] as const;
export type IpsetType = (typeof ipsetTypes)[number];

export interface FakeSet {
  readonly name: string;
  readonly type: IpsetType;
  readonly family: IPFamily;
  /** The create options as given, normalised (what `create … -exist` compares). */
  readonly options: string;
  readonly skbinfo: boolean;
  readonly maxelem: number;
  /** Canonical element → its extensions ("skbmark 0x10000/0xffff0000" or ""). */
  readonly elements: Map<string, string>;
}

class Fail extends Error {}

/** The canonical text of an element of `type`, or a failure message. */
function canonicalElement(type: IpsetType, family: IPFamily, text: string): string {
  const parts = text.split(',');
  const kinds = type.slice('hash:'.length).split(',');
  if (parts.length !== kinds.length) throw new Fail(`Syntax error: '${text}' is not a ${type} element`);
  return kinds
    .map((k, i) => {
      const p = parts[i] ?? '';
      if (k === 'ip') {
        if (ipFamilyOf(p) !== family) throw new Fail(`Syntax error: cannot parse ${p}: resolving to ${family} failed`);
        return canonicalIP(p) ?? p;
      }
      if (k === 'net') {
        const c = p.includes('/') ? p : `${p}/${family === 'IPv4' ? 32 : 128}`;
        if (cidrFamilyOf(c) !== family) throw new Fail(`Syntax error: cannot parse ${p}`);
        const canon = canonicalCIDR(c) ?? c;
        // ipset prints host routes without their prefix.
        return /\/(32|128)$/.test(canon) ? canon.replace(/\/\d+$/, '') : canon;
      }
      const m = /^(tcp|udp|sctp):(\d+)$/.exec(p);
      if (!m || Number(m[2]) > 65535) throw new Fail(`Syntax error: invalid port specification ${p}`);
      return `${m[1]}:${Number(m[2])}`;
    })
    .join(',');
}

function words(line: string): string[] {
  return line.trim().split(/\s+/).filter(Boolean);
}

export class FakeIpset implements Ipset {
  readonly sets = new Map<string, FakeSet>();
  /** Who may reference a set (the fake iptables): a referenced set cannot be destroyed. */
  private readonly referrers: ((name: string) => boolean)[] = [];
  /** Every restore text handed over, in order. */
  readonly restores: string[] = [];

  addReferrer(inUse: (name: string) => boolean): void {
    this.referrers.push(inUse);
  }

  inUse(name: string): boolean {
    return this.referrers.some((r) => r(name));
  }

  async restore(text: string, opts: { exist?: boolean } = {}): Promise<void> {
    this.restoreSync(text, opts);
  }

  restoreSync(text: string, opts: { exist?: boolean } = {}): void {
    this.restores.push(text);
    const lines = text.split('\n');
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      try {
        this.command(words(line), opts.exist ?? false);
      } catch (e) {
        if (e instanceof Fail) throw new RestoreError('ipset', `Error in line ${i + 1}: ${e.message}`, i + 1);
        throw e;
      }
    }
  }

  private need(name: string | undefined): FakeSet {
    const s = name === undefined ? undefined : this.sets.get(name);
    if (!s) throw new Fail('The set with the given name does not exist');
    return s;
  }

  private command(w: string[], exist: boolean): void {
    const [cmd, name, ...rest] = w;
    switch (cmd) {
      case 'create': {
        const [type, ...opts] = rest;
        if (name === undefined || name.length > 31) throw new Fail('Syntax error: setname is too long');
        if (!ipsetTypes.includes(type as IpsetType)) throw new Fail(`Syntax error: Unknown settype ${type}`);
        let family: IPFamily = 'IPv4';
        let skbinfo = false;
        let maxelem = 65536;
        const kept: string[] = [];
        for (let k = 0; k < opts.length; k++) {
          const o = opts[k];
          const v = opts[k + 1];
          if (o === 'family') {
            if (v !== 'inet' && v !== 'inet6') throw new Fail(`Syntax error: unknown family ${v}`);
            family = v === 'inet' ? 'IPv4' : 'IPv6';
            k++;
          } else if (o === 'maxelem' || o === 'hashsize' || o === 'timeout' || o === 'bucketsize') {
            if (v === undefined || !/^\d+$/.test(v)) throw new Fail(`Syntax error: ${o} needs a number`);
            if (o === 'maxelem') maxelem = Number(v);
            if (o !== 'hashsize' && o !== 'bucketsize') kept.push(`${o} ${v}`);
            k++;
          } else if (o === 'skbinfo') {
            skbinfo = true;
            kept.push(o);
          } else if (o === 'counters' || o === 'comment') kept.push(o);
          else throw new Fail(`Syntax error: Unknown argument: '${o}'`);
        }
        const options = [`family ${family === 'IPv4' ? 'inet' : 'inet6'}`, ...kept.sort()].join(' ');
        const old = this.sets.get(name);
        if (old) {
          if (exist && old.type === type && old.options === options) return;
          throw new Fail('Set cannot be created: set with the same name already exists');
        }
        this.sets.set(name, { name, type: type as IpsetType, family, options, skbinfo, maxelem, elements: new Map() });
        return;
      }
      case 'add':
      case 'del': {
        const s = this.need(name);
        const [el, ...ext] = rest;
        if (el === undefined) throw new Fail('Syntax error: missing element');
        const key = canonicalElement(s.type, s.family, el);
        if (cmd === 'del') {
          if (!s.elements.delete(key) && !exist)
            throw new Fail("Element cannot be deleted from the set: it's not added");
          return;
        }
        let extText = '';
        if (ext.length > 0) {
          if (ext[0] !== 'skbmark' || ext.length !== 2) throw new Fail(`Syntax error: Unknown argument: '${ext[0]}'`);
          if (!s.skbinfo) throw new Fail('Syntax error: skbmark requires the skbinfo extension of the set');
          const m = /^(0x[0-9a-f]+|\d+)(?:\/(0x[0-9a-f]+|\d+))?$/i.exec(ext[1] ?? '');
          if (!m) throw new Fail(`Syntax error: invalid skbmark ${ext[1]}`);
          const v = Number(m[1]) >>> 0;
          const mask = m[2] === undefined ? 0xffffffff : Number(m[2]) >>> 0;
          extText = `skbmark 0x${v.toString(16)}/0x${mask.toString(16)}`;
        }
        if (s.elements.has(key) && !exist) throw new Fail("Element cannot be added to the set: it's already added");
        if (!s.elements.has(key) && s.elements.size >= s.maxelem)
          throw new Fail('Hash is full, cannot add more elements');
        s.elements.set(key, extText);
        return;
      }
      case 'flush':
        if (name === undefined) for (const s of this.sets.values()) s.elements.clear();
        else this.need(name).elements.clear();
        return;
      case 'destroy': {
        const names = name === undefined ? [...this.sets.keys()] : [this.need(name).name];
        for (const n of names) {
          if (this.inUse(n)) throw new Fail('Set cannot be destroyed: it is in use by a kernel component');
        }
        for (const n of names) this.sets.delete(n);
        return;
      }
      case 'swap': {
        const a = this.need(name);
        const bName = rest[0];
        const b = bName === undefined ? undefined : this.sets.get(bName);
        if (!b) throw new Fail('Sets cannot be swapped: the second set does not exist');
        if (a.type !== b.type || a.family !== b.family)
          throw new Fail('The sets cannot be swapped: their type does not match');
        // Names stay; everything else changes places (rules keep referencing the name).
        this.sets.set(a.name, { ...b, name: a.name });
        this.sets.set(b.name, { ...a, name: b.name });
        return;
      }
      default:
        throw new Fail(`Syntax error: unknown command ${cmd}`);
    }
  }

  async list(): Promise<string[]> {
    return [...this.sets.keys()].sort();
  }

  async save(name?: string): Promise<string> {
    return this.dump(name);
  }

  /** `ipset save` text: sets by name, elements sorted. */
  dump(name?: string): string {
    const out: string[] = [];
    const sets = name === undefined ? [...this.sets.values()] : [this.need(name)];
    for (const s of sets.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      out.push(`create ${s.name} ${s.type} ${s.options}`);
      for (const [k, ext] of [...s.elements].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        out.push(`add ${s.name} ${k}${ext ? ` ${ext}` : ''}`);
    }
    return out.length > 0 ? `${out.join('\n')}\n` : '';
  }

  /** Replaces everything with a dump (a crash left this state behind). */
  load(dump: string): void {
    this.sets.clear();
    this.restoreSync(dump);
  }

  /**
   * What `-m set --match-set name …` sees for a packet: the element matching `parts` (one
   * address or `proto:port` per dimension, as the flags picked them), with net dimensions
   * matched by containment. Returns its extensions, or undefined when nothing matches.
   */
  match(name: string, parts: readonly string[]): string | undefined {
    const s = this.sets.get(name);
    if (!s) throw new Error(`ipset ${name} missing`);
    const kinds = s.type.slice('hash:'.length).split(',');
    if (kinds.length !== parts.length) return undefined;
    if (!kinds.includes('net')) {
      const key = parts.map((p, i) => (kinds[i] === 'ip' ? (canonicalIP(p) ?? p) : p)).join(',');
      return s.elements.get(key);
    }
    for (const [k, ext] of s.elements) {
      const have = k.split(',');
      if (
        have.every((h, i) =>
          kinds[i] === 'net'
            ? cidrContains(h.includes('/') ? h : `${h}/${s.family === 'IPv4' ? 32 : 128}`, parts[i] ?? '')
            : h === parts[i],
        )
      )
        return ext;
    }
    return undefined;
  }
}

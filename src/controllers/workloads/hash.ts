// pod-template-hash (k8s.io/kubernetes pkg/controller ComputeHash): FNV-32a over the pod
// template, optionally followed by the collision count, printed as a decimal number and mapped
// onto the "safe" alphabet (no vowels, no 0/1/3, so no words and no look-alikes), giving up to
// 10 characters. Kubernetes hashes the Go struct's spew dump; we hash canonical JSON (sorted
// keys), so values differ from a real cluster's but are stable for the same template.

/** k8s.io/apimachinery/pkg/util/rand alphanums. */
export const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** rand.SafeEncodeString: each character mapped onto the safe alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += safeAlphabet[s.charCodeAt(i) % safeAlphabet.length];
  return out;
}

/** rand.String(n): n characters from the safe alphabet. */
export function randomSuffix(n: number, random: () => number = Math.random): string {
  let out = '';
  for (let i = 0; i < n; i++) out += safeAlphabet[Math.floor(random() * safeAlphabet.length)];
  return out;
}

function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** JSON with object keys sorted at every level, so equal templates hash equally. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJSON(x === undefined ? null : x)).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJSON(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function computeTemplateHash(template: unknown, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJSON(template)));
  if (collisionCount !== undefined) {
    // binary.LittleEndian.PutUint32 into an 8-byte buffer, as Kubernetes writes it.
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

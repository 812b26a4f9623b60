/** A seeded pseudo-random generator (mulberry32), so property tests are repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

export function randomString(random: () => number, length: number, alphabet?: string): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    if (alphabet) out += alphabet[Math.floor(random() * alphabet.length)];
    else out += String.fromCharCode(Math.floor(random() * 0x3000));
  }
  return out;
}

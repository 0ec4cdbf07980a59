/**
 * Request ids: short, copyable, unambiguous when read aloud or typed from a screenshot.
 * Crockford's base32 alphabet (no I, L, O, U), 6 characters: ~1 billion values, so a collision
 * is rare and is retried by the caller on the primary-key conflict.
 */

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const idLength = 6;
const idPattern = new RegExp(`^JIT-[${alphabet}]{${idLength}}$`);

/** `randomBytes` is injected so the domain stays free of I/O and tests are deterministic. */
export function newRequestId(randomBytes: (n: number) => Uint8Array): string {
  const bytes = randomBytes(idLength);
  let out = 'JIT-';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** Normalises what a user typed (`jit-7k2mq9`, ` JIT-7K2MQ9 `) to the stored form, or null. */
export function parseRequestId(text: string): string | null {
  const candidate = text.trim().toUpperCase();
  return idPattern.test(candidate) ? candidate : null;
}

const extensionIdPattern = new RegExp(`^EXT-[${alphabet}]{${idLength}}$`);

/** Extension ids: the same shape as request ids, told apart by their prefix. */
export function newExtensionId(randomBytes: (n: number) => Uint8Array): string {
  return `EXT-${newRequestId(randomBytes).slice('JIT-'.length)}`;
}

/** `ext-7k2mq9` → `EXT-7K2MQ9`, or null. */
export function parseExtensionId(text: string): string | null {
  const candidate = text.trim().toUpperCase();
  return extensionIdPattern.test(candidate) ? candidate : null;
}

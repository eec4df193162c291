/** Letters and digits that cannot be mistaken for one another (no 0/O, 1/l/I). */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const GROUPS = 4;
const GROUP_LENGTH = 4;

/**
 * A random password for an administrator to hand over: 16 characters from a 56-letter
 * alphabet (about 93 bits), in groups of four so it can be read out or typed without errors.
 * Drawn from the browser's CSPRNG, without modulo bias.
 */
export function generatePassword(): string {
  const limit = 256 - (256 % ALPHABET.length);
  const chars: string[] = [];
  const bytes = new Uint8Array(64);
  while (chars.length < GROUPS * GROUP_LENGTH) {
    crypto.getRandomValues(bytes);
    for (const b of bytes)
      if (b < limit && chars.length < GROUPS * GROUP_LENGTH) chars.push(ALPHABET.charAt(b % ALPHABET.length));
  }
  const groups = Array.from({ length: GROUPS }, (_, i) => chars.slice(i * GROUP_LENGTH, (i + 1) * GROUP_LENGTH));
  return groups.map((g) => g.join('')).join('-');
}

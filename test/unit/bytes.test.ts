import { describe, expect, it } from 'vitest';
import { bytesText, parseMemoryMiB } from '../../src/domain/bytes.js';

describe('parseMemoryMiB', () => {
  it('reads sizes as admins type them, in binary units; a bare number is MiB', () => {
    expect(parseMemoryMiB('16g')).toBe(16384);
    expect(parseMemoryMiB('1.5 GiB')).toBe(1536);
    expect(parseMemoryMiB('512m')).toBe(512);
    expect(parseMemoryMiB('512MB')).toBe(512);
    expect(parseMemoryMiB('2048')).toBe(2048);
    expect(parseMemoryMiB('1t')).toBe(1024 * 1024);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['', 'g', '-1g', '0', '1.2.3g', '16 gigs', '1e3m', 'NaN'])
      expect(parseMemoryMiB(bad)).toBeUndefined();
  });

  it('reads back what bytesText prints', () => {
    expect(parseMemoryMiB(bytesText(3 * 2 ** 30))).toBe(3072);
  });
});

import { describe, expect, it } from 'vitest';
import { addressProblem } from './address';

describe('addressProblem', () => {
  it('flags an address only this machine reaches', () => {
    for (const base of [
      'http://127.0.0.1:8420',
      'https://127.0.1.5',
      'http://localhost:8420',
      'http://[::1]:8420',
      'http://0.0.0.0:8420',
    ]) {
      expect(addressProblem(base), base).toBe('loopback');
    }
  });
  it('flags plain HTTP on an address other machines reach', () => {
    expect(addressProblem('http://203.0.113.7:8420')).toBe('plain-http');
    expect(addressProblem('http://cairn.example.com')).toBe('plain-http');
  });
  it('is quiet for HTTPS on a routable address', () => {
    expect(addressProblem('https://cairn.example.com')).toBeNull();
    expect(addressProblem('https://203.0.113.7:8443/cairn')).toBeNull();
  });
});

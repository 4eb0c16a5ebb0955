/**
 * The share of a disk or of memory in use, counted as `df` counts it: used / (used + available),
 * rounded up, so that blocks reserved for root do not make a full disk look 95 % used. Agents that
 * send no available figure get used / total.
 */
import type { Usage } from './protocol.generated';

export function usedPercent(u: Usage): number | null {
  const whole = u.availableBytes != null ? u.usedBytes + u.availableBytes : u.totalBytes;
  if (whole <= 0) return null;
  return Math.min(100, Math.ceil((u.usedBytes * 100) / whole));
}

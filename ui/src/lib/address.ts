/**
 * What is wrong with the address new servers are told to reach the control plane at, for the
 * Connect dialog: a loopback address (the command would, on any other server, point at that
 * server itself) or plain HTTP on an address other machines reach (what agents download and
 * send could be read or changed on the way). `null` when neither.
 */
export type AddressProblem = 'loopback' | 'plain-http' | null;

export function addressProblem(base: string): AddressProblem {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return null;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '::1' ||
    host === '0.0.0.0' ||
    host === '::';
  if (loopback) return 'loopback';
  if (url.protocol === 'http:') return 'plain-http';
  return null;
}

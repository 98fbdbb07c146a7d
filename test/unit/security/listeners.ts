/**
 * Which local addresses listen on a TCP port, read from the kernel's socket tables (Linux
 * /proc/net/tcp and tcp6), whichever process owns the socket: the way to check that a server bound
 * to loopback only, and not to every interface.
 */
import { readFileSync } from 'node:fs';

const LISTEN = '0A';

/** `0100007F` → `127.0.0.1` (the kernel prints IPv4 addresses as a little-endian word). */
function ipv4(hex: string): string {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}

/** 32 hex digits, four little-endian words → `::ffff:127.0.0.1`, `::1`, `::`. */
function ipv6(hex: string): string {
  const bytes = [0, 8, 16, 24].flatMap((w) => [6, 4, 2, 0].map((i) => parseInt(hex.slice(w + i, w + i + 2), 16)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Addresses with a listening socket on `port` (empty when none). */
export function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const [file, decode] of [
    ['/proc/net/tcp', ipv4],
    ['/proc/net/tcp6', ipv6],
  ] as const) {
    let table: string;
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of table.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== LISTEN) continue;
      const [address, portHex] = local.split(':');
      if (parseInt(portHex, 16) === port) found.push(decode(address));
    }
  }
  return found;
}

/** 127.0.0.0/8, ::1, or 127.x mapped into IPv6. */
export function isLoopbackAddress(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address);
}

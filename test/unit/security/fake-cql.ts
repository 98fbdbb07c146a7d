/**
 * A CQL server that demands a password and refuses every one, for tests of what the Cassandra client
 * sends and of what its errors print. It speaks just enough of the native protocol (v4 frames):
 * OPTIONS → SUPPORTED, STARTUP → AUTHENTICATE (PasswordAuthenticator), AUTH_RESPONSE → "Bad credentials",
 * an error whose message quotes the token it got (the decoded password), as a careless server might.
 * Newer protocol versions are refused, so the driver falls back to v4. It records the SASL PLAIN
 * credentials it was sent, and whether a connection opened with a TLS ClientHello instead of a frame.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

const OPCODE = { ERROR: 0x00, STARTUP: 0x01, AUTHENTICATE: 0x03, OPTIONS: 0x05, SUPPORTED: 0x06, AUTH_RESPONSE: 0x0f } as const;
const PROTOCOL_ERROR = 0x000a;
const BAD_CREDENTIALS = 0x0100;

export interface FakeCql {
  address: string;
  /** SASL PLAIN credentials received, in order. */
  credentials: Array<{ username: string; password: string }>;
  /** Connections whose first byte was a TLS handshake record (0x16). */
  tlsHellos: number;
  close(): Promise<void>;
}

function shortString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function frame(version: number, stream: number, opcode: number, body: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(0x80 | version, 0);
  header.writeUInt8(0, 1);
  header.writeInt16BE(stream, 2);
  header.writeUInt8(opcode, 4);
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

function error(version: number, stream: number, code: number, message: string): Buffer {
  const codeBytes = Buffer.alloc(4);
  codeBytes.writeUInt32BE(code);
  return frame(version, stream, OPCODE.ERROR, Buffer.concat([codeBytes, shortString(message)]));
}

export async function startFakeCql(): Promise<FakeCql> {
  const sockets = new Set<Socket>();
  const state: FakeCql = { address: '', credentials: [], tlsHellos: 0, close: async () => undefined };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let first = true;
    socket.on('data', (chunk: Buffer) => {
      if (first && chunk[0] === 0x16) {
        state.tlsHellos++;
        socket.destroy();
        return;
      }
      first = false;
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9 && pending.length >= 9 + pending.readUInt32BE(5)) {
        const version = pending.readUInt8(0) & 0x7f;
        const stream = pending.readInt16BE(2);
        const opcode = pending.readUInt8(4);
        const body = pending.subarray(9, 9 + pending.readUInt32BE(5));
        pending = pending.subarray(9 + body.length);
        if (version !== 4) {
          socket.write(error(version, stream, PROTOCOL_ERROR, `Invalid or unsupported protocol version (${version}); supported versions are (3/v3, 4/v4)`));
        } else if (opcode === OPCODE.OPTIONS) {
          socket.write(frame(4, stream, OPCODE.SUPPORTED, Buffer.from([0, 0])));
        } else if (opcode === OPCODE.STARTUP) {
          socket.write(frame(4, stream, OPCODE.AUTHENTICATE, shortString('org.apache.cassandra.auth.PasswordAuthenticator')));
        } else if (opcode === OPCODE.AUTH_RESPONSE) {
          // [bytes] token: "\0username\0password" (SASL PLAIN).
          const token = body.subarray(4, 4 + body.readInt32BE(0)).toString('utf8');
          const [, username, password] = token.split('\0');
          state.credentials.push({ username, password });
          socket.write(error(4, stream, BAD_CREDENTIALS, `Provided username ${username} and/or password ${password} are incorrect`));
        } else {
          socket.write(error(4, stream, PROTOCOL_ERROR, `unexpected opcode ${opcode}`));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return state;
}

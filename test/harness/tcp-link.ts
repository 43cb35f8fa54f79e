// A remote-like link on 127.0.0.1, for the benchmark (scripts/bench.ts): a TCP pass-through to the API server that
// delivers every chunk half a round trip late each way and sends what the server sends through one bandwidth all
// connections share, as a far network does. TLS, HTTP/2 and its flow control pass through it untouched (the fault
// proxy, test/harness/fault-proxy.ts, ends TLS and speaks HTTP/1.1 to the client), and what it counts is what crossed
// it from the server: TLS records, headers and frames included.
//
//   const link = await startTcpLink({ host: '127.0.0.1', port }, { rttMs: 20, bytesPerSecond: 12.5e6 });
//   ... connect to https://127.0.0.1:${link.port} (a certificate for 127.0.0.1 still matches) ...
//   link.bytesDown                                     // bytes the server sent through the link so far
//   await link.close();                                // every socket, timer and the port released
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { trackedTimers } from './timers.ts';

export interface TcpLink {
  readonly port: number;
  /** Bytes the server sent through the link since it started (or since the caller last set it to 0). */
  bytesDown: number;
  close(): Promise<void>;
}

export async function startTcpLink(
  target: { host: string; port: number },
  link: { rttMs: number; bytesPerSecond: number },
): Promise<TcpLink> {
  const sockets = new Set<Socket>();
  const timers = trackedTimers();
  const { later } = timers;
  const oneWay = link.rttMs / 2;
  // When the shared downstream link is next free to send, as a performance.now() time.
  let downFreeAt = 0;
  const state = { bytesDown: 0 };

  /** Copies `from` to `to` half a round trip late; downstream, after its turn on the shared bandwidth too. */
  const carry = (from: Socket, to: Socket, down: boolean) => {
    // In order, by one timer at a time: timers of different delays may fire out of the order they were set in.
    const queue: { at: number; send: () => void }[] = [];
    let waiting = false;
    const pump = () => {
      waiting = false;
      while (queue.length > 0 && queue[0]!.at <= performance.now()) queue.shift()!.send();
      if (queue.length > 0) {
        waiting = true;
        later(Math.max(1, queue[0]!.at - performance.now()), pump);
      }
    };
    const deliver = (at: number, send: () => void) => {
      queue.push({ at: Math.max(at, queue.at(-1)?.at ?? 0), send });
      if (!waiting) pump();
    };
    from.on('data', (chunk: Buffer) => {
      const now = performance.now();
      let sentAt = now;
      if (down) {
        state.bytesDown += chunk.length;
        downFreeAt = Math.max(now, downFreeAt) + (chunk.length / link.bytesPerSecond) * 1000;
        sentAt = downFreeAt;
      }
      deliver(sentAt + oneWay, () => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('end', () => deliver(performance.now() + oneWay, () => to.end()));
    from.on('error', () => to.destroy());
  };

  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    carry(client, upstream, false);
    carry(upstream, client, true);
    // A connection that ends without a FIN (reset, destroyed) takes the other side with it.
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get bytesDown() {
      return state.bytesDown;
    },
    set bytesDown(n: number) {
      state.bytesDown = n;
    },
    async close() {
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// The bare client of `npm run bench` (scripts/bench.ts): the physical limit a scan is measured against. It makes
// exactly the list requests a scan made (taken from the scan's `-v` lines) with undici, as the CLI does, in as many
// lists at once, pages each list with `limit`/`continue` (JSON.parse of each page, for the token), and keeps nothing.
// With the plan's `gzip` it asks for gzip as the CLI does (Accept-Encoding: gzip, client-go's default) and inflates
// each gzipped answer (zlib.gunzipSync); without, it asks for no compression, as `--disable-compression` does.
//
//   node scripts/bench-bare-client.ts PLAN.json      prints {"requests":N,"bytes":N,"items":N} on stdout
//
// PLAN.json: { server, ca (PEM), token, gzip, concurrency, chunkSize, discovery: [{ path, accept }], lists: [{ path, accept,
// labelSelector? }] }. Its own process, so its wall time and peak RSS are measured as the CLI's are.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Agent } from 'undici';

export interface BarePlan {
  server: string;
  ca: string;
  token: string;
  /** Accept-Encoding: gzip on every request, as the CLI sends it unless compression is disabled. */
  gzip: boolean;
  concurrency: number;
  chunkSize: number;
  discovery: { path: string; accept: string }[];
  lists: { path: string; accept: string; labelSelector?: string }[];
}

export interface BareResult {
  requests: number;
  bytes: number;
  items: number;
}

async function run(plan: BarePlan): Promise<BareResult> {
  const agent = new Agent({ connect: { ca: plan.ca, keepAlive: true } });
  const origin = new URL(plan.server).origin;
  const result: BareResult = { requests: 0, bytes: 0, items: 0 };
  const encoding = plan.gzip ? ['Accept-Encoding', 'gzip'] : [];
  const get = async (path: string, accept: string): Promise<unknown> => {
    result.requests++;
    const res = await agent.request({
      origin,
      path,
      method: 'GET',
      headers: ['Authorization', `Bearer ${plan.token}`, 'Accept', accept, 'User-Agent', 'bench-bare-client', ...encoding],
    });
    // kube-apiserver compresses only the larger answers; the others come as they are.
    const text =
      res.headers['content-encoding'] === 'gzip'
        ? gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString('utf8')
        : await res.body.text();
    result.bytes += Buffer.byteLength(text);
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
    return JSON.parse(text);
  };
  await Promise.all(plan.discovery.map((d) => get(d.path, d.accept)));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.lists.length) {
      const list = plan.lists[next++]!;
      let token: string | undefined;
      do {
        const query = new URLSearchParams({ limit: String(plan.chunkSize) });
        if (token) query.set('continue', token);
        if (list.labelSelector) query.set('labelSelector', list.labelSelector);
        const page = (await get(`${list.path}?${query}`, list.accept)) as { items?: unknown[]; metadata?: { continue?: string } };
        result.items += page.items?.length ?? 0;
        token = page.metadata?.continue || undefined;
      } while (token);
    }
  };
  await Promise.all(Array.from({ length: Math.min(plan.concurrency, plan.lists.length) }, worker));
  await agent.close();
  return result;
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node scripts/bench-bare-client.ts PLAN.json\n');
  process.exit(2);
}
run(JSON.parse(readFileSync(file, 'utf8')) as BarePlan).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (err: unknown) => {
    process.stderr.write(`bench-bare-client: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

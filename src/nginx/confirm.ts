// Proof of apply: the running workers report the hash embedded in the config they loaded.
import http from 'node:http';

export function fetchHash(port: number, timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/configuration/hash', timeout: timeoutMs, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : null));
        res.on('error', () => resolve(null));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Poll until nginx answers with the expected hash; false after timeoutMs. */
export async function waitForHash(
  port: number,
  hash: string,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
  stopOnOther = false,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  while (Date.now() < deadline) {
    const seen = await fetchHash(port);
    if (seen === hash) return true;
    // a freshly started nginx answering another hash will not change its mind
    if (stopOnOther && seen !== null) return false;
    if (!isAlive()) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
  return false;
}

// server_names_hash sizes that nginx accepts at once. nginx (ngx_hash_init) puts the exact server names of
// each listen address in a hash table: it tries table sizes, one by one up to server_names_hash_max_size,
// until every bucket of server_names_hash_bucket_size bytes holds its names. When none fits it warns
// ("could not build optimal server_names_hash") and builds one with oversized buckets. This repeats that
// search, so nginx finds a table with the sizes rendered, after few tries.

const PTR = 8; // sizeof(void *) on the 64-bit platforms nginx runs on here
const CACHELINE = 64; // nginx rounds the bucket size up to its cache line
const LARGEST_BUCKET = 4096;
const LARGEST_TABLE = 1048576; // the ConfigMap's upper bound for server-name-hash-max-size

interface Key {
  hi: number;
  lo: number;
  bytes: number;
}

// bucket fill levels of the table being tried, kept between renders (rendering is synchronous)
let fill = new Uint32Array(1024);

/** ngx_hash_key over the lower-cased name, as two 32-bit halves of the unsigned 64-bit result. */
function hashKey(name: string): Key {
  const lower = name.toLowerCase();
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < lower.length; i++) {
    const wide = lo * 31 + lower.charCodeAt(i); // exact: below 2^38
    lo = wide % 2 ** 32;
    hi = (hi * 31 + Math.floor(wide / 2 ** 32)) % 2 ** 32;
  }
  // NGX_HASH_ELT_SIZE: a value pointer, a 2-byte length and the name, aligned to a pointer
  return { hi, lo, bytes: PTR + align(name.length + 2, PTR) };
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

/** Does a table of `size` buckets hold every key? `work` counts the keys placed, to bound the search. */
function fits(keys: Key[], bucket: number, size: number, work: { n: number }): boolean {
  if (fill.length < size) fill = new Uint32Array(Math.max(size, 2 * fill.length));
  fill.fill(0, 0, size);
  const high = 2 ** 32 % size;
  for (const key of keys) {
    work.n++;
    const slot = ((key.hi % size) * high + key.lo) % size;
    fill[slot]! += key.bytes;
    if (fill[slot]! > bucket - PTR) return false;
  }
  return true;
}

/** What nginx's search finds with these sizes: a table, none (it warns), or too long a search to repeat. */
function nginxSearch(keys: Key[], bucket: number, max: number, budget: number): 'found' | 'none' | 'slow' {
  const count = keys.length;
  let start = Math.floor(count / Math.floor((bucket - PTR) / (2 * PTR))) || 1;
  if (max > 10000 && count && Math.floor(max / count) < 100) start = max - 1000;
  const work = { n: 0 };
  for (let size = start; size <= max; size++) {
    if (work.n > budget) return 'slow';
    if (fits(keys, bucket, size, work)) return 'found';
  }
  return 'none';
}

/**
 * Bucket and table sizes for these server names. `bucket` is the ConfigMap's (kept) or null (chosen here:
 * the smallest that works); `max` is the ConfigMap's, kept when nginx finds a table with it, else raised.
 * A pair is taken only when nginx's own search with it is short. Returns the inputs unchanged when nothing
 * within bounds fits (nginx then warns, as it would have anyway).
 */
export function serverNamesHash(names: string[], bucket: number | null, max: number): { bucket: number; max: number } {
  const keys = names.map(hashKey);
  const largest = keys.reduce((m, k) => Math.max(m, k.bytes), 0);
  let first = CACHELINE;
  while (first < largest + PTR) first *= 2;
  const buckets: number[] = [];
  if (bucket !== null) buckets.push(align(bucket, CACHELINE));
  else for (let bucketSize = first; bucketSize <= LARGEST_BUCKET; bucketSize *= 2) buckets.push(bucketSize);
  // nginx's search tries table sizes one by one, each a pass over (some of) the names
  const budget = 100 * keys.length + 200_000;
  // below 10000 (or far above the count) nginx searches from a small size up: where that search runs
  // too long for one max it runs too long for any larger one, so only the other kind is tried after
  const fromStart = (m: number) => !(m > 10000 && Math.floor(m / keys.length) < 100);
  for (const bucketSize of buckets) {
    if (bucketSize < largest + PTR) break; // nginx refuses it outright ("increase server_names_hash_bucket_size")
    let startTooSlow = false;
    const quick = (maxSize: number) => {
      if (fromStart(maxSize) && startTooSlow) return false;
      const outcome = nginxSearch(keys, bucketSize, maxSize, budget);
      if (outcome === 'slow' && fromStart(maxSize)) startTooSlow = true;
      return outcome === 'found';
    };
    if (quick(max)) return { bucket: bucket ?? bucketSize, max };
    // Larger tables, ever less loaded: a table that fits works as max, as nginx's search ends there.
    // Past 16 slots a name, a larger bucket is the cheaper way out.
    const perBucket = Math.floor((bucketSize - PTR) / largest);
    const cap = bucket === null ? Math.min(LARGEST_TABLE, Math.max(16 * keys.length, 16384)) : LARGEST_TABLE;
    for (let load = perBucket; Math.ceil(keys.length / load) <= cap; load /= 1.25) {
      const from = Math.max(max + 1, Math.ceil(keys.length / load));
      for (let size = from; size < from + 8 && size <= cap; size++) {
        if (fits(keys, bucketSize, size, { n: 0 }) && quick(size)) return { bucket: bucket ?? bucketSize, max: size };
      }
    }
  }
  return { bucket: bucket ?? first, max };
}

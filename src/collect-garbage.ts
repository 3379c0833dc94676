// Large clusters: a full rebuild leaves hundreds of MB of garbage (parsed YAML, the view, the rendered
// text), and V8 grows the heap rather than collect it soon, so the resident size stays high long after.
// A full collection right after such a burst gives the memory back. Node exposes gc() only with a flag;
// this sets the flag at run time and fetches the function from a fresh context.
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

/** Collect now, if the runtime allows it; silently nothing otherwise. */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
